"""Injected faults and test controls: the ``/_emulator/`` HTTP control API and the matching in-process methods.

Clients under test must survive what a real cluster does to them: watches cut, history compacted under a resuming
watch (410 Expired, as etcd compaction does), throttling (429 with ``Retry-After``), server errors, slow and stalled
answers, and an API server restart. These tests drive the emulator in-process (same loop) over HTTP with aiohttp
and kubernetes_asyncio.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from kubernetes_asyncio import client as _client
from kubernetes_asyncio import config as _config
from kubernetes_asyncio.client.exceptions import ApiException

from smk8s.emulators.kube.faults import FaultPlan
from smk8s.emulators.kube.server import KubeEmulator

client: Any = _client  # kubernetes_asyncio is untyped
config: Any = _config


@pytest.fixture
async def kube() -> AsyncIterator[KubeEmulator]:
    async with KubeEmulator() as emulator:
        yield emulator


@pytest.fixture
async def http(kube: KubeEmulator) -> AsyncIterator[aiohttp.ClientSession]:
    headers = {"Authorization": f"Bearer {kube.admin_token}"}
    async with aiohttp.ClientSession(base_url=kube.url, headers=headers) as session:
        yield session


@pytest.fixture
async def core(kube: KubeEmulator) -> AsyncIterator[Any]:
    api = await config.new_client_from_config_dict(kube.kubeconfig)
    async with api:
        yield client.CoreV1Api(api)


CM = "/api/v1/namespaces/default/configmaps"


def configmap(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


async def control(http: aiohttp.ClientSession, method: str, action: str, body: Any = None) -> Any:
    async with http.request(method, f"/_emulator/{action}", json=body) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def create_cm(http: aiohttp.ClientSession, name: str, **data: str) -> dict[str, Any]:
    async with http.post(CM, json=configmap(name, **data)) as resp:
        assert resp.status == 201, await resp.text()
        created: dict[str, Any] = await resp.json()
        return created


async def next_event(resp: aiohttp.ClientResponse) -> dict[str, Any] | None:
    """The next watch event of a streaming response, or ``None`` once the server ended the stream."""
    try:
        line = await asyncio.wait_for(resp.content.readline(), timeout=10)
    except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError):
        return None
    if not line:
        return None
    event: dict[str, Any] = json.loads(line)
    return event


# -- watches ---------------------------------------------------------------------------------------------------


async def test_close_watches_ends_every_open_watch(kube: KubeEmulator, http: aiohttp.ClientSession) -> None:
    await create_cm(http, "a")
    async with (
        http.get(CM, params={"watch": "1"}) as cms,
        http.get("/api/v1/namespaces", params={"watch": "1"}) as namespaces,
    ):
        # Each watch is open once it has sent its initial state.
        assert (await next_event(cms) or {})["object"]["metadata"]["name"] == "a"
        assert (await next_event(namespaces) or {})["type"] == "ADDED"
        assert (await control(http, "GET", "stats"))["open_watches"] == 2
        assert await control(http, "POST", "close-watches") == {"closed": 2}
        # Remaining initial events drain, then both streams end normally.
        while await next_event(namespaces) is not None:
            pass
        assert await next_event(cms) is None
    assert (await control(http, "GET", "stats"))["open_watches"] == 0

    # In-process, the same control.
    async with http.get(CM, params={"watch": "1"}) as cms:
        assert (await next_event(cms) or {})["type"] == "ADDED"
        assert kube.close_watches() == 1
        assert await next_event(cms) is None


async def test_kubernetes_asyncio_watch_ends_when_watches_are_closed(kube: KubeEmulator, core: Any) -> None:
    await core.create_namespaced_config_map("default", configmap("a"))
    from kubernetes_asyncio import watch

    seen: list[str] = []

    async def consume() -> None:
        async with watch.Watch() as w:
            async for event in w.stream(core.list_namespaced_config_map, "default", timeout_seconds=60):
                seen.append(event["object"].metadata.name)
                assert kube.close_watches() == 1

    await asyncio.wait_for(consume(), timeout=10)  # the stream ends long before its own timeout
    assert seen == ["a"]


@pytest.mark.parametrize("over_http", [True, False])
async def test_compact_makes_resuming_from_older_versions_410_expired(
    kube: KubeEmulator, http: aiohttp.ClientSession, over_http: bool
) -> None:
    old_rv = (await create_cm(http, "a", v="1"))["metadata"]["resourceVersion"]
    async with http.patch(
        f"{CM}/a", json={"data": {"v": "2"}}, headers={"Content-Type": "application/merge-patch+json"}
    ) as resp:
        current_rv = (await resp.json())["metadata"]["resourceVersion"]
    # Before compaction, a watch from the old version replays the update.
    async with http.get(CM, params={"watch": "1", "resourceVersion": old_rv}) as resp:
        assert (await next_event(resp) or {})["type"] == "MODIFIED"

    if over_http:
        assert await control(http, "POST", "compact") == {"compactedTo": int(current_rv)}
    else:
        kube.compact()

    async with http.get(CM, params={"watch": "1", "resourceVersion": old_rv}) as resp:
        assert resp.status == 200  # as kube-apiserver: the watch starts, then sends an ERROR event and ends
        event = await next_event(resp)
        assert event is not None and event["type"] == "ERROR"
        status = event["object"]
        assert (status["kind"], status["code"], status["reason"]) == ("Status", 410, "Expired")
        assert status["message"].startswith(f"too old resource version: {old_rv} (")
        assert await next_event(resp) is None
    # An exact list at the old version is gone too; from the current version, watching works.
    async with http.get(CM, params={"resourceVersion": old_rv, "resourceVersionMatch": "Exact"}) as resp:
        assert resp.status == 410 and (await resp.json())["reason"] == "Expired"
    async with http.get(CM, params={"watch": "1", "resourceVersion": current_rv}) as resp:
        await create_cm(http, "b")
        event = await next_event(resp)
        assert event is not None and (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "b")


# -- errors ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "reason", "retry_after"),
    [(429, "TooManyRequests", "2"), (500, "InternalError", None), (503, "ServiceUnavailable", "2")],
)
async def test_error_faults_answer_status_with_retry_after(
    kube: KubeEmulator, http: aiohttp.ClientSession, core: Any, code: int, reason: str, retry_after: str | None
) -> None:
    plan = await control(http, "POST", "faults", {"error_rate": 1.0, "error_code": code, "retry_after_seconds": 2})
    assert (plan["error_rate"], plan["error_code"]) == (1.0, code)
    assert await control(http, "GET", "faults") == plan
    async with http.get(CM) as resp:
        assert resp.status == code
        assert resp.headers.get("Retry-After") == retry_after
        status = await resp.json()
        assert (status["kind"], status["status"], status["reason"], status["code"]) == (
            "Status",
            "Failure",
            reason,
            code,
        )
        if retry_after:
            assert status["details"]["retryAfterSeconds"] == 2
    with pytest.raises(ApiException) as caught:
        await core.list_namespaced_config_map("default")
    assert caught.value.status == code
    assert (await control(http, "GET", "stats"))["injected_faults"] == 2

    await control(http, "DELETE", "faults")
    assert (await core.list_namespaced_config_map("default")).items == []


async def test_bad_fault_plans_are_rejected(http: aiohttp.ClientSession) -> None:
    for body in ({"error_rate": 1.0, "error_code": 404}, {"error_rate": 1.5}):
        async with http.post("/_emulator/faults", json=body) as resp:
            assert resp.status == 400
            assert (await resp.json())["reason"] == "BadRequest"


async def _outcomes(http: aiohttp.ClientSession, n: int) -> list[int]:
    statuses = []
    for _ in range(n):
        async with http.get(CM) as resp:
            statuses.append(resp.status)
    return statuses


async def test_error_rate_is_a_seeded_deterministic_fraction(kube: KubeEmulator, http: aiohttp.ClientSession) -> None:
    await control(http, "POST", "faults", {"error_rate": 0.5, "error_code": 503, "seed": 7})
    first = await _outcomes(http, 60)
    assert set(first) == {200, 503}
    assert 15 <= first.count(503) <= 45
    # The same plan again (here in-process) replays the same decisions; another seed makes others.
    kube.set_faults(FaultPlan(error_rate=0.5, error_code=503, seed=7))
    assert await _outcomes(http, 60) == first
    kube.set_faults(FaultPlan(error_rate=0.5, error_code=503, seed=8))
    assert await _outcomes(http, 60) != first
    kube.clear_faults()
    assert set(await _outcomes(http, 10)) == {200}


async def test_faults_hit_only_the_chosen_verbs_and_resources(kube: KubeEmulator, http: aiohttp.ClientSession) -> None:
    await control(
        http, "POST", "faults", {"error_rate": 1.0, "error_code": 500, "verbs": ["create"], "resources": ["configmaps"]}
    )
    async with http.post(CM, json=configmap("a")) as resp:
        assert resp.status == 500
    async with http.get(CM) as resp:  # list: another verb
        assert resp.status == 200
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}
    async with http.post("/api/v1/namespaces/default/secrets", json=secret) as resp:  # another resource
        assert resp.status == 201
    kube.clear_faults()
    await create_cm(http, "a")


async def test_latency_delays_matching_requests(kube: KubeEmulator, http: aiohttp.ClientSession) -> None:
    kube.set_faults(FaultPlan(latency_seconds=0.3, resources=("configmaps",)))
    started = time.monotonic()
    async with http.get(CM) as resp:
        assert resp.status == 200
    assert time.monotonic() - started >= 0.3
    assert (await control(http, "GET", "faults"))["latency_seconds"] == 0.3


async def test_stall_holds_matching_requests_until_the_plan_is_cleared(
    kube: KubeEmulator, http: aiohttp.ClientSession
) -> None:
    await control(http, "POST", "faults", {"stall": True, "verbs": ["create"], "resources": ["configmaps"]})
    stalled = asyncio.create_task(create_cm(http, "late"))
    await asyncio.wait_for(kube.faults.wait_stalled(1), timeout=10)
    # Held: not answered, not stored; requests the plan does not match are served meanwhile.
    assert not stalled.done()
    assert (await control(http, "GET", "stats"))["stalled_requests"] == 1
    async with http.get(f"{CM}/late") as resp:
        assert resp.status == 404
    await control(http, "DELETE", "faults")
    created = await asyncio.wait_for(stalled, timeout=10)
    assert created["metadata"]["name"] == "late"
    assert (await control(http, "GET", "stats"))["stalled_requests"] == 0


# -- restart -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("over_http", [True, False])
async def test_restart_drops_connections_and_keeps_state_and_port(
    kube: KubeEmulator, http: aiohttp.ClientSession, over_http: bool
) -> None:
    created = await create_cm(http, "kept", v="1")
    port = kube.port
    async with http.get(CM, params={"watch": "1", "resourceVersion": created["metadata"]["resourceVersion"]}) as watch:
        # An idle HTTP/1.1 keep-alive connection, to see that the server drops it too.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET /version HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        length = next(int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length"))
        await reader.readexactly(length)
        if over_http:
            assert await control(http, "POST", "restart") == {"restarting": True}
            await kube.wait_control_actions()
        else:
            await kube.restart()
        assert await next_event(watch) is None  # the watch was cut
        assert await asyncio.wait_for(reader.read(), timeout=10) == b""  # and the idle connection closed
        writer.close()
    assert kube.port == port and kube.url.endswith(f":{port}")

    headers = {"Authorization": f"Bearer {kube.admin_token}"}
    async with aiohttp.ClientSession(base_url=kube.url, headers=headers) as fresh:
        async with fresh.get(f"{CM}/kept") as resp:
            obj = await resp.json()
        assert obj["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
        assert obj["data"] == {"v": "1"}
        async with fresh.post(CM, json=configmap("after")) as resp:
            later = await resp.json()
        assert int(later["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
        # A watch resumed from before the restart replays what happened since: history survives too.
        async with fresh.get(
            CM, params={"watch": "1", "resourceVersion": created["metadata"]["resourceVersion"]}
        ) as watch:
            event = await next_event(watch)
            assert event is not None and event["object"]["metadata"]["name"] == "after"


# -- stats -------------------------------------------------------------------------------------------------------


async def test_stats_count_requests_by_verb_and_resource(kube: KubeEmulator, http: aiohttp.ClientSession) -> None:
    assert (await control(http, "GET", "stats"))["total"] == 0  # control requests are not counted
    for name in ("a", "b"):
        await create_cm(http, name)
    for _ in range(3):
        async with http.get(CM) as resp:
            assert resp.status == 200
    async with http.get(f"{CM}/a") as resp:
        assert resp.status == 200
    async with http.delete(f"{CM}/b") as resp:
        assert resp.status == 200
    async with http.get("/api/v1/namespaces", params={"watch": "1", "timeoutSeconds": "1"}) as resp:
        assert (await next_event(resp) or {})["type"] == "ADDED"
    async with http.get("/version") as resp:
        assert resp.status == 200
    stats = await control(http, "GET", "stats")
    assert stats["requests"] == {
        "create": {"configmaps": 2},
        "list": {"configmaps": 3},
        "get": {"configmaps": 1, "/version": 1},
        "delete": {"configmaps": 1},
        "watch": {"namespaces": 1},
    }
    assert stats["total"] == 9
    assert stats == kube.stats_dict()
