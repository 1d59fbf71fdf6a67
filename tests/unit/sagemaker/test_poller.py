"""The poller's pure core (state in, plan out) and its async driver on a FakeClock, without servers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, cast

import pytest

from smk8s.clock import FakeClock
from smk8s.sagemaker.api import JobKind, JobSummary, ListPage, SageMaker
from smk8s.sagemaker.errors import ThrottledError
from smk8s.sagemaker.poller import JobChange, JobRef, Partition, Poller, PollerCore, PollPolicy

P = Partition(JobKind.TRAINING, "us-west-2", None)
Q = Partition(JobKind.PROCESSING, "us-west-2", None)
POLICY = PollPolicy(interval=30.0, margin=60.0, resync=3600.0)


def s(name: str, status: str, modified: float) -> JobSummary:
    return JobSummary(name, status, modified)


def ref(name: str, partition: Partition = P) -> JobRef:
    return JobRef(partition, name)


def names(changes: list[JobChange]) -> list[str]:
    return sorted(c.ref.name for c in changes)


def test_tracking_schedules_a_list_one_interval_later_filtered_from_the_oldest_observation() -> None:
    core = PollerCore(POLICY)
    assert core.due(0.0) == [] and core.next_wakeup(0.0) is None  # nothing tracked: no calls at all
    core.track(ref("a"), s("a", "InProgress", 5000.0), now=0.0)
    core.track(ref("b"), s("b", "InProgress", 4000.0), now=1.0)
    assert core.next_wakeup(1.0) == 30.0
    assert core.due(29.9) == []
    [plan] = core.due(30.0)
    assert plan.partition == P and plan.modified_after == 4000.0 - 60.0


def test_listing_reports_only_tracked_jobs_that_changed_and_moves_the_cursor() -> None:
    core = PollerCore(POLICY)
    core.track(ref("a"), s("a", "InProgress", 1000.0), now=0.0)
    core.track(ref("b"), s("b", "InProgress", 1000.0), now=0.0)
    core.track(ref("c"), s("c", "InProgress", 1000.0), now=0.0)
    listing = [
        s("a", "InProgress", 1000.0),  # seen before: not a change
        s("b", "InProgress", 1010.0),  # newer LastModifiedTime (e.g. secondary status)
        s("c", "Completed", 1000.0),  # same time, other status
        s("other", "InProgress", 1200.0),  # not ours: only moves the cursor
    ]
    changes = core.listed(P, listing, now=30.0)
    assert names(changes) == ["b", "c"] and {c.reason for c in changes} == {"changed"}
    assert changes[0].summary == s("b", "InProgress", 1010.0)
    assert core.cursor(P) == 1200.0
    assert core.listed(P, listing, now=60.0) == []  # the same entries again (margin overlap): nothing new
    [plan] = core.due(90.0)
    assert plan.modified_after == 1200.0 - 60.0


def test_stale_entries_never_undo_newer_observations() -> None:
    core = PollerCore(POLICY)
    core.track(ref("a"), s("a", "Stopping", 1500.0), now=0.0)
    assert core.listed(P, [s("a", "InProgress", 1400.0)], now=1.0) == []  # List lagging behind a Describe
    core.track(ref("a"), s("a", "InProgress", 1400.0), now=2.0)  # a late Describe answer
    assert core.tracked(P)[ref("a")] == s("a", "Stopping", 1500.0)


def test_only_jobs_new_to_the_poller_move_the_cursor_back() -> None:
    core = PollerCore(POLICY)
    core.track(ref("a"), s("a", "InProgress", 1000.0), now=0.0)
    core.listed(P, [s("a", "InProgress", 1000.0), s("x", "Completed", 2000.0)], now=30.0)
    assert core.cursor(P) == 2000.0
    core.track(ref("a"), s("a", "InProgress", 1000.0), now=40.0)  # re-described: compared by every List since
    assert core.cursor(P) == 2000.0
    core.track(ref("late"), s("late", "InProgress", 1500.0), now=41.0)  # untracked until now: list from it again
    assert core.cursor(P) == 1500.0


def test_intervals_adapt_to_the_state_and_terminal_jobs_are_not_polled() -> None:
    core = PollerCore(POLICY)
    core.track(ref("a"), s("a", "Stopping", 1000.0), now=0.0)
    assert core.partition_interval(P) == 60.0 and core.next_wakeup(0.0) == 60.0
    core.track(ref("b"), s("b", "InProgress", 1000.0), now=10.0)
    assert core.partition_interval(P) == 30.0 and core.next_wakeup(10.0) == 40.0  # pulled in
    core.listed(P, [s("b", "Completed", 1100.0)], now=40.0)
    assert core.partition_interval(P) == 60.0  # only the Stopping job left to poll
    assert [p.partition for p in core.due(100.0)] == [P]
    core.listed(P, [s("a", "Stopped", 1200.0)], now=100.0)
    assert core.partition_interval(P) is None and core.due(1000.0) == []
    core.track(ref("a"), s("a", "Stopped", 1200.0), now=101.0)  # the controller saw it: settled, untracked
    core.track(ref("b"), s("b", "Completed", 1100.0), now=101.0)
    assert core.tracked() == {} and core.next_wakeup(101.0) is None


def test_unsettled_terminal_jobs_get_direct_describes_instead_of_lists() -> None:
    core = PollerCore(POLICY)
    core.track(ref("a"), s("a", "Completed", 1000.0), now=0.0, settled=False)  # e.g. Debugger rules still running
    assert core.due(1000.0) == []
    assert core.next_wakeup(0.0) == 120.0
    assert core.resyncs_due(119.0) == []
    [change] = core.resyncs_due(120.0)
    assert (change.ref, change.reason) == (ref("a"), "resync")
    assert core.resyncs_due(120.0) == [] and core.next_wakeup(120.0) == 240.0


def test_every_tracked_job_is_resynced_once_per_resync_period() -> None:
    core = PollerCore(PollPolicy(interval=30.0, resync=600.0))
    core.track(ref("a"), s("a", "InProgress", 1000.0), now=0.0)
    core.track(ref("b", Q), s("b", "InProgress", 1000.0), now=300.0)
    assert core.resyncs_due(599.0) == []
    assert [c.ref for c in core.resyncs_due(600.0)] == [ref("a")]
    assert [c.ref for c in core.resyncs_due(900.0)] == [ref("b", Q)]
    assert PollerCore(PollPolicy(resync=None)).resyncs_due(1e9) == []


def test_failures_keep_the_cursor_and_back_off() -> None:
    core = PollerCore(PollPolicy(interval=30.0, max_backoff=200.0))
    core.track(ref("a"), s("a", "InProgress", 1000.0), now=0.0)
    changes = core.listed(P, [s("a", "InProgress", 1100.0), s("x", "InProgress", 1300.0)], now=30.0, complete=False)
    assert names(changes) == ["a"]  # what was read is reported...
    assert core.cursor(P) == 1000.0  # ...but an incomplete chain proves nothing about the rest
    assert core.failed(P, now=30.0, suggested_delay=45.0) == 45.0
    assert core.due(74.0) == [] and len(core.due(75.0)) == 1
    assert core.failed(P, now=75.0) == 60.0  # doubling from the interval
    assert core.failed(P, now=135.0) == 120.0
    assert core.failed(P, now=255.0) == 200.0  # capped
    core.listed(P, [], now=455.0)
    assert core.next_wakeup(455.0) == 485.0  # a success resets the back-off


def test_untracking_forgets_the_job_and_an_empty_partition() -> None:
    core = PollerCore(POLICY)
    core.track(ref("a"), s("a", "InProgress", 1000.0), now=0.0)
    core.untrack(ref("a"))
    core.untrack(ref("never"))
    assert core.tracked() == {} and core.cursor(P) is None and core.due(100.0) == []
    assert core.listed(P, [s("a", "Completed", 2000.0)], now=100.0) == []


def test_policy_validation() -> None:
    with pytest.raises(ValueError):
        PollPolicy(interval=0)
    assert POLICY.list_interval("Completed") is None and POLICY.list_interval("Pending") == 30.0


# -- the async driver ---------------------------------------------------------------------------------------


@dataclass
class FakeService:
    """Answers List calls from a job table like SageMaker (LastModifiedTimeAfter, pages of ``page_size``)."""

    jobs: dict[str, JobSummary] = field(default_factory=dict)
    page_size: int = 2
    calls: list[tuple[str | None, float | None, str | None]] = field(default_factory=list)
    fail_next: list[Exception] = field(default_factory=list)

    async def list_jobs_page(
        self, kind: JobKind, *, modified_after: float | None = None, next_token: str | None = None,
        max_results: int = 100,
    ) -> ListPage:
        self.calls.append((kind.list_operation, modified_after, next_token))
        if self.fail_next:
            raise self.fail_next.pop(0)
        rows = sorted(
            (j for j in self.jobs.values() if modified_after is None or j.last_modified > modified_after),
            key=lambda j: j.name,
        )
        start = int(next_token or 0)
        end = start + self.page_size
        return ListPage(list(rows[start:end]), str(end) if end < len(rows) else None)


class FakeClients:
    def endpoint_for(self, service: str, spec_endpoint: str | None = None) -> str | None:
        return spec_endpoint or "https://flag.example.com"


class FakeSageMaker:
    def __init__(self, service: FakeService) -> None:
        self.service = service
        self.clients = FakeClients()
        self.targets: list[tuple[str | None, str | None]] = []

    def at(self, region: str | None, endpoint: str | None = None) -> FakeService:
        self.targets.append((region, endpoint))
        return self.service


def describe(name: str, status: str, modified: float) -> dict[str, Any]:
    return {"TrainingJobName": name, "TrainingJobStatus": status, "LastModifiedTime": modified}


async def test_driver_lists_once_per_interval_and_yields_what_changed() -> None:
    clock = FakeClock(start=0.0)
    service = FakeService()
    fake = FakeSageMaker(service)
    poller = Poller(cast(SageMaker, fake), clock, PollPolicy(interval=30.0, margin=10.0, resync=None))
    batches: asyncio.Queue[list[JobChange]] = asyncio.Queue()

    async def consume() -> None:
        async for batch in poller.changes():
            await batches.put(batch)

    task = asyncio.create_task(consume())
    try:
        await clock.settle()
        assert service.calls == []  # nothing tracked: idle, no calls
        for i in range(5):
            service.jobs[f"j{i}"] = s(f"j{i}", "InProgress", 100.0)
            poller.track(JobKind.TRAINING, "us-west-2", None, describe(f"j{i}", "InProgress", 100.0))
        await clock.settle()
        await clock.run_for(29.0, step=1.0)
        assert service.calls == []
        await clock.run_for(1.0)
        # one paged chain: 5 entries in pages of 2
        assert service.calls == [("ListTrainingJobs", 90.0, None), ("ListTrainingJobs", 90.0, "2"),
                                 ("ListTrainingJobs", 90.0, "4")]
        assert fake.targets == [("us-west-2", "https://flag.example.com")]
        assert batches.empty()
        service.calls.clear()
        service.jobs["j3"] = s("j3", "Completed", 150.0)
        await clock.run_for(30.0)
        batch = batches.get_nowait()
        assert [(c.ref.name, c.reason, c.summary) for c in batch] == [("j3", "changed", s("j3", "Completed", 150.0))]
        # The first List began 30 s (> margin) after the cursor was set and did not move it: everything up to the
        # cursor was visible to it, so the next one needs no look-back (one page instead of the whole last minute).
        assert service.calls == [("ListTrainingJobs", 100.0, None)]
        service.calls.clear()
        await clock.run_for(30.0)
        assert service.calls == [("ListTrainingJobs", 140.0, None)]  # the cursor moved to the newest change
        assert batches.empty()
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_driver_backs_off_on_throttling_and_resumes() -> None:
    clock = FakeClock(start=0.0)
    service = FakeService(page_size=10)
    poller = Poller(cast(SageMaker, FakeSageMaker(service)), clock, PollPolicy(interval=30.0, resync=None))
    service.jobs["a"] = s("a", "InProgress", 100.0)
    poller.track(JobKind.TRAINING, "us-west-2", None, describe("a", "InProgress", 100.0))
    service.fail_next.append(ThrottledError("Rate exceeded", suggested_delay=100.0))
    clock.advance(30.0)
    assert await poller.poll_once() == []
    assert len(service.calls) == 1
    clock.advance(99.0)
    assert await poller.poll_once() == [] and len(service.calls) == 1  # still backing off
    service.jobs["a"] = s("a", "Completed", 200.0)
    clock.advance(1.0)
    [change] = await poller.poll_once()
    assert change.ref.name == "a" and len(service.calls) == 2


async def test_driver_survives_a_crashing_list() -> None:
    clock = FakeClock(start=0.0)
    service = FakeService()
    poller = Poller(cast(SageMaker, FakeSageMaker(service)), clock, PollPolicy(interval=30.0, resync=None))
    poller.track(JobKind.TRAINING, "us-west-2", None, describe("a", "InProgress", 100.0))
    service.fail_next.append(RuntimeError("bug"))
    clock.advance(30.0)
    assert await poller.poll_once() == []
    assert poller.core.next_wakeup(clock.now()) == 60.0


def test_a_thousand_running_jobs_cost_one_list_per_interval_plus_a_describe_per_change() -> None:
    """Behaviour 4 on the pure core, N = 1,000 for two simulated hours at a 1 s interval: the List is filtered by
    the cursor, so each chain is one page however many jobs run; only jobs that changed are described (a completion
    once, and a settled terminal job never again, though the look-back margin lists it again); every completion is
    reported at the first poll after it. The service clock is the simulation's (one clock for both)."""
    n, interval, hours = 1000, 1.0, 2
    core = PollerCore(PollPolicy(interval=interval, margin=60.0, resync=3600.0))
    modified = {f"job-{j:04d}": -3600.0 + 3.6 * j for j in range(n)}  # launched over the last hour
    status = dict.fromkeys(modified, "InProgress")
    ends = {f"job-{j:04d}": 0.5 + 14.4 * j for j in range(n // 2)}  # half of them end, one every 14.4 s
    for name, at in modified.items():
        core.track(ref(name), s(name, "InProgress", at), 0.0)
    calls, reported, latencies = 0, {name: 0 for name in ends}, []
    now = 0.0
    while now < hours * 3600:
        for name, end in ends.items():
            if status[name] == "InProgress" and end <= now:
                status[name], modified[name] = "Completed", end
        for plan in core.due(now):
            after = plan.modified_after if plan.modified_after is not None else float("-inf")
            entries = sorted((s(nm, status[nm], at) for nm, at in modified.items() if at > after),
                             key=lambda e: e.name)
            calls += max(1, -(-len(entries) // 100))  # pages of 100
            for change in core.listed(plan.partition, entries, now):
                name = change.ref.name
                assert change.reason == "changed" and status[name] == "Completed"
                reported[name] += 1
                latencies.append(now - ends[name])
                calls += 1  # the Describe with the details
                core.track(change.ref, s(name, "Completed", modified[name]), now)  # settled: untracked
        for change in core.resyncs_due(now):
            calls += 1
            name = change.ref.name
            core.track(change.ref, s(name, status[name], modified[name]), now)
        now += interval
    assert all(count == 1 for count in reported.values()), [k for k, v in reported.items() if v != 1]
    assert max(latencies) <= interval
    assert len(core.tracked()) == n - len(ends)
    rate = calls / (hours * 3600)
    assert rate <= 2.0, rate  # Lists ~1/s, 500 completions, ~750 resyncs at the hour: ~1.17/s


def test_the_look_back_margin_is_dropped_once_a_list_begun_a_margin_later_saw_the_cursor_unmoved() -> None:
    core = PollerCore(PollPolicy(interval=30.0, margin=60.0, resync=None))
    for i in range(3):
        core.track(ref(f"j{i}"), s(f"j{i}", "InProgress", 1000.0 + i), 0.0)
    [plan] = core.due(30.0)
    assert plan.modified_after == 1000.0 - 60.0  # cursor set at 0: a late change may still appear
    core.listed(P, [s("j2", "InProgress", 1002.0)], 30.0)  # the cursor moves to 1002 at t=30
    [plan] = core.due(60.0)
    assert plan.modified_after == 1002.0 - 60.0  # only 30 s since the cursor moved: keep looking back
    # A change that happened before the cursor but shows up late is still caught by the look-back.
    changes = core.listed(P, [s("j0", "Completed", 1001.5), s("j2", "InProgress", 1002.0)], 60.0)
    assert names(changes) == ["j0"]
    [plan] = core.due(90.0)
    assert plan.modified_after == 1002.0 - 60.0  # the List at 60 began only 30 s after the cursor moved
    core.listed(P, [s("j2", "InProgress", 1002.0)], 90.0)  # began 60 s after: everything up to 1002 was visible
    [plan] = core.due(120.0)
    assert plan.modified_after == 1002.0  # no look-back: a quiet partition costs one page
    core.listed(P, [s("j1", "Completed", 1500.0)], 120.0)  # a newer change moves the cursor: look back again
    [plan] = core.due(150.0)
    assert plan.modified_after == 1500.0 - 60.0
    core.track(ref("j9"), s("j9", "InProgress", 900.0), 150.0)  # a job new to the poller lowers the cursor
    [plan] = core.due(180.0)
    assert plan.modified_after == 900.0 - 60.0
