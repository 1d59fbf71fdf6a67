"""The base work queue: client-go's ``Typed[T]`` (``util/workqueue/queue.go``) on one asyncio event loop.

Guarantees (each proven in ``tests/unit/workqueue/test_queue.py``):

- **Stingy**: an item is held by at most one worker at a time. An item a worker holds (between ``get`` and
  ``done``) is never handed out again until ``done``.
- **Deduplicated**: adds of an item that is already waiting collapse into one pass.
- **One more pass**: adds of an item while a worker holds it make it run exactly once more, after ``done``.
- **Fair**: items are handed out in the order they were first added, normal priority before low priority.
- **Low priority** (controller-runtime's priority queue, ``handler.LowPriority``): items added with
  ``low_priority=True`` (the initial list, resyncs) are handed out only when no normal item is waiting. Adding an
  item that waits at low priority again at normal priority moves it to the tail of the normal items; adding it at
  low priority never lowers it.
- **Shutdown**: after ``shutdown()`` adds are ignored; workers still get what is already waiting (and items re-queued
  by ``done``), then ``get`` raises :class:`ShutDown`. ``shutdown_with_drain()`` does the same and returns once no
  worker holds an item; a later ``shutdown()`` releases it early.

Contract for callers: every method is called from the queue's event loop thread. Each ``get`` that returns must be
followed by ``done(item)`` for that item, whatever happens while processing it (use ``try``/``finally``); ``done`` for
an item no worker holds is ignored. Items must be hashable and compare equal exactly when they denote the same work.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import deque
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Generic, TypeVar

from smk8s.clock import Clock, RealClock

if TYPE_CHECKING:
    from smk8s.workqueue.metrics import WorkqueueMetrics

T = TypeVar("T", bound=Hashable)


class ShutDown(Exception):
    """Raised by ``get`` once the queue is shut down and has nothing left to hand out."""


class Queue(Generic[T]):
    """A deduplicating FIFO work queue with a low-priority lane (see the module contract).

    State (the invariant: an item is waiting in a lane only if it is dirty and not held):

    - ``_dirty``: items that need a pass, with the instant they became dirty (kept for metrics only: 0 unmetered);
    - ``_dirty_low``: the dirty items whose pending pass is at low priority;
    - ``_processing``: items a worker holds, with the instant it took them (likewise);
    - ``_ready``: normal items waiting to be handed out, in order;
    - ``_ready_low`` / ``_low_tokens``: low items waiting, in order. An entry is live only while ``_low_tokens``
      maps its item to its token, so moving an item up to normal priority leaves a dead entry behind, skipped later.
    """

    def __init__(self, name: str = "", *, clock: Clock | None = None, metrics: WorkqueueMetrics | None = None) -> None:
        self.name = name
        self.clock: Clock = clock or RealClock()
        self._metrics = metrics
        # The metrics' timestamps. A RealClock's now() is the running loop's time(), but finding the loop costs a
        # getpid() syscall each time (asyncio.get_running_loop); the queue lives on one loop, so bind its time()
        # on first use.
        self._now: Callable[[], float] = self._bind_loop_time if type(self.clock) is RealClock else self.clock.now
        self._dirty: dict[T, float] = {}
        self._dirty_low: set[T] = set()
        self._processing: dict[T, float] = {}
        self._ready: deque[T] = deque()
        self._ready_low: deque[tuple[int, T]] = deque()
        self._low_tokens: dict[T, int] = {}
        self._tokens = itertools.count()
        self._getters: deque[asyncio.Future[None]] = deque()
        self._shutting_down = False
        self._drain = False
        self._idle: asyncio.Event | None = None
        if metrics is not None:
            metrics.track(self._depth, self._processing_ages)

    # -- producers -------------------------------------------------------------------------------------------------

    def add(self, item: T, *, low_priority: bool = False) -> None:
        """Mark ``item`` as needing a pass (ignored once shutting down)."""
        if self._shutting_down:
            return
        if item in self._dirty:
            if not low_priority and item in self._dirty_low:
                self._dirty_low.discard(item)
                if self._low_tokens.pop(item, None) is not None:
                    self._ready.append(item)
                    if not self._low_tokens:
                        self._ready_low.clear()  # only dead entries are left
            return
        if self._metrics is None:
            self._dirty[item] = 0.0
        else:
            self._dirty[item] = self._now()
            self._metrics.added()
        if low_priority:
            self._dirty_low.add(item)
        if item not in self._processing:
            self._push(item, low_priority)

    def _push(self, item: T, low_priority: bool) -> None:
        if low_priority:
            token = next(self._tokens)
            self._low_tokens[item] = token
            self._ready_low.append((token, item))
        else:
            self._ready.append(item)
        if self._getters:
            self._wake_one_getter()

    # -- workers ---------------------------------------------------------------------------------------------------

    async def get(self) -> T:
        """The next item to process, waiting for one; raises :class:`ShutDown` once shut down and drained.

        The caller holds the item until it calls ``done(item)``. Cancelling a waiting ``get`` takes nothing."""
        while not (self._ready or self._low_tokens):
            if self._shutting_down:
                raise ShutDown
            getter = asyncio.get_running_loop().create_future()
            self._getters.append(getter)
            try:
                await getter
            except BaseException:
                getter.cancel()
                with contextlib.suppress(ValueError):
                    self._getters.remove(getter)
                if not getter.cancelled():  # it was woken for an item: pass the wake-up on
                    self._wake_one_getter()
                raise
        item = self._ready.popleft() if self._ready else self._pop_low()
        added_at = self._dirty.pop(item)
        if self._dirty_low:
            self._dirty_low.discard(item)
        if self._metrics is None:
            self._processing[item] = 0.0
        else:
            now = self._processing[item] = self._now()
            self._metrics.got(now - added_at)
        return item

    def _pop_low(self) -> T:
        while True:
            token, item = self._ready_low.popleft()
            if self._low_tokens.get(item) == token:
                del self._low_tokens[item]
                return item

    def done(self, item: T) -> None:
        """Release ``item``; if it was added while held, it waits for one more pass."""
        started = self._processing.pop(item, None)
        if started is None:
            return
        if self._metrics is not None:
            self._metrics.finished(self._now() - started)
        if item in self._dirty:
            self._push(item, item in self._dirty_low)
        if not self._processing and self._idle is not None:
            self._idle.set()

    # -- lifecycle -------------------------------------------------------------------------------------------------

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def shutdown(self) -> None:
        """Ignore new adds; workers drain what is waiting, then ``get`` raises :class:`ShutDown`. Releases a
        pending ``shutdown_with_drain``."""
        self._drain = False
        self._begin_shutdown()
        if self._idle is not None:
            self._idle.set()

    async def shutdown_with_drain(self) -> None:
        """Like ``shutdown``, then wait until no worker holds an item (every ``get`` has had its ``done``).

        As in client-go, an item re-queued by the last ``done`` is left for the workers to drain; the wait only
        covers items held. A later ``shutdown()`` ends the wait."""
        self._drain = True
        self._begin_shutdown()
        while self._drain and self._processing:
            if self._idle is None or self._idle.is_set():
                self._idle = asyncio.Event()
            await self._idle.wait()

    def _begin_shutdown(self) -> None:
        self._shutting_down = True
        while self._getters:
            getter = self._getters.popleft()
            if not getter.done():
                getter.set_result(None)

    def _wake_one_getter(self) -> None:
        while self._getters:
            getter = self._getters.popleft()
            if not getter.done():
                getter.set_result(None)
                return

    def _bind_loop_time(self) -> float:
        loop_time = asyncio.get_running_loop().time
        self._now = loop_time
        return loop_time()

    # -- introspection ---------------------------------------------------------------------------------------------

    def __len__(self) -> int:
        """Items waiting to be handed out now (for information only; not those held or waiting behind a holder)."""
        return len(self._ready) + len(self._low_tokens)

    def _depth(self, low_priority: bool) -> int:
        low = len(self._dirty_low)
        return low if low_priority else len(self._dirty) - low

    def _processing_ages(self) -> list[float]:
        now = self._now()
        return [now - started for started in list(self._processing.values())]
