"""AWS errors in the JSON 1.1 protocol shape: ``{"__type": CODE, "message": TEXT}`` with the HTTP status.

Every service module raises :class:`AwsError`; the server renders it, so botocore raises the modelled exception
class (``client.exceptions.ResourceNotFound``, ``ClientError`` with ``Error.Code`` ...) exactly as against AWS.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class AwsError(Exception):
    """An error answer: ``code`` is the ``__type`` (e.g. ``ValidationException``), ``status`` the HTTP status."""

    code: str
    message: str
    status: int = 400

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def validation(message: str) -> AwsError:
    return AwsError("ValidationException", message)


def resource_not_found(message: str) -> AwsError:
    """SageMaker's modelled ``ResourceNotFound`` (tuning jobs, ...); other APIs say not-found differently."""
    return AwsError("ResourceNotFound", message)


def resource_in_use(message: str) -> AwsError:
    return AwsError("ResourceInUse", message)


def resource_limit_exceeded(message: str) -> AwsError:
    return AwsError("ResourceLimitExceeded", message)


def throttling(message: str = "Rate exceeded") -> AwsError:
    return AwsError("ThrottlingException", message)


def access_denied(caller_arn: str, action: str) -> AwsError:
    """What IAM answers when the caller's policies do not allow ``action`` (``sagemaker:CreateTrainingJob``): 400
    ``AccessDeniedException`` naming the caller and the action, as in users' reports of real errors, e.g.
    github.com/aws/amazon-sagemaker-feedback/issues/88 ("User: arn:aws:sts::...:assumed-role/... is not authorized
    to perform: sagemaker:AddTags on resource: ... because no ... policy allows the sagemaker:AddTags action")."""
    return AwsError(
        "AccessDeniedException",
        f"User: {caller_arn} is not authorized to perform: {action} because no identity-based policy allows the "
        f"{action} action",
    )


def internal_failure(message: str = "An internal error has occurred.") -> AwsError:
    return AwsError("InternalFailure", message, 500)


def service_unavailable(message: str = "Service Unavailable") -> AwsError:
    return AwsError("ServiceUnavailable", message, 503)
