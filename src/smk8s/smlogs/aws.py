"""The AWS calls of ``kubectl smlogs`` (I/O): CloudWatch Logs streams and events, SageMaker job statuses.

Clients come from one :class:`aiobotocore.session.AioSession`, so credentials, region defaults, profiles and
endpoints follow the standard AWS configuration; the region of every call is the object's ``spec.region``. Every
failure is turned into a :class:`~smk8s.smlogs.errors.PluginError` by :func:`~smk8s.smlogs.errors.from_aws`, except
"not found" answers, which raise :class:`AwsNotFound` for the caller to word.

Calls made: ``logs:DescribeLogStreams`` and ``logs:GetLogEvents`` always; ``sagemaker:Describe*Job`` in follow mode
(to know when the job has ended); ``sagemaker:ListTrainingJobsForHyperParameterTuningJob`` (and
``sagemaker:DescribeHyperParameterTuningJob`` in follow mode) for tuning jobs.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiobotocore.session import AioSession
from botocore.config import Config

from smk8s.sagemaker.clients import USER_AGENT_EXTRA
from smk8s.smlogs.errors import PluginError, from_aws, is_not_found
from smk8s.smlogs.events import LogEvent, StreamCursor, take_last
from smk8s.smlogs.kinds import JobKind

LOGS = "logs"
SAGEMAKER = "sagemaker"
MAX_EVENTS_PER_PAGE = 10_000  # GetLogEvents' documented maximum ``limit``
_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 5}, user_agent_extra=f"{USER_AGENT_EXTRA} smlogs")


class AwsNotFound(PluginError):
    """The resource an AWS call named does not exist (the caller says what that means)."""


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


async def _call(client: Any, service: str, operation: str, **request: Any) -> dict[str, Any]:
    method: Callable[..., Awaitable[dict[str, Any]]] = getattr(client, _snake(operation))
    try:
        return await method(**request)
    except Exception as exc:
        if is_not_found(exc, operation):
            raise AwsNotFound(f"{service}:{operation}: {exc}") from None
        error = from_aws(exc, service, operation)
        if error is None:
            raise
        raise error from None


@dataclass(frozen=True)
class StreamRef:
    """One log stream of one job."""

    group: str
    name: str
    job: str
    parent: str | None = None


class AwsClients:
    """The CloudWatch Logs and SageMaker clients of one run; use as ``async with``."""

    def __init__(self, region: str, *, logs_endpoint: str | None, sagemaker_endpoint: str | None,
                 profile: str | None = None) -> None:
        self.region = region
        self._logs_endpoint = logs_endpoint
        self._sagemaker_endpoint = sagemaker_endpoint
        self._profile = profile
        self._stack = AsyncExitStack()
        self.logs: Any = None
        self.sagemaker: Any = None

    async def __aenter__(self) -> AwsClients:
        try:
            session = AioSession(profile=self._profile)
            self.logs = await self._stack.enter_async_context(
                session.create_client(LOGS, **self._kwargs(self._logs_endpoint)))
            self.sagemaker = await self._stack.enter_async_context(
                session.create_client(SAGEMAKER, **self._kwargs(self._sagemaker_endpoint)))
        except Exception as exc:  # botocore's ProfileNotFound, an invalid endpoint URL, ...
            await self._stack.aclose()
            raise PluginError(f"cannot configure the AWS clients: {exc}") from None
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self._stack.aclose()

    def _kwargs(self, endpoint: str | None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"region_name": self.region, "config": _CONFIG}
        if endpoint is not None:
            kwargs["endpoint_url"] = endpoint
        return kwargs

    # -- CloudWatch Logs -------------------------------------------------------------------------------------------

    async def list_streams(self, group: str, prefix: str) -> list[str]:
        """Names of the streams of ``group`` starting with ``prefix`` (every page); [] when the group is absent."""
        names: list[str] = []
        request: dict[str, Any] = {"logGroupName": group, "logStreamNamePrefix": prefix}
        while True:
            try:
                page = await _call(self.logs, LOGS, "DescribeLogStreams", **request)
            except AwsNotFound:
                return []
            names.extend(str(stream["logStreamName"]) for stream in page.get("logStreams", []))
            token = page.get("nextToken")
            if not token or token == request.get("nextToken"):
                return names
            request["nextToken"] = token

    async def pages(self, ref: StreamRef, cursor: StreamCursor, start_time: int | None
                    ) -> AsyncIterator[list[LogEvent]]:
        """The stream's events after ``cursor``, page by page, to the current end; the cursor follows."""
        while True:
            request: dict[str, Any] = {"logGroupName": ref.group, "logStreamName": ref.name, "startFromHead": True,
                                       **cursor.request()}
            if start_time is not None:
                request["startTime"] = start_time
            try:
                page = await _call(self.logs, LOGS, "GetLogEvents", **request)
            except AwsNotFound:
                return  # the stream (or group) was deleted: nothing more to read
            events = [LogEvent.from_api(raw, job=ref.job, stream=ref.name, parent=ref.parent)
                      for raw in page.get("events", [])]
            more = cursor.record(page.get("nextForwardToken"))
            if events:
                yield events
            if not more:
                return

    async def tail(self, ref: StreamRef, count: int, start_time: int | None, cursor: StreamCursor
                   ) -> list[LogEvent]:
        """The stream's last ``count`` events (oldest first); ``cursor`` is left after the newest event."""
        backward: list[list[LogEvent]] = []
        token: str | None = None
        total = 0
        while True:
            request: dict[str, Any] = {"logGroupName": ref.group, "logStreamName": ref.name, "startFromHead": False,
                                       "limit": max(1, min(count - total, MAX_EVENTS_PER_PAGE))}
            if token is not None:
                request["nextToken"] = token
            if start_time is not None:
                request["startTime"] = start_time
            try:
                page = await _call(self.logs, LOGS, "GetLogEvents", **request)
            except AwsNotFound:
                break
            events = [LogEvent.from_api(raw, job=ref.job, stream=ref.name, parent=ref.parent)
                      for raw in page.get("events", [])]
            if token is None:
                cursor.record(page.get("nextForwardToken"))  # after the newest event: where following resumes
            backward.append(events)
            total += len(events)
            next_token = page.get("nextBackwardToken")
            if total >= count or not next_token or next_token == token:
                break
            token = next_token
        return take_last(backward, count)

    # -- SageMaker -------------------------------------------------------------------------------------------------

    async def job_status(self, kind: JobKind, job_name: str) -> str:
        """The job's SageMaker status (``InProgress``, ``Completed``, ...); raises :class:`AwsNotFound`."""
        answer = await _call(self.sagemaker, SAGEMAKER, kind.describe_operation, **{kind.name_member: job_name})
        return str(answer.get(kind.status_member, ""))

    async def tuning_children(self, tuning_job: str) -> list[tuple[str, str]]:
        """``(training job name, status)`` of every training job the tuning job launched, oldest first."""
        children: list[tuple[str, str]] = []
        request: dict[str, Any] = {"HyperParameterTuningJobName": tuning_job, "SortBy": "CreationTime",
                                   "SortOrder": "Ascending", "MaxResults": 100}
        while True:
            page = await _call(self.sagemaker, SAGEMAKER, "ListTrainingJobsForHyperParameterTuningJob", **request)
            children.extend((str(s["TrainingJobName"]), str(s.get("TrainingJobStatus", "")))
                            for s in page.get("TrainingJobSummaries", []))
            token = page.get("NextToken")
            if not token:
                return children
            request["NextToken"] = token
