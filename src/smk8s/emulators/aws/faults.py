"""Injected faults for resilience tests: 500 InternalFailure, 503 ServiceUnavailable, throttling, AccessDenied (the
caller's policy lacks the operation's permission), added latency and dropped connections, chosen per request from
a seeded random generator (the same seed and the same sequence of requests give the same faults).

A :class:`FaultRule` matches requests by service and operation (empty = all) and gives the fraction of matching
calls to fail each way; the fractions are cumulative bands of one draw in [0, 1), so
``{"internal_failure": 0.2, "drop": 0.1}`` fails 20 % with 500 and drops another 10 %. ``latency_seconds`` (real
seconds) delays every matching call; ``times`` caps how many faults the rule injects (then it only adds latency).
The first matching rule decides. :meth:`FaultInjector.decide` is pure bookkeeping; the server applies the result.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

FAULT_KINDS = ("internal_failure", "service_unavailable", "throttle", "access_denied", "drop")


@dataclass
class FaultRule:
    """One rule (see module docstring)."""

    services: tuple[str, ...] = ()
    operations: tuple[str, ...] = ()
    internal_failure: float = 0.0
    service_unavailable: float = 0.0
    throttle: float = 0.0
    access_denied: float = 0.0
    drop: float = 0.0
    latency_seconds: float = 0.0
    times: int | None = None
    injected: int = 0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FaultRule:
        known = {"services", "operations", "latency_seconds", "times", *FAULT_KINDS}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault rule fields: {sorted(unknown)} (known: {sorted(known)})")
        rule = cls(
            services=_names(data.get("services")),
            operations=_names(data.get("operations")),
            internal_failure=float(data.get("internal_failure", 0.0)),
            service_unavailable=float(data.get("service_unavailable", 0.0)),
            throttle=float(data.get("throttle", 0.0)),
            access_denied=float(data.get("access_denied", 0.0)),
            drop=float(data.get("drop", 0.0)),
            latency_seconds=float(data.get("latency_seconds", 0.0)),
            times=None if data.get("times") is None else int(data["times"]),
        )
        fractions = [getattr(rule, kind) for kind in FAULT_KINDS]
        if any(not 0.0 <= f <= 1.0 for f in fractions) or sum(fractions) > 1.0 + 1e-9:
            raise ValueError("fault fractions must each be in [0, 1] and add up to at most 1")
        if rule.latency_seconds < 0 or (rule.times is not None and rule.times < 0):
            raise ValueError("latency_seconds and times must not be negative")
        return rule

    def to_dict(self) -> dict[str, Any]:
        return {
            "services": list(self.services),
            "operations": list(self.operations),
            **{kind: getattr(self, kind) for kind in FAULT_KINDS},
            "latency_seconds": self.latency_seconds,
            "times": self.times,
            "injected": self.injected,
        }

    def matches(self, service: str, operation: str) -> bool:
        return (not self.services or service in self.services) and (
            not self.operations or operation in self.operations
        )


def _names(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


@dataclass(frozen=True)
class FaultDecision:
    """What to do to one call: wait ``latency_seconds``, then fail as ``kind`` (None: answer normally)."""

    latency_seconds: float = 0.0
    kind: str | None = None


NO_FAULT = FaultDecision()


@dataclass
class FaultInjector:
    """The current rules and the seeded generator behind the decisions."""

    rules: list[FaultRule] = field(default_factory=list)
    seed: int = 0
    _rand: random.Random = field(default_factory=lambda: random.Random(0))
    injected: dict[str, int] = field(default_factory=dict)

    def configure(self, rules: Sequence[Mapping[str, Any]], seed: int | None = None) -> None:
        """Replace the rules (validated first, so a bad config changes nothing) and restart the generator."""
        parsed = [FaultRule.from_dict(rule) for rule in rules]
        self.rules = parsed
        if seed is not None:
            self.seed = seed
        self._rand = random.Random(self.seed)

    def configure_from(self, data: Any) -> None:
        """From config: a rule, a list of rules, or ``{"seed": n, "rules": [...]}``."""
        if isinstance(data, Mapping) and "rules" in data:
            self.configure(data["rules"], data.get("seed"))
        elif isinstance(data, Mapping):
            self.configure([data])
        elif isinstance(data, list):
            self.configure(data)
        else:
            raise ValueError("faults are a rule, a list of rules or {seed, rules}")

    def clear(self) -> None:
        self.configure([])

    def decide(self, service: str, operation: str) -> FaultDecision:
        for rule in self.rules:
            if not rule.matches(service, operation):
                continue
            if rule.times is not None and rule.injected >= rule.times:
                return FaultDecision(rule.latency_seconds)
            draw = self._rand.random()
            edge = 0.0
            for kind in FAULT_KINDS:
                edge += getattr(rule, kind)
                if draw < edge:
                    rule.injected += 1
                    self.injected[kind] = self.injected.get(kind, 0) + 1
                    return FaultDecision(rule.latency_seconds, kind)
            return FaultDecision(rule.latency_seconds)
        return NO_FAULT

    def snapshot(self) -> dict[str, Any]:
        return {"seed": self.seed, "rules": [r.to_dict() for r in self.rules], "injected": dict(self.injected)}
