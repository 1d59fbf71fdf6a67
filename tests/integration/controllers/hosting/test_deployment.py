"""HostingDeployment end to end: the controller in a manager, the kube and AWS emulators in-process."""

from __future__ import annotations

import copy
from typing import Any

from smk8s.api.v1.hosting_deployment import HostingDeploymentSpec
from smk8s.controllers.hosting import deployment_core as dc
from smk8s.controllers.hosting.common import FINALIZER, TAG_UID, owner_prefix
from smk8s.controllers.jobs.naming import generated_name
from smk8s.emulators.aws.sagemaker import hosting as emulated
from smk8s.sagemaker import ClientSettings
from tests.integration.controllers.hosting.conftest import Harness, condition, harness, ready, sample

Obj = dict[str, Any]
KIND = "HostingDeployment"
NEW_IMAGE = "246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:1.7-2"


def deployment(name: str, *, endpoint_name: str | None = None, **spec: Any) -> Obj:
    obj = sample("hostingdeployment-xgboost-mnist")
    obj["metadata"] = {"name": name}
    if endpoint_name is None:
        obj["spec"].pop("endpointName", None)
    else:
        obj["spec"]["endpointName"] = endpoint_name
    obj["spec"].update(spec)
    return obj


def in_service(obj: Obj) -> bool:
    return ready("InService", "True")(obj) and obj["status"].get("endpointStatus") == "InService"


def ours(env: Harness, uid: str) -> dict[str, set[str]]:
    """Names of every model, endpoint configuration and endpoint in SageMaker tagged with ``uid``."""
    state = env.aws.state()["sagemaker"]
    tags: dict[str, dict[str, str]] = state["tags"]
    hosting = state["hosting"]
    return {kind: {name for name, item in hosting[kind].items() if tags.get(item["arn"], {}).get(TAG_UID) == uid}
            for kind in ("models", "endpoint_configs", "endpoints")}


async def test_a_single_model_deployment_creates_model_config_and_endpoint_and_mirrors_it(env: Harness) -> None:
    created = await env.create(deployment("mnist", endpoint_name="mnist-endpoint"))
    uid = created["metadata"]["uid"]
    done = await env.wait(KIND, "mnist", in_service)
    status = done["status"]
    assert FINALIZER in done["metadata"]["finalizers"]
    assert status["endpointName"] == "mnist-endpoint"
    assert status["endpointArn"].endswith(":endpoint/mnist-endpoint")
    assert status["endpointUrl"] == ("https://runtime.sagemaker.us-west-2.amazonaws.com/endpoints/mnist-endpoint/"
                                     "invocations")
    prefix = owner_prefix("mnist", uid)
    [model_map] = status["modelNames"]
    assert model_map["name"] == "xgboost-model" and model_map["value"].startswith(prefix)
    assert status["endpointConfigName"].startswith(prefix)
    assert status["productionVariants"][0]["variantName"] == "AllTraffic"
    assert status["observedGeneration"] == done["metadata"]["generation"]
    names = ours(env, uid)
    assert names == {"models": {model_map["value"]}, "endpoint_configs": {status["endpointConfigName"]},
                     "endpoints": {"mnist-endpoint"}}
    assert env.calls("CreateEndpoint") == 1 and env.calls("CreateModel") == 1
    reasons = [e["reason"] for e in await env.events("mnist")]
    assert "Created" in reasons and "InService" in reasons


async def test_a_generated_endpoint_name_is_the_k8s_name_and_uid(env: Harness) -> None:
    created = await env.create(deployment("generated"))
    done = await env.wait(KIND, "generated", in_service)
    assert done["status"]["endpointName"] == generated_name(created["metadata"]["uid"], "generated")


async def test_the_multi_model_sample_reaches_in_service_with_a_multi_model_container(env: Harness) -> None:
    obj = sample("hostingdeployment-multi-model")
    await env.create(obj)
    done = await env.wait(KIND, obj["metadata"]["name"], in_service)
    model = done["status"]["modelNames"][0]["value"]
    described = await env.sm("DescribeModel", ModelName=model)
    assert described["PrimaryContainer"]["Mode"] == "MultiModel"
    assert described["PrimaryContainer"]["ModelDataUrl"] == "s3://my-bucket/xgboost-mnist/models/"


async def test_an_image_edit_rolls_through_updating_with_an_endpoint_in_service_at_every_step() -> None:
    # SageMaker's clock runs at real speed here (an update takes 7 real minutes): the test moves it, so every
    # intermediate state is seen. "Updating" serves traffic with the old configuration (SageMaker's contract).
    async with harness(time_scale=1.0) as env:
        created = await env.create(deployment("rolling", endpoint_name="rolling"))
        uid = created["metadata"]["uid"]
        await env.wait(KIND, "rolling", lambda o: (o.get("status") or {}).get("endpointStatus") == "Creating")
        env.advance(emulated.CREATE_SECONDS)
        first = await env.wait(KIND, "rolling", in_service)
        old = ours(env, uid)
        old_config = first["status"]["endpointConfigName"]
        seen: list[str | None] = []
        registration = env.informer(KIND).add_event_handler(
            on_update=lambda _o, new: seen.append((new.get("status") or {}).get("endpointStatus")))
        try:
            containers = copy.deepcopy(created["spec"]["models"][0]["containers"])
            containers[0]["image"] = NEW_IMAGE
            edited = await env.patch(KIND, "rolling", {"spec": {"models": [{**created["spec"]["models"][0],
                                                                            "containers": containers}]}})
            updating = await env.wait(KIND, "rolling", lambda o: ready(dc.ROLLING_OUT)(o)
                                      and o["status"]["endpointStatus"] == "Updating")
            assert updating["metadata"]["generation"] == edited["metadata"]["generation"]
            # New model and configuration exist beside the old ones, which still serve.
            during = ours(env, uid)
            assert old["models"] < during["models"] and old["endpoint_configs"] < during["endpoint_configs"]
            endpoint = env.hosting_state()["endpoints"]["rolling"]
            assert endpoint["status"] == "Updating" and endpoint["endpoint_config"] == old_config
            [new_config] = during["endpoint_configs"] - old["endpoint_configs"]
            assert endpoint["pending_endpoint_config"] == new_config
            env.advance(emulated.UPDATE_SECONDS)
            done = await env.wait(KIND, "rolling", lambda o: in_service(o)
                                  and o["status"]["endpointConfigName"] == new_config)
        finally:
            registration.remove()
        after = ours(env, uid)
        assert after == {"models": during["models"] - old["models"], "endpoint_configs": {new_config},
                         "endpoints": {"rolling"}}
        assert done["status"]["productionVariants"][0]["deployedImages"][0]["specifiedImage"] == NEW_IMAGE
        assert {s for s in seen if s is not None} <= {"InService", "Updating"}  # never Creating, Deleting, absent
        assert env.calls("CreateEndpoint") == 1 and env.calls("UpdateEndpoint") == 1
        assert env.calls("DeleteEndpoint") == 0
        assert env.calls("DeleteModel", "ok") == 1 and env.calls("DeleteEndpointConfig", "ok") == 1
        reasons = [e["reason"] for e in await env.events("rolling")]
        assert {"RollingOut", "Updating", "CleanedUp"} <= set(reasons)


async def test_reverting_an_edit_maps_to_the_same_names_and_updates_nothing(env: Harness) -> None:
    created = await env.create(deployment("revert", endpoint_name="revert"))
    first = await env.wait(KIND, "revert", in_service)
    spec = created["spec"]
    # Content equal to the first spec, written differently (a tag only for the endpoint, and a new generation).
    await env.patch(KIND, "revert", {"spec": {"tags": [{"key": "team", "value": "ml"}]}})
    again = await env.wait(KIND, "revert", lambda o: in_service(o) and o["metadata"]["generation"] == 2)
    assert again["status"]["endpointConfigName"] == first["status"]["endpointConfigName"]
    assert again["status"]["modelNames"] == first["status"]["modelNames"]
    assert spec["models"] == again["spec"]["models"]
    assert env.calls("UpdateEndpoint") == 0 and env.calls("CreateEndpointConfig") == 1
    sm = env.sagemaker.at("us-west-2")
    config = await sm.call("DescribeEndpointConfig", EndpointConfigName=again["status"]["endpointConfigName"])
    models = [await sm.call("DescribeModel", ModelName=m["value"]) for m in again["status"]["modelNames"]]
    for arn in (again["status"]["endpointArn"], config["EndpointConfigArn"], *(m["ModelArn"] for m in models)):
        tags = await sm.list_tags(arn)  # the endpoint, its configuration and its models were re-tagged
        assert tags["team"] == "ml" and tags[TAG_UID] == created["metadata"]["uid"], (arn, tags)
    updated = [e for e in await env.events("revert") if e["reason"] == "Updated"]
    assert len(updated) == 1 and "model " in updated[0]["note"] and "endpoint configuration" in updated[0]["note"]


async def test_a_weight_only_edit_uses_update_endpoint_weights_and_capacities(env: Harness) -> None:
    created = await env.create(deployment("weights", endpoint_name="weights"))
    first = await env.wait(KIND, "weights", in_service)
    variants = copy.deepcopy(created["spec"]["productionVariants"])
    variants[0]["initialVariantWeight"] = 3
    variants[0]["initialInstanceCount"] = 2
    await env.patch(KIND, "weights", {"spec": {"productionVariants": variants}})
    done = await env.wait(KIND, "weights", lambda o: in_service(o) and o["metadata"]["generation"] == 2
                          and o["status"]["productionVariants"][0].get("currentWeight") == 3.0)
    assert done["status"]["productionVariants"][0]["currentInstanceCount"] == 2
    assert done["status"]["endpointConfigName"] == first["status"]["endpointConfigName"]
    stats = env.aws.stats()["calls"]["sagemaker"]
    assert stats["UpdateEndpointWeightsAndCapacities"] == {"ok": 1}
    assert "UpdateEndpoint" not in stats and stats["CreateEndpointConfig"] == {"ok": 1}
    assert dc.decode_capacities(done["metadata"]["annotations"][dc.APPLIED_CAPACITIES_ANNOTATION]) == {
        "AllTraffic": dc.Capacity(3.0, 2)}


async def test_a_failed_update_is_reported_naming_the_serving_config_and_not_retried(env: Harness) -> None:
    created = await env.create(deployment("failing", endpoint_name="failing"))
    first = await env.wait(KIND, "failing", in_service)
    serving = first["status"]["endpointConfigName"]
    containers = copy.deepcopy(created["spec"]["models"][0]["containers"])
    containers[0]["image"] = NEW_IMAGE
    await env.patch(KIND, "failing", {"spec": {
        "models": [{**created["spec"]["models"][0], "containers": containers}],
        "tags": [{"key": emulated.UPDATE_OUTCOME_TAG, "value": "RollingBack"},
                 {"key": emulated.FAILURE_REASON_TAG, "value": "health check failed"}]}})
    failed = await env.wait(KIND, "failing", ready(dc.UPDATE_FAILED, "False"))
    message = condition(failed, "Ready")["message"]
    assert f"configuration {serving} is still serving" in message and "health check failed" in message
    assert failed["status"]["endpointStatus"] == "InService"
    assert failed["status"]["endpointConfigName"] == serving
    assert any(e["type"] == "Warning" and e["reason"] == dc.UPDATE_FAILED for e in await env.events("failing"))
    # Reconciled again in the same generation (a label change; one worker, so once the witness is InService the
    # failed one was looked at again): no second UpdateEndpoint.
    await env.patch(KIND, "failing", {"metadata": {"labels": {"poke": "1"}}})
    await env.create(deployment("witness", endpoint_name="witness"))
    await env.wait(KIND, "witness", in_service)
    assert env.aws.stats()["calls"]["sagemaker"]["UpdateEndpoint"] == {"ok": 1}
    # A new generation (another image; the emulator's failure tag is on the failed configuration only) goes through.
    containers[0]["image"] = NEW_IMAGE.replace("1.7-2", "1.7-3")
    await env.patch(KIND, "failing", {"spec": {"tags": [], "models": [{**created["spec"]["models"][0],
                                                                       "containers": containers}]}})
    done = await env.wait(KIND, "failing", lambda o: in_service(o) and o["metadata"]["generation"] == 3)
    assert done["status"]["endpointConfigName"] != serving
    # What the failed update created is deleted with the rest once the new configuration serves.
    assert ours(env, failed["metadata"]["uid"])["endpoint_configs"] == {done["status"]["endpointConfigName"]}


async def test_an_earlier_updates_failure_is_not_blamed_on_a_roll_out_interrupted_before_its_update() -> None:
    """The roll-out is recorded (Ready RollingOut) but UpdateEndpoint fails, as if the manager had died between the
    two: the endpoint still carries the FailureReason of the previous generation's failed update. The next pass
    must send the update, not report that old failure as this roll-out's."""
    async with harness(settings=ClientSettings(max_attempts=1)) as env:  # the injected 500 is not retried away
        created = await env.create(deployment("stale", endpoint_name="stale"))
        await env.wait(KIND, "stale", in_service)
        model = created["spec"]["models"][0]
        failing = [{**model["containers"][0], "image": NEW_IMAGE}]
        await env.patch(KIND, "stale", {"spec": {
            "models": [{**model, "containers": failing}],
            "tags": [{"key": emulated.UPDATE_OUTCOME_TAG, "value": "RollingBack"},
                     {"key": emulated.FAILURE_REASON_TAG, "value": "health check failed"}]}})
        failed = await env.wait(KIND, "stale", ready(dc.UPDATE_FAILED, "False"))
        env.aws.set_faults([{"operations": ["UpdateEndpoint"], "internal_failure": 1.0, "times": 1}])
        good = [{**model["containers"][0], "image": NEW_IMAGE.replace("1.7-2", "1.7-3")}]
        await env.patch(KIND, "stale", {"spec": {"tags": [], "models": [{**model, "containers": good}]}})
        done = await env.wait(KIND, "stale", lambda o: in_service(o) and o["metadata"]["generation"] == 3)
        assert done["status"]["endpointConfigName"] != failed["status"]["endpointConfigName"]
        assert env.calls("UpdateEndpoint", "ok") == 2  # the failed update, then this roll-out's (after the fault)
        assert env.calls("UpdateEndpoint") == 3  # and the one the fault refused
        blamed = [e for e in await env.events("stale") if e["reason"] == dc.UPDATE_FAILED]
        assert len(blamed) == 1, blamed  # the first generation's failure only


async def test_deleting_removes_the_endpoint_then_its_models_and_config(env: Harness) -> None:
    created = await env.create(deployment("doomed", endpoint_name="doomed"))
    uid = created["metadata"]["uid"]
    await env.wait(KIND, "doomed", in_service)
    await env.delete(KIND, "doomed")
    await env.wait_gone(KIND, "doomed")
    assert ours(env, uid) == {"models": set(), "endpoint_configs": set(), "endpoints": set()}
    assert env.hosting_state() == {"models": {}, "endpoint_configs": {}, "endpoints": {}}


async def test_the_retain_policy_leaves_everything_in_sagemaker() -> None:
    async with harness(deletion_policy="retain") as env:
        created = await env.create(deployment("kept", endpoint_name="kept"))
        await env.wait(KIND, "kept", in_service)
        before = ours(env, created["metadata"]["uid"])
        await env.delete(KIND, "kept")
        await env.wait_gone(KIND, "kept")
        assert ours(env, created["metadata"]["uid"]) == before and before["endpoints"] == {"kept"}
        assert env.calls("DeleteEndpoint") == 0 and env.calls("DeleteModel") == 0


async def test_an_endpoint_of_our_name_not_ours_is_a_conflict_never_adopted_nor_deleted(env: Harness) -> None:
    await env.sm("CreateModel", ModelName="foreign", ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
                 PrimaryContainer={"Image": NEW_IMAGE})
    await env.sm("CreateEndpointConfig", EndpointConfigName="foreign", ProductionVariants=[
        {"VariantName": "v", "ModelName": "foreign", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    await env.sm("CreateEndpoint", EndpointName="taken", EndpointConfigName="foreign")
    await env.create(deployment("late", endpoint_name="taken"))
    conflict = await env.wait(KIND, "late", ready(dc.NAME_CONFLICT, "False"))
    assert "taken" in conflict["status"]["additional"]
    await env.delete(KIND, "late")
    await env.wait_gone(KIND, "late")
    assert env.calls("DeleteEndpoint") == 0 and "taken" in env.hosting_state()["endpoints"]


async def test_a_variant_naming_an_unknown_model_is_an_invalid_spec_shown_once(env: Harness) -> None:
    obj = deployment("typo", endpoint_name="typo")
    obj["spec"]["productionVariants"][0]["modelName"] = "no-such-model"
    await env.create(obj)
    invalid = await env.wait(KIND, "typo", ready(dc.INVALID_SPEC, "False"))
    assert "no-such-model" in invalid["status"]["additional"]
    assert env.calls("CreateModel") == 0 and env.calls("CreateEndpoint") == 0


async def test_resources_created_just_before_a_crash_are_adopted_not_duplicated() -> None:
    async with harness(start=False) as env:
        created = await env.create(deployment("crashed", endpoint_name="crashed"))
        desired = dc.desired_state(HostingDeploymentSpec.model_validate(created["spec"]), created["metadata"])
        for model in desired.models:
            await env.sm("CreateModel", **model.request)
        await env.sm("CreateEndpointConfig", **desired.config_request)
        await env.sm("CreateEndpoint", **desired.create_endpoint)
        env.start()
        done = await env.wait(KIND, "crashed", in_service)
        assert done["status"]["endpointConfigName"] == desired.config_name
        assert env.calls("CreateEndpoint", "ok") == 1 and env.calls("CreateModel", "ok") == 1
        assert ours(env, created["metadata"]["uid"])["endpoints"] == {"crashed"}


async def test_an_edit_arriving_while_the_endpoint_is_creating_waits_then_rolls_out() -> None:
    async with harness(time_scale=1.0) as env:
        created = await env.create(deployment("early", endpoint_name="early"))
        creating = await env.wait(KIND, "early", lambda o: (o.get("status") or {}).get("endpointStatus") == "Creating")
        containers = copy.deepcopy(created["spec"]["models"][0]["containers"])
        containers[0]["image"] = NEW_IMAGE
        await env.patch(KIND, "early", {"spec": {"models": [{**created["spec"]["models"][0],
                                                             "containers": containers}]}})
        # Reconciled in the new generation while still Creating: it waits (nothing sent, Ready False Creating).
        await env.wait(KIND, "early", lambda o: ready("Creating")(o) and o["metadata"]["generation"] == 2)
        assert env.calls("UpdateEndpoint") == 0 and env.calls("CreateEndpointConfig") == 1
        env.advance(emulated.CREATE_SECONDS)
        await env.wait(KIND, "early",
                       lambda o: ready(dc.ROLLING_OUT)(o) and o["status"]["endpointStatus"] == "Updating")
        env.advance(emulated.UPDATE_SECONDS)
        done = await env.wait(KIND, "early", in_service)
        assert done["status"]["endpointConfigName"] != creating["status"]["endpointConfigName"]
        assert env.calls("UpdateEndpoint") == 1 and env.calls("UpdateEndpoint", "ValidationException") == 0


async def test_a_failed_endpoint_is_terminal_until_the_spec_changes_then_re_created(env: Harness) -> None:
    reason = "The primary container did not pass the ping health check"
    await env.create(deployment("broken", endpoint_name="broken", tags=[
        {"key": emulated.OUTCOME_TAG, "value": "Failed"}, {"key": emulated.FAILURE_REASON_TAG, "value": reason}]))
    failed = await env.wait(KIND, "broken", ready(dc.ENDPOINT_FAILED, "False"))
    assert failed["status"]["endpointStatus"] == "Failed" and reason in failed["status"]["additional"]
    assert any(e["type"] == "Warning" and e["reason"] == "Failed" for e in await env.events("broken"))
    # The next generation (the failure tag removed) deletes the failed endpoint and creates it again.
    await env.patch(KIND, "broken", {"spec": {"tags": []}})
    done = await env.wait(KIND, "broken", lambda o: in_service(o) and o["metadata"]["generation"] == 2)
    assert done["status"]["endpointName"] == "broken"
    assert env.calls("DeleteEndpoint", "ok") == 1 and env.calls("CreateEndpoint", "ok") == 2


async def test_instance_counts_moved_by_autoscaling_are_kept_when_only_the_weight_is_edited(env: Harness) -> None:
    # The original's retain-variant-properties scenario: weight 2 at creation, autoscaling moves the instance count
    # to 2 (UpdateEndpointWeightsAndCapacities from outside), the spec's weight becomes 3 with retainAll and
    # DesiredWeight excluded: count 2 stays, weight 3 is applied.
    obj = deployment("scaled", endpoint_name="scaled", retainAllVariantProperties=True,
                     excludeRetainedVariantProperties=[{"variantPropertyType": "DesiredWeight"}])
    obj["spec"]["productionVariants"][0]["initialVariantWeight"] = 2
    created = await env.create(obj)
    await env.wait(KIND, "scaled", in_service)
    await env.sm("UpdateEndpointWeightsAndCapacities", EndpointName="scaled", DesiredWeightsAndCapacities=[
        {"VariantName": "AllTraffic", "DesiredInstanceCount": 2}])
    await env.patch(KIND, "scaled", {"metadata": {"labels": {"poke": "1"}}})  # reconciled while scaled out
    await env.wait(KIND, "scaled", lambda o: o["status"]["productionVariants"][0].get("currentInstanceCount") == 2
                   and o["metadata"].get("labels", {}).get("poke") == "1")
    variants = copy.deepcopy(created["spec"]["productionVariants"])
    variants[0]["initialVariantWeight"] = 3
    await env.patch(KIND, "scaled", {"spec": {"productionVariants": variants}})
    done = await env.wait(KIND, "scaled", lambda o: in_service(o) and o["metadata"]["generation"] == 2
                          and o["status"]["productionVariants"][0].get("currentWeight") == 3.0)
    assert done["status"]["productionVariants"][0]["currentInstanceCount"] == 2
    assert env.calls("UpdateEndpointWeightsAndCapacities", "ok") == 2  # autoscaling's and the weight edit's
    assert env.calls("UpdateEndpoint") == 0
