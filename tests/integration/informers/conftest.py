"""Informers against the in-process emulated API server: fixtures, a writer that tracks the expected state, and a
handler recorder that checks handler semantics and wakes tests on every delivery.

Time: the informer runs on a :class:`SkippingClock`, a fake clock that jumps to each timer as soon as it is set, so
reflector backoffs cost no real time. Real time passes only inside the emulator (requests, watch streams).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from kubernetes_asyncio import config
from kubernetes_asyncio.client import ApiClient

from smk8s.clock import FakeClock, TimerHandle
from smk8s.emulators.kube.server import KubeEmulator
from smk8s.informers import DeletedFinalStateUnknown, SharedInformer, SharedInformerFactory, object_key

Object = dict[str, Any]
NS = "informers"
DEADLINE = 15.0  # safety net only: every wait below ends on an event


class SkippingClock(FakeClock):
    """A fake clock that moves to each new timer's instant on the next loop turn: sleeps end at once, in order."""

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        handle = super().call_at(when, callback)
        asyncio.get_running_loop().call_soon(self._skip)
        return handle

    def _skip(self) -> None:
        deadline = self.next_deadline()
        if deadline is not None:
            self.advance_to(deadline)


class Recorder:
    """Event handlers keeping key -> resourceVersion as the handlers heard it.

    Records a violation (handlers must not raise: the informer would just log it) whenever a handler hears of an
    object it was not told about first, or hears of an add twice.
    """

    def __init__(self) -> None:
        self.state: dict[str, str] = {}
        self.tombstones: list[DeletedFinalStateUnknown] = []
        self.deletes: list[str] = []
        self.violations: list[str] = []
        self.changed = asyncio.Event()

    def register(self, informer: SharedInformer) -> Recorder:
        informer.add_event_handler(self.on_add, self.on_update, self.on_delete)
        return self

    def on_add(self, obj: Object) -> None:
        key = object_key(obj)
        if key in self.state:
            self.violations.append(f"add of {key}, already added")
        self.state[key] = obj["metadata"]["resourceVersion"]
        self.changed.set()

    def on_update(self, old: Object, new: Object) -> None:
        key = object_key(new)
        if key not in self.state:
            self.violations.append(f"update of unseen {key}")
        self.state[key] = new["metadata"]["resourceVersion"]
        self.changed.set()

    def on_delete(self, obj: Object | DeletedFinalStateUnknown) -> None:
        key = object_key(obj)
        if self.state.pop(key, None) is None:
            self.violations.append(f"delete of unseen {key}")
        if isinstance(obj, DeletedFinalStateUnknown):
            self.tombstones.append(obj)
        else:
            self.deletes.append(key)
        self.changed.set()

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        async with asyncio.timeout(DEADLINE):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()


class Writer:
    """Writes ConfigMaps over HTTP (outside the informer's client) and remembers each one's latest resourceVersion."""

    def __init__(self, http: aiohttp.ClientSession) -> None:
        self.http = http
        self.expected: dict[str, str] = {}

    async def send(self, method: str, path: str, body: Object | None = None) -> Object:
        async with self.http.request(method, path, json=body) as resp:
            assert resp.status < 300, await resp.text()
            result: Object = await resp.json()
            return result

    async def create(self, name: str, namespace: str = NS, labels: dict[str, str] | None = None) -> None:
        body = {"metadata": {"name": name, "labels": labels or {}}, "data": {"v": "0"}}
        created = await self.send("POST", f"/api/v1/namespaces/{namespace}/configmaps", body)
        self.expected[f"{namespace}/{name}"] = created["metadata"]["resourceVersion"]

    async def update(self, name: str, value: str, namespace: str = NS, labels: dict[str, str] | None = None) -> None:
        patch: Object = {"data": {"v": value}}
        if labels is not None:
            patch["metadata"] = {"labels": labels}
        async with self.http.patch(
            f"/api/v1/namespaces/{namespace}/configmaps/{name}",
            json=patch,
            headers={"Content-Type": "application/merge-patch+json"},
        ) as resp:
            assert resp.status == 200, await resp.text()
            self.expected[f"{namespace}/{name}"] = (await resp.json())["metadata"]["resourceVersion"]

    async def delete(self, name: str, namespace: str = NS) -> None:
        await self.send("DELETE", f"/api/v1/namespaces/{namespace}/configmaps/{name}")
        self.expected.pop(f"{namespace}/{name}", None)

    async def server_state(self, namespace: str = NS) -> dict[str, str]:
        listed = await self.send("GET", f"/api/v1/namespaces/{namespace}/configmaps")
        return {f"{namespace}/{o['metadata']['name']}": o["metadata"]["resourceVersion"] for o in listed["items"]}


@pytest.fixture
async def kube() -> AsyncIterator[KubeEmulator]:
    async with KubeEmulator() as emulator:
        yield emulator


@pytest.fixture
async def api(kube: KubeEmulator) -> AsyncIterator[ApiClient]:
    client: ApiClient = await config.new_client_from_config_dict(kube.kubeconfig)
    async with client:
        yield client


@pytest.fixture
async def writer(kube: KubeEmulator) -> AsyncIterator[Writer]:
    headers = {"Authorization": f"Bearer {kube.admin_token}"}
    async with aiohttp.ClientSession(base_url=kube.url, headers=headers) as http:
        w = Writer(http)
        for ns in (NS, "other", "third"):
            await w.send("POST", "/api/v1/namespaces", {"metadata": {"name": ns}})
        yield w


@pytest.fixture
async def factory(api: ApiClient) -> AsyncIterator[SharedInformerFactory]:
    f = SharedInformerFactory(api, namespaces=[NS], clock=SkippingClock())
    yield f
    await f.shutdown()
