"""The delaying queue: ``add_after`` on top of :class:`~smk8s.workqueue.queue.Queue` (client-go
``delaying_queue.go``, with controller-runtime's priority-queue merging of delays).

Guarantees (proven in ``tests/unit/workqueue/test_delaying.py``):

- ``add_after(item, delay)`` adds ``item`` once ``delay`` seconds have passed on the queue's clock; ``delay <= 0``
  adds it now.
- **The earliest deadline wins**: an item has at most one pending deadline; a later ``add_after`` can only move it
  earlier. An item that is already due for a pass (added and not yet handed out, or re-added while held) ignores
  ``add_after``, and a plain ``add`` of an item with a pending deadline cancels the deadline (it is due now), so a
  change and a requeue of the same item never cost two passes.
- Items whose deadline passes are added at normal priority, through the same rules as ``add`` (a held item runs once
  more after ``done``).
- Shutdown drops every pending deadline; ``add_after`` is then ignored.

One timer on the clock (``call_at``) tracks the earliest deadline; it is re-armed only when that changes.
"""

from __future__ import annotations

import heapq
import itertools
from typing import TYPE_CHECKING

from smk8s.clock import Clock, TimerHandle
from smk8s.workqueue.queue import Queue, T

if TYPE_CHECKING:
    from smk8s.workqueue.metrics import WorkqueueMetrics


class DelayingQueue(Queue[T]):
    """A :class:`Queue` with ``add_after`` (see the module contract).

    ``_waiting`` maps each item with a pending deadline to its live heap key ``(ready_at, seq)``; ``_heap`` may
    also hold dead entries (deadlines moved earlier or cancelled), skipped when they surface.
    """

    def __init__(self, name: str = "", *, clock: Clock | None = None, metrics: WorkqueueMetrics | None = None) -> None:
        super().__init__(name, clock=clock, metrics=metrics)
        self._waiting: dict[T, tuple[float, int]] = {}
        self._heap: list[tuple[float, int, T]] = []
        self._seq = itertools.count()
        self._timer: TimerHandle | None = None
        self._timer_at = 0.0

    def add(self, item: T, *, low_priority: bool = False) -> None:
        if self._waiting:
            self._waiting.pop(item, None)
        super().add(item, low_priority=low_priority)

    def add_after(self, item: T, delay: float) -> None:
        """Add ``item`` after ``delay`` seconds, unless it is due sooner (see the module contract)."""
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(item)
            return
        if self._metrics is not None:
            self._metrics.retried()
        if item in self._dirty:
            return
        ready_at = self.clock.now() + delay
        current = self._waiting.get(item)
        if current is not None and current[0] <= ready_at:
            return
        key = (ready_at, next(self._seq))
        self._waiting[item] = key
        heapq.heappush(self._heap, (*key, item))
        self._arm()

    def _arm(self) -> None:
        """Point the timer at the earliest live deadline (or cancel it when none is left)."""
        heap = self._heap
        while heap and self._waiting.get(heap[0][2]) != heap[0][:2]:
            heapq.heappop(heap)
        if not heap:
            self._cancel_timer()
            return
        when = heap[0][0]
        if self._timer is not None and self._timer_at <= when:
            return
        self._cancel_timer()
        self._timer = self.clock.call_at(when, self._fire)
        self._timer_at = when

    def _fire(self) -> None:
        self._timer = None
        now = self.clock.now()
        heap = self._heap
        while heap and heap[0][0] <= now:
            ready_at, seq, item = heapq.heappop(heap)
            if self._waiting.get(item) == (ready_at, seq):
                del self._waiting[item]
                super().add(item)
        self._arm()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _begin_shutdown(self) -> None:
        self._cancel_timer()
        self._waiting.clear()
        self._heap.clear()
        super()._begin_shutdown()

    def waiting(self) -> int:
        """Items with a pending deadline (for information only)."""
        return len(self._waiting)
