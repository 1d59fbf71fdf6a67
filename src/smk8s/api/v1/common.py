"""Pieces every kind shares: where the SageMaker API is (region, endpoint), conditions, common status fields.

Status conventions: the original operator's fields keep their names and meaning (``additional`` holds the error or
failure text); new fields follow Kubernetes API conventions: ``conditions`` (metav1.Condition, a list map keyed by
``type``; ``Ready`` on every kind, ``Complete``/``Failed`` on jobs, as batch Jobs have), ``observedGeneration`` and
``lastCheckTime`` (the last time the controller looked at the SageMaker resource).
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from smk8s.api.v1.base import ApiModel

GROUP = "sagemaker.aws.amazon.com"
VERSION = "v1"
API_VERSION = f"{GROUP}/{VERSION}"

# Condition types.
READY, COMPLETE, FAILED = "Ready", "Complete", "Failed"

# A timestamp as Kubernetes writes them: RFC 3339, UTC, whole seconds ("2024-05-01T12:00:00Z").
Time = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


def rfc3339(value: datetime.datetime | float | int | str) -> str:
    """A timestamp (datetime, epoch seconds, or an ISO string) as ``YYYY-MM-DDTHH:MM:SSZ``."""
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, int | float):
        value = datetime.datetime.fromtimestamp(value, tz=datetime.UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class AwsTarget(ApiModel):
    """Where the SageMaker API of an object is: ``region`` (required) and an optional endpoint override."""

    region: Annotated[str, Field(min_length=1)] = Field(
        alias="region",
        description="The AWS region of the SageMaker resource, e.g. us-west-2.",
    )
    sage_maker_endpoint: Annotated[str, Field(json_schema_extra={"pattern": "^(https|http)://.*$"})] | SkipJsonSchema[
        None] = Field(
        default=None,
        alias="sageMakerEndpoint",
        description="Overrides the SageMaker API URL for this object only (e.g. a VPC endpoint).",
    )


class NameValue(ApiModel):
    """A name/value pair (an entry of a map of strings)."""

    name: str = Field(alias="name")
    value: str = Field(alias="value")


class Condition(ApiModel):
    """A condition of the object's state (metav1.Condition)."""

    type: Annotated[str, Field(min_length=1, max_length=316)] = Field(
        alias="type", description="Type of condition: Ready, Complete or Failed.")
    status: Literal["True", "False", "Unknown"] = Field(
        alias="status", description="Status of the condition: True, False or Unknown.")
    observed_generation: Annotated[int, Field(ge=0)] | SkipJsonSchema[None] = Field(
        default=None, alias="observedGeneration", description="The .metadata.generation the condition was set for.")
    last_transition_time: Time = Field(
        alias="lastTransitionTime", description="When the condition last changed from one status to another.")
    reason: Annotated[str, Field(min_length=1, max_length=1024)] = Field(
        alias="reason", description="A CamelCase reason for the condition's last transition.")
    message: Annotated[str, Field(max_length=32768)] = Field(
        alias="message", description="A human readable message about the transition.")


def _conditions_schema(schema: dict[str, Any]) -> None:
    schema["x-kubernetes-list-type"] = "map"
    schema["x-kubernetes-list-map-keys"] = ["type"]


class CommonStatus(ApiModel):
    """Status fields of every kind."""

    conditions: Annotated[list[Condition], Field(json_schema_extra=_conditions_schema)] | SkipJsonSchema[
        None] = Field(default=None, alias="conditions", description="The latest observations of the object's state.")
    observed_generation: Annotated[int, Field(ge=0)] | SkipJsonSchema[None] = Field(
        default=None, alias="observedGeneration", description="The .metadata.generation the status was computed for.")
    last_check_time: Time | SkipJsonSchema[None] = Field(
        default=None, alias="lastCheckTime", description="When the controller last read the resource from SageMaker.")
    additional: str | SkipJsonSchema[None] = Field(
        default=None, alias="additional", description="Error or failure text, for humans.")
    failure_reason: str | SkipJsonSchema[None] = Field(
        default=None, alias="failureReason", description="SageMaker's failure reason, when the resource failed.")

    def condition(self, type_: str) -> Condition | None:
        """The condition of type ``type_``, if set."""
        return next((c for c in self.conditions or () if c.type == type_), None)
