"""One small adapter per job kind: what the shared reconciler core needs to know about it.

An adapter names the kind (CRD plural, SageMaker :class:`~smk8s.sagemaker.JobKind`), says where the user may give
the SageMaker name and how long a generated one may be, and converts: spec -> Create request, Describe response ->
status fields. Everything else (finalizers, tags, errors, deletion, conditions) is the core's, shared by all four.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from smk8s.api.v1 import convert
from smk8s.api.v1.batch_transform_job import BatchTransformJobSpec
from smk8s.api.v1.hyperparameter_tuning_job import HyperparameterTuningJobSpec
from smk8s.api.v1.processing_job import ProcessingJobSpec
from smk8s.api.v1.training_job import TrainingJobSpec
from smk8s.controllers.jobs.naming import JOB_NAME_MAX, TUNING_JOB_NAME_MAX
from smk8s.sagemaker import JobKind


@dataclass(frozen=True)
class JobAdapter:
    kind: str  # the Kubernetes kind
    plural: str
    job_kind: JobKind
    spec_model: type[BaseModel]
    name_field: str | None  # spec field holding the user's SageMaker name (written back there), None: generated
    max_name_length: int
    status_field: str  # status field mirroring the SageMaker status
    name_status_field: str
    arn_status_field: str
    _request: Callable[[Any, str], dict[str, Any]]
    _status: Callable[[Mapping[str, Any], str], BaseModel]

    def parse_spec(self, spec: Mapping[str, Any]) -> Any:
        return self.spec_model.model_validate(spec)

    def request(self, spec: Any, name: str) -> dict[str, Any]:
        """The Create request of ``spec`` for the SageMaker job ``name`` (the spec's tags only)."""
        return self._request(spec, name)

    def status(self, description: Mapping[str, Any], region: str) -> dict[str, Any]:
        """Status fields (wire names) of a Describe response."""
        dumped: dict[str, Any] = self._status(description, region).model_dump(by_alias=True, exclude_none=True)
        return dumped


TRAINING = JobAdapter(
    "TrainingJob", "trainingjobs", JobKind.TRAINING, TrainingJobSpec, "trainingJobName", JOB_NAME_MAX,
    "trainingJobStatus", "sageMakerTrainingJobName", "trainingJobArn",
    convert.training_job_request, convert.training_job_status,
)
PROCESSING = JobAdapter(
    "ProcessingJob", "processingjobs", JobKind.PROCESSING, ProcessingJobSpec, None, JOB_NAME_MAX,
    "processingJobStatus", "sageMakerProcessingJobName", "processingJobArn",
    convert.processing_job_request, convert.processing_job_status,
)
TRANSFORM = JobAdapter(
    "BatchTransformJob", "batchtransformjobs", JobKind.TRANSFORM, BatchTransformJobSpec, "transformJobName",
    JOB_NAME_MAX, "transformJobStatus", "sageMakerTransformJobName", "transformJobArn",
    convert.transform_job_request, convert.transform_job_status,
)
TUNING = JobAdapter(
    "HyperparameterTuningJob", "hyperparametertuningjobs", JobKind.TUNING, HyperparameterTuningJobSpec,
    "hyperParameterTuningJobName", TUNING_JOB_NAME_MAX, "hyperParameterTuningJobStatus",
    "sageMakerHyperParameterTuningJobName", "hyperParameterTuningJobArn",
    convert.hyperparameter_tuning_job_request, lambda desc, _region: convert.hyperparameter_tuning_job_status(desc),
)

ADAPTERS: dict[str, JobAdapter] = {a.kind: a for a in (TRAINING, PROCESSING, TRANSFORM, TUNING)}
