"""Fixtures shared by the kube emulator's conformance tests: an in-process emulator with a raw HTTP session, and
the official (sync) client for the thread-run ``kube`` fixture."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
from kubernetes import client, config

from smk8s.emulators.kube.server import KubeEmulator
from tests.support.kube import RunningKube


@pytest.fixture
async def emulator() -> AsyncIterator[KubeEmulator]:
    """An emulator on the test's own event loop (for async clients)."""
    async with KubeEmulator() as kube:
        yield kube


@pytest.fixture
async def http(emulator: KubeEmulator) -> AsyncIterator[aiohttp.ClientSession]:
    """Raw HTTP to ``emulator`` as its admin user."""
    headers = {"Authorization": f"Bearer {emulator.admin_token}"}
    async with aiohttp.ClientSession(base_url=emulator.url, headers=headers) as session:
        yield session


@pytest.fixture
def api(kube: RunningKube) -> Iterator[client.ApiClient]:
    """The official client, configured from ``kube``'s kubeconfig."""
    api_client = config.new_client_from_config(config_file=str(kube.kubeconfig_path))  # type: ignore[no-untyped-call]
    try:
        yield api_client
    finally:
        api_client.close()


@pytest.fixture
def official(api: client.ApiClient) -> client.ApiClient:
    """The same official client, under the name the discovery and error tests use."""
    return api
