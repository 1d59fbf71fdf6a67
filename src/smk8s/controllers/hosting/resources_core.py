"""Pure decisions of the Model and EndpointConfig controllers (no I/O): names, steps, status.

SageMaker cannot update a model or an endpoint configuration. Their SageMaker name is therefore derived from the
spec's *content* (:func:`resource_name`, :mod:`.common`'s naming): ``<k8s name, cut>-<12 hex of the uid>-<16 hex
of the hash of the Create request>``. A changed spec gives a new name: the replacement is created under it,
recorded in status, and the resources left behind are deleted once no endpoint uses them (never while one does).
Reverting an edit gives the old name back, so it changes nothing if the old resource still exists. Tags are not
part of the hash (AddTags/DeleteTags change them in place), nor are ``region`` (immutable, by the CRD's validation
rule) and ``sageMakerEndpoint``. These kinds have no spec field for a SageMaker name: names are always derived.

Every resource name of an object starts with the same prefix (its name and uid), so ``List*(NameContains=<prefix>)``
finds all of them again (after a crash, or a retained one) in one call; only those tagged with the uid count as
ours.

The decision table (:func:`decide`):

| object | steps |
|---|---|
| deleting, no finalizer | none |
| deleting, retain policy | RELEASE |
| deleting | SWEEP everything of ours not in use; RELEASE once nothing remains (else wait: ``InUse``) |
| finalizer missing | PREPARE first |
| desired absent, not blocked for this generation | CREATE, then as below |
| desired present, not ours | CONFLICT (terminal for this generation) |
| desired present, ours | TAG (when the generation changed), SWEEP (when other resources of ours may exist), MIRROR |

SWEEP comes before MIRROR: the previous name stays recorded in status until the sweep has run, so a crash between
the two leaves nothing unaccounted for. Resources an endpoint still uses are kept by the sweep (an Event says so)
and swept again on a later pass (the controller remembers them while it runs; otherwise at the next edit or at
deletion, when a ``List*(NameContains=<prefix>)`` finds them).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from smk8s.api.v1.common import READY, Condition, rfc3339
from smk8s.api.v1.convert import conditions
from smk8s.controllers.hosting import common

CREATED = "Created"
DELETED = "Deleted"
ERROR = "Error"
IN_USE = "InUse"
"""Ready reason while a deleted object waits for endpoints to stop using its resource."""


class Step(enum.StrEnum):
    PREPARE = "prepare"  # add the finalizer
    CREATE = "create"
    CONFLICT = "conflict"
    TAG = "tag"  # bring the tags to the spec's
    MIRROR = "mirror"
    SWEEP = "sweep"  # delete our resources other than the desired one (all of them when deleting), unless in use
    RELEASE = "release"


@dataclass(frozen=True)
class Observed:
    deleting: bool
    has_finalizer: bool
    retain: bool
    exists: bool  # the desired resource (by name) exists in SageMaker
    ours: bool  # ... and it is ours (tagged with our uid, or recorded in status)
    blocked: bool  # a terminal error was recorded for the current generation
    spec_changed: bool  # generation != status.observedGeneration
    others: bool  # status records another name of ours, or a List found others


def decide(o: Observed) -> tuple[Step, ...]:
    """The steps for an observation (module docstring's table)."""
    if o.deleting:
        if not o.has_finalizer:
            return ()
        if o.retain:
            return (Step.RELEASE,)
        return (Step.SWEEP, Step.RELEASE)  # RELEASE only once the sweep left nothing behind
    steps: list[Step] = [] if o.has_finalizer else [Step.PREPARE]
    if not o.exists:
        if o.blocked:
            return tuple(steps)
        steps.append(Step.CREATE)
    elif not o.ours:
        if not o.blocked:
            steps.append(Step.CONFLICT)
        return tuple(steps)
    elif o.spec_changed:
        steps.append(Step.TAG)
    if o.others:
        steps.append(Step.SWEEP)  # before MIRROR: once status records the new name, the old one is not recorded
    steps.append(Step.MIRROR)
    return tuple(steps)


# -- names (:mod:`.common`'s content naming, shared with HostingDeployment) ---------------------------------------


def name_prefix(k8s_name: str, uid: str) -> str:
    """The start of every resource name of an object (the ``NameContains`` filter that finds them all)."""
    return common.owner_prefix(k8s_name, uid)


def content(request: Mapping[str, Any]) -> dict[str, Any]:
    """What a resource's name is derived from: its Create request without its name and tags."""
    return {k: v for k, v in request.items() if k not in ("Tags", "ModelName", "EndpointConfigName")}


def resource_name(k8s_name: str, uid: str, request: Mapping[str, Any]) -> str:
    """The SageMaker name of the resource an object's spec describes (module docstring)."""
    return common.content_name(name_prefix(k8s_name, uid), content(request))


def is_ours_by_name(name: str, k8s_name: str, uid: str) -> bool:
    """Whether ``name`` has the shape of one of this object's resource names (its tags still have to agree)."""
    prefix = re.escape(name_prefix(k8s_name, uid).lower())
    return re.fullmatch(rf"{prefix}-[0-9a-f]{{{common.HASH_LENGTH}}}", name.lower()) is not None


# -- in use ------------------------------------------------------------------------------------------------------


def config_names_of_endpoint(description: Mapping[str, Any]) -> set[str]:
    """The endpoint configurations a DescribeEndpoint response shows in use: serving, and pending an update."""
    names = {str(description.get("EndpointConfigName") or "")}
    pending = description.get("PendingDeploymentSummary") or {}
    names.add(str(pending.get("EndpointConfigName") or ""))
    return {n for n in names if n}


def model_names_of_config(description: Mapping[str, Any]) -> set[str]:
    """The models a DescribeEndpointConfig response refers to (production and shadow variants)."""
    variants = [*description.get("ProductionVariants", ()), *description.get("ShadowProductionVariants", ())]
    return {str(v["ModelName"]) for v in variants if v.get("ModelName")}


# -- status --------------------------------------------------------------------------------------------------------


def created_status(
    previous: Mapping[str, Any], fields: Mapping[str, Any], *, replaced: bool, generation: int | None,
    now: str, name_field: str,
) -> dict[str, Any]:
    """The status of an object whose desired resource exists: ``fields`` (name, ARN, status Created), Ready True.

    ``lastUpdateTime`` moves when the recorded resource changes (created or replaced), else it is kept.
    """
    kept = {k: v for k, v in previous.items() if k not in ("lastCheckTime", "additional")}
    merged = conditions(parse_conditions(previous), [(READY, True, CREATED, f"Created as {fields[name_field]}")],
                        now, generation)
    status: dict[str, Any] = {**kept, **fields, "conditions": _dump(merged), "observedGeneration": generation}
    changed = replaced or previous.get(name_field) != fields[name_field]
    status["lastUpdateTime"] = rfc3339(now) if changed or not previous.get("lastUpdateTime") else \
        previous["lastUpdateTime"]
    return status


def waiting_status(previous: Mapping[str, Any], reason: str, message: str, generation: int | None,
                   now: str) -> dict[str, Any]:
    """``previous`` with Ready False (``reason``, ``message``) and the message in ``additional``: a wait, not an
    error of the resource."""
    status = {k: v for k, v in previous.items() if k != "lastCheckTime"}
    merged = conditions(parse_conditions(previous), [(READY, False, reason, message)], now, generation)
    status.update(conditions=_dump(merged), additional=message)
    return status


def parse_conditions(status: Mapping[str, Any]) -> list[Condition]:
    """The conditions of a status, parsed."""
    return [Condition.model_validate(c) for c in status.get("conditions") or ()]


def _dump(items: list[Condition]) -> list[dict[str, Any]]:
    return [c.model_dump(by_alias=True, exclude_none=True) for c in items]
