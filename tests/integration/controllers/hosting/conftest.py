"""Hosting controllers in a manager against both emulators, in-process (as the job controllers' harness).

``harness(builders=..., time_scale=..., **options)``: the kube and AWS emulators, the four hosting CRDs, and a
manager running the controllers the ``builders`` add (each called as ``builder(manager, services, **options)``;
default: the HostingDeployment controller). The AWS emulator runs ``time_scale`` times faster than real time
(default :data:`AWS_TIME_SCALE`: an endpoint's 420 virtual seconds of creation take 42 ms); a test that must see
every intermediate state passes ``time_scale=1`` and moves SageMaker's time itself with ``Harness.advance``.
Tests wait on the informers' watch events (``Harness.wait``), never on sleeps; ``DEADLINE`` is a safety net.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from smk8s.api.v1.common import GROUP, VERSION
from smk8s.api.v1.registry import INFO
from smk8s.controllers.hosting.deployment_setup import build_hosting_deployment_controller
from smk8s.controllers.services import Services
from smk8s.emulators.aws.server import AwsEmulator
from smk8s.emulators.kube.server import KubeEmulator
from smk8s.informers import object_key
from smk8s.kube import CustomResourceClient, load_api_client, request_json
from smk8s.kube.resources import is_already_exists
from smk8s.manager import Manager
from smk8s.sagemaker import SageMaker
from tests.integration.controllers.jobs.conftest import CRDS, SAMPLES, _established
from tests.integration.sagemaker.helpers import sagemaker_for

AWS_TIME_SCALE = 10_000.0
POLL = 0.02
DEADLINE = 30.0
NS = "default"
HOSTING_KINDS = ("HostingDeployment", "Model", "EndpointConfig", "HostingAutoscalingPolicy")
PLURALS = {info.kind: info.plural for info in INFO.values()}
Obj = dict[str, Any]
Builder = Callable[..., Any]


def sample(name: str) -> Obj:
    """The sample manifest ``config/samples/<name>.yaml``."""
    doc: Obj = yaml.safe_load((SAMPLES / f"{name}.yaml").read_text())
    return doc


class Harness:
    def __init__(self, kube: KubeEmulator, aws: AwsEmulator, api: Any, builders: Sequence[Builder],
                 **options: Any) -> None:
        self.kube = kube
        self.aws = aws
        self.api = api
        self.registry = CollectorRegistry()
        self.manager = Manager(api, metrics_bind_address="0", health_probe_bind_address="0",
                               registry=self.registry)
        self.sagemaker: SageMaker = sagemaker_for(aws, self.registry)
        self.services = Services.for_manager(self.manager, self.sagemaker)
        options.setdefault("poll_interval", POLL)
        self.controllers = [build(self.manager, self.services, **options) for build in builders]
        self.clients = {k: CustomResourceClient(api, GROUP, VERSION, PLURALS[k]) for k in HOSTING_KINDS}
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

    async def patch(self, kind: str, name: str, patch: Obj) -> Obj:
        return await self.clients[kind].patch(NS, name, patch)

    async def delete(self, kind: str, name: str) -> None:
        await request_json(self.api, "DELETE", self.clients[kind].path(NS, name))

    async def get(self, kind: str, name: str) -> Obj:
        return await self.clients[kind].get(NS, name)

    def informer(self, kind: str) -> Any:
        return self.manager.informers.informer(GROUP, VERSION, PLURALS[kind])

    async def wait(self, kind: str, name: str, predicate: Callable[[Obj], bool]) -> Obj:
        """Wait on the kind's informer until the object satisfies ``predicate`` (now or at a later event)."""
        informer = self.informer(kind)
        key = f"{NS}/{name}"
        found: asyncio.Future[Obj] = asyncio.get_running_loop().create_future()

        def check(obj: Any) -> None:
            if isinstance(obj, dict) and object_key(obj) == key and predicate(obj) and not found.done():
                found.set_result(obj)

        registration = informer.add_event_handler(check, lambda _old, new: check(new))
        try:
            current = informer.store.get(key)
            if current is not None:
                check(current)
            return await asyncio.wait_for(found, DEADLINE)
        finally:
            registration.remove()

    async def wait_gone(self, kind: str, name: str) -> None:
        informer = self.informer(kind)
        key = f"{NS}/{name}"
        gone = asyncio.Event()
        registration = informer.add_event_handler(on_delete=lambda obj: gone.set() if object_key(obj) == key else None)
        try:
            if informer.store.get(key) is not None:
                await asyncio.wait_for(gone.wait(), DEADLINE)
        finally:
            registration.remove()

    def advance(self, seconds: float) -> None:
        """Move SageMaker's virtual time ``seconds`` forward (lifecycle steps due run at the next call)."""
        self.aws.advance(seconds)

    def calls(self, operation: str, outcome: str | None = None) -> int:
        return sum(1 for c in self.aws.calls if c.operation == operation and (outcome is None or c.outcome == outcome))

    def hosting_state(self) -> dict[str, Any]:
        """The emulator's models, endpoint configurations and endpoints."""
        state: dict[str, Any] = self.aws.state()["sagemaker"]["hosting"]
        return state

    async def events(self, name: str) -> list[Obj]:
        await self.services.events.flush()
        listed = await request_json(self.api, "GET", f"/apis/events.k8s.io/v1/namespaces/{NS}/events")
        return [e for e in listed["items"] if e["regarding"]["name"] == name]

    async def sm(self, operation: str, **params: Any) -> dict[str, Any]:
        return await self.sagemaker.at("us-west-2").call(operation, **params)


def condition(obj: Obj, type_: str) -> dict[str, Any]:
    return next(c for c in (obj.get("status") or {}).get("conditions") or () if c["type"] == type_)


def ready(reason: str | None = None, status: str | None = None) -> Callable[[Obj], bool]:
    """A predicate: the Ready condition has ``reason`` (and ``status``) for the object's current generation."""
    def check(obj: Obj) -> bool:
        cond = next((c for c in (obj.get("status") or {}).get("conditions") or () if c["type"] == "Ready"), None)
        return (cond is not None and (reason is None or cond["reason"] == reason)
                and (status is None or cond["status"] == status)
                and cond.get("observedGeneration") == obj["metadata"]["generation"])
    return check


async def install_hosting_crds(api: Any) -> None:
    """The four hosting CRDs (those already installed are left as they are), each waited for until Established."""
    for kind in HOSTING_KINDS:
        info = next(i for i in INFO.values() if i.kind == kind)
        crd = yaml.safe_load((CRDS / f"{info.group}_{info.plural}.yaml").read_text())
        try:
            await request_json(api, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body=crd)
        except Exception as exc:
            if not is_already_exists(exc):
                raise
        await _established(api, crd["metadata"]["name"])


@asynccontextmanager
async def harness(*, start: bool = True, builders: Sequence[Builder] = (build_hosting_deployment_controller,),
                  time_scale: float = AWS_TIME_SCALE, aws_config: Obj | None = None,
                  harness_type: type[Harness] | None = None, **options: Any) -> AsyncIterator[Harness]:
    """Both emulators, the hosting CRDs, and a manager with the controllers ``builders`` add (``aws_config``: the
    AWS emulator's, besides rate limits off; ``harness_type``: a :class:`Harness` subclass to build)."""
    config = {"rates": {"*": None}, **(aws_config or {})}
    async with KubeEmulator() as kube, AwsEmulator(time_scale=time_scale, config=config) as aws:
        api = await load_api_client(kube.kubeconfig)
        try:
            await install_hosting_crds(api)
            running = (harness_type or Harness)(kube, aws, api, builders, **options)
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
