"""Rate limits (token buckets on an injected clock) and account quotas."""

from __future__ import annotations

import pytest

from smk8s.emulators.aws.quotas import (
    DEFAULT_LIMITS,
    DEFAULT_READ_LIMIT,
    DEFAULT_WRITE_LIMIT,
    Quotas,
    RateLimit,
    RateLimiter,
)
from smk8s.emulators.aws.world import new_world


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_a_burst_then_refills_at_the_rate() -> None:
    clock = FakeMonotonic()
    limiter = RateLimiter(monotonic=clock)
    limiter.configure({"sagemaker:DescribeTrainingJob": {"rate": 2, "burst": 3}})
    assert [limiter.allow("sagemaker", "DescribeTrainingJob") for _ in range(4)] == [True, True, True, False]
    clock.now += 0.5  # one token back at 2/s
    assert limiter.allow("sagemaker", "DescribeTrainingJob")
    assert not limiter.allow("sagemaker", "DescribeTrainingJob")
    clock.now += 100  # refills only up to the burst
    assert sum(limiter.allow("sagemaker", "DescribeTrainingJob") for _ in range(10)) == 3


def test_buckets_are_per_operation() -> None:
    limiter = RateLimiter(monotonic=FakeMonotonic())
    limiter.configure({"sagemaker:*": {"rate": 0, "burst": 1}})
    assert limiter.allow("sagemaker", "DescribeTrainingJob")
    assert not limiter.allow("sagemaker", "DescribeTrainingJob")
    assert limiter.allow("sagemaker", "DescribeEndpoint")


def test_most_specific_key_wins_and_none_is_unlimited() -> None:
    limiter = RateLimiter(monotonic=FakeMonotonic())
    limiter.configure({"*": None, "sagemaker:*": {"rate": 1, "burst": 1}, "sagemaker:ListTags": 5})
    assert limiter.limit_for("logs", "GetLogEvents") is None
    assert limiter.limit_for("sagemaker", "DescribeEndpoint") == RateLimit(1, 1)
    assert limiter.limit_for("sagemaker", "ListTags") == RateLimit(5, 10)
    assert all(limiter.allow("logs", "GetLogEvents") for _ in range(1000))


def test_defaults_split_reads_from_writes() -> None:
    limiter = RateLimiter()
    assert limiter.limit_for("sagemaker", "DescribeTrainingJob") == DEFAULT_READ_LIMIT
    assert limiter.limit_for("logs", "FilterLogEvents") == DEFAULT_READ_LIMIT
    assert limiter.limit_for("sagemaker", "CreateTrainingJob") == DEFAULT_WRITE_LIMIT
    limiter.configure({"*": None})
    limiter.reset()
    assert limiter.limit_for("sagemaker", "CreateTrainingJob") == DEFAULT_WRITE_LIMIT


def test_default_limits_throttle() -> None:
    limiter = RateLimiter(monotonic=FakeMonotonic())
    allowed = sum(limiter.allow("sagemaker", "CreateTrainingJob") for _ in range(100))
    assert allowed == DEFAULT_WRITE_LIMIT.burst


@pytest.mark.parametrize("rates", [{"sagemaker": 1}, {"sagemaker:DescribeX": "fast"}, {"*": {"rate": 1, "burst": 0}}])
def test_bad_rate_config_is_rejected_whole(rates: dict[str, object]) -> None:
    limiter = RateLimiter()
    with pytest.raises((ValueError, KeyError)):
        limiter.configure(rates)
    assert limiter.overrides == {}


def test_account_quotas_defaults_and_overrides() -> None:
    quotas = Quotas()
    assert quotas.limit("training-jobs-running") == DEFAULT_LIMITS["training-jobs-running"].default
    quotas.set("training-jobs-running", 2)
    assert quotas.limit("training-jobs-running") == 2
    quotas.configure({"custom-thing": 3})
    assert quotas.limit("custom-thing") == 3
    with pytest.raises(KeyError):
        quotas.limit("no-such-quota")
    with pytest.raises(ValueError):
        quotas.set("endpoints", -1)
    quotas.reset()
    assert quotas.limit("training-jobs-running") == DEFAULT_LIMITS["training-jobs-running"].default


def test_check_raises_resource_limit_exceeded_with_sagemakers_wording() -> None:
    quotas = Quotas()
    quotas.set("training-jobs-running", 2)
    quotas.check("training-jobs-running", current=1)
    with pytest.raises(Exception) as caught:
        quotas.check("training-jobs-running", current=2)
    err = caught.value
    assert getattr(err, "code", None) == "ResourceLimitExceeded"
    assert str(getattr(err, "message", "")).startswith(
        "The account-level service limit 'Number of concurrent training jobs' is 2 Jobs, with current utilization "
        "of 2 Jobs and a request delta of 1 Jobs."
    )


def test_world_carries_the_quotas() -> None:
    world = new_world()
    world.quotas.set("endpoints", 1)
    assert world.quotas.limit("endpoints") == 1
    assert world.quotas.snapshot()["endpoints"] == 1
