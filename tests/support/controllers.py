"""Controllers in a manager against both emulators, in-process: the base of the job and hosting test harnesses.

:class:`ControllerHarness` owns a :class:`~smk8s.manager.Manager` (metrics on a throwaway registry, probes on ephemeral
ports), one :class:`~smk8s.controllers.services.Services` for its controllers, and a client per kind. Subclasses say
which controllers run by overriding :meth:`ControllerHarness.build_controllers`. :func:`running` starts the
emulators, installs CRDs and yields a harness whose manager runs until the block ends.

Tests wait on the informers' watch events (:meth:`ControllerHarness.wait`), never on sleeps; ``DEADLINE`` is only a
safety net.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import yaml
from prometheus_client import CollectorRegistry

from smk8s.api.v1.common import GROUP, VERSION
from smk8s.api.v1.registry import INFO
from smk8s.controllers.services import Services
from smk8s.dev import install_crds as apply_crds
from smk8s.emulators.aws.server import AwsEmulator
from smk8s.emulators.kube.server import KubeEmulator
from smk8s.informers import SharedInformer, object_key
from smk8s.kube import CustomResourceClient, load_api_client, request_json
from smk8s.manager import Manager
from smk8s.sagemaker import ClientSettings, SageMaker
from tests.integration.sagemaker.helpers import sagemaker_for

ROOT = Path(__file__).resolve().parents[2]
CRDS = ROOT / "config" / "crd" / "bases"
SAMPLES = ROOT / "config" / "samples"
AWS_TIME_SCALE = 10_000.0
POLL = 0.02
DEADLINE = 30.0
NS = "default"
Obj = dict[str, Any]
PLURALS = {info.kind: info.plural for info in INFO.values()}


def sample(name: str) -> Obj:
    """The sample manifest ``config/samples/<name>.yaml``."""
    doc: Obj = yaml.safe_load((SAMPLES / f"{name}.yaml").read_text())
    return doc


def crd_file(kind: str) -> Path:
    info = INFO[kind]
    return CRDS / f"{info.group}_{info.plural}.yaml"


async def install_crds(api: Any, kinds: Iterable[str] = tuple(INFO)) -> None:
    """Apply the CRDs of ``kinds`` (default: every kind, as a manager process running every controller needs) and
    wait until each is Established; CRDs already installed are left as they are."""
    await apply_crds(api, [crd_file(kind) for kind in kinds])


def condition(obj: Obj, type_: str) -> dict[str, Any]:
    """The condition ``type_`` of ``obj`` (StopIteration when it has none)."""
    return next(c for c in (obj.get("status") or {}).get("conditions") or () if c["type"] == type_)


class ControllerHarness:
    """A manager with the controllers :meth:`build_controllers` adds, over both emulators.

    Created inside a running event loop; :meth:`start` runs the manager as a task, :meth:`stop` ends it.
    """

    def __init__(self, kube: KubeEmulator, aws: AwsEmulator, api: Any, settings: ClientSettings | None = None,
                 **options: Any) -> None:
        self.kube = kube
        self.aws = aws
        self.api = api
        self.registry = CollectorRegistry()
        self.manager = Manager(api, metrics_bind_address="0", health_probe_bind_address="0", registry=self.registry)
        self.sagemaker: SageMaker = sagemaker_for(aws, self.registry, settings=settings)
        self.services = Services.for_manager(self.manager, self.sagemaker)
        options.setdefault("poll_interval", POLL)
        self.controllers = self.build_controllers(**options)
        self.clients = {kind: CustomResourceClient(api, GROUP, VERSION, plural) for kind, plural in PLURALS.items()}
        self._task: asyncio.Task[None] | None = None

    def build_controllers(self, **options: Any) -> list[Any]:
        """Add this harness's controllers to ``self.manager`` (using ``self.services``); the controllers."""
        raise NotImplementedError

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

    def informer(self, kind: str) -> SharedInformer:
        return self.manager.informers.informer(GROUP, VERSION, PLURALS[kind])

    async def wait(self, kind: str, name: str, predicate: Callable[[Obj], bool], *, deadline: float = DEADLINE) -> Obj:
        """Wait on the kind's informer until the object satisfies ``predicate`` (now or at a later event); at most
        ``deadline`` seconds (a safety net, not a measure)."""
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
            return await asyncio.wait_for(found, deadline)
        finally:
            registration.remove()

    async def wait_gone(self, kind: str, name: str) -> None:
        """Wait on the kind's informer until the object is deleted (at once if it is not in the cache)."""
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
        """How many calls of ``operation`` (with ``outcome``, if given) the AWS emulator has answered."""
        return sum(1 for c in self.aws.calls if c.operation == operation and (outcome is None or c.outcome == outcome))

    async def events(self, name: str) -> list[Obj]:
        """The Events about object ``name``, once every Event recorded so far is written."""
        await self.services.events.flush()
        listed = await request_json(self.api, "GET", f"/apis/events.k8s.io/v1/namespaces/{NS}/events")
        return [e for e in listed["items"] if e["regarding"]["name"] == name]

    async def sm(self, operation: str, **params: Any) -> dict[str, Any]:
        """Call SageMaker ``operation`` in us-west-2 directly (through the harness's own client)."""
        return await self.sagemaker.at("us-west-2").call(operation, **params)


HarnessT = TypeVar("HarnessT", bound=ControllerHarness)


@asynccontextmanager
async def running(harness_type: type[HarnessT], *, kinds: Iterable[str] = tuple(INFO), start: bool = True,
                  time_scale: float = AWS_TIME_SCALE, aws_config: Obj | None = None,
                  **options: Any) -> AsyncIterator[HarnessT]:
    """Both emulators, the CRDs of ``kinds``, and a ``harness_type`` built with ``options`` (its manager started
    unless ``start`` is false). ``aws_config``: the AWS emulator's configuration, besides rate limits off."""
    config = {"rates": {"*": None}, **(aws_config or {})}
    async with KubeEmulator() as kube, AwsEmulator(time_scale=time_scale, config=config) as aws:
        api = await load_api_client(kube.kubeconfig)
        try:
            await install_crds(api, kinds)
            harness = harness_type(kube, aws, api, **options)
            if start:
                harness.start()
            try:
                yield harness
            finally:
                await harness.stop()
        finally:
            await api.close()
