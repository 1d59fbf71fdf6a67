"""The reconciler core shared by the four job kinds: pure decisions, no I/O.

A reconcile observes (the object, and SageMaker's Describe of the job named for it) into an :class:`Observed`, and
:func:`decide` maps it to the :class:`Step` s to take, in order; :mod:`.reconciler` performs them. The table:

| object | job in SageMaker | steps |
|---|---|---|
| deleting, no finalizer | any | none |
| deleting | absent, not ours, finished, or retain policy, or observe-only | RELEASE |
| deleting | InProgress | MIRROR, STOP (then wait for Stopped) |
| deleting | Stopping | MIRROR (wait) |
| observe-only (a tuning job's child) | present / absent | MIRROR / MISSING |
| finalizer or name not recorded | any | PREPARE first (finalizer before anything is created) |
| live | absent | CREATE (+ mirror), unless a terminal error blocks this generation |
| live | present, not tagged with our uid | CONFLICT (never adopted) |
| live | present, ours | UPDATE when the spec changed, then MIRROR |

"Ours" means the job's ARN is the one our status records, or its tags carry this object's uid: so a job created just
before a crash (status not yet written) is adopted, and a stranger's job of the same name never is.

The helpers below compute tags, updates, status patches, conditions and Events from plain data.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from smk8s.api.v1.common import COMPLETE, FAILED, READY, Condition
from smk8s.api.v1.convert import conditions, job_conditions

FINALIZER = "sagemaker-operator-finalizer"
DELETION_POLICY_ANNOTATION = "sagemaker.aws.amazon.com/deletion-policy"
OBSERVE_ONLY_ANNOTATION = "sagemaker.aws.amazon.com/observe-only"
"""``"true"`` on objects that mirror a job someone else created (a tuning job's children): never created, stopped,
tagged or finalized by us."""
TAG_NAMESPACE = "sagemaker.aws.amazon.com/kubernetes-namespace"
TAG_NAME = "sagemaker.aws.amazon.com/kubernetes-name"
TAG_UID = "sagemaker.aws.amazon.com/kubernetes-uid"
LAST_CHECK_REFRESH = 60.0
"""Seconds: ``lastCheckTime`` alone is rewritten at most this often."""

# Ready-condition reasons of the error paths.
INVALID_SPEC = "InvalidSpec"  # terminal: blocks creation until the generation changes
NAME_CONFLICT = "NameConflict"  # terminal
BLOCKING_REASONS = frozenset({INVALID_SPEC, NAME_CONFLICT})
RETRY_REASONS = {"throttled": "Throttled", "retryable": "SageMakerUnavailable", "access_denied": "AccessDenied"}
NOT_FOUND = "NotFound"


class Step(enum.StrEnum):
    PREPARE = "prepare"  # add the finalizer (and write a generated name back into spec where the original did)
    CREATE = "create"
    CONFLICT = "conflict"
    UPDATE = "update"  # the mutable spec fields and tags
    MIRROR = "mirror"
    STOP = "stop"
    RELEASE = "release"  # remove the finalizer
    MISSING = "missing"  # an observe-only job is absent


@dataclass(frozen=True)
class Observed:
    deleting: bool
    has_finalizer: bool
    name_recorded: bool
    retain: bool
    observe_only: bool
    job_status: str | None  # None: no job of our name in SageMaker
    ours: bool
    blocked: bool  # a terminal error was recorded for the current generation
    spec_changed: bool  # generation != status.observedGeneration


def decide(o: Observed) -> tuple[Step, ...]:
    """The steps for an observation (module docstring's table)."""
    if o.deleting:
        if not o.has_finalizer:
            return ()
        if o.retain or o.observe_only or o.job_status is None or not o.ours:
            return (Step.RELEASE,)
        if o.job_status == "InProgress":
            return (Step.MIRROR, Step.STOP)
        if o.job_status == "Stopping":
            return (Step.MIRROR,)
        return (Step.RELEASE,)
    if o.observe_only:
        return (Step.MIRROR,) if o.job_status is not None else (Step.MISSING,)
    steps: list[Step] = [] if o.has_finalizer and o.name_recorded else [Step.PREPARE]
    if o.job_status is None:
        if not o.blocked:
            steps.append(Step.CREATE)
    elif not o.ours:
        if not o.blocked:
            steps.append(Step.CONFLICT)
    else:
        if o.spec_changed:
            steps.append(Step.UPDATE)
        steps.append(Step.MIRROR)
    return tuple(steps)


# -- observations -------------------------------------------------------------------------------------------------


def is_blocked(status: Mapping[str, Any], generation: int | None) -> bool:
    """A terminal error (invalid spec, name conflict) was recorded for ``generation``."""
    ready = _condition(status, READY)
    return ready is not None and ready.reason in BLOCKING_REASONS and ready.observed_generation == generation


def ready_reason(status: Mapping[str, Any]) -> str | None:
    """The reason of the Ready condition, if any."""
    ready = _condition(status, READY)
    return None if ready is None else ready.reason


RECOVERABLE_BACKOFF_BASE = 0.005
RECOVERABLE_BACKOFF_CAP = 1000.0


def recoverable_delay(suggested: float, failures: int) -> float:
    """Seconds before retrying an object after its ``failures``-th consecutive recoverable error (1, 2, ...).

    The larger of the error's own suggestion (throttling's, AccessDenied's long one) and client-go's default
    per-item exponential back-off (5 ms doubling per consecutive failure of this object, capped at 1000 s), so an
    object that keeps failing (a region that is down, a permission nobody fixes) costs fewer and fewer calls while
    a passing throttle costs no more than its suggested delay."""
    growing: float = min(RECOVERABLE_BACKOFF_BASE * 2.0 ** max(failures - 1, 0), RECOVERABLE_BACKOFF_CAP)
    return max(suggested, growing, 0.001)


def retain(annotations: Mapping[str, str], default_policy: str) -> bool:
    """Deletion policy: the annotation wins over the manager's ``--deletion-policy``."""
    return annotations.get(DELETION_POLICY_ANNOTATION, default_policy).strip().lower() == "retain"


def settled(status: str | None, description: Mapping[str, Any]) -> bool:
    """Nothing more will change: terminal, and no debugger/profiler rule still evaluating."""
    if status not in ("Completed", "Failed", "Stopped"):
        return False
    rules = [*description.get("DebugRuleEvaluationStatuses", ()),
             *description.get("ProfilerRuleEvaluationStatuses", ())]
    return not any(r.get("RuleEvaluationStatus") in ("InProgress", "Stopping") for r in rules)


# -- tags and updates ---------------------------------------------------------------------------------------------


def our_tags(namespace: str, name: str, uid: str) -> dict[str, str]:
    return {TAG_NAMESPACE: namespace, TAG_NAME: name, TAG_UID: uid}


def with_tags(request: Mapping[str, Any], ours: Mapping[str, str]) -> dict[str, Any]:
    """``request`` with our tags added to the spec's (ours win)."""
    tags = {**_tag_map(request.get("Tags")), **ours}
    return {**request, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}


def desired_tags(request: Mapping[str, Any], ours: Mapping[str, str]) -> dict[str, str]:
    return {**_tag_map(request.get("Tags")), **ours}


def training_update(request: Mapping[str, Any], description: Mapping[str, Any]) -> dict[str, Any] | None:
    """The UpdateTrainingJob request bringing a running job to the spec (warm-pool keep-alive, profiler, remote
    debugging: what UpdateTrainingJob takes, and so what the CRD lets change), or None."""
    update: dict[str, Any] = {}
    keep_alive = (request.get("ResourceConfig") or {}).get("KeepAlivePeriodInSeconds")
    if keep_alive is not None and keep_alive != (description.get("ResourceConfig") or {}).get(
            "KeepAlivePeriodInSeconds"):
        update["ResourceConfig"] = {"KeepAlivePeriodInSeconds": keep_alive}
    profiler = request.get("ProfilerConfig")
    if profiler and not _subset(profiler, description.get("ProfilerConfig") or {}):
        update["ProfilerConfig"] = profiler
    known = {r.get("RuleConfigurationName") for r in description.get("ProfilerRuleConfigurations") or ()}
    rules = [r for r in request.get("ProfilerRuleConfigurations") or () if r.get("RuleConfigurationName") not in known]
    if rules:
        update["ProfilerRuleConfigurations"] = rules
    remote_debug = request.get("RemoteDebugConfig")
    if remote_debug and not _subset(remote_debug, description.get("RemoteDebugConfig") or {}):
        update["RemoteDebugConfig"] = remote_debug
    if not update:
        return None
    return {"TrainingJobName": description["TrainingJobName"], **update}


# -- status -------------------------------------------------------------------------------------------------------


def mirrored_status(
    fields: Mapping[str, Any], state: str | None, previous: Mapping[str, Any], generation: int | None, now: str
) -> dict[str, Any]:
    """The whole status for a described job: ``fields`` (the adapter's), conditions and observedGeneration."""
    reason = fields.get("failureReason")
    merged = conditions(_conditions(previous), job_conditions(state, reason), now, generation)
    return {**fields, "conditions": _dump(merged), "observedGeneration": generation}


def listed_status(
    previous: Mapping[str, Any], status_field: str, state: str, generation: int | None, now: str
) -> dict[str, Any]:
    """``previous`` with the job status a List showed (``state``) and its conditions, before the full Describe.

    What a List summary gives is enough for the visible transition (InProgress -> Completed, Stopping ...); the
    details (model path, metrics, secondary status) follow with the Describe. A completion's ``Complete`` and
    ``Ready`` conditions wait for those details: whoever runs ``kubectl wait --for=condition=Complete`` then reads
    ``status.modelPath`` must find it (a CI run once caught a script doing exactly that)."""
    status = {k: v for k, v in previous.items() if k != "lastCheckTime"}
    if state == "Completed":
        message = "The job completed; its results (model path, metrics) are being recorded"
        listed = [(c, False, "RecordingResults", message) for c in (READY, COMPLETE, FAILED)]
    else:
        listed = job_conditions(state, None)
    merged = conditions(_conditions(previous), listed, now, generation)
    status.update({status_field: state, "conditions": _dump(merged), "observedGeneration": generation})
    return status


def listed_transition_applies(
    status: Mapping[str, Any], status_field: str, arn_field: str, listed_state: str, *, deleting: bool,
    generation: int | None,
) -> bool:
    """Whether a List summary's status may be written before describing the job: the object already mirrors
    this job (its ARN recorded, spec observed, not being deleted) and the List shows another status. Not for
    ``Failed``: the user must see the failure reason, which a List summary may lack."""
    return (not deleting and bool(status.get(arn_field)) and status.get("observedGeneration") == generation
            and listed_state != status.get(status_field) and listed_state != "Failed")


def error_status(
    previous: Mapping[str, Any], reason: str, message: str, generation: int | None, now: str,
    *, terminal: bool,
) -> dict[str, Any]:
    """``previous`` with Ready False for ``reason`` and ``message`` in ``additional`` (terminal: for this generation).

    A recoverable error never touches the job's own status fields, so it never shows the job as Failed.
    """
    status = {k: v for k, v in previous.items() if k != "lastCheckTime"}
    merged = conditions(_conditions(previous), [(READY, False, reason, message)], now, generation)
    status.update(conditions=_dump(merged), additional=message)
    if terminal:
        status["observedGeneration"] = generation
    return status


def status_patch(
    old: Mapping[str, Any], new: Mapping[str, Any], now: datetime.datetime, refresh: float = LAST_CHECK_REFRESH
) -> dict[str, Any] | None:
    """The merge patch from ``old`` to ``new`` (+ lastCheckTime), or None when nothing visible changed and
    ``lastCheckTime`` is younger than ``refresh`` seconds. Fields ``new`` lacks are removed."""
    stamp = now.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    before = {k: v for k, v in old.items() if k != "lastCheckTime"}
    after = {k: v for k, v in new.items() if k != "lastCheckTime" and v is not None}
    if before == after:
        last = old.get("lastCheckTime")
        if last is not None and (now - _parse(last)).total_seconds() < refresh:
            return None
        return {"lastCheckTime": stamp}
    patch: dict[str, Any] = {k: None for k in before if k not in after}
    patch.update(after)
    patch["lastCheckTime"] = stamp
    return patch


def transition_event(kind: str, old: str | None, new: str | None, reason: str | None) -> tuple[str, str, str] | None:
    """(type, reason, note) of the Event for a SageMaker status transition, or None when it did not change."""
    if new is None or old == new:
        return None
    if new == "Failed":
        return "Warning", "Failed", f"The {kind} failed: {reason or 'no reason given'}"
    note = f"The {kind} is {new}" + (f" (was {old})" if old else "")
    return "Normal", new, note


def _condition(status: Mapping[str, Any], type_: str) -> Condition | None:
    return next((c for c in _conditions(status) if c.type == type_), None)


def _conditions(status: Mapping[str, Any]) -> list[Condition]:
    return [Condition.model_validate(c) for c in status.get("conditions") or ()]


def _dump(items: Sequence[Condition]) -> list[dict[str, Any]]:
    return [c.model_dump(by_alias=True, exclude_none=True) for c in items]


def _tag_map(tags: Any) -> dict[str, str]:
    return {str(t["Key"]): str(t.get("Value", "")) for t in tags or ()}


def _subset(wanted: Mapping[str, Any], have: Mapping[str, Any]) -> bool:
    return all(have.get(k) == v for k, v in wanted.items())


def _parse(stamp: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
