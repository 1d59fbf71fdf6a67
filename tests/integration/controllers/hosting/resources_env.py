"""The harness of the Model, EndpointConfig and HostingAutoscalingPolicy tests: the hosting :class:`Harness` running
those three controllers, plus what their tests need (SageMaker and Application Auto Scaling calls, an endpoint made
directly in SageMaker, Event waits).

The AWS emulator runs ``AWS_TIME_SCALE`` x real time; tests wait on informer watch events (``ResourcesEnv.wait``)
or move the AWS emulator's virtual clock (``make_in_service``), never on sleeps; ``DEADLINE`` is only a safety net.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any
from unittest import mock

from kubernetes_asyncio import client as aclient
from kubernetes_asyncio import watch as awatch

from smk8s.controllers.hosting.setup_resources import build_resource_controllers
from smk8s.emulators.aws.server import AwsEmulator
from smk8s.emulators.kube.server import KubeEmulator
from tests.integration.controllers.hosting.conftest import DEADLINE, NS, Builder, Harness, harness, sample
from tests.integration.sagemaker.helpers import IMAGE, ROLE
from tests.support.controllers import CRDS, condition

__all__ = ["AUTOSCALING_ENDPOINT_ENV", "CRDS", "NS", "ResourcesEnv", "condition", "ready", "ready_at", "resources_env",
           "sample"]

AUTOSCALING_ENDPOINT_ENV = "AWS_ENDPOINT_URL_APPLICATION_AUTO_SCALING"
Obj = dict[str, Any]


class ResourcesEnv(Harness):
    """A manager running the Model, EndpointConfig and HostingAutoscalingPolicy controllers."""

    def __init__(self, kube: KubeEmulator, aws: AwsEmulator, api: Any, builders: Sequence[Builder] = (),
                 **options: Any) -> None:
        super().__init__(kube, aws, api, builders or (build_resource_controllers,), **options)

    async def patch_spec(self, kind: str, name: str, spec: Obj) -> Obj:
        return await self.patch(kind, name, {"spec": spec})

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
        self.advance(100_000_001)

    async def model_names(self) -> set[str]:
        return {m["ModelName"] for m in (await self.sm("ListModels", MaxResults=100))["Models"]}

    async def config_names(self) -> set[str]:
        return {c["EndpointConfigName"]
                for c in (await self.sm("ListEndpointConfigs", MaxResults=100))["EndpointConfigs"]}


def ready(obj: Obj) -> bool:
    """Ready True for the object's current generation."""
    return any(c["type"] == "Ready" and c["status"] == "True" for c in (obj.get("status") or {}).get("conditions", ())
               ) and (obj.get("status") or {}).get("observedGeneration") == obj["metadata"]["generation"]


def ready_at(generation: int) -> Callable[[Obj], bool]:
    """Ready for ``generation`` (or a later one): not the cached object from before an edit."""
    return lambda obj: ready(obj) and obj["metadata"]["generation"] >= generation


@asynccontextmanager
async def resources_env(*, start: bool = True, aws_config: Obj | None = None,
                        **options: Any) -> AsyncIterator[ResourcesEnv]:
    """Both emulators, the hosting CRDs, and a manager running the three controllers (``options``:
    build_resource_controllers'; ``aws_config``: the AWS emulator's, besides rate limits off)."""
    with mock.patch.dict(os.environ):  # restored on exit
        async with harness(start=False, builders=(build_resource_controllers,), aws_config=aws_config,
                           harness_type=ResourcesEnv, **options) as env:
            # Application Auto Scaling follows the SDK's endpoint resolution, as `smk8s dev` sets it
            # (AWS_ENDPOINT_URL).
            os.environ[AUTOSCALING_ENDPOINT_ENV] = env.aws.url
            assert isinstance(env, ResourcesEnv)
            if start:
                env.start()
            yield env
