"""Leader election over HTTP against the emulated API server: the Lease lock, hand-over, faults and a partition.

Time is a FakeClock; requests are real. :class:`Driver` moves the clock timer by timer and, after each move, waits
(with a real-time safety timeout only) until every elector is back asleep on the clock or stuck in a request that
cannot complete (stalled by the emulator, or sent into a partition).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from kubernetes_asyncio.client.exceptions import ApiException

from smk8s.clock import FakeClock
from smk8s.emulators.kube.faults import FaultPlan
from smk8s.emulators.kube.server import KubeEmulator
from smk8s.kube import RetryingApiClient, load_api_client, request_json
from smk8s.leaderelection import LeaderElectionRecord, LeaderElector, LeaseLock, LockNotFoundError

LEASE_PATH = "/apis/coordination.k8s.io/v1/namespaces/default/leases/smk8s-leader"


class TrackingClock(FakeClock):
    """A FakeClock that knows which tasks are asleep on it."""

    def __init__(self) -> None:
        super().__init__()
        self.sleeping: set[asyncio.Task[Any]] = set()
        self._changed = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.sleeping.add(task)
        self._changed.set()
        try:
            await super().sleep(seconds)
        finally:
            self.sleeping.discard(task)
            self._changed.set()

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        async with asyncio.timeout(10):  # safety net only: every wait ends on an event
            while not predicate():
                self._changed.clear()
                await self._changed.wait()


class Driver:
    def __init__(self, clock: TrackingClock) -> None:
        self.clock = clock
        self.tasks: list[asyncio.Task[None]] = []
        self.stuck: set[asyncio.Task[None]] = set()
        """Tasks whose requests cannot complete: quiet while waiting on them."""

    def start(self, elector: LeaderElector) -> asyncio.Task[None]:
        task = asyncio.ensure_future(elector.run())
        self.tasks.append(task)
        return task

    async def quiesce(self) -> None:
        await self.clock.settle(30)
        await self.clock.wait_for(
            lambda: all(t.done() or t in self.clock.sleeping or t in self.stuck for t in self.tasks)
        )

    async def run_for(self, seconds: float, check: Callable[[], None] | None = None) -> None:
        end = self.clock.now() + seconds
        await self.quiesce()
        while (due := self.clock.next_deadline()) is not None and due <= end:
            self.clock.advance_to(due)
            await self.quiesce()
            if check is not None:
                check()
        self.clock.advance_to(end)
        await self.quiesce()

    async def run_until(self, predicate: Callable[[], bool], limit: float) -> float:
        end = self.clock.now() + limit
        await self.quiesce()
        while not predicate():
            due = self.clock.next_deadline()
            assert due is not None and due <= end, "condition not reached in time"
            self.clock.advance_to(due)
            await self.quiesce()
        return self.clock.now()

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for _ in range(200):
            if all(t.done() for t in self.tasks):
                break
            self.clock.advance(0.5)
            await self.clock.settle(30)
        await asyncio.gather(*self.tasks, return_exceptions=True)


@pytest.fixture
async def kube() -> AsyncIterator[KubeEmulator]:
    async with KubeEmulator() as emulator:
        yield emulator


@pytest.fixture
async def clock() -> TrackingClock:
    return TrackingClock()


@pytest.fixture
async def driver(clock: TrackingClock) -> AsyncIterator[Driver]:
    d = Driver(clock)
    try:
        yield d
    finally:
        await d.close()


@pytest.fixture
async def clients(kube: KubeEmulator, clock: TrackingClock) -> AsyncIterator[Callable[[], Any]]:
    made: list[RetryingApiClient] = []

    async def make() -> RetryingApiClient:
        api = await load_api_client(kube.kubeconfig, clock=clock)
        made.append(api)
        return api

    try:
        yield make
    finally:
        for api in made:
            await api.close()


@pytest.fixture
async def blackhole() -> AsyncIterator[str]:
    """A server that accepts connections and never answers: a network partition, as seen by a client."""
    held: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        while await reader.read(65536):
            pass

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for writer in held:
            writer.close()
        server.close()


def elector(api: Any, identity: str, clock: FakeClock, seed: int, **kwargs: Any) -> LeaderElector:
    return LeaderElector(
        api,
        namespace="default",
        name="smk8s-leader",
        identity=identity,
        clock=clock,
        rng=random.Random(seed),
        **kwargs,
    )


async def lease(api: Any) -> dict[str, Any]:
    obj: dict[str, Any] = await request_json(api, "GET", LEASE_PATH)
    return obj


# -- the lock -----------------------------------------------------------------------------------------------------


async def test_the_lease_lock_maps_the_record_onto_the_lease_spec(clients: Callable[[], Any]) -> None:
    api = await clients()
    lock = LeaseLock(api, "default", "smk8s-leader", "a")
    with pytest.raises(LockNotFoundError):
        await lock.get()
    moment = dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.UTC)
    record = LeaderElectionRecord("a", 15, moment, moment, 2)
    await lock.create(record)
    spec = (await lease(api))["spec"]
    assert spec == {
        "holderIdentity": "a",
        "leaseDurationSeconds": 15,
        "acquireTime": "2024-05-06T07:08:09.123456Z",
        "renewTime": "2024-05-06T07:08:09.123456Z",
        "leaseTransitions": 2,
    }
    assert await lock.get() == record


async def test_the_lease_lock_updates_with_optimistic_concurrency(clients: Callable[[], Any]) -> None:
    api = await clients()
    a, b = LeaseLock(api, "default", "smk8s-leader", "a"), LeaseLock(api, "default", "smk8s-leader", "b")
    with pytest.raises(RuntimeError):
        await a.update(LeaderElectionRecord("a", 15))
    await a.create(LeaderElectionRecord("a", 15))
    await b.get()
    await a.update(LeaderElectionRecord("a", 15, leader_transitions=5))  # b's copy is now stale
    with pytest.raises(ApiException) as err:
        await b.update(LeaderElectionRecord("b", 15, leader_transitions=1))
    assert err.value.status == 409
    assert (await a.get()).holder_identity == "a"


# -- the elector over HTTP ----------------------------------------------------------------------------------------


async def test_leader_renews_on_the_server_and_hands_over_on_cancel(
    clients: Callable[[], Any], clock: TrackingClock, driver: Driver
) -> None:
    api_a, api_b = await clients(), await clients()
    a, b = elector(api_a, "a", clock, 1), elector(api_b, "b", clock, 2)
    task_a = driver.start(a)
    await driver.run_until(lambda: a.is_leader, limit=1)
    first = (await lease(api_a))["spec"]
    driver.start(b)
    await driver.run_for(6.0)
    renewed = (await lease(api_a))["spec"]
    assert renewed["holderIdentity"] == "a" and renewed["renewTime"] > first["renewTime"]
    assert renewed["acquireTime"] == first["acquireTime"] and not b.is_leader

    task_a.cancel()
    await asyncio.gather(task_a, return_exceptions=True)
    released = (await lease(api_a))["spec"]
    assert released["holderIdentity"] == "" and released["leaseDurationSeconds"] == 1
    cancelled_at = clock.now()
    took_over = await driver.run_until(lambda: b.is_leader, limit=10)
    assert took_over - cancelled_at <= 2 * 2.2
    spec = (await lease(api_b))["spec"]
    assert spec["holderIdentity"] == "b" and spec["leaseTransitions"] == 1


@pytest.mark.parametrize("plan", [FaultPlan(error_rate=1.0, error_code=500), FaultPlan(stall=True)])
async def test_leadership_is_lost_when_the_api_server_fails_or_hangs(
    kube: KubeEmulator, clients: Callable[[], Any], clock: TrackingClock, driver: Driver, plan: FaultPlan
) -> None:
    stopped: list[float] = []
    a = elector(await clients(), "a", clock, 1, on_stopped_leading=lambda: stopped.append(clock.now()))
    task = driver.start(a)
    await driver.run_until(lambda: a.is_leader, limit=1)
    await driver.run_for(2.0)  # the renewal at +2 s succeeded
    last_success = clock.now()
    kube.set_faults(FaultPlan(**{**plan.to_dict(), "verbs": ("get", "update"), "resources": ("leases",)}))
    if plan.stall:
        driver.stuck.add(task)  # a hung request keeps it busy: quiet while it waits for its deadline
    await driver.run_for(12.0 - 0.01)
    assert not task.done()
    await driver.run_for(0.02)
    assert task.done() and stopped == [pytest.approx(last_success + 12.0)]
    kube.clear_faults()


async def test_a_leader_cut_off_from_the_api_server_stops_before_the_standby_starts(
    clients: Callable[[], Any], clock: TrackingClock, driver: Driver, blackhole: str
) -> None:
    events: list[tuple[float, str]] = []

    def on(what: str) -> Callable[[], None]:
        return lambda: events.append((clock.now(), what))

    api_a = await clients()
    a = elector(api_a, "a", clock, 1, on_started_leading=on("a started"), on_stopped_leading=on("a stopped"))
    b = elector(await clients(), "b", clock, 2, on_started_leading=on("b started"), on_stopped_leading=on("b stopped"))
    task_a = driver.start(a)
    await driver.run_until(lambda: a.is_leader, limit=1)
    driver.start(b)
    await driver.run_for(5.3)

    def one_leader() -> None:
        leading: set[str] = set()
        for _, what in events:
            who, change = what.split()
            (leading.add if change == "started" else leading.discard)(who)
            assert len(leading) <= 1, events

    api_a.configuration.host = blackhole  # a's packets go nowhere from now on; b still reaches the server
    driver.stuck.add(task_a)
    await driver.run_for(40.0, check=one_leader)
    order = [what for _, what in events]
    assert order == ["a started", "a stopped", "b started"]
    spec = (await lease(await clients()))["spec"]
    assert spec["holderIdentity"] == "b"
