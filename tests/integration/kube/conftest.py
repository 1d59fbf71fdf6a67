"""Fixtures for the client layer against the emulated API server: a clock that records the waits asked of it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from smk8s.clock import FakeClock
from smk8s.emulators.kube.server import KubeEmulator
from smk8s.kube import RetryingApiClient, load_api_client, request_json

MANIFESTS = Path(__file__).parents[2] / "support" / "manifests"


class RecordingClock(FakeClock):
    """A FakeClock that records every ``sleep`` asked of it and lets a test wait for the next one."""

    def __init__(self) -> None:
        super().__init__()
        self.requested: list[float] = []
        self._asked = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        self.requested.append(seconds)
        self._asked.set()
        await super().sleep(seconds)

    async def next_sleep(self) -> float:
        count = len(self.requested)
        async with asyncio.timeout(10):  # safety net only
            while len(self.requested) == count:
                self._asked.clear()
                await self._asked.wait()
        return self.requested[count]


@pytest.fixture
async def kube() -> AsyncIterator[KubeEmulator]:
    async with KubeEmulator() as emulator:
        yield emulator


@pytest.fixture
def clock() -> RecordingClock:
    return RecordingClock()


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
async def api(
    kube: KubeEmulator, clock: RecordingClock, registry: CollectorRegistry
) -> AsyncIterator[RetryingApiClient]:
    client = await load_api_client(kube.kubeconfig, clock=clock, registry=registry)
    async with client:
        yield client


@pytest.fixture
async def trainingjob_crd(api: RetryingApiClient) -> dict[str, Any]:
    crd = yaml.safe_load((MANIFESTS / "trainingjob-crd.yaml").read_text())
    created: dict[str, Any] = await request_json(
        api, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body=crd
    )
    return created


def trainingjob(name: str = "xgboost-mnist") -> dict[str, Any]:
    obj: dict[str, Any] = yaml.safe_load((MANIFESTS / "trainingjob.yaml").read_text())
    obj["metadata"] = {**obj["metadata"], "name": name, "namespace": "default"}
    return obj
