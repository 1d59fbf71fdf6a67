"""Rate limiters: the per-item exponential backoff sequence, the token bucket, max-of and the controller default."""

from __future__ import annotations

import pytest

from smk8s.clock import FakeClock
from smk8s.workqueue import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    MaxOfRateLimiter,
    default_controller_rate_limiter,
)

BACKOFF = [0.005 * 2**n for n in range(18)] + [1000.0, 1000.0]


def test_exponential_backoff_doubles_from_5ms_to_a_1000s_cap() -> None:
    limiter = ItemExponentialFailureRateLimiter()
    delays = [limiter.when("a") for _ in range(len(BACKOFF))]
    assert delays == pytest.approx(BACKOFF)
    assert delays[:3] == pytest.approx([0.005, 0.010, 0.020])
    assert delays[17] == pytest.approx(655.36)
    assert limiter.num_requeues("a") == len(BACKOFF)


def test_exponential_backoff_is_per_item_and_forget_resets_it() -> None:
    limiter = ItemExponentialFailureRateLimiter(0.005, 1000)
    limiter.when("a")
    limiter.when("a")
    assert limiter.when("b") == pytest.approx(0.005)
    assert limiter.num_requeues("a") == 2
    limiter.forget("a")
    assert limiter.num_requeues("a") == 0
    assert limiter.when("a") == pytest.approx(0.005)
    assert limiter.num_requeues("b") == 1


def test_exponential_backoff_stays_at_the_cap_however_many_failures() -> None:
    limiter = ItemExponentialFailureRateLimiter(0.001, 60)
    delays = [limiter.when("a") for _ in range(5000)]
    assert delays[-1] == 60
    assert max(delays) == 60


def test_bucket_allows_the_burst_then_spaces_calls_at_qps() -> None:
    clock = FakeClock()
    limiter = BucketRateLimiter(qps=10, burst=100, clock=clock)
    assert [limiter.when(i) for i in range(100)] == [0.0] * 100
    assert [limiter.when(i) for i in range(3)] == pytest.approx([0.1, 0.2, 0.3])
    assert limiter.num_requeues(1) == 0
    limiter.forget(1)


def test_bucket_refills_at_qps_up_to_the_burst() -> None:
    clock = FakeClock()
    limiter = BucketRateLimiter(qps=10, burst=100, clock=clock)
    for i in range(102):
        limiter.when(i)  # two tokens owed
    clock.advance(1.0)  # ten more tokens: eight to spend
    assert [limiter.when("x") for _ in range(8)] == [0.0] * 8
    assert limiter.when("x") == pytest.approx(0.1)
    clock.advance(3600)
    assert [limiter.when("y") for _ in range(100)] == [0.0] * 100  # full again, not beyond
    assert limiter.when("y") == pytest.approx(0.1)


def test_max_of_answers_the_longest_delay_and_every_child_records_the_failure() -> None:
    fast = ItemExponentialFailureRateLimiter(0.001, 1000)
    slow = ItemExponentialFailureRateLimiter(0.1, 0.4)
    limiter = MaxOfRateLimiter(fast, slow)
    delays = [limiter.when("a") for _ in range(12)]
    assert delays[:4] == pytest.approx([0.1, 0.2, 0.4, 0.4])
    assert delays[-1] == pytest.approx(0.001 * 2**11)
    assert fast.num_requeues("a") == slow.num_requeues("a") == limiter.num_requeues("a") == 12
    limiter.forget("a")
    assert fast.num_requeues("a") == slow.num_requeues("a") == 0


def test_default_controller_limiter_is_max_of_per_item_exponential_and_a_shared_bucket() -> None:
    clock = FakeClock()
    limiter = default_controller_rate_limiter(clock)
    # 100 different items failing once each: within the burst, the per-item 5 ms wins.
    assert [limiter.when(i) for i in range(100)] == pytest.approx([0.005] * 100)
    # The bucket is empty now: the overall retry rate is 10/s whatever the item.
    assert limiter.when("new") == pytest.approx(0.1)
    assert limiter.when("other") == pytest.approx(0.2)
    assert limiter.num_requeues("new") == 1
    clock.advance(3600)
    for _ in range(19):
        delay = limiter.when("a")
    assert delay == 1000.0
