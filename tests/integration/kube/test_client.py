"""The API client against the emulated API server: throttling retries, request metrics, in-cluster configuration."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import pytest
from kubernetes_asyncio.client.exceptions import ApiException
from prometheus_client import CollectorRegistry

from smk8s.emulators.kube.faults import FaultPlan
from smk8s.emulators.kube.server import KubeEmulator
from smk8s.kube import RetryingApiClient, RetryPolicy, in_cluster_namespace, load_api_client, request_json
from tests.integration.kube.conftest import RecordingClock

NAMESPACE = "/api/v1/namespaces/default"


def requests(kube: KubeEmulator) -> int:
    return int(kube.stats_dict()["requests"].get("get", {}).get("namespaces", 0))


@pytest.mark.parametrize("code", [429, 503])
async def test_a_throttled_request_is_retried_after_the_retry_after_delay(
    kube: KubeEmulator, api: RetryingApiClient, clock: RecordingClock, registry: CollectorRegistry, code: int
) -> None:
    kube.set_faults(FaultPlan(error_rate=1.0, error_code=code, retry_after_seconds=3))
    call = asyncio.ensure_future(request_json(api, "GET", NAMESPACE))
    assert await clock.next_sleep() == 3.0
    kube.clear_faults()
    clock.advance(2.9)
    await clock.settle()
    assert not call.done() and requests(kube) == 1  # nothing re-sent before the server's delay is over
    clock.advance(0.1)
    namespace = await asyncio.wait_for(call, 10)
    assert namespace["metadata"]["name"] == "default" and requests(kube) == 2
    host = f"127.0.0.1:{kube.port}"
    labels = {"method": "GET", "host": host}
    assert registry.get_sample_value("rest_client_requests_total", {**labels, "code": str(code)}) == 1
    assert registry.get_sample_value("rest_client_requests_total", {**labels, "code": "200"}) == 1


async def test_retry_after_is_capped(kube: KubeEmulator, api: RetryingApiClient, clock: RecordingClock) -> None:
    kube.set_faults(FaultPlan(error_rate=1.0, error_code=429, retry_after_seconds=3600))
    call = asyncio.ensure_future(request_json(api, "GET", NAMESPACE))
    assert await clock.next_sleep() == RetryPolicy().max_delay
    kube.clear_faults()
    clock.advance(RetryPolicy().max_delay)
    await asyncio.wait_for(call, 10)


async def test_retries_stop_after_max_retries_and_the_error_surfaces(kube: KubeEmulator) -> None:
    clock = RecordingClock()
    api = await load_api_client(kube.kubeconfig, clock=clock, retry=RetryPolicy(max_retries=2))
    async with api:
        kube.set_faults(FaultPlan(error_rate=1.0, error_code=429, retry_after_seconds=1))
        call = asyncio.ensure_future(request_json(api, "GET", NAMESPACE))
        for _ in range(2):
            await clock.next_sleep()
            clock.advance(1)
        with pytest.raises(ApiException) as err:
            await asyncio.wait_for(call, 10)
    assert err.value.status == 429 and requests(kube) == 3 and clock.requested == [1.0, 1.0]


async def test_server_errors_without_throttling_are_not_retried(
    kube: KubeEmulator, api: RetryingApiClient, clock: RecordingClock, registry: CollectorRegistry
) -> None:
    kube.set_faults(FaultPlan(error_rate=1.0, error_code=500))
    with pytest.raises(ApiException) as err:
        await request_json(api, "GET", NAMESPACE)
    assert err.value.status == 500 and clock.requested == [] and requests(kube) == 1
    labels = {"method": "GET", "host": f"127.0.0.1:{kube.port}", "code": "500"}
    assert registry.get_sample_value("rest_client_requests_total", labels) == 1


async def test_connection_failures_are_counted_as_errors(kube: KubeEmulator, registry: CollectorRegistry) -> None:
    config = {**kube.kubeconfig}
    config["clusters"] = [{"name": "smk8s-emulator", "cluster": {"server": "http://127.0.0.1:1"}}]
    api = await load_api_client(config, registry=registry)
    async with api:
        with pytest.raises(Exception):  # noqa: B017 - any connection error
            await request_json(api, "GET", NAMESPACE)
    labels = {"method": "GET", "host": "127.0.0.1:1", "code": "<error>"}
    assert registry.get_sample_value("rest_client_requests_total", labels) == 1


# -- configuration ------------------------------------------------------------------------------------------------


@pytest.fixture
async def tls_kube() -> KubeEmulator:
    emulator = KubeEmulator(tls=True, rbac_enabled=True)
    await emulator.start()
    return emulator


def service_account(tmp_path: Path, kube: KubeEmulator, token: str) -> Path:
    sa = tmp_path / "serviceaccount"
    sa.mkdir()
    ca = base64.b64decode(kube.kubeconfig["clusters"][0]["cluster"]["certificate-authority-data"])
    (sa / "ca.crt").write_bytes(ca)
    (sa / "token").write_text(token)
    (sa / "namespace").write_text("sagemaker-system\n")
    return sa


async def test_in_cluster_configuration_uses_the_service_account(tmp_path: Path, tls_kube: KubeEmulator) -> None:
    try:
        sa = service_account(tmp_path, tls_kube, tls_kube.admin_token)
        env = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(tls_kube.port)}
        api = await load_api_client(service_account_dir=sa, environ=env)
        async with api:
            assert api.configuration.host == f"https://127.0.0.1:{tls_kube.port}"
            namespace = await request_json(api, "GET", NAMESPACE)  # TLS verified against ca.crt; RBAC admits
        assert namespace["metadata"]["name"] == "default"
        assert in_cluster_namespace(sa) == "sagemaker-system"
        assert in_cluster_namespace(tmp_path / "missing") is None

        (sa / "token").write_text("not-a-token")
        api = await load_api_client(service_account_dir=sa, environ=env)
        async with api:
            with pytest.raises(ApiException) as err:
                await request_json(api, "GET", NAMESPACE)
        assert err.value.status == 401  # the token really is what authenticates
    finally:
        await tls_kube.stop()


async def test_kubeconfig_wins_over_in_cluster_and_context_skips_in_cluster(
    tmp_path: Path, kube: KubeEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.kube/config
    path = tmp_path / "kubeconfig"
    kube.write_kubeconfig(path)
    in_cluster = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    missing_sa = tmp_path / "no-sa"

    for api in [
        await load_api_client(str(path), environ=in_cluster, service_account_dir=missing_sa),
        await load_api_client(environ={**in_cluster, "KUBECONFIG": str(path)}, service_account_dir=missing_sa),
    ]:
        async with api:
            assert api.configuration.host == kube.url
            assert (await request_json(api, "GET", NAMESPACE))["metadata"]["name"] == "default"

    from smk8s.kube import ConfigError

    with pytest.raises(ConfigError):  # in-cluster, but its files are missing
        await load_api_client(environ=in_cluster, service_account_dir=missing_sa)
    with pytest.raises(ConfigError):  # a context names a kubeconfig context: in-cluster is not considered
        await load_api_client(context="smk8s-emulator", environ=in_cluster, service_account_dir=missing_sa)
    (tmp_path / ".kube").mkdir()
    kube.write_kubeconfig(tmp_path / ".kube" / "config")
    api = await load_api_client(context="smk8s-emulator", environ=in_cluster, service_account_dir=missing_sa)
    async with api:
        assert api.configuration.host == kube.url
