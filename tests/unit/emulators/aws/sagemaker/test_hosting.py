"""SageMaker hosting: models, endpoint configurations, endpoints and their lifecycles (handlers called directly).

Error texts: "Could not find model|endpoint|endpoint configuration" and "Cannot update in-progress endpoint" are the
prefixes the original operator's client wrapper matches (amazon-sagemaker-operator-for-k8s
controllers/controllertest/clientwrapper: DescribeEndpoint404MessagePrefix, DeleteEndpointInProgressMessagePrefix ...),
with the quoted ARN seen in user reports (e.g. 'Could not find endpoint "arn:aws:sagemaker:us-east-2:...:endpoint/x".'
from a DeleteEndpoint traceback; 'Cannot create already existing endpoint configuration "arn:aws-cn:...".' in
awslabs/spot-tagging-bot-for-digital-assets#2; 'Cannot create already existing endpoint "arn:..."' in
ministryofjustice/modernisation-platform-environments#9383).
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from smk8s.emulators.aws.clock import VirtualClock
from smk8s.emulators.aws.errors import AwsError
from smk8s.emulators.aws.sagemaker import hosting, tags
from smk8s.emulators.aws.world import World, new_world
from tests.support.aws_shapes import assert_output_shape, service_model, shape_errors

ROLE = "arn:aws:iam::123456789012:role/sm"
IMAGE = "123456789012.dkr.ecr.us-west-2.amazonaws.com/xgboost:1.7-1"
IMAGE2 = "123456789012.dkr.ecr.us-west-2.amazonaws.com/xgboost:2.0-1"


# ------------------------------------------------------------------------------------------------ output shape check


def call(world: World, operation: str, **request: Any) -> dict[str, Any]:
    """Call a hosting handler the way the server does (advance first) and check the output shape."""
    world.advance()
    response = hosting.OPERATIONS[operation](world, request)
    assert_output_shape("sagemaker", operation, response)
    return response


def error_of(world: World, operation: str, **request: Any) -> AwsError:
    world.advance()
    with pytest.raises(AwsError) as info:
        hosting.OPERATIONS[operation](world, request)
    return info.value


def later(world: World, seconds: float) -> None:
    world.clock.advance(seconds)
    world.advance()


@pytest.fixture
def world() -> World:
    return new_world(clock=VirtualClock(start=1_700_000_000.0, monotonic=lambda: 0.0))


def make_model(world: World, name: str = "m1", image: str = IMAGE) -> None:
    call(world, "CreateModel", ModelName=name, ExecutionRoleArn=ROLE,
         PrimaryContainer={"Image": image, "ModelDataUrl": "s3://b/model.tar.gz"})


def make_config(world: World, name: str = "c1", model: str = "m1", count: int = 1, weight: float | None = None,
                variant: str = "AllTraffic", tags_: list[dict[str, str]] | None = None, **extra: Any) -> None:
    pv: dict[str, Any] = {"VariantName": variant, "ModelName": model, "InitialInstanceCount": count,
                          "InstanceType": "ml.m5.large"}
    if weight is not None:
        pv["InitialVariantWeight"] = weight
    call(world, "CreateEndpointConfig", EndpointConfigName=name, ProductionVariants=[pv], Tags=tags_ or [], **extra)


def in_service(world: World, name: str = "ep", config: str = "c1", tags_: list[dict[str, str]] | None = None) -> None:
    call(world, "CreateEndpoint", EndpointName=name, EndpointConfigName=config, Tags=tags_ or [])
    later(world, hosting.CREATE_SECONDS)
    assert call(world, "DescribeEndpoint", EndpointName=name)["EndpointStatus"] == "InService"


def describe(world: World, name: str = "ep") -> dict[str, Any]:
    return call(world, "DescribeEndpoint", EndpointName=name)


# ------------------------------------------------------------------------------------------------------------ models


def test_model_create_describe_list_delete(world: World) -> None:
    arn = call(world, "CreateModel", ModelName="My-Model", ExecutionRoleArn=ROLE,
               PrimaryContainer={"Image": IMAGE, "Environment": {"A": "1"}})["ModelArn"]
    assert arn == "arn:aws:sagemaker:us-west-2:123456789012:model/my-model"  # SageMaker ARNs are lower case
    got = call(world, "DescribeModel", ModelName="My-Model")
    assert got["ModelName"] == "My-Model" and got["ModelArn"] == arn
    assert got["PrimaryContainer"] == {"Image": IMAGE, "Environment": {"A": "1"}}
    assert got["ExecutionRoleArn"] == ROLE and got["CreationTime"] == world.clock.now()
    assert got["EnableNetworkIsolation"] is False
    listed = call(world, "ListModels")["Models"]
    assert listed == [{"ModelName": "My-Model", "ModelArn": arn, "CreationTime": got["CreationTime"]}]
    assert world.sagemaker.tags.known(arn)
    assert call(world, "DeleteModel", ModelName="My-Model") == {}
    assert call(world, "ListModels")["Models"] == []
    assert not world.sagemaker.tags.known(arn)


def test_model_errors(world: World) -> None:
    make_model(world)
    err = error_of(world, "CreateModel", ModelName="m1", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
    assert (err.code, err.message) == (
        "ValidationException",
        'Cannot create already existing model "arn:aws:sagemaker:us-west-2:123456789012:model/m1".')
    for op in ("DescribeModel", "DeleteModel"):
        err = error_of(world, op, ModelName="nope")
        assert (err.code, err.status) == ("ValidationException", 400)
        assert err.message == 'Could not find model "arn:aws:sagemaker:us-west-2:123456789012:model/nope".'


def test_a_model_whose_execution_role_cannot_be_assumed_is_refused(world: World) -> None:
    world.unassumable_roles.add(ROLE)
    err = error_of(world, "CreateModel", ModelName="m2", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
    assert err.code == "ValidationException" and err.message.startswith(f"Could not assume role {ROLE}.")
    assert error_of(world, "DescribeModel", ModelName="m2").code == "ValidationException"  # nothing was created


def test_list_models_filters_sorting_and_paging(world: World) -> None:
    for i, name in enumerate(["b-model", "a-model", "c-other"]):
        make_model(world, name)
        later(world, 10 + i)
    newest_first = [m["ModelName"] for m in call(world, "ListModels")["Models"]]
    assert newest_first == ["c-other", "a-model", "b-model"]  # default CreationTime Descending
    by_name = call(world, "ListModels", SortBy="Name", SortOrder="Ascending")["Models"]
    assert [m["ModelName"] for m in by_name] == ["a-model", "b-model", "c-other"]
    assert [m["ModelName"] for m in call(world, "ListModels", NameContains="model")["Models"]] == ["a-model", "b-model"]
    page1 = call(world, "ListModels", SortBy="Name", SortOrder="Ascending", MaxResults=2)
    assert [m["ModelName"] for m in page1["Models"]] == ["a-model", "b-model"]
    page2 = call(world, "ListModels", SortBy="Name", SortOrder="Ascending", MaxResults=2, NextToken=page1["NextToken"])
    assert [m["ModelName"] for m in page2["Models"]] == ["c-other"] and "NextToken" not in page2
    created_b = world.clock.now() - 10 - 11 - 12
    after = call(world, "ListModels", CreationTimeAfter=created_b)["Models"]
    assert [m["ModelName"] for m in after] == ["c-other", "a-model"]


# -------------------------------------------------------------------------------------------- endpoint configurations


def test_endpoint_config_create_describe_delete(world: World) -> None:
    make_model(world)
    arn = call(world, "CreateEndpointConfig", EndpointConfigName="c1", ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": "m1", "InitialInstanceCount": 2, "InstanceType": "ml.m5.large"}],
        KmsKeyId="key")["EndpointConfigArn"]
    assert arn == "arn:aws:sagemaker:us-west-2:123456789012:endpoint-config/c1"
    got = call(world, "DescribeEndpointConfig", EndpointConfigName="c1")
    assert got["ProductionVariants"] == [{"VariantName": "AllTraffic", "ModelName": "m1", "InitialInstanceCount": 2,
                                          "InstanceType": "ml.m5.large", "InitialVariantWeight": 1.0}]
    assert got["KmsKeyId"] == "key" and got["EndpointConfigArn"] == arn
    assert [c["EndpointConfigName"] for c in call(world, "ListEndpointConfigs")["EndpointConfigs"]] == ["c1"]
    call(world, "DeleteEndpointConfig", EndpointConfigName="c1")
    err = error_of(world, "DescribeEndpointConfig", EndpointConfigName="c1")
    assert (err.code, err.message) == (
        "ValidationException",
        'Could not find endpoint configuration "arn:aws:sagemaker:us-west-2:123456789012:endpoint-config/c1".')
    assert error_of(world, "DeleteEndpointConfig", EndpointConfigName="c1").message == err.message


def test_endpoint_config_errors(world: World) -> None:
    err = error_of(world, "CreateEndpointConfig", EndpointConfigName="c1", ProductionVariants=[
        {"VariantName": "v", "ModelName": "ghost", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    assert err.message == 'Could not find model "arn:aws:sagemaker:us-west-2:123456789012:model/ghost".'
    make_model(world)
    make_config(world)
    err = error_of(world, "CreateEndpointConfig", EndpointConfigName="c1", ProductionVariants=[
        {"VariantName": "v", "ModelName": "m1", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    assert err.message == (
        'Cannot create already existing endpoint configuration '
        '"arn:aws:sagemaker:us-west-2:123456789012:endpoint-config/c1".')


# --------------------------------------------------------------------------------------------------------- endpoints


def test_endpoint_creating_then_in_service(world: World) -> None:
    make_model(world)
    make_config(world, count=2)
    created = world.clock.now()
    arn = call(world, "CreateEndpoint", EndpointName="ep", EndpointConfigName="c1")["EndpointArn"]
    assert arn == "arn:aws:sagemaker:us-west-2:123456789012:endpoint/ep"
    creating = describe(world)
    assert creating == {"EndpointName": "ep", "EndpointArn": arn, "EndpointConfigName": "c1",
                        "EndpointStatus": "Creating", "CreationTime": created, "LastModifiedTime": created}
    later(world, hosting.CREATE_SECONDS - 1)
    assert describe(world)["EndpointStatus"] == "Creating"
    later(world, 1)
    got = describe(world)
    assert got["EndpointStatus"] == "InService" and "FailureReason" not in got
    assert got["LastModifiedTime"] == created + hosting.CREATE_SECONDS
    [variant] = got["ProductionVariants"]
    assert variant["VariantName"] == "AllTraffic"
    assert (variant["CurrentWeight"], variant["DesiredWeight"]) == (1.0, 1.0)
    assert (variant["CurrentInstanceCount"], variant["DesiredInstanceCount"]) == (2, 2)
    [image] = variant["DeployedImages"]
    assert image["SpecifiedImage"] == IMAGE
    assert image["ResolvedImage"].startswith("123456789012.dkr.ecr.us-west-2.amazonaws.com/xgboost@sha256:")
    assert image["ResolutionTime"] == created
    listed = call(world, "ListEndpoints")["Endpoints"]
    assert listed == [{"EndpointName": "ep", "EndpointArn": arn, "CreationTime": created,
                       "LastModifiedTime": got["LastModifiedTime"], "EndpointStatus": "InService"}]


def test_endpoint_describe_includes_data_capture_summary(world: World) -> None:
    make_model(world)
    make_config(world, DataCaptureConfig={"EnableCapture": True, "InitialSamplingPercentage": 20,
                                          "DestinationS3Uri": "s3://b/capture",
                                          "CaptureOptions": [{"CaptureMode": "Input"}]})
    in_service(world)
    assert describe(world)["DataCaptureConfig"] == {
        "EnableCapture": True, "CaptureStatus": "Started", "CurrentSamplingPercentage": 20,
        "DestinationS3Uri": "s3://b/capture", "KmsKeyId": ""}


def test_endpoint_create_errors(world: World) -> None:
    err = error_of(world, "CreateEndpoint", EndpointName="ep", EndpointConfigName="nope")
    assert err.message == (
        'Could not find endpoint configuration "arn:aws:sagemaker:us-west-2:123456789012:endpoint-config/nope".')
    make_model(world)
    make_config(world)
    call(world, "CreateEndpoint", EndpointName="ep", EndpointConfigName="c1")
    err = error_of(world, "CreateEndpoint", EndpointName="ep", EndpointConfigName="c1")
    assert err.message == (
        'Cannot create already existing endpoint "arn:aws:sagemaker:us-west-2:123456789012:endpoint/ep".')
    for op in ("DescribeEndpoint", "DeleteEndpoint"):
        err = error_of(world, op, EndpointName="ghost")
        assert (err.code, err.message) == (
            "ValidationException", 'Could not find endpoint "arn:aws:sagemaker:us-west-2:123456789012:endpoint/ghost".')
    err = error_of(world, "UpdateEndpoint", EndpointName="ghost", EndpointConfigName="c1")
    assert err.message.startswith('Could not find endpoint "')


def test_endpoint_fails_by_outcome_tag(world: World) -> None:
    make_model(world)
    make_config(world)
    call(world, "CreateEndpoint", EndpointName="ep", EndpointConfigName="c1", Tags=[
        {"Key": hosting.OUTCOME_TAG, "Value": "Failed"}, {"Key": hosting.DURATION_TAG, "Value": "60"}])
    later(world, 60)
    got = describe(world)
    assert got["EndpointStatus"] == "Failed"
    assert got["FailureReason"] == hosting.default_failure_reason("AllTraffic")
    assert "ProductionVariants" not in got
    err = error_of(world, "UpdateEndpoint", EndpointName="ep", EndpointConfigName="c1")
    assert err.message == 'Cannot update failed endpoint "arn:aws:sagemaker:us-west-2:123456789012:endpoint/ep".'
    call(world, "DeleteEndpoint", EndpointName="ep")  # a Failed endpoint can be deleted
    assert describe(world)["EndpointStatus"] == "Deleting"


def test_endpoint_failure_reason_tag_and_tags_added_after_creation(world: World) -> None:
    make_model(world)
    make_config(world)
    arn = call(world, "CreateEndpoint", EndpointName="ep", EndpointConfigName="c1")["EndpointArn"]
    tags.add_tags(world, {"ResourceArn": arn, "Tags": [{"Key": hosting.OUTCOME_TAG, "Value": "Failed"},
                                                      {"Key": hosting.FAILURE_REASON_TAG, "Value": "Image not found"}]})
    later(world, hosting.CREATE_SECONDS)
    got = describe(world)
    assert (got["EndpointStatus"], got["FailureReason"]) == ("Failed", "Image not found")


def test_update_endpoint_moves_to_new_config(world: World) -> None:
    make_model(world)
    make_model(world, "m2", IMAGE2)
    make_config(world)
    make_config(world, "c2", "m2", count=3, weight=2.0)
    in_service(world)
    start = world.clock.now()
    call(world, "UpdateEndpoint", EndpointName="ep", EndpointConfigName="c2")
    updating = describe(world)
    assert updating["EndpointStatus"] == "Updating"
    assert updating["EndpointConfigName"] == "c1"  # still serving the old config
    assert updating["ProductionVariants"][0]["DeployedImages"][0]["SpecifiedImage"] == IMAGE
    pending = updating["PendingDeploymentSummary"]
    assert pending["EndpointConfigName"] == "c2" and pending["StartTime"] == start
    assert pending["ProductionVariants"][0]["DesiredInstanceCount"] == 3
    assert pending["ProductionVariants"][0]["VariantStatus"][0]["Status"] == "Creating"
    err = error_of(world, "UpdateEndpoint", EndpointName="ep", EndpointConfigName="c2")
    assert (err.code, err.message) == (
        "ValidationException",
        'Cannot update in-progress endpoint "arn:aws:sagemaker:us-west-2:123456789012:endpoint/ep".')
    later(world, hosting.UPDATE_SECONDS)
    got = describe(world)
    assert got["EndpointStatus"] == "InService" and got["EndpointConfigName"] == "c2"
    assert "PendingDeploymentSummary" not in got
    [variant] = got["ProductionVariants"]
    assert (variant["CurrentInstanceCount"], variant["CurrentWeight"]) == (3, 2.0)
    assert variant["DeployedImages"][0]["SpecifiedImage"] == IMAGE2


def test_update_endpoint_errors(world: World) -> None:
    make_model(world)
    make_config(world)
    call(world, "CreateEndpoint", EndpointName="ep", EndpointConfigName="c1")
    err = error_of(world, "UpdateEndpoint", EndpointName="ep", EndpointConfigName="nope")
    assert err.message == (
        'Could not find endpoint configuration "arn:aws:sagemaker:us-west-2:123456789012:endpoint-config/nope".')
    err = error_of(world, "UpdateEndpoint", EndpointName="ep", EndpointConfigName="c1")  # still Creating
    assert err.message.startswith("Cannot update in-progress endpoint")


@pytest.mark.parametrize("final", ["InService", "UpdateRollbackFailed"])
def test_failing_update_rolls_back_and_keeps_old_config(world: World, final: str) -> None:
    make_model(world)
    make_model(world, "m2", IMAGE2)
    make_config(world)
    outcome = "RollingBack" if final == "InService" else "UpdateRollbackFailed"
    make_config(world, "c2", "m2", count=4, tags_=[{"Key": hosting.UPDATE_OUTCOME_TAG, "Value": outcome},
                                                   {"Key": hosting.DURATION_TAG, "Value": "100"}])
    in_service(world)
    call(world, "UpdateEndpoint", EndpointName="ep", EndpointConfigName="c2")
    assert describe(world)["EndpointStatus"] == "Updating"
    later(world, 100)
    rolling = describe(world)
    assert rolling["EndpointStatus"] == "RollingBack"
    assert rolling["FailureReason"] == hosting.default_failure_reason("AllTraffic")
    assert rolling["EndpointConfigName"] == "c1"
    later(world, hosting.ROLLBACK_SECONDS)
    got = describe(world)
    assert got["EndpointStatus"] == final and got["EndpointConfigName"] == "c1"
    assert got["FailureReason"] == hosting.default_failure_reason("AllTraffic")
    [variant] = got["ProductionVariants"]
    assert variant["CurrentInstanceCount"] == 1
    assert variant["DeployedImages"][0]["SpecifiedImage"] == IMAGE


@pytest.mark.parametrize(
    ("retain", "exclude", "count", "weight"),
    [
        (False, [], 1, 1.0),
        (True, [], 3, 0.5),
        (True, ["DesiredInstanceCount"], 1, 0.5),
        (True, ["DesiredInstanceCount", "DesiredWeight"], 1, 1.0),
    ],
)
def test_update_endpoint_retains_variant_properties(
    world: World, retain: bool, exclude: list[str], count: int, weight: float
) -> None:
    make_model(world)
    make_config(world)
    make_config(world, "c2")
    in_service(world)
    call(world, "UpdateEndpointWeightsAndCapacities", EndpointName="ep", DesiredWeightsAndCapacities=[
        {"VariantName": "AllTraffic", "DesiredInstanceCount": 3, "DesiredWeight": 0.5}])
    later(world, hosting.CAPACITY_SECONDS)
    call(world, "UpdateEndpoint", EndpointName="ep", EndpointConfigName="c2", RetainAllVariantProperties=retain,
         ExcludeRetainedVariantProperties=[{"VariantPropertyType": p} for p in exclude])
    later(world, hosting.UPDATE_SECONDS)
    [variant] = describe(world)["ProductionVariants"]
    assert (variant["DesiredInstanceCount"], variant["CurrentInstanceCount"], variant["DesiredWeight"]) == (
        count, count, weight)


def test_update_weights_and_capacities(world: World) -> None:
    make_model(world)
    make_config(world, count=2)
    in_service(world)
    call(world, "UpdateEndpointWeightsAndCapacities", EndpointName="ep", DesiredWeightsAndCapacities=[
        {"VariantName": "AllTraffic", "DesiredInstanceCount": 5, "DesiredWeight": 0.3}])
    updating = describe(world)
    assert updating["EndpointStatus"] == "Updating"
    [v] = updating["ProductionVariants"]
    assert (v["CurrentInstanceCount"], v["DesiredInstanceCount"], v["CurrentWeight"], v["DesiredWeight"]) == (
        2, 5, 1.0, 0.3)
    assert error_of(world, "UpdateEndpointWeightsAndCapacities", EndpointName="ep", DesiredWeightsAndCapacities=[
        {"VariantName": "AllTraffic", "DesiredWeight": 1.0}]).message.startswith("Cannot update in-progress endpoint")
    later(world, hosting.CAPACITY_SECONDS)
    got = describe(world)
    [v] = got["ProductionVariants"]
    assert got["EndpointStatus"] == "InService"
    assert (v["CurrentInstanceCount"], v["DesiredInstanceCount"], v["CurrentWeight"]) == (5, 5, 0.3)
    # A weight-only change is quick.
    call(world, "UpdateEndpointWeightsAndCapacities", EndpointName="ep", DesiredWeightsAndCapacities=[
        {"VariantName": "AllTraffic", "DesiredWeight": 0.7}])
    later(world, hosting.WEIGHTS_ONLY_SECONDS)
    assert describe(world)["ProductionVariants"][0]["CurrentWeight"] == 0.7


def test_update_weights_unknown_variant(world: World) -> None:
    make_model(world)
    make_config(world)
    in_service(world)
    err = error_of(world, "UpdateEndpointWeightsAndCapacities", EndpointName="ep", DesiredWeightsAndCapacities=[
        {"VariantName": "ghost", "DesiredWeight": 1.0}])
    assert err.code == "ValidationException" and "ghost" in err.message
    assert describe(world)["EndpointStatus"] == "InService"


def test_delete_endpoint_deleting_then_gone(world: World) -> None:
    make_model(world)
    make_config(world)
    call(world, "CreateEndpoint", EndpointName="ep", EndpointConfigName="c1")
    err = error_of(world, "DeleteEndpoint", EndpointName="ep")  # Creating
    assert err.message == 'Cannot update in-progress endpoint "arn:aws:sagemaker:us-west-2:123456789012:endpoint/ep".'
    later(world, hosting.CREATE_SECONDS)
    arn = describe(world)["EndpointArn"]
    assert call(world, "DeleteEndpoint", EndpointName="ep") == {}
    assert describe(world)["EndpointStatus"] == "Deleting"
    assert error_of(world, "DeleteEndpoint", EndpointName="ep").message.startswith("Cannot update in-progress")
    later(world, hosting.DELETE_SECONDS)
    assert error_of(world, "DescribeEndpoint", EndpointName="ep").message.startswith("Could not find endpoint")
    assert call(world, "ListEndpoints")["Endpoints"] == []
    assert not world.sagemaker.tags.known(arn)


def test_recreated_endpoint_ignores_steps_of_the_old_one(world: World) -> None:
    make_model(world)
    make_config(world)
    in_service(world)
    call(world, "DeleteEndpoint", EndpointName="ep")
    later(world, hosting.DELETE_SECONDS)
    call(world, "CreateEndpoint", EndpointName="ep", EndpointConfigName="c1", Tags=[
        {"Key": hosting.DURATION_TAG, "Value": "1000"}])
    later(world, hosting.CREATE_SECONDS)
    assert describe(world)["EndpointStatus"] == "Creating"


def test_running_endpoint_survives_deleting_its_model_and_config(world: World) -> None:
    make_model(world)
    make_config(world)
    in_service(world)
    call(world, "DeleteModel", ModelName="m1")
    call(world, "DeleteEndpointConfig", EndpointConfigName="c1")
    got = describe(world)
    assert got["EndpointConfigName"] == "c1"
    assert got["ProductionVariants"][0]["DeployedImages"][0]["SpecifiedImage"] == IMAGE


def test_create_endpoint_with_a_deleted_model_is_refused(world: World) -> None:
    make_model(world)
    make_config(world)
    call(world, "DeleteModel", ModelName="m1")
    err = error_of(world, "CreateEndpoint", EndpointName="ep", EndpointConfigName="c1")
    assert err.message == 'Could not find model "arn:aws:sagemaker:us-west-2:123456789012:model/m1".'


def test_list_endpoints_filters_and_paging(world: World) -> None:
    make_model(world)
    make_config(world)
    for name in ("ep-a", "ep-b", "other"):
        call(world, "CreateEndpoint", EndpointName=name, EndpointConfigName="c1")
        later(world, 1)
    later(world, hosting.CREATE_SECONDS)
    call(world, "DeleteEndpoint", EndpointName="ep-b")
    by_status = call(world, "ListEndpoints", StatusEquals="Deleting")["Endpoints"]
    assert [e["EndpointName"] for e in by_status] == ["ep-b"]
    names = [e["EndpointName"] for e in call(world, "ListEndpoints", NameContains="ep-", SortBy="Name",
                                                  SortOrder="Ascending")["Endpoints"]]
    assert names == ["ep-a", "ep-b"]
    by_status_sort = call(world, "ListEndpoints", SortBy="Status", SortOrder="Ascending")["Endpoints"]
    assert by_status_sort[0]["EndpointName"] == "ep-b"  # "Deleting" < "InService"
    page = call(world, "ListEndpoints", MaxResults=1)
    assert [e["EndpointName"] for e in page["Endpoints"]] == ["other"]
    rest = call(world, "ListEndpoints", MaxResults=5, NextToken=page["NextToken"])
    assert [e["EndpointName"] for e in rest["Endpoints"]] == ["ep-b", "ep-a"]
    modified = call(world, "ListEndpoints", LastModifiedTimeAfter=datetime.datetime.fromtimestamp(
        world.clock.now() - 1, tz=datetime.UTC))["Endpoints"]
    assert [e["EndpointName"] for e in modified] == ["ep-b"]


def test_shape_checker_catches_unknown_and_missing_members() -> None:
    shape = service_model("sagemaker").operation_model("DescribeEndpoint").output_shape
    assert shape_errors(shape, {"EndpointName": "x", "Bogus": 1})  # unknown + missing required
    assert shape_errors(shape, {"EndpointName": "x", "EndpointArn": "a", "EndpointStatus": "Weird",
                                "CreationTime": 1.0, "LastModifiedTime": 1.0})  # bad enum


def test_endpoint_quotas(world: World) -> None:
    make_model(world)
    make_config(world, count=2)
    make_config(world, "big", count=30)
    world.quotas.set("endpoints", 1)
    call(world, "CreateEndpoint", EndpointName="ep", EndpointConfigName="c1")
    err = error_of(world, "CreateEndpoint", EndpointName="ep2", EndpointConfigName="c1")
    assert err.code == "ResourceLimitExceeded" and "Number of endpoints" in err.message
    later(world, hosting.CREATE_SECONDS)
    err = error_of(world, "UpdateEndpoint", EndpointName="ep", EndpointConfigName="big")  # 30 > 20 instances
    assert err.code == "ResourceLimitExceeded"
    assert describe(world)["EndpointStatus"] == "InService" and "PendingDeploymentSummary" not in describe(world)
    err = error_of(world, "UpdateEndpointWeightsAndCapacities", EndpointName="ep", DesiredWeightsAndCapacities=[
        {"VariantName": "AllTraffic", "DesiredInstanceCount": 21}])
    assert err.code == "ResourceLimitExceeded"
    assert describe(world)["ProductionVariants"][0]["DesiredInstanceCount"] == 2
