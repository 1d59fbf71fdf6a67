"""Watches against the emulator, as kube-apiserver's watch cache serves them.

References (kubernetes/kubernetes): apiserver storage/cacher (``watch_cache.go`` ``getAllEventsSinceLocked``:
synthetic ADDED for ""/"0", replay after N, ``too old resource version: N (oldest-1)`` as an ERROR event carrying
a 410 Expired Status; ``cache_watcher.go``: selector transitions become ADDED/DELETED, bookmarks only with
``allowWatchBookmarks``, the ``k8s.io/initial-events-end`` bookmark after ``sendInitialEvents``);
apimachinery meta/internalversion/validation ``validateWatchOptions`` (422 Invalid); docs "API concepts:
efficient detection of changes / watch bookmarks / streaming lists".
"""

from __future__ import annotations

import asyncio
import json
import queue
import subprocess
import threading
import time
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

import aiohttp
import pytest
from kubernetes_asyncio import client, config, watch
from kubernetes_asyncio.client.exceptions import ApiException

from smk8s.emulators.kube.server import KubeEmulator
from tests.support.kube import RunningKube

NS = "watched"
CM_PATH = f"/api/v1/namespaces/{NS}/configmaps"
INITIAL_EVENTS_END = "k8s.io/initial-events-end"
WATCH_JSONPATH = "jsonpath={.type} {.object.metadata.name}{'\\n'}"  # applied to each watch event


class RawWatch:
    """A watch request over plain HTTP, read one JSON event line at a time (None once the server ends it)."""

    def __init__(self, emulator: KubeEmulator, path: str, **params: str) -> None:
        self.url = emulator.url + path
        self.params = {"watch": "true", **params}
        self.headers = {"Authorization": f"Bearer {emulator.admin_token}"}
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        self.response: aiohttp.ClientResponse | None = None

    async def __aenter__(self) -> RawWatch:
        self.response = await self.session.get(self.url, params=self.params, headers=self.headers)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.response is not None:
            self.response.close()
        await self.session.close()

    async def next(self, wait: float = 5) -> dict[str, Any] | None:
        assert self.response is not None and self.response.status == 200, self.response
        line = await asyncio.wait_for(self.response.content.readline(), wait)
        return json.loads(line) if line else None

    async def take(self, n: int) -> list[tuple[str, str]]:
        """The next ``n`` events as (type, name)."""
        out: list[tuple[str, str]] = []
        for _ in range(n):
            event = await self.next()
            assert event is not None, f"stream ended after {out}"
            out.append((event["type"], event["object"]["metadata"].get("name", "")))
        return out

    async def rest(self, wait: float = 5) -> list[dict[str, Any]]:
        """Every remaining event until the server ends the stream."""
        events = []
        while (event := await self.next(wait)) is not None:
            events.append(event)
        return events


@pytest.fixture
async def emulator() -> AsyncIterator[KubeEmulator]:
    async with KubeEmulator(bookmark_interval=0.05) as kube:
        yield kube


@pytest.fixture
async def core(emulator: KubeEmulator) -> AsyncIterator[client.CoreV1Api]:
    api_client = await config.new_client_from_config_dict(emulator.kubeconfig)
    async with api_client:
        api = client.CoreV1Api(api_client)
        await api.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NS)))
        yield api


async def make_cm(core: client.CoreV1Api, name: str, labels: dict[str, str] | None = None, ns: str = NS) -> Any:
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels=labels or {}))
    return await core.create_namespaced_config_map(ns, body)


async def test_watch_from_unset_or_zero_starts_with_synthetic_added_then_goes_live(
    emulator: KubeEmulator, core: client.CoreV1Api
) -> None:
    await make_cm(core, "a")
    await make_cm(core, "b")
    async with RawWatch(emulator, CM_PATH) as unset, RawWatch(emulator, CM_PATH, resourceVersion="0") as zero:
        assert await unset.take(2) == [("ADDED", "a"), ("ADDED", "b")]
        assert await zero.take(2) == [("ADDED", "a"), ("ADDED", "b")]
        await make_cm(core, "c")
        await core.patch_namespaced_config_map("a", NS, {"data": {"k": "v"}})
        await core.delete_namespaced_config_map("b", NS)
        live = [("ADDED", "c"), ("MODIFIED", "a"), ("DELETED", "b")]
        assert await unset.take(3) == live
        assert await zero.take(3) == live


async def test_watch_from_a_resource_version_replays_the_history_after_it(
    emulator: KubeEmulator, core: client.CoreV1Api
) -> None:
    start = (await make_cm(core, "a")).metadata.resource_version
    await core.patch_namespaced_config_map("a", NS, {"data": {"k": "v"}})
    await make_cm(core, "b")
    await core.delete_namespaced_config_map("a", NS)
    async with RawWatch(emulator, CM_PATH, resourceVersion=start) as w:
        events = [await w.next() for _ in range(3)]
        assert [(e["type"], e["object"]["metadata"]["name"]) for e in events if e] == [
            ("MODIFIED", "a"),
            ("ADDED", "b"),
            ("DELETED", "a"),
        ]
        rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events if e]
        assert rvs == sorted(rvs) and rvs[0] > int(start)
        await make_cm(core, "c")  # and then live
        assert await w.take(1) == [("ADDED", "c")]


async def test_watch_older_than_the_bounded_history_gets_an_error_event_with_410_expired() -> None:
    async with KubeEmulator(watch_history=5) as emulator:
        api_client = await config.new_client_from_config_dict(emulator.kubeconfig)
        async with api_client:
            core = client.CoreV1Api(api_client)
            await core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NS)))
            start = (await make_cm(core, "a")).metadata.resource_version
            for i in range(6):  # push the event after `start` out of a 5-event history
                await make_cm(core, f"n{i}")
            async with RawWatch(emulator, CM_PATH, resourceVersion=start) as w:
                events = await w.rest()
            assert [e["type"] for e in events] == ["ERROR"]
            status = events[0]["object"]
            assert (status["kind"], status["code"], status["reason"]) == ("Status", 410, "Expired")
            oldest = emulator.store.revision - 5  # the oldest revision a watch can still start from
            assert status["message"] == f"too old resource version: {start} ({oldest})"
            # Starting exactly there still works.
            async with RawWatch(emulator, CM_PATH, resourceVersion=str(oldest)) as w:
                assert await w.take(5) == [("ADDED", f"n{i}") for i in range(1, 6)]


async def test_compaction_expires_watch_resumption(emulator: KubeEmulator, core: client.CoreV1Api) -> None:
    start = (await make_cm(core, "a")).metadata.resource_version
    await make_cm(core, "b")
    async with aiohttp.ClientSession() as session, session.post(emulator.url + "/_emulator/compact") as r:
        assert r.status == 200
    async with RawWatch(emulator, CM_PATH, resourceVersion=start) as w:
        events = await w.rest()
    assert [(e["type"], e["object"]["code"]) for e in events] == [("ERROR", 410)]


async def test_bookmarks_only_when_allowed_and_timeout_seconds_ends_the_stream(
    emulator: KubeEmulator, core: client.CoreV1Api
) -> None:
    await make_cm(core, "a")
    revision = emulator.store.revision
    async with RawWatch(emulator, CM_PATH, resourceVersion=str(revision), allowWatchBookmarks="true") as w:
        bookmark = await w.next()
        assert bookmark is not None and bookmark["type"] == "BOOKMARK"
        assert bookmark["object"]["kind"] == "ConfigMap" and bookmark["object"]["apiVersion"] == "v1"
        assert bookmark["object"]["metadata"]["resourceVersion"] == str(revision)
        assert INITIAL_EVENTS_END not in (bookmark["object"]["metadata"].get("annotations") or {})
    began = time.monotonic()
    async with RawWatch(emulator, CM_PATH, timeoutSeconds="1") as w:
        events = await w.rest()
    # The server ended the stream after timeoutSeconds, sending no bookmark (~20 intervals passed) unasked.
    assert 0.9 <= time.monotonic() - began < 4
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "a")]


async def test_a_bookmark_comes_two_seconds_before_timeout_seconds_ends_the_watch() -> None:
    """cache_watcher.go nextBookmarkTime: besides the periodic bookmark, one at ``deadline - 2s`` when that is
    earlier, so a client resumes from the freshest revision after the timeout."""
    async with KubeEmulator(bookmark_interval=3600) as emulator:
        api_client = await config.new_client_from_config_dict(emulator.kubeconfig)
        async with api_client:
            core = client.CoreV1Api(api_client)
            await core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NS)))
            await make_cm(core, "a")
            revision = emulator.store.revision
            began = time.monotonic()
            async with RawWatch(
                emulator, CM_PATH, resourceVersion=str(revision), allowWatchBookmarks="true", timeoutSeconds="3"
            ) as w:
                bookmark = await w.next()
                bookmark_at = time.monotonic() - began
                rest = await w.rest()
            ended_at = time.monotonic() - began
    assert bookmark is not None and bookmark["type"] == "BOOKMARK", bookmark
    assert bookmark["object"]["metadata"]["resourceVersion"] == str(revision)
    # Not at once but at the deadline - 2 s (about 1 s in), long before the hour-long interval: only the pre-timeout
    # bookmark can be it; then nothing until the stream ends (no upper bound on wall times: CI machines stall).
    assert bookmark_at >= 0.8, bookmark_at
    assert rest == []
    assert ended_at >= 2.9


def test_default_bookmark_interval_is_at_most_a_minute() -> None:
    """The cacher sends bookmarks about every minute (cacher.go bookmarkFrequency); so do our defaults, in-process
    and from the command line."""
    from smk8s.cli import build_parser

    assert KubeEmulator().bookmark_interval <= 60
    args = build_parser().parse_args(["emulate", "kube", "--kubeconfig", "/dev/null"])
    assert args.bookmark_interval <= 60


async def test_send_initial_events_ends_with_an_initial_events_end_bookmark(
    emulator: KubeEmulator, core: client.CoreV1Api
) -> None:
    await make_cm(core, "a")
    await make_cm(core, "b")
    listed = (await core.list_namespaced_config_map(NS)).metadata.resource_version
    params = {"sendInitialEvents": "true", "resourceVersionMatch": "NotOlderThan", "allowWatchBookmarks": "true"}
    async with RawWatch(emulator, CM_PATH, resourceVersion=listed, **params) as w:
        assert await w.take(2) == [("ADDED", "a"), ("ADDED", "b")]
        end = await w.next()
        assert end is not None and end["type"] == "BOOKMARK"
        assert end["object"]["metadata"]["annotations"] == {INITIAL_EVENTS_END: "true"}
        assert int(end["object"]["metadata"]["resourceVersion"]) >= int(listed)
        await make_cm(core, "c")
        while (event := await w.next()) is not None and event["type"] == "BOOKMARK":
            assert INITIAL_EVENTS_END not in (event["object"]["metadata"].get("annotations") or {})
        assert event is not None and (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "c")
    # sendInitialEvents=false: no initial state, just what happens from now on.
    off = {"sendInitialEvents": "false", "resourceVersionMatch": "NotOlderThan"}
    async with RawWatch(emulator, CM_PATH, **off) as w:
        await make_cm(core, "d")
        assert await w.take(1) == [("ADDED", "d")]


async def test_wrong_watch_option_combinations_are_422_as_validate_watch_options(emulator: KubeEmulator) -> None:
    headers = {"Authorization": f"Bearer {emulator.admin_token}"}
    prefix = 'ListOptions.meta.k8s.io "" is invalid: '
    cases = [
        (
            {"sendInitialEvents": "true", "allowWatchBookmarks": "true"},
            "resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
        ),
        (
            {"resourceVersion": "1", "resourceVersionMatch": "NotOlderThan"},
            "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents "
            "is provided",
        ),
        (
            {"sendInitialEvents": "true", "resourceVersionMatch": "Exact", "allowWatchBookmarks": "true"},
            "[resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to "
            'NotOlderThan, resourceVersionMatch: Unsupported value: "Exact": supported values: "NotOlderThan"]',
        ),
    ]
    async with aiohttp.ClientSession() as session:
        for params, message in cases:
            async with session.get(emulator.url + CM_PATH, params={"watch": "true", **params}, headers=headers) as r:
                status = await r.json()
            assert (r.status, status["reason"]) == (422, "Invalid"), params
            assert status["message"] == prefix + message
            assert status["details"]["kind"] == "ListOptions" and status["details"]["group"] == "meta.k8s.io"


async def test_selector_watches_turn_match_transitions_into_added_and_deleted(
    emulator: KubeEmulator, core: client.CoreV1Api
) -> None:
    async with (
        RawWatch(emulator, CM_PATH, labelSelector="app=web") as labelled,
        RawWatch(emulator, CM_PATH, fieldSelector="metadata.name=b") as named,
    ):
        await make_cm(core, "a", {"app": "web"})
        await make_cm(core, "b", {"app": "db"})  # not seen by the label watch
        await core.patch_namespaced_config_map("b", NS, {"metadata": {"labels": {"app": "web"}}})  # starts matching
        await core.patch_namespaced_config_map("a", NS, {"metadata": {"labels": {"app": "db"}}})  # stops matching
        await core.patch_namespaced_config_map("a", NS, {"data": {"k": "v"}})  # still not matching: nothing
        await core.delete_namespaced_config_map("b", NS)
        assert await labelled.take(4) == [("ADDED", "a"), ("ADDED", "b"), ("DELETED", "a"), ("DELETED", "b")]
        assert await named.take(3) == [("ADDED", "b"), ("MODIFIED", "b"), ("DELETED", "b")]


async def test_namespace_scoped_watch_only_sees_its_namespace(emulator: KubeEmulator, core: client.CoreV1Api) -> None:
    await core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="elsewhere")))
    async with (
        RawWatch(emulator, CM_PATH) as scoped,
        RawWatch(emulator, "/api/v1/configmaps") as everywhere,
    ):
        await make_cm(core, "x", ns="elsewhere")
        await make_cm(core, "y")
        assert await scoped.take(1) == [("ADDED", "y")]
        assert await everywhere.take(2) == [("ADDED", "x"), ("ADDED", "y")]


async def test_server_closed_watch_ends_normally_and_resumes_from_its_last_resource_version(
    emulator: KubeEmulator, core: client.CoreV1Api
) -> None:
    await make_cm(core, "a")
    async with RawWatch(emulator, CM_PATH) as raw:
        assert await raw.take(1) == [("ADDED", "a")]
        async with aiohttp.ClientSession() as session, session.post(emulator.url + "/_emulator/close-watches") as r:
            assert (await r.json())["closed"] >= 1
        assert await raw.rest() == []  # a clean end of the stream, no ERROR event

    # kubernetes_asyncio's Watch (no timeout_seconds: watch forever) reconnects from its last resourceVersion.
    w = watch.Watch()
    stream = w.stream(core.list_namespaced_config_map, NS)
    try:
        first = await asyncio.wait_for(stream.__anext__(), 5)
        assert (first["type"], first["object"].metadata.name) == ("ADDED", "a")
        assert emulator.close_watches() == 1
        await make_cm(core, "b")  # written while the client is disconnected
        await core.delete_namespaced_config_map("a", NS)
        resumed = [await asyncio.wait_for(stream.__anext__(), 5) for _ in range(2)]
        assert [(e["type"], e["object"].metadata.name) for e in resumed] == [("ADDED", "b"), ("DELETED", "a")]
    finally:
        await w.close()


async def test_kubernetes_asyncio_watch_stream_types_events_and_raises_410(
    emulator: KubeEmulator, core: client.CoreV1Api
) -> None:
    start = (await make_cm(core, "a", {"app": "web"})).metadata.resource_version
    await make_cm(core, "b", {"app": "web"})
    seen = []
    async with watch.Watch() as w:
        async for event in w.stream(core.list_namespaced_config_map, NS, resource_version=start, timeout_seconds=1):
            assert isinstance(event["object"], client.V1ConfigMap)
            seen.append((event["type"], event["object"].metadata.name))
            if len(seen) == 1:
                await core.delete_namespaced_config_map("a", NS)
            if len(seen) == 2:
                w.stop()
        assert seen == [("ADDED", "b"), ("DELETED", "a")]
        assert w.resource_version == str(emulator.store.revision)
    emulator.compact()
    # Watching forever it retries a 410 once (from the same expired resourceVersion), then raises.
    async with watch.Watch() as w:
        with pytest.raises(ApiException) as gone:
            async for _ in w.stream(core.list_namespaced_config_map, NS, resource_version=start):
                pass
    assert gone.value.status == 410 and "Expired: too old resource version" in str(gone.value.reason)


def test_kubectl_get_watch_prints_watch_events(kube: RunningKube) -> None:
    kube.kubectl("create", "namespace", NS)
    kube.kubectl("create", "configmap", "first", "-n", NS)
    proc = kube.popen_kubectl("get", "configmaps", "-n", NS, "-w", "--output-watch-events", "-o", WATCH_JSONPATH)
    lines: queue.Queue[str] = queue.Queue()

    def pump(stream: Any) -> None:
        for line in stream:
            lines.put(line.strip())

    threading.Thread(target=pump, args=(proc.stdout,), daemon=True).start()
    try:
        assert lines.get(timeout=20) == "ADDED first"
        kube.kubectl("create", "configmap", "second", "-n", NS)
        assert lines.get(timeout=20) == "ADDED second"
        kube.kubectl("label", "configmap", "first", "-n", NS, "x=y")
        assert lines.get(timeout=20) == "MODIFIED first"
        kube.kubectl("delete", "configmap", "second", "-n", NS)
        assert lines.get(timeout=20) == "DELETED second"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
