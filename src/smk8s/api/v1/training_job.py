"""TrainingJob: a SageMaker training job (CreateTrainingJob), compatible with the original operator's manifests."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from smk8s.api.v1._generated import TrainingJobSpecBase
from smk8s.api.v1.base import ApiModel
from smk8s.api.v1.common import AwsTarget, CommonStatus, Time


class TrainingJobSpec(TrainingJobSpecBase, AwsTarget):
    """The training job to run: the members of a CreateTrainingJob request, plus where (region, endpoint).

    ``trainingJobName`` is optional: without it the SageMaker name is generated from the object's name and UID.
    """


class DebugRuleEvaluationStatus(ApiModel):
    """The status of a debug rule evaluation (original operator's shape)."""

    rule_configuration_name: str | SkipJsonSchema[None] = Field(
        default=None, alias="ruleConfigurationName", description="The name of the rule configuration.")
    rule_evaluation_job_arn: str | SkipJsonSchema[None] = Field(
        default=None, alias="ruleEvaluationJobArn", description="The ARN of the rule evaluation job.")
    rule_evaluation_status: str | SkipJsonSchema[None] = Field(
        default=None, alias="ruleEvaluationStatus", description="Status of the rule evaluation.")
    status_detail: str | SkipJsonSchema[None] = Field(
        default=None, alias="statusDetail", description="Details from the rule evaluation.")
    last_modified_time: Time | SkipJsonSchema[None] = Field(
        default=None, alias="lastModifiedTime", description="When the rule evaluation status was last modified.")


class TrainingJobStatus(CommonStatus):
    """The observed state of the training job."""

    training_job_status: str | SkipJsonSchema[None] = Field(
        default=None, alias="trainingJobStatus",
        description="The status of the training job: InProgress, Completed, Failed, Stopping or Stopped.")
    secondary_status: str | SkipJsonSchema[None] = Field(
        default=None, alias="secondaryStatus", description="The detailed status of the training job, e.g. Downloading.")
    sage_maker_training_job_name: str | SkipJsonSchema[None] = Field(
        default=None, alias="sageMakerTrainingJobName", description="The name of the training job in SageMaker.")
    training_job_arn: str | SkipJsonSchema[None] = Field(
        default=None, alias="trainingJobArn", description="The ARN of the training job.")
    cloud_watch_log_url: str | SkipJsonSchema[None] = Field(
        default=None, alias="cloudWatchLogUrl", description="The URL of the job's logs in the CloudWatch console.")
    model_path: str | SkipJsonSchema[None] = Field(
        default=None, alias="modelPath", description="The S3 location of the model artifacts once the job completed.")
    debug_rule_evaluation_statuses: list[DebugRuleEvaluationStatus] | SkipJsonSchema[None] = Field(
        default=None, alias="debugRuleEvaluationStatuses", description="The statuses of the debug rule evaluations.")


class TrainingJob(ApiModel):
    """A SageMaker training job."""

    api_version: Literal["sagemaker.aws.amazon.com/v1"] = Field(
        default="sagemaker.aws.amazon.com/v1", alias="apiVersion")
    kind: Literal["TrainingJob"] = Field(default="TrainingJob", alias="kind")
    metadata: dict[str, Any] = Field(default_factory=dict, alias="metadata")
    spec: TrainingJobSpec = Field(alias="spec")
    status: TrainingJobStatus | SkipJsonSchema[None] = Field(default=None, alias="status")


__all__ = ["DebugRuleEvaluationStatus", "TrainingJob", "TrainingJobSpec", "TrainingJobStatus"]
