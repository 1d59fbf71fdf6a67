"""The Model controller end to end, both emulators in-process (harness: :mod:`.resources_env`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from smk8s.api.v1 import convert
from smk8s.api.v1.model import ModelSpec
from smk8s.controllers.hosting import resources_core as rc
from smk8s.controllers.jobs import core
from tests.integration.controllers.hosting.resources_env import (
    NS,
    ResourcesEnv,
    condition,
    ready,
    ready_at,
    resources_env,
    sample,
)
from tests.integration.sagemaker.helpers import IMAGE, ROLE


@pytest.fixture
async def env() -> AsyncIterator[ResourcesEnv]:
    async with resources_env() as running:
        yield running


# -- Model --------------------------------------------------------------------------------------------------------


async def test_a_model_is_created_once_tagged_mirrored_and_deleted_with_its_object(env: ResourcesEnv) -> None:
    created = await env.create(sample("model-xgboost-mnist"))
    uid = created["metadata"]["uid"]
    done = await env.wait("Model", "xgboost-mnist-model", ready)
    status = done["status"]
    name = status["sageMakerModelName"]
    assert status["status"] == "Created" and status["modelArn"].endswith(f"model/{name}")
    assert rc.is_ours_by_name(name, "xgboost-mnist-model", uid) and status["lastUpdateTime"]
    assert core.FINALIZER in done["metadata"]["finalizers"]
    tags = await env.sagemaker.at("us-west-2").list_tags(status["modelArn"])
    assert tags[core.TAG_UID] == uid and tags["project"] == "mnist"
    described = await env.sm("DescribeModel", ModelName=name)
    assert described["PrimaryContainer"]["Image"].endswith("sagemaker-xgboost:1.7-1")
    assert env.calls("CreateModel") == 1
    assert "Created" in [e["reason"] for e in await env.events("xgboost-mnist-model")]
    await env.delete("Model", "xgboost-mnist-model")
    await env.wait_gone("Model", "xgboost-mnist-model")
    assert await env.model_names() == set()


async def test_an_edited_model_is_replaced_under_a_new_name_and_a_revert_returns_to_the_first(
    env: ResourcesEnv,
) -> None:
    obj = sample("model-xgboost-mnist")
    await env.create(obj)
    first = (await env.wait("Model", "xgboost-mnist-model", ready))["status"]["sageMakerModelName"]
    await env.patch_spec("Model", "xgboost-mnist-model", {"primaryContainer": {"image": IMAGE}})
    edited = await env.wait("Model", "xgboost-mnist-model",
                            lambda o: ready(o) and o["status"]["sageMakerModelName"] != first)
    second = edited["status"]["sageMakerModelName"]
    assert await env.model_names() == {second}  # the old one, unused, is gone
    assert "Replaced" in [e["reason"] for e in await env.events("xgboost-mnist-model")]
    await env.patch_spec("Model", "xgboost-mnist-model", {"primaryContainer": obj["spec"]["primaryContainer"]})
    reverted = await env.wait("Model", "xgboost-mnist-model",
                              lambda o: ready(o) and o["status"]["sageMakerModelName"] != second)
    assert reverted["status"]["sageMakerModelName"] == first
    assert await env.model_names() == {first}


async def test_a_tag_edit_changes_the_tags_in_place(env: ResourcesEnv) -> None:
    await env.create(sample("model-xgboost-mnist"))
    done = await env.wait("Model", "xgboost-mnist-model", ready)
    patched = await env.patch_spec("Model", "xgboost-mnist-model", {"tags": [{"key": "team", "value": "ml"}]})
    edited = await env.wait("Model", "xgboost-mnist-model", ready_at(patched["metadata"]["generation"]))
    assert edited["status"]["sageMakerModelName"] == done["status"]["sageMakerModelName"]
    tags = await env.sagemaker.at("us-west-2").list_tags(done["status"]["modelArn"])
    assert tags["team"] == "ml" and "project" not in tags
    assert env.calls("CreateModel") == 1


async def test_a_replaced_model_an_endpoint_uses_is_kept_and_the_deletion_waits_for_it(env: ResourcesEnv) -> None:
    await env.create(sample("model-xgboost-mnist"))
    first = (await env.wait("Model", "xgboost-mnist-model", ready))["status"]["sageMakerModelName"]
    await env.sm("CreateEndpointConfig", EndpointConfigName="uses-it", ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": first, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    await env.sm("CreateEndpoint", EndpointName="serving", EndpointConfigName="uses-it")
    await env.patch_spec("Model", "xgboost-mnist-model", {"primaryContainer": {"image": IMAGE}})
    edited = await env.wait("Model", "xgboost-mnist-model",
                            lambda o: ready(o) and o["status"]["sageMakerModelName"] != first)
    second = edited["status"]["sageMakerModelName"]
    assert await env.model_names() == {first, second}  # the endpoint still uses the first
    assert "InUse" in [e["reason"] for e in await env.events("xgboost-mnist-model")]
    await env.delete("Model", "xgboost-mnist-model")
    waiting = await env.wait("Model", "xgboost-mnist-model", lambda o: (o.get("status") or {}).get(
        "conditions") is not None and condition(o, "Ready")["reason"] == rc.IN_USE)
    assert first in waiting["status"]["additional"]
    assert await env.model_names() == {first}  # the unused one went at once
    env.aws.advance(3600)  # the endpoint is InService: it can be deleted
    await env.sm("DeleteEndpoint", EndpointName="serving")
    env.aws.advance(3600)  # the endpoint is gone: the next pass deletes the model and releases the object
    await env.wait_gone("Model", "xgboost-mnist-model")
    assert await env.model_names() == set()


async def test_a_role_sagemaker_cannot_assume_is_reported_as_access_denied_until_the_spec_names_another() -> None:
    unassumable = "arn:aws:iam::123456789012:role/not-trusting-sagemaker"
    async with resources_env(aws_config={"unassumable_roles": [unassumable]}) as env:
        obj = sample("model-xgboost-mnist")
        obj["spec"]["executionRoleArn"] = unassumable
        await env.create(obj)
        denied = await env.wait("Model", "xgboost-mnist-model", lambda o: (o.get("status") or {}).get(
            "conditions") is not None and condition(o, "Ready")["reason"] == "AccessDenied")
        assert unassumable in denied["status"]["additional"] and "sageMakerModelName" not in denied["status"]
        patched = await env.patch_spec("Model", "xgboost-mnist-model", {"executionRoleArn": ROLE})
        done = await env.wait("Model", "xgboost-mnist-model", ready_at(patched["metadata"]["generation"]))
        assert await env.model_names() == {done["status"]["sageMakerModelName"]}


async def test_a_model_created_just_before_a_crash_is_adopted_and_a_stale_one_swept() -> None:
    async with resources_env(start=False) as env:
        created = await env.create(sample("model-xgboost-mnist"))
        uid = created["metadata"]["uid"]
        ours = core.our_tags(NS, "xgboost-mnist-model", uid)
        request = core.with_tags(convert.model_request(ModelSpec.model_validate(created["spec"]), "-"), ours)
        name = rc.resource_name("xgboost-mnist-model", uid, request)
        # What a manager killed mid-replacement leaves: the model of the current spec (status not written yet) and
        # the one of an earlier spec, both tagged with the uid.
        await env.sm("CreateModel", **{**request, "ModelName": name})
        stale = rc.resource_name("xgboost-mnist-model", uid, {**request, "ExecutionRoleArn": ROLE})
        await env.sm("CreateModel", **{**request, "ModelName": stale})
        env.start()
        done = await env.wait("Model", "xgboost-mnist-model", ready)
        assert done["status"]["sageMakerModelName"] == name
        assert env.calls("CreateModel") == 2  # ours above: the manager created nothing
        assert await env.model_names() == {name}


async def test_a_foreign_model_under_our_name_is_a_name_conflict() -> None:
    async with resources_env(start=False) as env:
        created = await env.create(sample("model-xgboost-mnist"))
        uid = created["metadata"]["uid"]
        request = convert.model_request(ModelSpec.model_validate(created["spec"]), "-")
        name = rc.resource_name("xgboost-mnist-model", uid, request)
        await env.sm("CreateModel", **{**request, "ModelName": name, "Tags": [{"Key": "owner", "Value": "else"}]})
        env.start()
        failed = await env.wait("Model", "xgboost-mnist-model",
                                lambda o: (o.get("status") or {}).get("status") == "Error")
        assert condition(failed, "Ready")["reason"] == core.NAME_CONFLICT
        await env.delete("Model", "xgboost-mnist-model")
        await env.wait_gone("Model", "xgboost-mnist-model")
        assert await env.model_names() == {name}  # never ours: never deleted
