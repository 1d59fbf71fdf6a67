"""EventRecorder against the emulated API server: Events written, repeats folded into a series, spam dropped."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest

from smk8s.kube import EventRecorder, RetryingApiClient, request_json
from tests.integration.kube.conftest import RecordingClock

EVENTS = "/apis/events.k8s.io/v1/namespaces/default/events"
JOB = {
    "apiVersion": "sagemaker.aws.amazon.com/v1",
    "kind": "TrainingJob",
    "metadata": {"name": "job-a", "namespace": "default", "uid": "1234", "resourceVersion": "7"},
}


@pytest.fixture
async def recorder(api: RetryingApiClient, clock: RecordingClock) -> AsyncIterator[EventRecorder]:
    wall = iter(dt.datetime(2025, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=i) for i in range(10_000))
    rec = EventRecorder(
        api,
        reporting_controller="sagemaker.aws.amazon.com/trainingjob",
        reporting_instance="manager-0",
        clock=clock,
        wall_clock=lambda: next(wall),
    )
    try:
        yield rec
    finally:
        await rec.close()


async def events(api: RetryingApiClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await request_json(api, "GET", EVENTS))["items"]
    return sorted(items, key=lambda e: e["metadata"]["name"])


async def test_an_event_is_written_with_the_events_v1_fields(api: RetryingApiClient, recorder: EventRecorder) -> None:
    recorder.eventf(JOB, "Warning", "CreateFailed", "Create", "could not create %s: %s", "job-a", "throttled")
    await recorder.flush()
    [event] = await events(api)
    assert event["metadata"]["name"].startswith("job-a.")
    assert event["regarding"] == {
        "apiVersion": "sagemaker.aws.amazon.com/v1",
        "kind": "TrainingJob",
        "namespace": "default",
        "name": "job-a",
        "uid": "1234",
        "resourceVersion": "7",
    }
    assert (event["type"], event["reason"], event["action"], event["note"]) == (
        "Warning",
        "CreateFailed",
        "Create",
        "could not create job-a: throttled",
    )
    assert event["reportingController"] == "sagemaker.aws.amazon.com/trainingjob"
    assert event["reportingInstance"] == "manager-0"
    assert event["eventTime"] == "2025-01-01T00:00:00.000000Z" and "series" not in event


async def test_repeats_patch_one_series_then_a_new_event_after_ten_minutes(
    api: RetryingApiClient, recorder: EventRecorder, clock: RecordingClock
) -> None:
    for _ in range(3):
        recorder.eventf(JOB, "Normal", "Created", "Create", "created")
        clock.advance(60)
    await recorder.flush()
    [event] = await events(api)
    assert event["series"]["count"] == 3 and event["series"]["lastObservedTime"].startswith("2025-01-01T00:00:0")
    clock.advance(600)
    recorder.eventf(JOB, "Normal", "Created", "Create", "created")
    await recorder.flush()
    first, second = await events(api)
    assert first["metadata"]["name"] == event["metadata"]["name"] and first["series"]["count"] == 3
    assert "series" not in second


async def test_a_series_whose_event_is_gone_starts_again(api: RetryingApiClient, recorder: EventRecorder) -> None:
    recorder.eventf(JOB, "Normal", "Created", "Create", "created")
    await recorder.flush()
    [gone] = await events(api)
    await request_json(api, "DELETE", f"{EVENTS}/{gone['metadata']['name']}")
    recorder.eventf(JOB, "Normal", "Created", "Create", "created")
    recorder.eventf(JOB, "Normal", "Created", "Create", "created")
    await recorder.flush()
    [event] = await events(api)
    assert event["metadata"]["name"] != gone["metadata"]["name"] and event["series"]["count"] == 3


async def test_the_spam_filter_caps_events_per_object(
    api: RetryingApiClient, recorder: EventRecorder, clock: RecordingClock
) -> None:
    for i in range(40):
        recorder.eventf(JOB, "Normal", "Progress", "Train", "epoch %d", i)
    await recorder.flush()
    stored = await events(api)
    assert len(stored) == 25 and stored[-1]["note"] == "epoch 24"
    clock.advance(300)
    recorder.eventf(JOB, "Normal", "Progress", "Train", "epoch %d", 40)
    recorder.eventf(JOB, "Normal", "Progress", "Train", "epoch %d", 41)
    await recorder.flush()
    assert [e["note"] for e in await events(api)][25:] == ["epoch 40"]


def test_event_types_are_checked(recorder: EventRecorder) -> None:
    with pytest.raises(ValueError):
        recorder.eventf(JOB, "Info", "Created", "Create", "created")


async def test_a_refused_write_does_not_stop_the_recorder(api: RetryingApiClient, recorder: EventRecorder) -> None:
    """An Event the server refuses (here: its namespace does not exist, 404) is logged and dropped, and the writer
    goes on with the next one (a failed write once killed the writer task: what was queued behind it stayed
    unwritten and ``flush`` never returned)."""
    elsewhere = {**JOB, "metadata": {"name": "job-b", "namespace": "no-such-namespace", "uid": "5678"}}
    recorder.eventf(elsewhere, "Normal", "Created", "Create", "lost")
    recorder.eventf(JOB, "Normal", "Created", "Create", "kept")
    async with asyncio.timeout(10):
        await recorder.flush()
    assert [e["note"] for e in await events(api)] == ["kept"]
