"""The election algorithm on an in-memory lock and a FakeClock: acquire, renew, loss, takeover, release, safety.

Every wait in these tests is on the FakeClock, so the timings asserted are exact (to the 0.05 s step).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
from prometheus_client import CollectorRegistry

from smk8s.clock import FakeClock
from smk8s.leaderelection import LeaderElectionRecord, LeaderElector
from tests.unit.leaderelection.fakes import FakeLeaseStore, FakeLock

STEP = 0.05  # tolerance on asserted instants; time itself moves timer by timer


@dataclass
class Candidate:
    """One elector under test, with what its callbacks saw (``started``/``stopped`` are clock instants)."""

    elector: LeaderElector
    lock: FakeLock
    task: asyncio.Task[None] | None = None
    started: list[float] = field(default_factory=list)
    stopped: list[float] = field(default_factory=list)
    new_leaders: list[str] = field(default_factory=list)

    @property
    def leading(self) -> bool:
        return len(self.started) > len(self.stopped)

    def start(self) -> None:
        self.task = asyncio.ensure_future(self.elector.run())

    async def cancel(self) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


class World:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.store = FakeLeaseStore()
        self.candidates: list[Candidate] = []
        self._check: Callable[[], None] | None = None

    def candidate(
        self,
        identity: str,
        *,
        seed: int = 0,
        registry: CollectorRegistry | None = None,
        release_on_cancel: bool = True,
        wall_clock: Callable[[], dt.datetime] | None = None,
    ) -> Candidate:
        lock = FakeLock(self.store, identity)
        cand: Candidate

        def started() -> None:
            cand.started.append(self.clock.now())

        def stopped() -> None:
            cand.stopped.append(self.clock.now())

        elector = LeaderElector(
            None,
            namespace="default",
            name="smk8s-leader",
            identity=identity,
            clock=self.clock,
            lock=lock,
            rng=random.Random(seed),
            registry=registry,
            release_on_cancel=release_on_cancel,
            wall_clock=wall_clock,
            on_started_leading=started,
            on_stopped_leading=stopped,
            on_new_leader=lambda who: cand.new_leaders.append(who),
        )
        cand = Candidate(elector, lock)
        self.candidates.append(cand)
        return cand

    async def _advance_to(self, instant: float) -> None:
        """Move to ``instant`` timer by timer, letting woken tasks run at the exact instant they asked for."""
        while (due := self.clock.next_deadline()) is not None and due <= instant:
            self.clock.advance_to(due)
            await self.clock.settle(30)
            if self._check is not None:
                self._check()
        self.clock.advance_to(instant)
        await self.clock.settle(30)

    async def run_for(self, seconds: float, check: Callable[[], None] | None = None) -> None:
        self._check = check
        try:
            await self._advance_to(self.clock.now() + seconds)
        finally:
            self._check = None

    async def run_until(self, predicate: Callable[[], bool], limit: float) -> float:
        """Advance event by event until ``predicate`` holds; returns the instant (fails past ``limit`` seconds)."""
        end = self.clock.now() + limit
        await self.clock.settle(30)
        while not predicate():
            due = self.clock.next_deadline()
            assert due is not None and due <= end, "condition not reached in time"
            self.clock.advance_to(due)
            await self.clock.settle(30)
        return self.clock.now()

    async def close(self) -> None:
        """Cancel every candidate still running, driving the clock so their releases can finish."""
        tasks = [c.task for c in self.candidates if c.task is not None and not c.task.done()]
        for task in tasks:
            task.cancel()
        for _ in range(1000):
            if all(task.done() for task in tasks):
                break
            self.clock.advance(STEP)
            await self.clock.settle(30)
        await asyncio.gather(*tasks, return_exceptions=True)

    def at_most_one_leader(self) -> None:
        leaders = [c.elector.identity for c in self.candidates if c.leading]
        assert len(leaders) <= 1, f"two leaders at {self.clock.now()}: {leaders}"


@pytest.fixture
async def world() -> AsyncIterator[World]:
    w = World()
    try:
        yield w
    finally:
        await w.close()


async def test_acquires_a_missing_lock_by_creating_it(world: World) -> None:
    registry = CollectorRegistry()
    a = world.candidate("a", registry=registry)
    a.start()
    await world.clock.settle(30)
    assert a.leading and a.elector.is_leader
    record = world.store.record
    assert record is not None
    assert (record.holder_identity, record.lease_duration_seconds, record.leader_transitions) == ("a", 15, 0)
    assert registry.get_sample_value("leader_election_master_status", {"name": "smk8s-leader"}) == 1
    assert a.new_leaders == ["a"]
    await a.cancel()


async def test_the_leader_renews_every_retry_period_keeping_its_tenure(world: World) -> None:
    a = world.candidate("a")
    a.start()
    await world.clock.settle(30)
    first = world.store.record
    assert first is not None
    await world.run_for(11.0)
    renewals = [r for who, r in world.store.writes if who == "a"]
    # Created at 0, renewed at once (renew starts immediately, as client-go's wait.Until), then at 2, 4, ... 10 s.
    assert len(renewals) == 2 + 5
    last = renewals[-1]
    assert last.acquire_time == first.acquire_time and last.leader_transitions == 0
    assert last.renew_time is not None and first.renew_time is not None and last.renew_time >= first.renew_time
    assert a.leading
    await a.cancel()


@pytest.mark.parametrize("fault", ["failing", "partitioned"])
async def test_leadership_ends_when_no_renewal_succeeds_within_the_renew_deadline(world: World, fault: str) -> None:
    registry = CollectorRegistry()
    a = world.candidate("a", registry=registry)
    a.start()
    await world.clock.settle(30)
    writes = len(world.store.writes)
    await world.run_until(lambda: len(world.store.writes) > writes, limit=5)  # a renewal just succeeded
    last_success = world.clock.now()
    setattr(a.lock, fault, True)
    # The next window opens a retry period after the success and closes renew_deadline later: 12 s in all.
    await world.run_for(12.0 - 2 * STEP)
    assert a.leading and a.task is not None and not a.task.done()
    await world.run_for(3 * STEP)
    assert not a.leading and a.task.done() and a.task.exception() is None  # run() returned: leadership lost
    assert a.stopped[0] == pytest.approx(last_success + 12.0, abs=STEP)
    assert registry.get_sample_value("leader_election_master_status", {"name": "smk8s-leader"}) == 0


async def test_a_standby_waits_a_full_lease_duration_from_its_own_observation(world: World) -> None:
    """A record written long ago by wall time is still honoured for 15 s of *local* time from its first sighting."""
    ancient = dt.datetime(2001, 1, 1, tzinfo=dt.UTC)
    world.store.record = LeaderElectionRecord("ghost", 15, ancient, ancient, 3)
    b = world.candidate("b", wall_clock=lambda: dt.datetime(2099, 1, 1, tzinfo=dt.UTC))
    first_sight = world.clock.now()
    b.start()
    took_over = await world.run_until(lambda: b.leading, limit=30)
    assert first_sight + 15.0 <= took_over <= first_sight + 15.0 + 2 * 2.2 + STEP
    record = world.store.record
    assert record.holder_identity == "b" and record.leader_transitions == 4
    assert b.new_leaders == ["ghost", "b"]
    await b.cancel()


async def test_a_renewed_record_restarts_the_standby_expiry_timer(world: World) -> None:
    a, b = world.candidate("a", seed=1), world.candidate("b", seed=2)
    a.start()
    await world.clock.settle(30)
    b.start()
    await world.run_for(60.0, check=world.at_most_one_leader)
    assert a.leading and not b.leading  # the leader's renewals keep changing the record: no takeover, ever
    await a.cancel()
    await b.cancel()


async def test_a_crashed_leader_is_replaced_only_after_the_lease_duration(world: World) -> None:
    a = world.candidate("a", seed=1, release_on_cancel=False)
    b = world.candidate("b", seed=2)
    a.start()
    await world.clock.settle(30)
    b.start()
    await world.run_for(7.0)
    await a.cancel()  # no release: as if the process were killed
    last_write = world.clock.now()  # a renewed at most 2 s ago; b saw it at most one retry later
    assert world.store.record is not None and world.store.record.holder_identity == "a"
    took_over = await world.run_until(lambda: b.leading, limit=30)
    # b cannot take over before 15 s after a's last renewal, and does within lease duration + 2 retry periods.
    assert took_over >= last_write - 2.0 + 15.0
    assert took_over <= last_write + 15.0 + 2 * 4.4
    await b.cancel()


@pytest.mark.parametrize("offset", [0.0, 0.3, 0.9, 1.5, 1.95, 2.6, 3.7])
@pytest.mark.parametrize("seed", [1, 7])
async def test_a_partitioned_leader_stops_before_anyone_else_starts(world: World, offset: float, seed: int) -> None:
    a = world.candidate("a", seed=seed)
    b = world.candidate("b", seed=seed + 100)
    a.start()
    await world.clock.settle(30)
    b.start()
    await world.run_for(5.0 + offset, check=world.at_most_one_leader)
    a.lock.partitioned = True  # a can no longer reach the store; b still can
    await world.run_for(40.0, check=world.at_most_one_leader)
    assert a.stopped and b.started and a.stopped[0] < b.started[0]
    assert b.leading and world.store.record is not None and world.store.record.holder_identity == "b"
    await b.cancel()
    await a.cancel()


async def test_two_candidates_racing_for_a_free_lock_elect_exactly_one(world: World) -> None:
    a, b = world.candidate("a", seed=3), world.candidate("b", seed=4)
    a.start()
    b.start()
    await world.run_for(10.0, check=world.at_most_one_leader)
    assert [a.leading, b.leading].count(True) == 1
    holder = world.store.record.holder_identity if world.store.record else None
    assert holder == ("a" if a.leading else "b")
    await a.cancel()
    await b.cancel()


async def test_release_on_cancel_frees_the_lock_so_a_standby_takes_over_at_its_next_retry(world: World) -> None:
    a, b = world.candidate("a", seed=1), world.candidate("b", seed=2)
    a.start()
    await world.clock.settle(30)
    b.start()
    await world.run_for(5.0)
    transitions = world.store.record.leader_transitions if world.store.record else -1
    await a.cancel()
    released = world.store.record
    assert released is not None
    assert (released.holder_identity, released.lease_duration_seconds) == ("", 1)
    assert released.leader_transitions == transitions
    assert a.stopped and not a.leading
    cancelled_at = world.clock.now()
    took_over = await world.run_until(lambda: b.leading, limit=10)
    assert took_over - cancelled_at <= 2 * 2.2 + STEP  # one jittered retry period, not a lease duration
    await b.cancel()


async def test_without_release_on_cancel_the_lock_keeps_its_holder(world: World) -> None:
    a = world.candidate("a", release_on_cancel=False)
    a.start()
    await world.clock.settle(30)
    await a.cancel()
    assert world.store.record is not None and world.store.record.holder_identity == "a"
    assert a.stopped


async def test_on_stopped_leading_runs_even_if_leadership_was_never_won(world: World) -> None:
    world.store.record = LeaderElectionRecord("ghost", 15, None, None, 0)
    b = world.candidate("b")
    b.start()
    await world.run_for(5.0)
    await b.cancel()
    assert b.started == [] and len(b.stopped) == 1
    assert world.store.record.holder_identity == "ghost"  # a standby never writes on release


async def test_an_async_on_started_leading_is_cancelled_when_leadership_is_lost(world: World) -> None:
    running = asyncio.Event()
    cancelled = asyncio.Event()

    async def lead() -> None:
        running.set()
        try:
            await asyncio.get_running_loop().create_future()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    lock = FakeLock(world.store, "a")
    elector = LeaderElector(
        None, namespace="default", name="x", identity="a", clock=world.clock, lock=lock, on_started_leading=lead
    )
    task = asyncio.ensure_future(elector.run())
    await world.clock.settle(30)
    assert running.is_set() and not cancelled.is_set()
    lock.failing = True
    await world.run_for(13.0)
    assert cancelled.is_set() and task.done()


def test_timings_must_leave_room_for_renewals() -> None:
    with pytest.raises(ValueError):
        LeaderElector(None, namespace="d", name="x", identity="a", lease_duration=10, renew_deadline=10)
    with pytest.raises(ValueError):
        LeaderElector(None, namespace="d", name="x", identity="a", renew_deadline=2, retry_period=2)
