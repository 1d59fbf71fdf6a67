"""Informers against the emulated API server under its faults: they converge to the final state of every object,
and no handler hears of an object it has not seen.

Faults (docs/emulators.md): watches closed, history compacted under a resuming watch (410), 30 % of list/watch
requests answered 429 or 503, a server restart. Each test writes through its own HTTP session, waits for the
handlers on events (never sleeps), then compares the handlers' view, the cache and the server's own list.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from kubernetes_asyncio import config
from kubernetes_asyncio.client import ApiClient

from smk8s.emulators.kube.api import WriteContext
from smk8s.emulators.kube.faults import FaultPlan
from smk8s.emulators.kube.server import KubeEmulator
from smk8s.informers import (
    ApiListerWatcher,
    ResourceScope,
    SharedInformer,
    SharedInformerFactory,
)
from tests.integration.informers.conftest import DEADLINE, NS, Recorder, SkippingClock, Writer


def cache_state(informer: SharedInformer) -> dict[str, str]:
    return {key: obj["metadata"]["resourceVersion"] for key, obj in zip(
        informer.store.keys(), informer.store.list(), strict=True)}


async def converged(rec: Recorder, informer: SharedInformer, writer: Writer) -> None:
    """Wait until the handlers saw every write; then the cache and the server must agree with them."""
    await rec.wait_for(lambda: rec.state == writer.expected)
    assert cache_state(informer) == writer.expected
    assert await writer.server_state() == writer.expected
    assert rec.violations == []


async def synced_informer(factory: SharedInformerFactory) -> tuple[SharedInformer, Recorder]:
    informer = factory.informer("", "v1", "configmaps")
    rec = Recorder().register(informer)
    factory.start()
    async with asyncio.timeout(DEADLINE):
        assert await factory.wait_for_cache_sync()
    return informer, rec


async def churn(writer: Writer, round_: int) -> None:
    """Creates, updates and deletes: afterwards, round ``r`` leaves objects ``r-0..r-5`` (``r-1`` updated)."""
    for i in range(8):
        await writer.create(f"r{round_}-{i}")
    await writer.update(f"r{round_}-1", "changed")
    for i in (6, 7):
        await writer.delete(f"r{round_}-{i}")


async def test_closed_watches_resume_from_the_last_version_without_relisting(
    kube: KubeEmulator, writer: Writer, factory: SharedInformerFactory
) -> None:
    await churn(writer, 0)
    informer, rec = await synced_informer(factory)
    for round_ in range(1, 6):
        await churn(writer, round_)
        await rec.wait_for(lambda: rec.state == writer.expected)
        assert kube.close_watches() >= 1
    await churn(writer, 6)
    await rec.wait_for(lambda: rec.state == writer.expected)
    assert informer.reflectors[0].lists == 1
    assert kube.stats[("list", "configmaps")] == 1
    assert kube.stats[("watch", "configmaps")] == 6
    await converged(rec, informer, writer)


async def test_compaction_under_a_resuming_watch_relists_and_delivers_tombstones(
    kube: KubeEmulator, writer: Writer, factory: SharedInformerFactory
) -> None:
    await churn(writer, 0)
    informer, rec = await synced_informer(factory)
    # Hold the informer's next watch while objects change and the history is compacted under it.
    kube.set_faults(FaultPlan(stall=True, verbs=("watch",)))
    kube.close_watches()
    async with asyncio.timeout(DEADLINE):
        await kube.faults.wait_stalled(1)
    for i in (0, 1, 2):
        await writer.delete(f"r0-{i}")
    await writer.update("r0-3", "changed")
    await writer.create("late")
    kube.compact()
    kube.clear_faults()
    await rec.wait_for(lambda: rec.state == writer.expected)
    assert sorted(t.key for t in rec.tombstones) == [f"{NS}/r0-0", f"{NS}/r0-1", f"{NS}/r0-2"]
    assert all(t.obj["metadata"]["name"] == t.key.split("/")[1] for t in rec.tombstones)
    assert rec.deletes == []  # the watch never saw those deletes: only the relist could tell
    # The 410 made it relist: at its last version first (compacted away: 410 again), then consistently.
    assert informer.reflectors[0].lists == 2
    assert kube.stats[("list", "configmaps")] == 3
    await converged(rec, informer, writer)


@pytest.mark.parametrize("code", [429, 503])
async def test_converges_when_30_percent_of_requests_fail(
    kube: KubeEmulator, writer: Writer, factory: SharedInformerFactory, code: int
) -> None:
    await churn(writer, 0)
    # The informer's own requests (lists and watches) fail; the test's writes go through.
    kube.set_faults(FaultPlan(error_rate=0.3, error_code=code, verbs=("list", "watch"), seed=code))
    informer, rec = await synced_informer(factory)
    for round_ in range(1, 6):
        await churn(writer, round_)
        await rec.wait_for(lambda: rec.state == writer.expected)
        kube.close_watches()
    await churn(writer, 6)
    await rec.wait_for(lambda: rec.state == writer.expected)
    assert kube.faults.injected > 0
    kube.clear_faults()
    await converged(rec, informer, writer)


async def test_a_server_restart_is_survived(
    kube: KubeEmulator, writer: Writer, factory: SharedInformerFactory
) -> None:
    await churn(writer, 0)
    informer, rec = await synced_informer(factory)
    await churn(writer, 1)
    await rec.wait_for(lambda: rec.state == writer.expected)
    await kube.restart()
    await churn(writer, 2)
    await converged(rec, informer, writer)
    assert informer.reflectors[0].lists == 1  # the restart ended the watch normally: resumed, not relisted


async def test_the_first_list_is_paged_by_500(
    kube: KubeEmulator, writer: Writer, factory: SharedInformerFactory
) -> None:
    rt = kube.registry.require("", "v1", "configmaps")
    for i in range(1100):
        created = kube.api.create(rt, NS, {"metadata": {"name": f"cm-{i:04d}"}}, WriteContext())
        writer.expected[f"{NS}/cm-{i:04d}"] = created["metadata"]["resourceVersion"]
    informer, rec = await synced_informer(factory)
    assert kube.stats[("list", "configmaps")] == 3
    assert rec.state == writer.expected and len(informer.store) == 1100


async def test_namespaces_and_label_selectors_scope_what_is_cached(
    api: ApiClient, writer: Writer
) -> None:
    factory = SharedInformerFactory(api, namespaces=[NS, "other"], label_selector="app=web", clock=SkippingClock())
    try:
        informer = factory.informer("", "v1", "configmaps")
        assert factory.informer("", "v1", "configmaps") is informer
        assert factory.informer("", "v1", "configmaps", label_selector="") is not informer
        everywhere = factory.informer("", "v1", "configmaps", namespaces=None, label_selector="")
        assert len(informer.reflectors) == 2 and len(everywhere.reflectors) == 1
        rec = Recorder().register(informer)
        await writer.create("web-1", NS, {"app": "web"})
        await writer.create("web-2", "other", {"app": "web"})
        await writer.create("web-3", "third", {"app": "web"})
        await writer.create("db-1", NS, {"app": "db"})
        factory.start()
        async with asyncio.timeout(DEADLINE):
            assert await factory.wait_for_cache_sync()
        assert set(rec.state) == {f"{NS}/web-1", "other/web-2"}
        assert len(everywhere.store) == 4
        # Leaving the selector is a delete; entering it an add.
        await writer.update("web-1", "x", NS, labels={"app": "db"})
        await writer.update("db-1", "x", NS, labels={"app": "web"})
        await rec.wait_for(lambda: set(rec.state) == {f"{NS}/db-1", "other/web-2"})
        assert rec.deletes == [f"{NS}/web-1"] and rec.violations == []
    finally:
        await factory.shutdown()


async def test_watches_ask_for_bookmarks_and_informers_drop_managed_fields(api: ApiClient, writer: Writer) -> None:
    async with KubeEmulator(bookmark_interval=0.05) as kube:
        client: ApiClient = await config.new_client_from_config_dict(kube.kubeconfig)
        async with client:
            lw = ApiListerWatcher(client, ResourceScope("", "v1", "configmaps", "default"))
            page = await lw.list(resource_version="0", limit=500, continue_token="")
            async with lw.watch(resource_version=page.resource_version, timeout_seconds=5) as events:
                first = await anext(aiter(events))
            assert first.type == "BOOKMARK"
    await writer.create("managed")
    factory = SharedInformerFactory(api, namespaces=[NS], clock=SkippingClock())
    informer = factory.informer("", "v1", "configmaps")
    factory.start()
    try:
        async with asyncio.timeout(DEADLINE):
            await informer.wait_for_sync()
        assert "managedFields" in (await writer.send("GET", f"/api/v1/namespaces/{NS}/configmaps/managed"))[
            "metadata"]
        cached: Any = informer.store.get(f"{NS}/managed")
        assert cached["kind"] == "ConfigMap" and "managedFields" not in cached["metadata"]
    finally:
        await factory.shutdown()


async def test_watch_events_larger_than_a_read_buffer_arrive_whole(
    writer: Writer, factory: SharedInformerFactory
) -> None:
    informer, rec = await synced_informer(factory)
    big = "x" * 600_000  # past aiohttp's 128 KiB readline limit, in many chunks
    created = await writer.send(
        "POST", f"/api/v1/namespaces/{NS}/configmaps", {"metadata": {"name": "big"}, "data": {"blob": big}}
    )
    writer.expected[f"{NS}/big"] = created["metadata"]["resourceVersion"]
    await converged(rec, informer, writer)
    cached: Any = informer.store.get(f"{NS}/big")
    assert cached["data"]["blob"] == big
    assert informer.reflectors[0].lists == 1  # it came by the watch
