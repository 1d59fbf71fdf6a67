"""Quota-friendly change detection for many SageMaker jobs: List, then Describe only what changed.

Instead of describing every job every few seconds, the poller makes one paged ``List*Jobs`` call chain per
(kind, region, endpoint) -- a :class:`Partition` -- filtered by ``LastModifiedTimeAfter``, and reports the names of
tracked jobs whose ``LastModifiedTime`` or status changed since they were last seen. Controllers Describe only those
(and report what they saw back with :meth:`Poller.track`).

The pure core, :class:`PollerCore`, holds the state and makes every decision (what to list, when, what changed);
it never does I/O and takes ``now`` (monotonic seconds) as an argument, so it is tested without servers.
:class:`Poller` drives it: it sleeps on an injected :class:`smk8s.clock.Clock`, makes the List calls through
:class:`smk8s.sagemaker.api.SageMakerApi`, and yields batches of :class:`JobChange`.

The cursor. Per partition, ``cursor`` is a service-clock instant (epoch seconds) such that every change with
``LastModifiedTime > cursor`` is still to be reported by the next List. It is:
- lowered to a job's observed ``LastModifiedTime`` when the job is tracked (its next change is later than that);
- raised, after a *complete* paged List, to the newest ``LastModifiedTime`` listed (everything up to it was seen).
Descriptions never raise it, and local wall time is never used (the service's clock may differ from ours; the
emulator's runs faster). Each List asks for ``LastModifiedTimeAfter = cursor - margin``: the margin absorbs List's
eventual consistency (a change may appear in List a little after a newer one). Entries seen again are not
reported twice (a change is a newer ``LastModifiedTime``, or the same one with another status). The look-back is
needed only while such a late change may still appear: once a complete List that began ``margin`` (real) seconds
after the cursor last moved has not moved it, every change up to the cursor was visible to it, and the following
Lists ask for ``LastModifiedTimeAfter = cursor`` until the cursor moves again -- so a quiet partition costs one page
per interval, however many jobs changed in its last minute.

No ``StatusEquals`` filter: it would hide exactly the transitions we look for (InProgress -> Completed), and
SageMaker applies it after cutting the page anyway, so it saves no calls. Jobs of the account that are not tracked
appear in the listing and only move the cursor.

Adaptive intervals. A partition is listed every ``interval x multiplier(status)`` of its most urgent tracked job
(:class:`PollPolicy`: InProgress x1, Stopping x2 by default); jobs in a terminal state (Completed, Failed, Stopped)
are not polled, and a partition with nothing to poll makes no calls at all. A terminal job the controller still
needs to watch (``settled=False``, e.g. Debugger rules still evaluating after training completed) gets a direct
"describe me" every ``unsettled_multiplier x interval`` instead: its changes may not move ``LastModifiedTime``.
Every tracked job is also reported for a resync Describe every ``resync`` seconds, a safety net against a change a
List missed. A failed List keeps the cursor and retries after ``max(suggested delay, interval)``, doubling with
consecutive failures up to ``max_backoff``.

Cost with 1,000 InProgress jobs in one region: one List chain per interval, ``ceil(entries / 100)`` calls where
``entries`` are the jobs modified within ``margin`` of the newest change seen (while the look-back is needed, else
those modified after it: one page when nothing changed), plus a Describe per reported change and 1,000 / ``resync``
Describes per second (0.28/s with the default hour).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import structlog

from smk8s.clock import Clock
from smk8s.sagemaker.api import TERMINAL_STATUSES, JobKind, JobSummary, SageMaker
from smk8s.sagemaker.clients import SAGEMAKER
from smk8s.sagemaker.errors import SageMakerError

DEFAULT_MULTIPLIERS: Mapping[str, float] = {"InProgress": 1.0, "Stopping": 2.0}


@dataclass(frozen=True)
class PollPolicy:
    """How often to look. ``interval`` is the manager's ``--poll-interval`` (seconds)."""

    interval: float = 30.0
    multipliers: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_MULTIPLIERS))
    margin: float = 60.0  # seconds subtracted from the cursor in LastModifiedTimeAfter
    resync: float | None = 3600.0  # a Describe per tracked job at least this often (None: never)
    unsettled_multiplier: float = 4.0
    max_pages: int = 100  # per List chain; more means the chain is cut and the cursor kept
    max_backoff: float = 600.0

    def __post_init__(self) -> None:
        if self.interval <= 0 or self.margin < 0 or self.max_pages < 1:
            raise ValueError("interval must be > 0, margin >= 0 and max_pages >= 1")

    def list_interval(self, status: str) -> float | None:
        """How often a job in ``status`` needs its partition listed; None for terminal states (not polled)."""
        if status in TERMINAL_STATUSES:
            return None
        return self.interval * self.multipliers.get(status, 1.0)


@dataclass(frozen=True)
class Partition:
    """One List target: a job kind in a region at an endpoint (the resolved endpoint URL; None = SDK default)."""

    kind: JobKind
    region: str | None
    endpoint: str | None


@dataclass(frozen=True)
class JobRef:
    partition: Partition
    name: str


Reason = Literal["changed", "resync"]


@dataclass(frozen=True)
class JobChange:
    """A tracked job to Describe: it ``changed`` (``summary`` is what the List said) or is due a ``resync``."""

    ref: JobRef
    reason: Reason
    summary: JobSummary | None = None


@dataclass(frozen=True)
class ListPlan:
    """A List chain to run now: ``modified_after`` is ``LastModifiedTimeAfter`` (None: no filter)."""

    partition: Partition
    modified_after: float | None


@dataclass
class _Job:
    summary: JobSummary
    settled: bool
    next_describe: float | None  # monotonic instant of the next resync / unsettled describe


@dataclass
class _PartitionState:
    cursor: float | None = None
    cursor_set: float = 0.0  # monotonic instant the cursor last changed
    list_started: float | None = None  # monotonic instant the List chain in flight was planned
    exact: bool = False  # a List begun ``margin`` after the cursor last changed saw everything up to it
    next_poll: float | None = None
    failures: int = 0
    jobs: dict[str, _Job] = field(default_factory=dict)


class PollerCore:
    """The poller's state and decisions, without I/O (module docstring)."""

    def __init__(self, policy: PollPolicy | None = None) -> None:
        self.policy = policy or PollPolicy()
        self._partitions: dict[Partition, _PartitionState] = {}

    # -- what controllers tell us ---------------------------------------------------------------------------

    def track(self, ref: JobRef, summary: JobSummary, now: float, *, settled: bool | None = None) -> None:
        """Record what a Describe (or Create + Describe) saw; a settled terminal job stops being tracked."""
        terminal = summary.status in TERMINAL_STATUSES
        if settled is None:
            settled = terminal
        if terminal and settled:
            self.untrack(ref)
            return
        state = self._partitions.setdefault(ref.partition, _PartitionState())
        previous = state.jobs.get(ref.name)
        if previous is not None and _older(summary, previous.summary):
            summary = previous.summary  # a stale description does not undo a newer observation
        state.jobs[ref.name] = _Job(summary, settled, self._next_describe(summary, settled, now))
        if previous is None and (state.cursor is None or summary.last_modified < state.cursor):
            # A job new to the poller may have changed after this observation while untracked, in a window an
            # earlier List already covered: list from its observation again. A job tracked all along was compared
            # by every List since, so re-describing it never moves the cursor back.
            state.cursor = summary.last_modified
            state.cursor_set, state.exact = now, False
        interval = self.policy.list_interval(summary.status)
        if interval is not None and state.failures == 0:
            due = now + interval
            if state.next_poll is None or due < state.next_poll:
                state.next_poll = due

    def untrack(self, ref: JobRef) -> None:
        state = self._partitions.get(ref.partition)
        if state is None:
            return
        state.jobs.pop(ref.name, None)
        if not state.jobs:
            del self._partitions[ref.partition]

    # -- plans ----------------------------------------------------------------------------------------------

    def tracked(self, partition: Partition | None = None) -> dict[JobRef, JobSummary]:
        out: dict[JobRef, JobSummary] = {}
        for part, state in self._partitions.items():
            if partition is None or part == partition:
                out.update({JobRef(part, name): job.summary for name, job in state.jobs.items()})
        return out

    def cursor(self, partition: Partition) -> float | None:
        state = self._partitions.get(partition)
        return state.cursor if state else None

    def partition_interval(self, partition: Partition) -> float | None:
        """The List interval of a partition: that of its most urgent tracked job (None: nothing to poll)."""
        state = self._partitions.get(partition)
        if state is None:
            return None
        intervals = [
            i for job in state.jobs.values() if (i := self.policy.list_interval(job.summary.status)) is not None
        ]
        return min(intervals) if intervals else None

    def due(self, now: float) -> list[ListPlan]:
        """List chains to run now, one per partition whose poll time has come and that has jobs to poll."""
        plans: list[ListPlan] = []
        for partition, state in self._partitions.items():
            if self.partition_interval(partition) is None:
                state.next_poll = None
                continue
            if state.next_poll is not None and state.next_poll <= now:
                after = None if state.cursor is None else state.cursor - (0.0 if state.exact else self.policy.margin)
                state.list_started = now
                plans.append(ListPlan(partition, after))
        return plans

    def resyncs_due(self, now: float) -> list[JobChange]:
        """Tracked jobs due a direct Describe (resync, or unsettled terminal jobs); rescheduled as they are returned."""
        out: list[JobChange] = []
        for partition, state in self._partitions.items():
            for name, job in state.jobs.items():
                if job.next_describe is not None and job.next_describe <= now:
                    job.next_describe = self._next_describe(job.summary, job.settled, now)
                    out.append(JobChange(JobRef(partition, name), "resync", job.summary))
        return out

    def next_wakeup(self, now: float) -> float | None:
        """The earliest instant something is due (None: nothing tracked that needs polling)."""
        instants: list[float] = []
        for partition, state in self._partitions.items():
            if state.next_poll is not None and self.partition_interval(partition) is not None:
                instants.append(state.next_poll)
            instants.extend(j.next_describe for j in state.jobs.values() if j.next_describe is not None)
        return min(instants) if instants else None

    # -- results --------------------------------------------------------------------------------------------

    def listed(
        self, partition: Partition, summaries: Iterable[JobSummary], now: float, *, complete: bool = True
    ) -> list[JobChange]:
        """Apply a List chain's entries: the tracked jobs that changed. ``complete``: every page was read."""
        state = self._partitions.get(partition)
        entries = list(summaries)
        if state is None:
            return []
        changes: list[JobChange] = []
        for summary in entries:
            job = state.jobs.get(summary.name)
            if job is None or not _newer(summary, job.summary):
                continue
            job.summary = summary
            changes.append(JobChange(JobRef(partition, summary.name), "changed", summary))
        if complete:
            newest = max((s.last_modified for s in entries), default=None)
            if newest is not None and (state.cursor is None or newest > state.cursor):
                state.cursor, state.cursor_set, state.exact = newest, now, False
            elif state.list_started is not None and state.list_started >= state.cursor_set + self.policy.margin:
                state.exact = True  # every change up to the cursor was visible to this List: no look-back needed
            state.failures = 0
            interval = self.partition_interval(partition)
            state.next_poll = None if interval is None else now + interval
        return changes

    def failed(self, partition: Partition, now: float, suggested_delay: float = 0.0) -> float:
        """A List chain failed: keep the cursor, retry later (backing off); returns the delay chosen."""
        state = self._partitions.get(partition)
        if state is None:
            return 0.0
        state.failures += 1
        base = max(suggested_delay, self.policy.interval)
        delay = min(base * float(2 ** min(state.failures - 1, 30)), max(self.policy.max_backoff, base))
        state.next_poll = now + delay
        return delay

    def _next_describe(self, summary: JobSummary, settled: bool, now: float) -> float | None:
        if summary.status in TERMINAL_STATUSES and not settled:
            return now + self.policy.interval * self.policy.unsettled_multiplier
        if self.policy.resync is None:
            return None
        return now + self.policy.resync


def _newer(candidate: JobSummary, known: JobSummary) -> bool:
    if candidate.last_modified != known.last_modified:
        return candidate.last_modified > known.last_modified
    return candidate.status != known.status


def _older(candidate: JobSummary, known: JobSummary) -> bool:
    return candidate.last_modified < known.last_modified


class Poller:
    """Drives a :class:`PollerCore`: List calls through ``sagemaker`` and waiting on ``clock``."""

    def __init__(
        self, sagemaker: SageMaker, clock: Clock, policy: PollPolicy | None = None, *, logger: Any = None
    ) -> None:
        self.sagemaker = sagemaker
        self.clock = clock
        self.core = PollerCore(policy)
        self.log = logger if logger is not None else structlog.get_logger("smk8s.sagemaker.poller")
        self._wake = asyncio.Event()

    def partition(self, kind: JobKind, region: str | None, spec_endpoint: str | None = None) -> Partition:
        """The partition of a job, by the endpoint its client resolves to (so equal clients share a List)."""
        return Partition(kind, region, self.sagemaker.clients.endpoint_for(SAGEMAKER, spec_endpoint))

    def track(
        self, kind: JobKind, region: str | None, spec_endpoint: str | None, description: Mapping[str, Any],
        *, settled: bool | None = None,
    ) -> JobRef:
        """Record a Describe answer (the raw dict) for the job it describes; returns the job's ref."""
        summary = JobSummary.from_response(kind, description)
        ref = JobRef(self.partition(kind, region, spec_endpoint), summary.name)
        self.core.track(ref, summary, self.clock.now(), settled=settled)
        self._wake.set()
        return ref

    def untrack(self, kind: JobKind, region: str | None, spec_endpoint: str | None, name: str) -> None:
        self.core.untrack(JobRef(self.partition(kind, region, spec_endpoint), name))

    async def poll_once(self) -> list[JobChange]:
        """Run every List chain due now (concurrently, one per partition) and return the changes plus resyncs."""
        now = self.clock.now()
        plans = self.core.due(now)
        results = await asyncio.gather(*(self._list(plan) for plan in plans))
        changes = [change for batch in results for change in batch]
        changes.extend(self.core.resyncs_due(self.clock.now()))
        return changes

    async def _list(self, plan: ListPlan) -> list[JobChange]:
        partition = plan.partition
        api = self.sagemaker.at(partition.region, partition.endpoint)
        entries: list[JobSummary] = []
        token: str | None = None
        pages = 0
        try:
            while True:
                page = await api.list_jobs_page(partition.kind, modified_after=plan.modified_after, next_token=token)
                entries.extend(page.summaries)
                pages += 1
                token = page.next_token
                if token is None:
                    return self.core.listed(partition, entries, self.clock.now())
                if pages >= self.core.policy.max_pages:
                    self.log.warning(
                        "list chain cut", kind=partition.kind.name, region=partition.region, pages=pages,
                    )
                    changes = self.core.listed(partition, entries, self.clock.now(), complete=False)
                    self.core.failed(partition, self.clock.now())
                    return changes
        except SageMakerError as err:
            changes = self.core.listed(partition, entries, self.clock.now(), complete=False)
            delay = self.core.failed(partition, self.clock.now(), err.suggested_delay)
            self.log.warning(
                "list failed", kind=partition.kind.name, region=partition.region, outcome=err.outcome,
                error=str(err), retry_in=delay,
            )
            return changes
        except Exception:  # a bug must not stop change detection for every job: log it and back off
            delay = self.core.failed(partition, self.clock.now())
            self.log.exception("list crashed", kind=partition.kind.name, region=partition.region, retry_in=delay)
            return []

    async def changes(self) -> AsyncIterator[list[JobChange]]:
        """Forever: wait until something is due (or a job is tracked), poll, yield non-empty batches."""
        while True:
            await self._wait()
            batch = await self.poll_once()
            if batch:
                yield batch

    async def _wait(self) -> None:
        while True:
            self._wake.clear()
            now = self.clock.now()
            wakeup = self.core.next_wakeup(now)
            if wakeup is not None and wakeup <= now:
                return
            waiter = asyncio.ensure_future(self._wake.wait())
            sleeper = (
                asyncio.ensure_future(self.clock.sleep(wakeup - now)) if wakeup is not None else None
            )
            tasks = {waiter} if sleeper is None else {waiter, sleeper}
            try:
                await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in tasks:
                    task.cancel()
            if sleeper is not None and sleeper.done() and not sleeper.cancelled():
                return


def pages_needed(entries: int, page_size: int = 100) -> int:
    """How many List calls a chain of ``entries`` takes (at least one)."""
    return max(1, math.ceil(entries / page_size))
