"""Hosting controllers in a manager against both emulators, in-process (as the job controllers' harness).

``harness(builders=..., time_scale=..., **options)``: the kube and AWS emulators, the four hosting CRDs, and a
manager running the controllers the ``builders`` add (each called as ``builder(manager, services, **options)``;
default: the HostingDeployment controller). The AWS emulator runs ``time_scale`` times faster than real time
(default :data:`AWS_TIME_SCALE`: an endpoint's 420 virtual seconds of creation take 42 ms); a test that must see
every intermediate state passes ``time_scale=1`` and moves SageMaker's time itself with ``Harness.advance``.
Tests wait on the informers' watch events (``Harness.wait``), never on sleeps; ``DEADLINE`` is a safety net.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import pytest

from smk8s.controllers.hosting.deployment_setup import build_hosting_deployment_controller
from smk8s.emulators.aws.server import AwsEmulator
from smk8s.emulators.kube.server import KubeEmulator
from tests.support.controllers import (
    AWS_TIME_SCALE,
    DEADLINE,
    NS,
    ControllerHarness,
    Obj,
    condition,
    running,
    sample,
)

__all__ = ["AWS_TIME_SCALE", "DEADLINE", "HOSTING_KINDS", "NS", "Builder", "Harness", "condition", "harness", "ready",
           "sample"]

HOSTING_KINDS = ("HostingDeployment", "Model", "EndpointConfig", "HostingAutoscalingPolicy")
Builder = Callable[..., Any]


class Harness(ControllerHarness):
    """A manager running the controllers ``builders`` add, each called as ``builder(manager, services, **options)``."""

    def __init__(self, kube: KubeEmulator, aws: AwsEmulator, api: Any, builders: Sequence[Builder],
                 **options: Any) -> None:
        self._builders = builders
        super().__init__(kube, aws, api, **options)

    def build_controllers(self, **options: Any) -> list[Any]:
        return [build(self.manager, self.services, **options) for build in self._builders]

    def hosting_state(self) -> dict[str, Any]:
        """The emulator's models, endpoint configurations and endpoints."""
        state: dict[str, Any] = self.aws.state()["sagemaker"]["hosting"]
        return state


def ready(reason: str | None = None, status: str | None = None) -> Callable[[Obj], bool]:
    """A predicate: the Ready condition has ``reason`` (and ``status``) for the object's current generation."""
    def check(obj: Obj) -> bool:
        cond = next((c for c in (obj.get("status") or {}).get("conditions") or () if c["type"] == "Ready"), None)
        return (cond is not None and (reason is None or cond["reason"] == reason)
                and (status is None or cond["status"] == status)
                and cond.get("observedGeneration") == obj["metadata"]["generation"])
    return check


@asynccontextmanager
async def harness(*, start: bool = True, builders: Sequence[Builder] = (build_hosting_deployment_controller,),
                  time_scale: float = AWS_TIME_SCALE, aws_config: Obj | None = None,
                  harness_type: type[Harness] = Harness, **options: Any) -> AsyncIterator[Harness]:
    """Both emulators, the hosting CRDs, and a manager with the controllers ``builders`` add (``aws_config``: the
    AWS emulator's, besides rate limits off; ``harness_type``: a :class:`Harness` subclass to build)."""
    async with running(harness_type, kinds=HOSTING_KINDS, start=start, time_scale=time_scale, aws_config=aws_config,
                       builders=builders, **options) as env:
        yield env


@pytest.fixture
async def env() -> AsyncIterator[Harness]:
    async with harness() as running_harness:
        yield running_harness
