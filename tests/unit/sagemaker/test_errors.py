"""The classification table: every error code/message the SageMaker layer knows, as botocore raises it."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    CredentialRetrievalError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
)

from smk8s.sagemaker.errors import (
    AccessDeniedError,
    AlreadyExistsError,
    DependencyNotReadyError,
    NotFoundError,
    Principal,
    RetryableError,
    SageMakerError,
    TerminalError,
    ThrottledError,
    classify,
    parse_quota_message,
    quota_can_clear,
)

ACCOUNT = "123456789012"
JOB_ROLE = f"arn:aws:iam::{ACCOUNT}:role/service-role/SageMakerExecution"


def client_error(
    code: str, message: str, operation: str, status: int = 400, *, attempts: int = 0,
    headers: dict[str, str] | None = None,
) -> ClientError:
    """A ClientError exactly as botocore's JSON-protocol parser builds it from an error answer."""
    response: dict[str, Any] = {
        "Error": {"Message": message, "Code": code},
        "ResponseMetadata": {
            "RequestId": "0c8bb2d7-5d4a-4c4e-9a43-2d5a3b1b2f6e",
            "HTTPStatusCode": status,
            "HTTPHeaders": {
                "x-amzn-requestid": "0c8bb2d7-5d4a-4c4e-9a43-2d5a3b1b2f6e",
                "content-type": "application/x-amz-json-1.1",
                "content-length": str(len(message) + 40),
                "date": "Tue, 03 Jun 2025 10:00:00 GMT",
                **(headers or {}),
            },
            "RetryAttempts": attempts,
        },
        "message": message,
    }
    return ClientError(response, operation)


QUOTA = (
    "The account-level service limit '{name}' is {limit} {unit}, with current utilization of {current} {unit} and a "
    "request delta of {delta} {unit}. Please use AWS Service Quotas to request an increase for this quota. If AWS "
    "Service Quotas is not available, contact AWS support to request an increase for this quota."
)


def quota(name: str, limit: int, current: int, delta: int, unit: str = "Jobs") -> str:
    return QUOTA.format(name=name, limit=limit, current=current, delta=delta, unit=unit)


T, R, TH, NF = TerminalError, RetryableError, ThrottledError, NotFoundError
AE, AD = AlreadyExistsError, AccessDeniedError

# (operation, code, message, HTTP status, expected class)
TABLE: list[tuple[str, str, str, int, type[SageMakerError]]] = [
    # not found, per API
    ("DescribeTrainingJob", "ValidationException", "Requested resource not found.", 400, NF),
    ("StopTrainingJob", "ValidationException", "Requested resource not found.", 400, NF),
    ("UpdateTrainingJob", "ValidationException", "Requested resource not found.", 400, NF),
    ("DescribeProcessingJob", "ValidationException", "Could not find requested job with name p1", 400, NF),
    ("StopProcessingJob", "ValidationException", "Could not find requested job with name p1", 400, NF),
    ("DescribeTransformJob", "ValidationException", "Could not find requested job with name t1", 400, NF),
    ("StopTransformJob", "ValidationException", "Could not find requested job with name t1", 400, NF),
    ("DescribeHyperParameterTuningJob", "ResourceNotFound",
     "Amazon SageMaker can't find a tuning job with name h1", 400, NF),
    ("StopHyperParameterTuningJob", "ResourceNotFound", "Amazon SageMaker can't find a tuning job with name h1", 400,
     NF),
    ("ListTrainingJobsForHyperParameterTuningJob", "ResourceNotFound",
     "Amazon SageMaker can't find a tuning job with name h1", 400, NF),
    ("DescribeModel", "ValidationException", f'Could not find model "arn:aws:sagemaker:us-west-2:{ACCOUNT}:model/m".',
     400, NF),
    ("DescribeEndpointConfig", "ValidationException",
     f'Could not find endpoint configuration "arn:aws:sagemaker:us-west-2:{ACCOUNT}:endpoint-config/c".', 400, NF),
    ("DescribeEndpoint", "ValidationException",
     f'Could not find endpoint "arn:aws:sagemaker:us-west-2:{ACCOUNT}:endpoint/e".', 400, NF),
    ("AddTags", "ValidationException", "Requested resource not found: arn:aws:sagemaker:us-west-2:1:training-job/x",
     400, NF),
    ("ListTags", "ValidationException", "Requested resource not found: arn:aws:sagemaker:us-west-2:1:training-job/x",
     400, NF),
    # ...but only where that API says it that way: any other ValidationException on a Describe is a real error
    ("DescribeTransformJob", "ValidationException",
     "1 validation error detected: Value 'bad name!' at 'transformJobName' failed to satisfy constraint: Member must "
     "satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", 400, T),
    ("DescribeProcessingJob", "ValidationException", "Requested resource not found.", 400, T),
    # on a Create, "not found" is about something the request refers to: it may appear (another object creates it)
    ("CreateTransformJob", "ValidationException",
     f'Could not find model "arn:aws:sagemaker:us-west-2:{ACCOUNT}:model/m".', 400, R),
    ("CreateHyperParameterTuningJob", "ResourceNotFound", "Amazon SageMaker can't find a tuning job with name w", 400,
     R),
    # name conflicts
    ("CreateTrainingJob", "ResourceInUse",
     "Training job names must be unique within an AWS account and region, and a training job with this name already "
     f"exists (arn:aws:sagemaker:us-west-2:{ACCOUNT}:training-job/j1)", 400, AE),
    ("CreateHyperParameterTuningJob", "ResourceInUse", "Hyperparameter tuning job names must be unique", 400, AE),
    ("CreateModel", "ValidationException",
     f'Cannot create already existing model "arn:aws:sagemaker:us-west-2:{ACCOUNT}:model/m".', 400, AE),
    ("DeleteModel", "ResourceInUse", "Model m is in use", 400, T),
    # invalid requests
    ("CreateTrainingJob", "ValidationException",
     "1 validation error detected: Value 'arn:aws:iam::1:role' at 'roleArn' failed to satisfy constraint: Member must "
     "satisfy regular expression pattern: ^arn:aws[a-z\\-]*:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+$", 400, T),
    ("CreateTrainingJob", "ValidationException", "MaxWaitTimeInSeconds can only be set when EnableManagedSpotTraining "
     "is true", 400, T),
    ("StopTrainingJob", "ValidationException", "The request was rejected because the training job is in status "
     "Completed.", 400, T),
    ("CreateTrainingJob", "InvalidParameterValue", "bad", 400, T),
    ("CreateTrainingJob", "NotImplementedException", "not implemented", 501, T),
    # quotas
    ("CreateTrainingJob", "ResourceLimitExceeded", quota("Number of concurrent training jobs", 50, 50, 1), 400, R),
    ("CreateProcessingJob", "ResourceLimitExceeded", quota("Number of concurrent processing jobs", 50, 50, 1), 400, R),
    ("CreateTransformJob", "ResourceLimitExceeded", quota("Number of concurrent transform jobs", 50, 50, 1), 400, R),
    ("CreateHyperParameterTuningJob", "ResourceLimitExceeded",
     quota("Number of concurrent hyperparameter tuning jobs", 100, 100, 1), 400, R),
    ("CreateTrainingJob", "ResourceLimitExceeded",
     quota("ml.p3.2xlarge for training job usage", 4, 4, 2, "Instances"), 400, R),
    ("CreateTrainingJob", "ResourceLimitExceeded",
     quota("ml.p4d.24xlarge for training job usage", 0, 0, 1, "Instances"), 400, T),
    ("CreateTrainingJob", "ResourceLimitExceeded",
     quota("ml.p3.2xlarge for training job usage", 4, 0, 8, "Instances"), 400, T),
    ("CreateHyperParameterTuningJob", "ResourceLimitExceeded",
     quota("Maximum number of training jobs per hyperparameter tuning job", 750, 0, 1000), 400, T),
    ("CreateHyperParameterTuningJob", "ResourceLimitExceeded",
     quota("Maximum number of concurrent training jobs per hyperparameter tuning job", 100, 0, 101), 400, T),
    ("CreateEndpoint", "ResourceLimitExceeded", quota("Number of endpoints", 100, 100, 1, "Endpoints"), 400, T),
    ("AddTags", "ResourceLimitExceeded", "Exceeded the maximum number of tags (50) for resource arn:x", 400, T),
    ("CreateTrainingJob", "ResourceLimitExceeded", "Some limit we have never seen", 400, T),
    # throttling
    ("DescribeTrainingJob", "ThrottlingException", "Rate exceeded", 400, TH),
    ("ListTrainingJobs", "ThrottlingException", "Rate exceeded", 400, TH),
    ("CreateTrainingJob", "TooManyRequestsException", "Too many requests", 429, TH),
    ("AssumeRoleWithWebIdentity", "Throttling", "Rate exceeded", 400, TH),
    ("DescribeTrainingJob", "SomethingNew", "slow down", 429, TH),
    # 5xx
    ("DescribeTrainingJob", "InternalFailure", "An internal error has occurred.", 500, R),
    ("CreateTrainingJob", "ServiceUnavailable", "Service Unavailable", 503, R),
    ("CreateTrainingJob", "InternalServerError", "oops", 500, R),
    ("DescribeTrainingJob", "BadGateway", "", 502, R),
    ("DescribeTrainingJob", "Whatever", "", 599, R),
    ("DescribeTrainingJob", "RequestTimeout", "timed out", 408, R),
    # permissions: the operator's own role
    ("CreateTrainingJob", "AccessDeniedException",
     f"User: arn:aws:sts::{ACCOUNT}:assumed-role/smk8s-operator/botocore-session-1 is not authorized to perform: "
     f"sagemaker:CreateTrainingJob on resource: arn:aws:sagemaker:us-west-2:{ACCOUNT}:training-job/j1 because no "
     "identity-based policy allows the sagemaker:CreateTrainingJob action", 400, AD),
    ("DescribeTrainingJob", "UnrecognizedClientException", "The security token included in the request is invalid.",
     400, AD),
    ("DescribeTrainingJob", "InvalidSignatureException", "The request signature we calculated does not match", 400,
     AD),
    ("DescribeTrainingJob", "ExpiredTokenException", "The security token included in the request is expired", 400,
     AD),
    ("AssumeRoleWithWebIdentity", "InvalidIdentityToken", "The ID Token provided is not a valid JWT.", 400, AD),
    # permissions: the job's roleArn, which SageMaker could not use
    ("CreateTrainingJob", "ValidationException",
     f"Could not assume role {JOB_ROLE}. Please ensure that the role exists and allows principal "
     "'sagemaker.amazonaws.com' to assume the role.", 400, AD),
    ("CreateTrainingJob", "ValidationException",
     f"Access denied for repository: xgboost in registry ID: {ACCOUNT}. Please check if your ECR repository and image "
     f"exist and role {JOB_ROLE} has proper pull permissions for SageMaker: ecr:BatchCheckLayerAvailability, "
     "ecr:BatchGetImage, ecr:GetDownloadUrlForLayer", 400, AD),
    ("CreateProcessingJob", "ValidationException",
     f"The role {JOB_ROLE} does not have the required permission s3:ListBucket on s3://bucket", 400, AD),
]


@pytest.mark.parametrize(("operation", "code", "message", "status", "expected"), TABLE)
def test_classification_table(
    operation: str, code: str, message: str, status: int, expected: type[SageMakerError]
) -> None:
    error = classify(client_error(code, message, operation, status), operation)
    assert type(error) is expected
    assert (error.operation, error.code, error.http_status) == (operation, code, status)
    assert error.request_id == "0c8bb2d7-5d4a-4c4e-9a43-2d5a3b1b2f6e"
    assert error.retryable == (expected not in (T, NF, AE))


def test_operation_comes_from_the_error_when_not_given() -> None:
    error = classify(client_error("ValidationException", "Requested resource not found.", "DescribeTrainingJob"))
    assert isinstance(error, NotFoundError) and error.operation == "DescribeTrainingJob"


@pytest.mark.parametrize(
    ("message", "principal", "role"),
    [
        ("User: arn:aws:sts::1:assumed-role/op/s is not authorized to perform: sagemaker:DescribeTrainingJob",
         Principal.OPERATOR, None),
        (f"User: arn:aws:sts::1:assumed-role/op/s is not authorized to perform: iam:PassRole on resource: {JOB_ROLE}",
         Principal.OPERATOR, None),
    ],
)
def test_access_denied_exception_is_the_operators_role(message: str, principal: Principal, role: str | None) -> None:
    error = classify(client_error("AccessDeniedException", message, "CreateTrainingJob"), "CreateTrainingJob")
    assert isinstance(error, AccessDeniedError)
    assert (error.principal, error.role_arn) == (principal, role)
    assert "operator's IAM role" in str(error)


def test_job_role_errors_name_the_role() -> None:
    message = (f"Could not assume role {JOB_ROLE}. Please ensure that the role exists and allows principal "
               "'sagemaker.amazonaws.com' to assume the role.")
    error = classify(client_error("ValidationException", message, "CreateTrainingJob"), "CreateTrainingJob")
    assert isinstance(error, AccessDeniedError)
    assert (error.principal, error.role_arn) == (Principal.JOB_ROLE, JOB_ROLE)
    assert f"the job's roleArn {JOB_ROLE}" in str(error)


def test_throttled_errors_suggest_a_delay() -> None:
    first = classify(client_error("ThrottlingException", "Rate exceeded", "DescribeTrainingJob", attempts=0))
    later = classify(client_error("ThrottlingException", "Rate exceeded", "DescribeTrainingJob", attempts=2))
    capped = classify(client_error("ThrottlingException", "Rate exceeded", "DescribeTrainingJob", attempts=20))
    assert isinstance(first, ThrottledError) and isinstance(later, ThrottledError) and capped is not None
    assert (first.suggested_delay, later.suggested_delay, capped.suggested_delay) == (2.0, 8.0, 60.0)
    assert later.retry_attempts == 2
    told_ms = classify(
        client_error("ThrottlingException", "x", "ListTrainingJobs", headers={"x-amz-retry-after": "3500"}))
    told_s = classify(
        client_error("TooManyRequestsException", "x", "ListTrainingJobs", 429, headers={"retry-after": "7"}))
    assert isinstance(told_ms, ThrottledError) and isinstance(told_s, ThrottledError)
    assert (told_ms.suggested_delay, told_s.suggested_delay) == (3.5, 7.0)


def test_quota_delay_and_parse() -> None:
    error = classify(client_error(
        "ResourceLimitExceeded", quota("Number of concurrent training jobs", 50, 50, 1), "CreateTrainingJob"))
    assert isinstance(error, RetryableError) and error.suggested_delay == 60.0
    report = parse_quota_message(quota("ml.p3.2xlarge for training job usage", 4, 3, 2, "Instances"))
    assert report is not None and (report.name, report.limit, report.current, report.delta) == (
        "ml.p3.2xlarge for training job usage", 4.0, 3.0, 2.0)
    assert quota_can_clear(quota("Number of concurrent training jobs", 1, 1, 1))
    assert not quota_can_clear("nonsense")


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (ParamValidationError(report="Missing required parameter in input: \"RoleArn\""), T),
        (EndpointConnectionError(endpoint_url="https://api.sagemaker.us-west-2.amazonaws.com/"), R),
        (ConnectionClosedError(endpoint_url="https://api.sagemaker.us-west-2.amazonaws.com/"), R),
        (ReadTimeoutError(endpoint_url="https://api.sagemaker.us-west-2.amazonaws.com/"), R),
        (aiohttp.ServerDisconnectedError(), R),
        (TimeoutError(), R),
        (ConnectionResetError(104, "Connection reset by peer"), R),
        (NoCredentialsError(), AD),
        (CredentialRetrievalError(provider="assume-role-with-web-identity", error_msg="boom"), AD),
    ],
)
def test_non_answer_failures(exc: BaseException, expected: type[SageMakerError]) -> None:
    error = classify(exc, "DescribeTrainingJob")
    assert type(error) is expected
    assert error.operation == "DescribeTrainingJob" and error.code == type(exc).__name__
    if isinstance(error, AccessDeniedError):
        assert error.principal is Principal.OPERATOR


def test_bugs_are_not_classified_and_classified_errors_stay_as_they_are() -> None:
    assert classify(ValueError("bug")) is None
    assert classify(KeyError("bug")) is None
    error = TerminalError("bad", operation="CreateTrainingJob")
    assert classify(error, "Other") is error


def test_application_auto_scaling_answers_that_clear_by_themselves_are_retryable() -> None:
    """RegisterScalableTarget before the endpoint is InService (the text the original operator matched) and
    ConcurrentUpdateException ("Concurrent updates are not allowed", HTTP 400) clear without a spec change."""
    not_ready = classify(client_error(
        "ValidationException", "The status should be in 'InService' to register it as a scalable target.",
        "RegisterScalableTarget"))
    assert isinstance(not_ready, DependencyNotReadyError) and not_ready.retryable
    concurrent = classify(client_error("ConcurrentUpdateException", "Concurrent updates are not allowed",
                                       "PutScalingPolicy"))
    assert isinstance(concurrent, RetryableError) and not isinstance(concurrent, TerminalError)
