"""Request routing and response serialization for the JSON 1.1 and query protocols, checked with botocore's own
serializers and parsers (what a real client sends and expects)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from botocore import parsers, serialize

from smk8s.emulators.aws import protocol
from smk8s.emulators.aws.errors import AwsError


@pytest.mark.parametrize(
    ("target", "service", "operation"),
    [
        ("SageMaker.DescribeTrainingJob", "sagemaker", "DescribeTrainingJob"),
        ("Logs_20140328.GetLogEvents", "logs", "GetLogEvents"),
        ("AnyScaleFrontendService.DescribeScalableTargets", "application-autoscaling", "DescribeScalableTargets"),
    ],
)
def test_json_routing_by_target(target: str, service: str, operation: str) -> None:
    parsed = protocol.parse_json_request(target, b'{"A": 1}')
    assert (parsed.service, parsed.operation, parsed.params, parsed.protocol) == (service, operation, {"A": 1}, "json")


def test_empty_json_body_is_no_members() -> None:
    assert protocol.parse_json_request("SageMaker.ListTrainingJobs", b"").params == {}


@pytest.mark.parametrize("target", ["SageMaker.NoSuchOperation", "DynamoDB_20120810.ListTables", "SageMaker", ""])
def test_unknown_operation_is_coral_unknown_operation(target: str) -> None:
    # aws-sdk-net#1536 / aws-sdk-go#3689: HTTP 400, __type UnknownOperationException, no message.
    with pytest.raises(AwsError) as caught:
        protocol.parse_json_request(target, b"{}")
    err = caught.value
    assert (err.code, err.status) == ("com.amazon.coral.service#UnknownOperationException", 400)
    assert json.loads(protocol.json_error_body(err)) == {"__type": "com.amazon.coral.service#UnknownOperationException"}


@pytest.mark.parametrize("body", [b"{not json", b"[1]", b"\xff"])
def test_malformed_json_is_serialization_exception(body: bytes) -> None:
    with pytest.raises(AwsError) as caught:
        protocol.parse_json_request("SageMaker.ListTrainingJobs", body)
    assert caught.value.code == "SerializationException"


def test_json_error_parsed_by_botocore() -> None:
    body = protocol.json_error_body(AwsError("ResourceNotFound", "Amazon SageMaker can't find a tuning job"))
    parsed = parsers.JSONParser().parse(
        {"status_code": 400, "headers": {}, "body": body}, protocol.service_model("sagemaker").operation_model(
            "DescribeHyperParameterTuningJob"
        ).output_shape
    )
    assert parsed["Error"] == {"Code": "ResourceNotFound", "Message": "Amazon SageMaker can't find a tuning job"}


def test_json_body_converts_datetimes_and_bytes() -> None:
    when = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert json.loads(protocol.json_body({"T": when, "B": b"\x00"})) == {"T": when.timestamp(), "B": "AA=="}


def _serialized(operation: str, params: dict[str, object]) -> bytes:
    op = protocol.service_model("sts").operation_model(operation)
    request = serialize.create_serializer("query").serialize_to_request(params, op)
    body = request["body"]
    return body if isinstance(body, bytes) else urlencode(body).encode()


def test_query_request_round_trips_botocore_serialization() -> None:
    params = {
        "RoleArn": "arn:aws:iam::123456789012:role/r",
        "RoleSessionName": "session",
        "PolicyArns": [{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}, {"arn": "arn:aws:iam::aws:policy/X"}],
        "DurationSeconds": 900,
        "Tags": [{"Key": "k", "Value": "v"}],
        "TransitiveTagKeys": ["k"],
    }
    body = _serialized("AssumeRole", params)
    assert protocol.is_query_request({"Content-Type": "application/x-www-form-urlencoded"}, {}, body)
    parsed = protocol.parse_query_request({}, body)
    assert (parsed.service, parsed.operation, parsed.protocol) == ("sts", "AssumeRole", "query")
    assert parsed.params == params


def test_query_request_from_url_query_string() -> None:
    parsed = protocol.parse_query_request({"Action": "GetCallerIdentity", "Version": "2011-06-15"}, b"")
    assert (parsed.operation, parsed.params) == ("GetCallerIdentity", {})


def test_json_request_with_target_is_never_query() -> None:
    assert not protocol.is_query_request({"X-Amz-Target": "SageMaker.ListTrainingJobs"}, {"Action": "x"}, b"")


def test_unknown_and_missing_action() -> None:
    with pytest.raises(AwsError) as caught:
        protocol.parse_query_request({}, b"Action=NoSuchThing&Version=2011-06-15")
    assert (caught.value.code, caught.value.message) == (
        "InvalidAction",
        "Could not find operation NoSuchThing for version 2011-06-15",
    )
    with pytest.raises(AwsError) as caught:
        protocol.parse_query_request({}, b"Version=2011-06-15")
    assert caught.value.code == "MissingAction"


def test_query_response_parsed_by_botocore() -> None:
    op = protocol.service_model("sts").operation_model("AssumeRoleWithWebIdentity")
    result = {
        "Credentials": {
            "AccessKeyId": "ASIAEXAMPLE",
            "SecretAccessKey": "secret",
            "SessionToken": "token<&>",
            "Expiration": 1_700_000_000.0,
        },
        "SubjectFromWebIdentityToken": "system:serviceaccount:ns:sa",
        "AssumedRoleUser": {"AssumedRoleId": "AROAEXAMPLE:s", "Arn": "arn:aws:sts::123456789012:assumed-role/r/s"},
        "Audience": "sts.amazonaws.com",
    }
    body = protocol.query_response_body(op, result, "req-1")
    parsed = parsers.QueryParser().parse({"status_code": 200, "headers": {}, "body": body}, op.output_shape)
    assert parsed["Credentials"]["SessionToken"] == "token<&>"
    assert parsed["Credentials"]["Expiration"] == datetime.fromtimestamp(1_700_000_000, UTC)
    assert parsed["AssumedRoleUser"] == result["AssumedRoleUser"]
    assert parsed["SubjectFromWebIdentityToken"] == "system:serviceaccount:ns:sa"
    assert parsed["ResponseMetadata"]["RequestId"] == "req-1"


def test_query_error_parsed_by_botocore() -> None:
    body = protocol.query_error_body(AwsError("InvalidIdentityToken", "bad <token>"), "req-2")
    parsed = parsers.QueryParser().parse({"status_code": 400, "headers": {}, "body": body}, None)
    assert parsed["Error"] == {"Type": "Sender", "Code": "InvalidIdentityToken", "Message": "bad <token>"}
    assert parsed["ResponseMetadata"]["RequestId"] == "req-2"
    server = protocol.query_error_body(AwsError("InternalFailure", "x", 500), "r")
    assert b"<Type>Receiver</Type>" in server


def test_iso8601() -> None:
    assert protocol.iso8601(0) == "1970-01-01T00:00:00Z"
