"""What the job object says about its SageMaker job: name, region, endpoint, last known status (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from smk8s.sagemaker.clients import SAGEMAKER, resolve_endpoint
from smk8s.smlogs.errors import job_not_created, missing_region
from smk8s.smlogs.kinds import JobKind


@dataclass(frozen=True)
class JobTarget:
    """The SageMaker job an object runs, and where to reach it."""

    kind: JobKind
    namespace: str
    object_name: str
    job_name: str
    region: str
    spec_endpoint: str | None
    status: str | None
    """The status the operator last wrote (``Completed``, or ``InProgress/Training`` with the secondary status)."""


def job_target(kind: JobKind, namespace: str, obj: Mapping[str, Any]) -> JobTarget:
    """The target of ``obj``; raises :class:`~smk8s.smlogs.errors.PluginError` without a region or before the
    operator has created the job (no SageMaker name in ``.status``)."""
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    name = str((obj.get("metadata") or {}).get("name", ""))
    region = str(spec.get("region") or "").strip()
    if not region:
        raise missing_region(kind, name, namespace)
    shown_status = _status_text(kind, status)
    job_name = str(status.get(kind.name_field) or "").strip()
    if not job_name:
        raise job_not_created(kind, name, namespace, shown_status)
    endpoint = str(spec.get("sageMakerEndpoint") or "").strip() or None
    return JobTarget(kind, namespace, name, job_name, region, endpoint, shown_status)


def _status_text(kind: JobKind, status: Mapping[str, Any]) -> str | None:
    main = status.get(kind.status_field)
    if not main:
        return None
    secondary = status.get(kind.secondary_status_field) if kind.secondary_status_field else None
    return f"{main}/{secondary}" if secondary and secondary != main else str(main)


def stream_prefix(job_name: str, log_search_prefix: str | None) -> str:
    """The log stream name prefix of a job's streams: ``JOB/`` (the slash keeps job ``a`` from matching job
    ``a-2``'s streams), or ``JOB/PREFIX`` with ``-p PREFIX`` (``-p algo-2`` keeps instance 2's stream)."""
    return f"{job_name}/{log_search_prefix}" if log_search_prefix else f"{job_name}/"


def sagemaker_endpoint(flag: str | None, spec_endpoint: str | None, environ: Mapping[str, str]) -> str | None:
    """The SageMaker endpoint URL: ``--endpoint-url``, else ``spec.sageMakerEndpoint``, else
    ``AWS_DEFAULT_SAGEMAKER_ENDPOINT`` (the operator's order after the flag), else None: the SDK's resolution
    (``AWS_ENDPOINT_URL_SAGEMAKER``, ``AWS_ENDPOINT_URL``, the profile's ``endpoint_url``)."""
    if flag and flag.strip():
        return flag.strip()
    return resolve_endpoint(SAGEMAKER, spec_endpoint, None, environ)


def logs_endpoint(flag: str | None) -> str | None:
    """The CloudWatch Logs endpoint URL: ``--endpoint-url``, else None: the SDK's resolution
    (``AWS_ENDPOINT_URL_CLOUDWATCH_LOGS``, ``AWS_ENDPOINT_URL``, the profile's ``endpoint_url``)."""
    return flag.strip() if flag and flag.strip() else None
