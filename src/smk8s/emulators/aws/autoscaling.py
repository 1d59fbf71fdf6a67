"""Application Auto Scaling (``AnyScaleFrontendService.*``): scalable targets and scaling policies.

Scope: every service namespace is stored, but only SageMaker endpoint variants (``ResourceId``
``endpoint/<endpoint>/variant/<variant>``, ``ScalableDimension`` ``sagemaker:variant:DesiredInstanceCount``) are
checked against the emulated SageMaker. Contracts (texts as Application Auto Scaling answers, see the tests):

- RegisterScalableTarget on a missing endpoint or variant, or on an endpoint that is not InService, is a
  ``ValidationException``; the not-InService text contains "The status should be in 'InService' to register it as a
  scalable target" (the phrase the original operator matches). Registering an existing target updates it (only the
  members given change); a new target needs MinCapacity and MaxCapacity.
- DeregisterScalableTarget / PutScalingPolicy on an unregistered target: ``ObjectNotFoundException`` "No scalable
  target registered for service namespace: ..., resource ID: ..., scalable dimension: ...". Deregistering also
  deletes the target's policies (documented AWS behaviour).
- DeleteScalingPolicy of an unknown policy: ``ObjectNotFoundException`` "No scaling policy found for service
  namespace: ..., resource ID: ..., scalable dimension: ..., policy name: ...".
- PutScalingPolicy with ``TargetTrackingScaling`` creates the CloudWatch alarms AWS creates (AlarmHigh, and AlarmLow
  unless DisableScaleIn) and answers their names and ARNs; re-putting a policy keeps its ARN.
- Describe* page with ``MaxResults`` (targets: default/max 50; policies: default/max 10) and an opaque
  ``NextToken``; a token that does not decode is ``InvalidNextTokenException``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from smk8s.emulators.aws.errors import AwsError, validation

if TYPE_CHECKING:
    from smk8s.emulators.aws.world import Handler, World

SAGEMAKER = "sagemaker"
VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
SAGEMAKER_DIMENSIONS = frozenset(
    {
        VARIANT_DIMENSION,
        "sagemaker:variant:DesiredProvisionedConcurrency",
        "sagemaker:inference-component:DesiredCopyCount",
    }
)
SAGEMAKER_PREDEFINED_METRICS = frozenset(
    {
        "SageMakerVariantInvocationsPerInstance",
        "SageMakerVariantProvisionedConcurrencyUtilization",
        "SageMakerVariantConcurrentRequestsPerModelHighResolution",
        "SageMakerInferenceComponentInvocationsPerCopy",
        "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution",
    }
)
VARIANT_RESOURCE = re.compile(r"^endpoint/(?P<endpoint>[^/]+)/variant/(?P<variant>[^/]+)$")
TARGETS_MAX_RESULTS = 50
POLICIES_MAX_RESULTS = 10

TargetKey = tuple[str, str, str]  # (namespace, resource id, dimension)


@dataclass
class ScalableTarget:
    namespace: str
    resource_id: str
    dimension: str
    min_capacity: int
    max_capacity: int
    role_arn: str
    creation_time: float
    arn: str
    suspended: dict[str, bool]

    def render(self) -> dict[str, Any]:
        return {
            "ServiceNamespace": self.namespace,
            "ResourceId": self.resource_id,
            "ScalableDimension": self.dimension,
            "MinCapacity": self.min_capacity,
            "MaxCapacity": self.max_capacity,
            "RoleARN": self.role_arn,
            "CreationTime": self.creation_time,
            "SuspendedState": dict(self.suspended),
            "ScalableTargetARN": self.arn,
        }


@dataclass
class ScalingPolicy:
    name: str
    namespace: str
    resource_id: str
    dimension: str
    arn: str
    policy_type: str
    configuration: dict[str, Any]  # the *PolicyConfiguration member(s) as put
    alarms: list[dict[str, str]]
    creation_time: float

    def render(self) -> dict[str, Any]:
        return {
            "PolicyARN": self.arn,
            "PolicyName": self.name,
            "ServiceNamespace": self.namespace,
            "ResourceId": self.resource_id,
            "ScalableDimension": self.dimension,
            "PolicyType": self.policy_type,
            **self.configuration,
            "Alarms": [dict(a) for a in self.alarms],
            "CreationTime": self.creation_time,
        }


@dataclass
class AutoScalingState:
    """Scalable targets and scaling policies, in registration order."""

    targets: dict[TargetKey, ScalableTarget] = field(default_factory=dict)
    policies: dict[tuple[str, str, str, str], ScalingPolicy] = field(default_factory=dict)

    def snapshot(self) -> dict[str, Any]:
        """Targets and policies as Describe* render them (for the control API's ``GET state``)."""
        return {"scalable_targets": [t.render() for t in self.targets.values()],
                "scaling_policies": [p.render() for p in self.policies.values()]}


# ---------------------------------------------------------------------------------------------------------- helpers


def object_not_found(message: str) -> AwsError:
    return AwsError("ObjectNotFoundException", message)


def _key(request: Mapping[str, Any]) -> TargetKey:
    return (request["ServiceNamespace"], request["ResourceId"], request["ScalableDimension"])


def _no_target(key: TargetKey) -> AwsError:
    return object_not_found(
        f"No scalable target registered for service namespace: {key[0]}, resource ID: {key[1]}, "
        f"scalable dimension: {key[2]}"
    )


def _check_sagemaker_variant(world: World, key: TargetKey) -> None:
    """The checks Application Auto Scaling makes against SageMaker when registering a variant."""
    namespace, resource_id, dimension = key
    if namespace != SAGEMAKER:
        return
    match = VARIANT_RESOURCE.match(resource_id)
    if dimension not in SAGEMAKER_DIMENSIONS or (dimension.startswith("sagemaker:variant:") and match is None):
        raise validation("Unsupported service namespace, resource type or scalable dimension")
    if match is None:
        return  # inference components are not emulated
    endpoint_name, variant = match["endpoint"], match["variant"]
    endpoint = world.sagemaker.hosting.endpoint(endpoint_name)
    if endpoint is None:
        raise validation(f"The endpoint '{endpoint_name}' does not exist.")
    if endpoint.status != "InService":
        raise validation(
            f"The endpoint '{endpoint_name}' is in status {endpoint.status}. "
            "The status should be in 'InService' to register it as a scalable target."
        )
    if variant not in endpoint.variant_names():
        raise validation(f"The variant '{variant}' does not exist for the endpoint '{endpoint_name}'.")


def _service_linked_role(world: World, namespace: str) -> str:
    if namespace == SAGEMAKER:
        return (
            f"arn:{world.partition}:iam::{world.account_id}:role/aws-service-role/"
            "sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
        )
    role = "AWSServiceRoleForApplicationAutoScaling"
    return f"arn:{world.partition}:iam::{world.account_id}:role/aws-service-role/{role}"


def _hex(world: World, n: int) -> str:
    return "".join(world.rand.choice("0123456789abcdef") for _ in range(n))


def _uuid(world: World) -> str:
    return str(uuid.UUID(int=world.rand.getrandbits(128), version=4))


def _encode_token(index: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"i": index}).encode()).decode()


def _page(items: list[Any], request: Mapping[str, Any], limit_max: int) -> tuple[list[Any], str | None]:
    start = 0
    token = request.get("NextToken")
    if token:
        try:
            payload = json.loads(base64.urlsafe_b64decode(token.encode()).decode())
            start = int(payload["i"])
        except (binascii.Error, ValueError, UnicodeDecodeError, KeyError, TypeError) as exc:
            raise AwsError("InvalidNextTokenException", "Invalid token") from exc
    limit = min(int(request.get("MaxResults") or limit_max), limit_max)
    window = items[start:start + limit]
    end = start + len(window)
    return window, (_encode_token(end) if end < len(items) else None)


# ------------------------------------------------------------------------------------------------------- operations


def register_scalable_target(world: World, request: dict[str, Any]) -> dict[str, Any]:
    state = world.autoscaling
    key = _key(request)
    _check_sagemaker_variant(world, key)
    existing = state.targets.get(key)
    lo, hi = request.get("MinCapacity"), request.get("MaxCapacity")
    if existing is None and (lo is None or hi is None):
        raise validation("MinCapacity and MaxCapacity are required for registering a new scalable target.")
    new_lo = existing.min_capacity if lo is None and existing else int(lo) if lo is not None else 0
    new_hi = existing.max_capacity if hi is None and existing else int(hi) if hi is not None else 0
    if new_lo > new_hi:
        raise validation(f"Maximum capacity ({new_hi}) cannot be less than minimum capacity ({new_lo}).")
    suspended_in = request.get("SuspendedState") or {}
    if existing is not None:
        existing.min_capacity, existing.max_capacity = new_lo, new_hi
        for member in ("DynamicScalingInSuspended", "DynamicScalingOutSuspended", "ScheduledScalingSuspended"):
            if member in suspended_in:
                existing.suspended[member] = bool(suspended_in[member])
        return {"ScalableTargetARN": existing.arn}
    target = ScalableTarget(
        namespace=key[0],
        resource_id=key[1],
        dimension=key[2],
        min_capacity=new_lo,
        max_capacity=new_hi,
        role_arn=request.get("RoleARN") or _service_linked_role(world, key[0]),
        creation_time=world.clock.now(),
        arn=world.arn("application-autoscaling", f"scalable-target/{_hex(world, 36)}"),
        suspended={
            member: bool(suspended_in.get(member, False))
            for member in ("DynamicScalingInSuspended", "DynamicScalingOutSuspended", "ScheduledScalingSuspended")
        },
    )
    state.targets[key] = target
    return {"ScalableTargetARN": target.arn}


def describe_scalable_targets(world: World, request: dict[str, Any]) -> dict[str, Any]:
    ids = set(request.get("ResourceIds") or [])
    dimension = request.get("ScalableDimension")
    items = [
        t
        for t in world.autoscaling.targets.values()
        if t.namespace == request["ServiceNamespace"]
        and (not ids or t.resource_id in ids)
        and (dimension is None or t.dimension == dimension)
    ]
    window, token = _page(items, request, TARGETS_MAX_RESULTS)
    out: dict[str, Any] = {"ScalableTargets": [t.render() for t in window]}
    if token is not None:
        out["NextToken"] = token
    return out


def deregister_scalable_target(world: World, request: dict[str, Any]) -> dict[str, Any]:
    state = world.autoscaling
    key = _key(request)
    if state.targets.pop(key, None) is None:
        raise _no_target(key)
    for pkey in [k for k in state.policies if k[:3] == key]:
        del state.policies[pkey]
    return {}


def _alarms(world: World, resource_id: str, policy_type: str, configuration: dict[str, Any]) -> list[dict[str, str]]:
    if policy_type != "TargetTrackingScaling":
        return []
    tt = configuration["TargetTrackingScalingPolicyConfiguration"]
    kinds = ["AlarmHigh"] if tt.get("DisableScaleIn") else ["AlarmHigh", "AlarmLow"]
    alarms = []
    for kind in kinds:
        name = f"TargetTracking-{resource_id}-{kind}-{_uuid(world)}"
        alarms.append({"AlarmName": name, "AlarmARN": world.arn("cloudwatch", f"alarm:{name}")})
    return alarms


def put_scaling_policy(world: World, request: dict[str, Any]) -> dict[str, Any]:
    state = world.autoscaling
    key = _key(request)
    if key not in state.targets:
        raise _no_target(key)
    policy_type = request.get("PolicyType") or "StepScaling"
    member = {
        "StepScaling": "StepScalingPolicyConfiguration",
        "TargetTrackingScaling": "TargetTrackingScalingPolicyConfiguration",
        "PredictiveScaling": "PredictiveScalingPolicyConfiguration",
    }[policy_type]
    if request.get(member) is None:
        raise validation(f"{member} is required for a policy of type {policy_type}")
    configuration = {member: request[member]}
    if policy_type == "TargetTrackingScaling":
        tt = request[member]
        predefined = tt.get("PredefinedMetricSpecification")
        custom = tt.get("CustomizedMetricSpecification")
        if (predefined is None) == (custom is None):
            raise validation(
                "Either PredefinedMetricSpecification or CustomizedMetricSpecification must be specified, not both"
            )
        if predefined is not None and key[0] == SAGEMAKER:
            metric = predefined["PredefinedMetricType"]
            if metric not in SAGEMAKER_PREDEFINED_METRICS:
                raise validation(f"Unsupported metric type {metric} for service namespace {SAGEMAKER}")
        if custom is not None and not custom.get("Metrics") and not (custom.get("MetricName") and custom.get(
                "Namespace") and custom.get("Statistic")):
            raise validation("MetricName, Namespace and Statistic are required for a customized metric specification")
    pkey = (*key, request["PolicyName"])
    existing = state.policies.get(pkey)
    arn = existing.arn if existing else world.arn(
        "autoscaling",
        f"scalingPolicy:{_uuid(world)}:resource/{key[0]}/{key[1]}:policyName/{request['PolicyName']}",
    )
    policy = ScalingPolicy(
        name=request["PolicyName"],
        namespace=key[0],
        resource_id=key[1],
        dimension=key[2],
        arn=arn,
        policy_type=policy_type,
        configuration=configuration,
        alarms=_alarms(world, key[1], policy_type, configuration),
        creation_time=existing.creation_time if existing else world.clock.now(),
    )
    state.policies[pkey] = policy
    out: dict[str, Any] = {"PolicyARN": policy.arn}
    if policy.alarms:
        out["Alarms"] = [dict(a) for a in policy.alarms]
    return out


def describe_scaling_policies(world: World, request: dict[str, Any]) -> dict[str, Any]:
    names = set(request.get("PolicyNames") or [])
    resource_id = request.get("ResourceId")
    dimension = request.get("ScalableDimension")
    items = [
        p
        for p in world.autoscaling.policies.values()
        if p.namespace == request["ServiceNamespace"]
        and (not names or p.name in names)
        and (resource_id is None or p.resource_id == resource_id)
        and (dimension is None or p.dimension == dimension)
    ]
    window, token = _page(items, request, POLICIES_MAX_RESULTS)
    out: dict[str, Any] = {"ScalingPolicies": [p.render() for p in window]}
    if token is not None:
        out["NextToken"] = token
    return out


def delete_scaling_policy(world: World, request: dict[str, Any]) -> dict[str, Any]:
    key = _key(request)
    pkey = (*key, request["PolicyName"])
    if world.autoscaling.policies.pop(pkey, None) is None:
        raise object_not_found(
            f"No scaling policy found for service namespace: {key[0]}, resource ID: {key[1]}, "
            f"scalable dimension: {key[2]}, policy name: {request['PolicyName']}"
        )
    return {}


OPERATIONS: Mapping[str, Handler] = {
    "RegisterScalableTarget": register_scalable_target,
    "DescribeScalableTargets": describe_scalable_targets,
    "DeregisterScalableTarget": deregister_scalable_target,
    "PutScalingPolicy": put_scaling_policy,
    "DescribeScalingPolicies": describe_scaling_policies,
    "DeleteScalingPolicy": delete_scaling_policy,
}
