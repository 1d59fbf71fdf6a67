"""HostingDeployment decisions: the desired state from the spec, and :func:`decide` -- pure, no I/O.

**Desired state comes from the spec's content** (:func:`desired_state`), never from the generation: each model of
``spec.models`` becomes a SageMaker model named ``<prefix>-<hash of its CreateModel request>``, the endpoint
configuration ``<prefix>-<hash of its request>`` (variants' ``modelName`` resolved to those names; initial weights
and instance counts left out of the hash, so a change of only those is a capacity change, not a new configuration),
where ``<prefix>`` is :func:`~.common.owner_prefix` of the object. Reverting an edit maps to the names already in
SageMaker, so nothing is updated. The endpoint's name is ``spec.endpointName`` or, as for jobs,
``<k8s name, cut>-<uid without dashes>``.

**Decision table** (:func:`decide`; ``desired`` = the desired configuration name, ``serving`` = the endpoint's):

| object | endpoint | steps |
|---|---|---|
| deleting, no finalizer | any | none |
| deleting, retain policy | any | RELEASE (everything stays in SageMaker) |
| deleting | absent or not ours | DELETE_RESOURCES (our models and configs), RELEASE |
| deleting | Creating, Updating, RollingBack, SystemUpdating, Deleting | MIRROR (wait) |
| deleting | InService, Failed, OutOfService, UpdateRollbackFailed | MIRROR, DELETE_ENDPOINT (then wait for it to go) |
| no finalizer | any | PREPARE first (finalizer before anything is created) |
| live, spec's endpoint name differs from the recorded one | any | RENAME_REFUSED (terminal) |
| live | absent | ENSURE_RESOURCES, CREATE_ENDPOINT, unless blocked |
| live | not ours | CONFLICT (terminal), unless blocked |
| live | changing (Creating, Updating, ...) | MIRROR (wait; edits arriving now wait too) |
| live | Failed, blocked | MIRROR |
| live | Failed, serving == desired, failure not yet recorded | ENDPOINT_FAILED (terminal) |
| live | Failed, otherwise (the spec changed since) | MIRROR, DELETE_ENDPOINT (re-created once gone) |
| live | InService, serving != desired, roll-out recorded, FailureReason newer than it | UPDATE_FAILED (terminal) |
| live | InService, serving != desired, blocked | MIRROR |
| live | InService, serving != desired | MARK_ROLLOUT (unless recorded), ENSURE_RESOURCES, UPDATE_ENDPOINT, MIRROR |
| live | InService, serving == desired, capacities to change | UPDATE_CAPACITIES, MIRROR |
| live | InService, serving == desired, capacities recorded differ | RECORD_CAPACITIES, then as below |
| live | InService, serving == desired, not yet clean | CLEANUP (models and configs no longer used), MIRROR |
| live | InService, serving == desired, clean | MIRROR |
| live | OutOfService, UpdateRollbackFailed | MIRROR |

*Blocked*: a terminal error (invalid spec, name conflict, failed update, failed endpoint) is recorded in the Ready
condition for the current generation. *Roll-out recorded*: Ready is ``RollingOut`` for the current generation --
written (MARK_ROLLOUT) before any new model or configuration is created, so a crash at any moment leaves a
not-clean status and the CLEANUP that follows deletes whatever was created for nothing. *Clean*: Ready is True at
the desired configuration for the current generation. *FailureReason newer than it*: the endpoint was
modified after status last mirrored it (:func:`failure_predates_rollout`); a FailureReason left by an earlier failed
update, already mirrored when the roll-out was recorded, is not this roll-out's (a crash between MARK_ROLLOUT and
UPDATE_ENDPOINT would otherwise report it as this roll-out's failure).

**Capacities** (:func:`capacity_updates`): weights and instance counts are applied with
UpdateEndpointWeightsAndCapacities only where the spec changed them since they were last applied (recorded in the
annotation :data:`APPLIED_CAPACITIES_ANNOTATION`) and the endpoint does not already run them: an autoscaling policy
moving instance counts is not fought, and reverting an edit before it was applied costs nothing.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from smk8s.api.v1.common import READY, Condition, rfc3339
from smk8s.api.v1.convert import (
    create_endpoint_request,
    hosting_endpoint_config_request,
    hosting_model_request,
    update_endpoint_request,
)
from smk8s.api.v1.hosting_deployment import HostingDeploymentSpec
from smk8s.controllers.hosting.common import content_name, owner_prefix, with_owner_tags
from smk8s.controllers.jobs.naming import job_name

APPLIED_CAPACITIES_ANNOTATION = "sagemaker.aws.amazon.com/applied-variant-capacities"
"""JSON ``{variant: [weight, instanceCount]}``: the spec's values last applied to the endpoint."""

CHANGING = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})
DELETABLE = frozenset({"InService", "Failed", "OutOfService", "UpdateRollbackFailed"})

# Ready-condition reasons of our own (others are the endpoint's status).
IN_SERVICE = "InService"
ROLLING_OUT = "RollingOut"
PENDING = "Pending"
INVALID_SPEC = "InvalidSpec"
NAME_CONFLICT = "NameConflict"
UPDATE_FAILED = "UpdateFailed"
ENDPOINT_FAILED = "EndpointFailed"
RENAME_REFUSED = "EndpointNameChanged"
BLOCKING_REASONS = frozenset({INVALID_SPEC, NAME_CONFLICT, UPDATE_FAILED, ENDPOINT_FAILED, RENAME_REFUSED})


class Step(enum.StrEnum):
    PREPARE = "prepare"  # add the finalizer
    RENAME_REFUSED = "rename-refused"
    CONFLICT = "conflict"
    ENSURE_RESOURCES = "ensure-resources"  # create the desired models and configuration when absent
    CREATE_ENDPOINT = "create-endpoint"
    MARK_ROLLOUT = "mark-rollout"  # record (status) that this generation rolls out to the desired configuration
    UPDATE_ENDPOINT = "update-endpoint"
    UPDATE_FAILED = "update-failed"
    ENDPOINT_FAILED = "endpoint-failed"
    UPDATE_CAPACITIES = "update-capacities"
    RECORD_CAPACITIES = "record-capacities"
    CLEANUP = "cleanup"  # delete our models and configurations the endpoint no longer uses
    MIRROR = "mirror"
    DELETE_ENDPOINT = "delete-endpoint"
    DELETE_RESOURCES = "delete-resources"  # every model and configuration of ours
    RELEASE = "release"  # remove the finalizer


@dataclass(frozen=True)
class Capacity:
    """A variant's weight and instance count (None: serverless, or not given)."""

    weight: float | None
    count: int | None


@dataclass(frozen=True)
class DesiredModel:
    key: str  # the name in spec.models
    name: str  # the SageMaker model's
    request: dict[str, Any]  # CreateModel, tags included


@dataclass(frozen=True)
class Desired:
    endpoint_name: str
    prefix: str  # every model and configuration name of this object starts with it
    models: tuple[DesiredModel, ...]
    config_name: str
    config_request: dict[str, Any]  # CreateEndpointConfig, tags included
    create_endpoint: dict[str, Any]  # CreateEndpoint, tags included
    update_endpoint: dict[str, Any]  # UpdateEndpoint
    capacities: Mapping[str, Capacity]

    @property
    def model_names(self) -> dict[str, str]:
        """spec model name -> SageMaker model name."""
        return {m.key: m.name for m in self.models}

    @property
    def resource_names(self) -> frozenset[str]:
        return frozenset({self.config_name, *(m.name for m in self.models)})


class InvalidSpec(ValueError):
    """The spec cannot become SageMaker requests (a variant names an unknown model, duplicate names ...)."""


def desired_state(spec: HostingDeploymentSpec, metadata: Mapping[str, Any]) -> Desired:
    """What SageMaker should hold for the object (module docstring); InvalidSpec when it cannot."""
    uid, k8s_name = str(metadata["uid"]), str(metadata["name"])
    prefix = owner_prefix(k8s_name, uid)
    keys = [m.name for m in spec.models]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise InvalidSpec(f"models[] names must be unique; repeated: {', '.join(duplicates)}")
    models: list[DesiredModel] = []
    for model in spec.models:
        hostnames = [c.container_hostname for c in model.containers or () if c.container_hostname]
        if len(hostnames) != len(set(hostnames)):
            raise InvalidSpec(f"model {model.name}: containerHostname values must be unique")
        content = hosting_model_request(spec, model, "")
        content.pop("Tags", None)
        content["_key"] = model.name  # two models of equal content stay two models
        name = content_name(prefix, content)
        models.append(DesiredModel(model.name, name, with_owner_tags(hosting_model_request(spec, model, name),
                                                                     metadata)))
    names = {m.key: m.name for m in models}
    try:
        config = hosting_endpoint_config_request(spec, "", names)
    except KeyError as exc:
        raise InvalidSpec(f"a production variant names model {exc.args[0]}, which is not in models[] "
                          f"(models: {', '.join(keys)})") from None
    shape = {k: v for k, v in config.items() if k not in ("EndpointConfigName", "Tags")}
    shape["ProductionVariants"] = [{k: v for k, v in pv.items() if k not in ("InitialVariantWeight",
                                                                             "InitialInstanceCount")}
                                   for pv in shape.get("ProductionVariants", ())]
    config_name = content_name(prefix, shape)
    config["EndpointConfigName"] = config_name
    endpoint = job_name(spec.endpoint_name, uid, k8s_name)
    capacities = {
        str(pv["VariantName"]): Capacity(
            None if pv.get("InitialVariantWeight") is None else float(pv["InitialVariantWeight"]),
            None if pv.get("InitialInstanceCount") is None else int(pv["InitialInstanceCount"]))
        for pv in config.get("ProductionVariants", ())
    }
    return Desired(
        endpoint_name=endpoint, prefix=prefix, models=tuple(models), config_name=config_name,
        config_request=with_owner_tags(config, metadata),
        create_endpoint=with_owner_tags(create_endpoint_request(spec, endpoint, config_name), metadata),
        update_endpoint=update_endpoint_request(spec, endpoint, config_name), capacities=capacities,
    )


# -- observation and decision -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EndpointView:
    """What a DescribeEndpoint said, reduced to what decisions need."""

    status: str
    config_name: str
    failure_reason: str | None
    ours: bool  # its ARN is the one status records, or its tags carry our uid
    capacities: Mapping[str, Capacity] = field(default_factory=dict)  # each variant's Desired* numbers

    @classmethod
    def from_description(cls, desc: Mapping[str, Any], *, ours: bool) -> EndpointView:
        return cls(
            status=str(desc.get("EndpointStatus", "")), config_name=str(desc.get("EndpointConfigName", "")),
            failure_reason=desc.get("FailureReason") or None, ours=ours,
            capacities={str(v["VariantName"]): Capacity(
                None if v.get("DesiredWeight") is None else float(v["DesiredWeight"]),
                None if v.get("DesiredInstanceCount") is None else int(v["DesiredInstanceCount"]))
                for v in desc.get("ProductionVariants", ())})


@dataclass(frozen=True)
class Observed:
    deleting: bool
    has_finalizer: bool
    retain: bool
    endpoint: EndpointView | None  # None: no endpoint of the desired name
    desired_config: str
    blocked: bool = False  # a terminal error is recorded for the current generation
    rolling_out: bool = False  # our roll-out to the desired configuration is recorded for this generation
    clean: bool = False  # Ready True at the desired configuration for this generation
    renamed: bool = False  # spec's endpoint name differs from the one status records
    earlier_failure: bool = False  # the endpoint's failure was recorded for an earlier generation
    failure_predates_rollout: bool = False  # the endpoint's FailureReason was mirrored before our roll-out began
    capacity_changes: tuple[Mapping[str, Any], ...] = ()  # UpdateEndpointWeightsAndCapacities entries
    capacities_recorded: bool = True  # the annotation holds the spec's capacities


def decide(o: Observed) -> tuple[Step, ...]:
    """The steps for an observation (module docstring's table), in order."""
    ep = o.endpoint
    if o.deleting:
        if not o.has_finalizer:
            return ()
        if o.retain:
            return (Step.RELEASE,)
        if ep is None or not ep.ours:
            return (Step.DELETE_RESOURCES, Step.RELEASE)
        if ep.status in DELETABLE:
            return (Step.MIRROR, Step.DELETE_ENDPOINT)
        return (Step.MIRROR,)
    steps: list[Step] = [] if o.has_finalizer else [Step.PREPARE]
    if o.renamed:
        return (*steps, Step.RENAME_REFUSED) if not o.blocked else tuple(steps)
    if ep is None:
        if not o.blocked:
            steps += [Step.ENSURE_RESOURCES, Step.CREATE_ENDPOINT]
        return tuple(steps)
    if not ep.ours:
        return (*steps, Step.CONFLICT) if not o.blocked else tuple(steps)
    at_desired = ep.config_name == o.desired_config
    if ep.status == "Failed":
        if o.blocked:
            return (*steps, Step.MIRROR)
        if at_desired and not o.earlier_failure:
            return (*steps, Step.ENDPOINT_FAILED)
        return (*steps, Step.MIRROR, Step.DELETE_ENDPOINT)
    if ep.status != "InService":
        return (*steps, Step.MIRROR)
    if not at_desired:
        if o.rolling_out and ep.failure_reason and not o.failure_predates_rollout:
            return (*steps, Step.UPDATE_FAILED)
        if o.blocked:
            return (*steps, Step.MIRROR)
        rollout = [] if o.rolling_out else [Step.MARK_ROLLOUT]
        return (*steps, *rollout, Step.ENSURE_RESOURCES, Step.UPDATE_ENDPOINT, Step.MIRROR)
    if o.capacity_changes:
        return (*steps, Step.UPDATE_CAPACITIES, Step.MIRROR)
    if not o.capacities_recorded:
        steps.append(Step.RECORD_CAPACITIES)
    if not o.clean:
        steps.append(Step.CLEANUP)
    return (*steps, Step.MIRROR)


# -- capacities ---------------------------------------------------------------------------------------------------


def capacity_updates(
    desired: Mapping[str, Capacity], applied: Mapping[str, Capacity] | None, live: Mapping[str, Capacity]
) -> tuple[dict[str, Any], ...]:
    """UpdateEndpointWeightsAndCapacities entries: per variant, the weight and instance count the spec changed since
    ``applied`` (None: unknown, every value counts as changed) that the endpoint (``live``) does not already run."""
    entries: list[dict[str, Any]] = []
    for variant, want in desired.items():
        running = live.get(variant)
        if running is None:
            continue
        before = (applied or {}).get(variant)
        entry: dict[str, Any] = {}
        if want.weight is not None and (before is None or before.weight != want.weight) \
                and running.weight != want.weight:
            entry["DesiredWeight"] = want.weight
        if want.count is not None and running.count is not None \
                and (before is None or before.count != want.count) and running.count != want.count:
            entry["DesiredInstanceCount"] = want.count
        if entry:
            entries.append({"VariantName": variant, **entry})
    return tuple(entries)


def encode_capacities(capacities: Mapping[str, Capacity]) -> str:
    """The annotation's value for ``capacities``."""
    return json.dumps({k: [c.weight, c.count] for k, c in sorted(capacities.items())}, separators=(",", ":"))


def decode_capacities(value: str | None) -> dict[str, Capacity] | None:
    """The annotation's capacities; None when absent or unreadable (then every value counts as changed)."""
    if not value:
        return None
    try:
        raw = json.loads(value)
        return {str(k): Capacity(None if v[0] is None else float(v[0]), None if v[1] is None else int(v[1]))
                for k, v in raw.items()}
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return None


# -- status -------------------------------------------------------------------------------------------------------


def ready_condition(status: Mapping[str, Any], generation: int | None) -> Condition | None:
    """The Ready condition recorded in ``status``."""
    ready = next((c for c in status.get("conditions") or () if c.get("type") == READY), None)
    return None if ready is None else Condition.model_validate(ready)


def is_blocked(status: Mapping[str, Any], generation: int | None) -> bool:
    """A terminal error was recorded for ``generation``."""
    ready = ready_condition(status, generation)
    return ready is not None and ready.reason in BLOCKING_REASONS and ready.observed_generation == generation


def failure_recorded_earlier(status: Mapping[str, Any], generation: int | None) -> bool:
    """The endpoint's failure was recorded (ENDPOINT_FAILED) for a generation before ``generation``."""
    ready = ready_condition(status, generation)
    return ready is not None and ready.reason == ENDPOINT_FAILED and ready.observed_generation != generation


def failure_predates_rollout(status: Mapping[str, Any], description: Mapping[str, Any]) -> bool:
    """The endpoint's LastModifiedTime is the one status mirrors: nothing happened to the endpoint since status was
    last written, so a FailureReason it carries is older than a roll-out recorded since (an UpdateEndpoint moves
    LastModifiedTime, and a failed one takes minutes to roll back). Both times are SageMaker's, compared as status
    writes them: no clock of ours is involved."""
    modified = description.get("LastModifiedTime")
    return modified is not None and status.get("lastModifiedTime") == rfc3339(modified)


def is_rolling_out(status: Mapping[str, Any], generation: int | None) -> bool:
    """Our roll-out to the desired configuration was recorded for ``generation`` (MARK_ROLLOUT)."""
    ready = ready_condition(status, generation)
    return ready is not None and ready.reason == ROLLING_OUT and ready.observed_generation == generation


def is_clean(status: Mapping[str, Any], generation: int | None, desired_config: str) -> bool:
    """Ready True at ``desired_config`` for ``generation``: unused models and configurations were deleted."""
    ready = ready_condition(status, generation)
    return (ready is not None and ready.status == "True" and ready.observed_generation == generation
            and status.get("endpointConfigName") == desired_config)


def readiness(
    endpoint: EndpointView | None, desired_config: str, *, rolling_out: bool, capacities_pending: bool
) -> tuple[bool, str, str]:
    """(Ready, reason, message) for a mirrored endpoint: True only InService at the desired configuration."""
    if endpoint is None:
        return False, PENDING, "The endpoint has not been created yet"
    at_desired = endpoint.config_name == desired_config
    if endpoint.status == "InService" and at_desired and not capacities_pending:
        return True, IN_SERVICE, f"The endpoint is InService with configuration {desired_config}"
    if rolling_out and not at_desired:
        return False, ROLLING_OUT, (f"Rolling the endpoint out to configuration {desired_config} (it is "
                                    f"{endpoint.status}; configuration {endpoint.config_name} serves meanwhile)")
    if endpoint.status == "InService" and at_desired:
        return False, "Updating", "Applying the spec's weights and instance counts"
    if endpoint.status == "InService":
        return False, "Updating", f"The endpoint is being brought to configuration {desired_config}"
    message = f"The endpoint is {endpoint.status}"
    if endpoint.failure_reason and endpoint.status == "Failed":
        message = endpoint.failure_reason
    return False, endpoint.status or PENDING, message


def rollout_message(endpoint: str, config: str, serving: str) -> str:
    return f"Rolling endpoint {endpoint} out to configuration {config} ({serving} serves meanwhile)"


def update_failed_message(endpoint: str, desired: str, serving: str, reason: str) -> str:
    return (f"The update of endpoint {endpoint} to configuration {desired} failed and was rolled back; "
            f"configuration {serving} is still serving. Not retried until the spec changes. {reason}")


def requeue_after(endpoint_status: str | None, poll_interval: float, *, stable_factor: float = 5.0) -> float:
    """Seconds until the next Describe: ``poll_interval`` while the endpoint changes (or is about to),
    ``stable_factor`` times that once it is stable (InService, Failed, OutOfService)."""
    if endpoint_status is None or endpoint_status in CHANGING:
        return poll_interval
    return poll_interval * stable_factor


def unused(names: Sequence[str], desired: Desired) -> list[str]:
    """Our resource names (already filtered to this object's) that the desired state does not use."""
    keep = desired.resource_names
    return sorted(n for n in names if n not in keep)
