"""Model: a SageMaker model (CreateModel). Its SageMaker name is generated from the object's name and UID."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from smk8s.api.v1._generated import ModelSpecBase
from smk8s.api.v1.base import ApiModel
from smk8s.api.v1.common import AwsTarget, CommonStatus, Time


class ModelSpec(ModelSpecBase, AwsTarget):
    """The model: the members of a CreateModel request but its name, plus where."""


class ModelStatus(CommonStatus):
    """The observed state of the model."""

    status: str | SkipJsonSchema[None] = Field(
        default=None, alias="status", description="The state of the model: Created, Deleted or Error.")
    sage_maker_model_name: str | SkipJsonSchema[None] = Field(
        default=None, alias="sageMakerModelName", description="The name of the model in SageMaker.")
    model_arn: str | SkipJsonSchema[None] = Field(default=None, alias="modelArn", description="The ARN of the model.")
    last_update_time: Time | SkipJsonSchema[None] = Field(
        default=None, alias="lastUpdateTime", description="When the controller last created or replaced the model.")


class Model(ApiModel):
    """A SageMaker model."""

    api_version: Literal["sagemaker.aws.amazon.com/v1"] = Field(
        default="sagemaker.aws.amazon.com/v1", alias="apiVersion")
    kind: Literal["Model"] = Field(default="Model", alias="kind")
    metadata: dict[str, Any] = Field(default_factory=dict, alias="metadata")
    spec: ModelSpec = Field(alias="spec")
    status: ModelStatus | SkipJsonSchema[None] = Field(default=None, alias="status")


__all__ = ["Model", "ModelSpec", "ModelStatus"]
