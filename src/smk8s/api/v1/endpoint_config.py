"""EndpointConfig: a SageMaker endpoint configuration (CreateEndpointConfig), name generated from the object's.

The variants' ``modelName`` is a SageMaker model name (e.g. a Model object's ``status.sageMakerModelName``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from smk8s.api.v1._generated import EndpointConfigSpecBase
from smk8s.api.v1.base import ApiModel
from smk8s.api.v1.common import AwsTarget, CommonStatus, Time


class EndpointConfigSpec(EndpointConfigSpecBase, AwsTarget):
    """The endpoint configuration: the members of a CreateEndpointConfig request but its name, plus where."""


class EndpointConfigStatus(CommonStatus):
    """The observed state of the endpoint configuration."""

    status: str | SkipJsonSchema[None] = Field(
        default=None, alias="status", description="The state of the endpoint configuration: Created, Deleted or Error.")
    sage_maker_endpoint_config_name: str | SkipJsonSchema[None] = Field(
        default=None, alias="sageMakerEndpointConfigName",
        description="The name of the endpoint configuration in SageMaker.")
    endpoint_config_arn: str | SkipJsonSchema[None] = Field(
        default=None, alias="endpointConfigArn", description="The ARN of the endpoint configuration.")
    last_update_time: Time | SkipJsonSchema[None] = Field(
        default=None, alias="lastUpdateTime",
        description="When the controller last created or replaced the configuration.")


class EndpointConfig(ApiModel):
    """A SageMaker endpoint configuration."""

    api_version: Literal["sagemaker.aws.amazon.com/v1"] = Field(
        default="sagemaker.aws.amazon.com/v1", alias="apiVersion")
    kind: Literal["EndpointConfig"] = Field(default="EndpointConfig", alias="kind")
    metadata: dict[str, Any] = Field(default_factory=dict, alias="metadata")
    spec: EndpointConfigSpec = Field(alias="spec")
    status: EndpointConfigStatus | SkipJsonSchema[None] = Field(default=None, alias="status")


__all__ = ["EndpointConfig", "EndpointConfigSpec", "EndpointConfigStatus"]
