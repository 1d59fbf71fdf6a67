"""The HostingAutoscalingPolicy controller end to end: both emulators in-process (harness: :mod:`.test_model`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from smk8s.controllers.hosting.autoscaling import ENDPOINT_NOT_IN_SERVICE
from smk8s.controllers.jobs import core
from smk8s.sagemaker.autoscaling import AutoScalingApi
from smk8s.sagemaker.errors import DependencyNotReadyError
from tests.integration.controllers.hosting.resources_env import (
    ResourcesEnv,
    condition,
    ready,
    ready_at,
    resources_env,
    sample,
)

NAME = "hap-predefined"
EP1 = "endpoint/xgboost-mnist-endpoint/variant/AllTraffic"
EP2 = "endpoint/xgboost-multi-model/variant/AllTraffic"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"


@pytest.fixture
async def env() -> AsyncIterator[ResourcesEnv]:
    async with resources_env() as running:
        yield running


async def targets(env: ResourcesEnv) -> dict[str, dict[str, Any]]:
    listed = await env.aas("DescribeScalableTargets", ServiceNamespace="sagemaker")
    return {t["ResourceId"]: t for t in listed["ScalableTargets"]}


async def policies(env: ResourcesEnv) -> dict[tuple[str, str], dict[str, Any]]:
    listed = await env.aas("DescribeScalingPolicies", ServiceNamespace="sagemaker")
    return {(p["ResourceId"], p["PolicyName"]): p for p in listed["ScalingPolicies"]}


def status_of(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("status") or {}


async def test_a_policy_on_two_variants_registers_updates_only_differences_and_deregisters(env: ResourcesEnv) -> None:
    await env.endpoint("xgboost-mnist-endpoint")
    await env.endpoint("xgboost-multi-model")
    created = await env.create(sample("hostingautoscalingpolicy-predefined-metric"))
    # Defaults come from the CRD schema: the API server wrote them into the stored spec.
    assert created["spec"]["policyName"] == "SageMakerEndpointInvocationScalingPolicy"
    assert created["spec"]["serviceNamespace"] == "sagemaker" and created["spec"]["scalableDimension"] == DIMENSION
    done = await env.wait("HostingAutoscalingPolicy", NAME, ready)
    status = done["status"]
    assert status["hostingAutoscalingPolicyStatus"] == "Created" and status["resourceIDList"] == [EP1, EP2]
    assert status["policyName"] == "SageMakerEndpointInvocationScalingPolicy" and len(status["policyArns"]) == 2
    assert core.FINALIZER in done["metadata"]["finalizers"]
    registered = await targets(env)
    assert {rid: (t["MinCapacity"], t["MaxCapacity"]) for rid, t in registered.items()} == {EP1: (1, 2), EP2: (1, 2)}
    put = await policies(env)
    assert set(put) == {(EP1, "SageMakerEndpointInvocationScalingPolicy"),
                        (EP2, "SageMakerEndpointInvocationScalingPolicy")}
    config = put[(EP1, "SageMakerEndpointInvocationScalingPolicy")]["TargetTrackingScalingPolicyConfiguration"]
    assert config["TargetValue"] == 60 and config["ScaleInCooldown"] == 700
    assert env.calls("RegisterScalableTarget") == 2 and env.calls("PutScalingPolicy") == 2

    # A capacity edit re-registers the targets and leaves the policies alone.
    patched = await env.patch_spec("HostingAutoscalingPolicy", NAME, {"maxCapacity": 4})
    await env.wait("HostingAutoscalingPolicy", NAME, ready_at(patched["metadata"]["generation"]))
    assert {t["MaxCapacity"] for t in (await targets(env)).values()} == {4}
    assert env.calls("RegisterScalableTarget") == 4 and env.calls("PutScalingPolicy") == 2

    # Dropping a variant deregisters it (and AWS deletes its policy); the other is untouched.
    patched = await env.patch_spec("HostingAutoscalingPolicy", NAME, {"resourceId": [
        {"endpointName": "xgboost-mnist-endpoint", "variantName": "AllTraffic"}]})
    edited = await env.wait("HostingAutoscalingPolicy", NAME, ready_at(patched["metadata"]["generation"]))
    assert edited["status"]["resourceIDList"] == [EP1]
    assert set(await targets(env)) == {EP1} and set(await policies(env)) == {
        (EP1, "SageMakerEndpointInvocationScalingPolicy")}
    assert env.calls("RegisterScalableTarget") == 4 and env.calls("PutScalingPolicy") == 2

    await env.delete("HostingAutoscalingPolicy", NAME)
    await env.wait_gone("HostingAutoscalingPolicy", NAME)
    assert await targets(env) == {} and await policies(env) == {}


async def test_a_policy_waits_for_its_endpoint_to_be_in_service(env: ResourcesEnv) -> None:
    await env.endpoint("xgboost-mnist-endpoint", in_service=False)
    obj = sample("hostingautoscalingpolicy-custom-metric")
    await env.create(obj)
    waiting = await env.wait("HostingAutoscalingPolicy", "hap-custom-metric",
                             lambda o: status_of(o).get("hostingAutoscalingPolicyStatus") == "Reconciling")
    assert condition(waiting, "Ready")["reason"] == ENDPOINT_NOT_IN_SERVICE
    assert "xgboost-mnist-endpoint (Creating)" in waiting["status"]["additional"]
    assert env.calls("RegisterScalableTarget") == 0  # not attempted: no error, no failure status
    env.make_in_service()
    done = await env.wait("HostingAutoscalingPolicy", "hap-custom-metric", ready)
    assert "additional" not in done["status"]
    target = (await targets(env))[EP1]
    assert target["SuspendedState"]["DynamicScalingInSuspended"] is True
    policy = (await policies(env))[(EP1, "CPUUtilizationScalingPolicy")]
    custom = policy["TargetTrackingScalingPolicyConfiguration"]["CustomizedMetricSpecification"]
    assert custom["Dimensions"] == [{"Name": "EndpointName", "Value": "xgboost-mnist-endpoint"},
                                    {"Name": "VariantName", "Value": "AllTraffic"}]


async def test_a_refused_policy_is_reported_once_and_retried_only_after_an_edit(env: ResourcesEnv) -> None:
    await env.endpoint("xgboost-mnist-endpoint")
    obj = sample("hostingautoscalingpolicy-custom-metric")
    obj["spec"]["minCapacity"] = 5  # above maxCapacity: Application Auto Scaling refuses it
    await env.create(obj)
    failed = await env.wait("HostingAutoscalingPolicy", "hap-custom-metric",
                            lambda o: status_of(o).get("hostingAutoscalingPolicyStatus") == "Error")
    assert condition(failed, "Ready")["reason"] == core.INVALID_SPEC
    assert "capacity" in failed["status"]["additional"]
    assert env.calls("RegisterScalableTarget") == 1
    patched = await env.patch_spec("HostingAutoscalingPolicy", "hap-custom-metric", {"minCapacity": 1})
    await env.wait("HostingAutoscalingPolicy", "hap-custom-metric", ready_at(patched["metadata"]["generation"]))
    assert env.calls("RegisterScalableTarget") == 2


async def test_a_target_deregistered_behind_our_back_is_registered_again(env: ResourcesEnv) -> None:
    await env.endpoint("xgboost-mnist-endpoint")
    await env.create(sample("hostingautoscalingpolicy-custom-metric"))
    await env.wait("HostingAutoscalingPolicy", "hap-custom-metric", ready)
    await env.aas("DeregisterScalableTarget", ServiceNamespace="sagemaker", ResourceId=EP1,
                  ScalableDimension=DIMENSION)
    await env.wait_event("hap-custom-metric", "PolicyPut", count=2)
    assert set(await targets(env)) == {EP1} and (EP1, "CPUUtilizationScalingPolicy") in await policies(env)


async def test_the_retain_policy_leaves_targets_and_policies() -> None:
    async with resources_env(deletion_policy="retain") as env:
        await env.endpoint("xgboost-mnist-endpoint")
        await env.create(sample("hostingautoscalingpolicy-custom-metric"))
        await env.wait("HostingAutoscalingPolicy", "hap-custom-metric", ready)
        await env.delete("HostingAutoscalingPolicy", "hap-custom-metric")
        await env.wait_gone("HostingAutoscalingPolicy", "hap-custom-metric")
        assert set(await targets(env)) == {EP1}


async def test_the_facade_waits_on_an_endpoint_not_in_service_and_tolerates_absent_items(env: ResourcesEnv) -> None:
    await env.endpoint("xgboost-mnist-endpoint", in_service=False)
    scaling = AutoScalingApi(env.sagemaker.at("us-west-2"))
    request = {"ServiceNamespace": "sagemaker", "ResourceId": EP1, "ScalableDimension": DIMENSION,
               "MinCapacity": 1, "MaxCapacity": 2}
    with pytest.raises(DependencyNotReadyError) as raised:
        await scaling.register_scalable_target(request)
    assert raised.value.retryable and "InService" in raised.value.message  # Application Auto Scaling's text
    assert not await scaling.deregister_scalable_target("sagemaker", EP1, DIMENSION)
    assert not await scaling.delete_scaling_policy("sagemaker", EP1, DIMENSION, "absent")
    env.make_in_service()
    assert (await scaling.register_scalable_target(request)).startswith("arn:")
    assert [t["ResourceId"] for t in await scaling.describe_scalable_targets("sagemaker", [EP1, EP2])] == [EP1]
    assert await scaling.deregister_scalable_target("sagemaker", EP1, DIMENSION)
