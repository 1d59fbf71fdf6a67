"""Output lines: text with and without the stream name, timestamps, tuning-job prefixes, JSON."""

from __future__ import annotations

import json

from smk8s.smlogs.events import LogEvent
from smk8s.smlogs.output import Formatter, rfc3339_ms

EVENT = LogEvent("job", "job/algo-1-1700000000", 1_700_000_000_123, "epoch 1 loss 0.5\n", 1_700_000_000_500)
CHILD = LogEvent("tune-001-abc", "tune-001-abc/algo-1-1", 1_700_000_000_000, "hello", None, parent="tune")


def test_rfc3339_with_milliseconds_in_utc() -> None:
    assert rfc3339_ms(1_700_000_000_123) == "2023-11-14T22:13:20.123Z"
    assert rfc3339_ms(0) == "1970-01-01T00:00:00.000Z"


def test_text_lines() -> None:
    assert Formatter().line(EVENT) == "job/algo-1-1700000000 epoch 1 loss 0.5"  # the trailing newline not doubled
    assert Formatter(show_stream=False).line(EVENT) == "epoch 1 loss 0.5"
    assert Formatter(timestamps=True).line(EVENT) == "job/algo-1-1700000000 2023-11-14T22:13:20.123Z epoch 1 loss 0.5"
    assert Formatter(show_stream=False, timestamps=True).line(EVENT) == "2023-11-14T22:13:20.123Z epoch 1 loss 0.5"


def test_tuning_children_are_prefixed_with_their_name() -> None:
    assert Formatter().line(CHILD) == "[tune-001-abc] tune-001-abc/algo-1-1 hello"
    assert Formatter(show_stream=False).line(CHILD) == "[tune-001-abc] hello"


def test_json_is_one_object_per_line() -> None:
    line = Formatter(output="json", show_stream=False, timestamps=True).line(EVENT)
    assert "\n" not in line
    assert json.loads(line) == {"jobName": "job", "logStreamName": "job/algo-1-1700000000",
                                "timestamp": 1_700_000_000_123, "time": "2023-11-14T22:13:20.123Z",
                                "ingestionTime": 1_700_000_000_500, "message": "epoch 1 loss 0.5\n"}
    child = json.loads(Formatter(output="json").line(CHILD))
    assert child["tuningJobName"] == "tune" and child["jobName"] == "tune-001-abc" and "ingestionTime" not in child
