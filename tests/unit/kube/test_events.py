"""The event correlator on a FakeClock: series within 10 minutes, spam filter per source and object, bounded caches."""

from __future__ import annotations

from typing import Any

import pytest

from smk8s.clock import FakeClock
from smk8s.kube.events import Create, EventCorrelator, PatchSeries

_names = iter(range(1_000_000))


def event(
    obj: str = "job-a",
    *,
    note: str = "started",
    reason: str = "Created",
    controller: str = "ctl",
    uid: str | None = None,
) -> dict[str, Any]:
    return {
        "metadata": {"name": f"{obj}.{next(_names):x}", "namespace": "default"},
        "reportingController": controller,
        "reportingInstance": "pod-1",
        "regarding": {
            "apiVersion": "v1",
            "kind": "TrainingJob",
            "namespace": "default",
            "name": obj,
            "uid": uid or f"uid-{obj}",
        },
        "type": "Normal",
        "reason": reason,
        "action": "Create",
        "note": note,
    }


def test_repeats_within_ten_minutes_become_one_series() -> None:
    clock = FakeClock()
    correlator = EventCorrelator(clock)
    first = correlator.observe(event())
    assert isinstance(first, Create)
    name = first.event["metadata"]["name"]
    clock.advance(599)
    second = correlator.observe(event())
    clock.advance(599)  # the window runs from the last observation
    third = correlator.observe(event())
    assert isinstance(second, PatchSeries) and isinstance(third, PatchSeries)
    assert (second.name, second.count, third.name, third.count) == (name, 2, name, 3)


def test_a_repeat_after_ten_minutes_starts_a_new_event() -> None:
    clock = FakeClock()
    correlator = EventCorrelator(clock)
    correlator.observe(event())
    clock.advance(600)
    again = correlator.observe(event())
    assert isinstance(again, Create)
    clock.advance(1)
    follow = correlator.observe(event())
    assert isinstance(follow, PatchSeries) and follow.name == again.event["metadata"]["name"] and follow.count == 2


@pytest.mark.parametrize("change", [{"note": "other"}, {"reason": "Failed"}, {"obj": "job-b"}, {"controller": "x"}])
def test_different_events_are_not_merged(change: dict[str, str]) -> None:
    correlator = EventCorrelator(FakeClock())
    correlator.observe(event())
    assert isinstance(correlator.observe(event(**change)), Create)


def test_the_spam_filter_allows_a_burst_of_25_per_object_then_one_per_5_minutes() -> None:
    clock = FakeClock()
    correlator = EventCorrelator(clock)
    decisions = [correlator.observe(event(note=f"n{i}")) for i in range(30)]
    assert sum(d is not None for d in decisions) == 25 and decisions[25:] == [None] * 5
    assert isinstance(correlator.observe(event("job-b")), Create)  # another object has its own bucket
    assert isinstance(correlator.observe(event(controller="other")), Create)  # so has another source
    clock.advance(299)
    assert correlator.observe(event(note="late")) is None
    clock.advance(1)
    assert correlator.observe(event(note="late")) is not None
    assert correlator.observe(event(note="later")) is None


def test_repeats_spend_tokens_too() -> None:
    correlator = EventCorrelator(FakeClock())
    decisions = [correlator.observe(event()) for _ in range(26)]
    assert isinstance(decisions[24], PatchSeries) and decisions[24].count == 25 and decisions[25] is None


def test_caches_are_bounded() -> None:
    correlator = EventCorrelator(FakeClock(), cache_size=2)
    first = correlator.observe(event("a"))
    correlator.observe(event("b"))
    correlator.observe(event("c"))  # evicts "a"
    again = correlator.observe(event("a"))
    assert isinstance(first, Create) and isinstance(again, Create)
