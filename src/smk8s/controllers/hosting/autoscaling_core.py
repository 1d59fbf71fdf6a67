"""Pure decisions of the HostingAutoscalingPolicy controller (no I/O): the desired state and its diff.

The desired state of a policy object is one scalable target and one scaling policy per ``resourceId`` entry
(``endpoint/<endpoint>/variant/<variant>``). :func:`diff` compares it with what Application Auto Scaling reports
(DescribeScalableTargets, DescribeScalingPolicies) and with what the object's status says was applied before
(``resourceIDList``, ``policyName``), and returns the :class:`Plan`: only the differences.

- a target is (re-)registered when it is absent or its MinCapacity, MaxCapacity, SuspendedState (an omitted member
  means False, as for a new target in AWS) or given RoleARN differ; the request always carries the full
  SuspendedState, so un-suspending works on an existing target (AWS leaves omitted members unchanged);
- a policy is put when it is absent or its type or configuration differ (members left out and ``DisableScaleIn``
  false are equal; numbers compare by value, so ``60`` equals ``60.0``);
- a policy under a previous ``policyName`` on a resource still listed is deleted;
- a target of a resource no longer listed (in ``resourceIDList`` before) is deregistered (AWS deletes its policies
  with it).

Spec defaults (``serviceNamespace``, ``scalableDimension``, ``policyName``, ``policyType``) come from the CRD
schema; the parsed models carry the same defaults only so that a spec read before the schema defaulted it (none, on
a real API server) parses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from smk8s.api.v1 import convert
from smk8s.api.v1.hosting_autoscaling_policy import HostingAutoscalingPolicySpec

SUSPENDED_MEMBERS = ("DynamicScalingInSuspended", "DynamicScalingOutSuspended", "ScheduledScalingSuspended")
POLICY_CONFIG_MEMBERS = ("StepScalingPolicyConfiguration", "TargetTrackingScalingPolicyConfiguration",
                         "PredictiveScalingPolicyConfiguration")
CREATED = "Created"
RECONCILING = "Reconciling"
ERROR = "Error"
ENDPOINT_VARIANT_PREFIX = "endpoint/"


@dataclass(frozen=True)
class Desired:
    """What a spec asks for, per resource ID (spec order)."""

    namespace: str
    dimension: str
    policy_name: str
    targets: dict[str, dict[str, Any]]  # resource ID -> RegisterScalableTarget request
    policies: dict[str, dict[str, Any]]  # resource ID -> PutScalingPolicy request

    @property
    def resource_ids(self) -> list[str]:
        return list(self.targets)


@dataclass(frozen=True)
class Plan:
    """The calls bringing Application Auto Scaling to the desired state, in the order to make them."""

    deregister: tuple[str, ...] = ()  # resource IDs no longer listed
    delete_policies: tuple[tuple[str, str], ...] = ()  # (resource ID, policy name) under a previous name
    register: tuple[dict[str, Any], ...] = ()
    put: tuple[dict[str, Any], ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.deregister or self.delete_policies or self.register or self.put)

    def without(self, resource_ids: Iterable[str]) -> Plan:
        """This plan without registering targets or putting policies on ``resource_ids`` (not ready yet)."""
        skip = set(resource_ids)
        return Plan(self.deregister, self.delete_policies,
                    tuple(r for r in self.register if r["ResourceId"] not in skip),
                    tuple(p for p in self.put if p["ResourceId"] not in skip))


def desired(spec: HostingAutoscalingPolicySpec) -> Desired:
    """The targets and policies ``spec`` asks for."""
    targets: dict[str, dict[str, Any]] = {}
    for request in convert.register_scalable_target_requests(spec):
        request["SuspendedState"] = suspended_state(request.get("SuspendedState"))
        targets[request["ResourceId"]] = request
    policies = {p["ResourceId"]: p for p in convert.put_scaling_policy_requests(spec)}
    return Desired(spec.service_namespace, spec.scalable_dimension, spec.policy_name, targets, policies)


def suspended_state(given: Mapping[str, Any] | None) -> dict[str, bool]:
    """A SuspendedState with every member (omitted ones False)."""
    return {m: bool((given or {}).get(m, False)) for m in SUSPENDED_MEMBERS}


def endpoint_of(resource_id: str) -> str | None:
    """The endpoint name of ``endpoint/<endpoint>/variant/<variant>``, else None."""
    parts = resource_id.split("/")
    if len(parts) == 4 and parts[0] == "endpoint" and parts[2] == "variant":
        return parts[1]
    return None


def diff(
    want: Desired,
    targets: Sequence[Mapping[str, Any]],
    policies: Sequence[Mapping[str, Any]],
    *,
    previous_ids: Sequence[str] = (),
    previous_policy_name: str | None = None,
) -> Plan:
    """The plan from what Application Auto Scaling reports (``targets``, ``policies``) to ``want`` (module
    docstring). ``targets``/``policies`` may hold other resources' items: only ours are looked at."""
    by_target = {t["ResourceId"]: t for t in targets
                 if t.get("ServiceNamespace") == want.namespace and t.get("ScalableDimension") == want.dimension}
    by_policy = {(p["ResourceId"], p["PolicyName"]): p for p in policies
                 if p.get("ServiceNamespace") == want.namespace and p.get("ScalableDimension") == want.dimension}
    register = tuple(r for rid, r in want.targets.items() if not _target_matches(r, by_target.get(rid)))
    put = tuple(p for rid, p in want.policies.items()
                if not _policy_matches(p, by_policy.get((rid, want.policy_name))))
    old_name = previous_policy_name if previous_policy_name and previous_policy_name != want.policy_name else None
    delete_policies = tuple((rid, old_name) for rid in want.targets if old_name and (rid, old_name) in by_policy)
    deregister = tuple(rid for rid in dict.fromkeys(previous_ids) if rid not in want.targets and rid in by_target)
    return Plan(deregister, delete_policies, register, put)


def _target_matches(request: Mapping[str, Any], target: Mapping[str, Any] | None) -> bool:
    if target is None:
        return False
    if request.get("MinCapacity") is not None and target.get("MinCapacity") != request["MinCapacity"]:
        return False
    if request.get("MaxCapacity") is not None and target.get("MaxCapacity") != request["MaxCapacity"]:
        return False
    if request.get("RoleARN") and target.get("RoleARN") != request["RoleARN"]:
        return False
    return suspended_state(target.get("SuspendedState")) == suspended_state(request.get("SuspendedState"))


def _policy_matches(request: Mapping[str, Any], policy: Mapping[str, Any] | None) -> bool:
    if policy is None:
        return False
    if policy.get("PolicyType") != request.get("PolicyType"):
        return False
    return all(normalized(request.get(m)) == normalized(policy.get(m)) for m in POLICY_CONFIG_MEMBERS)


def normalized(value: Any) -> Any:
    """``value`` with None members, empty lists/maps and ``DisableScaleIn: False`` dropped; numbers as floats."""
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            item = normalized(v)
            if item is None or item == [] or item == {} or (k == "DisableScaleIn" and item is False):
                continue
            out[k] = item
        return out or None
    if isinstance(value, list | tuple):
        return [normalized(v) for v in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value
