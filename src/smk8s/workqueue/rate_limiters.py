"""Rate limiters: how long to wait before an item that failed is retried (client-go ``default_rate_limiters.go``).

A :class:`RateLimiter` answers ``when(item)`` with a delay in seconds and, in doing so, **records one failure** for
that item; ``forget(item)`` clears the item's history (call it once the item succeeded); ``num_requeues(item)`` is
the number of failures recorded since the last ``forget``. Limiters are owned by one queue and called from its event
loop only (no locking).

- :class:`ItemExponentialFailureRateLimiter`: per item, ``base * 2**failures`` capped at ``cap``
  (5 ms, 10 ms, 20 ms, ... 655.36 s, then 1000 s from the 19th consecutive failure on).
- :class:`BucketRateLimiter`: one token bucket shared by all items (``qps`` tokens a second, ``burst`` deep, full
  at the start); every ``when`` takes a token, possibly one that will only exist in the future, whose wait is the
  delay (``golang.org/x/time/rate`` ``Reserve().Delay()``). It keeps no per-item history.
- :class:`MaxOfRateLimiter`: asks every child (so each records the failure) and answers the longest delay.
- :func:`default_controller_rate_limiter`: client-go's ``DefaultControllerRateLimiter``, the max of the
  exponential (5 ms → 1000 s) and the bucket (10/s, burst 100); the bucket is an overall retry budget, not a
  per-item one.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Protocol

from smk8s.clock import Clock, RealClock


class RateLimiter(Protocol):
    """See the module contract."""

    def when(self, item: Hashable) -> float: ...

    def forget(self, item: Hashable) -> None: ...

    def num_requeues(self, item: Hashable) -> int: ...


class ItemExponentialFailureRateLimiter:
    """Per-item exponential backoff: ``base * 2**n`` for the item's ``n``-th failure (from 0), at most ``cap``."""

    def __init__(self, base: float = 0.005, cap: float = 1000.0) -> None:
        if base < 0 or cap < 0:
            raise ValueError("base and cap must not be negative")
        self.base = base
        self.cap = cap
        self._failures: dict[Hashable, int] = {}

    def when(self, item: Hashable) -> float:
        failures = self._failures.get(item, 0)
        self._failures[item] = failures + 1
        try:
            delay = self.base * 2.0**failures
        except OverflowError:
            return self.cap
        return min(delay, self.cap)

    def forget(self, item: Hashable) -> None:
        self._failures.pop(item, None)

    def num_requeues(self, item: Hashable) -> int:
        return self._failures.get(item, 0)


class BucketRateLimiter:
    """A token bucket over all items: ``qps`` tokens a second, ``burst`` at most, full when created.

    Each ``when`` reserves one token; when the bucket is empty the reservation is of a future token and the delay
    is the time until it exists, so ``n`` calls beyond the burst are spread ``1/qps`` apart.
    """

    def __init__(self, qps: float = 10.0, burst: int = 100, *, clock: Clock | None = None) -> None:
        if qps <= 0 or burst < 1:
            raise ValueError("qps must be positive and burst at least 1")
        self.qps = qps
        self.burst = burst
        self._clock: Clock = clock or RealClock()
        self._tokens = float(burst)
        self._last: float | None = None

    def when(self, item: Hashable) -> float:
        now = self._clock.now()
        if self._last is not None and now > self._last:
            self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.qps)
        self._last = now if self._last is None else max(now, self._last)
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.qps

    def forget(self, item: Hashable) -> None:
        """The bucket keeps no per-item history."""

    def num_requeues(self, item: Hashable) -> int:
        return 0


class MaxOfRateLimiter:
    """The longest delay of its children; ``forget`` goes to all of them, ``num_requeues`` is their maximum."""

    def __init__(self, *limiters: RateLimiter) -> None:
        if not limiters:
            raise ValueError("MaxOfRateLimiter needs at least one limiter")
        self.limiters = limiters

    def when(self, item: Hashable) -> float:
        return max([limiter.when(item) for limiter in self.limiters])

    def forget(self, item: Hashable) -> None:
        for limiter in self.limiters:
            limiter.forget(item)

    def num_requeues(self, item: Hashable) -> int:
        return max(limiter.num_requeues(item) for limiter in self.limiters)


def default_controller_rate_limiter(clock: Clock | None = None) -> MaxOfRateLimiter:
    """client-go's ``DefaultControllerRateLimiter``: max(per-item 5 ms → 1000 s, bucket 10/s burst 100)."""
    return MaxOfRateLimiter(
        ItemExponentialFailureRateLimiter(0.005, 1000.0),
        BucketRateLimiter(10.0, 100, clock=clock),
    )
