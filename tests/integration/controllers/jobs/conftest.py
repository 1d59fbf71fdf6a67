"""The job controllers in a manager against both emulators, in-process (the shared base: tests/support/controllers.py).

The AWS emulator runs ``AWS_TIME_SCALE`` x faster than real time (a default training job's 800 virtual seconds take
80 ms); the manager polls every ``POLL`` real seconds. Tests wait on the informer's watch events (``Harness.wait``),
never on sleeps; ``DEADLINE`` is only a safety net.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from smk8s.controllers.jobs.setup import build_job_controllers
from tests.support.controllers import (
    AWS_TIME_SCALE,
    CRDS,
    DEADLINE,
    NS,
    POLL,
    ROOT,
    SAMPLES,
    ControllerHarness,
    Obj,
    condition,
    install_crds,
    running,
    sample,
)

__all__ = ["AWS_TIME_SCALE", "CRDS", "DEADLINE", "NS", "POLL", "ROOT", "SAMPLES", "Harness", "condition", "harness",
           "install_crds", "sample", "status_is"]


class Harness(ControllerHarness):
    """A manager running the job controllers (``options``: build_job_controllers')."""

    def build_controllers(self, **options: Any) -> list[Any]:
        return list(build_job_controllers(self.manager, self.services, **options))


def status_is(field: str, *values: str) -> Callable[[Obj], bool]:
    return lambda obj: (obj.get("status") or {}).get(field) in values


@asynccontextmanager
async def harness(*, start: bool = True, **options: Any) -> AsyncIterator[Harness]:
    """Both emulators, every CRD, and a manager with the job controllers (``options``: build_job_controllers')."""
    async with running(Harness, start=start, **options) as env:
        yield env


@pytest.fixture
async def env() -> AsyncIterator[Harness]:
    async with harness() as running_harness:
        yield running_harness
