"""The job controllers in a manager against both emulators, in-process.

The AWS emulator runs ``AWS_TIME_SCALE`` x faster than real time (a default training job's 800 virtual seconds take
80 ms); the manager polls every ``POLL`` real seconds. Tests wait on the informer's watch events (``Harness.wait``),
never on sleeps; ``DEADLINE`` is only a safety net.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_asyncio import client as aclient
from kubernetes_asyncio import watch as awatch
from prometheus_client import CollectorRegistry

from smk8s.api.v1.common import GROUP, VERSION
from smk8s.api.v1.registry import INFO
from smk8s.controllers.jobs.adapters import ADAPTERS
from smk8s.controllers.jobs.setup import build_job_controllers
from smk8s.controllers.services import Services
from smk8s.emulators.aws.server import AwsEmulator
from smk8s.emulators.kube.server import KubeEmulator
from smk8s.informers import object_key
from smk8s.kube import CustomResourceClient, load_api_client, request_json
from smk8s.manager import Manager
from smk8s.sagemaker import ClientSettings, SageMaker
from tests.integration.sagemaker.helpers import sagemaker_for

ROOT = Path(__file__).resolve().parents[4]
CRDS = ROOT / "config" / "crd" / "bases"
SAMPLES = ROOT / "config" / "samples"
AWS_TIME_SCALE = 10_000.0
POLL = 0.02
DEADLINE = 30.0
NS = "default"
Obj = dict[str, Any]


def sample(name: str) -> Obj:
    """The sample manifest ``config/samples/<name>.yaml``."""
    doc: Obj = yaml.safe_load((SAMPLES / f"{name}.yaml").read_text())
    return doc


class Harness:
    def __init__(self, kube: KubeEmulator, aws: AwsEmulator, api: Any, settings: ClientSettings | None = None,
                 **options: Any) -> None:
        self.kube = kube
        self.aws = aws
        self.api = api
        self.registry = CollectorRegistry()
        self.manager = Manager(api, metrics_bind_address="0", health_probe_bind_address="0",
                               registry=self.registry)
        self.sagemaker: SageMaker = sagemaker_for(aws, self.registry, settings=settings)
        options.setdefault("poll_interval", POLL)
        self.controllers = build_job_controllers(self.manager, Services.for_manager(self.manager, self.sagemaker),
                                                 **options)
        self.clients = {k: CustomResourceClient(api, GROUP, VERSION, a.plural) for k, a in ADAPTERS.items()}
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

    async def delete(self, kind: str, name: str) -> None:
        await request_json(self.api, "DELETE", self.clients[kind].path(NS, name))

    async def get(self, kind: str, name: str) -> Obj:
        return await self.clients[kind].get(NS, name)

    async def wait(self, kind: str, name: str, predicate: Callable[[Obj], bool]) -> Obj:
        """Wait on the kind's informer until the object satisfies ``predicate``."""
        informer = self.manager.informers.informer(GROUP, VERSION, ADAPTERS[kind].plural)
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
        informer = self.manager.informers.informer(GROUP, VERSION, ADAPTERS[kind].plural)
        key = f"{NS}/{name}"
        gone = asyncio.Event()
        registration = informer.add_event_handler(on_delete=lambda obj: gone.set() if object_key(obj) == key else None)
        try:
            if informer.store.get(key) is not None:
                await asyncio.wait_for(gone.wait(), DEADLINE)
        finally:
            registration.remove()

    def calls(self, operation: str, outcome: str | None = None) -> int:
        return sum(1 for c in self.aws.calls if c.operation == operation and (outcome is None or c.outcome == outcome))

    async def events(self, name: str) -> list[Obj]:
        await self.controllers[0].reconciler.deps.events.flush()
        listed = await request_json(self.api, "GET", f"/apis/events.k8s.io/v1/namespaces/{NS}/events")
        return [e for e in listed["items"] if e["regarding"]["name"] == name]

    async def sm(self, operation: str, **params: Any) -> dict[str, Any]:
        return await self.sagemaker.at("us-west-2").call(operation, **params)


def status_is(field: str, *values: str) -> Callable[[Obj], bool]:
    return lambda obj: (obj.get("status") or {}).get(field) in values


def condition(obj: Obj, type_: str) -> dict[str, Any]:
    return next(c for c in obj["status"]["conditions"] if c["type"] == type_)


async def install_crds(api: Any) -> None:
    """Every kind's CRD (a manager process runs every controller, whose caches sync only once all exist)."""
    for info in INFO.values():
        crd = yaml.safe_load((CRDS / f"{info.group}_{info.plural}.yaml").read_text())
        await request_json(api, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body=crd)
        await _established(api, crd["metadata"]["name"])


async def _established(api: Any, name: str) -> None:
    ext = aclient.ApiextensionsV1Api(api)
    w = awatch.Watch()
    async with asyncio.timeout(DEADLINE), w.stream(
        ext.list_custom_resource_definition, field_selector=f"metadata.name={name}", timeout_seconds=30
    ) as stream:
        async for event in stream:
            conditions = {c.type: c.status for c in (event["object"].status.conditions or [])}
            if conditions.get("Established") == "True":
                w.stop()
                return


@asynccontextmanager
async def harness(*, start: bool = True, **options: Any) -> AsyncIterator[Harness]:
    """Both emulators, the CRDs, and a manager with the job controllers (``options``: build_job_controllers')."""
    async with KubeEmulator() as kube, AwsEmulator(time_scale=AWS_TIME_SCALE, config={"rates": {"*": None}}) as aws:
        api = await load_api_client(kube.kubeconfig)
        try:
            await install_crds(api)
            running = Harness(kube, aws, api, **options)
            if start:
                running.start()
            try:
                yield running
            finally:
                await running.stop()
        finally:
            await api.close()


@pytest.fixture
async def env() -> AsyncIterator[Harness]:
    async with harness() as running:
        yield running
