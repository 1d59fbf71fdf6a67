"""Every failure of a SageMaker (or Logs / Application Auto Scaling / STS) call, classified once.

The facade (:mod:`smk8s.sagemaker.api`) turns each botocore/aiobotocore failure into exactly one of the classes
below with :func:`classify`; controllers branch on the class and never look at error codes again.

| class | meaning | the controller |
|---|---|---|
| ``TerminalError`` | cannot succeed as written | condition + Warning event; no retry until the spec changes |
| ``AlreadyExistsError`` (Terminal) | name taken on Create | re-describes: ours (our uid tag) or a conflict |
| ``RetryableError`` | 5xx, network, clearing quotas | backs off ``suggested_delay``; condition |
| ``ThrottledError`` (Retryable) | throttled after aiobotocore's retries | backs off at least ``suggested_delay`` |
| ``NotFoundError`` | the named resource is absent | describe -> None; stop -> gone |
| ``AccessDeniedError`` | a permission is missing; ``principal``: whose | condition naming the role; long back-off |

Classification table (first match wins; ``op`` is the API operation):

1. ``ParamValidationError`` (client-side) -> Terminal. ``NoRegionError``/``UnknownEndpointError`` -> Terminal.
2. ``NoCredentialsError``, ``PartialCredentialsError``, ``CredentialRetrievalError`` (the IRSA chain failed) ->
   AccessDenied(operator).
3. connection errors (``HTTPClientError``, ``ConnectionError`` incl. timeouts and dropped connections,
   ``aiohttp.ClientError``, ``asyncio.TimeoutError``, ``OSError``) -> Retryable.
4. ``ClientError`` by code:
   - throttling codes (botocore's list: ``ThrottlingException``, ``Throttling``, ``TooManyRequestsException``, ...)
     or HTTP 429 -> Throttled.
   - not-found, per API (:data:`NOT_FOUND_RULES`): ``ValidationException`` "Requested resource not found" (training
     Describe/Stop/Update, and tags with an ARN), ``ValidationException`` "Could not find requested job" (processing,
     transform), ``ResourceNotFound`` (tuning jobs and any non-Create call), ``ValidationException``
     "Could not find model/endpoint configuration/endpoint" (Describe/Delete of those) -> NotFound. On a Create the
     same answers mean a *dependency* is missing (e.g. CreateTransformJob naming a model not created yet): Retryable
     (the other object may appear; shown as a condition and backed off). A dependency that exists but is not
     ready (:data:`NOT_READY_PHRASES`: Application Auto Scaling's "The status should be in 'InService' to register it
     as a scalable target") -> DependencyNotReady (Retryable).
   - ``AccessDeniedException``/``AccessDenied``/``UnauthorizedOperation`` -> AccessDenied(operator) (the operator's
     IAM role lacks the API permission; a message about ``iam:PassRole`` means it may not pass the job's role).
     Authentication failures (``UnrecognizedClientException``, ``InvalidClientTokenId``, ``InvalidSignatureException``,
     ``SignatureDoesNotMatch``, ``MissingAuthenticationToken[Exception]``, ``IncompleteSignature``,
     ``InvalidIdentityToken``, ``ExpiredToken[Exception]``) -> AccessDenied(operator).
   - ``ValidationException`` about the job's execution role (:data:`JOB_ROLE_PATTERNS`: "Could not assume role",
     "ensure that the role ... exists and allows principal", "Access denied for repository ... role ... pull
     permissions", "... role ... does not have ... permission") -> AccessDenied(job_role).
   - ``ResourceInUse`` on a Create, or ``ValidationException`` "Cannot create already existing ..." ->
     AlreadyExists; ``ResourceInUse`` elsewhere -> Terminal.
   - ``ResourceLimitExceeded`` -> :func:`quota_can_clear` decides Retryable or Terminal (below).
   - transient codes (``InternalFailure``, ``InternalServerError``, ``ServiceUnavailable``, ``RequestTimeout``,
     ``RequestTimeoutException``, ``PriorRequestNotComplete``, ``RequestExpired``, Application Auto Scaling's
     ``ConcurrentUpdateException``) or HTTP 500/502/503/504 ->
     Retryable. Other 5xx -> Retryable, except 501 ``NotImplementedException`` -> Terminal (it never clears).
   - anything else (``ValidationException``, ``InvalidParameterValue``, ``MissingParameter``, ``ConflictException``
     ...) with a 4xx -> Terminal.

Which ``ResourceLimitExceeded`` quotas can clear (:func:`quota_can_clear`). SageMaker's text is "The account-level
service limit '<quota>' is <L> <unit>, with current utilization of <C> <unit> and a request delta of <D> <unit>".
- ``D > L``: the request alone exceeds the quota; waiting never helps -> Terminal (ask for a quota increase, or
  change the spec).
- quotas on things that *run* and end by themselves: concurrent training/processing/transform/tuning jobs, and the
  per-instance-type usage quotas ("ml.p3.2xlarge for training job usage", "... for processing job usage",
  "... for transform job usage") -> Retryable: capacity frees when other jobs finish.
- per-request quotas ("Maximum number of training jobs per hyperparameter tuning job", "Maximum number of concurrent
  training jobs per hyperparameter tuning job", "Maximum total number of instances per endpoint", the 50-tag limit)
  and quotas on things that only go away when someone deletes them ("Number of endpoints", models, endpoint
  configs, ...) -> Terminal.
- a message in no known shape -> Terminal (a person has to look; retrying would repeat the Create forever).
"""

from __future__ import annotations

import asyncio
import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    HTTPClientError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    PartialCredentialsError,
    UnknownEndpointError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

#: Delays suggested to controllers (seconds) when the service gave none.
THROTTLE_BASE_DELAY = 2.0
THROTTLE_MAX_DELAY = 60.0
RETRYABLE_DELAY = 5.0
QUOTA_DELAY = 60.0
DEPENDENCY_DELAY = 30.0
NOT_READY_DELAY = 5.0
ACCESS_DENIED_DELAY = 120.0

# botocore's ThrottledRetryableChecker list: the codes aiobotocore's retry modes already treat as throttling.
THROTTLING_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
    "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown",
    "EC2ThrottledException",
})
TRANSIENT_CODES = frozenset({
    "InternalFailure", "InternalServerError", "InternalServerException", "InternalServiceException",
    "InternalError", "ServiceUnavailable", "ServiceUnavailableException", "RequestTimeout",
    "RequestTimeoutException", "PriorRequestNotComplete", "RequestExpired", "ConcurrentUpdateException",
})
TRANSIENT_STATUS = frozenset({500, 502, 503, 504})
ACCESS_DENIED_CODES = frozenset({"AccessDeniedException", "AccessDenied", "UnauthorizedOperation"})
AUTHENTICATION_CODES = frozenset({
    "UnrecognizedClientException", "InvalidClientTokenId", "InvalidSignatureException", "SignatureDoesNotMatch",
    "MissingAuthenticationToken", "MissingAuthenticationTokenException", "IncompleteSignature",
    "InvalidIdentityToken", "ExpiredToken", "ExpiredTokenException", "IDPCommunicationError",
    "IDPRejectedClaim",
})


class Principal(enum.StrEnum):
    """Whose permissions are missing."""

    OPERATOR = "operator"  # the operator's own role (IRSA / instance role): it calls the SageMaker API
    JOB_ROLE = "job_role"  # the job's roleArn: SageMaker assumes it to run the job


class SageMakerError(Exception):
    """A classified failure of one AWS call (see the module docstring)."""

    #: the ``outcome`` label of ``sagemaker_api_requests_total`` for this class.
    outcome = "error"
    #: whether retrying the same request later can succeed without a spec change.
    retryable = True

    def __init__(
        self,
        message: str,
        *,
        operation: str = "",
        code: str = "",
        http_status: int | None = None,
        request_id: str | None = None,
        suggested_delay: float = RETRYABLE_DELAY,
        retry_attempts: int = 0,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.operation = operation
        self.code = code
        self.http_status = http_status
        self.request_id = request_id
        self.suggested_delay = suggested_delay
        self.retry_attempts = retry_attempts

    def __str__(self) -> str:
        prefix = f"{self.operation}: " if self.operation else ""
        code = f"{self.code}: " if self.code else ""
        return f"{prefix}{code}{self.message}"


class TerminalError(SageMakerError):
    """The request cannot succeed as written; nothing is retried until the spec changes."""

    outcome = "terminal"
    retryable = False


class AlreadyExistsError(TerminalError):
    """A Create found the name taken. The caller re-describes: it may be our own earlier attempt."""

    outcome = "already_exists"


class RetryableError(SageMakerError):
    """A transient failure (5xx, network, a quota that clears when running jobs finish)."""

    outcome = "retryable"


class DependencyNotReadyError(RetryableError):
    """Something the request needs exists but is not ready yet (an endpoint not InService); retry shortly."""


class ThrottledError(RetryableError):
    """Throttled even after aiobotocore's retries; wait at least ``suggested_delay`` seconds."""

    outcome = "throttled"


class NotFoundError(SageMakerError):
    """The named resource does not exist (SageMaker's many ways of saying so, normalised)."""

    outcome = "not_found"
    retryable = False


class AccessDeniedError(SageMakerError):
    """A permission is missing; ``principal`` says whether the operator's role or the job's ``roleArn`` lacks it.

    Retryable: the fix happens in IAM, not in the spec, so the controller backs off (long) and tries again.
    ``role_arn`` is the role named in the message, when it names one.
    """

    outcome = "access_denied"

    def __init__(self, message: str, *, principal: Principal, role_arn: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("suggested_delay", ACCESS_DENIED_DELAY)
        super().__init__(message, **kwargs)
        self.principal = principal
        self.role_arn = role_arn

    def __str__(self) -> str:
        who = (
            "the operator's IAM role (its service account / IRSA role)"
            if self.principal is Principal.OPERATOR
            else f"the job's roleArn{f' {self.role_arn}' if self.role_arn else ''}"
        )
        return f"{super().__str__()} [permission missing on {who}]"


# ----------------------------------------------------------------------------------------------- not found rules


@dataclass(frozen=True)
class NotFoundRule:
    """``code`` with a message starting with ``prefix`` means "absent" for ``operations`` (empty: any non-Create)."""

    code: str
    prefix: str
    operations: frozenset[str] = frozenset()

    def matches(self, operation: str, code: str, message: str) -> bool:
        if code != self.code or not message.startswith(self.prefix):
            return False
        return operation in self.operations if self.operations else True


_TRAINING_OPS = frozenset({"DescribeTrainingJob", "StopTrainingJob", "UpdateTrainingJob"})
_OTHER_JOB_OPS = frozenset(
    {"DescribeProcessingJob", "StopProcessingJob", "DescribeTransformJob", "StopTransformJob"}
)
_TAG_OPS = frozenset({"AddTags", "DeleteTags", "ListTags"})

NOT_FOUND_RULES: tuple[NotFoundRule, ...] = (
    NotFoundRule("ValidationException", "Requested resource not found", _TRAINING_OPS | _TAG_OPS),
    NotFoundRule("ValidationException", "Could not find requested job", _OTHER_JOB_OPS),
    NotFoundRule("ResourceNotFound", ""),
    NotFoundRule("ResourceNotFoundException", ""),
    NotFoundRule("ObjectNotFoundException", ""),
    NotFoundRule("ValidationException", "Could not find model", frozenset({"DescribeModel", "DeleteModel"})),
    NotFoundRule(
        "ValidationException", "Could not find endpoint configuration",
        frozenset({"DescribeEndpointConfig", "DeleteEndpointConfig"}),
    ),
    NotFoundRule(
        "ValidationException", "Could not find endpoint",
        frozenset({"DescribeEndpoint", "DeleteEndpoint", "UpdateEndpoint", "UpdateEndpointWeightsAndCapacities"}),
    ),
)

#: Messages (substrings) meaning a resource the request refers to exists but is not ready yet: the text Application
#: Auto Scaling answers RegisterScalableTarget for a variant of an endpoint not InService (the original operator
#: matched the same text).
NOT_READY_PHRASES = ("The status should be in 'InService' to register it as a scalable target",)

#: Messages that, on a Create, mean a resource the request refers to is missing (not that the job is).
_DEPENDENCY_PREFIXES = ("Could not find model", "Could not find endpoint", "Requested resource not found")

_ALREADY_EXISTS_PREFIX = "Cannot create already existing"

# ------------------------------------------------------------------------------------------------ role messages

ROLE_ARN_RE = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]*[\w+=@-]")
#: SageMaker's ValidationException texts when it cannot use the job's execution role.
JOB_ROLE_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"could not assume (the )?role",
        r"ensure that the role .*(exists|allows)",
        r"unable to assume (the )?role",
        r"access denied for repository.*\brole\b",
        r"\brole\b.*\b(does not have|doesn't have|lacks|has no|not authorized)\b.*permission",
        r"\brole\b.*\bhas proper\b.*permission",
        r"trust relationship.*\brole\b|\brole\b.*trust relationship",
    )
)

# ----------------------------------------------------------------------------------------------------- quotas

_QUOTA_RE = re.compile(
    r"service limit '(?P<name>[^']+)' is (?P<limit>\d+(?:\.\d+)?) ?[\w ]*?, with current utilization of "
    r"(?P<current>\d+(?:\.\d+)?) ?[\w ]*? and a request delta of (?P<delta>\d+(?:\.\d+)?)",
    re.IGNORECASE,
)
#: Quota names (lower case, substring match) that free up by themselves when running work ends.
CLEARING_QUOTA_MARKERS = (
    "number of concurrent training jobs",
    "number of concurrent processing jobs",
    "number of concurrent transform jobs",
    "number of concurrent hyperparameter tuning jobs",
    "for training job usage",
    "for processing job usage",
    "for transform job usage",
    "for spot training job usage",
    "total number of instances across all training jobs",
    "total number of instances across all processing jobs",
    "total number of instances across all transform jobs",
)


@dataclass(frozen=True)
class QuotaReport:
    name: str
    limit: float
    current: float
    delta: float


def parse_quota_message(message: str) -> QuotaReport | None:
    match = _QUOTA_RE.search(message)
    if match is None:
        return None
    return QuotaReport(
        match["name"], float(match["limit"]), float(match["current"]), float(match["delta"])
    )


def quota_can_clear(message: str) -> bool:
    """Whether a ``ResourceLimitExceeded`` can clear without a quota or spec change (module docstring)."""
    report = parse_quota_message(message)
    if report is None:
        return False
    if report.delta > report.limit:
        return False
    name = report.name.lower()
    if "per hyperparameter tuning job" in name or "per endpoint" in name:
        return False
    return any(marker in name for marker in CLEARING_QUOTA_MARKERS)


# ------------------------------------------------------------------------------------------------- classify


def _is_create(operation: str) -> bool:
    return operation.startswith("Create")


def _common(err: ClientError, operation: str) -> dict[str, Any]:
    response: Mapping[str, Any] = err.response or {}
    meta: Mapping[str, Any] = response.get("ResponseMetadata") or {}
    return {
        "operation": operation or getattr(err, "operation_name", "") or "",
        "code": str((response.get("Error") or {}).get("Code") or ""),
        "http_status": meta.get("HTTPStatusCode"),
        "request_id": meta.get("RequestId"),
        "retry_attempts": int(meta.get("RetryAttempts") or 0),
    }


def _retry_after(err: ClientError) -> float | None:
    headers: Mapping[str, Any] = ((err.response or {}).get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
    for name, scale in (("x-amz-retry-after", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) * scale
        except (TypeError, ValueError):
            continue
        if seconds >= 0:
            return seconds
    return None


def throttle_delay(retry_attempts: int, retry_after: float | None = None) -> float:
    """The delay a :class:`ThrottledError` suggests: the service's Retry-After, else grows with the attempts made."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), THROTTLE_MAX_DELAY)
    return min(THROTTLE_BASE_DELAY * float(2 ** max(retry_attempts, 0)), THROTTLE_MAX_DELAY)


def _role_in(message: str) -> str | None:
    match = ROLE_ARN_RE.search(message)
    return match.group(0) if match else None


def classify_client_error(err: ClientError, operation: str = "") -> SageMakerError:
    """The class of an AWS error answer (module docstring, rule 4)."""
    fields = _common(err, operation)
    operation = fields["operation"]
    code: str = fields["code"]
    message = str(((err.response or {}).get("Error") or {}).get("Message") or "")
    status = fields["http_status"]
    text = message or code or str(err)

    if code in THROTTLING_CODES or status == 429:
        delay = throttle_delay(fields["retry_attempts"], _retry_after(err))
        return ThrottledError(text, suggested_delay=delay, **fields)
    for rule in NOT_FOUND_RULES:
        if rule.matches(operation, code, message):
            if _is_create(operation):
                break
            return NotFoundError(text, **fields)
    if code in ACCESS_DENIED_CODES or code in AUTHENTICATION_CODES:
        return AccessDeniedError(text, principal=Principal.OPERATOR, role_arn=None, **fields)
    if code == "ValidationException" and any(p.search(message) for p in JOB_ROLE_PATTERNS):
        return AccessDeniedError(text, principal=Principal.JOB_ROLE, role_arn=_role_in(message), **fields)
    if code == "ResourceInUse" or (code == "ValidationException" and message.startswith(_ALREADY_EXISTS_PREFIX)):
        if _is_create(operation):
            return AlreadyExistsError(text, **fields)
        return TerminalError(text, **fields)
    if code == "ValidationException" and any(phrase in message for phrase in NOT_READY_PHRASES):
        return DependencyNotReadyError(text, suggested_delay=NOT_READY_DELAY, **fields)
    if code == "ResourceLimitExceeded":
        if quota_can_clear(message):
            return RetryableError(text, suggested_delay=QUOTA_DELAY, **fields)
        return TerminalError(text, **fields)
    if _is_create(operation) and (
        code in ("ResourceNotFound", "ResourceNotFoundException")
        or (code == "ValidationException" and message.startswith(_DEPENDENCY_PREFIXES))
    ):
        return RetryableError(text, suggested_delay=DEPENDENCY_DELAY, **fields)
    if code in TRANSIENT_CODES or status in TRANSIENT_STATUS:
        return RetryableError(text, **fields)
    if isinstance(status, int) and status >= 500 and status != 501:
        return RetryableError(text, **fields)
    return TerminalError(text, **fields)


def classify(exc: BaseException, operation: str = "") -> SageMakerError | None:
    """The class of any failure of an AWS call, or None for an exception that is not one (a bug: re-raise it).

    An already classified :class:`SageMakerError` is returned as it is, so classifying twice changes nothing.
    """
    if isinstance(exc, SageMakerError):
        return exc
    if isinstance(exc, ClientError):
        return classify_client_error(exc, operation)
    text = str(exc) or type(exc).__name__
    kind = type(exc).__name__
    if isinstance(exc, ParamValidationError | NoRegionError | UnknownEndpointError):
        return TerminalError(text, operation=operation, code=kind)
    if isinstance(exc, NoCredentialsError | PartialCredentialsError | CredentialRetrievalError):
        return AccessDeniedError(text, principal=Principal.OPERATOR, operation=operation, code=kind)
    if isinstance(exc, HTTPClientError | BotoConnectionError | aiohttp.ClientError | asyncio.TimeoutError | OSError):
        return RetryableError(text, operation=operation, code=kind)
    if isinstance(exc, BotoCoreError):
        return RetryableError(text, operation=operation, code=kind)
    return None
