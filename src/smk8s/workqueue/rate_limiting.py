"""The rate-limiting queue: :class:`~smk8s.workqueue.delaying.DelayingQueue` plus a
:class:`~smk8s.workqueue.rate_limiters.RateLimiter` (client-go ``rate_limiting_queue.go``); this is the queue a
controller uses.

- ``add_rate_limited(item)`` is ``add_after(item, limiter.when(item))``: it records one failure for the item.
- ``forget(item)`` clears the item's failure history (call it when a pass succeeds); the caller still calls ``done``.
- ``num_requeues(item)`` is the limiter's failure count for the item.

The default limiter is :func:`~smk8s.workqueue.rate_limiters.default_controller_rate_limiter` on the queue's clock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from smk8s.clock import Clock
from smk8s.workqueue.delaying import DelayingQueue
from smk8s.workqueue.queue import T
from smk8s.workqueue.rate_limiters import RateLimiter, default_controller_rate_limiter

if TYPE_CHECKING:
    from smk8s.workqueue.metrics import WorkqueueMetrics


class RateLimitingQueue(DelayingQueue[T]):
    """A controller's work queue (see the module contracts of ``queue``, ``delaying`` and this module)."""

    def __init__(
        self,
        name: str,
        *,
        rate_limiter: RateLimiter | None = None,
        clock: Clock | None = None,
        metrics: WorkqueueMetrics | None = None,
    ) -> None:
        super().__init__(name, clock=clock, metrics=metrics)
        self.rate_limiter: RateLimiter = rate_limiter or default_controller_rate_limiter(self.clock)

    def add_rate_limited(self, item: T) -> None:
        """Add ``item`` after the limiter's delay for it (recording one failure)."""
        if self._shutting_down:
            return
        self.add_after(item, self.rate_limiter.when(item))

    def forget(self, item: T) -> None:
        """Clear ``item``'s failure history; it does not release the item (``done`` does)."""
        self.rate_limiter.forget(item)

    def num_requeues(self, item: T) -> int:
        return self.rate_limiter.num_requeues(item)
