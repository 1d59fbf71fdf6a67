"""The EndpointConfig controller end to end: both emulators in-process (harness: :mod:`.test_model`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from smk8s.controllers.hosting import resources_core as rc
from smk8s.controllers.hosting.resources_reconciler import MISSING_DEPENDENCY
from smk8s.controllers.jobs import core
from tests.integration.controllers.hosting.resources_env import (
    ResourcesEnv,
    condition,
    ready,
    ready_at,
    resources_env,
    sample,
)
from tests.integration.sagemaker.helpers import IMAGE, ROLE

NAME = "xgboost-mnist-endpointconfig"


@pytest.fixture
async def env() -> AsyncIterator[ResourcesEnv]:
    async with resources_env() as running:
        yield running


async def model(env: ResourcesEnv, name: str = "xgboost-mnist-model") -> None:
    await env.sm("CreateModel", ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})


async def test_a_configuration_waits_for_its_model_then_is_created_and_deleted_with_its_object(
    env: ResourcesEnv,
) -> None:
    created = await env.create(sample("endpointconfig-xgboost-mnist"))
    waiting = await env.wait("EndpointConfig", NAME, lambda o: (o.get("status") or {}).get("conditions") is not None
                             and condition(o, "Ready")["reason"] == MISSING_DEPENDENCY)
    assert "xgboost-mnist-model" in waiting["status"]["additional"]
    await model(env)
    done = await env.wait("EndpointConfig", NAME, ready)
    status = done["status"]
    name = status["sageMakerEndpointConfigName"]
    assert status["status"] == "Created" and status["endpointConfigArn"].endswith(f"endpoint-config/{name}")
    assert rc.is_ours_by_name(name, NAME, created["metadata"]["uid"]) and "additional" not in status
    tags = await env.sagemaker.at("us-west-2").list_tags(status["endpointConfigArn"])
    assert tags[core.TAG_UID] == created["metadata"]["uid"]
    described = await env.sm("DescribeEndpointConfig", EndpointConfigName=name)
    assert described["ProductionVariants"][0]["ModelName"] == "xgboost-mnist-model"
    assert env.calls("CreateEndpointConfig", "ok") == 1
    await env.delete("EndpointConfig", NAME)
    await env.wait_gone("EndpointConfig", NAME)
    assert await env.config_names() == set()
    assert await env.model_names() == {"xgboost-mnist-model"}  # not ours: untouched


async def test_a_replaced_configuration_is_kept_while_an_endpoint_serves_it_and_swept_once_it_does_not(
    env: ResourcesEnv,
) -> None:
    await model(env)
    await model(env, "other-model")
    await env.create(sample("endpointconfig-xgboost-mnist"))
    first = (await env.wait("EndpointConfig", NAME, ready))["status"]["sageMakerEndpointConfigName"]
    await env.sm("CreateEndpoint", EndpointName="serving", EndpointConfigName=first)
    env.aws.advance(3600)
    variants = sample("endpointconfig-xgboost-mnist")["spec"]["productionVariants"]
    patched = await env.patch_spec("EndpointConfig", NAME, {"productionVariants": [
        {**variants[0], "modelName": "other-model"}]})
    edited = await env.wait("EndpointConfig", NAME, ready_at(patched["metadata"]["generation"]))
    second = edited["status"]["sageMakerEndpointConfigName"]
    assert second != first and await env.config_names() == {first, second}  # the endpoint serves the first
    assert "InUse" in [e["reason"] for e in await env.events(NAME)]
    # The user moves the endpoint to the new configuration: the old one is swept on a later pass.
    await env.sm("UpdateEndpoint", EndpointName="serving", EndpointConfigName=second)
    env.aws.advance(3600)
    await env.wait_event(NAME, "Deleted", first)
    assert await env.config_names() == {second}
