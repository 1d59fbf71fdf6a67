"""The hosting facade (:mod:`smk8s.sagemaker.hosting`) the HostingDeployment controller uses, against the emulator."""

from __future__ import annotations

import pytest

from smk8s.sagemaker import AlreadyExistsError
from smk8s.sagemaker.hosting import EndpointBusyError, HostingApi
from tests.integration.controllers.hosting.conftest import Harness

ROLE = "arn:aws:iam::123456789012:role/sm"
IMAGE = "123456789012.dkr.ecr.us-west-2.amazonaws.com/algo:1"


async def test_absence_is_none_or_false_and_a_taken_name_is_already_exists(env: Harness) -> None:
    api = HostingApi(env.sagemaker.at("us-west-2"))
    assert await api.describe_model("nope") is None
    assert await api.describe_endpoint_config("nope") is None
    assert await api.describe_endpoint("nope") is None
    assert await api.delete_model("nope") is False
    assert await api.delete_endpoint_config("nope") is False
    assert await api.delete_endpoint("nope") is False
    await api.create_model({"ModelName": "m", "ExecutionRoleArn": ROLE, "PrimaryContainer": {"Image": IMAGE}})
    with pytest.raises(AlreadyExistsError):
        await api.create_model({"ModelName": "m", "ExecutionRoleArn": ROLE, "PrimaryContainer": {"Image": IMAGE}})
    assert await api.delete_model("m") is True


async def test_a_changing_endpoint_refuses_updates_and_deletes_as_busy(env: Harness) -> None:
    env.aws.set_time_scale(1.0)  # the endpoint stays Creating for the whole test
    api = HostingApi(env.sagemaker.at("us-west-2"))
    await api.create_model({"ModelName": "m", "ExecutionRoleArn": ROLE, "PrimaryContainer": {"Image": IMAGE}})
    await api.create_endpoint_config({"EndpointConfigName": "c", "ProductionVariants": [
        {"VariantName": "v", "ModelName": "m", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}]})
    await api.create_endpoint({"EndpointName": "e", "EndpointConfigName": "c"})
    with pytest.raises(EndpointBusyError):
        await api.update_endpoint({"EndpointName": "e", "EndpointConfigName": "c"})
    with pytest.raises(EndpointBusyError):
        await api.update_endpoint_weights_and_capacities("e", [{"VariantName": "v", "DesiredWeight": 2.0}])
    with pytest.raises(EndpointBusyError):
        await api.delete_endpoint("e")


async def test_listing_by_name_finds_every_page(env: Harness) -> None:
    api = HostingApi(env.sagemaker.at("us-west-2"))
    for i in range(105):  # more than one page of 100
        await api.create_model({"ModelName": f"owner-abc-{i:03d}", "ExecutionRoleArn": ROLE,
                                "PrimaryContainer": {"Image": IMAGE}})
    await api.create_model({"ModelName": "someone-else", "ExecutionRoleArn": ROLE,
                            "PrimaryContainer": {"Image": IMAGE}})
    listed = await api.list_models("owner-abc")
    assert sorted(name for name, _ in listed) == [f"owner-abc-{i:03d}" for i in range(105)]
    assert all(arn.endswith(f":model/{name}") for name, arn in listed)
