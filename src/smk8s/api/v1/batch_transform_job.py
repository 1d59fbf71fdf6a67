"""BatchTransformJob: a SageMaker batch transform job (CreateTransformJob).

``modelName`` is the SageMaker name of an existing model (e.g. a Model object's ``status.sageMakerModelName``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from smk8s.api.v1._generated import BatchTransformJobSpecBase
from smk8s.api.v1.base import ApiModel
from smk8s.api.v1.common import AwsTarget, CommonStatus


class BatchTransformJobSpec(BatchTransformJobSpecBase, AwsTarget):
    """The transform job to run: the members of a CreateTransformJob request, plus where.

    ``transformJobName`` is optional: without it the SageMaker name is generated from the object's name and UID.
    """


class BatchTransformJobStatus(CommonStatus):
    """The observed state of the transform job."""

    transform_job_status: str | SkipJsonSchema[None] = Field(
        default=None, alias="transformJobStatus",
        description="The status of the transform job: InProgress, Completed, Failed, Stopping or Stopped.")
    sage_maker_transform_job_name: str | SkipJsonSchema[None] = Field(
        default=None, alias="sageMakerTransformJobName", description="The name of the transform job in SageMaker.")
    transform_job_arn: str | SkipJsonSchema[None] = Field(
        default=None, alias="transformJobArn", description="The ARN of the transform job.")
    cloud_watch_log_url: str | SkipJsonSchema[None] = Field(
        default=None, alias="cloudWatchLogUrl", description="The URL of the job's logs in the CloudWatch console.")


class BatchTransformJob(ApiModel):
    """A SageMaker batch transform job."""

    api_version: Literal["sagemaker.aws.amazon.com/v1"] = Field(
        default="sagemaker.aws.amazon.com/v1", alias="apiVersion")
    kind: Literal["BatchTransformJob"] = Field(default="BatchTransformJob", alias="kind")
    metadata: dict[str, Any] = Field(default_factory=dict, alias="metadata")
    spec: BatchTransformJobSpec = Field(alias="spec")
    status: BatchTransformJobStatus | SkipJsonSchema[None] = Field(default=None, alias="status")


__all__ = ["BatchTransformJob", "BatchTransformJobSpec", "BatchTransformJobStatus"]
