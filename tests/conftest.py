"""Shared fixtures: emulators running in the background, with kubectl and clients pointed at them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from smk8s.emulators.aws.server import AwsEmulator
from tests.support.kube import RunningKube, running_kube


@pytest.fixture
def kube(tmp_path: Path) -> Iterator[RunningKube]:
    """A fresh emulated API server (no RBAC) on a background thread, with a kubeconfig for it."""
    with running_kube(tmp_path) as running:
        yield running


@pytest.fixture
def kube_rbac(tmp_path: Path) -> Iterator[RunningKube]:
    """A fresh emulated API server that authorizes every request with RBAC.

    It serves HTTPS: client-go (so kubectl) sends bearer tokens only over TLS, as a real cluster requires.
    """
    with running_kube(tmp_path, rbac_enabled=True, tls=True) as running:
        yield running


AWS_TIME_SCALE = 10_000.0


@pytest.fixture
async def aws() -> AsyncIterator[AwsEmulator]:
    """A fresh AWS emulator on this test's event loop, its clock running ``AWS_TIME_SCALE`` x real time.

    Rate limits are off (``{"*": None}``): they follow the wall clock, which would make tests timing-dependent;
    tests of throttling configure them. Clients: ``session.create_client(service, **aws.client_kwargs())``.
    """
    async with AwsEmulator(time_scale=AWS_TIME_SCALE, config={"rates": {"*": None}}) as emulator:
        yield emulator
