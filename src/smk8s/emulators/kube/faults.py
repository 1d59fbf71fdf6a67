"""Injected faults: errors, latency and stalls, chosen per request, for tests of client resilience.

A :class:`FaultPlan` says which requests are hit (all, or only some verbs/resources) and how: a fraction of them
answered with 429 (with ``Retry-After``), 500 or 503, a fixed added latency, or a stall that holds every matching
response until the plan is cleared. Decisions use a seeded random generator so a test run is repeatable.
The control API (``/_emulator/faults``) and :class:`~smk8s.emulators.kube.server.KubeEmulator` set plans.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Any

from smk8s.emulators.kube import errors

_ERRORS = {429, 500, 503}


@dataclass
class FaultPlan:
    """One fault configuration; the default plan injects nothing."""

    error_rate: float = 0.0
    error_code: int = 503
    retry_after_seconds: int = 1
    latency_seconds: float = 0.0
    stall: bool = False
    verbs: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    seed: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultPlan:
        plan = cls(
            error_rate=float(data.get("error_rate", 0.0)),
            error_code=int(data.get("error_code", 503)),
            retry_after_seconds=int(data.get("retry_after_seconds", 1)),
            latency_seconds=float(data.get("latency_seconds", 0.0)),
            stall=bool(data.get("stall", False)),
            verbs=tuple(data.get("verbs") or ()),
            resources=tuple(data.get("resources") or ()),
            seed=int(data.get("seed", 0)),
        )
        if plan.error_code not in _ERRORS:
            raise errors.bad_request(f"error_code must be one of {sorted(_ERRORS)}")
        if not 0.0 <= plan.error_rate <= 1.0:
            raise errors.bad_request("error_rate must be between 0 and 1")
        return plan

    def to_dict(self) -> dict[str, Any]:
        return {
            "error_rate": self.error_rate,
            "error_code": self.error_code,
            "retry_after_seconds": self.retry_after_seconds,
            "latency_seconds": self.latency_seconds,
            "stall": self.stall,
            "verbs": list(self.verbs),
            "resources": list(self.resources),
            "seed": self.seed,
        }

    def applies_to(self, verb: str, resource: str) -> bool:
        return (not self.verbs or verb in self.verbs) and (not self.resources or resource in self.resources)


@dataclass
class FaultInjector:
    """Holds the current plan and applies it to one request at a time (see :meth:`before_request`)."""

    plan: FaultPlan = field(default_factory=FaultPlan)
    _rand: random.Random = field(default_factory=random.Random)
    _unstalled: asyncio.Event = field(default_factory=asyncio.Event)
    _stall_changed: asyncio.Event = field(default_factory=asyncio.Event)
    injected: int = 0
    stalled: int = 0
    """How many requests a stall plan is holding right now."""

    def __post_init__(self) -> None:
        self._unstalled.set()

    def set_plan(self, plan: FaultPlan) -> None:
        self.plan = plan
        self._rand = random.Random(plan.seed)
        if plan.stall:
            self._unstalled.clear()
        else:
            self._unstalled.set()

    def clear(self) -> None:
        self.set_plan(FaultPlan())

    async def wait_stalled(self, count: int = 1) -> None:
        """Return once at least ``count`` requests are held by a stall (lets tests sync without sleeping)."""
        while self.stalled < count:
            self._stall_changed.clear()
            await self._stall_changed.wait()

    async def before_request(self, verb: str, resource: str) -> None:
        """Delay, stall or fail a request as the plan says; raises the APIError to answer with."""
        plan = self.plan
        if not plan.applies_to(verb, resource):
            return
        if plan.stall:
            self.stalled += 1
            self._stall_changed.set()
            try:
                await self._unstalled.wait()
            finally:
                self.stalled -= 1
            plan = self.plan  # released by a new plan: the request is answered as that plan says
            if not plan.applies_to(verb, resource):
                return
        if plan.latency_seconds:
            await asyncio.sleep(plan.latency_seconds)
        if plan.error_rate and self._rand.random() < plan.error_rate:
            self.injected += 1
            if plan.error_code == 429:
                raise errors.too_many_requests(plan.retry_after_seconds)
            if plan.error_code == 500:
                raise errors.internal_error("injected fault")
            err = errors.service_unavailable()
            err.retry_after_seconds = plan.retry_after_seconds
            raise err
