"""Reading bookkeeping: stream cursors, merging streams in timestamp order, tails, new streams, the end of following."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence

from smk8s.smlogs.events import (
    DrainTracker,
    LogEvent,
    StreamCursor,
    StreamSet,
    merge_pages,
    merge_sorted,
    tail_of,
    take_last,
)


def ev(stream: str, timestamp: int, message: str = "") -> LogEvent:
    return LogEvent(job="job", stream=stream, timestamp=timestamp, message=message or f"{stream}@{timestamp}")


def test_event_from_an_api_answer() -> None:
    event = LogEvent.from_api({"timestamp": 5, "message": "m", "ingestionTime": 7}, job="j", stream="s", parent="t")
    assert event == LogEvent("j", "s", 5, "m", 7, "t")
    assert LogEvent.from_api({"timestamp": 5, "message": "m"}, job="j", stream="s").ingestion_time is None


def test_cursor_follows_forward_tokens_and_ends_when_the_token_comes_back() -> None:
    cursor = StreamCursor()
    assert cursor.request() == {}
    assert cursor.record("f/1") is True  # a first page: maybe more
    assert cursor.request() == {"nextToken": "f/1"}
    assert cursor.record("f/2") is True
    assert cursor.record("f/2") is False  # the same token: the end, for now
    assert cursor.request() == {"nextToken": "f/2"}  # the next poll resumes there: nothing repeated, nothing skipped
    assert cursor.record("f/3") is True  # new events appended since
    assert cursor.pages == 4


def test_cursor_without_a_token_ends_the_read() -> None:
    cursor = StreamCursor(token="f/1")
    assert cursor.record(None) is False
    assert cursor.token == "f/1"


def test_merge_sorted_orders_by_timestamp_and_keeps_stream_order_on_ties() -> None:
    a = [ev("a", 1), ev("a", 3, "a3-first"), ev("a", 3, "a3-second")]
    b = [ev("b", 2), ev("b", 3)]
    assert [e.message for e in merge_sorted([a, b])] == ["a@1", "b@2", "a3-first", "a3-second", "b@3"]


def test_take_last_reads_backward_pages_only_as_far_as_needed() -> None:
    pages = [[ev("s", 7), ev("s", 8)], [ev("s", 5), ev("s", 6)], [ev("s", 3), ev("s", 4)]]
    consumed: list[int] = []

    def lazily() -> Iterator[list[LogEvent]]:
        for index, page in enumerate(pages):
            consumed.append(index)
            yield page

    assert [e.timestamp for e in take_last(lazily(), 3)] == [6, 7, 8]
    assert consumed == [0, 1]
    assert [e.timestamp for e in take_last(pages, 10)] == [3, 4, 5, 6, 7, 8]
    assert take_last(pages, 0) == []


def test_tail_over_several_streams() -> None:
    a = [ev("a", 1), ev("a", 4), ev("a", 6)]
    b = [ev("b", 2), ev("b", 5)]
    assert [e.timestamp for e in tail_of([a, b], 3)] == [4, 5, 6]
    assert [e.timestamp for e in tail_of([a, b], -1)] == [1, 2, 4, 5, 6]
    assert tail_of([a, b], 0) == []


async def _pages(*pages: Sequence[LogEvent], asked: list[str] | None = None, name: str = "") -> \
        AsyncIterator[Sequence[LogEvent]]:
    for page in pages:
        if asked is not None:
            asked.append(name)
        yield page


async def test_merge_pages_is_lazy_and_ordered_across_pages_and_streams() -> None:
    asked: list[str] = []
    a = _pages([ev("a", 1), ev("a", 5)], [], [ev("a", 6), ev("a", 9)], asked=asked, name="a")
    b = _pages([ev("b", 2)], [ev("b", 5), ev("b", 7)], asked=asked, name="b")
    c = _pages(asked=asked, name="c")  # an empty stream
    merged = [e async for e in merge_pages([a, b, c])]
    assert [(e.stream, e.timestamp) for e in merged] == [
        ("a", 1), ("b", 2), ("a", 5), ("b", 5), ("a", 6), ("b", 7), ("a", 9)]
    # One page per stream to start with; the next page of a stream only once its current page is used up.
    assert asked[:2] == ["a", "b"]


async def test_merge_pages_of_many_events_keeps_every_event_once() -> None:
    streams = [[ev(f"s{k}", t // 3, f"s{k}-{t}") for t in range(k, 30_000, 4)] for k in range(4)]

    def pages_of(events: list[LogEvent]) -> AsyncIterator[Sequence[LogEvent]]:
        return _pages(*(events[i:i + 10_000] for i in range(0, len(events), 10_000)))

    merged = [e async for e in merge_pages([pages_of(s) for s in streams])]
    assert merged == merge_sorted(streams)
    assert len(merged) == sum(len(s) for s in streams)
    assert [e.timestamp for e in merged] == sorted(e.timestamp for e in merged)


def test_stream_set_reports_new_streams_once_in_name_order() -> None:
    streams = StreamSet()
    assert streams.add(["j/algo-2-1", "j/algo-1-1"]) == ["j/algo-1-1", "j/algo-2-1"]
    assert streams.add(["j/algo-1-1", "j/algo-2-1"]) == []
    assert streams.add(["j/algo-1-1", "j/algo-1-9", "j/algo-2-1"]) == ["j/algo-1-9"]  # e.g. after a spot restart
    assert streams.names == ["j/algo-1-1", "j/algo-2-1", "j/algo-1-9"]


def test_drain_tracker_ends_after_a_quiet_poll_that_began_with_the_job_terminal() -> None:
    tracker = DrainTracker()
    tracker.poll_started(job_terminal=False)
    assert tracker.poll_finished(new_events=0, new_streams=0) is False  # running, quiet: go on
    tracker.poll_started(job_terminal=True)
    assert tracker.poll_finished(new_events=3, new_streams=0) is False  # the last lines came in this poll
    tracker.poll_started(job_terminal=True)
    assert tracker.poll_finished(new_events=0, new_streams=1) is False  # a stream appeared: read it first
    tracker.poll_started(job_terminal=True)
    assert tracker.poll_finished(new_events=0, new_streams=0) is True
    assert tracker.done
