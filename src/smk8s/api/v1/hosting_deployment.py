"""HostingDeployment: a SageMaker endpoint with its models and endpoint configuration (the original's composite).

The controller makes one SageMaker model per ``models[]`` entry and one endpoint configuration whose variants'
``modelName`` name entries of ``models`` (not SageMaker models), then creates or updates the endpoint.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from smk8s.api.v1._generated import HostingDeploymentModelBase, HostingDeploymentSpecBase
from smk8s.api.v1.base import ApiModel
from smk8s.api.v1.common import AwsTarget, CommonStatus, NameValue, Time


class HostingDeploymentModel(HostingDeploymentModelBase):
    """A model of the deployment: a CreateModel request whose name is ``name`` and primary container a hostname."""

    name: Annotated[str, Field(min_length=1, max_length=63)] = Field(
        alias="name", description="The name of the model within this deployment (what variants' modelName refer to).")
    primary_container: str | SkipJsonSchema[None] = Field(
        default=None, alias="primaryContainer",
        description="The containerHostname of the container to use as primary container when there are several.")


class HostingDeploymentSpec(HostingDeploymentSpecBase, AwsTarget):
    """The endpoint to run: its models, its variants (an endpoint configuration) and how to update it."""

    models: Annotated[list[HostingDeploymentModel], Field(min_length=1)] = Field(
        alias="models", description="The models the production variants serve.")


class DeployedImage(ApiModel):
    """An image deployed on a variant."""

    specified_image: str | SkipJsonSchema[None] = Field(default=None, alias="specifiedImage")
    resolved_image: str | SkipJsonSchema[None] = Field(default=None, alias="resolvedImage")
    resolution_time: Time | SkipJsonSchema[None] = Field(default=None, alias="resolutionTime")


class ProductionVariantSummary(ApiModel):
    """The state of a production variant of the endpoint."""

    variant_name: str | SkipJsonSchema[None] = Field(default=None, alias="variantName")
    current_instance_count: int | SkipJsonSchema[None] = Field(default=None, alias="currentInstanceCount")
    desired_instance_count: int | SkipJsonSchema[None] = Field(default=None, alias="desiredInstanceCount")
    current_weight: float | SkipJsonSchema[None] = Field(default=None, alias="currentWeight")
    desired_weight: float | SkipJsonSchema[None] = Field(default=None, alias="desiredWeight")
    deployed_images: list[DeployedImage] | SkipJsonSchema[None] = Field(default=None, alias="deployedImages")


class HostingDeploymentStatus(CommonStatus):
    """The observed state of the endpoint."""

    endpoint_status: str | SkipJsonSchema[None] = Field(
        default=None, alias="endpointStatus",
        description="The status of the endpoint: Creating, InService, Updating, Failed, Deleting...")
    endpoint_name: str | SkipJsonSchema[None] = Field(
        default=None, alias="endpointName", description="The name of the endpoint in SageMaker.")
    endpoint_config_name: str | SkipJsonSchema[None] = Field(
        default=None, alias="endpointConfigName", description="The name of the endpoint's current configuration.")
    endpoint_url: str | SkipJsonSchema[None] = Field(
        default=None, alias="endpointUrl", description="The URL to invoke the endpoint at.")
    endpoint_arn: str | SkipJsonSchema[None] = Field(
        default=None, alias="endpointArn", description="The endpoint's ARN.")
    creation_time: Time | SkipJsonSchema[None] = Field(default=None, alias="creationTime")
    last_modified_time: Time | SkipJsonSchema[None] = Field(default=None, alias="lastModifiedTime")
    production_variants: list[ProductionVariantSummary] | SkipJsonSchema[None] = Field(
        default=None, alias="productionVariants", description="The state of each production variant.")
    model_names: list[NameValue] | SkipJsonSchema[None] = Field(
        default=None, alias="modelNames", description="name: a model of the spec; value: its SageMaker model name.")


class HostingDeployment(ApiModel):
    """A SageMaker endpoint with its models and configuration."""

    api_version: Literal["sagemaker.aws.amazon.com/v1"] = Field(
        default="sagemaker.aws.amazon.com/v1", alias="apiVersion")
    kind: Literal["HostingDeployment"] = Field(default="HostingDeployment", alias="kind")
    metadata: dict[str, Any] = Field(default_factory=dict, alias="metadata")
    spec: HostingDeploymentSpec = Field(alias="spec")
    status: HostingDeploymentStatus | SkipJsonSchema[None] = Field(default=None, alias="status")


__all__ = ["DeployedImage", "HostingDeployment", "HostingDeploymentModel", "HostingDeploymentSpec",
           "HostingDeploymentStatus", "ProductionVariantSummary"]
