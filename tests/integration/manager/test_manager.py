"""The manager against the emulated API server, in-process: faults, probes and metrics, a lost lease."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from smk8s.emulators.kube.faults import FaultPlan
from smk8s.emulators.kube.server import KubeEmulator
from smk8s.informers import DeletedFinalStateUnknown, object_key
from smk8s.kube import load_api_client, request_json
from smk8s.manager import Controller, LeaderElectionLost, LeaderElectionOptions, Manager, Request, Result, new_registry

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


def _version(obj: dict[str, Any] | None) -> str | None:
    return None if obj is None else str(obj["metadata"]["resourceVersion"])


@asynccontextmanager
async def _client(kube: KubeEmulator) -> AsyncIterator[Any]:
    api = await load_api_client(kube.kubeconfig)
    try:
        yield api
    finally:
        await api.close()


async def test_a_controller_sees_the_final_state_of_every_object_under_faults() -> None:
    """Watches closed, history compacted, 30 % of lists and watches answered 429 or 503, a server restart, deletes
    missed while disconnected: every object's last reconcile still sees its final state (or its absence), and no
    reconcile is for a key the informer had not delivered first."""
    async with KubeEmulator() as kube:
        registry = new_registry()
        api = await load_api_client(kube.kubeconfig, registry=registry)
        manager = Manager(api, metrics_bind_address="0", health_probe_bind_address="0", registry=registry)
        informer = manager.informers.informer("", "v1", "configmaps")
        seen: set[str] = set()
        tombstones: list[str] = []

        def on_delete(obj: Any) -> None:
            seen.add(object_key(obj))
            if isinstance(obj, DeletedFinalStateUnknown):
                tombstones.append(obj.key)

        informer.add_event_handler(
            lambda obj: seen.add(object_key(obj)), lambda old, new: seen.add(object_key(new)), on_delete
        )
        reconciled: dict[str, str | None] = {}
        unseen: list[str] = []
        target: dict[str, str | None] = {}
        converged = asyncio.Event()

        def check() -> None:
            if target and all(reconciled.get(key, "never") == version for key, version in target.items()):
                converged.set()

        async def reconcile(request: Request) -> Result:
            key = str(request)
            if key not in seen:
                unseen.append(key)
            reconciled[key] = _version(informer.store.get(key))
            check()
            return Result()

        manager.add_controller(Controller("configmaps", reconcile, informer=informer, max_concurrent_reconciles=4))
        run = asyncio.create_task(manager.run())
        final: dict[str, str | None] = {}
        counter = itertools.count()

        async def create(api: Any) -> None:
            name = f"cm-{next(counter)}"
            obj = await request_json(api, "POST", CONFIGMAPS, body={"metadata": {"name": name}, "data": {"v": "0"}})
            final[f"default/{name}"] = _version(obj)

        async def update(api: Any, key: str, value: int) -> None:
            path = f"{CONFIGMAPS}/{key.split('/')[1]}"
            obj = await request_json(api, "PATCH", path, body={"data": {"v": str(value)}},
                                     content_type="application/merge-patch+json")
            final[key] = _version(obj)

        async def delete(api: Any, key: str) -> None:
            await request_json(api, "DELETE", f"{CONFIGMAPS}/{key.split('/')[1]}")
            final[key] = None

        def live() -> list[str]:
            return [key for key, version in final.items() if version is not None]

        async def churn(api: Any, round_: int) -> None:
            for key in live()[:: 3]:
                await update(api, key, round_)
            for key in live()[:2]:
                await delete(api, key)
            for _ in range(3):
                await create(api)

        async with _client(kube) as writer:
            for _ in range(24):
                await create(writer)
            faults: list[Callable[[], object]] = [
                kube.close_watches,
                kube.compact,  # (each round also closes the watches: here they resume from a compacted history)
                lambda: kube.set_faults(FaultPlan(error_rate=0.3, error_code=429, retry_after_seconds=0,
                                                  verbs=("list", "watch"), seed=1)),
                lambda: kube.set_faults(FaultPlan(error_rate=0.3, error_code=503, retry_after_seconds=0,
                                                  verbs=("list", "watch"), seed=2)),
            ]
            for round_, fault in enumerate(faults):
                fault()
                kube.close_watches()  # re-open every watch under this round's conditions
                await churn(writer, round_)
            assert kube.faults.injected > 0
            kube.clear_faults()
        # A watch outage: the informer's re-watch is held at the server while objects are deleted and the history
        # compacted, then the server restarts (dropping it). It must relist; the deletes arrive as tombstones.
        kube.set_faults(FaultPlan(stall=True, verbs=("watch",)))
        kube.close_watches()
        await kube.faults.wait_stalled()
        async with _client(kube) as writer:
            for key in live()[:3]:
                await delete(writer, key)
            await create(writer)
        kube.compact()
        await kube.restart()
        kube.clear_faults()
        target.update(final)
        check()
        async with asyncio.timeout(30):
            await converged.wait()
        assert unseen == []
        assert sum(version is None for version in final.values()) == 11
        assert len(tombstones) == 3  # the deletes made during the outage
        manager.stop()
        await run
        await api.close()


async def test_probes_report_readiness_once_caches_sync_and_metrics_are_served() -> None:
    async with KubeEmulator() as kube:
        registry = new_registry()
        api = await load_api_client(kube.kubeconfig, registry=registry)
        manager = Manager(api, metrics_bind_address="127.0.0.1:0", health_probe_bind_address="127.0.0.1:0",
                          registry=registry)
        informer = manager.informers.informer("", "v1", "configmaps")
        reconciled = asyncio.Event()

        async def reconcile(request: Request) -> Result:
            reconciled.set()
            return Result()

        manager.add_controller(Controller("configmaps", reconcile, informer=informer))
        kube.set_faults(FaultPlan(stall=True, verbs=("list",)))  # hold the informer's first list
        run = asyncio.create_task(manager.run())
        async with aiohttp.ClientSession() as http, asyncio.timeout(20):
            await kube.faults.wait_stalled()
            assert manager.probe_address is not None and manager.metrics_address is not None
            probes = "http://{}:{}".format(*manager.probe_address)
            metrics = "http://{}:{}/metrics".format(*manager.metrics_address)

            async def get(url: str) -> tuple[int, str]:
                async with http.get(url) as response:
                    return response.status, await response.text()

            assert await get(f"{probes}/healthz") == (200, "ok")
            status, body = await get(f"{probes}/readyz")
            assert status == 500 and "[-]informers failed: reason withheld" in body
            assert await get(f"{probes}/readyz/informers") == (500, "internal server error: reason withheld")
            kube.clear_faults()
            async with _client(kube) as writer:
                await request_json(writer, "POST", CONFIGMAPS, body={"metadata": {"name": "a"}})
            await reconciled.wait()
            assert await get(f"{probes}/readyz") == (200, "ok")
            assert await get(f"{probes}/readyz?verbose") == (200, "[+]informers ok\nreadyz check passed\n")
            assert (await get(f"{probes}/healthz/nope"))[0] == 404
            status, text = await get(metrics)
        assert status == 200
        for line in (
            'controller_runtime_reconcile_total{controller="configmaps",result="success"} 1.0',
            'controller_runtime_reconcile_total{controller="configmaps",result="requeue_after"} 0.0',
            'controller_runtime_max_concurrent_reconciles{controller="configmaps"} 1.0',
            'workqueue_adds_total{controller="configmaps",name="configmaps"} 1.0',
        ):
            assert line in text
        for family in ("rest_client_requests_total{", "process_resident_memory_bytes ", "workqueue_depth{"):
            assert family in text
        manager.stop()
        await run
        await api.close()


async def test_losing_the_lease_stops_at_once_without_graceful_shutdown() -> None:
    async with KubeEmulator() as kube:
        api = await load_api_client(kube.kubeconfig)
        manager = Manager(
            api,
            metrics_bind_address="0",
            health_probe_bind_address="0",
            graceful_shutdown_timeout=60,
            leader_election=LeaderElectionOptions(
                id="lost", namespace="default", lease_duration=2, renew_deadline=1.5, retry_period=0.5
            ),
        )
        informer = manager.informers.informer("", "v1", "configmaps")
        started = asyncio.Event()
        cancelled = asyncio.Event()

        async def reconcile(request: Request) -> Result:
            started.set()
            try:
                await asyncio.Event().wait()  # a reconcile that would hold a graceful shutdown for 60 s
            except asyncio.CancelledError:
                cancelled.set()
                raise
            return Result()

        manager.add_controller(Controller("configmaps", reconcile, informer=informer))
        run = asyncio.create_task(manager.run())
        async with _client(kube) as writer, asyncio.timeout(20):
            await request_json(writer, "POST", CONFIGMAPS, body={"metadata": {"name": "a"}})
            await started.wait()
            assert manager.is_leader
            loop = asyncio.get_running_loop()
            lost_at = loop.time()
            kube.set_faults(FaultPlan(error_rate=1.0, error_code=500, resources=("leases",)))
            await _raises(run, LeaderElectionLost)
            assert loop.time() - lost_at < 1.5 + 0.5 + 1.0  # the renew deadline, one retry, slack
            assert cancelled.is_set() and not manager.is_leader
            kube.clear_faults()
            lease = await request_json(writer, "GET", "/apis/coordination.k8s.io/v1/namespaces/default/leases/lost")
            assert manager.leader_election is not None
            assert lease["spec"]["holderIdentity"] == manager.leader_election.identity
            # not released: a lost lease is never written again
        await api.close()


async def _raises(task: Awaitable[None], error: type[BaseException]) -> None:
    try:
        await task
    except error:
        return
    raise AssertionError(f"{error.__name__} not raised")
