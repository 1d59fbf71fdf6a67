"""Server-side validation from botocore's models, in the format Coral services answer (see validation.py)."""

from __future__ import annotations

from typing import Any

import pytest

from smk8s.emulators.aws.errors import AwsError
from smk8s.emulators.aws.protocol import operation_model
from smk8s.emulators.aws.validation import compile_java_regex, java_regex, member_path, render, validate_input


def error_for(service: str, operation: str, params: dict[str, Any]) -> AwsError:
    op = operation_model(service, operation)
    assert op is not None
    with pytest.raises(AwsError) as caught:
        validate_input(service, op, params)
    return caught.value


def test_valid_input_passes() -> None:
    op = operation_model("sagemaker", "DescribeTrainingJob")
    assert op is not None
    validate_input("sagemaker", op, {"TrainingJobName": "job-1", "UnknownMember": 1})  # unknown members ignored


def test_pattern_violation_names_member_and_pattern_as_sagemaker_does() -> None:
    err = error_for("sagemaker", "DescribeTrainingJob", {"TrainingJobName": "a_b"})
    pattern = operation_model("sagemaker", "DescribeTrainingJob").input_shape.members["TrainingJobName"].metadata[  # type: ignore[union-attr]
        "pattern"
    ]
    assert (err.code, err.status) == ("ValidationException", 400)
    assert err.message == (
        "1 validation error detected: Value 'a_b' at 'trainingJobName' failed to satisfy constraint: "
        f"Member must satisfy regular expression pattern: {pattern}"
    )


def test_missing_required_member_is_value_null() -> None:
    err = error_for("sagemaker", "DescribeTrainingJob", {})
    assert err.message == (
        "1 validation error detected: Value null at 'trainingJobName' failed to satisfy constraint: "
        "Member must not be null"
    )


def test_several_errors_are_counted_and_joined_with_semicolons() -> None:
    err = error_for("sagemaker", "ListTrainingJobs", {"MaxResults": 0, "SortBy": "Bad"})
    assert err.message.startswith("2 validation errors detected: ")
    problems = err.message.removeprefix("2 validation errors detected: ").split("; ")
    assert problems == [
        "Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1",
        "Value 'Bad' at 'sortBy' failed to satisfy constraint: "
        "Member must satisfy enum value set: [Name, CreationTime, Status]",
    ]


def test_range_maximum_and_string_length() -> None:
    err = error_for("sagemaker", "ListTrainingJobs", {"MaxResults": 101, "NextToken": "x" * 8193})
    expected = "Value '101' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to"
    assert expected + " 100" in err.message
    assert "at 'nextToken' failed to satisfy constraint: Member must have length less than or equal to 8192" in (
        err.message
    )


def test_nested_members_and_list_items_use_coral_paths() -> None:
    params = {
        "TrainingJobName": "job",
        "RoleArn": "arn:aws:iam::123456789012:role/r",
        "AlgorithmSpecification": {"TrainingImage": "img"},
        "OutputDataConfig": {"S3OutputPath": "s3://b/p"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 60},
        "Tags": [{"Key": "k", "Value": "v"}, {"Value": "v"}],
    }
    err = error_for("sagemaker", "CreateTrainingJob", params)
    assert "Value null at 'algorithmSpecification.trainingInputMode' failed to satisfy constraint: " in err.message
    assert "Value null at 'tags.2.member.key' failed to satisfy constraint: Member must not be null" in err.message
    assert "tags.1" not in err.message


def test_map_values_are_reported_once_per_map() -> None:
    params = {"TrainingJobName": "job", "HyperParameters": {"a": "x" * 2501, "b": "y" * 2501}}
    op = operation_model("sagemaker", "CreateTrainingJob")
    assert op is not None
    with pytest.raises(AwsError) as caught:
        validate_input("sagemaker", op, params)
    assert caught.value.message.count("at 'hyperParameters' failed to satisfy constraint: Map value must satisfy") == 1
    assert "Member must have length less than or equal to 2500" in caught.value.message


def test_logs_answers_invalid_parameter_exception() -> None:
    # Body captured from the real service in fluent-plugin-cloudwatch-logs#116.
    err = error_for("logs", "GetLogEvents", {"logGroupName": "g", "logStreamName": "s", "nextToken": ""})
    assert err.code == "InvalidParameterException"
    assert err.message == (
        "1 validation error detected: Value '' at 'nextToken' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1"
    )


def test_logs_list_member_paths() -> None:
    # winston-cloudwatch#55 / cloudwatch-logs-centralize-logs#5: 'logEvents.1.member.timestamp'.
    err = error_for(
        "logs", "PutLogEvents", {"logGroupName": "g", "logStreamName": "s", "logEvents": [{"message": "m"}]}
    )
    assert "Value null at 'logEvents.1.member.timestamp' failed to satisfy constraint: Member must not be null" in (
        err.message
    )


def test_autoscaling_and_sts_codes() -> None:
    err = error_for("application-autoscaling", "DescribeScalableTargets", {"ServiceNamespace": "nope"})
    assert err.code == "ValidationException"
    assert "Value 'nope' at 'serviceNamespace' failed to satisfy constraint: Member must satisfy enum value set: [" in (
        err.message
    )
    err = error_for(
        "sts",
        "AssumeRoleWithWebIdentity",
        {"RoleArn": "arn:aws:iam::123456789012:role/r", "RoleSessionName": "s", "WebIdentityToken": "tokentoken"},
    )
    assert err.code == "ValidationError"
    assert "Value 's' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than" in (
        err.message
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (5, "NUMBER_VALUE can not be converted to a String"),
        (True, "TRUE_VALUE can not be converted to a String"),
        ({"a": 1}, "Start of structure or map found where not expected."),
        (["a"], "Start of list found where not expected"),
    ],
)
def test_wrong_json_types_are_serialization_exceptions(value: Any, message: str) -> None:
    err = error_for("sagemaker", "DescribeTrainingJob", {"TrainingJobName": value})
    assert (err.code, err.message) == ("SerializationException", message)


def test_wrong_type_for_numbers_and_structures() -> None:
    assert error_for("sagemaker", "ListTrainingJobs", {"MaxResults": "10"}).code == "SerializationException"
    assert error_for("sagemaker", "ListTrainingJobs", {"MaxResults": True}).code == "SerializationException"
    err = error_for("sagemaker", "CreateTrainingJob", {"TrainingJobName": "j", "ResourceConfig": "big"})
    assert err.code == "SerializationException"


def test_member_paths_and_rendering() -> None:
    assert member_path("", "S3OutputPath") == "s3OutputPath"
    assert member_path("outputDataConfig", "KmsKeyId") == "outputDataConfig.kmsKeyId"
    assert render(None) == "null"
    assert render(["a", 1, True]) == "'[a, 1, true]'"
    assert render({"k": "v"}) == "'{k=v}'"


def test_java_unicode_classes_are_translated() -> None:
    tag_key = compile_java_regex(r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$")
    assert tag_key is not None
    assert tag_key.fullmatch("Team name: ML/ops-1")
    assert tag_key.fullmatch("équipe")
    assert tag_key.fullmatch("a#b") is None
    printable = compile_java_regex(r"\p{Print}+")
    assert printable is not None and printable.fullmatch("policy 1") and printable.fullmatch("tab\t") is None
    arn = compile_java_regex(r"arn:[\p{Alnum}\-]+:lambda:[\p{Alnum}\-]+:[0-9]{12}:function:.*")
    assert arn is not None and arn.fullmatch("arn:aws:lambda:us-west-2:123456789012:function:f")


def test_java_surrogate_pairs_and_quantified_end() -> None:
    xml = compile_java_regex(r"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\r\n\t]*")
    assert xml is not None and xml.fullmatch("endpoint/e/variant/v 😀") and xml.fullmatch("\x01") is None
    assert java_regex(r"([a-z]*)${1,128}") == "([a-z]*)$"
    assert compile_java_regex(r"[\w-_]*") is not None


def test_every_pattern_in_the_models_compiles() -> None:
    import botocore.session

    session = botocore.session.get_session()
    for service in ("sagemaker", "logs", "application-autoscaling", "sts"):
        model = session.get_service_model(service)
        for name in model.shape_names:
            pattern = model.shape_for(name).metadata.get("pattern")
            if pattern is not None:
                assert compile_java_regex(pattern) is not None, (service, name, pattern)
