"""HostingAutoscalingPolicy: Application Auto Scaling of endpoint variants (the original's composite, ``hap``).

For every ``resourceId`` entry (endpoint/variant) the controller registers a scalable target (RegisterScalableTarget)
and puts the scaling policy (PutScalingPolicy). ``policyName``, ``policyType``, ``scalableDimension`` and
``serviceNamespace`` default to the original operator's values.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from smk8s.api.v1._generated import HostingAutoscalingPolicySpecBase
from smk8s.api.v1.base import ApiModel
from smk8s.api.v1.common import AwsTarget, CommonStatus


class AutoscalingResource(ApiModel):
    """An endpoint variant to scale: ``endpoint/<endpointName>/variant/<variantName>``."""

    endpoint_name: Annotated[str, Field(min_length=1, max_length=63)] = Field(
        alias="endpointName", description="The SageMaker name of the endpoint.")
    variant_name: Annotated[str, Field(min_length=1, max_length=63)] = Field(
        alias="variantName", description="The name of the variant.")

    def resource_id(self) -> str:
        return f"endpoint/{self.endpoint_name}/variant/{self.variant_name}"


class HostingAutoscalingPolicySpec(HostingAutoscalingPolicySpecBase, AwsTarget):
    """The variants to scale and how."""

    resource_id: Annotated[list[AutoscalingResource], Field(min_length=1)] = Field(
        alias="resourceId", description="The endpoint variants the policy applies to.")


class HostingAutoscalingPolicyStatus(CommonStatus):
    """The observed state of the policy."""

    hosting_autoscaling_policy_status: str | SkipJsonSchema[None] = Field(
        default=None, alias="hostingAutoscalingPolicyStatus",
        description="The state of the policy: Reconciling, Created, Deleted or Error.")
    policy_name: str | SkipJsonSchema[None] = Field(default=None, alias="policyName", description="The policy's name.")
    resource_id_list: list[str] | SkipJsonSchema[None] = Field(
        default=None, alias="resourceIDList", description="The resource IDs the policy was applied to.")
    policy_arns: list[str] | SkipJsonSchema[None] = Field(
        default=None, alias="policyArns", description="The ARNs of the scaling policies, one per resource.")


class HostingAutoscalingPolicy(ApiModel):
    """Application Auto Scaling of SageMaker endpoint variants."""

    api_version: Literal["sagemaker.aws.amazon.com/v1"] = Field(
        default="sagemaker.aws.amazon.com/v1", alias="apiVersion")
    kind: Literal["HostingAutoscalingPolicy"] = Field(default="HostingAutoscalingPolicy", alias="kind")
    metadata: dict[str, Any] = Field(default_factory=dict, alias="metadata")
    spec: HostingAutoscalingPolicySpec = Field(alias="spec")
    status: HostingAutoscalingPolicyStatus | SkipJsonSchema[None] = Field(default=None, alias="status")


__all__ = ["AutoscalingResource", "HostingAutoscalingPolicy", "HostingAutoscalingPolicySpec",
           "HostingAutoscalingPolicyStatus"]
