"""HyperparameterTuningJob: a SageMaker hyperparameter tuning job (CreateHyperParameterTuningJob)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from smk8s.api.v1._generated import HyperparameterTuningJobSpecBase
from smk8s.api.v1.base import ApiModel
from smk8s.api.v1.common import AwsTarget, CommonStatus, NameValue, Time


class HyperparameterTuningJobSpec(HyperparameterTuningJobSpecBase, AwsTarget):
    """The tuning job to run: the members of a CreateHyperParameterTuningJob request, plus where.

    ``hyperParameterTuningJobName`` is optional: without it the SageMaker name is generated (at most 32 characters).
    """


class FinalObjectiveMetric(ApiModel):
    """The final value of the tuning objective metric of a training job."""

    metric_name: str | SkipJsonSchema[None] = Field(default=None, alias="metricName", description="The metric's name.")
    type: str | SkipJsonSchema[None] = Field(default=None, alias="type", description="Minimize or Maximize.")
    value: str | SkipJsonSchema[None] = Field(
        default=None, alias="value", description="The metric's value (a decimal number, as text: no floats in CRDs).")


class BestTrainingJob(ApiModel):
    """A summary of the best training job of a tuning job (HyperParameterTrainingJobSummary)."""

    training_job_name: str | SkipJsonSchema[None] = Field(default=None, alias="trainingJobName")
    training_job_arn: str | SkipJsonSchema[None] = Field(default=None, alias="trainingJobArn")
    training_job_definition_name: str | SkipJsonSchema[None] = Field(default=None, alias="trainingJobDefinitionName")
    training_job_status: str | SkipJsonSchema[None] = Field(default=None, alias="trainingJobStatus")
    tuning_job_name: str | SkipJsonSchema[None] = Field(default=None, alias="tuningJobName")
    creation_time: Time | SkipJsonSchema[None] = Field(default=None, alias="creationTime")
    training_start_time: Time | SkipJsonSchema[None] = Field(default=None, alias="trainingStartTime")
    training_end_time: Time | SkipJsonSchema[None] = Field(default=None, alias="trainingEndTime")
    tuned_hyper_parameters: list[NameValue] | SkipJsonSchema[None] = Field(default=None, alias="tunedHyperParameters")
    final_hyper_parameter_tuning_job_objective_metric: FinalObjectiveMetric | SkipJsonSchema[None] = Field(
        default=None, alias="finalHyperParameterTuningJobObjectiveMetric")
    objective_status: str | SkipJsonSchema[None] = Field(default=None, alias="objectiveStatus")
    failure_reason: str | SkipJsonSchema[None] = Field(default=None, alias="failureReason")


class TrainingJobStatusCounters(ApiModel):
    """How many training jobs of the tuning job are in each state."""

    completed: int | SkipJsonSchema[None] = Field(default=None, alias="completed")
    in_progress: int | SkipJsonSchema[None] = Field(default=None, alias="inProgress")
    retryable_error: int | SkipJsonSchema[None] = Field(default=None, alias="retryableError")
    non_retryable_error: int | SkipJsonSchema[None] = Field(default=None, alias="nonRetryableError")
    total_error: int | SkipJsonSchema[None] = Field(default=None, alias="totalError")
    stopped: int | SkipJsonSchema[None] = Field(default=None, alias="stopped")


class HyperparameterTuningJobStatus(CommonStatus):
    """The observed state of the tuning job."""

    hyper_parameter_tuning_job_status: str | SkipJsonSchema[None] = Field(
        default=None, alias="hyperParameterTuningJobStatus",
        description="The status of the tuning job: InProgress, Completed, Failed, Stopping or Stopped.")
    sage_maker_hyper_parameter_tuning_job_name: str | SkipJsonSchema[None] = Field(
        default=None, alias="sageMakerHyperParameterTuningJobName",
        description="The name of the tuning job in SageMaker.")
    hyper_parameter_tuning_job_arn: str | SkipJsonSchema[None] = Field(
        default=None, alias="hyperParameterTuningJobArn", description="The ARN of the tuning job.")
    best_training_job: BestTrainingJob | SkipJsonSchema[None] = Field(
        default=None, alias="bestTrainingJob", description="The best training job so far.")
    training_job_status_counters: TrainingJobStatusCounters | SkipJsonSchema[None] = Field(
        default=None, alias="trainingJobStatusCounters", description="How many training jobs are in each state.")


class HyperparameterTuningJob(ApiModel):
    """A SageMaker hyperparameter tuning job."""

    api_version: Literal["sagemaker.aws.amazon.com/v1"] = Field(
        default="sagemaker.aws.amazon.com/v1", alias="apiVersion")
    kind: Literal["HyperparameterTuningJob"] = Field(default="HyperparameterTuningJob", alias="kind")
    metadata: dict[str, Any] = Field(default_factory=dict, alias="metadata")
    spec: HyperparameterTuningJobSpec = Field(alias="spec")
    status: HyperparameterTuningJobStatus | SkipJsonSchema[None] = Field(default=None, alias="status")


__all__ = ["BestTrainingJob", "FinalObjectiveMetric", "HyperparameterTuningJob", "HyperparameterTuningJobSpec",
           "HyperparameterTuningJobStatus", "TrainingJobStatusCounters"]
