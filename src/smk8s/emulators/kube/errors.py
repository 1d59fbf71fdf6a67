"""Kubernetes API errors as ``metav1.Status`` objects.

Every failure the emulated API server reports is an :class:`APIError`; the HTTP layer turns it into the JSON
``Status`` body kube-apiserver sends (``kind: Status``, ``status: Failure``, ``reason``, ``code``, ``details``),
so clients (client-go, kubectl, kubernetes-asyncio) classify it exactly as they would a real one.
Reasons and messages follow k8s.io/apimachinery/pkg/api/errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Cause:
    """One ``StatusCause``: what is wrong with which field (``field`` is a dotted path such as ``spec.replicas``)."""

    reason: str
    message: str
    field: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"reason": self.reason, "message": self.message}
        if self.field:
            out["field"] = self.field
        return out


# StatusCause reasons (k8s.io/apimachinery/pkg/util/validation/field/errors.go ErrorType.String()).
FIELD_REQUIRED = "FieldValueRequired"
FIELD_INVALID = "FieldValueInvalid"
FIELD_NOT_SUPPORTED = "FieldValueNotSupported"
FIELD_TYPE_INVALID = "FieldValueTypeInvalid"
FIELD_DUPLICATE = "FieldValueDuplicate"
FIELD_FORBIDDEN = "FieldValueForbidden"
FIELD_TOO_LONG = "FieldValueTooLong"
FIELD_TOO_MANY = "FieldValueTooMany"
FIELD_NOT_FOUND = "FieldValueNotFound"
UNKNOWN_FIELD = "FieldValueUnknown"


@dataclass
class APIError(Exception):
    """An error the API server answers with; ``to_status`` renders the wire form."""

    code: int
    reason: str
    message: str
    group: str = ""
    kind: str = ""
    name: str = ""
    causes: list[Cause] = field(default_factory=list)
    retry_after_seconds: int | None = None
    # ListMeta.continue of the Status: set on a 410 for a compacted continue token (etcd3 store
    # handleCompactedErrorForPaging), a token that resumes the list at the latest revision.
    continue_token: str = ""

    def __str__(self) -> str:
        return f"{self.code} {self.reason}: {self.message}"

    def to_status(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if not self.reason:
            del status["reason"]  # StatusReasonUnknown is "" and Status.reason is omitempty
        if self.continue_token:
            status["metadata"] = {"continue": self.continue_token}
        details: dict[str, Any] = {}
        if self.name:
            details["name"] = self.name
        if self.group:
            details["group"] = self.group
        if self.kind:
            details["kind"] = self.kind
        if self.causes:
            details["causes"] = [c.to_dict() for c in self.causes]
        if self.retry_after_seconds is not None:
            details["retryAfterSeconds"] = self.retry_after_seconds
        if details:
            status["details"] = details
        return status


def _qualified(resource: str, group: str) -> str:
    return f"{resource}.{group}" if group else resource


def not_found(group: str, resource: str, name: str) -> APIError:
    return APIError(404, "NotFound", f'{_qualified(resource, group)} "{name}" not found', group, resource, name)


def already_exists(group: str, resource: str, name: str) -> APIError:
    return APIError(
        409, "AlreadyExists", f'{_qualified(resource, group)} "{name}" already exists', group, resource, name
    )


def conflict(group: str, resource: str, name: str, why: str) -> APIError:
    msg = f'Operation cannot be fulfilled on {_qualified(resource, group)} "{name}": {why}'
    return APIError(409, "Conflict", msg, group, resource, name)


def stale_resource_version(group: str, resource: str, name: str) -> APIError:
    return conflict(
        group,
        resource,
        name,
        "the object has been modified; please apply your changes to the latest version and try again",
    )


def invalid(group: str, kind: str, name: str, causes: list[Cause]) -> APIError:
    """422 Invalid, the message built like ``errors.NewInvalid``: ``Kind "name" is invalid: [field: msg, ...]``."""
    parts = [f"{c.field}: {c.message}" if c.field else c.message for c in causes]
    joined = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    msg = f'{kind}.{group} "{name}" is invalid: {joined}' if group else f'{kind} "{name}" is invalid: {joined}'
    return APIError(422, "Invalid", msg, group, kind, name, list(causes))


def bad_request(message: str) -> APIError:
    return APIError(400, "BadRequest", message)


def forbidden(group: str, resource: str, name: str, why: str) -> APIError:
    return APIError(403, "Forbidden", why, group, resource, name)


def unauthorized(message: str = "Unauthorized") -> APIError:
    return APIError(401, "Unauthorized", message)


def method_not_allowed(
    message: str = "the server does not allow this method on the requested resource",
) -> APIError:
    return APIError(405, "MethodNotAllowed", message)


def gone(message: str) -> APIError:
    """410 Expired: a continue token or resourceVersion older than the server's history."""
    return APIError(410, "Expired", message)


def too_large_resource_version(requested: int, current: int) -> APIError:
    """``storage.NewTooLargeResourceVersionError``: a 504 Timeout (``NewTimeoutError`` prefixes ``Timeout: ``)
    with a ResourceVersionTooLarge cause, retry after 1 s as the cacher asks."""
    return APIError(
        504,
        "Timeout",
        f"Timeout: Too large resource version: {requested}, current: {current}",
        causes=[Cause("ResourceVersionTooLarge", "Too large resource version")],
        retry_after_seconds=1,
    )


def too_many_requests(retry_after_seconds: int = 1) -> APIError:
    return APIError(
        429,
        "TooManyRequests",
        "the server has received too many requests and has asked us to try again later",
        retry_after_seconds=retry_after_seconds,
    )


def internal_error(message: str) -> APIError:
    return APIError(500, "InternalError", f"Internal error occurred: {message}")


def service_unavailable(message: str = "the server is currently unable to handle the request") -> APIError:
    return APIError(503, "ServiceUnavailable", message)


def unsupported_media_type(content_type: str, accepted: list[str]) -> APIError:
    msg = f"the body of the request was in an unknown format - accepted media types include: {', '.join(accepted)}"
    return APIError(415, "UnsupportedMediaType", msg)


def request_entity_too_large(message: str) -> APIError:
    """413, worded as apimachinery's ``NewRequestEntityTooLargeError``."""
    return APIError(413, "RequestEntityTooLarge", f"Request entity too large: {message}")
