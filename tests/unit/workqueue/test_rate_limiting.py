"""``RateLimitingQueue``: rate-limited requeues follow the limiter on the queue's clock; forget and num_requeues."""

from __future__ import annotations

import pytest

from smk8s.clock import FakeClock
from smk8s.workqueue import ItemExponentialFailureRateLimiter, RateLimitingQueue, ShutDown


async def test_rate_limited_requeues_back_off_per_item_and_forget_resets_them() -> None:
    clock = FakeClock()
    queue: RateLimitingQueue[str] = RateLimitingQueue(
        "test", rate_limiter=ItemExponentialFailureRateLimiter(0.005, 1000), clock=clock
    )
    for expected in [0.005, 0.010, 0.020, 0.040]:
        queue.add_rate_limited("a")
        clock.advance(expected - 0.0001)
        assert len(queue) == 0
        clock.advance(0.0001)
        assert len(queue) == 1
        queue.done(await queue.get())
    assert queue.num_requeues("a") == 4
    queue.forget("a")
    assert queue.num_requeues("a") == 0
    queue.add_rate_limited("a")
    clock.advance(0.005)
    assert len(queue) == 1


async def test_the_default_limiter_runs_on_the_queue_clock() -> None:
    clock = FakeClock()
    queue: RateLimitingQueue[int] = RateLimitingQueue("test", clock=clock)
    for item in range(101):
        queue.add_rate_limited(item)
    clock.advance(0.005)
    assert len(queue) == 100  # the burst
    clock.advance(0.095)
    assert len(queue) == 101  # the 101st waited for a token at 10/s


async def test_add_rate_limited_after_shutdown_is_ignored_and_records_nothing() -> None:
    clock = FakeClock()
    queue: RateLimitingQueue[str] = RateLimitingQueue("test", clock=clock)
    queue.shutdown()
    queue.add_rate_limited("a")
    assert queue.num_requeues("a") == 0
    clock.advance(10)
    with pytest.raises(ShutDown):
        await queue.get()
