"""The I/O half of the Model and EndpointConfig controllers: observe, ask :func:`.resources_core.decide`, act.

One :class:`ResourceReconciler` per kind, configured by a :class:`ResourceKind` (:mod:`.model`,
:mod:`.endpoint_config`). Objects are read from the informer cache; every write is guarded by the object's
resourceVersion (a stale read fails with 409 and is retried, never acted on twice). Creates are idempotent by name:
the name is derived from the spec and every pass Describes before it Creates; AlreadyExists is re-described and
adopted when tagged with our uid.

In use. Before deleting a resource the sweep asks SageMaker which endpoints use it: ListEndpoints, DescribeEndpoint
of each (serving and pending configuration) and, for models, DescribeEndpointConfig of those configurations. These
calls happen only when something is to be deleted (an edit, a deletion), never on a steady-state pass.

Errors (classified by :mod:`smk8s.sagemaker.errors`): a Create refused as terminal (ValidationException ...) ->
Ready False ``InvalidSpec`` for this generation, status ``Error``, a Warning Event, no retry until the spec changes;
anything else (throttled, 5xx, network, access denied, a model an endpoint configuration names that does not exist
yet, a Delete refused) -> Ready False with the reason, retried after the error's suggested delay.

Polling: models and configurations never change by themselves, so a settled object is looked at again only every
``resync`` seconds (to recreate one deleted behind our back, or to sweep one an endpoint stopped using).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

import pydantic
import structlog
from pydantic import BaseModel

from smk8s.controllers.hosting import resources_core as rc
from smk8s.controllers.hosting.resources_core import Step
from smk8s.controllers.jobs import core
from smk8s.controllers.object_pass import CachedObjectReconciler, ObjectPass, ReconcilerDeps
from smk8s.kube import CustomResourceClient
from smk8s.manager import Request, Result, TerminalError
from smk8s.sagemaker import (
    AlreadyExistsError,
    NotFoundError,
    RetryableError,
    SageMakerApi,
    SageMakerError,
)
from smk8s.sagemaker import TerminalError as SageMakerTerminalError
from smk8s.sagemaker.hosting import HostingApi

log = structlog.get_logger("smk8s.controllers.hosting")
Obj = dict[str, Any]
NORMAL, WARNING = "Normal", "Warning"
LIST_PAGE_SIZE = 100
MISSING_DEPENDENCY = "DependencyNotFound"
"""Ready reason while a Create waits for a resource it names (an endpoint configuration's model)."""


@dataclass(frozen=True)
class ResourceKind:
    """What the shared reconciler needs to know about Model or EndpointConfig."""

    kind: str
    plural: str
    label: str  # "model", "endpoint configuration": for messages
    spec_model: type[BaseModel]
    request: Callable[[Any, str], dict[str, Any]]  # (parsed spec, name) -> Create request (spec tags only)
    status_fields: Callable[[Mapping[str, Any]], BaseModel]  # Describe response -> status fields
    api_name: str  # "Model", "EndpointConfig": the operations' suffix
    name_status_field: str
    in_use: Callable[[SageMakerApi], Awaitable[set[str]]]  # names of this kind endpoints use now

    @property
    def name_member(self) -> str:
        return f"{self.api_name}Name"

    @property
    def arn_member(self) -> str:
        return f"{self.api_name}Arn"


async def list_names(api: SageMakerApi, kind: ResourceKind, contains: str) -> list[str]:
    """Every name ``List<kind>s(NameContains=contains)`` returns (all pages: a page may be short, even empty)."""
    names: list[str] = []
    token: str | None = None
    while True:
        params: dict[str, Any] = {"NameContains": contains, "MaxResults": LIST_PAGE_SIZE}
        if token:
            params["NextToken"] = token
        page = await api.call(f"List{kind.api_name}s", None, **params)
        names.extend(str(item[kind.name_member]) for item in page.get(f"{kind.api_name}s", []))
        token = page.get("NextToken")
        if not token:
            return names


async def endpoint_config_names_in_use(api: SageMakerApi) -> set[str]:
    """The endpoint configurations every endpoint of the region serves or is updating to."""
    names: set[str] = set()
    token: str | None = None
    while True:
        params: dict[str, Any] = {"MaxResults": LIST_PAGE_SIZE}
        if token:
            params["NextToken"] = token
        page = await api.call("ListEndpoints", None, **params)
        for item in page.get("Endpoints", []):
            description = await HostingApi(api).describe_endpoint(str(item["EndpointName"]))
            if description is not None:  # else deleted meanwhile
                names |= rc.config_names_of_endpoint(description)
        token = page.get("NextToken")
        if not token:
            return names


async def model_names_in_use(api: SageMakerApi) -> set[str]:
    """The models of the endpoint configurations endpoints use."""
    names: set[str] = set()
    for config in sorted(await endpoint_config_names_in_use(api)):
        description = await HostingApi(api).describe_endpoint_config(config)
        if description is not None:  # else deleted: the endpoint runs from its snapshot, which we cannot see
            names |= rc.model_names_of_config(description)
    return names


class ResourceReconciler(CachedObjectReconciler):
    """Reconciles one kind."""

    def __init__(self, kind: ResourceKind, deps: ReconcilerDeps, objects: CustomResourceClient,
                 cached: Callable[[str, str], Obj | None]) -> None:
        super().__init__(deps, objects, cached)
        self.kind = kind
        self.leftovers: set[Request] = set()
        """Objects whose sweep kept a resource an endpoint used: swept again on their next pass."""

    async def __call__(self, request: Request) -> Result:
        obj = self.cached(request.namespace, request.name)
        if obj is None:
            self.leftovers.discard(request)
            return Result()
        run = _Pass(self, obj, request)
        try:
            return await run.run()
        except SageMakerError as err:  # recoverable, or a refusal of a step the spec cannot fix (a delete, tags)
            return await run.recoverable(err)


class _Pass(ObjectPass):
    """One reconcile of one object."""

    def __init__(self, owner: ResourceReconciler, obj: Obj, request: Request) -> None:
        super().__init__(obj, owner.deps.events, owner.deps.wall_clock)
        self.r = owner
        self.k = owner.kind
        self.request = request
        spec = self.spec
        self.region: str = spec.get("region", "")
        self.api: SageMakerApi = owner.deps.sagemaker.at(self.region, spec.get("sageMakerEndpoint"))
        self.uid = str(self.meta["uid"])
        self.tags = core.our_tags(self.meta["namespace"], self.meta["name"], self.uid)

    # -- the pass -----------------------------------------------------------------------------------------------

    async def run(self) -> Result:
        deleting = bool(self.meta.get("deletionTimestamp"))
        blocked = core.is_blocked(self.status, self.generation)
        create: dict[str, Any] | None = None
        desired: str | None = None
        description: Obj | None = None
        if not blocked or deleting:
            try:
                create = core.with_tags(self.k.request(self.k.spec_model.model_validate(self.spec), "-"), self.tags)
                desired = rc.resource_name(self.meta["name"], self.uid, create)
                create[self.k.name_member] = desired
            except pydantic.ValidationError as exc:
                if not deleting:
                    await self.terminal(core.INVALID_SPEC, f"Invalid spec: {exc}")
        if desired is not None:
            description = await self.describe(desired)
        recorded = self.status.get(self.k.name_status_field)
        spec_changed = self.status.get("observedGeneration") != self.generation
        observed = rc.Observed(
            deleting=deleting,
            has_finalizer=core.FINALIZER in (self.meta.get("finalizers") or ()),
            retain=core.retain(self.meta.get("annotations") or {}, self.r.deps.deletion_policy),
            exists=description is not None,
            ours=description is not None and await self.ours(description),
            blocked=blocked,
            spec_changed=spec_changed,
            others=bool(recorded and recorded != desired) or spec_changed or self.request in self.r.leftovers,
        )
        result = Result(requeue_after=self.r.deps.resync)
        for step in rc.decide(observed):
            log.debug("step", step=str(step), kind=self.k.kind, name=desired)
            if step is Step.PREPARE:
                self._replace(await self.r.objects.add_finalizer(self.obj, core.FINALIZER))
            elif step is Step.CREATE:
                assert create is not None
                # The cache may predate our own last status write: only a fresh read shows a recorded terminal error.
                parsed = self.generation
                self._replace(await self.r.objects.get(self.meta["namespace"], self.meta["name"]))
                if self.generation != parsed:
                    return Result(requeue=True)  # the spec changed since the cache was read: look again
                if core.is_blocked(self.status, self.generation):
                    return Result()
                description = await self.create(create)
                if description is None:
                    return Result(requeue=True)  # created, not visible yet: look again soon
            elif step is Step.CONFLICT:
                await self.terminal(core.NAME_CONFLICT, f"A SageMaker {self.k.label} named {desired} exists that "
                                    f"was not created for this object (its tags do not carry uid {self.uid})")
            elif step is Step.TAG:
                assert create is not None and description is not None
                await self.sync_tags(create, description)
            elif step is Step.SWEEP:
                kept = await self.sweep(keep=None if deleting else desired, recorded=recorded)
                if kept:
                    self.r.leftovers.add(self.request)
                    if deleting:
                        names = ", ".join(sorted(kept))
                        await self.write(rc.waiting_status(
                            self.status, rc.IN_USE, f"Waiting to delete {self.k.label} {names}: an endpoint uses "
                            "it", self.generation, self.stamp()))
                        return result
                else:
                    self.r.leftovers.discard(self.request)
            elif step is Step.MIRROR:
                assert description is not None
                await self.mirror(description, replaced=bool(recorded and recorded != desired))
            elif step is Step.RELEASE:
                self.r.leftovers.discard(self.request)
                self._replace(await self.r.objects.remove_finalizer(self.obj, core.FINALIZER))
                return Result()
        return result

    async def describe(self, name: str) -> Obj | None:
        try:
            return await self.api.call(f"Describe{self.k.api_name}", name, **{self.k.name_member: name})
        except NotFoundError:
            return None

    async def ours(self, description: Mapping[str, Any]) -> bool:
        arn = str(description.get(self.k.arn_member, ""))
        if arn and self.status.get(_arn_field(self.k)) == arn:
            return True
        tags = await self.api.list_tags(arn)
        return tags.get(core.TAG_UID) == self.uid

    async def create(self, request: Mapping[str, Any]) -> Obj | None:
        name = str(request[self.k.name_member])
        try:
            await self.api.call(f"Create{self.k.api_name}", name, **dict(request))
        except AlreadyExistsError:
            description = await self.describe(name)
            if description is not None and await self.ours(description):
                return description  # ours already (created just before a crash): adopt
            await self.terminal(core.NAME_CONFLICT, f"A SageMaker {self.k.label} named {name} already exists and "
                                "was not created for this object")
        except SageMakerTerminalError as err:
            await self.terminal(core.INVALID_SPEC, err.message or str(err))
        self.event(NORMAL, "Created", f"Created {self.k.label} {name} in {self.region}")
        return await self.describe(name)

    async def sync_tags(self, request: Mapping[str, Any], description: Mapping[str, Any]) -> None:
        arn = str(description.get(self.k.arn_member, ""))
        current = await self.api.list_tags(arn)
        try:
            await self.api.sync_tags(arn, core.desired_tags(request, self.tags), current)
        except SageMakerTerminalError as err:  # e.g. too many tags: say so, keep the resource
            self.event(WARNING, "UpdateFailed", err.message or str(err))

    async def sweep(self, *, keep: str | None, recorded: str | None) -> set[str]:
        """Delete every resource of ours but ``keep`` that no endpoint uses; the names kept because in use."""
        listed = await list_names(self.api, self.k, rc.name_prefix(self.meta["name"], self.uid))
        candidates = {n for n in listed if rc.is_ours_by_name(n, self.meta["name"], self.uid)}
        if recorded:
            candidates.add(recorded)
        candidates.discard(keep or "")
        doomed: set[str] = set()
        for name in sorted(candidates):
            if name == recorded:
                doomed.add(name)  # recorded in our status: ours
                continue
            description = await self.describe(name)
            if description is not None and await self.ours(description):
                doomed.add(name)
        if not doomed:
            return set()
        in_use = await self.k.in_use(self.api)
        kept = doomed & in_use
        for name in sorted(doomed - in_use):
            try:
                await self.api.call(f"Delete{self.k.api_name}", name, **{self.k.name_member: name})
                self.event(NORMAL, "Deleted", f"Deleted {self.k.label} {name}")
            except NotFoundError:
                pass  # gone already (404 tolerated)
        for name in sorted(kept):
            self.event(NORMAL, "InUse", f"Keeping {self.k.label} {name}: an endpoint still uses it")
        return kept

    async def mirror(self, description: Mapping[str, Any], *, replaced: bool) -> None:
        fields = self.k.status_fields(description).model_dump(by_alias=True, exclude_none=True)
        if replaced:
            self.event(NORMAL, "Replaced", f"The spec changed: {self.k.label} {fields[self.k.name_status_field]} "
                       f"replaces {self.status.get(self.k.name_status_field)}")
        await self.write(rc.created_status(self.status, fields, replaced=replaced, generation=self.generation,
                                           now=self.stamp(), name_field=self.k.name_status_field))

    # -- errors -------------------------------------------------------------------------------------------------

    async def terminal(self, reason: str, message: str) -> NoReturn:
        """Record a terminal error for this generation, tell the user, stop retrying."""
        status = core.error_status(self.status, reason, message, self.generation, self.stamp(), terminal=True)
        status["status"] = rc.ERROR
        await self.write(status)
        self.event(WARNING, reason, message)
        raise TerminalError(message)

    async def recoverable(self, err: SageMakerError) -> Result:
        missing = missing_dependency(err)
        delay = Result(requeue_after=self.r.deps.poll_interval if missing else max(err.suggested_delay, 0.001))
        if core.is_blocked(self.status, self.generation):
            return delay  # keep the terminal condition (at most one Create per generation)
        reason = MISSING_DEPENDENCY if missing else core.RETRY_REASONS.get(err.outcome, "SageMakerError")
        await self.write(core.error_status(self.status, reason, str(err), self.generation, self.stamp(),
                                           terminal=False))
        return delay

    async def write(self, status: Mapping[str, Any]) -> None:
        patch = core.status_patch(self.status, status, self.r.deps.wall_clock())
        if patch is None or (self.meta.get("deletionTimestamp") and not self.meta.get("finalizers")):
            return
        self._replace(await self.r.objects.patch_status(self.obj, patch))


def missing_dependency(err: SageMakerError) -> bool:
    """A Create refused because something it names does not exist yet (an endpoint configuration's model):
    classified retryable; waited for at the poll interval, as another object may be creating it."""
    return isinstance(err, RetryableError) and err.operation.startswith("Create") and err.code in (
        "ValidationException", "ResourceNotFound", "ResourceNotFoundException")


def _arn_field(kind: ResourceKind) -> str:
    """The status field holding the ARN: ``modelArn``, ``endpointConfigArn``."""
    return kind.api_name[0].lower() + kind.api_name[1:] + "Arn"
