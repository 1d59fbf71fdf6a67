"""Log events and the bookkeeping of reading them (pure: no I/O).

How ``kubectl smlogs`` reads a job's logs, and why it prints every event exactly once:

- A job writes one log stream per instance (``<job>/algo-<n>-<epoch>``; transform jobs also ``.../data-log``).
  Each stream is read on its own with GetLogEvents, ``startFromHead=true``, following ``nextForwardToken``. A
  forward token is a *position* in the stream, so a page never repeats an event already returned and events
  appended between calls are never skipped; the service returns the token it was given once nothing is left
  ("If you have reached the end of the stream, it returns the same token you passed in", GetLogEvents API
  reference). :class:`StreamCursor` keeps that token across pages *and* polls: follow mode simply asks each
  stream again from where it stopped. Streams are never re-read from a timestamp, so no de-duplication is needed
  (GetLogEvents events carry no ``eventId`` anyway): the alternative, FilterLogEvents restarted from the last
  timestamp seen, dropping already seen ``eventId`` values, loses the events of a stream whose events arrive
  late, stamped before that timestamp.
- Streams are merged by timestamp (:func:`merge_pages`), lazily, one page per stream in memory. Ties keep the
  order of the sources (jobs, then stream names), so the output is deterministic. In follow mode each poll's new
  events are merged the same way; an event that arrives in one stream after a later-stamped event of another
  stream was printed is printed on the next poll, never dropped.
- ``--tail N``: each stream's last N events (:func:`take_last` over backward pages), merged, the last N kept.
- :class:`DrainTracker` decides when follow mode is done: a poll that *started* after the job was seen terminal
  and found nothing new.
"""

from __future__ import annotations

import heapq
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class LogEvent:
    """One CloudWatch Logs event of one job's stream."""

    job: str
    """The SageMaker job that wrote it (a tuning job's child training job for tuning jobs)."""
    stream: str
    timestamp: int
    """Epoch milliseconds."""
    message: str
    ingestion_time: int | None = None
    parent: str | None = None
    """The tuning job, when ``job`` is one of its training jobs."""

    @classmethod
    def from_api(cls, raw: dict[str, object], *, job: str, stream: str, parent: str | None = None) -> LogEvent:
        """An event of a GetLogEvents answer (``timestamp``, ``message``, ``ingestionTime``)."""
        ingestion = raw.get("ingestionTime")
        timestamp = raw.get("timestamp")
        return cls(job=job, stream=stream, timestamp=int(timestamp) if isinstance(timestamp, int | float) else 0,
                   message=str(raw.get("message", "")),
                   ingestion_time=int(ingestion) if isinstance(ingestion, int | float) else None, parent=parent)


@dataclass
class StreamCursor:
    """Where reading one stream stands: the forward token to continue from (None before the first page)."""

    token: str | None = None
    pages: int = 0

    def request(self) -> dict[str, str]:
        """The paging members of the next GetLogEvents request."""
        return {} if self.token is None else {"nextToken": self.token}

    def record(self, next_forward_token: str | None) -> bool:
        """Remember a page's ``nextForwardToken``; True while the stream may hold more (the token moved).

        The service answers the same token once the end is reached, which is the only reliable end marker: a page
        may be empty while later events exist. An answer without a token (never sent by the service) ends the read.
        """
        self.pages += 1
        if next_forward_token is None:
            return False
        moved = next_forward_token != self.token
        self.token = next_forward_token
        return moved


def take_last(newest_first_pages: Iterable[Sequence[LogEvent]], count: int) -> list[LogEvent]:
    """The last ``count`` events, oldest first, from pages read backwards (each page oldest first, the newest page
    first) -- how ``--tail`` reads one stream. Stops consuming pages once ``count`` events are known."""
    if count <= 0:
        return []
    collected: list[Sequence[LogEvent]] = []
    total = 0
    for page in newest_first_pages:
        collected.append(page)
        total += len(page)
        if total >= count:
            break
    events = [event for page in reversed(collected) for event in page]
    return events[-count:]


def merge_sorted(streams: Sequence[Sequence[LogEvent]]) -> list[LogEvent]:
    """Events of several streams (each in stream order) in timestamp order; ties keep the streams' order."""
    return list(heapq.merge(*streams, key=lambda event: event.timestamp))


def tail_of(streams: Sequence[Sequence[LogEvent]], count: int) -> list[LogEvent]:
    """The last ``count`` events over several streams (each holding at least its own last ``count``), in order.

    ``count`` -1 keeps everything."""
    merged = merge_sorted(streams)
    if count < 0:
        return merged
    return merged[len(merged) - count:] if count else []


async def merge_pages(sources: Sequence[AsyncIterator[Sequence[LogEvent]]]) -> AsyncIterator[LogEvent]:
    """Merge sources of pages (each source: one stream's pages, in order) into one timestamp-ordered iterator.

    Lazy: a source's next page is asked for only when its current page is used up, so memory holds one page per
    source. Ties (equal timestamps) come out in source order, then in their order within the source.
    """
    heap: list[tuple[int, int, int, LogEvent]] = []
    pages: dict[int, tuple[Sequence[LogEvent], int]] = {}

    async def refill(index: int) -> None:
        async for page in sources[index]:
            if page:
                pages[index] = (page, 0)
                heapq.heappush(heap, (page[0].timestamp, index, 0, page[0]))
                return
        pages.pop(index, None)

    for index in range(len(sources)):
        await refill(index)
    sequence = 0
    while heap:
        _, index, _, event = heapq.heappop(heap)
        yield event
        page, position = pages[index]
        position += 1
        if position < len(page):
            pages[index] = (page, position)
            sequence += 1
            heapq.heappush(heap, (page[position].timestamp, index, sequence, page[position]))
        else:
            await refill(index)


@dataclass
class StreamSet:
    """The log streams known so far, in a stable order (by first discovery, then name): which ones are new."""

    names: list[str] = field(default_factory=list)

    def add(self, listed: Iterable[str]) -> list[str]:
        """Record ``listed`` stream names; returns those not seen before, sorted by name."""
        known = set(self.names)
        new = sorted(set(listed) - known)
        self.names.extend(new)
        return new


@dataclass
class DrainTracker:
    """Follow mode's end: the job reached a terminal status *before* a poll began, and that poll found nothing.

    Checking the status first matters: SageMaker writes the last lines before (or as) the job ends, so a poll that
    starts after the terminal status was seen reads them; the next empty poll proves the logs are drained.
    """

    terminal_before_poll: bool = False
    done: bool = False

    def poll_started(self, job_terminal: bool) -> None:
        self.terminal_before_poll = job_terminal

    def poll_finished(self, new_events: int, new_streams: int) -> bool:
        """True when following can stop (see the class docstring)."""
        if self.terminal_before_poll and new_events == 0 and new_streams == 0:
            self.done = True
        return self.done
