"""The reflector's list+watch algorithm against a scripted server, on a fake clock (client-go reflector.go).

Each test scripts the answers to list and watch calls, lets the reflector run (``settle``) and moves time only to the
next timer (``next_timer``), so the instants of calls are exact.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest

from smk8s.clock import FakeClock
from smk8s.informers import ApiError, Backoff, ListPage, Reflector, TransportError, WatchEvent
from tests.unit.informers.fakes import FakeWatch, ListCall, ScriptedListerWatcher, obj

Object = dict[str, Any]
EXPIRED = {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old resource version: 1 (5)"}


class FixedRandom(random.Random):
    """``random()`` always returns ``value``: jitter and watch timeouts become exact."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


class RecordingStore:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def replace(self, items: list[Object], resource_version: str) -> None:
        self.calls.append(("replace", [o["metadata"]["name"] for o in items], resource_version))

    def add(self, o: Object) -> None:
        self.calls.append(("add", o["metadata"]["name"], o["metadata"]["resourceVersion"]))

    def update(self, o: Object) -> None:
        self.calls.append(("update", o["metadata"]["name"], o["metadata"]["resourceVersion"]))

    def delete(self, o: Object) -> None:
        self.calls.append(("delete", o["metadata"]["name"], o["metadata"]["resourceVersion"]))


class Harness:
    def __init__(self, jitter_value: float = 0.0) -> None:
        self.clock = FakeClock()
        self.lw = ScriptedListerWatcher(clock=self.clock)
        self.store = RecordingStore()
        self.reflector = Reflector(self.lw, self.store, clock=self.clock, rand=FixedRandom(jitter_value))

    async def settle(self) -> None:
        await self.clock.settle(50)

    async def next_timer(self) -> float:
        """Move time to the next pending timer, let everything run; returns the new now."""
        deadline = self.clock.next_deadline()
        assert deadline is not None, "nothing is waiting on the clock"
        self.clock.advance_to(deadline)
        await self.settle()
        return self.clock.now()


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    harness = Harness()
    task = asyncio.create_task(harness.reflector.run())
    yield harness
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def synced(h: Harness, rv: str = "10", *names: str) -> FakeWatch:
    """Script an initial list (``names`` at ``rv``) and an open watch; returns the watch."""
    watch = FakeWatch()
    h.lw.on_list(ListPage([obj(n, rv) for n in names], rv)).on_watch(watch)
    return watch


async def test_first_list_asks_for_rv_0_in_pages_of_500_then_watches_from_its_rv() -> None:
    harness = Harness(jitter_value=0.5)
    harness.lw.on_list(ListPage([obj("a", 3)], "10", "token-1"), ListPage([obj("b", 7)], "10"))
    harness.lw.on_watch(FakeWatch())
    task = asyncio.create_task(harness.reflector.run())
    await harness.settle()
    assert harness.lw.list_calls == [ListCall("0", 500, ""), ListCall("0", 500, "token-1")]
    assert harness.store.calls == [("replace", ["a", "b"], "10")]
    assert [(w.resource_version, w.timeout_seconds) for w in harness.lw.watch_calls] == [("10", 450)]
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_watch_timeouts_are_random_between_300_and_600_seconds() -> None:
    timeouts = set()
    for seed in range(20):
        clock = FakeClock()
        lw = ScriptedListerWatcher(clock=clock).on_list(ListPage([], "1")).on_watch(FakeWatch())
        reflector = Reflector(lw, RecordingStore(), clock=clock, rand=random.Random(seed))
        task = asyncio.create_task(reflector.run())
        await clock.settle()
        timeouts.add(lw.watch_calls[0].timeout_seconds)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert all(300 <= t < 600 for t in timeouts) and len(timeouts) > 5


async def test_events_go_to_the_store_and_a_normal_close_rewatches_at_once_from_the_last_rv(h: Harness) -> None:
    first = synced(h, "10")
    second = FakeWatch()
    h.lw.on_watch(second)
    first.event("ADDED", obj("a", 11)).event("MODIFIED", obj("a", 12))
    first.event("BOOKMARK", {"kind": "ConfigMap", "metadata": {"resourceVersion": "15"}}).close()
    await h.settle()
    assert h.store.calls[1:] == [("add", "a", "11"), ("update", "a", "12")]  # a bookmark is not an object
    assert [w.resource_version for w in h.lw.watch_calls] == ["10", "15"]
    assert h.lw.watch_calls[1].at == h.lw.watch_calls[0].at  # no backoff before re-watching
    assert len(h.lw.list_calls) == 1  # and no relist
    second.event("DELETED", obj("a", 16))
    await h.settle()
    assert h.store.calls[-1] == ("delete", "a", "16")
    assert h.reflector.last_sync_resource_version == "16"


@pytest.mark.parametrize("how", ["error event", "http answer"])
async def test_410_relists_after_backoff_at_the_last_rv_then_consistently(h: Harness, how: str) -> None:
    watch = synced(h, "10", "a")
    watch.event("MODIFIED", obj("a", 12))
    if how == "error event":
        watch.event("ERROR", EXPIRED)
    else:
        watch.close()
        h.lw.on_watch(ApiError(410, "Expired", "too old resource version"))
    await h.settle()
    assert len(h.lw.list_calls) == 1
    started = h.clock.now()
    assert await h.next_timer() == pytest.approx(started + 0.8)  # backoff first (jitter pinned to 0)
    # The relist asks for the last synced revision (never older than the cache) ...
    assert h.lw.list_calls[1:] == [ListCall("12", 500, "")]
    # ... and when that is compacted away, for a consistent list at once.
    h.lw.on_list(ApiError(410, "Expired", "too old resource version: 12 (20)"), ListPage([obj("b", 20)], "21"))
    h.lw.on_watch(FakeWatch())
    await h.settle()
    assert h.lw.list_calls[2:] == [ListCall("", 500, "")]
    assert h.store.calls[-1] == ("replace", ["b"], "21")
    assert h.lw.watch_calls[-1].resource_version == "21"


async def test_a_failing_rv_0_list_falls_back_to_a_consistent_list(h: Harness) -> None:
    h.lw.on_list(ApiError(504, "Timeout", "Too large resource version: 0, current: 0"), ListPage([obj("a", 1)], "5"))
    h.lw.on_watch(FakeWatch())
    await h.settle()
    assert h.lw.list_calls == [ListCall("0", 500, ""), ListCall("", 500, "")]
    assert h.store.calls == [("replace", ["a"], "5")]


async def test_an_expired_continue_token_falls_back_to_one_unpaged_list(h: Harness) -> None:
    h.lw.on_list(ListPage([obj("a", 1)], "9", "tok"), ApiError(410, "Expired", "continue too old"))
    h.lw.on_list(ListPage([obj("a", 1), obj("b", 2)], "12"))
    h.lw.on_watch(FakeWatch())
    await h.settle()
    assert h.lw.list_calls == [ListCall("0", 500, ""), ListCall("0", 500, "tok"), ListCall("0", 0, "")]
    assert h.store.calls == [("replace", ["a", "b"], "12")]


@pytest.mark.parametrize(
    "failure", [ApiError(429, "TooManyRequests", "slow down"), TransportError("connection refused")]
)
async def test_a_refused_watch_is_retried_after_backoff_without_relisting(h: Harness, failure: Exception) -> None:
    h.lw.on_list(ListPage([], "10")).on_watch(failure, failure, FakeWatch())
    await h.settle()
    assert len(h.lw.watch_calls) == 1
    t1 = await h.next_timer()
    t2 = await h.next_timer()
    assert [w.at for w in h.lw.watch_calls] == [1000.0, t1, t2] and (t1, t2) == (1000.8, 1002.4)
    assert [w.resource_version for w in h.lw.watch_calls] == ["10", "10", "10"]
    assert len(h.lw.list_calls) == 1


async def test_other_watch_errors_relist(h: Harness) -> None:
    h.lw.on_list(ListPage([], "10")).on_watch(ApiError(503, "ServiceUnavailable"))
    await h.settle()
    await h.next_timer()
    assert [c.resource_version for c in h.lw.list_calls] == ["0", "10"]


async def test_a_very_short_empty_watch_counts_as_an_error_and_relists(h: Harness) -> None:
    h.lw.on_list(ListPage([], "10")).on_watch(FakeWatch().close())
    await h.settle()
    assert len(h.lw.list_calls) == 1 and len(h.lw.watch_calls) == 1
    await h.next_timer()
    assert len(h.lw.list_calls) == 2


async def test_retry_after_is_a_lower_bound_on_the_backoff(h: Harness) -> None:
    h.lw.on_list(ApiError(429, "TooManyRequests", retry_after=5))
    await h.settle()
    assert await h.next_timer() == 1005.0
    assert len(h.lw.list_calls) == 2


async def test_backoff_doubles_to_30s_and_resets_after_two_healthy_minutes(h: Harness) -> None:
    for _ in range(9):
        h.lw.on_list(ApiError(500, "InternalError"))
    await h.settle()
    for _ in range(8):
        await h.next_timer()
    gaps = [round(b - a, 6) for a, b in zip(h.lw.list_times, h.lw.list_times[1:], strict=False)]
    assert gaps == [0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0]
    # Healthy for two minutes (listed, watching), then the watch fails: the backoff starts over at 0.8 s.
    watch = synced(h, "10")
    await h.next_timer()
    h.clock.advance(121)
    watch.event("ERROR", {"kind": "Status", "code": 500, "reason": "InternalError"})
    await h.settle()
    failed_at = h.clock.now()
    assert await h.next_timer() == pytest.approx(failed_at + 0.8)
    assert len(h.lw.list_calls) == 11


def test_backoff_jitter_stretches_each_delay_by_up_to_twice() -> None:
    clock = FakeClock()
    backoff = Backoff(clock, rand=random.Random(7))
    bases = [0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0, 30.0]
    delays = [backoff.next() for _ in bases]
    assert all(base <= d < 2 * base for base, d in zip(bases, delays, strict=True))
    assert len({round(d / b, 6) for d, b in zip(delays, bases, strict=True)}) > 1  # jittered, not a fixed factor
    clock.advance(120)
    assert 1.6 * 30 > backoff.next() >= 30.0  # exactly 120 s is not yet "more than two minutes"
    clock.advance(120.5)
    assert 0.8 <= backoff.next() < 1.6


async def test_unknown_event_types_are_skipped(h: Harness) -> None:
    watch = synced(h, "10")
    watch.send(WatchEvent("WEIRD", {"metadata": {"resourceVersion": "99"}})).event("ADDED", obj("a", 11))
    await h.settle()
    assert h.store.calls[1:] == [("add", "a", "11")]
    assert h.reflector.last_sync_resource_version == "11"


async def test_an_unexpected_failure_backs_off_and_relists_instead_of_killing_the_reflector(h: Harness) -> None:
    h.lw.on_list(ListPage([{"kind": "ConfigMap"}], "5"))  # an item without metadata: the store will choke on it
    await h.settle()
    assert h.store.calls == []
    h.lw.on_list(ListPage([obj("a", 1)], "6")).on_watch(FakeWatch())
    await h.next_timer()
    assert h.store.calls == [("replace", ["a"], "6")]


def test_api_errors_classify_expired_and_too_large_resource_versions() -> None:
    expired = ApiError.from_status({"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"})
    assert expired.expired and not expired.too_large_resource_version
    too_large = ApiError.from_status(
        {"code": 504, "reason": "Timeout", "details": {"causes": [{"reason": "ResourceVersionTooLarge"}]}},
        retry_after=1,
    )
    assert too_large.too_large_resource_version and not too_large.expired and too_large.retry_after == 1
    assert not ApiError(504, "Timeout", "other").too_large_resource_version


async def test_once_the_last_rv_is_gone_relists_stay_consistent_until_one_succeeds(h: Harness) -> None:
    watch = synced(h, "10")
    watch.event("ERROR", EXPIRED)
    h.lw.on_list(ApiError(410, "Expired"), ApiError(500, "InternalError"), ListPage([], "30"))
    h.lw.on_watch(FakeWatch())
    await h.settle()
    await h.next_timer()
    await h.next_timer()
    assert [c.resource_version for c in h.lw.list_calls] == ["0", "10", "", ""]
