"""Request rate limits (token buckets per operation) and account quotas (how many of a thing may exist at once).

Rate limits. AWS throttles each API per account and region; SageMaker does not publish its control-plane rates
(they are "see Service Quotas"), so the defaults below are the emulator's choice, documented in
docs/emulators.md: read calls (``Describe*``, ``List*``, ``Get*``, ``Filter*``, ``Search``) 50 requests/s with a
burst of 100; every other call 10 requests/s with a burst of 20. A limit is a token bucket: ``burst`` tokens,
refilled at ``rate`` per real (wall-clock) second -- client request rates are real even when the lifecycle clock
is compressed. A throttled call is answered ``ThrottlingException`` "Rate exceeded" (HTTP 400; STS: ``Throttling``).

Limits are configured by key, the most specific winning: ``"sagemaker:DescribeTrainingJob"``, then
``"sagemaker:*"``, then ``"*"``, then the built-in defaults; a key set to ``None`` means "unlimited" (so
``{"*": None}`` switches throttling off except where a more specific key says otherwise).

Account quotas. Named limits the service modules enforce themselves (the training-job module refuses a job
beyond ``quotas.limit("training-jobs-running")`` with :func:`Quotas.exceeded`'s ``ResourceLimitExceeded``).
:data:`DEFAULT_LIMITS` lists the names, their defaults and the quota name SageMaker's message shows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from smk8s.emulators.aws.errors import AwsError, resource_limit_exceeded

READ_PREFIXES = ("Describe", "List", "Get", "Filter", "Search")


@dataclass(frozen=True)
class RateLimit:
    """``rate`` requests per second sustained, ``burst`` at once."""

    rate: float
    burst: float

    @classmethod
    def from_value(cls, value: Any) -> RateLimit | None:
        """From config: ``None`` (unlimited), a number (rate, burst = 2 x rate) or ``{"rate": r, "burst": b}``."""
        if value is None:
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            limit = cls(float(value), max(float(value) * 2, 1.0))
        elif isinstance(value, Mapping):
            rate = float(value["rate"])
            limit = cls(rate, float(value.get("burst", max(rate * 2, 1.0))))
        else:
            raise ValueError(f"a rate limit is null, a number or {{rate, burst}}, not {value!r}")
        if limit.rate < 0 or limit.burst < 1:
            raise ValueError("rate must be >= 0 and burst >= 1")
        return limit

    def to_dict(self) -> dict[str, float]:
        return {"rate": self.rate, "burst": self.burst}


DEFAULT_READ_LIMIT = RateLimit(50.0, 100.0)
DEFAULT_WRITE_LIMIT = RateLimit(10.0, 20.0)


def default_rate_limit(operation: str) -> RateLimit:
    return DEFAULT_READ_LIMIT if operation.startswith(READ_PREFIXES) else DEFAULT_WRITE_LIMIT


@dataclass
class TokenBucket:
    limit: RateLimit
    tokens: float
    updated: float

    def take(self, now: float) -> bool:
        self.tokens = min(self.limit.burst, self.tokens + (now - self.updated) * self.limit.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass
class RateLimiter:
    """Token buckets per ``service:Operation`` (see module docstring); ``monotonic`` is injectable for tests."""

    overrides: dict[str, RateLimit | None] = field(default_factory=dict)
    monotonic: Callable[[], float] = time.monotonic
    _buckets: dict[str, TokenBucket] = field(default_factory=dict)

    def configure(self, rates: Mapping[str, Any]) -> None:
        """Merge ``{key: null | rate | {rate, burst}}`` into the overrides; buckets restart full."""
        parsed = {key: RateLimit.from_value(value) for key, value in rates.items()}
        for key in parsed:
            if key != "*" and not (":" in key and all(key.split(":", 1))):
                raise ValueError(f"rate limit keys are '*', 'service:*' or 'service:Operation', not {key!r}")
        self.overrides.update(parsed)
        self._buckets.clear()

    def reset(self) -> None:
        """Back to the built-in defaults."""
        self.overrides.clear()
        self._buckets.clear()

    def limit_for(self, service: str, operation: str) -> RateLimit | None:
        for key in (f"{service}:{operation}", f"{service}:*", "*"):
            if key in self.overrides:
                return self.overrides[key]
        return default_rate_limit(operation)

    def allow(self, service: str, operation: str) -> bool:
        """Take a token for one call; False when the call is to be throttled."""
        limit = self.limit_for(service, operation)
        if limit is None:
            return True
        key = f"{service}:{operation}"
        now = self.monotonic()
        bucket = self._buckets.get(key)
        if bucket is None or bucket.limit != limit:
            bucket = self._buckets[key] = TokenBucket(limit, limit.burst, now)
        return bucket.take(now)

    def snapshot(self) -> dict[str, Any]:
        return {
            "defaults": {"read": DEFAULT_READ_LIMIT.to_dict(), "write": DEFAULT_WRITE_LIMIT.to_dict()},
            "overrides": {k: (v.to_dict() if v else None) for k, v in self.overrides.items()},
        }


@dataclass(frozen=True)
class QuotaDefinition:
    default: int
    display_name: str
    unit: str


DEFAULT_LIMITS: Mapping[str, QuotaDefinition] = {
    "training-jobs-running": QuotaDefinition(50, "Number of concurrent training jobs", "Jobs"),
    "processing-jobs-running": QuotaDefinition(50, "Number of concurrent processing jobs", "Jobs"),
    "transform-jobs-running": QuotaDefinition(50, "Number of concurrent transform jobs", "Jobs"),
    "tuning-jobs-running": QuotaDefinition(100, "Number of concurrent hyperparameter tuning jobs", "Jobs"),
    "training-jobs-per-tuning-job": QuotaDefinition(
        750, "Maximum number of training jobs per hyperparameter tuning job", "Jobs"
    ),
    "parallel-training-jobs-per-tuning-job": QuotaDefinition(
        100, "Maximum number of concurrent training jobs per hyperparameter tuning job", "Jobs"
    ),
    "endpoints": QuotaDefinition(100, "Number of endpoints", "Endpoints"),
    "instances-per-endpoint": QuotaDefinition(20, "Maximum total number of instances per endpoint", "Instances"),
}


@dataclass
class Quotas:
    """The account's quotas: :data:`DEFAULT_LIMITS` plus anything set; read with :meth:`limit`."""

    _values: dict[str, int] = field(default_factory=dict)

    def limit(self, name: str) -> int:
        """The quota ``name`` (KeyError for a name neither defined nor set: catches typos)."""
        if name in self._values:
            return self._values[name]
        return DEFAULT_LIMITS[name].default

    def set(self, name: str, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"quota {name!r} must be a non-negative integer, not {value!r}")
        self._values[name] = value

    def configure(self, values: Mapping[str, Any]) -> None:
        for name, value in values.items():
            self.set(name, value)

    def reset(self) -> None:
        self._values.clear()

    def exceeded(self, name: str, current: int, delta: int = 1) -> AwsError:
        """SageMaker's ``ResourceLimitExceeded`` for ``name`` at ``current`` utilization asking ``delta`` more."""
        definition = DEFAULT_LIMITS.get(name, QuotaDefinition(0, name, "Resources"))
        unit = definition.unit
        return resource_limit_exceeded(
            f"The account-level service limit '{definition.display_name}' is {self.limit(name)} {unit}, with current "
            f"utilization of {current} {unit} and a request delta of {delta} {unit}. Please use AWS Service Quotas "
            "to request an increase for this quota. If AWS Service Quotas is not available, contact AWS support to "
            "request an increase for this quota."
        )

    def check(self, name: str, current: int, delta: int = 1) -> None:
        """Raise :meth:`exceeded` when ``current + delta`` would pass the quota."""
        if current + delta > self.limit(name):
            raise self.exceeded(name, current, delta)

    def snapshot(self) -> dict[str, int]:
        return {name: self.limit(name) for name in sorted({*DEFAULT_LIMITS, *self._values})}
