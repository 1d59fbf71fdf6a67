"""How AWS failures are worded for the user (botocore's real exception objects, as the clients raise them)."""

from __future__ import annotations

from botocore.exceptions import ClientError, EndpointConnectionError

from smk8s.smlogs.errors import from_aws, is_not_found, no_logs
from smk8s.smlogs.kinds import TRAINING


def client_error(code: str, message: str, status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, "GetLogEvents")


def test_access_denied_names_the_permission_and_whose_credentials_lack_it() -> None:
    denied = client_error("AccessDeniedException", "User: arn:aws:iam::1:user/u is not authorized to perform: "
                                                   "logs:GetLogEvents")
    error = from_aws(denied, "logs", "GetLogEvents")
    assert error is not None
    text = str(error)
    assert "the AWS credentials of the user running kubectl smlogs are not allowed logs:GetLogEvents" in text
    assert "User: arn:aws:iam::1:user/u" in text


def test_authentication_failures_are_access_problems_too() -> None:
    error = from_aws(client_error("UnrecognizedClientException", "The security token is invalid"), "logs",
                     "DescribeLogStreams")
    assert error is not None and "not allowed logs:DescribeLogStreams" in str(error)


def test_other_failures_name_the_call() -> None:
    error = from_aws(client_error("ServiceUnavailableException", "down", 503), "logs", "GetLogEvents")
    assert error is not None and str(error).startswith("logs:GetLogEvents failed:")
    unreachable = from_aws(EndpointConnectionError(endpoint_url="http://x"), "sagemaker", "DescribeTrainingJob")
    assert unreachable is not None and "sagemaker:DescribeTrainingJob failed" in str(unreachable)


def test_programming_errors_are_not_swallowed() -> None:
    assert from_aws(KeyError("x"), "logs", "GetLogEvents") is None


def test_not_found_answers() -> None:
    assert is_not_found(client_error("ResourceNotFoundException", "The specified log group does not exist."),
                        "DescribeLogStreams")
    assert is_not_found(client_error("ValidationException", "Requested resource not found."), "DescribeTrainingJob")
    assert not is_not_found(client_error("ValidationException", "bad"), "DescribeTrainingJob")


def test_no_logs_suggests_following_only_while_the_job_runs() -> None:
    running = str(no_logs(TRAINING, "j", "j/", "InProgress/Starting"))
    assert "the job's status is InProgress/Starting" in running and "-f waits" in running
    assert "-f waits" not in str(no_logs(TRAINING, "j", "j/", "Failed"))
