"""Hosting, tuning and Application Auto Scaling through aiobotocore, as the operator sees them over the wire.

botocore parses every answer with its own output shapes, so a member of the wrong type or an unknown error code
would surface here; errors are checked as the modelled classes / ``ClientError`` codes botocore raises.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from smk8s.emulators.aws.sagemaker import hosting, tuning
from smk8s.emulators.aws.server import AwsEmulator

ROLE = "arn:aws:iam::123456789012:role/sm"
IMAGE = "123456789012.dkr.ecr.us-west-2.amazonaws.com/xgboost:1.7-1"
RESOURCE = "endpoint/ep/variant/AllTraffic"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"


@pytest.fixture
async def emulator() -> AsyncIterator[AwsEmulator]:
    """An emulator whose clock stands still unless advanced, throttling off."""
    async with AwsEmulator(time_scale=1e-9, config={"rates": {"*": None}}) as aws:
        yield aws


@pytest.fixture
async def sm(emulator: AwsEmulator) -> AsyncIterator[Any]:
    async with get_session().create_client("sagemaker", **emulator.client_kwargs()) as client:
        yield client


@pytest.fixture
async def aas(emulator: AwsEmulator) -> AsyncIterator[Any]:
    async with get_session().create_client("application-autoscaling", **emulator.client_kwargs()) as client:
        yield client


async def error_of(awaitable: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        await awaitable
    return {**caught.value.response["Error"], "Status": caught.value.response["ResponseMetadata"]["HTTPStatusCode"]}


async def deploy(sm: Any, emulator: AwsEmulator, *, tags: list[dict[str, str]] | None = None) -> None:
    await sm.create_model(ModelName="m1", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
    await sm.create_endpoint_config(EndpointConfigName="c1", ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": "m1", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    await sm.create_endpoint(EndpointName="ep", EndpointConfigName="c1", Tags=tags or [])


async def test_endpoint_lifecycle_and_errors(sm: Any, emulator: AwsEmulator) -> None:
    await deploy(sm, emulator)
    assert (await sm.describe_endpoint(EndpointName="ep"))["EndpointStatus"] == "Creating"
    err = await error_of(sm.update_endpoint(EndpointName="ep", EndpointConfigName="c1"))
    assert (err["Code"], err["Status"]) == ("ValidationException", 400)
    assert err["Message"] == (
        'Cannot update in-progress endpoint "arn:aws:sagemaker:us-west-2:123456789012:endpoint/ep".')
    emulator.advance(hosting.CREATE_SECONDS)
    got = await sm.describe_endpoint(EndpointName="ep")
    assert got["EndpointStatus"] == "InService"
    [variant] = got["ProductionVariants"]
    assert (variant["CurrentInstanceCount"], variant["DesiredWeight"]) == (1, 1.0)
    assert variant["DeployedImages"][0]["SpecifiedImage"] == IMAGE

    await sm.update_endpoint_weights_and_capacities(EndpointName="ep", DesiredWeightsAndCapacities=[
        {"VariantName": "AllTraffic", "DesiredInstanceCount": 3}])
    assert (await sm.describe_endpoint(EndpointName="ep"))["EndpointStatus"] == "Updating"
    emulator.advance(hosting.CAPACITY_SECONDS)
    got = await sm.describe_endpoint(EndpointName="ep")
    assert got["ProductionVariants"][0]["CurrentInstanceCount"] == 3

    for coro, text in (
        (sm.describe_model(ModelName="x"), 'Could not find model "arn:aws:sagemaker:us-west-2:123456789012:model/x".'),
        (sm.describe_endpoint_config(EndpointConfigName="x"),
         'Could not find endpoint configuration "arn:aws:sagemaker:us-west-2:123456789012:endpoint-config/x".'),
        (sm.describe_endpoint(EndpointName="x"),
         'Could not find endpoint "arn:aws:sagemaker:us-west-2:123456789012:endpoint/x".'),
        (sm.create_model(ModelName="m1", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE}),
         'Cannot create already existing model "arn:aws:sagemaker:us-west-2:123456789012:model/m1".'),
    ):
        err = await error_of(coro)
        assert (err["Code"], err["Message"]) == ("ValidationException", text)

    await sm.delete_endpoint(EndpointName="ep")
    assert (await sm.describe_endpoint(EndpointName="ep"))["EndpointStatus"] == "Deleting"
    emulator.advance(hosting.DELETE_SECONDS)
    assert (await sm.list_endpoints())["Endpoints"] == []
    await sm.delete_endpoint_config(EndpointConfigName="c1")
    await sm.delete_model(ModelName="m1")
    assert (await sm.list_models())["Models"] == []


async def test_failing_update_rolls_back(sm: Any, emulator: AwsEmulator) -> None:
    await deploy(sm, emulator)
    await sm.create_endpoint_config(EndpointConfigName="c2", ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": "m1", "InitialInstanceCount": 2, "InstanceType": "ml.m5.large"}],
        Tags=[{"Key": hosting.UPDATE_OUTCOME_TAG, "Value": "RollingBack"},
              {"Key": hosting.FAILURE_REASON_TAG, "Value": "Model failed to load"}])
    emulator.advance(hosting.CREATE_SECONDS)
    await sm.update_endpoint(EndpointName="ep", EndpointConfigName="c2", RetainAllVariantProperties=True)
    got = await sm.describe_endpoint(EndpointName="ep")
    assert got["EndpointStatus"] == "Updating" and got["PendingDeploymentSummary"]["EndpointConfigName"] == "c2"
    emulator.advance(hosting.UPDATE_SECONDS)
    assert (await sm.describe_endpoint(EndpointName="ep"))["EndpointStatus"] == "RollingBack"
    emulator.advance(hosting.ROLLBACK_SECONDS)
    got = await sm.describe_endpoint(EndpointName="ep")
    assert (got["EndpointStatus"], got["EndpointConfigName"], got["FailureReason"]) == (
        "InService", "c1", "Model failed to load")


async def test_endpoint_failure_by_outcome_tag(sm: Any, emulator: AwsEmulator) -> None:
    await deploy(sm, emulator, tags=[{"Key": hosting.OUTCOME_TAG, "Value": "Failed"}])
    emulator.advance(hosting.CREATE_SECONDS)
    got = await sm.describe_endpoint(EndpointName="ep")
    assert got["EndpointStatus"] == "Failed" and "ping health check" in got["FailureReason"]


async def test_autoscaling_on_a_variant(sm: Any, aas: Any, emulator: AwsEmulator) -> None:
    await deploy(sm, emulator)
    err = await error_of(aas.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=RESOURCE,
                                                      ScalableDimension=DIMENSION, MinCapacity=1, MaxCapacity=3))
    assert err["Code"] == "ValidationException"
    assert "The status should be in 'InService' to register it as a scalable target" in err["Message"]
    emulator.advance(hosting.CREATE_SECONDS)
    await aas.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=RESOURCE,
                                       ScalableDimension=DIMENSION, MinCapacity=1, MaxCapacity=3)
    [target] = (await aas.describe_scalable_targets(ServiceNamespace="sagemaker"))["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 3)
    put = await aas.put_scaling_policy(
        PolicyName="SageMakerEndpointInvocationScalingPolicy", ServiceNamespace="sagemaker", ResourceId=RESOURCE,
        ScalableDimension=DIMENSION, PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={"TargetValue": 70.0, "PredefinedMetricSpecification": {
            "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}})
    assert len(put["Alarms"]) == 2
    [policy] = (await aas.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=RESOURCE))[
        "ScalingPolicies"]
    assert policy["PolicyARN"] == put["PolicyARN"]
    await aas.delete_scaling_policy(PolicyName="SageMakerEndpointInvocationScalingPolicy",
                                    ServiceNamespace="sagemaker", ResourceId=RESOURCE, ScalableDimension=DIMENSION)
    await aas.deregister_scalable_target(ServiceNamespace="sagemaker", ResourceId=RESOURCE,
                                         ScalableDimension=DIMENSION)
    with pytest.raises(aas.exceptions.ObjectNotFoundException):
        await aas.deregister_scalable_target(ServiceNamespace="sagemaker", ResourceId=RESOURCE,
                                             ScalableDimension=DIMENSION)


async def test_tuning_job_through_the_wire(sm: Any, emulator: AwsEmulator) -> None:
    await sm.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="tune",
        HyperParameterTuningJobConfig={
            "Strategy": "Bayesian",
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "validation:rmse"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {"IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "2", "MaxValue": "8"}]},
            "TrainingJobEarlyStoppingType": "Auto",
        },
        TrainingJobDefinition={
            "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
            "RoleArn": ROLE,
            "OutputDataConfig": {"S3OutputPath": "s3://bucket/out"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        },
        Tags=[{"Key": tuning.CHILD_DURATION_TAG, "Value": "60"}],
    )
    got = await sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="tune")
    assert got["HyperParameterTuningJobStatus"] == "InProgress"
    assert got["TrainingJobStatusCounters"]["InProgress"] == 2
    emulator.advance(10_000)
    got = await sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="tune")
    assert got["HyperParameterTuningJobStatus"] == "Completed"
    assert got["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["MetricName"] == "validation:rmse"
    pages = [page async for page in sm.get_paginator("list_training_jobs_for_hyper_parameter_tuning_job").paginate(
        HyperParameterTuningJobName="tune", SortBy="FinalObjectiveMetricValue", SortOrder="Ascending",
        PaginationConfig={"PageSize": 1})]
    summaries = [s for page in pages for s in page["TrainingJobSummaries"]]
    assert len(pages) >= 2 and summaries[0]["TrainingJobName"] == got["BestTrainingJob"]["TrainingJobName"]
    with pytest.raises(sm.exceptions.ResourceNotFound):
        await sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="ghost")


async def test_state_shows_hosting_tuning_and_autoscaling(sm: Any, aas: Any, emulator: AwsEmulator) -> None:
    await deploy(sm, emulator)
    emulator.advance(hosting.CREATE_SECONDS)
    await aas.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=RESOURCE,
                                       ScalableDimension=DIMENSION, MinCapacity=1, MaxCapacity=3)
    state = json.loads(json.dumps(emulator.state()))  # JSON-serializable
    assert state["sagemaker"]["hosting"]["endpoints"]["ep"]["status"] == "InService"
    assert state["sagemaker"]["tuning"] == {}
    assert state["autoscaling"]["scalable_targets"][0]["ResourceId"] == RESOURCE
