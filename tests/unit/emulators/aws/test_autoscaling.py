"""Application Auto Scaling for SageMaker variants (handlers called directly).

Error texts: "No scalable target registered for service namespace: ..., resource ID: ..., scalable dimension: ..."
(ObjectNotFoundException) as users report it (ansible/ansible#40237, PutScalingPolicy); "No scaling policy found
for service namespace: ..." for DeleteScalingPolicy; "The status should be in 'InService' to register it as a
scalable target" is the phrase the original operator matches (HDPendingMessage in its application-autoscaling
client wrapper).
"""

from __future__ import annotations

from typing import Any

import pytest

from smk8s.emulators.aws import autoscaling
from smk8s.emulators.aws.clock import VirtualClock
from smk8s.emulators.aws.errors import AwsError
from smk8s.emulators.aws.sagemaker import hosting
from smk8s.emulators.aws.world import World, new_world
from tests.support.aws_shapes import assert_output_shape
from tests.unit.emulators.aws.sagemaker.test_hosting import later, make_config, make_model

RESOURCE = "endpoint/ep/variant/AllTraffic"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
TARGET = {"ServiceNamespace": "sagemaker", "ResourceId": RESOURCE, "ScalableDimension": DIMENSION}
POLICY = {
    **TARGET,
    "PolicyName": "SageMakerEndpointInvocationScalingPolicy",
    "PolicyType": "TargetTrackingScaling",
    "TargetTrackingScalingPolicyConfiguration": {
        "TargetValue": 70.0,
        "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
        "ScaleInCooldown": 300,
        "ScaleOutCooldown": 60,
    },
}


def call(world: World, operation: str, **request: Any) -> dict[str, Any]:
    world.advance()
    response = autoscaling.OPERATIONS[operation](world, request)
    assert_output_shape("application-autoscaling", operation, response)
    return response


def error_of(world: World, operation: str, **request: Any) -> AwsError:
    world.advance()
    with pytest.raises(AwsError) as info:
        autoscaling.OPERATIONS[operation](world, request)
    return info.value


@pytest.fixture
def world() -> World:
    w = new_world(clock=VirtualClock(start=1_700_000_000.0, monotonic=lambda: 0.0))
    make_model(w)
    make_config(w)
    hosting.create_endpoint(w, {"EndpointName": "ep", "EndpointConfigName": "c1"})
    return w


def ready(world: World) -> None:
    later(world, hosting.CREATE_SECONDS)


def test_register_describe_deregister(world: World) -> None:
    ready(world)
    arn = call(world, "RegisterScalableTarget", **TARGET, MinCapacity=1, MaxCapacity=4)["ScalableTargetARN"]
    assert arn.startswith("arn:aws:application-autoscaling:us-west-2:123456789012:scalable-target/")
    [target] = call(world, "DescribeScalableTargets", ServiceNamespace="sagemaker")["ScalableTargets"]
    assert target == {
        **TARGET,
        "MinCapacity": 1,
        "MaxCapacity": 4,
        "RoleARN": "arn:aws:iam::123456789012:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
        "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
        "CreationTime": world.clock.now(),
        "SuspendedState": {"DynamicScalingInSuspended": False, "DynamicScalingOutSuspended": False,
                           "ScheduledScalingSuspended": False},
        "ScalableTargetARN": arn,
    }
    # Registering again updates only what is given, and keeps the ARN.
    again = call(world, "RegisterScalableTarget", **TARGET, MaxCapacity=6,
                 SuspendedState={"DynamicScalingInSuspended": True})
    assert again["ScalableTargetARN"] == arn
    [target] = call(world, "DescribeScalableTargets", ServiceNamespace="sagemaker", ResourceIds=[RESOURCE])[
        "ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 6)
    assert target["SuspendedState"]["DynamicScalingInSuspended"] is True
    assert call(world, "DescribeScalableTargets", ServiceNamespace="sagemaker", ResourceIds=["endpoint/x/variant/y"])[
        "ScalableTargets"] == []
    assert call(world, "DescribeScalableTargets", ServiceNamespace="ecs")["ScalableTargets"] == []
    assert call(world, "DeregisterScalableTarget", **TARGET) == {}
    assert call(world, "DescribeScalableTargets", ServiceNamespace="sagemaker")["ScalableTargets"] == []


def test_register_needs_an_in_service_endpoint_and_variant(world: World) -> None:
    err = error_of(world, "RegisterScalableTarget", **TARGET, MinCapacity=1, MaxCapacity=2)  # still Creating
    assert err.code == "ValidationException"
    assert "The status should be in 'InService' to register it as a scalable target" in err.message
    ready(world)
    err = error_of(world, "RegisterScalableTarget", **{**TARGET, "ResourceId": "endpoint/ghost/variant/AllTraffic"},
                   MinCapacity=1, MaxCapacity=2)
    assert err.code == "ValidationException" and "ghost" in err.message
    err = error_of(world, "RegisterScalableTarget", **{**TARGET, "ResourceId": "endpoint/ep/variant/nope"},
                   MinCapacity=1, MaxCapacity=2)
    assert err.code == "ValidationException" and "nope" in err.message
    err = error_of(world, "RegisterScalableTarget", **{**TARGET, "ResourceId": "endpoint/ep"},
                   MinCapacity=1, MaxCapacity=2)
    assert err.message == "Unsupported service namespace, resource type or scalable dimension"
    err = error_of(world, "RegisterScalableTarget", **TARGET)
    assert err.code == "ValidationException" and "MinCapacity" in err.message
    err = error_of(world, "RegisterScalableTarget", **TARGET, MinCapacity=5, MaxCapacity=2)
    assert err.code == "ValidationException"
    assert world.autoscaling.targets == {}


def test_register_refused_while_endpoint_updates(world: World) -> None:
    ready(world)
    hosting.update_endpoint_weights_and_capacities(world, {"EndpointName": "ep", "DesiredWeightsAndCapacities": [
        {"VariantName": "AllTraffic", "DesiredInstanceCount": 2}]})
    err = error_of(world, "RegisterScalableTarget", **TARGET, MinCapacity=1, MaxCapacity=2)
    assert "is in status Updating" in err.message


def test_deregister_unknown_target(world: World) -> None:
    err = error_of(world, "DeregisterScalableTarget", **TARGET)
    assert (err.code, err.status) == ("ObjectNotFoundException", 400)
    assert err.message == (
        "No scalable target registered for service namespace: sagemaker, resource ID: endpoint/ep/variant/AllTraffic, "
        "scalable dimension: sagemaker:variant:DesiredInstanceCount")


def test_put_describe_delete_target_tracking_policy(world: World) -> None:
    ready(world)
    call(world, "RegisterScalableTarget", **TARGET, MinCapacity=1, MaxCapacity=4)
    put = call(world, "PutScalingPolicy", **POLICY)
    assert put["PolicyARN"].startswith("arn:aws:autoscaling:us-west-2:123456789012:scalingPolicy:")
    assert put["PolicyARN"].endswith(
        ":resource/sagemaker/endpoint/ep/variant/AllTraffic:policyName/SageMakerEndpointInvocationScalingPolicy")
    assert [a["AlarmName"].split("-")[-6] for a in put["Alarms"]] == ["AlarmHigh", "AlarmLow"]
    assert all(a["AlarmName"].startswith(f"TargetTracking-{RESOURCE}-") for a in put["Alarms"])
    assert all(a["AlarmARN"] == f"arn:aws:cloudwatch:us-west-2:123456789012:alarm:{a['AlarmName']}"
               for a in put["Alarms"])
    [policy] = call(world, "DescribeScalingPolicies", ServiceNamespace="sagemaker", ResourceId=RESOURCE)[
        "ScalingPolicies"]
    assert policy["PolicyARN"] == put["PolicyARN"] and policy["PolicyType"] == "TargetTrackingScaling"
    assert policy["TargetTrackingScalingPolicyConfiguration"] == POLICY["TargetTrackingScalingPolicyConfiguration"]
    assert policy["Alarms"] == put["Alarms"] and policy["CreationTime"] == world.clock.now()
    # Putting it again replaces the configuration and keeps the ARN.
    custom = {"TargetValue": 5.0, "DisableScaleIn": True, "CustomizedMetricSpecification": {
        "MetricName": "Latency", "Namespace": "AWS/SageMaker", "Statistic": "Average", "Unit": "Milliseconds",
        "Dimensions": [{"Name": "EndpointName", "Value": "ep"}, {"Name": "VariantName", "Value": "AllTraffic"}]}}
    again = call(world, "PutScalingPolicy", **{**POLICY, "TargetTrackingScalingPolicyConfiguration": custom})
    assert again["PolicyARN"] == put["PolicyARN"]
    assert [a["AlarmName"].split("-")[-6] for a in again["Alarms"]] == ["AlarmHigh"]  # no scale-in alarm
    [policy] = call(world, "DescribeScalingPolicies", ServiceNamespace="sagemaker",
                    PolicyNames=[POLICY["PolicyName"]])["ScalingPolicies"]
    assert policy["TargetTrackingScalingPolicyConfiguration"] == custom
    assert call(world, "DescribeScalingPolicies", ServiceNamespace="sagemaker", PolicyNames=["other"])[
        "ScalingPolicies"] == []
    assert call(world, "DeleteScalingPolicy", **TARGET, PolicyName=POLICY["PolicyName"]) == {}
    assert call(world, "DescribeScalingPolicies", ServiceNamespace="sagemaker")["ScalingPolicies"] == []


def test_policy_errors(world: World) -> None:
    err = error_of(world, "PutScalingPolicy", **POLICY)
    assert err.code == "ObjectNotFoundException" and err.message.startswith("No scalable target registered")
    err = error_of(world, "DeleteScalingPolicy", **TARGET, PolicyName="p")
    assert (err.code, err.message) == (
        "ObjectNotFoundException",
        "No scaling policy found for service namespace: sagemaker, resource ID: endpoint/ep/variant/AllTraffic, "
        "scalable dimension: sagemaker:variant:DesiredInstanceCount, policy name: p")
    ready(world)
    call(world, "RegisterScalableTarget", **TARGET, MinCapacity=1, MaxCapacity=4)
    bad_metric = {**POLICY, "TargetTrackingScalingPolicyConfiguration": {
        "TargetValue": 1.0,
        "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}}
    assert error_of(world, "PutScalingPolicy", **bad_metric).code == "ValidationException"
    neither = {**POLICY, "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 1.0}}
    assert error_of(world, "PutScalingPolicy", **neither).code == "ValidationException"
    missing_config = {k: v for k, v in POLICY.items() if k != "TargetTrackingScalingPolicyConfiguration"}
    assert error_of(world, "PutScalingPolicy", **missing_config).code == "ValidationException"


def test_deregister_deletes_the_targets_policies(world: World) -> None:
    ready(world)
    call(world, "RegisterScalableTarget", **TARGET, MinCapacity=1, MaxCapacity=4)
    call(world, "PutScalingPolicy", **POLICY)
    call(world, "DeregisterScalableTarget", **TARGET)
    assert call(world, "DescribeScalingPolicies", ServiceNamespace="sagemaker")["ScalingPolicies"] == []


def test_step_scaling_policy_has_no_alarms(world: World) -> None:
    ready(world)
    call(world, "RegisterScalableTarget", **TARGET, MinCapacity=1, MaxCapacity=4)
    put = call(world, "PutScalingPolicy", **TARGET, PolicyName="step", StepScalingPolicyConfiguration={
        "AdjustmentType": "ChangeInCapacity", "StepAdjustments": [{"MetricIntervalLowerBound": 0.0,
                                                                   "ScalingAdjustment": 1}]})
    assert "Alarms" not in put
    [policy] = call(world, "DescribeScalingPolicies", ServiceNamespace="sagemaker")["ScalingPolicies"]
    assert policy["PolicyType"] == "StepScaling"


def test_describe_paging(world: World) -> None:
    for i in range(12):
        call(world, "RegisterScalableTarget", ServiceNamespace="ecs", ResourceId=f"service/c/s{i}",
             ScalableDimension="ecs:service:DesiredCount", MinCapacity=0, MaxCapacity=2)
        call(world, "PutScalingPolicy", ServiceNamespace="ecs", ResourceId=f"service/c/s{i}",
             ScalableDimension="ecs:service:DesiredCount", PolicyName="p", PolicyType="TargetTrackingScaling",
             TargetTrackingScalingPolicyConfiguration={"TargetValue": 50.0, "PredefinedMetricSpecification": {
                 "PredefinedMetricType": "ECSServiceAverageCPUUtilization"}})
    first = call(world, "DescribeScalableTargets", ServiceNamespace="ecs", MaxResults=5)
    assert [t["ResourceId"] for t in first["ScalableTargets"]] == [f"service/c/s{i}" for i in range(5)]
    seen = [t["ResourceId"] for t in first["ScalableTargets"]]
    token = first["NextToken"]
    while token:
        page = call(world, "DescribeScalableTargets", ServiceNamespace="ecs", MaxResults=5, NextToken=token)
        seen += [t["ResourceId"] for t in page["ScalableTargets"]]
        token = page.get("NextToken")
    assert seen == [f"service/c/s{i}" for i in range(12)]
    policies = call(world, "DescribeScalingPolicies", ServiceNamespace="ecs")
    assert len(policies["ScalingPolicies"]) == 10 and "NextToken" in policies  # default page of 10
    rest = call(world, "DescribeScalingPolicies", ServiceNamespace="ecs", NextToken=policies["NextToken"])
    assert len(rest["ScalingPolicies"]) == 2 and "NextToken" not in rest
    err = error_of(world, "DescribeScalableTargets", ServiceNamespace="ecs", NextToken="!!garbage")
    assert err.code == "InvalidNextTokenException"
