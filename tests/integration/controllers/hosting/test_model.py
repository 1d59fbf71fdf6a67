"""The Model controller end to end (and the harness the other resource tests share): both emulators in-process.

The AWS emulator runs ``AWS_TIME_SCALE`` x real time; tests wait on informer watch events (``ResourcesEnv.wait``)
or move the AWS emulator's virtual clock (``aws.advance``), never on sleeps; ``DEADLINE`` is only a safety net.
"""

from __future__ import annotations

import asyncio
import copy
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml
from kubernetes_asyncio import client as aclient
from kubernetes_asyncio import watch as awatch
from prometheus_client import CollectorRegistry

from smk8s.api.v1 import convert
from smk8s.api.v1.common import GROUP, VERSION
from smk8s.api.v1.model import ModelSpec
from smk8s.controllers.hosting import resources_core as rc
from smk8s.controllers.hosting.setup_resources import build_resource_controllers
from smk8s.controllers.jobs import core
from smk8s.controllers.services import Services
from smk8s.emulators.aws.server import AwsEmulator
from smk8s.emulators.kube.server import KubeEmulator
from smk8s.informers import object_key
from smk8s.kube import CustomResourceClient, load_api_client, request_json
from smk8s.manager import Manager
from smk8s.sagemaker import SageMaker
from tests.integration.controllers.jobs.conftest import _established
from tests.integration.sagemaker.helpers import IMAGE, ROLE, sagemaker_for

ROOT = Path(__file__).resolve().parents[4]
CRDS = ROOT / "config" / "crd" / "bases"
SAMPLES = ROOT / "config" / "samples"
AWS_TIME_SCALE = 10_000.0
POLL = 0.02
DEADLINE = 30.0
NS = "default"
AUTOSCALING_ENDPOINT_ENV = "AWS_ENDPOINT_URL_APPLICATION_AUTO_SCALING"
PLURALS = {"Model": "models", "EndpointConfig": "endpointconfigs",
           "HostingAutoscalingPolicy": "hostingautoscalingpolicies"}
Obj = dict[str, Any]


def sample(name: str) -> Obj:
    doc: Obj = yaml.safe_load((SAMPLES / f"{name}.yaml").read_text())
    return doc


class ResourcesEnv:
    """A manager running the Model, EndpointConfig and HostingAutoscalingPolicy controllers."""

    def __init__(self, kube: KubeEmulator, aws: AwsEmulator, api: Any, **options: Any) -> None:
        self.kube, self.aws, self.api = kube, aws, api
        self.registry = CollectorRegistry()
        self.manager = Manager(api, metrics_bind_address="0", health_probe_bind_address="0", registry=self.registry)
        self.sagemaker: SageMaker = sagemaker_for(aws, self.registry)
        self.services = Services.for_manager(self.manager, self.sagemaker)
        options.setdefault("poll_interval", POLL)
        self.controllers = build_resource_controllers(self.manager, self.services, **options)
        self.clients = {k: CustomResourceClient(api, GROUP, VERSION, p) for k, p in PLURALS.items()}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self.manager.run())

    async def stop(self) -> None:
        if self._task is not None:
            self.manager.stop()
            await self._task

    async def create(self, obj: Obj) -> Obj:
        obj = copy.deepcopy(obj)
        obj["metadata"].setdefault("namespace", NS)
        return await self.clients[obj["kind"]].create(obj)

    async def patch_spec(self, kind: str, name: str, spec: Obj) -> Obj:
        return await self.clients[kind].patch(NS, name, {"spec": spec})

    async def delete(self, kind: str, name: str) -> None:
        await request_json(self.api, "DELETE", self.clients[kind].path(NS, name))

    async def wait(self, kind: str, name: str, predicate: Callable[[Obj], bool]) -> Obj:
        """Wait on the kind's informer until the object satisfies ``predicate``."""
        informer = self.manager.informers.informer(GROUP, VERSION, PLURALS[kind])
        key = f"{NS}/{name}"
        found: asyncio.Future[Obj] = asyncio.get_running_loop().create_future()

        def check(obj: Any) -> None:
            if isinstance(obj, dict) and object_key(obj) == key and predicate(obj) and not found.done():
                found.set_result(obj)

        registration = informer.add_event_handler(check, lambda _old, new: check(new))
        try:
            return await asyncio.wait_for(found, DEADLINE)
        finally:
            registration.remove()

    async def wait_gone(self, kind: str, name: str) -> None:
        informer = self.manager.informers.informer(GROUP, VERSION, PLURALS[kind])
        key = f"{NS}/{name}"
        gone = asyncio.Event()
        registration = informer.add_event_handler(on_delete=lambda obj: gone.set() if object_key(obj) == key else None)
        try:
            if informer.store.get(key) is not None:
                await asyncio.wait_for(gone.wait(), DEADLINE)
        finally:
            registration.remove()

    async def wait_event(self, name: str, reason: str, note_contains: str = "", *, count: int = 1) -> Obj:
        """Wait (on a watch of the namespace's Events) for an Event about object ``name``, seen ``count`` times
        (a repeated Event is one Event with a ``series``)."""
        w = awatch.Watch()
        async with asyncio.timeout(DEADLINE), w.stream(
            aclient.EventsV1Api(self.api).list_namespaced_event, namespace=NS, timeout_seconds=60,
            _preload_content=False,
        ) as stream:
            async for event in stream:
                obj = event["raw_object"]
                seen = (obj.get("series") or {}).get("count", 1)
                if (obj["regarding"]["name"] == name and obj["reason"] == reason
                        and note_contains in obj.get("note", "") and seen >= count):
                    w.stop()
                    return dict(obj)
        raise AssertionError(f"no {reason} event about {name}")

    def calls(self, operation: str, outcome: str | None = None) -> int:
        return sum(1 for c in self.aws.calls if c.operation == operation and (outcome is None or c.outcome == outcome))

    async def events(self, name: str) -> list[Obj]:
        await self.services.events.flush()
        listed = await request_json(self.api, "GET", f"/apis/events.k8s.io/v1/namespaces/{NS}/events")
        return [e for e in listed["items"] if e["regarding"]["name"] == name]

    async def sm(self, operation: str, **params: Any) -> dict[str, Any]:
        return await self.sagemaker.at("us-west-2").call(operation, **params)

    async def aas(self, operation: str, **params: Any) -> dict[str, Any]:
        return await self.sagemaker.at("us-west-2").call(operation, service="application-autoscaling", **params)

    async def endpoint(self, name: str, variants: tuple[str, ...] = ("AllTraffic",), *,
                       in_service: bool = True) -> None:
        """An endpoint (with its model and configuration) made directly in SageMaker, InService unless told."""
        await self.sm("CreateModel", ModelName=f"{name}-model", ExecutionRoleArn=ROLE,
                      PrimaryContainer={"Image": IMAGE})
        await self.sm("CreateEndpointConfig", EndpointConfigName=f"{name}-config", ProductionVariants=[
            {"VariantName": v, "ModelName": f"{name}-model", "InitialInstanceCount": 1,
             "InstanceType": "ml.m5.large"} for v in variants])
        await self.sm("CreateEndpoint", EndpointName=name, EndpointConfigName=f"{name}-config",
                      Tags=[{"Key": "emulator.smk8s/duration-seconds", "Value": "100000000"}])
        if in_service:
            self.make_in_service()

    def make_in_service(self) -> None:
        self.aws.advance(100_000_001)

    async def model_names(self) -> set[str]:
        return {m["ModelName"] for m in (await self.sm("ListModels", MaxResults=100))["Models"]}

    async def config_names(self) -> set[str]:
        return {c["EndpointConfigName"]
                for c in (await self.sm("ListEndpointConfigs", MaxResults=100))["EndpointConfigs"]}


def ready(obj: Obj) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in (obj.get("status") or {}).get("conditions", ())
               ) and (obj.get("status") or {}).get("observedGeneration") == obj["metadata"]["generation"]


def ready_at(generation: int) -> Callable[[Obj], bool]:
    """Ready for ``generation`` (or a later one): not the cached object from before an edit."""
    return lambda obj: ready(obj) and obj["metadata"]["generation"] >= generation


def condition(obj: Obj, type_: str) -> Obj:
    return next(c for c in obj["status"]["conditions"] if c["type"] == type_)


@asynccontextmanager
async def resources_env(*, start: bool = True, aws_config: Obj | None = None,
                        **options: Any) -> AsyncIterator[ResourcesEnv]:
    """Both emulators, the three CRDs, and a manager running the three controllers (``options``:
    build_resource_controllers'; ``aws_config``: the AWS emulator's, besides rate limits off)."""
    config = {"rates": {"*": None}, **(aws_config or {})}
    async with KubeEmulator() as kube, AwsEmulator(time_scale=AWS_TIME_SCALE, config=config) as aws:
        api = await load_api_client(kube.kubeconfig)
        # Application Auto Scaling follows the SDK's endpoint resolution, as `smk8s dev` sets it (AWS_ENDPOINT_URL).
        environ = mock.patch.dict(os.environ, {AUTOSCALING_ENDPOINT_ENV: aws.url})
        environ.start()
        try:
            for plural in PLURALS.values():
                crd = yaml.safe_load((CRDS / f"{GROUP}_{plural}.yaml").read_text())
                await request_json(api, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body=crd)
                await _established(api, crd["metadata"]["name"])
            env = ResourcesEnv(kube, aws, api, **options)
            if start:
                env.start()
            try:
                yield env
            finally:
                await env.stop()
        finally:
            environ.stop()
            await api.close()


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
