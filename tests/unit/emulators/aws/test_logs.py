"""CloudWatch Logs handlers and store, called directly on a world whose clock only moves when told to.

Real-service references: the botocore ``logs`` model documentation (GetLogEvents token and window rules,
FilterLogEvents, PutLogEvents batch rules), boto/boto3#1467 ("The specified nextToken is invalid."),
turbot/steampipe-plugin-aws#1949 ("Cannot order by LastEventTime with a logStreamNamePrefix."),
aws/aws-sdk-js-v3#3099 (an empty forward page returns the token it was given, and the backward token at the same
position), awslabs/aws-athena-query-federation#99 (a forward token needs startFromHead=true).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest

from smk8s.emulators.aws.clock import VirtualClock
from smk8s.emulators.aws.errors import AwsError
from smk8s.emulators.aws.logs import OPERATIONS, LogStore, compile_filter_pattern
from smk8s.emulators.aws.world import World, new_world
from tests.support.aws_shapes import shape_errors

T0 = 1_717_200_000.0  # 2024-06-01T00:00:00Z, after FilterLogEvents' descending-order cut-off
T0_MS = int(T0 * 1000)
GROUP = "/aws/sagemaker/TrainingJobs"
LOGS_MODEL = botocore.session.get_session().get_service_model("logs")


@pytest.fixture
def world() -> World:
    w = new_world(clock=VirtualClock(start=T0, monotonic=lambda: 0.0))
    w.logs = LogStore(now=w.clock.now)
    return w


def call(world: World, operation: str, **request: Any) -> dict[str, Any]:
    """Call a handler as the server would, and check the answer against botocore's output shape."""
    world.advance()
    response = OPERATIONS[operation](world, request)
    output = LOGS_MODEL.operation_model(operation).output_shape
    if output is None:
        assert response == {}
    else:
        assert shape_errors(output, response, operation) == []
    return response


def error_of(world: World, operation: str, **request: Any) -> AwsError:
    with pytest.raises(AwsError) as caught:
        call(world, operation, **request)
    return caught.value


def messages(response: dict[str, Any]) -> list[str]:
    return [event["message"] for event in response["events"]]


def test_operations_are_the_logs_models_operations() -> None:
    assert set(OPERATIONS) <= set(LOGS_MODEL.operation_names)
    assert set(OPERATIONS) == {"CreateLogGroup", "CreateLogStream", "DeleteLogGroup", "DescribeLogGroups",
                               "DescribeLogStreams", "GetLogEvents", "FilterLogEvents", "PutLogEvents"}


# -- producers and the store ---------------------------------------------------------------------------------------


def test_producer_creates_group_and_stream_and_ingests_at_virtual_now(world: World) -> None:
    world.clock.advance(5)
    world.logs.put_log_events(GROUP, "job/algo-1-1", [(T0_MS + 1000, "one"), (T0_MS + 2000, "two")])
    stream = call(world, "DescribeLogStreams", logGroupName=GROUP)["logStreams"][0]
    assert stream["creationTime"] == T0_MS + 5000
    assert stream["lastIngestionTime"] == T0_MS + 5000
    events = call(world, "GetLogEvents", logGroupName=GROUP, logStreamName="job/algo-1-1")["events"]
    assert events == [{"timestamp": T0_MS + 1000, "message": "one", "ingestionTime": T0_MS + 5000},
                      {"timestamp": T0_MS + 2000, "message": "two", "ingestionTime": T0_MS + 5000}]


def test_producer_without_a_clock_ingests_at_the_batchs_latest_timestamp() -> None:
    store = LogStore()
    store.put_log_events("g", "s", [(10, "a"), (30, "b"), (20, "c")])
    stream = store.groups["g"].streams["s"]
    assert stream.creation_time == 30
    assert [e.ingestion_time for e in stream.events] == [30, 30, 30]


def test_events_are_kept_sorted_by_timestamp_and_ties_keep_ingestion_order(world: World) -> None:
    world.logs.put_log_events(GROUP, "s", [(300, "c"), (100, "a1")])
    world.logs.put_log_events(GROUP, "s", [(200, "b"), (100, "a2"), (300, "c2")])
    response = call(world, "GetLogEvents", logGroupName=GROUP, logStreamName="s", startFromHead=True)
    assert messages(response) == ["a1", "a2", "b", "c", "c2"]


def test_snapshot_summarises_groups_and_streams(world: World) -> None:
    world.logs.put_log_events(GROUP, "b", [(T0_MS, "x")])
    world.logs.put_log_events(GROUP, "a", [(T0_MS - 5, "hello"), (T0_MS + 5, "world")])
    snapshot = world.logs.snapshot()
    assert snapshot == {"logGroups": [{
        "logGroupName": GROUP, "creationTime": T0_MS, "storedBytes": 1 + 5 + 5 + 3 * 26,
        "logStreams": [
            {"logStreamName": "a", "creationTime": T0_MS, "events": 2, "firstEventTimestamp": T0_MS - 5,
             "lastEventTimestamp": T0_MS + 5, "lastIngestionTime": T0_MS},
            {"logStreamName": "b", "creationTime": T0_MS, "events": 1, "firstEventTimestamp": T0_MS,
             "lastEventTimestamp": T0_MS, "lastIngestionTime": T0_MS},
        ]}]}


# -- groups and streams --------------------------------------------------------------------------------------------


def test_create_log_group_twice_is_resource_already_exists(world: World) -> None:
    call(world, "CreateLogGroup", logGroupName="/app")
    error = error_of(world, "CreateLogGroup", logGroupName="/app")
    assert (error.code, error.message, error.status) == (
        "ResourceAlreadyExistsException", "The specified log group already exists", 400)


def test_create_log_group_rejects_the_reserved_aws_prefix(world: World) -> None:
    assert error_of(world, "CreateLogGroup", logGroupName="aws/mine").code == "InvalidParameterException"
    call(world, "CreateLogGroup", logGroupName="/aws/sagemaker/TrainingJobs")  # a leading slash is fine


def test_create_log_stream_needs_the_group_and_a_new_name(world: World) -> None:
    error = error_of(world, "CreateLogStream", logGroupName="/nope", logStreamName="s")
    assert (error.code, error.message) == ("ResourceNotFoundException", "The specified log group does not exist.")
    call(world, "CreateLogGroup", logGroupName="/app")
    call(world, "CreateLogStream", logGroupName="/app", logStreamName="s")
    error = error_of(world, "CreateLogStream", logGroupName="/app", logStreamName="s")
    assert (error.code, error.message) == ("ResourceAlreadyExistsException", "The specified log stream already exists")


def test_delete_log_group_removes_it_and_its_events(world: World) -> None:
    world.logs.put_log_events(GROUP, "s", [(T0_MS, "x")])
    call(world, "DeleteLogGroup", logGroupName=GROUP)
    assert call(world, "DescribeLogGroups")["logGroups"] == []
    error = error_of(world, "DeleteLogGroup", logGroupName=GROUP)
    assert (error.code, error.message) == ("ResourceNotFoundException", "The specified log group does not exist.")
    error = error_of(world, "GetLogEvents", logGroupName=GROUP, logStreamName="s")
    assert error.message == "The specified log group does not exist."


def test_delete_log_group_refuses_while_deletion_protection_is_on(world: World) -> None:
    call(world, "CreateLogGroup", logGroupName="/kept", deletionProtectionEnabled=True)
    assert error_of(world, "DeleteLogGroup", logGroupName="/kept").code == "ValidationException"
    assert [g["logGroupName"] for g in call(world, "DescribeLogGroups")["logGroups"]] == ["/kept"]


def test_describe_log_groups_members(world: World) -> None:
    world.clock.advance(2)
    call(world, "CreateLogGroup", logGroupName="/app", logGroupClass="INFREQUENT_ACCESS")
    world.logs.put_log_events("/app", "s", [(T0_MS, "abc")])
    (group,) = call(world, "DescribeLogGroups")["logGroups"]
    assert group == {
        "logGroupName": "/app",
        "creationTime": T0_MS + 2000,
        "metricFilterCount": 0,
        "arn": "arn:aws:logs:us-west-2:123456789012:log-group:/app:*",
        "logGroupArn": "arn:aws:logs:us-west-2:123456789012:log-group:/app",
        "storedBytes": 3 + 26,
        "logGroupClass": "INFREQUENT_ACCESS",
    }


def test_describe_log_groups_prefix_pattern_class_and_identifiers(world: World) -> None:
    for name in ["/aws/sagemaker/TrainingJobs", "/aws/sagemaker/ProcessingJobs", "/app/DataLogs", "datalogs"]:
        call(world, "CreateLogGroup", logGroupName=name)

    def names(**request: Any) -> list[str]:
        return [g["logGroupName"] for g in call(world, "DescribeLogGroups", **request)["logGroups"]]

    assert names() == ["/app/DataLogs", "/aws/sagemaker/ProcessingJobs", "/aws/sagemaker/TrainingJobs", "datalogs"]
    assert names(logGroupNamePrefix="/aws/sagemaker/") == ["/aws/sagemaker/ProcessingJobs",
                                                          "/aws/sagemaker/TrainingJobs"]
    assert names(logGroupNamePattern="DataLogs") == ["/app/DataLogs"]  # case-sensitive substring
    assert names(logGroupClass="STANDARD") == names()
    assert names(logGroupClass="DELIVERY") == []
    assert names(logGroupIdentifiers=["datalogs", "arn:aws:logs:us-west-2:123456789012:log-group:/app/DataLogs:*"]
                 ) == ["/app/DataLogs", "datalogs"]
    brief = call(world, "DescribeLogGroups", logGroupNamePattern="Data")["logGroups"][0]
    assert set(brief) == {"logGroupName", "creationTime", "arn"}
    error = error_of(world, "DescribeLogGroups", logGroupNamePrefix="/a", logGroupNamePattern="a")
    assert error.code == "InvalidParameterException"


def test_describe_log_groups_pages_by_name_without_skipping_when_groups_are_added(world: World) -> None:
    for index in range(0, 10, 2):
        call(world, "CreateLogGroup", logGroupName=f"/g/{index}")
    first = call(world, "DescribeLogGroups", limit=2)
    assert [g["logGroupName"] for g in first["logGroups"]] == ["/g/0", "/g/2"]
    call(world, "CreateLogGroup", logGroupName="/g/1")  # before the position: not part of what is left
    call(world, "CreateLogGroup", logGroupName="/g/3")  # after it: returned
    rest: list[str] = []
    token = first["nextToken"]
    while token:
        page = call(world, "DescribeLogGroups", limit=2, nextToken=token)
        rest += [g["logGroupName"] for g in page["logGroups"]]
        token = page.get("nextToken")
    assert rest == ["/g/3", "/g/4", "/g/6", "/g/8"]


def test_describe_log_streams_members_for_empty_and_written_streams(world: World) -> None:
    call(world, "CreateLogGroup", logGroupName=GROUP)
    call(world, "CreateLogStream", logGroupName=GROUP, logStreamName="empty")
    world.clock.advance(1)
    world.logs.put_log_events(GROUP, "job/algo-1-1", [(T0_MS + 20, "late"), (T0_MS + 10, "early")])
    empty, written = call(world, "DescribeLogStreams", logGroupName=GROUP)["logStreams"]
    assert written["logStreamName"] == "job/algo-1-1" and empty["logStreamName"] == "empty"
    assert empty == {"logStreamName": "empty", "creationTime": T0_MS, "storedBytes": 0,
                     "arn": f"arn:aws:logs:us-west-2:123456789012:log-group:{GROUP}:log-stream:empty"}
    token = written.pop("uploadSequenceToken")
    assert written == {
        "logStreamName": "job/algo-1-1", "creationTime": T0_MS + 1000, "storedBytes": 0,
        "arn": f"arn:aws:logs:us-west-2:123456789012:log-group:{GROUP}:log-stream:job/algo-1-1",
        "firstEventTimestamp": T0_MS + 10, "lastEventTimestamp": T0_MS + 20, "lastIngestionTime": T0_MS + 1000,
    }
    world.logs.put_log_events(GROUP, "job/algo-1-1", [(T0_MS + 30, "more")])
    again = call(world, "DescribeLogStreams", logGroupName=GROUP, logStreamNamePrefix="job/")["logStreams"]
    assert again[0]["uploadSequenceToken"] != token and len(token) == 56


def test_describe_log_streams_prefix_and_orders(world: World) -> None:
    world.logs.put_log_events(GROUP, "job-a/algo-2-1", [(T0_MS + 300, "x")])
    world.logs.put_log_events(GROUP, "job-a/algo-1-1", [(T0_MS + 100, "x")])
    world.logs.put_log_events(GROUP, "job-b/algo-1-1", [(T0_MS + 200, "x")])

    def names(**request: Any) -> list[str]:
        response = call(world, "DescribeLogStreams", logGroupName=GROUP, **request)
        return [s["logStreamName"] for s in response["logStreams"]]

    assert names() == ["job-a/algo-1-1", "job-a/algo-2-1", "job-b/algo-1-1"]
    assert names(descending=True) == ["job-b/algo-1-1", "job-a/algo-2-1", "job-a/algo-1-1"]
    assert names(logStreamNamePrefix="job-a/") == ["job-a/algo-1-1", "job-a/algo-2-1"]
    assert names(orderBy="LastEventTime") == ["job-a/algo-1-1", "job-b/algo-1-1", "job-a/algo-2-1"]
    assert names(orderBy="LastEventTime", descending=True) == ["job-a/algo-2-1", "job-b/algo-1-1",
                                                               "job-a/algo-1-1"]


def test_describe_log_streams_order_by_last_event_time_forbids_a_prefix(world: World) -> None:
    world.logs.put_log_events(GROUP, "s", [(T0_MS, "x")])
    error = error_of(world, "DescribeLogStreams", logGroupName=GROUP, orderBy="LastEventTime",
                     logStreamNamePrefix="s")
    assert (error.code, error.message) == ("InvalidParameterException",
                                           "Cannot order by LastEventTime with a logStreamNamePrefix.")


@pytest.mark.parametrize(("order", "descending"), [("LogStreamName", False), ("LogStreamName", True),
                                                    ("LastEventTime", False), ("LastEventTime", True)])
def test_describe_log_streams_pages_through_every_stream_once(world: World, order: str, descending: bool) -> None:
    for index in range(23):
        world.logs.put_log_events(GROUP, f"s{index:02d}", [(T0_MS + (index * 7) % 23, "x")])
    seen: list[str] = []
    request: dict[str, Any] = {"logGroupName": GROUP, "orderBy": order, "descending": descending, "limit": 5}
    for _ in range(1_000):  # bounded: a token that never repeats must fail, not hang
        page = call(world, "DescribeLogStreams", **request)
        assert len(page["logStreams"]) <= 5
        seen += [s["logStreamName"] for s in page["logStreams"]]
        if "nextToken" not in page:
            break
        request["nextToken"] = page["nextToken"]
    else:
        pytest.fail("paging did not end")
    assert sorted(seen) == [f"s{index:02d}" for index in range(23)]
    assert len(seen) == 23


def test_describe_log_streams_rejects_foreign_and_garbage_tokens(world: World) -> None:
    for index in range(3):
        world.logs.put_log_events(GROUP, f"s{index}", [(T0_MS, "x")])
    token = call(world, "DescribeLogStreams", logGroupName=GROUP, limit=1)["nextToken"]
    for bad in ["garbage!", token + "x"]:
        error = error_of(world, "DescribeLogStreams", logGroupName=GROUP, nextToken=bad)
        assert (error.code, error.message) == ("InvalidParameterException", "The specified nextToken is invalid.")
    error = error_of(world, "DescribeLogStreams", logGroupName=GROUP, orderBy="LastEventTime", nextToken=token)
    assert error.message == "The specified nextToken is invalid."


def test_log_group_identifier_takes_a_name_or_an_arn_but_not_both(world: World) -> None:
    world.logs.put_log_events(GROUP, "s", [(T0_MS, "x")])
    arn = f"arn:aws:logs:us-west-2:123456789012:log-group:{GROUP}"
    for identifier in [GROUP, arn, arn + ":*"]:
        streams = call(world, "DescribeLogStreams", logGroupIdentifier=identifier)["logStreams"]
        assert [s["logStreamName"] for s in streams] == ["s"]
        assert messages(call(world, "GetLogEvents", logGroupIdentifier=identifier, logStreamName="s")) == ["x"]
    other_account = f"arn:aws:logs:us-west-2:999999999999:log-group:{GROUP}"
    assert error_of(world, "DescribeLogStreams", logGroupIdentifier=other_account).code == (
        "ResourceNotFoundException")
    assert error_of(world, "DescribeLogStreams", logGroupName=GROUP, logGroupIdentifier=GROUP).code == (
        "InvalidParameterException")
    assert error_of(world, "DescribeLogStreams").code == "InvalidParameterException"


def test_describe_log_streams_of_a_missing_group(world: World) -> None:
    error = error_of(world, "DescribeLogStreams", logGroupName="/nope")
    assert (error.code, error.message) == ("ResourceNotFoundException", "The specified log group does not exist.")


# -- GetLogEvents --------------------------------------------------------------------------------------------------


def put_numbered(world: World, stream: str, count: int, start: int = 0, *, group: str = GROUP,
                 every_ms: int = 10) -> None:
    world.logs.put_log_events(group, stream, [(T0_MS + (start + i) * every_ms, f"{stream} {start + i}")
                                              for i in range(count)])


def get(world: World, stream: str = "s", **request: Any) -> dict[str, Any]:
    return call(world, "GetLogEvents", logGroupName=GROUP, logStreamName=stream, **request)


def test_get_log_events_missing_stream(world: World) -> None:
    call(world, "CreateLogGroup", logGroupName=GROUP)
    error = error_of(world, "GetLogEvents", logGroupName=GROUP, logStreamName="nope")
    assert (error.code, error.message) == ("ResourceNotFoundException", "The specified log stream does not exist.")


def test_get_log_events_defaults_to_the_latest_events_in_ascending_order(world: World) -> None:
    put_numbered(world, "s", 10)
    assert messages(get(world, limit=3)) == ["s 7", "s 8", "s 9"]
    assert messages(get(world, limit=3, startFromHead=True)) == ["s 0", "s 1", "s 2"]


def test_get_log_events_window_includes_start_and_excludes_end(world: World) -> None:
    put_numbered(world, "s", 10)
    response = get(world, startTime=T0_MS + 20, endTime=T0_MS + 50, startFromHead=True)
    assert messages(response) == ["s 2", "s 3", "s 4"]


def test_get_log_events_forward_paging_ends_by_returning_the_same_token(world: World) -> None:
    put_numbered(world, "s", 25)
    seen: list[str] = []
    response = get(world, startFromHead=True, limit=10)
    for _ in range(1_000):  # bounded: a token that never repeats must fail, not hang
        seen += messages(response)
        token = response["nextForwardToken"]
        response = get(world, startFromHead=True, limit=10, nextToken=token)
        if response["nextForwardToken"] == token:
            break
    else:
        pytest.fail("paging did not end")
    assert seen == [f"s {i}" for i in range(25)]
    assert response["events"] == []
    # The empty page's backward token sits at the same position (aws/aws-sdk-js-v3#3099).
    assert response["nextBackwardToken"] == "b/" + token[2:]
    # Events appended later arrive through the same token: followers poll it.
    put_numbered(world, "s", 2, start=25)
    assert messages(get(world, startFromHead=True, nextToken=token)) == ["s 25", "s 26"]


def test_get_log_events_backward_paging_from_the_tail(world: World) -> None:
    put_numbered(world, "s", 25)
    response = get(world, limit=10)
    pages = [messages(response)]
    for _ in range(1_000):  # bounded: a token that never repeats must fail, not hang
        token = response["nextBackwardToken"]
        response = get(world, limit=10, nextToken=token)
        if response["nextBackwardToken"] == token:
            break
        pages.append(messages(response))
    else:
        pytest.fail("paging did not end")
    assert pages == [[f"s {i}" for i in range(15, 25)], [f"s {i}" for i in range(5, 15)],
                     [f"s {i}" for i in range(5)]]
    assert response["events"] == [] and response["nextForwardToken"] == "f/" + token[2:]


def test_get_log_events_tokens_look_like_the_services(world: World) -> None:
    put_numbered(world, "s", 3)
    response = get(world)
    for key, prefix in [("nextForwardToken", "f/"), ("nextBackwardToken", "b/")]:
        token = response[key]
        assert token.startswith(prefix) and token.endswith("/s") and len(token) == 60 and token[2:58].isdigit()


def test_get_log_events_on_an_empty_stream_and_window(world: World) -> None:
    call(world, "CreateLogGroup", logGroupName=GROUP)
    call(world, "CreateLogStream", logGroupName=GROUP, logStreamName="s")
    response = get(world)
    assert response["events"] == []
    assert response["nextForwardToken"][2:] == response["nextBackwardToken"][2:]
    again = get(world, startFromHead=True, nextToken=response["nextForwardToken"])
    assert again["nextForwardToken"] == response["nextForwardToken"]
    put_numbered(world, "s", 2)  # a follower that started on an empty stream sees the first events
    assert messages(get(world, startFromHead=True, nextToken=response["nextForwardToken"])) == ["s 0", "s 1"]


def test_get_log_events_forward_token_without_start_from_head_takes_the_latest_events(world: World) -> None:
    """The documented pitfall: "If you are using a previous nextForwardToken ... you must specify true"."""
    put_numbered(world, "s", 10)
    token = get(world, startFromHead=True, limit=2)["nextForwardToken"]
    assert messages(get(world, startFromHead=True, limit=2, nextToken=token)) == ["s 2", "s 3"]
    assert messages(get(world, limit=2, nextToken=token)) == ["s 8", "s 9"]


def test_get_log_events_pages_hold_at_most_one_megabyte(world: World) -> None:
    message = "x" * 998  # 1,024 bytes counted per event
    world.logs.put_log_events(GROUP, "s", [(T0_MS + i, message) for i in range(2_500)])
    first = get(world, startFromHead=True)
    assert len(first["events"]) == 1_024
    second = get(world, startFromHead=True, nextToken=first["nextForwardToken"])
    assert len(second["events"]) == 1_024
    assert second["events"][0]["timestamp"] == T0_MS + 1_024


def test_get_log_events_rejects_garbage_tokens(world: World) -> None:
    put_numbered(world, "s", 3)
    for bad in ["x", "f/123/s", "f/" + "0" * 56 + "/s", "q/" + "1" * 56 + "/s"]:
        error = error_of(world, "GetLogEvents", logGroupName=GROUP, logStreamName="s", nextToken=bad)
        assert (error.code, error.message) == ("InvalidParameterException", "The specified nextToken is invalid.")


# -- FilterLogEvents -----------------------------------------------------------------------------------------------


def filter_(world: World, **request: Any) -> dict[str, Any]:
    return call(world, "FilterLogEvents", logGroupName=GROUP, **request)


def test_filter_log_events_interleaves_streams_in_time_order(world: World) -> None:
    world.logs.put_log_events(GROUP, "job/algo-1-1", [(T0_MS + 10, "a1"), (T0_MS + 30, "a3")])
    world.logs.put_log_events(GROUP, "job/algo-2-1", [(T0_MS + 20, "b2"), (T0_MS + 30, "b3")])
    world.clock.advance(1)
    world.logs.put_log_events(GROUP, "job/algo-1-1", [(T0_MS + 30, "a3-later")])
    response = filter_(world, interleaved=False)  # ignored: always interleaved
    assert [(e["logStreamName"], e["message"]) for e in response["events"]] == [
        ("job/algo-1-1", "a1"), ("job/algo-2-1", "b2"), ("job/algo-1-1", "a3"), ("job/algo-2-1", "b3"),
        ("job/algo-1-1", "a3-later")]
    assert response["searchedLogStreams"] == [] and "nextToken" not in response
    ids = [e["eventId"] for e in response["events"]]
    assert len(set(ids)) == 5 and all(len(i) == 56 and i.isdigit() for i in ids)
    assert response["events"][-1]["ingestionTime"] == T0_MS + 1000


def test_filter_log_events_selects_streams_by_name_or_prefix(world: World) -> None:
    for name in ["job-a/algo-1-1", "job-a/algo-2-1", "job-b/algo-1-1"]:
        world.logs.put_log_events(GROUP, name, [(T0_MS, name)])

    def streams(**request: Any) -> list[str]:
        return [e["logStreamName"] for e in filter_(world, **request)["events"]]

    assert streams(logStreamNamePrefix="job-a/") == ["job-a/algo-1-1", "job-a/algo-2-1"]
    assert streams(logStreamNames=["job-b/algo-1-1", "missing"]) == ["job-b/algo-1-1"]
    error = error_of(world, "FilterLogEvents", logGroupName=GROUP, logStreamNames=["x"], logStreamNamePrefix="x")
    assert error.code == "InvalidParameterException"


def test_filter_log_events_window_includes_both_ends(world: World) -> None:
    put_numbered(world, "s", 10)
    response = filter_(world, startTime=T0_MS + 20, endTime=T0_MS + 50)
    assert messages(response) == ["s 2", "s 3", "s 4", "s 5"]


@pytest.mark.parametrize(("pattern", "expected"), [
    ("", ["ERROR disk full", "WARN slow", "[ERROR] Exiting with ERRORCODE: -1", "epoch 1 loss=0.5"]),
    ("ERROR", ["ERROR disk full", "[ERROR] Exiting with ERRORCODE: -1"]),
    ("ERROR Exiting", ["[ERROR] Exiting with ERRORCODE: -1"]),
    ('"disk full"', ["ERROR disk full"]),
    ('"full disk"', []),
    ("?WARN ?Exiting", ["WARN slow", "[ERROR] Exiting with ERRORCODE: -1"]),
    ("ERROR -Exiting", ["ERROR disk full"]),
    ("error", []),  # case-sensitive
    ("%loss=[0-9.]+%", ["epoch 1 loss=0.5"]),
])
def test_filter_patterns(world: World, pattern: str, expected: list[str]) -> None:
    lines = ["ERROR disk full", "WARN slow", "[ERROR] Exiting with ERRORCODE: -1", "epoch 1 loss=0.5"]
    world.logs.put_log_events(GROUP, "s", [(T0_MS + i, line) for i, line in enumerate(lines)])
    assert messages(filter_(world, filterPattern=pattern)) == expected


def test_unsupported_filter_patterns_are_refused_not_ignored() -> None:
    for pattern in ['{ $.level = "ERROR" }', "[ip, user]", '"unterminated']:
        with pytest.raises(AwsError) as caught:
            compile_filter_pattern(pattern)
        assert caught.value.code == "InvalidParameterException"


def test_filter_log_events_limit_and_next_token(world: World) -> None:
    put_numbered(world, "a", 5)
    put_numbered(world, "b", 5)
    first = filter_(world, limit=4)
    assert messages(first) == ["a 0", "b 0", "a 1", "b 1"]
    second = filter_(world, limit=4, nextToken=first["nextToken"])
    assert messages(second) == ["a 2", "b 2", "a 3", "b 3"]
    third = filter_(world, limit=4, nextToken=second["nextToken"])
    assert messages(third) == ["a 4", "b 4"] and "nextToken" not in third


def test_filter_log_events_newest_first(world: World) -> None:
    put_numbered(world, "a", 3)
    put_numbered(world, "b", 3)
    first = filter_(world, startFromHead=False, startTime=T0_MS, limit=4)
    assert messages(first) == ["b 2", "a 2", "b 1", "a 1"]
    put_numbered(world, "a", 1, start=3)  # newer than the position: not part of a newest-first walk's rest
    # The token's direction wins over startFromHead ("If you provide both ..., the direction of the nextToken").
    rest = filter_(world, startFromHead=True, startTime=T0_MS, nextToken=first["nextToken"])
    assert messages(rest) == ["b 0", "a 0"] and "nextToken" not in rest


def test_filter_log_events_newest_first_needs_a_start_time_from_2024(world: World) -> None:
    put_numbered(world, "a", 1)
    assert error_of(world, "FilterLogEvents", logGroupName=GROUP, startFromHead=False).code == (
        "InvalidParameterException")
    error = error_of(world, "FilterLogEvents", logGroupName=GROUP, startFromHead=False, startTime=1_700_000_000_000)
    assert error.code == "InvalidParameterException"


def test_filter_log_events_reads_a_lagging_stream_completely(world: World) -> None:
    """Per-stream positions: a stream whose new events are older than what another stream returned is not cut."""
    world.logs.put_log_events(GROUP, "fast", [(T0_MS + 100, "fast 100"), (T0_MS + 200, "fast 200")])
    world.logs.put_log_events(GROUP, "slow", [(T0_MS + 50, "slow 50")])
    first = filter_(world, limit=2)
    assert messages(first) == ["slow 50", "fast 100"]
    world.logs.put_log_events(GROUP, "slow", [(T0_MS + 150, "slow 150")])
    world.logs.put_log_events(GROUP, "late", [(T0_MS + 10, "late 10")])  # a stream created after the first page
    rest = filter_(world, limit=10, nextToken=first["nextToken"])
    assert messages(rest) == ["late 10", "slow 150", "fast 200"]


def test_filter_log_events_rejects_garbage_tokens(world: World) -> None:
    put_numbered(world, "a", 1)
    for bad in ["garbage", "eyJ2IjoxfQ"]:  # the second is base64 JSON without positions
        error = error_of(world, "FilterLogEvents", logGroupName=GROUP, nextToken=bad)
        assert (error.code, error.message) == ("InvalidParameterException", "The specified nextToken is invalid.")


def test_filter_log_events_pages_hold_at_most_one_megabyte(world: World) -> None:
    message = "y" * 998
    world.logs.put_log_events(GROUP, "a", [(T0_MS + i, message) for i in range(1_500)])
    first = filter_(world)
    assert len(first["events"]) == 1_024 and "nextToken" in first
    assert len(filter_(world, nextToken=first["nextToken"])["events"]) == 1_500 - 1_024


# -- many events, appended between pages ---------------------------------------------------------------------------


STREAMS = ["job/algo-1-1700000000", "job/algo-2-1700000000", "job/algo-3-1700000000", "job/algo-4-1700000000"]
LAGGING = "job/algo-5-1700000000"


def produce(world: World, rounds: range, *, per_round: int = 50) -> list[tuple[int, str, str]]:
    """Every stream writes ``per_round`` events per round, sharing timestamps across streams; returns them."""
    written: list[tuple[int, str, str]] = []
    for round_ in rounds:
        for number, stream in enumerate(STREAMS):
            batch = [(T0_MS + round_ * 100 + i // 2, f"{stream} r{round_} e{i}") for i in range(per_round)]
            if number == 3 and round_ % 2:
                batch = batch[: per_round // 2]  # streams write at different rates
            world.logs.put_log_events(GROUP, stream, batch)
            written += [(timestamp, stream, message) for timestamp, message in batch]
    return written


def test_filter_paging_over_more_than_10000_events_with_appends_between_pages(world: World) -> None:
    written = produce(world, range(60))  # 60 x 175 = 10,500 events
    assert len(written) > 10_000
    seen: list[dict[str, Any]] = []
    response = filter_(world, logStreamNamePrefix="job/")
    pages = 0
    for _ in range(1_000):  # bounded: a token that never repeats must fail, not hang
        pages += 1
        assert len(response["events"]) <= 10_000
        stamps = [e["timestamp"] for e in response["events"]]
        assert stamps == sorted(stamps), "a page is merged in time order"
        seen += response["events"]
        if "nextToken" not in response:
            break
        if pages < 6:
            written += produce(world, range(60 + pages * 2, 62 + pages * 2), per_round=10)
            # A lagging stream: its events lie before the position already reached in the merged order, so a
            # token holding an offset (or a single position) would repeat or skip events.
            lagging = [(T0_MS + pages * 300 + i, f"{LAGGING} p{pages} e{i}") for i in range(40)]
            world.logs.put_log_events(GROUP, LAGGING, lagging)
            written += [(timestamp, LAGGING, message) for timestamp, message in lagging]
        response = filter_(world, logStreamNamePrefix="job/", limit=150, nextToken=response["nextToken"])
    else:
        pytest.fail("paging did not end")
    assert pages >= 7
    ids = [e["eventId"] for e in seen]
    assert len(ids) == len(set(ids)), "an event was returned twice"
    assert sorted((e["timestamp"], e["logStreamName"], e["message"]) for e in seen) == sorted(written)


def test_get_log_events_forward_paging_over_every_stream_with_appends(world: World) -> None:
    written = produce(world, range(60))
    tokens: dict[str, str | None] = dict.fromkeys(STREAMS)
    seen: dict[str, list[str]] = {stream: [] for stream in STREAMS}
    for step in range(1_000):  # bounded: a token that never repeats must fail, not hang
        moved = False
        for stream in STREAMS:
            request: dict[str, Any] = {"startFromHead": True, "limit": 1_000}
            if tokens[stream] is not None:
                request["nextToken"] = tokens[stream]
            response = get(world, stream, **request)
            seen[stream] += messages(response)
            moved |= response["nextForwardToken"] != tokens[stream]
            tokens[stream] = response["nextForwardToken"]
        if step < 4:
            written += produce(world, range(100 + step, 101 + step), per_round=7)
        elif not moved:
            break
    else:
        pytest.fail("paging did not end")
    for stream in STREAMS:
        assert seen[stream] == [m for _, s, m in sorted(written, key=lambda w: w[0]) if s == stream]


def test_get_log_events_never_repeats_an_event_when_an_older_one_is_inserted(world: World) -> None:
    put_numbered(world, "s", 10)
    first = get(world, startFromHead=True, limit=5)
    assert messages(first) == [f"s {i}" for i in range(5)]
    world.logs.put_log_events(GROUP, "s", [(T0_MS + 1, "late")])  # sorts before the position: a shifted offset
    rest = get(world, startFromHead=True, nextToken=first["nextForwardToken"])
    assert messages(rest) == [f"s {i}" for i in range(5, 10)]


def test_store_handles_many_events_quickly(world: World) -> None:
    """A guard against quadratic paging: 40,000 events read through FilterLogEvents in well under a second."""
    import time

    for stream in STREAMS:
        put_numbered(world, stream, 10_000, every_ms=1)
    began = time.perf_counter()
    count = 0
    response = filter_(world)
    for _ in range(1_000):  # bounded: a token that never repeats must fail, not hang
        count += len(response["events"])
        if "nextToken" not in response:
            break
        response = filter_(world, nextToken=response["nextToken"])
    else:
        pytest.fail("paging did not end")
    assert count == 40_000
    assert time.perf_counter() - began < 5


# -- PutLogEvents --------------------------------------------------------------------------------------------------


def put(world: World, events: list[tuple[int, str]], **request: Any) -> dict[str, Any]:
    return call(world, "PutLogEvents", logGroupName=GROUP, logStreamName="s",
                logEvents=[{"timestamp": t, "message": m} for t, m in events], **request)


@pytest.fixture
def stream_ready(world: World) -> Iterator[None]:
    call(world, "CreateLogGroup", logGroupName=GROUP)
    call(world, "CreateLogStream", logGroupName=GROUP, logStreamName="s")
    yield


@pytest.mark.usefixtures("stream_ready")
def test_put_log_events_stores_and_ignores_sequence_tokens(world: World) -> None:
    first = put(world, [(T0_MS, "a"), (T0_MS, "b")])
    second = put(world, [(T0_MS + 1, "c")], sequenceToken="whatever")
    assert first["nextSequenceToken"] != second["nextSequenceToken"]
    assert "rejectedLogEventsInfo" not in first
    assert messages(get(world, startFromHead=True)) == ["a", "b", "c"]


@pytest.mark.usefixtures("stream_ready")
def test_put_log_events_needs_chronological_order(world: World) -> None:
    with pytest.raises(AwsError) as caught:
        put(world, [(T0_MS + 1, "b"), (T0_MS, "a")])
    assert (caught.value.code, caught.value.message) == (
        "InvalidParameterException", "Log events in a single PutLogEvents request must be in chronological order.")
    assert get(world)["events"] == []


@pytest.mark.usefixtures("stream_ready")
def test_put_log_events_rejects_too_old_and_too_new_events(world: World) -> None:
    day = 24 * 3600 * 1000
    response = put(world, [(T0_MS - 15 * day, "old0"), (T0_MS - 14 * day - 1, "old1"), (T0_MS, "ok"),
                           (T0_MS + 2 * 3600 * 1000 + 1, "new3")])
    assert response["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 1, "tooNewLogEventStartIndex": 3}
    assert messages(get(world)) == ["ok"]


@pytest.mark.usefixtures("stream_ready")
def test_put_log_events_batch_may_not_span_more_than_a_day(world: World) -> None:
    with pytest.raises(AwsError) as caught:
        put(world, [(T0_MS - 24 * 3600 * 1000 - 1, "a"), (T0_MS, "b")])
    assert caught.value.message == (
        "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")


@pytest.mark.usefixtures("stream_ready")
def test_put_log_events_batch_size_limit(world: World) -> None:
    with pytest.raises(AwsError) as caught:
        put(world, [(T0_MS, "z" * 1_048_551)])  # 1,048,551 + 26 bytes
    assert caught.value.code == "InvalidParameterException"
    put(world, [(T0_MS, "z" * 1_048_550)])


def test_put_log_events_needs_an_existing_group_and_stream(world: World) -> None:
    with pytest.raises(AwsError) as caught:
        put(world, [(T0_MS, "a")])
    assert caught.value.message == "The specified log group does not exist."
    call(world, "CreateLogGroup", logGroupName=GROUP)
    with pytest.raises(AwsError) as caught:
        put(world, [(T0_MS, "a")])
    assert (caught.value.code, caught.value.message) == (
        "ResourceNotFoundException", "The specified log stream does not exist.")
