"""One ``kubectl smlogs`` run against AWS: find the job's streams, print their events, follow until the end.

:class:`LogSession` owns the per-stream cursors (see :mod:`smk8s.smlogs.events` for why every event is printed
exactly once) and prints through a :class:`TextSink`. :func:`print_logs` is the whole flow once the object has been
read:

- The sources: the job's own streams (``JOB/`` or ``JOB/PREFIX`` in its kind's log group), or for a tuning job
  every training job it launched (ListTrainingJobsForHyperParameterTuningJob), each line prefixed with the child's
  name.
- Without ``--follow``: one pass to the current end of every stream. No stream at all: a "no logs yet" error with
  the status the operator last wrote in the object.
- With ``--follow``: a pass every poll interval; before each pass the job's SageMaker status is read (for a tuning
  job, its status and its children's), and the run ends (exit 0) after a pass that began with the job terminal and
  found nothing new (:class:`~smk8s.smlogs.events.DrainTracker`). While a running job has no stream yet, a notice
  goes to stderr once and following goes on; a terminal job without streams is the "no logs yet" error.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from smk8s.smlogs.args import Options
from smk8s.smlogs.aws import AwsClients, AwsNotFound, StreamRef
from smk8s.smlogs.errors import PluginError, no_children, no_logs, sagemaker_job_not_found
from smk8s.smlogs.events import DrainTracker, LogEvent, StreamCursor, StreamSet, merge_pages, tail_of
from smk8s.smlogs.kinds import TRAINING, TRAINING_LOG_GROUP, is_terminal
from smk8s.smlogs.output import Formatter
from smk8s.smlogs.target import JobTarget, stream_prefix


@dataclass
class TextSink:
    """Lines to a text stream, flushed after every pass (so a follower sees each poll's events at once)."""

    stream: TextIO
    formatter: Formatter

    def event(self, event: LogEvent) -> None:
        self.stream.write(self.formatter.line(event) + "\n")

    def flush(self) -> None:
        self.stream.flush()


@dataclass(frozen=True)
class Source:
    """One SageMaker job whose streams are read; ``terminal``: the job had ended when this pass began."""

    job: str
    group: str
    prefix: str
    parent: str | None = None
    terminal: bool = False


@dataclass
class _Reader:
    ref: StreamRef
    cursor: StreamCursor = field(default_factory=StreamCursor)


@dataclass(frozen=True)
class PassResult:
    new_streams: int
    printed: int


class LogSession:
    """Streams known so far and where each one was read to; one :meth:`run_pass` per poll.

    A source (job) is *settled* once a pass that began with it terminal found no new stream and no new event for
    it (:class:`~smk8s.smlogs.events.DrainTracker`, per job): later passes neither list nor read its streams
    again, so following a tuning job whose first training jobs ended long ago costs calls only for the running
    ones (CloudWatch Logs' DescribeLogStreams and GetLogEvents quotas are per account and region).
    """

    def __init__(self, aws: AwsClients, emit: Callable[[LogEvent], None], *, start_time: int | None,
                 tail: int) -> None:
        self.aws = aws
        self.emit = emit
        self.start_time = start_time
        self.tail = tail
        self.readers: list[_Reader] = []
        self._streams: dict[tuple[str, str], StreamSet] = {}
        self._drains: dict[str, DrainTracker] = {}
        self._passes = 0

    def settled(self, job: str) -> bool:
        tracker = self._drains.get(job)
        return tracker is not None and tracker.done

    async def run_pass(self, sources: Sequence[Source]) -> PassResult:
        """List the unsettled sources' streams, print their new events; settle the sources that are done."""
        active = [source for source in sources if not self.settled(source.job)]
        for source in active:
            self._drains.setdefault(source.job, DrainTracker()).poll_started(source.terminal)
        new_streams = await self._discover(active)
        printed = await self._read({source.job for source in active})
        for source in active:
            self._drains[source.job].poll_finished(printed.get(source.job, 0), new_streams.get(source.job, 0))
        return PassResult(sum(new_streams.values()), sum(printed.values()))

    async def _discover(self, sources: Sequence[Source]) -> dict[str, int]:
        """List the sources' streams; how many are new, per job."""
        new: dict[str, int] = {}
        for source in sources:
            known = self._streams.setdefault((source.group, source.prefix), StreamSet())
            for name in known.add(await self.aws.list_streams(source.group, source.prefix)):
                self.readers.append(_Reader(StreamRef(source.group, name, source.job, source.parent)))
                new[source.job] = new.get(source.job, 0) + 1
        return new

    async def _read(self, jobs: set[str]) -> dict[str, int]:
        """Print every event not printed yet of ``jobs``' streams, in timestamp order; how many, per job.

        On the first pass with ``--tail N`` only the last N events (over all streams) are printed; streams found
        later are read from their start (or ``--since``), so nothing written after the first pass is skipped.
        """
        self._passes += 1
        printed: dict[str, int] = {}

        def emit(event: LogEvent) -> None:
            self.emit(event)
            printed[event.job] = printed.get(event.job, 0) + 1

        readers = [reader for reader in self.readers if reader.ref.job in jobs]
        if self.tail >= 0 and self._passes == 1:
            tails = [await self.aws.tail(r.ref, self.tail, self.start_time, r.cursor) for r in readers]
            for event in tail_of(tails, self.tail):
                emit(event)
            return printed
        pages: list[AsyncIterator[Sequence[LogEvent]]] = []
        for reader in readers:
            pages.append(self.aws.pages(reader.ref, reader.cursor, self.start_time))
        async for event in merge_pages(pages):
            emit(event)
        return printed


@dataclass(frozen=True)
class JobState:
    """What one look at SageMaker found: the sources to read and whether everything has ended."""

    sources: tuple[Source, ...]
    terminal: bool
    status: str | None


async def look(aws: AwsClients, target: JobTarget, options: Options, *, with_status: bool) -> JobState:
    """The job's sources and (when ``with_status``) whether it and, for a tuning job, its children have ended."""
    kind = target.kind
    status: str | None = None
    if with_status:
        try:
            status = await aws.job_status(kind, target.job_name)
        except AwsNotFound:
            raise sagemaker_job_not_found(kind, target.job_name, target.region) from None
    if not kind.has_children:
        assert kind.log_group is not None
        source = Source(target.job_name, kind.log_group, stream_prefix(target.job_name, options.log_search_prefix),
                        terminal=is_terminal(status))
        return JobState((source,), is_terminal(status), status)
    try:
        children = await aws.tuning_children(target.job_name)
    except AwsNotFound:
        raise sagemaker_job_not_found(kind, target.job_name, target.region) from None
    sources = tuple(Source(child, TRAINING_LOG_GROUP, stream_prefix(child, options.log_search_prefix),
                           parent=target.job_name, terminal=with_status and is_terminal(child_status))
                    for child, child_status in children)
    terminal = is_terminal(status) and all(is_terminal(child_status) for _, child_status in children)
    return JobState(sources, terminal, status)


def _no_logs(target: JobTarget, state: JobState, options: Options, status: str | None) -> PluginError:
    if target.kind.has_children:
        if not state.sources:
            return no_children(target.job_name, status)
        prefix = stream_prefix("<training job>", options.log_search_prefix)
        return no_logs(TRAINING, ", ".join(s.job for s in state.sources), prefix, status)
    return no_logs(target.kind, target.job_name, stream_prefix(target.job_name, options.log_search_prefix), status)


async def print_logs(aws: AwsClients, target: JobTarget, options: Options, sink: TextSink, notices: TextIO, *,
                     now_ms: int, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
    """Print the job's logs as ``options`` ask (module docstring); raises PluginError for the error cases."""
    session = LogSession(aws, sink.event, start_time=options.start_time_ms(now_ms), tail=options.tail)
    if not options.follow:
        state = await look(aws, target, options, with_status=False)
        await session.run_pass(state.sources)
        sink.flush()
        if not session.readers:
            raise _no_logs(target, state, options, target.status)
        return
    tracker = DrainTracker()
    waiting_told = False
    while True:
        state = await look(aws, target, options, with_status=True)
        tracker.poll_started(state.terminal)
        result = await session.run_pass(state.sources)
        sink.flush()
        if not session.readers:
            if state.terminal:
                raise _no_logs(target, state, options, state.status)
            if not waiting_told:
                notices.write(f"waiting for logs: SageMaker {target.kind.noun} {target.job_name} is "
                              f"{state.status or 'starting'} and has no log stream yet\n")
                notices.flush()
                waiting_told = True
        if tracker.poll_finished(result.printed, result.new_streams):
            return
        await sleep(options.poll_interval)
