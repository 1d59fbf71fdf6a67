"""The HostingAutoscalingPolicy controller (``hap``): Application Auto Scaling of endpoint variants.

A pass (the decisions are :mod:`.autoscaling_core`'s, this module does the I/O):

1. finalizer first (nothing is registered before it is there);
2. observe: DescribeScalableTargets for the listed resources and those ``status.resourceIDList`` recorded (one
   call per 50), DescribeScalingPolicies for the policy name and the previous one (one call, paged);
3. :func:`~.autoscaling_core.diff` -> the plan; only its differences are applied: deregister dropped resources,
   delete policies under a previous name, register targets, put policies;
4. a target to register whose endpoint is absent or not InService is not attempted: the object waits (status
   ``Reconciling``, Ready False ``EndpointNotInService``/``EndpointNotFound``, requeued after the poll interval),
   the resources that are ready are applied meanwhile;
5. status: ``Created`` with ``policyName``, ``resourceIDList`` (the resources registered now), ``policyArns``, Ready
   True; written only when something visible changed.

Deletion deletes the policy (current and previous name) and deregisters the target of every listed and recorded
resource (ObjectNotFound tolerated), then releases the finalizer; deletion policy ``retain`` leaves them.

Errors: terminal (ValidationException: an unsupported metric, min > max ...) -> Ready False ``InvalidSpec`` for this
generation, status ``Error``, a Warning Event, not retried until the spec changes; recoverable (throttling, 5xx,
ConcurrentUpdateException, an endpoint that left InService between our Describe and the Register) -> retried after
the error's suggested delay.

Polling: a settled policy is re-read every ``resync`` seconds (two Describe calls) and repaired if someone changed
it behind our back; a waiting one every ``poll_interval``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

import pydantic
import structlog

from smk8s.api.v1.common import READY
from smk8s.api.v1.convert import conditions
from smk8s.api.v1.hosting_autoscaling_policy import HostingAutoscalingPolicySpec
from smk8s.controllers.hosting import autoscaling_core as ac
from smk8s.controllers.hosting import resources_core as rc
from smk8s.controllers.jobs import core
from smk8s.controllers.object_pass import CachedObjectReconciler, ObjectPass
from smk8s.manager import Request, Result, TerminalError
from smk8s.sagemaker import SageMakerError
from smk8s.sagemaker import TerminalError as SageMakerTerminalError
from smk8s.sagemaker.autoscaling import AutoScalingApi
from smk8s.sagemaker.errors import DependencyNotReadyError
from smk8s.sagemaker.hosting import HostingApi

log = structlog.get_logger("smk8s.controllers.hosting.autoscaling")
Obj = dict[str, Any]
NORMAL, WARNING = "Normal", "Warning"
ENDPOINT_NOT_IN_SERVICE = "EndpointNotInService"
ENDPOINT_NOT_FOUND = "EndpointNotFound"


class AutoscalingReconciler(CachedObjectReconciler):
    """Reconciles HostingAutoscalingPolicy objects."""

    kind = "HostingAutoscalingPolicy"
    plural = "hostingautoscalingpolicies"

    async def __call__(self, request: Request) -> Result:
        obj = self.cached(request.namespace, request.name)
        if obj is None:
            return Result()
        run = _Pass(self, obj)
        try:
            return await run.run()
        except SageMakerError as err:  # recoverable (a terminal refusal of a change is handled where it happens)
            return await run.recoverable(err)


class _Pass(ObjectPass):
    """One reconcile of one object."""

    def __init__(self, owner: AutoscalingReconciler, obj: Obj) -> None:
        super().__init__(obj, owner.deps.events, owner.deps.wall_clock)
        self.r = owner
        region = self.spec.get("region", "")
        self.sagemaker = owner.deps.sagemaker.at(region, self.spec.get("sageMakerEndpoint"))
        self.scaling = AutoScalingApi(owner.deps.sagemaker.at(region))
        self.hosting = HostingApi(self.sagemaker)

    async def run(self) -> Result:
        finalizers = self.meta.get("finalizers") or ()
        if self.meta.get("deletionTimestamp"):
            if core.FINALIZER not in finalizers:
                return Result()
            if not core.retain(self.meta.get("annotations") or {}, self.r.deps.deletion_policy):
                await self.remove_all()
            self._replace(await self.r.objects.remove_finalizer(self.obj, core.FINALIZER))
            return Result()
        if core.is_blocked(self.status, self.generation):
            return Result()  # a terminal error for this generation: wait for the next edit
        try:
            want = ac.desired(HostingAutoscalingPolicySpec.model_validate(self.spec))
        except pydantic.ValidationError as exc:
            await self.terminal(core.INVALID_SPEC, f"Invalid spec: {exc}")
        if core.FINALIZER not in finalizers:
            self._replace(await self.r.objects.add_finalizer(self.obj, core.FINALIZER))
        previous_ids = [str(r) for r in self.status.get("resourceIDList") or ()]
        previous_name = self.status.get("policyName")
        targets = await self.scaling.describe_scalable_targets(
            want.namespace, [*want.resource_ids, *previous_ids], want.dimension)
        names = [want.policy_name, *([previous_name] if previous_name and previous_name != want.policy_name else [])]
        policies = await self.scaling.describe_scaling_policies(want.namespace, names, want.dimension)
        plan = ac.diff(want, targets, policies, previous_ids=previous_ids, previous_policy_name=previous_name)
        if not plan.empty and self.status.get("observedGeneration") != self.generation:
            # The cache may predate our own last status write: only a fresh read shows a terminal error recorded for
            # this generation (at most one refused attempt per generation).
            parsed = self.generation
            self._replace(await self.r.objects.get(self.meta["namespace"], self.meta["name"]))
            if self.generation != parsed:
                return Result(requeue=True)  # the spec changed since the cache was read: plan again
            if core.is_blocked(self.status, self.generation):
                return Result()
        waiting = await self.not_ready({str(r["ResourceId"]) for r in plan.register})
        arns = {str(p["ResourceId"]): str(p["PolicyARN"]) for p in policies
                if p.get("PolicyName") == want.policy_name}
        registered = {str(t["ResourceId"]) for t in targets}
        try:
            arns.update(await self.apply(want, plan.without(waiting)))
        except SageMakerTerminalError as err:
            await self.terminal(core.INVALID_SPEC, err.message or str(err))
        registered |= {str(r["ResourceId"]) for r in plan.register if r["ResourceId"] not in waiting}
        registered -= set(plan.deregister)
        applied = [rid for rid in want.resource_ids if rid in registered and rid in arns]
        status: dict[str, Any] = {
            **{k: v for k, v in self.status.items() if k not in ("lastCheckTime", "additional")},
            "policyName": want.policy_name,
            "resourceIDList": applied or None,
            "policyArns": [arns[rid] for rid in applied] or None,
            "observedGeneration": self.generation,
        }
        if waiting:
            reason, message = self.waiting_reason(waiting)
            status.update(hostingAutoscalingPolicyStatus=ac.RECONCILING, additional=message)
            status["conditions"] = self.conditions(False, reason, message)
            await self.write(status)
            return Result(requeue_after=self.r.deps.poll_interval)
        status["hostingAutoscalingPolicyStatus"] = ac.CREATED
        status["conditions"] = self.conditions(True, ac.CREATED,
                                               f"Scaling {len(applied)} variant(s) with policy {want.policy_name}")
        await self.write(status)
        return Result(requeue_after=self.r.deps.resync)

    async def not_ready(self, resource_ids: set[str]) -> dict[str, str]:
        """Resource ID -> status of its endpoint (``""`` when absent), for the endpoints not InService."""
        waiting: dict[str, str] = {}
        seen: dict[str, str] = {}
        for rid in sorted(resource_ids):
            endpoint = ac.endpoint_of(rid)
            if endpoint is None:
                continue
            if endpoint not in seen:
                description = await self.hosting.describe_endpoint(endpoint)
                seen[endpoint] = "" if description is None else str(description.get("EndpointStatus", ""))
            if seen[endpoint] != "InService":
                waiting[rid] = seen[endpoint]
        return waiting

    def waiting_reason(self, waiting: Mapping[str, str]) -> tuple[str, str]:
        absent = sorted(ac.endpoint_of(rid) or rid for rid, state in waiting.items() if not state)
        if absent:
            return ENDPOINT_NOT_FOUND, f"Waiting for endpoint(s) {', '.join(absent)} to exist"
        busy = sorted({f"{ac.endpoint_of(rid)} ({state})" for rid, state in waiting.items()})
        return ENDPOINT_NOT_IN_SERVICE, f"Waiting for endpoint(s) {', '.join(busy)} to be InService"

    async def apply(self, want: ac.Desired, plan: ac.Plan) -> dict[str, str]:
        """Make the plan's calls; the ARNs of the policies put, by resource ID."""
        namespace, dimension = want.namespace, want.dimension
        for rid in plan.deregister:
            if await self.scaling.deregister_scalable_target(namespace, rid, dimension):
                self.event(NORMAL, "Deregistered", f"Deregistered {rid}: no longer listed")
        for rid, name in plan.delete_policies:
            if await self.scaling.delete_scaling_policy(namespace, rid, dimension, name):
                self.event(NORMAL, "PolicyDeleted", f"Deleted scaling policy {name} of {rid}: renamed")
        for request in plan.register:
            await self.scaling.register_scalable_target(request)
            self.event(NORMAL, "Registered", f"Registered {request['ResourceId']} "
                       f"({request.get('MinCapacity')}..{request.get('MaxCapacity')})")
        arns: dict[str, str] = {}
        for request in plan.put:
            arns[str(request["ResourceId"])] = await self.scaling.put_scaling_policy(request)
            self.event(NORMAL, "PolicyPut", f"Put scaling policy {request['PolicyName']} on {request['ResourceId']}")
        return arns

    async def remove_all(self) -> None:
        """Delete our policies and deregister our targets (listed and recorded resources)."""
        namespace = str(self.spec.get("serviceNamespace"))  # both defaulted by the CRD schema
        dimension = str(self.spec.get("scalableDimension"))
        listed = [f"endpoint/{r.get('endpointName')}/variant/{r.get('variantName')}"
                  for r in self.spec.get("resourceId") or ()]
        rids = list(dict.fromkeys([*listed, *(self.status.get("resourceIDList") or ())]))
        names = {n for n in (self.spec.get("policyName"), self.status.get("policyName")) if n}
        for rid in rids:
            for name in sorted(names):
                await self.scaling.delete_scaling_policy(namespace, rid, dimension, name)
            if await self.scaling.deregister_scalable_target(namespace, rid, dimension):
                self.event(NORMAL, "Deregistered", f"Deregistered {rid}: the object is being deleted")

    def conditions(self, ready: bool, reason: str, message: str) -> list[dict[str, Any]]:
        previous = rc.parse_conditions(self.status)
        merged = conditions(previous, [(READY, ready, reason, message)], self.stamp(), self.generation)
        return [c.model_dump(by_alias=True, exclude_none=True) for c in merged]

    async def terminal(self, reason: str, message: str) -> NoReturn:
        status = core.error_status(self.status, reason, message, self.generation, self.stamp(), terminal=True)
        status["hostingAutoscalingPolicyStatus"] = ac.ERROR
        await self.write(status)
        self.event(WARNING, reason, message)
        raise TerminalError(message)

    async def recoverable(self, err: SageMakerError) -> Result:
        delay = Result(requeue_after=max(err.suggested_delay, 0.001))
        if core.is_blocked(self.status, self.generation) or self.meta.get("deletionTimestamp"):
            return delay
        reason = ENDPOINT_NOT_IN_SERVICE if isinstance(err, DependencyNotReadyError) else core.RETRY_REASONS.get(
            err.outcome, "SageMakerError")
        status = core.error_status(self.status, reason, str(err), self.generation, self.stamp(), terminal=False)
        status["hostingAutoscalingPolicyStatus"] = ac.RECONCILING
        await self.write(status)
        return delay

    async def write(self, status: Mapping[str, Any]) -> None:
        patch = core.status_patch(self.status, status, self.r.deps.wall_clock())
        if patch is None:
            return
        self._replace(await self.r.objects.patch_status(self.obj, patch))
