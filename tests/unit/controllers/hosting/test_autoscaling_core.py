"""The HostingAutoscalingPolicy controller's pure diff: only differences are applied."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from smk8s.api.v1.hosting_autoscaling_policy import HostingAutoscalingPolicySpec
from smk8s.controllers.hosting import autoscaling_core as ac

SAMPLES = Path(__file__).resolve().parents[4] / "config" / "samples"
EP1 = "endpoint/xgboost-mnist-endpoint/variant/AllTraffic"
EP2 = "endpoint/xgboost-multi-model/variant/AllTraffic"
DIM = "sagemaker:variant:DesiredInstanceCount"


def spec(sample: str = "predefined-metric", **changes: Any) -> HostingAutoscalingPolicySpec:
    raw = yaml.safe_load((SAMPLES / f"hostingautoscalingpolicy-{sample}.yaml").read_text())["spec"]
    raw.update(changes)
    return HostingAutoscalingPolicySpec.model_validate(raw)


def reported(want: ac.Desired) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """What Application Auto Scaling reports once ``want`` is applied (as it renders items: floats, extras)."""
    targets = [{**{k: v for k, v in t.items()}, "CreationTime": 1.0, "RoleARN": "arn:slr",
                "ScalableTargetARN": f"arn:{rid}"} for rid, t in want.targets.items()]
    policies = []
    for rid, p in want.policies.items():
        rendered = copy.deepcopy(p)
        rendered["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] = float(
            rendered["TargetTrackingScalingPolicyConfiguration"]["TargetValue"])
        policies.append({**rendered, "PolicyARN": f"arn:policy:{rid}", "Alarms": [], "CreationTime": 1.0})
    return targets, policies


def test_nothing_registered_registers_and_puts_every_listed_variant() -> None:
    want = ac.desired(spec())
    plan = ac.diff(want, [], [])
    assert [r["ResourceId"] for r in plan.register] == [EP1, EP2]
    assert [p["ResourceId"] for p in plan.put] == [EP1, EP2]
    assert plan.register[0]["SuspendedState"] == {m: False for m in ac.SUSPENDED_MEMBERS}
    assert plan.put[0]["PolicyName"] == "SageMakerEndpointInvocationScalingPolicy"
    assert plan.put[0]["PolicyType"] == "TargetTrackingScaling"
    assert not plan.deregister and not plan.delete_policies


def test_what_is_applied_already_gives_an_empty_plan() -> None:
    want = ac.desired(spec("custom-metric"))
    targets, policies = reported(want)
    assert ac.diff(want, targets, policies, previous_ids=[EP1], previous_policy_name=want.policy_name).empty


def test_a_changed_capacity_reregisters_only_that_target_and_puts_no_policy() -> None:
    targets, policies = reported(ac.desired(spec()))
    want = ac.desired(spec(maxCapacity=5))
    plan = ac.diff(want, targets, policies, previous_ids=[EP1, EP2])
    assert [r["MaxCapacity"] for r in plan.register] == [5, 5] and not plan.put


def test_unsuspending_sends_the_full_suspended_state() -> None:
    targets, policies = reported(ac.desired(spec("custom-metric")))
    want = ac.desired(spec("custom-metric", suspendedState={}))
    plan = ac.diff(want, targets, policies, previous_ids=[EP1])
    assert plan.register[0]["SuspendedState"]["DynamicScalingInSuspended"] is False and not plan.put


def test_a_changed_target_value_puts_the_policy_again_without_registering() -> None:
    targets, policies = reported(ac.desired(spec()))
    raw = yaml.safe_load((SAMPLES / "hostingautoscalingpolicy-predefined-metric.yaml").read_text())["spec"]
    raw["targetTrackingScalingPolicyConfiguration"]["targetValue"] = 90
    want = ac.desired(HostingAutoscalingPolicySpec.model_validate(raw))
    plan = ac.diff(want, targets, policies, previous_ids=[EP1, EP2])
    assert not plan.register and [p["TargetTrackingScalingPolicyConfiguration"]["TargetValue"]
                                  for p in plan.put] == [90, 90]


def test_disable_scale_in_false_equals_an_omitted_one() -> None:
    want = ac.desired(spec())
    targets, policies = reported(want)
    for p in policies:
        p["TargetTrackingScalingPolicyConfiguration"]["DisableScaleIn"] = False
    assert ac.diff(want, targets, policies).empty


def test_a_dropped_variant_is_deregistered_and_a_renamed_policy_replaced() -> None:
    targets, policies = reported(ac.desired(spec()))
    want = ac.desired(spec(resourceId=[{"endpointName": "xgboost-mnist-endpoint", "variantName": "AllTraffic"}],
                           policyName="Renamed"))
    plan = ac.diff(want, targets, policies, previous_ids=[EP1, EP2],
                   previous_policy_name="SageMakerEndpointInvocationScalingPolicy")
    assert plan.deregister == (EP2,)
    assert plan.delete_policies == ((EP1, "SageMakerEndpointInvocationScalingPolicy"),)
    assert [p["PolicyName"] for p in plan.put] == ["Renamed"] and not plan.register


def test_a_recorded_resource_already_gone_is_not_deregistered_again() -> None:
    want = ac.desired(spec(resourceId=[{"endpointName": "xgboost-mnist-endpoint", "variantName": "AllTraffic"}]))
    targets, policies = reported(want)
    assert ac.diff(want, targets, policies, previous_ids=[EP1, EP2]).deregister == ()


def test_items_of_other_dimensions_or_namespaces_are_ignored() -> None:
    want = ac.desired(spec())
    targets, policies = reported(want)
    for t in targets:
        t["ScalableDimension"] = "sagemaker:variant:DesiredProvisionedConcurrency"
    assert len(ac.diff(want, targets, policies).register) == 2


def test_plan_without_skips_waiting_resources_only() -> None:
    plan = ac.diff(ac.desired(spec()), [], [])
    rest = plan.without([EP2])
    assert [r["ResourceId"] for r in rest.register] == [EP1] and [p["ResourceId"] for p in rest.put] == [EP1]


def test_endpoint_of() -> None:
    assert ac.endpoint_of(EP1) == "xgboost-mnist-endpoint"
    assert ac.endpoint_of("table/x") is None
