"""Shared informers by resource and scope: ask for an informer, get the one every caller shares.

:class:`SharedInformerFactory` (client-go's ``SharedInformerFactory`` / controller-runtime's cache) holds one
:class:`~smk8s.informers.informer.SharedInformer` per (group, version, plural, namespace set, label selector). The
factory's defaults say what to watch: all namespaces (``namespaces=None``), a list of namespaces (one reflector per
namespace, all feeding one store), and/or a label selector; :meth:`SharedInformerFactory.informer` may override
them per resource. Cluster-scoped resources (``namespaced=False``) are always watched cluster-wide.

Contract: informers created before :meth:`~SharedInformerFactory.start` start with it; informers created after
start at once. :meth:`~SharedInformerFactory.shutdown` stops them all and waits for them. Single event loop only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from kubernetes_asyncio.client import ApiClient

from smk8s.clock import Clock, RealClock
from smk8s.informers.informer import SharedInformer, Transform, strip_managed_fields
from smk8s.informers.listwatch import ApiListerWatcher, ListerWatcher, ResourceScope

InformerKey = tuple[str, str, str, tuple[str, ...] | None, str]


class _Default:
    pass


_DEFAULT = _Default()


class SharedInformerFactory:
    """Creates and shares informers (see the module docstring)."""

    def __init__(
        self,
        api: ApiClient,
        *,
        namespaces: Sequence[str] | None = None,
        label_selector: str = "",
        resync_period: float = 0,
        clock: Clock | None = None,
        transform: Transform | None = strip_managed_fields,
    ) -> None:
        self._api = api
        self._namespaces = _normalize(namespaces)
        self._label_selector = label_selector
        self._resync_period = resync_period
        self._clock: Clock = clock or RealClock()
        self._transform = transform
        self._informers: dict[InformerKey, SharedInformer] = {}
        self._started = False

    def informer(
        self,
        group: str,
        version: str,
        plural: str,
        *,
        namespaced: bool = True,
        namespaces: Sequence[str] | _Default | None = _DEFAULT,
        label_selector: str | None = None,
    ) -> SharedInformer:
        """The shared informer of ``group/version/plural`` for the factory's scope (or the one given)."""
        scope_namespaces = self._namespaces if isinstance(namespaces, _Default) else _normalize(namespaces)
        if not namespaced:
            scope_namespaces = None
        selector = self._label_selector if label_selector is None else label_selector
        key: InformerKey = (group, version, plural, scope_namespaces, selector)
        informer = self._informers.get(key)
        if informer is None:
            informer = self._informers[key] = self._build(key)
            if self._started:
                informer.start()
        return informer

    def informers(self) -> list[SharedInformer]:
        return list(self._informers.values())

    def start(self) -> None:
        """Start every informer created so far, and any created later."""
        self._started = True
        for informer in self._informers.values():
            informer.start()

    async def wait_for_cache_sync(self) -> bool:
        """Wait until every informer has synced; ``False`` if one stopped first."""
        results = await asyncio.gather(*(i.wait_for_sync() for i in self._informers.values()))
        return all(results)

    async def shutdown(self) -> None:
        """Stop every informer and wait until they have."""
        if not self._started:
            return
        tasks = [informer.start() for informer in self._informers.values()]  # start() returns the running task
        for informer in self._informers.values():
            informer.stop()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _build(self, key: InformerKey) -> SharedInformer:
        group, version, plural, namespaces, selector = key
        targets: Sequence[str | None] = namespaces if namespaces is not None else (None,)
        lister_watchers: list[ListerWatcher] = [
            ApiListerWatcher(self._api, ResourceScope(group, version, plural, ns, selector)) for ns in targets
        ]
        name = f"{plural}.{version}.{group}" if group else f"{plural}.{version}"
        return SharedInformer(
            lister_watchers,
            resync_period=self._resync_period,
            transform=self._transform,
            clock=self._clock,
            name=name,
        )


def _normalize(namespaces: Sequence[str] | None) -> tuple[str, ...] | None:
    if namespaces is None:
        return None
    if isinstance(namespaces, str):
        raise TypeError("namespaces must be a sequence of names, not a string")
    unique = tuple(sorted(set(namespaces)))
    if not unique or "" in unique:
        raise ValueError("namespaces must be None (all namespaces) or non-empty names")
    return unique
