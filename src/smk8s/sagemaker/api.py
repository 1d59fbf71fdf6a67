"""A thin typed facade over the SageMaker API for the job controllers.

:class:`SageMaker` is built once per manager (a :class:`~smk8s.sagemaker.clients.ClientFactory`, a
:class:`prometheus_client.CollectorRegistry` and a clock); :meth:`SageMaker.at` gives a :class:`SageMakerApi` bound
to one region and ``spec.sageMakerEndpoint``. Every call:

- goes through the cached client for (sagemaker, region, endpoint);
- is logged once with structlog (``operation``, ``job``, ``region``, ``endpoint``, ``latency_seconds``,
  ``outcome``, and ``code``/``retry_attempts`` on failures);
- is counted in ``sagemaker_api_requests_total{operation,outcome}`` (outcome ``success`` or the error class's
  ``outcome``: ``not_found``, ``throttled``, ``retryable``, ``terminal``, ``already_exists``, ``access_denied``)
  and timed in ``sagemaker_api_request_duration_seconds{operation}``;
- raises only :mod:`smk8s.sagemaker.errors` classes, classified once.

Absence is normalised: ``describe_*`` returns None, mutations raise :class:`~smk8s.sagemaker.errors.NotFoundError`.
``stop_*`` returns False when the job is no longer running (SageMaker's "is in status ..." refusal), so a job that
finished between Describe and Stop is not an error.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from botocore import xform_name
from prometheus_client import CollectorRegistry, Counter, Histogram

from smk8s.clock import Clock, RealClock
from smk8s.sagemaker.clients import SAGEMAKER, ClientFactory
from smk8s.sagemaker.errors import NotFoundError, SageMakerError, TerminalError, classify

LIST_PAGE_SIZE = 100
_NOT_RUNNING_RE = re.compile(r"is in status (?P<status>\w+)")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass(frozen=True)
class _KindInfo:
    prefix: str  # "TrainingJob" -> TrainingJobName, TrainingJobStatus, ...
    operation_suffix: str  # CreateTrainingJob, ListTrainingJobs ...
    list_operation: str
    summaries_member: str


class JobKind(enum.Enum):
    """The four job kinds and their API names."""

    TRAINING = _KindInfo("TrainingJob", "TrainingJob", "ListTrainingJobs", "TrainingJobSummaries")
    PROCESSING = _KindInfo("ProcessingJob", "ProcessingJob", "ListProcessingJobs", "ProcessingJobSummaries")
    TRANSFORM = _KindInfo("TransformJob", "TransformJob", "ListTransformJobs", "TransformJobSummaries")
    TUNING = _KindInfo(
        "HyperParameterTuningJob", "HyperParameterTuningJob", "ListHyperParameterTuningJobs",
        "HyperParameterTuningJobSummaries",
    )

    @property
    def name_member(self) -> str:
        return f"{self.value.prefix}Name"

    @property
    def status_member(self) -> str:
        return f"{self.value.prefix}Status"

    @property
    def arn_member(self) -> str:
        return f"{self.value.prefix}Arn"

    def operation(self, verb: str) -> str:
        return f"{verb}{self.value.operation_suffix}"

    @property
    def list_operation(self) -> str:
        return self.value.list_operation

    @property
    def summaries_member(self) -> str:
        return self.value.summaries_member


TERMINAL_STATUSES = frozenset({"Completed", "Failed", "Stopped"})


def epoch_seconds(value: Any) -> float:
    """A timestamp from a response (botocore gives ``datetime``) as epoch seconds."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise TypeError(f"not a timestamp: {value!r}")


@dataclass(frozen=True)
class JobSummary:
    """What a List (or a Describe) says about one job: enough to tell whether it changed."""

    name: str
    status: str
    last_modified: float  # epoch seconds, the service's clock

    @classmethod
    def from_response(cls, kind: JobKind, item: Mapping[str, Any]) -> JobSummary:
        modified = item.get("LastModifiedTime") or item.get("CreationTime")
        return cls(str(item[kind.name_member]), str(item[kind.status_member]), epoch_seconds(modified))


@dataclass(frozen=True)
class ListPage:
    summaries: list[JobSummary]
    next_token: str | None


class SageMakerMetrics:
    """``sagemaker_api_requests_total`` and ``sagemaker_api_request_duration_seconds`` in one registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "sagemaker_api_requests_total", "SageMaker API calls by operation and outcome",
            ["operation", "outcome"], registry=registry,
        )
        self.latency = Histogram(
            "sagemaker_api_request_duration_seconds", "Latency of SageMaker API calls (retries included)",
            ["operation"], buckets=LATENCY_BUCKETS, registry=registry,
        )


class SageMaker:
    """The manager's SageMaker access: clients, metrics, logging. :meth:`at` binds a region and endpoint."""

    def __init__(
        self,
        clients: ClientFactory,
        registry: CollectorRegistry,
        *,
        clock: Clock | None = None,
        logger: Any = None,
    ) -> None:
        self.clients = clients
        self.metrics = SageMakerMetrics(registry)
        self.clock: Clock = clock or RealClock()
        self.log = logger if logger is not None else structlog.get_logger("smk8s.sagemaker")

    def at(self, region: str | None, endpoint: str | None = None) -> SageMakerApi:
        return SageMakerApi(self, region, endpoint)


class SageMakerApi:
    """SageMaker calls in one region at one endpoint (``spec.sageMakerEndpoint``; None: flag/env/SDK default)."""

    def __init__(self, owner: SageMaker, region: str | None, endpoint: str | None) -> None:
        self._owner = owner
        self.region = region
        self.endpoint = endpoint

    @property
    def resolved_endpoint(self) -> str | None:
        return self._owner.clients.endpoint_for(SAGEMAKER, self.endpoint)

    async def call(
        self, operation: str, job: str | None = None, *, service: str = SAGEMAKER, **params: Any
    ) -> dict[str, Any]:
        """One API call by operation name (``CreateTrainingJob``), logged, counted and classified.

        ``service`` is the botocore service name: ``sagemaker`` (at ``spec.sageMakerEndpoint`` when given), or
        another service the controllers drive beside it (``application-autoscaling``, at its standard endpoint
        configuration), counted in the same metrics by operation name."""
        owner = self._owner
        started = owner.clock.now()
        outcome = "success"
        error: SageMakerError | None = None
        try:
            endpoint = self.endpoint if service == SAGEMAKER else None
            client = await owner.clients.client(service, self.region, endpoint)
            method = getattr(client, _snake(operation))
            result: dict[str, Any] = await method(**params)
            return result
        except Exception as exc:
            classified = classify(exc, operation)
            if classified is None:
                outcome = "bug"
                raise
            error = classified
            outcome = classified.outcome
            if classified is exc:
                raise
            raise classified from exc
        finally:
            latency = max(owner.clock.now() - started, 0.0)
            owner.metrics.requests.labels(operation=operation, outcome=outcome).inc()
            owner.metrics.latency.labels(operation=operation).observe(latency)
            fields: dict[str, Any] = {
                "operation": operation, "job": job, "region": self.region, "endpoint": self.resolved_endpoint,
                "latency_seconds": round(latency, 6), "outcome": outcome,
            }
            if error is not None:
                fields.update(code=error.code, retry_attempts=error.retry_attempts, error=error.message)
                level = "info" if outcome == "not_found" else "warning"
            else:
                level = "info"
            getattr(owner.log, level)("sagemaker call", **fields)

    # -- generic, per kind ----------------------------------------------------------------------------------

    async def describe(self, kind: JobKind, name: str) -> dict[str, Any] | None:
        try:
            return await self.call(kind.operation("Describe"), name, **{kind.name_member: name})
        except NotFoundError:
            return None

    async def create(self, kind: JobKind, request: Mapping[str, Any]) -> str:
        """Create a job from a complete request; returns its ARN."""
        name = str(request.get(kind.name_member, ""))
        result = await self.call(kind.operation("Create"), name, **dict(request))
        return str(result.get(kind.arn_member, ""))

    async def stop(self, kind: JobKind, name: str) -> bool:
        """Ask to stop; False when the job is not running any more (Stopping, or finished). NotFoundError if absent."""
        try:
            await self.call(kind.operation("Stop"), name, **{kind.name_member: name})
        except TerminalError as err:
            if err.code == "ValidationException" and _NOT_RUNNING_RE.search(err.message):
                return False
            raise
        return True

    async def list_jobs_page(
        self, kind: JobKind, *, modified_after: float | None = None, next_token: str | None = None,
        max_results: int = LIST_PAGE_SIZE,
    ) -> ListPage:
        """One page of ``List*Jobs`` (oldest first by creation), filtered by ``LastModifiedTimeAfter``."""
        params: dict[str, Any] = {"MaxResults": max_results, "SortBy": "CreationTime", "SortOrder": "Ascending"}
        if modified_after is not None:
            params["LastModifiedTimeAfter"] = datetime.fromtimestamp(modified_after, tz=UTC)
        if next_token:
            params["NextToken"] = next_token
        result = await self.call(kind.list_operation, None, **params)
        summaries = [JobSummary.from_response(kind, item) for item in result.get(kind.summaries_member, [])]
        return ListPage(summaries, result.get("NextToken") or None)

    # -- training -------------------------------------------------------------------------------------------

    async def describe_training_job(self, name: str) -> dict[str, Any] | None:
        return await self.describe(JobKind.TRAINING, name)

    async def create_training_job(self, request: Mapping[str, Any]) -> str:
        return await self.create(JobKind.TRAINING, request)

    async def stop_training_job(self, name: str) -> bool:
        return await self.stop(JobKind.TRAINING, name)

    async def update_training_job(self, request: Mapping[str, Any]) -> str:
        """UpdateTrainingJob (warm pool keep-alive, profiler); returns the job's ARN."""
        name = str(request.get("TrainingJobName", ""))
        result = await self.call("UpdateTrainingJob", name, **dict(request))
        return str(result.get("TrainingJobArn", ""))

    # -- processing -----------------------------------------------------------------------------------------

    async def describe_processing_job(self, name: str) -> dict[str, Any] | None:
        return await self.describe(JobKind.PROCESSING, name)

    async def create_processing_job(self, request: Mapping[str, Any]) -> str:
        return await self.create(JobKind.PROCESSING, request)

    async def stop_processing_job(self, name: str) -> bool:
        return await self.stop(JobKind.PROCESSING, name)

    # -- transform ------------------------------------------------------------------------------------------

    async def describe_transform_job(self, name: str) -> dict[str, Any] | None:
        return await self.describe(JobKind.TRANSFORM, name)

    async def create_transform_job(self, request: Mapping[str, Any]) -> str:
        return await self.create(JobKind.TRANSFORM, request)

    async def stop_transform_job(self, name: str) -> bool:
        return await self.stop(JobKind.TRANSFORM, name)

    # -- tuning ---------------------------------------------------------------------------------------------

    async def describe_hyper_parameter_tuning_job(self, name: str) -> dict[str, Any] | None:
        return await self.describe(JobKind.TUNING, name)

    async def create_hyper_parameter_tuning_job(self, request: Mapping[str, Any]) -> str:
        return await self.create(JobKind.TUNING, request)

    async def stop_hyper_parameter_tuning_job(self, name: str) -> bool:
        return await self.stop(JobKind.TUNING, name)

    async def list_training_jobs_for_tuning_job(self, name: str) -> list[dict[str, Any]]:
        """Every child training job's summary (all pages). NotFoundError when the tuning job is absent."""
        out: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"HyperParameterTuningJobName": name, "MaxResults": LIST_PAGE_SIZE}
            if token:
                params["NextToken"] = token
            result = await self.call("ListTrainingJobsForHyperParameterTuningJob", name, **params)
            out.extend(result.get("TrainingJobSummaries", []))
            token = result.get("NextToken")
            if not token:
                return out

    # -- tags -----------------------------------------------------------------------------------------------

    async def list_tags(self, arn: str) -> dict[str, str]:
        """Every tag of ``arn`` (all pages) as a mapping."""
        tags: dict[str, str] = {}
        token: str | None = None
        while True:
            params: dict[str, Any] = {"ResourceArn": arn, "MaxResults": LIST_PAGE_SIZE}
            if token:
                params["NextToken"] = token
            result = await self.call("ListTags", arn, **params)
            tags.update({str(t["Key"]): str(t.get("Value", "")) for t in result.get("Tags", [])})
            token = result.get("NextToken")
            if not token:
                return tags

    async def add_tags(self, arn: str, tags: Mapping[str, str]) -> None:
        if tags:
            await self.call("AddTags", arn, ResourceArn=arn, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])

    async def delete_tags(self, arn: str, keys: Sequence[str]) -> None:
        if keys:
            await self.call("DeleteTags", arn, ResourceArn=arn, TagKeys=list(keys))

    async def sync_tags(self, arn: str, desired: Mapping[str, str], current: Mapping[str, str] | None = None) -> bool:
        """Bring the tags of ``arn`` to ``desired`` (:func:`tag_changes`: AWS's own ``aws:`` tags are left alone);
        ``current``: its tags if the caller has already read them. Whether any tag changed."""
        add, delete = tag_changes(desired, current if current is not None else await self.list_tags(arn))
        await self.add_tags(arn, add)
        await self.delete_tags(arn, delete)
        return bool(add or delete)


def tag_changes(desired: Mapping[str, str], current: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """(tags to add or change, keys to delete) to bring ``current`` to ``desired``; AWS's own ``aws:`` tags are
    never touched."""
    add = {k: v for k, v in desired.items() if current.get(k) != v}
    delete = sorted(k for k in current if k not in desired and not k.startswith("aws:"))
    return add, delete


def _snake(operation: str) -> str:
    """``CreateTrainingJob`` -> ``create_training_job`` (botocore's own method-name transform)."""
    return str(xform_name(operation))
