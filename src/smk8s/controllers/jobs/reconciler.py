"""The I/O half of the job reconciler: observe, ask :func:`~.core.decide`, perform the steps.

One :class:`JobReconciler` per kind (its :class:`~.adapters.JobAdapter`), all sharing one
:class:`~smk8s.controllers.object_pass.ReconcilerDeps`. It reads objects from the informer cache; every write is
guarded by the object's resourceVersion, so a stale read fails with 409 and is retried with backoff, never acted on
twice. Create is idempotent by name: the job's name is fixed
(spec, or generated from the uid) and every pass Describes before it Creates.

Polled changes. The poller reports a job whose List summary changed (:meth:`JobReconciler.report`); its reconcile
Describes it at once when a follow-up slot is free (at most ``follow_up_rate`` per second per kind), so a single
completion is written once, with its details. In a burst (slots taken), a status transition the List already shows
(InProgress -> Completed, Stopping, Stopped; not Failed, whose reason a summary may lack) is written at once from
the summary, with its Event, and the Describe with the details (model path, metrics, secondary status) follows in
the next free slot: completions show within a poll interval however many jobs change together.

Errors (classified by :mod:`smk8s.sagemaker.errors`):

- terminal (ValidationException ...): Ready False ``InvalidSpec`` for this generation, message in ``additional``, a
  Warning event, then :class:`smk8s.manager.TerminalError` (no retry); the next generation tries again, so at
  most one Create per generation;
- AlreadyExists on Create: re-described; ours (our uid tag) is adopted, anyone else's is a ``NameConflict``;
- recoverable (throttled, 5xx, network, AccessDenied naming whose permission): Ready False with the reason and
  message, a Warning event when that reason starts, the job's own status fields untouched, retried after
  :func:`~.core.recoverable_delay` (the error's suggested delay, growing with the object's consecutive failures).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NoReturn

import pydantic
import structlog

from smk8s.controllers.jobs import core
from smk8s.controllers.jobs.adapters import TUNING, JobAdapter
from smk8s.controllers.jobs.core import Step
from smk8s.controllers.jobs.naming import job_name
from smk8s.controllers.jobs.tuning_children import sync_children
from smk8s.controllers.object_pass import CachedObjectReconciler, ObjectPass, ReconcilerDeps
from smk8s.kube import NORMAL, WARNING, CustomResourceClient
from smk8s.manager import Request, Result, TerminalError
from smk8s.sagemaker import (
    AccessDeniedError,
    AlreadyExistsError,
    JobRef,
    NotFoundError,
    Poller,
    RetryableError,
    SageMakerApi,
    SageMakerError,
)
from smk8s.sagemaker import TerminalError as SageMakerTerminalError
from smk8s.sagemaker.api import JobSummary

log = structlog.get_logger("smk8s.controllers.jobs")
Obj = dict[str, Any]
FOLLOW_UP_DESCRIBES_PER_SECOND = 1.0
"""Per kind: Describes following a status written from a List summary (model path, metrics...) are spread to at
most this rate, so a burst of completions is shown at once and detailed within the API budget."""


class JobReconciler(CachedObjectReconciler):
    """Reconciles one kind."""

    def __init__(
        self,
        adapter: JobAdapter,
        deps: ReconcilerDeps,
        objects: CustomResourceClient,
        cached: Callable[[str, str], Obj | None],
        poller: Poller,
        *,
        training_jobs: CustomResourceClient | None = None,
        cached_training_job: Callable[[str, str], Any] | None = None,
        follow_up_rate: float = FOLLOW_UP_DESCRIBES_PER_SECOND,
    ) -> None:
        super().__init__(deps, objects, cached)
        self.adapter = adapter
        self.poller = poller
        self.training_jobs = training_jobs
        self.cached_training_job = cached_training_job
        self.requests: dict[JobRef, Request] = {}
        """Which object a polled job belongs to: the poller's changes become these requests."""
        self.listed: dict[Request, JobSummary] = {}
        """The newest List summary the poller reported for an object's job, not yet reconciled."""
        self.follow_up_rate = follow_up_rate
        self._next_follow_up = 0.0
        self.failures: dict[tuple[str, str], int] = {}
        """Consecutive recoverable errors per object (namespace, name): its retry delay grows with them."""

    def report(self, request: Request, summary: JobSummary) -> None:
        """The poller saw ``summary`` in a List: the next reconcile of ``request`` may write it at once."""
        self.listed[request] = summary

    def follow_up_delay(self) -> float:
        """Seconds until the next follow-up Describe slot (at most ``follow_up_rate`` per second), reserved now."""
        now = self.poller.clock.now()
        slot = max(now, self._next_follow_up)
        self._next_follow_up = slot + 1.0 / self.follow_up_rate
        return slot - now

    async def __call__(self, request: Request) -> Result:
        obj = self.cached(request.namespace, request.name)
        summary = self.listed.pop(request, None)
        if obj is None:  # gone (e.g. a garbage-collected tuning child): stop polling for it
            self.failures.pop((request.namespace, request.name), None)
            for ref in [ref for ref, owner in self.requests.items() if owner == request]:
                self.poller.core.untrack(ref)
                del self.requests[ref]
            return Result()
        job = _Pass(self, obj)
        if summary is not None and job.listed_applies(summary):
            delay = self.follow_up_delay()
            if delay > 0:  # Describes are queued (a burst of changes): show the List's status at once
                await job.write_listed(summary)
                return Result(requeue_after=delay)  # the Describe with the details follows, within the budget
        return await job.run()


class _Pass(ObjectPass):
    """One reconcile of one object."""

    def __init__(self, owner: JobReconciler, obj: Obj) -> None:
        super().__init__(obj, owner.deps.events, owner.deps.wall_clock)
        self.r = owner
        self.a = owner.adapter
        meta = self.meta
        self.observe_only = (meta.get("annotations") or {}).get(core.OBSERVE_ONLY_ANNOTATION) == "true"
        user_name = self.spec.get(self.a.name_field) if self.a.name_field else None
        self.name = job_name(user_name, meta["uid"], meta["name"], self.a.max_name_length)
        self.region: str = self.spec.get("region", "")
        self.endpoint: str | None = self.spec.get("sageMakerEndpoint")
        self.api: SageMakerApi = owner.deps.sagemaker.at(self.region, self.endpoint)
        self.tags = core.our_tags(meta["namespace"], meta["name"], meta["uid"])
        self.key: tuple[str, str] = (meta["namespace"], meta["name"])
        self._job_tags: dict[str, dict[str, str]] = {}
        """The job's tags as this pass read them (by ARN): the ownership check and the tag update share one read."""


    def listed_applies(self, summary: JobSummary) -> bool:
        """Whether the status a List showed for this object's job may be written before its Describe."""
        return summary.name == self.name and core.listed_transition_applies(
            self.status, self.a.status_field, self.a.arn_status_field, summary.status,
            deleting=bool(self.meta.get("deletionTimestamp")), generation=self.generation)

    async def write_listed(self, summary: JobSummary) -> None:
        """Write the status transition a List showed (:meth:`listed_applies`), without a Describe."""
        old_state = self.status.get(self.a.status_field)
        await self._write(core.listed_status(self.status, self.a.status_field, summary.status, self.generation,
                                             self.stamp()))
        transition = core.transition_event(self.a.kind, old_state, summary.status, None)
        if transition is not None:
            self.event(*transition)

    async def run(self) -> Result:
        try:
            result = await self._run()
        except (RetryableError, AccessDeniedError) as err:
            return await self._recoverable(err)
        except Exception:
            # Any other outcome ends the streak too: a terminal error (controller-runtime forgets the item), or an
            # error the manager backs off itself. Else a blocked object, poked while SageMaker throttles, would
            # carry its streak into the next generation's first Create.
            self.r.failures.pop(self.key, None)
            raise
        self.r.failures.pop(self.key, None)
        return result

    async def _run(self) -> Result:
        description = await self.api.describe(self.a.job_kind, self.name)
        observed = core.Observed(
            deleting=bool(self.meta.get("deletionTimestamp")),
            has_finalizer=core.FINALIZER in (self.meta.get("finalizers") or ()),
            name_recorded=self.a.name_field is None or bool(self.spec.get(self.a.name_field)),
            retain=core.retain(self.meta.get("annotations") or {}, self.r.deps.deletion_policy),
            observe_only=self.observe_only,
            job_status=None if description is None else description.get(self.a.job_kind.status_member),
            ours=description is not None and await self._ours(description),
            blocked=core.is_blocked(self.status, self.generation),
            spec_changed=self.status.get("observedGeneration") != self.generation,
        )
        for step in core.decide(observed):
            log.debug("step", step=str(step), job=self.name)
            if step is Step.PREPARE:
                await self._prepare()
            elif step is Step.CREATE:
                # The cache may predate our own last status write: only a fresh read shows a recorded terminal error.
                self._replace(await self.r.objects.get(self.meta["namespace"], self.meta["name"]))
                if core.is_blocked(self.status, self.generation):
                    break
                description = await self._create()
                if description is None:
                    return Result(requeue=True)  # created, not yet visible: look again soon
                await self._mirror(description)
            elif step is Step.CONFLICT:
                await self._terminal(core.NAME_CONFLICT, f"A SageMaker job named {self.name} exists that was not "
                                     f"created for this object (its tags do not carry uid {self.meta['uid']})")
            elif step is Step.UPDATE:
                assert description is not None
                await self._update(description)
            elif step is Step.MIRROR:
                assert description is not None
                await self._mirror(description)
            elif step is Step.STOP:
                await self._stop()
            elif step is Step.RELEASE:
                await self._release()
            elif step is Step.MISSING:
                await self._write(core.error_status(self.status, core.NOT_FOUND, f"SageMaker job {self.name} not "
                                                    "found", self.generation, self.stamp(), terminal=False))
        return Result()

    async def _ours(self, description: Mapping[str, Any]) -> bool:
        if self.observe_only:
            return True
        arn = str(description.get(self.a.job_kind.arn_member, ""))
        if arn and self.status.get(self.a.arn_status_field) == arn:
            return True
        return (await self._tags_of(arn)).get(core.TAG_UID) == str(self.meta["uid"])

    async def _tags_of(self, arn: str) -> dict[str, str]:
        """The tags of job ``arn``, read once per pass (only this pass changes them meanwhile, after reading)."""
        if arn not in self._job_tags:
            self._job_tags[arn] = await self.api.list_tags(arn)
        return self._job_tags[arn]

    # -- steps --------------------------------------------------------------------------------------------------

    async def _prepare(self) -> None:
        finalizers = list(self.meta.get("finalizers") or ())
        patch: Obj = {"metadata": {"finalizers": [*finalizers, core.FINALIZER] if core.FINALIZER not in finalizers
                                   else finalizers}}
        if self.a.name_field and not self.spec.get(self.a.name_field):
            patch["spec"] = {self.a.name_field: self.name}
        self._replace(await self.r.objects.patch(self.meta["namespace"], self.meta["name"], patch,
                                                 resource_version=self.meta["resourceVersion"]))

    async def _create(self) -> Obj | None:
        try:
            request = core.with_tags(self.a.request(self.a.parse_spec(self.spec), self.name), self.tags)
        except pydantic.ValidationError as exc:
            await self._invalid(f"Invalid spec: {exc}")
        try:
            await self.api.create(self.a.job_kind, request)
        except AlreadyExistsError:
            description = await self.api.describe(self.a.job_kind, self.name)
            if description is not None and await self._ours(description):
                return description  # ours already (e.g. created just before a crash): adopt
            await self._terminal(core.NAME_CONFLICT, f"A SageMaker job named {self.name} already exists and was "
                                 "not created for this object")
        except SageMakerTerminalError as err:
            await self._invalid(err.message or str(err))
        self.event(NORMAL, "Created", f"Created {self.a.job_kind.value.prefix} {self.name} in {self.region}")
        return await self.api.describe(self.a.job_kind, self.name)

    async def _update(self, description: Mapping[str, Any]) -> None:
        if self.observe_only:
            return
        request = self.a.request(self.a.parse_spec(self.spec), self.name)
        arn = str(description.get(self.a.job_kind.arn_member, ""))
        try:
            await self.api.sync_tags(arn, core.desired_tags(request, self.tags), await self._tags_of(arn))
            if self.a.kind == "TrainingJob" and description.get("TrainingJobStatus") == "InProgress":
                update = core.training_update(request, description)
                if update is not None:
                    await self.api.update_training_job(update)
                    self.event(NORMAL, "Updated", f"Updated {self.name}: {', '.join(sorted(update)[1:])}")
        except SageMakerTerminalError as err:  # SageMaker refused the edit: say so, keep mirroring the job
            self.event(WARNING, "UpdateFailed", err.message or str(err))

    async def _mirror(self, description: Mapping[str, Any]) -> None:
        state = description.get(self.a.job_kind.status_member)
        fields = self.a.status(description, self.region)
        new = core.mirrored_status(fields, state, self.status, self.generation, self.stamp())
        old_state = self.status.get(self.a.status_field)
        transition = core.transition_event(self.a.kind, old_state, state, fields.get("failureReason"))
        await self._write(new)
        if transition is not None:
            self.event(*transition)
        ref = self.r.poller.track(self.a.job_kind, self.region, self.endpoint, description,
                                  settled=core.settled(state, description))
        self.r.requests[ref] = Request(self.meta["namespace"], self.meta["name"])
        if self.a is TUNING and self.r.training_jobs is not None and self.r.cached_training_job is not None:
            children = await self.api.list_training_jobs_for_tuning_job(self.name)
            await sync_children(self.obj, children, self.r.training_jobs, self.r.cached_training_job)

    async def _stop(self) -> None:
        try:
            stopping = await self.api.stop(self.a.job_kind, self.name)
        except NotFoundError:
            await self._release()
            return
        if stopping:
            self.event(NORMAL, "Stopping", f"Stopping {self.name} in SageMaker: the object is being deleted")

    async def _release(self) -> None:
        self.r.poller.untrack(self.a.job_kind, self.region, self.endpoint, self.name)
        self.r.requests.pop(JobRef(self.r.poller.partition(self.a.job_kind, self.region, self.endpoint), self.name),
                            None)
        self._replace(await self.r.objects.remove_finalizer(self.obj, core.FINALIZER))

    # -- errors -------------------------------------------------------------------------------------------------

    async def _invalid(self, message: str) -> NoReturn:
        await self._terminal(core.INVALID_SPEC, message)

    async def _terminal(self, reason: str, message: str) -> NoReturn:
        """Record a terminal error for this generation, tell the user, stop retrying."""
        await self._write(core.error_status(self.status, reason, message, self.generation, self.stamp(),
                                            terminal=True))
        self.event(WARNING, reason, message)
        raise TerminalError(message)

    async def _recoverable(self, err: SageMakerError) -> Result:
        failures = self.r.failures[self.key] = self.r.failures.get(self.key, 0) + 1
        delay = Result(requeue_after=core.recoverable_delay(err.suggested_delay, failures))
        if core.is_blocked(self.status, self.generation):
            # Keep the terminal condition: overwriting it would unblock this generation and send the rejected
            # spec again on the next pass (at most one Create per generation).
            return delay
        reason = core.RETRY_REASONS.get(err.outcome, "SageMakerError")
        if core.ready_reason(self.status) != reason:  # once per episode, not per retry
            self.event(WARNING, reason, str(err))
        await self._write(core.error_status(self.status, reason, str(err), self.generation, self.stamp(),
                                            terminal=False))
        return delay

    # -- writes -------------------------------------------------------------------------------------------------

    async def _write(self, status: Mapping[str, Any]) -> None:
        patch = core.status_patch(self.status, status, self.now())
        if patch is None or (self.meta.get("deletionTimestamp") and not self.meta.get("finalizers")):
            return
        self._replace(await self.r.objects.patch_status(self.obj, patch))
