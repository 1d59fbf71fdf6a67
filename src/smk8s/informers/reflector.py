"""The reflector: keeps a store in step with one collection by listing, then watching (client-go ``Reflector``).

Algorithm (client-go tools/cache/reflector.go, ``ListAndWatch`` under ``BackoffUntil``):

1. **List** in pages of ``page_size`` (500). The first list asks for resourceVersion ``"0"`` (any recent state,
   cheap for the server); a relist asks for the last resourceVersion synced (not older than what the cache already
   holds, so the cache never goes back in time). A list answered 410 Expired (or "too large resource version") is
   retried at once as a consistent list (resourceVersion ``""``); a continue token that expires mid-way is answered
   by one unpaged list at the same resourceVersion (client-go's pager ``FullListIfExpired``). The whole result goes
   to ``store.replace``: the store infers the deletes it missed (see :class:`ReflectorStore`).
2. **Watch** from the list's resourceVersion with ``allowWatchBookmarks`` and a random ``timeoutSeconds`` in
   [``min_watch_timeout``, 2 x ``min_watch_timeout``) (300-600 s). Each event goes to the store and advances the
   last synced resourceVersion (bookmarks only advance it). When the server ends the watch normally (timeout,
   restart, dropped connection), the reflector watches again at once from that resourceVersion, without relisting.
   A watch that ends within a second without any event counts as an error (it would otherwise spin).
3. Errors: a watch request refused with 429, or that cannot connect, is retried after a backoff from the same
   resourceVersion. Anything else, a 410 (an HTTP answer or an ERROR event) included, ends this round; the
   reflector backs off and relists.

Backoff (:class:`Backoff`, client-go's ``NewExponentialBackoffManager(800ms, 30s, 2min, 2.0, 1.0)``): 0.8 s doubling
to 30 s, each delay stretched by a random factor in [1, 2), back to 0.8 s once two minutes have passed since the
previous backoff (two healthy minutes). A ``Retry-After`` from the server is a lower bound. All waiting uses the
injected :class:`~smk8s.clock.Clock`.

Contract: :meth:`Reflector.run` is the only entry point and runs until cancelled; it calls the store only from its
own task, in server order, never concurrently.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any, Protocol

import structlog

from smk8s.clock import Clock, RealClock
from smk8s.informers.listwatch import ApiError, ListerWatcher, TransportError, WatchEvent

Object = dict[str, Any]

log = structlog.get_logger(__name__)

PAGE_SIZE = 500
MIN_WATCH_TIMEOUT = 300.0
SHORT_WATCH = 1.0


class ReflectorStore(Protocol):
    """Where a reflector delivers what it observes (client-go's DeltaFIFO, as the reflector sees it)."""

    def replace(self, items: list[Object], resource_version: str) -> None:
        """The complete collection as of ``resource_version``: objects held before and absent now were deleted."""
        ...

    def add(self, obj: Object) -> None: ...

    def update(self, obj: Object) -> None: ...

    def delete(self, obj: Object) -> None: ...


class Backoff:
    """Exponential backoff with jitter and reset after a healthy period (see the module docstring)."""

    def __init__(
        self,
        clock: Clock,
        *,
        initial: float = 0.8,
        cap: float = 30.0,
        factor: float = 2.0,
        jitter: float = 1.0,
        reset_after: float = 120.0,
        rand: random.Random | None = None,
    ) -> None:
        self._clock = clock
        self._initial = initial
        self._cap = cap
        self._factor = factor
        self._jitter = jitter
        self._reset_after = reset_after
        self._rand = rand or random.Random()
        self._duration = initial
        self._last_start: float | None = None

    def next(self) -> float:
        """The next delay (and advance the sequence): base x (1 + jitter x U[0, 1))."""
        now = self._clock.now()
        if self._last_start is not None and now - self._last_start > self._reset_after:
            self._duration = self._initial
        self._last_start = now
        base = self._duration
        self._duration = min(base * self._factor, self._cap)
        return base + self._rand.random() * self._jitter * base


class _RelistNeeded(Exception):
    """This list-and-watch round is over; back off and relist."""


class Reflector:
    """Lists and watches one :class:`ListerWatcher` into one :class:`ReflectorStore` (see the module docstring)."""

    def __init__(
        self,
        lister_watcher: ListerWatcher,
        store: ReflectorStore,
        *,
        clock: Clock | None = None,
        name: str = "",
        page_size: int = PAGE_SIZE,
        min_watch_timeout: float = MIN_WATCH_TIMEOUT,
        backoff: Backoff | None = None,
        rand: random.Random | None = None,
    ) -> None:
        self._lw = lister_watcher
        self._store = store
        self._clock: Clock = clock or RealClock()
        self._page_size = page_size
        self._min_watch_timeout = min_watch_timeout
        self._rand = rand or random.Random()
        self._backoff = backoff or Backoff(self._clock, rand=self._rand)
        self._log = log.bind(reflector=name)
        self._last_rv = ""
        self._last_rv_unavailable = False
        self.lists = 0
        """Completed lists (the initial one and every relist): for tests and diagnostics."""

    @property
    def last_sync_resource_version(self) -> str:
        """The resourceVersion of the last list, event or bookmark delivered to the store."""
        return self._last_rv

    async def run(self) -> None:
        """List and watch until cancelled, backing off between rounds."""
        while True:
            retry_after = 0.0
            try:
                await self._list()
                await self._watch()
            except (ApiError, TransportError, _RelistNeeded) as exc:
                self._log.info("list-and-watch ended, relisting after backoff", error=str(exc))
                retry_after = (exc.retry_after or 0.0) if isinstance(exc, ApiError) else 0.0
            except Exception:  # e.g. an object without metadata: never let the cache die; retry as after errors
                self._log.exception("list-and-watch failed unexpectedly, relisting after backoff")
            await self._clock.sleep(max(self._backoff.next(), retry_after))

    # -- list ------------------------------------------------------------------------------------------------

    def _relist_resource_version(self) -> str:
        if self._last_rv_unavailable:
            return ""  # a consistent read: the last synced revision is gone from the server's history
        return self._last_rv or "0"

    async def _list(self) -> None:
        try:
            items, resource_version = await self._paged_list(self._relist_resource_version())
        except ApiError as exc:
            if not (exc.expired or exc.too_large_resource_version):
                raise
            self._log.info("list at the last resourceVersion failed, listing consistently", error=str(exc))
            self._last_rv_unavailable = True
            items, resource_version = await self._paged_list("")
        self._last_rv_unavailable = False
        self._store.replace(items, resource_version)
        self._last_rv = resource_version
        self.lists += 1

    async def _paged_list(self, resource_version: str) -> tuple[list[Object], str]:
        page = await self._lw.list(resource_version=resource_version, limit=self._page_size, continue_token="")
        items = page.items
        while page.continue_token:
            try:
                page = await self._lw.list(
                    resource_version=resource_version, limit=self._page_size, continue_token=page.continue_token
                )
            except ApiError as exc:
                if not exc.expired:
                    raise
                page = await self._lw.list(resource_version=resource_version, limit=0, continue_token="")
                return page.items, page.resource_version
            items.extend(page.items)
        return items, page.resource_version

    # -- watch -----------------------------------------------------------------------------------------------

    async def _watch(self) -> None:
        """Watch (and watch again) until something calls for a relist, which it raises."""
        while True:
            timeout = int(self._min_watch_timeout * (1.0 + self._rand.random()))
            started = self._clock.now()
            try:
                async with self._lw.watch(resource_version=self._last_rv, timeout_seconds=timeout) as events:
                    count = await self._handle(events)
            except ApiError as exc:
                if exc.code != 429:
                    raise
                await self._clock.sleep(max(self._backoff.next(), exc.retry_after or 0.0))
                continue
            except TransportError as exc:
                self._log.info("watch failed to connect, retrying after backoff", error=str(exc))
                await self._clock.sleep(self._backoff.next())
                continue
            if count == 0 and self._clock.now() - started < SHORT_WATCH:
                raise _RelistNeeded("very short watch: it ended within a second without any event")

    async def _handle(self, events: AsyncIterator[WatchEvent]) -> int:
        count = 0
        async for event in events:
            if event.type == "ERROR":
                raise ApiError.from_status(event.object)
            if event.type == "ADDED":
                self._store.add(event.object)
            elif event.type == "MODIFIED":
                self._store.update(event.object)
            elif event.type == "DELETED":
                self._store.delete(event.object)
            elif event.type != "BOOKMARK":
                self._log.warning("ignoring a watch event of unknown type", type=event.type)
                continue
            resource_version = (event.object.get("metadata") or {}).get("resourceVersion")
            if resource_version:
                self._last_rv = str(resource_version)
            count += 1
        return count
