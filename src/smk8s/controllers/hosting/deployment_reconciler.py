"""The I/O half of the HostingDeployment controller: observe, ask :func:`~.deployment_core.decide`, perform.

**Design choice.** The controller drives the SageMaker models, endpoint configuration and endpoint directly; it
does not create ``Model``/``EndpointConfig`` custom resources as the original did. Every SageMaker resource it
creates is tagged with the owning object's namespace, name and uid and named deterministically (models and
configurations: ``<owner prefix>-<content hash>``, :mod:`.common`; the endpoint: ``spec.endpointName`` or
``<k8s name>-<uid>``), so after a crash they are found again: the endpoint by name, models and configurations by
``List*(NameContains=<owner prefix>)`` filtered by the uid tag. A SIGKILL at any moment leaves nothing that a later
pass does not adopt or delete (see the roll-out record in :mod:`.deployment_core`).

One pass: Describe the endpoint (the one name the object maps to), build an :class:`~.deployment_core.Observed`,
perform the steps, requeue (fast while the endpoint changes, :data:`STABLE_FACTOR` times slower when it is stable).
Every write is guarded by the object's resourceVersion (a stale cache fails with 409 and is retried), and every
Create is idempotent by name (AlreadyExists re-checks ownership by tags: ours is adopted, anyone else's is a
``NameConflict``).

Errors (classified once by :mod:`smk8s.sagemaker.errors`): terminal ones (ValidationException on a Create ...) set
Ready False ``InvalidSpec`` for the generation, a Warning event, and stop retries until the spec changes;
recoverable ones (throttling, 5xx, AccessDenied) set Ready False with their reason and are retried after the
error's suggested delay, never touching the endpoint's own status fields. An endpoint that is changing refuses
updates and deletes (:class:`~smk8s.sagemaker.hosting.EndpointBusyError`): the pass waits for the next poll.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NoReturn

import pydantic
import structlog

from smk8s.api.v1.common import READY, Condition
from smk8s.api.v1.convert import conditions, hosting_deployment_status
from smk8s.api.v1.hosting_deployment import HostingDeploymentSpec
from smk8s.controllers.hosting import deployment_core as dc
from smk8s.controllers.hosting.common import FINALIZER, is_owned, owner_prefix, retain
from smk8s.controllers.hosting.deployment_core import Desired, EndpointView, Step
from smk8s.controllers.jobs import core as job_core
from smk8s.controllers.jobs.naming import job_name
from smk8s.controllers.object_pass import CachedObjectReconciler, ObjectPass
from smk8s.kube import NORMAL, WARNING
from smk8s.manager import Request, Result, TerminalError
from smk8s.sagemaker import (
    AccessDeniedError,
    AlreadyExistsError,
    NotFoundError,
    RetryableError,
    SageMakerError,
)
from smk8s.sagemaker import TerminalError as SageMakerTerminalError
from smk8s.sagemaker.hosting import EndpointBusyError, HostingApi

log = structlog.get_logger("smk8s.controllers.hosting.deployment")
Obj = dict[str, Any]
KIND = "HostingDeployment"
STABLE_FACTOR = 5.0
"""Describe a stable endpoint (InService, Failed) this many poll intervals apart."""


class HostingDeploymentReconciler(CachedObjectReconciler):
    """Reconciles HostingDeployments."""

    async def __call__(self, request: Request) -> Result:
        obj = self.cached(request.namespace, request.name)
        if obj is None:
            return Result()
        return await _Pass(self, obj).run()


class _Stop(Exception):
    """Ends a pass early with a Result (wait for the endpoint, retry soon)."""

    def __init__(self, result: Result) -> None:
        super().__init__()
        self.result = result


class _Pass(ObjectPass):
    """One reconcile of one object."""

    def __init__(self, owner: HostingDeploymentReconciler, obj: Obj) -> None:
        super().__init__(obj, owner.deps.events, owner.deps.wall_clock)
        self.r = owner
        spec = self.spec
        self.region: str = str(spec.get("region", ""))
        self.hosting = HostingApi(owner.deps.sagemaker.at(self.region, spec.get("sageMakerEndpoint")))
        uid, name = str(self.meta["uid"]), str(self.meta["name"])
        self.uid = uid
        self.prefix = owner_prefix(name, uid)
        self.endpoint_name = job_name(spec.get("endpointName"), uid, name)
        self.desired: Desired | None = None
        self.description: Obj | None = None
        self.acted = False  # a change was asked of SageMaker in this pass: look again soon

    # -- helpers ------------------------------------------------------------------------------------------------

    @property
    def deleting(self) -> bool:
        return bool(self.meta.get("deletionTimestamp"))

    # -- the pass -----------------------------------------------------------------------------------------------

    async def run(self) -> Result:
        try:
            return await self._run()
        except _Stop as stop:
            return stop.result
        except (RetryableError, AccessDeniedError) as err:
            return await self._recoverable(err)

    async def _run(self) -> Result:
        blocked = dc.is_blocked(self.status, self.generation)
        if self.deleting:
            # What status recorded wins: the endpoint of an earlier name is the one to delete.
            self.endpoint_name = str(self.status.get("endpointName") or self.endpoint_name)
            desired_config = ""
        else:
            self.desired = await self._desired(blocked)
            if self.desired is None:
                return Result()
            desired_config = self.desired.config_name
        recorded_name = self.status.get("endpointName")
        renamed = not self.deleting and bool(recorded_name) and recorded_name != self.endpoint_name
        self.description = None if renamed else await self.hosting.describe_endpoint(self.endpoint_name)
        endpoint = None
        if self.description is not None:
            endpoint = EndpointView.from_description(self.description, ours=await self._ours(self.description))
        changes: tuple[Mapping[str, Any], ...] = ()
        recorded = True
        if self.desired is not None and endpoint is not None:
            applied = dc.decode_capacities((self.meta.get("annotations") or {}).get(
                dc.APPLIED_CAPACITIES_ANNOTATION))
            changes = dc.capacity_updates(self.desired.capacities, applied, endpoint.capacities)
            recorded = applied == dict(self.desired.capacities)
        observed = dc.Observed(
            deleting=self.deleting,
            has_finalizer=FINALIZER in (self.meta.get("finalizers") or ()),
            retain=retain(self.meta.get("annotations"), self.r.deps.deletion_policy),
            endpoint=endpoint,
            desired_config=desired_config,
            blocked=blocked,
            rolling_out=dc.is_rolling_out(self.status, self.generation),
            clean=dc.is_clean(self.status, self.generation, desired_config),
            renamed=renamed,
            earlier_failure=dc.failure_recorded_earlier(self.status, self.generation),
            failure_predates_rollout=dc.failure_predates_rollout(self.status, self.description or {}),
            capacity_changes=changes,
            capacities_recorded=recorded,
        )
        steps = dc.decide(observed)
        for step in steps:
            log.debug("step", step=str(step), endpoint=self.endpoint_name)
            await self._perform(step, changes)
        status = None if self.description is None else str(self.description.get("EndpointStatus", ""))
        if Step.RELEASE in steps or (blocked and self.description is None):
            return Result()  # gone, or nothing to watch until the spec changes
        if self.acted or self.deleting:
            return Result(requeue_after=self.r.deps.poll_interval)
        return Result(requeue_after=dc.requeue_after(status, self.r.deps.poll_interval, stable_factor=STABLE_FACTOR))

    async def _desired(self, blocked: bool) -> Desired | None:
        """The desired state, or None after recording an invalid spec (terminal for this generation)."""
        try:
            spec = HostingDeploymentSpec.model_validate(self.spec)
            return dc.desired_state(spec, self.meta)
        except (pydantic.ValidationError, dc.InvalidSpec) as exc:
            if blocked:
                return None
            await self._terminal(dc.INVALID_SPEC, f"Invalid spec: {exc}")

    async def _ours(self, description: Mapping[str, Any]) -> bool:
        arn = str(description.get("EndpointArn", ""))
        if arn and self.status.get("endpointArn") == arn:
            return True
        return is_owned(await self.hosting.list_tags(arn), self.uid)

    async def _perform(self, step: Step, changes: tuple[Mapping[str, Any], ...]) -> None:
        if step is Step.PREPARE:
            await self._prepare()
        elif step is Step.RENAME_REFUSED:
            await self._terminal(dc.RENAME_REFUSED, (
                f"spec.endpointName changed from {self.status.get('endpointName')} to {self.endpoint_name}: an "
                "endpoint cannot be renamed; create a new HostingDeployment for the new endpoint and delete this one"))
        elif step is Step.CONFLICT:
            await self._terminal(dc.NAME_CONFLICT, (
                f"A SageMaker endpoint named {self.endpoint_name} exists that was not created for this object "
                f"(its tags do not carry uid {self.uid})"))
        elif step is Step.ENSURE_RESOURCES:
            await self._ensure_resources()
        elif step is Step.CREATE_ENDPOINT:
            await self._create_endpoint()
        elif step is Step.MARK_ROLLOUT:
            await self._mark_rollout()
        elif step is Step.UPDATE_ENDPOINT:
            await self._update_endpoint()
        elif step is Step.UPDATE_FAILED:
            await self._update_failed()
        elif step is Step.ENDPOINT_FAILED:
            await self._endpoint_failed()
        elif step is Step.UPDATE_CAPACITIES:
            await self._update_capacities(changes)
        elif step is Step.RECORD_CAPACITIES:
            await self._record_capacities()
        elif step is Step.CLEANUP:
            await self._cleanup()
        elif step is Step.MIRROR:
            await self._mirror()
        elif step is Step.DELETE_ENDPOINT:
            await self._delete_endpoint()
        elif step is Step.DELETE_RESOURCES:
            await self._delete_resources()
        elif step is Step.RELEASE:
            self._replace(await self.r.objects.remove_finalizer(self.obj, FINALIZER))

    # -- steps --------------------------------------------------------------------------------------------------

    async def _prepare(self) -> None:
        finalizers = list(self.meta.get("finalizers") or ())
        if FINALIZER not in finalizers:
            finalizers.append(FINALIZER)
        self._replace(await self.r.objects.patch(self.meta["namespace"], self.meta["name"],
                                                 {"metadata": {"finalizers": finalizers}},
                                                 resource_version=self.meta["resourceVersion"]))

    async def _ensure_resources(self) -> None:
        """Create the desired models, then the configuration, where absent (ours adopted, others a conflict)."""
        desired = self._need_desired()
        for model in desired.models:
            await self._create_once("model", model.name, functools.partial(self.hosting.create_model, model.request),
                                    self.hosting.describe_model, "ModelArn")
        await self._create_once("endpoint configuration", desired.config_name,
                                functools.partial(self.hosting.create_endpoint_config, desired.config_request),
                                self.hosting.describe_endpoint_config, "EndpointConfigArn")

    async def _create_once(self, what: str, name: str, create: Callable[[], Awaitable[str]],
                           describe: Callable[[str], Awaitable[Obj | None]], arn_member: str) -> None:
        try:
            await create()
        except AlreadyExistsError:
            found = await describe(name)
            if found is not None and is_owned(await self.hosting.list_tags(str(found.get(arn_member, ""))),
                                              self.uid):
                return  # ours: created by an earlier pass (perhaps just before a crash)
            await self._terminal(dc.NAME_CONFLICT, f"A SageMaker {what} named {name} exists that was not created "
                                 "for this object")
        except SageMakerTerminalError as err:
            await self._terminal(dc.INVALID_SPEC, f"SageMaker refused the {what} {name}: {err.message or err}")
        self.acted = True

    async def _create_endpoint(self) -> None:
        desired = self._need_desired()
        try:
            await self.hosting.create_endpoint(desired.create_endpoint)
        except AlreadyExistsError:
            found = await self.hosting.describe_endpoint(self.endpoint_name)
            if found is None or not await self._ours(found):
                await self._terminal(dc.NAME_CONFLICT, f"A SageMaker endpoint named {self.endpoint_name} already "
                                     "exists and was not created for this object")
        except SageMakerTerminalError as err:
            await self._terminal(dc.INVALID_SPEC, f"SageMaker refused the endpoint: {err.message or err}")
        else:
            self.event(NORMAL, "Created", f"Created endpoint {self.endpoint_name} with configuration "
                       f"{desired.config_name} in {self.region}")
        self.acted = True
        await self._record_capacities()
        self.description = await self.hosting.describe_endpoint(self.endpoint_name)
        if self.description is not None:
            await self._mirror()

    async def _mark_rollout(self) -> None:
        desired = self._need_desired()
        serving = str((self.description or {}).get("EndpointConfigName", ""))
        message = dc.rollout_message(self.endpoint_name, desired.config_name, serving)
        await self._write(self._with_ready(self.status, False, dc.ROLLING_OUT, message))
        self.event(NORMAL, dc.ROLLING_OUT, message)

    async def _update_endpoint(self) -> None:
        desired = self._need_desired()
        try:
            await self.hosting.update_endpoint(desired.update_endpoint)
        except (EndpointBusyError, NotFoundError):
            raise _Stop(Result(requeue_after=self.r.deps.poll_interval)) from None
        except SageMakerTerminalError as err:
            await self._terminal(dc.INVALID_SPEC, f"SageMaker refused the update of endpoint {self.endpoint_name} "
                                 f"to configuration {desired.config_name}: {err.message or err}")
        self.acted = True
        self.event(NORMAL, "Updating", f"Updating endpoint {self.endpoint_name} to configuration "
                   f"{desired.config_name}")
        await self._record_capacities()
        self.description = await self.hosting.describe_endpoint(self.endpoint_name)

    async def _update_failed(self) -> None:
        desired = self._need_desired()
        desc = self.description or {}
        serving = str(desc.get("EndpointConfigName", ""))
        message = dc.update_failed_message(self.endpoint_name, desired.config_name, serving,
                                           str(desc.get("FailureReason", "")))
        await self._mirror(override=(dc.UPDATE_FAILED, message))
        self.event(WARNING, dc.UPDATE_FAILED, message)

    async def _endpoint_failed(self) -> None:
        desc = self.description or {}
        message = (f"Endpoint {self.endpoint_name} failed: {desc.get('FailureReason') or 'no reason given'}. Not "
                   "retried until the spec changes")
        await self._mirror(override=(dc.ENDPOINT_FAILED, message))

    async def _update_capacities(self, changes: tuple[Mapping[str, Any], ...]) -> None:
        try:
            await self.hosting.update_endpoint_weights_and_capacities(self.endpoint_name, changes)
        except (EndpointBusyError, NotFoundError):
            raise _Stop(Result(requeue_after=self.r.deps.poll_interval)) from None
        except SageMakerTerminalError as err:
            await self._terminal(dc.INVALID_SPEC, f"SageMaker refused the new weights and instance counts: "
                                 f"{err.message or err}")
        self.acted = True
        summary = ", ".join(f"{c['VariantName']}: " + ", ".join(f"{k.removeprefix('Desired')}={v}"
                                                                for k, v in c.items() if k != "VariantName")
                            for c in changes)
        self.event(NORMAL, "UpdatingCapacities", f"Updating weights and instance counts of endpoint "
                   f"{self.endpoint_name} ({summary})")
        await self._record_capacities()
        self.description = await self.hosting.describe_endpoint(self.endpoint_name)

    async def _record_capacities(self) -> None:
        desired = self._need_desired()
        value = dc.encode_capacities(desired.capacities)
        if (self.meta.get("annotations") or {}).get(dc.APPLIED_CAPACITIES_ANNOTATION) == value:
            return
        self._replace(await self.r.objects.patch(
            self.meta["namespace"], self.meta["name"],
            {"metadata": {"annotations": {dc.APPLIED_CAPACITIES_ANNOTATION: value}}},
            resource_version=self.meta["resourceVersion"]))

    async def _cleanup(self) -> None:
        """Delete our models and configurations the desired state does not use (the endpoint serves it), and
        bring the tags of the endpoint, its models and its configuration to the spec's (once per generation:
        CLEANUP runs until Ready is True)."""
        desired = self._need_desired()
        deleted, kept = await self._delete_ours(keep=desired.resource_names)
        if deleted:
            self.event(NORMAL, "CleanedUp", f"Deleted what endpoint {self.endpoint_name} no longer uses: "
                       f"{', '.join(deleted)}")
        # label, ARN (the endpoint's from its description; the others' from the listing above), Create request
        resources = [(f"endpoint {self.endpoint_name}", str((self.description or {}).get("EndpointArn", "")),
                      desired.create_endpoint),
                     *((f"model {m.name}", kept.get(m.name, ""), m.request) for m in desired.models),
                     (f"endpoint configuration {desired.config_name}", kept.get(desired.config_name, ""),
                      desired.config_request)]
        retagged: list[str] = []
        for label, arn, request in resources:
            if arn and await self._retag(arn, request):
                retagged.append(label)
        if retagged:
            self.event(NORMAL, "Updated", f"Tags of {', '.join(retagged)} brought to the spec's")

    async def _retag(self, arn: str, create_request: Mapping[str, Any]) -> bool:
        """Bring the tags of the resource ``arn`` to those its Create request carries (ours and the spec's; AWS's
        own ``aws:`` tags are left alone); whether any changed."""
        return await self.hosting.sync_tags(
            arn, {str(t["Key"]): str(t.get("Value", "")) for t in create_request.get("Tags", ())})

    async def _delete_endpoint(self) -> None:
        try:
            deleted = await self.hosting.delete_endpoint(self.endpoint_name)
        except EndpointBusyError:
            raise _Stop(Result(requeue_after=self.r.deps.poll_interval)) from None
        self.acted = True
        if deleted:
            why = "the object is being deleted" if self.deleting else "it failed and the spec changed"
            self.event(NORMAL, "Deleting", f"Deleting endpoint {self.endpoint_name}: {why}")

    async def _delete_resources(self) -> None:
        deleted, _ = await self._delete_ours(keep=frozenset())
        if deleted:
            self.event(NORMAL, "Deleted", f"Deleted {', '.join(deleted)}")

    async def _delete_ours(self, keep: frozenset[str]) -> tuple[list[str], dict[str, str]]:
        """Delete every model and configuration named under our prefix and tagged with our uid, but ``keep``;
        configurations first (a model is never deleted before a configuration naming it). The names deleted, and
        the ARNs of those of ``keep`` the listings showed (name -> ARN)."""
        deleted: list[str] = []
        kept: dict[str, str] = {}
        listings = ((await self.hosting.list_endpoint_configs(self.prefix), self.hosting.delete_endpoint_config),
                    (await self.hosting.list_models(self.prefix), self.hosting.delete_model))
        for resources, delete in listings:
            for name, arn in sorted(resources):
                if name in keep:
                    kept[name] = arn
                    continue
                if not name.startswith(self.prefix):
                    continue
                if not is_owned(await self.hosting.list_tags(arn), self.uid):
                    continue
                if await delete(name):
                    deleted.append(name)
        return deleted, kept

    # -- status -------------------------------------------------------------------------------------------------

    async def _mirror(self, override: tuple[str, str] | None = None) -> None:
        """Write the endpoint's state into status (and Ready; a terminal ``override`` (reason, message) blocks
        this generation). Events for status transitions."""
        desc = self.description
        if desc is None:
            return
        desired = self.desired
        model_names = desired.model_names if desired is not None else {
            e["name"]: e["value"] for e in self.status.get("modelNames") or ()}
        fields = hosting_deployment_status(desc, self.region, model_names).model_dump(by_alias=True,
                                                                                       exclude_none=True)
        fields.pop("conditions", None)
        state = str(desc.get("EndpointStatus", ""))
        previous_conditions = [c for c in self.status.get("conditions") or ()]
        new: Obj = {**fields, "conditions": previous_conditions, "observedGeneration": self.generation}
        if override is not None:
            new = self._with_ready(new, False, *override)
            new["additional"] = override[1]
        elif not dc.is_blocked(self.status, self.generation) and desired is not None:
            endpoint = EndpointView.from_description(desc, ours=True)
            changes = dc.capacity_updates(desired.capacities, dc.decode_capacities(
                (self.meta.get("annotations") or {}).get(dc.APPLIED_CAPACITIES_ANNOTATION)), endpoint.capacities)
            ready, reason, message = dc.readiness(
                endpoint, desired.config_name, rolling_out=dc.is_rolling_out(self.status, self.generation),
                capacities_pending=bool(changes))
            new = self._with_ready(new, ready, reason, message)
        elif self.deleting:
            new = self._with_ready(new, False, state or "Deleting", f"The endpoint is {state}; the object is "
                                   "being deleted")
        old_state = self.status.get("endpointStatus")
        await self._write(new)
        transition = job_core.transition_event("endpoint", old_state, state, desc.get("FailureReason"))
        if transition is not None:
            self.event(*transition)

    def _with_ready(self, status: Mapping[str, Any], ready: bool, reason: str, message: str) -> Obj:
        previous = [Condition.model_validate(c) for c in status.get("conditions") or ()]
        merged = conditions(previous, [(READY, ready, reason, message)], self.stamp(), self.generation)
        return {**status, "conditions": [c.model_dump(by_alias=True, exclude_none=True) for c in merged]}

    async def _write(self, status: Mapping[str, Any]) -> None:
        patch = job_core.status_patch(self.status, status, self.now())
        if patch is None or (self.deleting and not self.meta.get("finalizers")):
            return
        self._replace(await self.r.objects.patch_status(self.obj, patch))

    # -- errors -------------------------------------------------------------------------------------------------

    def _need_desired(self) -> Desired:
        if self.desired is None:
            raise AssertionError("a live-object step without a desired state")
        return self.desired

    async def _terminal(self, reason: str, message: str) -> NoReturn:
        """Record a terminal error for this generation, tell the user, stop retrying."""
        await self._write(job_core.error_status(self.status, reason, message, self.generation, self.stamp(),
                                                terminal=True))
        self.event(WARNING, reason, message)
        raise TerminalError(message)

    async def _recoverable(self, err: SageMakerError) -> Result:
        delay = Result(requeue_after=max(err.suggested_delay, 0.001))
        if dc.is_blocked(self.status, self.generation) or dc.is_rolling_out(self.status, self.generation):
            # Keep the terminal condition (it blocks this generation) or the roll-out record (a failed update
            # must be recognised as ours, and never re-sent).
            return delay
        reason = job_core.RETRY_REASONS.get(err.outcome, "SageMakerError")
        await self._write(job_core.error_status(self.status, reason, str(err), self.generation, self.stamp(),
                                                terminal=False))
        return delay
