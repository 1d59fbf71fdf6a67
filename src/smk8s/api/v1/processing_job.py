"""ProcessingJob: a SageMaker processing job (CreateProcessingJob). Its SageMaker name is always generated."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from smk8s.api.v1._generated import ProcessingJobSpecBase
from smk8s.api.v1.base import ApiModel
from smk8s.api.v1.common import AwsTarget, CommonStatus


class ProcessingJobSpec(ProcessingJobSpecBase, AwsTarget):
    """The processing job to run: the members of a CreateProcessingJob request but its name, plus where."""


class ProcessingJobStatus(CommonStatus):
    """The observed state of the processing job."""

    processing_job_status: str | SkipJsonSchema[None] = Field(
        default=None, alias="processingJobStatus",
        description="The status of the processing job: InProgress, Completed, Failed, Stopping or Stopped.")
    sage_maker_processing_job_name: str | SkipJsonSchema[None] = Field(
        default=None, alias="sageMakerProcessingJobName", description="The name of the processing job in SageMaker.")
    processing_job_arn: str | SkipJsonSchema[None] = Field(
        default=None, alias="processingJobArn", description="The ARN of the processing job.")
    cloud_watch_log_url: str | SkipJsonSchema[None] = Field(
        default=None, alias="cloudWatchLogUrl", description="The URL of the job's logs in the CloudWatch console.")


class ProcessingJob(ApiModel):
    """A SageMaker processing job."""

    api_version: Literal["sagemaker.aws.amazon.com/v1"] = Field(
        default="sagemaker.aws.amazon.com/v1", alias="apiVersion")
    kind: Literal["ProcessingJob"] = Field(default="ProcessingJob", alias="kind")
    metadata: dict[str, Any] = Field(default_factory=dict, alias="metadata")
    spec: ProcessingJobSpec = Field(alias="spec")
    status: ProcessingJobStatus | SkipJsonSchema[None] = Field(default=None, alias="status")


__all__ = ["ProcessingJob", "ProcessingJobSpec", "ProcessingJobStatus"]
