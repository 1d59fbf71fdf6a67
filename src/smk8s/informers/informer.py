"""The shared informer: one cache of a resource, kept current by reflectors, fanned out to event handlers.

A :class:`SharedInformer` owns a :class:`~smk8s.informers.store.Store` and one
:class:`~smk8s.informers.reflector.Reflector` per :class:`~smk8s.informers.listwatch.ListerWatcher` (one for all
namespaces, or one per watched namespace). Everything a reflector observes passes, in order, through:

1. the **transform** (on ingest, once per object; default :func:`strip_managed_fields`);
2. the **store** update;
3. the **handlers**, called synchronously, after the store already reflects the change (client-go's
   ``processDeltas`` order).

Guarantees to handlers (``add_event_handler``):
- ``on_add(obj)``, ``on_update(old, new)`` and ``on_delete(obj)`` get plain dicts, shared with the store: handlers
  must not mutate them, and must not block (they run on the event loop; hand work to a queue).
- A handler only ever hears of objects it was told about first: ``on_update``/``on_delete`` for a key always
  follow an ``on_add`` for it (a watch MODIFIED for an unknown key is delivered as an add; a DELETED for an unknown
  key is dropped). A handler added to a running informer first gets ``on_add`` for every cached object.
- ``on_delete`` gets the deleted object's final state, or a :class:`DeletedFinalStateUnknown` tombstone (with the
  last cached state) when a relist found it gone: it was deleted while the watch was down.
- A relist delivers ``on_update`` only for objects whose resourceVersion changed; unchanged ones are silent.
- Every ``resync_period`` seconds (if > 0) after sync, ``on_update(obj, obj)`` for every cached object (old is new).
- Adds delivered while :meth:`SharedInformer.has_synced` is false come from the initial list (with several
  namespaces, a namespace that synced first may also deliver watch events meanwhile).

``has_synced()`` turns true once every reflector's first list is in the store and delivered to the handlers.
A handler that raises is logged; the others still run and the informer carries on.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from smk8s.clock import Clock, RealClock
from smk8s.informers.listwatch import ListerWatcher
from smk8s.informers.reflector import Reflector
from smk8s.informers.store import NAMESPACE_INDEX, DeletedFinalStateUnknown, IndexFunc, Store, object_key

Object = dict[str, Any]
Transform = Callable[[Object], Object]
OnAdd = Callable[[Object], None]
OnUpdate = Callable[[Object, Object], None]
OnDelete = Callable[[Object | DeletedFinalStateUnknown], None]

log = structlog.get_logger(__name__)


# -- transforms --------------------------------------------------------------------------------------------------


def drop_fields(*paths: Sequence[str]) -> Transform:
    """A transform removing each path (a sequence of keys, e.g. ``("metadata", "managedFields")``) if present."""

    def transform(obj: Object) -> Object:
        for path in paths:
            parent: Any = obj
            for part in path[:-1]:
                parent = parent.get(part) if isinstance(parent, dict) else None
                if parent is None:
                    break
            if isinstance(parent, dict):
                parent.pop(path[-1], None)
        return obj

    return transform


def strip_managed_fields(obj: Object) -> Object:
    """The default transform: drop ``metadata.managedFields`` (controller-runtime's TransformStripManagedFields)."""
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
    return obj


# -- handlers ----------------------------------------------------------------------------------------------------


@dataclass(eq=False)
class HandlerRegistration:
    """One registered set of handlers; :meth:`remove` stops deliveries to it."""

    on_add: OnAdd | None
    on_update: OnUpdate | None
    on_delete: OnDelete | None
    _informer: SharedInformer

    def remove(self) -> None:
        self._informer._remove_handler(self)


class _Scope:
    """The :class:`~smk8s.informers.reflector.ReflectorStore` one reflector writes through (its namespace, or all)."""

    def __init__(self, informer: SharedInformer, namespace: str | None) -> None:
        self._informer = informer
        self._namespace = namespace
        self.synced = False

    def replace(self, items: list[Object], resource_version: str) -> None:
        self._informer._replace(self._namespace, items)
        if not self.synced:
            self.synced = True
            self._informer._scope_synced()

    def add(self, obj: Object) -> None:
        self._informer._upsert(obj)

    update = add

    def delete(self, obj: Object) -> None:
        self._informer._delete(obj)


class SharedInformer:
    """A cached, watched view of one resource with event handlers (see the module docstring).

    Lifecycle: :meth:`run` (or :meth:`start`, which runs it in a task) runs the reflectors and the resync loop
    until cancelled (:meth:`stop`); it may be run once. Handlers and indexers may be added before or after.
    """

    def __init__(
        self,
        lister_watchers: Sequence[ListerWatcher],
        *,
        resync_period: float = 0.0,
        transform: Transform | None = strip_managed_fields,
        indexers: Mapping[str, IndexFunc] | None = None,
        clock: Clock | None = None,
        name: str = "",
        rand: random.Random | None = None,
    ) -> None:
        if not lister_watchers:
            raise ValueError("an informer needs at least one lister-watcher")
        self.name = name
        self.store = Store(indexers)
        self._transform = transform
        self._resync_period = resync_period
        self._clock: Clock = clock or RealClock()
        self._handlers: list[HandlerRegistration] = []
        self._scopes = [_Scope(self, lw.namespace) for lw in lister_watchers]
        self.reflectors = [
            Reflector(lw, scope, clock=self._clock, name=f"{name}/{lw.namespace or '*'}", rand=rand)
            for lw, scope in zip(lister_watchers, self._scopes, strict=True)
        ]
        self._synced = asyncio.Event()
        self._stopped = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._running = False
        self._log = log.bind(informer=name)

    # -- public API ------------------------------------------------------------------------------------------

    def add_event_handler(
        self,
        on_add: OnAdd | None = None,
        on_update: OnUpdate | None = None,
        on_delete: OnDelete | None = None,
    ) -> HandlerRegistration:
        """Register handlers; if objects are cached already, ``on_add`` gets each of them first, right now."""
        registration = HandlerRegistration(on_add, on_update, on_delete, self)
        if on_add is not None:
            for obj in self.store.list():
                self._call(on_add, obj)
        self._handlers.append(registration)
        return registration

    def add_indexers(self, indexers: Mapping[str, IndexFunc]) -> None:
        self.store.add_indexers(indexers)

    def has_synced(self) -> bool:
        return self._synced.is_set()

    async def wait_for_sync(self) -> bool:
        """Wait until synced (``True``), or until the informer stopped first (``False``).

        Bound it with ``asyncio.timeout`` (controller-runtime's CacheSyncTimeout is 2 minutes).
        """
        if self._synced.is_set():
            return True
        synced = asyncio.ensure_future(self._synced.wait())
        stopped = asyncio.ensure_future(self._stopped.wait())
        try:
            await asyncio.wait({synced, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            synced.cancel()
            stopped.cancel()
        return self._synced.is_set()

    async def run(self) -> None:
        """Run the reflectors (and resync) until cancelled."""
        if self._running or self._stopped.is_set():
            raise RuntimeError(f"informer {self.name!r} can run only once")
        self._running = True
        try:
            async with asyncio.TaskGroup() as group:
                for reflector in self.reflectors:
                    group.create_task(reflector.run())
                if self._resync_period > 0:
                    group.create_task(self._resync_loop())
        finally:
            self._stopped.set()

    def start(self) -> asyncio.Task[None]:
        """Run in a background task (idempotent); returns the task."""
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name=f"informer {self.name}")
        return self._task

    def stop(self) -> None:
        """Cancel the task :meth:`start` created (await it to know it has stopped)."""
        if self._task is not None:
            self._task.cancel()

    # -- ingest (called by the reflectors' scopes) ------------------------------------------------------------

    def _ingest(self, obj: Object) -> Object:
        return self._transform(obj) if self._transform is not None else obj

    def _replace(self, namespace: str | None, items: list[Object]) -> None:
        """A relist of one scope: adds, changed objects as updates, missing keys as tombstones (DeltaFIFO.Replace)."""
        listed: set[str] = set()
        for raw in items:
            obj = self._ingest(raw)
            key = object_key(obj)
            listed.add(key)
            old = self.store.get(key)
            self.store.update(obj)
            if old is None:
                self._notify_add(obj)
            elif _resource_version(old) != _resource_version(obj):
                self._notify_update(old, obj)
        known = self.store.index_keys(NAMESPACE_INDEX, namespace) if namespace is not None else self.store.keys()
        for key in known:
            if key not in listed:
                last = self.store.delete(key)
                if last is not None:
                    self._notify_delete(DeletedFinalStateUnknown(key, last))

    def _upsert(self, raw: Object) -> None:
        obj = self._ingest(raw)
        old = self.store.get(object_key(obj))
        self.store.update(obj)
        if old is None:
            self._notify_add(obj)
        else:
            self._notify_update(old, obj)

    def _delete(self, raw: Object) -> None:
        obj = self._ingest(raw)
        if self.store.delete(object_key(obj)) is not None:
            self._notify_delete(obj)

    def _scope_synced(self) -> None:
        if all(scope.synced for scope in self._scopes):
            self._synced.set()

    async def _resync_loop(self) -> None:
        while True:
            await self._clock.sleep(self._resync_period)
            if not self._synced.is_set():
                continue
            for obj in self.store.list():
                self._notify_update(obj, obj)

    # -- fan-out -----------------------------------------------------------------------------------------------

    def _notify_add(self, obj: Object) -> None:
        for handler in list(self._handlers):
            if handler.on_add is not None:
                self._call(handler.on_add, obj)

    def _notify_update(self, old: Object, new: Object) -> None:
        for handler in list(self._handlers):
            if handler.on_update is not None:
                self._call(handler.on_update, old, new)

    def _notify_delete(self, obj: Object | DeletedFinalStateUnknown) -> None:
        for handler in list(self._handlers):
            if handler.on_delete is not None:
                self._call(handler.on_delete, obj)

    def _call(self, fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:
            self._log.exception("event handler failed")

    def _remove_handler(self, registration: HandlerRegistration) -> None:
        if registration in self._handlers:
            self._handlers.remove(registration)


def _resource_version(obj: Object) -> str | None:
    version = obj.get("metadata", {}).get("resourceVersion")
    return str(version) if version is not None else None
