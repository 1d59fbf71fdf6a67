"""CloudWatch Logs conformance through aiobotocore: what ``kubectl smlogs`` and other clients see over the wire.

The emulated jobs write through ``world.logs.put_log_events``; these tests write the same way, then read as a
client does, with botocore's own paginators where it has them (DescribeLogGroups, DescribeLogStreams,
FilterLogEvents) and the documented end-of-stream rule for GetLogEvents (the same token comes back).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiobotocore.session import get_session
from botocore.config import Config

from smk8s.emulators.aws.server import AwsEmulator

GROUP = "/aws/sagemaker/TrainingJobs"
JOB = "xgboost-2024-06-01"
STREAMS = [f"{JOB}/algo-{n}-1717200000" for n in range(1, 5)]
NOW_MS = 1_717_200_000_000


@pytest.fixture
async def aws() -> AsyncIterator[AwsEmulator]:
    async with AwsEmulator() as emulator:
        yield emulator


@pytest.fixture
async def logs(aws: AwsEmulator) -> AsyncIterator[Any]:
    async with get_session().create_client("logs", **aws.client_kwargs()) as client:
        yield client


def write(aws: AwsEmulator, stream: str, count: int, start: int = 0, *, group: str = GROUP) -> list[str]:
    """``count`` events one millisecond apart, as an emulated job writes them; returns their messages."""
    lines = [f"{stream} line {start + i}" for i in range(count)]
    aws.world.logs.put_log_events(group, stream, [(NOW_MS + start + i, line) for i, line in enumerate(lines)])
    return lines


async def test_groups_and_streams_round_trip(logs: Any) -> None:
    await logs.create_log_group(logGroupName="/app")
    await logs.create_log_stream(logGroupName="/app", logStreamName="web/1")
    with pytest.raises(logs.exceptions.ResourceAlreadyExistsException) as caught:
        await logs.create_log_group(logGroupName="/app")
    assert caught.value.response["Error"]["Message"] == "The specified log group already exists"
    with pytest.raises(logs.exceptions.ResourceNotFoundException) as missing:
        await logs.create_log_stream(logGroupName="/nope", logStreamName="s")
    assert missing.value.response["Error"]["Message"] == "The specified log group does not exist."
    groups = (await logs.describe_log_groups(logGroupNamePrefix="/app"))["logGroups"]
    assert [(g["logGroupName"], g["arn"]) for g in groups] == [
        ("/app", "arn:aws:logs:us-west-2:123456789012:log-group:/app:*")]
    streams = (await logs.describe_log_streams(logGroupName="/app"))["logStreams"]
    assert [s["logStreamName"] for s in streams] == ["web/1"]
    await logs.delete_log_group(logGroupName="/app")
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        await logs.delete_log_group(logGroupName="/app")


async def test_put_log_events_over_the_wire(logs: Any, aws: AwsEmulator) -> None:
    now = int(aws.clock.now() * 1000)
    await logs.create_log_group(logGroupName="/app")
    await logs.create_log_stream(logGroupName="/app", logStreamName="s")
    response = await logs.put_log_events(logGroupName="/app", logStreamName="s", logEvents=[
        {"timestamp": now - 15 * 24 * 3600 * 1000, "message": "ancient"}, {"timestamp": now, "message": "fresh"}])
    assert response["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 0}
    with pytest.raises(logs.exceptions.InvalidParameterException) as caught:
        await logs.put_log_events(logGroupName="/app", logStreamName="s", logEvents=[
            {"timestamp": now, "message": "b"}, {"timestamp": now - 1, "message": "a"}])
    assert "chronological order" in caught.value.response["Error"]["Message"]
    events = (await logs.get_log_events(logGroupName="/app", logStreamName="s"))["events"]
    assert [e["message"] for e in events] == ["fresh"]
    with pytest.raises(logs.exceptions.ResourceNotFoundException) as missing:
        await logs.put_log_events(logGroupName="/app", logStreamName="gone", logEvents=[
            {"timestamp": now, "message": "x"}])
    assert missing.value.response["Error"]["Message"] == "The specified log stream does not exist."


async def test_describe_log_streams_prefix_order_and_paginator(logs: Any, aws: AwsEmulator) -> None:
    for index, stream in enumerate(reversed(STREAMS)):
        write(aws, stream, 1, start=index)
    write(aws, "other-job/algo-1-1717200000", 1, start=10)
    paginator = logs.get_paginator("describe_log_streams")
    names = [s["logStreamName"] async for page in paginator.paginate(
        logGroupName=GROUP, logStreamNamePrefix=f"{JOB}/", PaginationConfig={"PageSize": 3})
        for s in page["logStreams"]]
    assert names == STREAMS
    by_time = await logs.describe_log_streams(logGroupName=GROUP, orderBy="LastEventTime", descending=True)
    assert [s["logStreamName"] for s in by_time["logStreams"]] == ["other-job/algo-1-1717200000", *STREAMS]
    first = by_time["logStreams"][0]
    assert first["lastEventTimestamp"] == NOW_MS + 10 and first["storedBytes"] == 0
    with pytest.raises(logs.exceptions.InvalidParameterException) as caught:
        await logs.describe_log_streams(logGroupName=GROUP, orderBy="LastEventTime", logStreamNamePrefix=JOB)
    assert caught.value.response["Error"]["Message"] == "Cannot order by LastEventTime with a logStreamNamePrefix."
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        await logs.describe_log_streams(logGroupName="/aws/sagemaker/ProcessingJobs")


async def test_filter_log_events_paginator_reads_more_than_10000_events_in_order(logs: Any, aws: AwsEmulator) -> None:
    written: dict[str, list[str]] = {stream: write(aws, stream, 2_600) for stream in STREAMS}  # 10,400 events
    paginator = logs.get_paginator("filter_log_events")
    events = [e async for page in paginator.paginate(logGroupName=GROUP, logStreamNamePrefix=f"{JOB}/")
              for e in page["events"]]
    assert len(events) == 10_400
    assert len({e["eventId"] for e in events}) == 10_400
    assert [e["timestamp"] for e in events] == sorted(e["timestamp"] for e in events)
    for stream in STREAMS:
        assert [e["message"] for e in events if e["logStreamName"] == stream] == written[stream]


async def test_filter_log_events_pages_with_appends_between_pages(logs: Any, aws: AwsEmulator) -> None:
    """Jobs keep writing while a client pages; the first stream lags (its new events are older than the position
    the merged order has reached), which offset- or single-position tokens would skip or repeat."""
    lagging, *others = STREAMS
    expected = {stream: write(aws, stream, 3_000) for stream in others}
    expected[lagging] = write(aws, lagging, 500)
    seen: list[dict[str, Any]] = []
    request: dict[str, Any] = {"logGroupName": GROUP, "limit": 2_000}
    for page_number in range(100):
        page = await logs.filter_log_events(**request)
        seen += page["events"]
        if "nextToken" not in page:
            break
        if page_number < 3:
            expected[lagging] += write(aws, lagging, 100, start=500 + page_number * 100)
            for stream in others:
                expected[stream] += write(aws, stream, 100, start=3_000 + page_number * 100)
        request["nextToken"] = page["nextToken"]
    assert len(seen) == len({e["eventId"] for e in seen}), "an event came twice"
    for stream in STREAMS:
        assert sorted(e["message"] for e in seen if e["logStreamName"] == stream) == sorted(expected[stream])
    assert len(seen) == 9_500 + 3 * 400


async def test_filter_log_events_window_pattern_and_stream_names(logs: Any, aws: AwsEmulator) -> None:
    aws.world.logs.put_log_events(GROUP, STREAMS[0], [(NOW_MS + 1, "[0] train-rmse:0.5"), (NOW_MS + 5, "ERROR x")])
    aws.world.logs.put_log_events(GROUP, STREAMS[1], [(NOW_MS + 3, "[0] train-rmse:0.4"), (NOW_MS + 9, "done")])
    response = await logs.filter_log_events(logGroupName=GROUP, startTime=NOW_MS + 2, endTime=NOW_MS + 9,
                                            filterPattern='"train-rmse"')
    assert [(e["logStreamName"], e["message"]) for e in response["events"]] == [
        (STREAMS[1], "[0] train-rmse:0.4")]
    assert response["searchedLogStreams"] == []
    response = await logs.filter_log_events(logGroupName=GROUP, logStreamNames=[STREAMS[0]], filterPattern="ERROR")
    assert [e["message"] for e in response["events"]] == ["ERROR x"]
    with pytest.raises(logs.exceptions.InvalidParameterException):
        await logs.filter_log_events(logGroupName=GROUP, logStreamNames=[STREAMS[0]], logStreamNamePrefix=JOB)


async def test_get_log_events_follow_until_the_same_token_comes_back(logs: Any, aws: AwsEmulator) -> None:
    expected = write(aws, STREAMS[0], 12_345)
    seen: list[str] = []
    request: dict[str, Any] = {"logGroupName": GROUP, "logStreamName": STREAMS[0], "startFromHead": True}
    for polls in range(1_000):  # bounded: a token that never repeats must fail, not hang
        response = await logs.get_log_events(**request)
        assert len(response["events"]) <= 10_000
        seen += [e["message"] for e in response["events"]]
        if polls == 1:
            expected += write(aws, STREAMS[0], 5, start=20_000)  # the job is still writing
        if response["nextForwardToken"] == request.get("nextToken"):
            break
        request["nextToken"] = response["nextForwardToken"]
    else:
        pytest.fail("paging did not end")
    assert seen == expected


async def test_get_log_events_tail_window_and_bad_token(logs: Any, aws: AwsEmulator) -> None:
    write(aws, STREAMS[0], 50)
    tail = await logs.get_log_events(logGroupName=GROUP, logStreamName=STREAMS[0], limit=2)
    assert [e["message"] for e in tail["events"]] == [f"{STREAMS[0]} line 48", f"{STREAMS[0]} line 49"]
    window = await logs.get_log_events(logGroupName=GROUP, logStreamName=STREAMS[0], startTime=NOW_MS + 10,
                                       endTime=NOW_MS + 12, startFromHead=True)
    assert [e["timestamp"] for e in window["events"]] == [NOW_MS + 10, NOW_MS + 11]
    with pytest.raises(logs.exceptions.InvalidParameterException) as caught:
        await logs.get_log_events(logGroupName=GROUP, logStreamName=STREAMS[0], nextToken="f/1/s")
    assert caught.value.response["Error"]["Message"] == "The specified nextToken is invalid."
    with pytest.raises(logs.exceptions.ResourceNotFoundException) as missing:
        await logs.get_log_events(logGroupName=GROUP, logStreamName="nope")
    assert missing.value.response["Error"]["Message"] == "The specified log stream does not exist."


async def test_server_side_validation_answers_invalid_parameter(aws: AwsEmulator) -> None:
    config = Config(parameter_validation=False)
    async with get_session().create_client("logs", config=config, **aws.client_kwargs()) as client:
        with pytest.raises(client.exceptions.InvalidParameterException) as caught:
            await client.get_log_events(logGroupName=GROUP, logStreamName="s", limit=10_001)
    assert "limit" in caught.value.response["Error"]["Message"]


async def test_state_shows_the_log_store_snapshot(aws: AwsEmulator) -> None:
    write(aws, STREAMS[0], 3)
    state = aws.state()["logs"]
    assert state["logGroups"][0]["logGroupName"] == GROUP
    assert state["logGroups"][0]["logStreams"][0]["events"] == 3
