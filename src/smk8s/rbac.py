"""What the controller-manager may do in Kubernetes: the source of truth of every RBAC rule the installers grant.

``hack/generate_rbac.py`` renders these into ``config/rbac/`` (and from there the release files and Helm charts);
tests/integration/install/test_manager_under_rbac.py runs the manager under exactly these rules in the emulated API
server's RBAC mode and shows that every sample reconciles (sufficient) and that taking away any one verb makes a
request fail (minimal). No wildcards, nothing on core resources.

Per kind (:data:`KIND_VERBS`), the verbs its controller uses on ``sagemaker.aws.amazon.com/v1``:

- ``list``, ``watch``: the informer of the kind (shared, cluster-wide or per ``--namespace``);
- ``get``: a fresh read before a SageMaker resource is created (the cache may predate our own status write);
- ``patch``: adding/removing the ``sagemaker-operator-finalizer`` finalizer and writing a generated name into the
  spec (merge patches of the object, never ``update``);
- ``create`` (TrainingJob only): the observe-only TrainingJob objects a HyperparameterTuningJob's children get.

``<plural>/status``: ``patch`` (status is merge-patched, never replaced). ``<plural>/finalizers``: ``update`` on
HyperparameterTuningJobs only, because the child TrainingJobs carry an ownerReference with
``blockOwnerDeletion: true``, which the OwnerReferencesPermissionEnforcement admission plugin allows only to users
who may update the owner's ``finalizers`` subresource
(https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#ownerreferencespermissionenforcement).

Events: ``events.k8s.io`` ``create`` and ``patch`` (:mod:`smk8s.kube.events` writes events.k8s.io/v1 Events and
patches a repeated one's ``series``). Leader election: ``coordination.k8s.io`` leases ``get``, ``create``,
``update`` (:mod:`smk8s.leaderelection.lease_lock`), granted by a Role in the operator's own namespace only.

The hosting kinds' entries follow their controllers (HostingDeployment reads only its cache: no ``get``); the
minimality test checks each kind's verbs as soon as its controller is registered in
:data:`smk8s.manager.cli.CONTROLLERS` (until then, what their code reads and writes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from smk8s.api.v1.common import GROUP
from smk8s.api.v1.registry import INFO

RBAC_API_VERSION = "rbac.authorization.k8s.io/v1"
EVENTS_GROUP = "events.k8s.io"
COORDINATION_GROUP = "coordination.k8s.io"

_OBSERVE = ("get", "list", "watch", "patch")

KIND_VERBS: Mapping[str, tuple[str, ...]] = {
    "TrainingJob": (*_OBSERVE, "create"),
    "HyperparameterTuningJob": _OBSERVE,
    "ProcessingJob": _OBSERVE,
    "BatchTransformJob": _OBSERVE,
    "HostingDeployment": ("list", "watch", "patch"),  # reads only its cache
    "Model": _OBSERVE,
    "EndpointConfig": _OBSERVE,
    "HostingAutoscalingPolicy": _OBSERVE,
}
"""Verbs on each kind's main resource."""

STATUS_VERBS = ("patch",)
"""Verbs on every kind's ``status`` subresource."""

FINALIZERS_VERBS: Mapping[str, tuple[str, ...]] = {"HyperparameterTuningJob": ("update",)}
"""Verbs on the ``finalizers`` subresource of kinds whose objects own others with ``blockOwnerDeletion``."""

EVENT_VERBS = ("create", "patch")
LEASE_VERBS = ("get", "create", "update")


@dataclass(frozen=True, order=True)
class Rule:
    """One PolicyRule: resources of one API group (or non-resource URLs) and the verbs allowed on them."""

    api_group: str
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    non_resource_urls: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        if self.non_resource_urls:
            return {"nonResourceURLs": list(self.non_resource_urls), "verbs": list(self.verbs)}
        return {"apiGroups": [self.api_group], "resources": list(self.resources), "verbs": list(self.verbs)}


def plural(kind: str) -> str:
    return INFO[kind].plural


def manager_rules() -> list[Rule]:
    """The manager's rules on our kinds and on Events (a ClusterRole, or a Role per watched namespace)."""
    rules = [Rule(GROUP, (plural(kind),), verbs) for kind, verbs in KIND_VERBS.items()]
    rules.append(Rule(GROUP, tuple(sorted(f"{plural(kind)}/status" for kind in KIND_VERBS)), STATUS_VERBS))
    rules.extend(Rule(GROUP, (f"{plural(kind)}/finalizers",), verbs) for kind, verbs in FINALIZERS_VERBS.items())
    rules.append(Rule(EVENTS_GROUP, ("events",), EVENT_VERBS))
    return sorted(rules)


def leader_election_rules() -> list[Rule]:
    """Leases, in the operator's namespace (a Role there)."""
    return [Rule(COORDINATION_GROUP, ("leases",), LEASE_VERBS)]


def proxy_rules() -> list[Rule]:
    """kube-rbac-proxy's: authenticate scrapers' tokens and ask whether they may ``get /metrics``.

    Both reviews are cluster-scoped resources, so this is a ClusterRole even in the namespaced installation (the
    original operator's namespaced flavour made it a Role, which cannot grant them).
    """
    return [
        Rule("authentication.k8s.io", ("tokenreviews",), ("create",)),
        Rule("authorization.k8s.io", ("subjectaccessreviews",), ("create",)),
    ]


def metrics_reader_rules() -> list[Rule]:
    """What a scraper (Prometheus' ServiceAccount) needs to be bound to: ``get`` on ``/metrics``."""
    return [Rule("", (), ("get",), non_resource_urls=("/metrics",))]


def role_object(kind: str, name: str, rules: list[Rule], namespace: str | None = None) -> dict[str, Any]:
    """A ``ClusterRole`` or ``Role`` object with ``rules``."""
    metadata: dict[str, Any] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {"apiVersion": RBAC_API_VERSION, "kind": kind, "metadata": metadata,
            "rules": [rule.to_dict() for rule in rules]}


def grants(rules: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """Every ``(apiGroup, resource or URL, verb)`` a list of PolicyRule dicts allows, in order."""
    found: list[tuple[str, str, str]] = []
    for rule in rules:
        targets = [(group, resource)
                   for group in rule.get("apiGroups") or [] for resource in rule.get("resources") or []]
        targets += [("", url) for url in rule.get("nonResourceURLs") or []]
        found.extend((group, target, verb) for group, target in targets for verb in rule["verbs"])
    return found


def without_grant(rules: list[dict[str, Any]], grant: tuple[str, str, str]) -> list[dict[str, Any]]:
    """``rules`` allowing everything they did except ``grant`` (a rule left without verbs or targets is dropped)."""
    _, target, verb = grant
    result: list[dict[str, Any]] = []
    for rule in rules:
        if grant not in grants([rule]):
            result.append(rule)
            continue
        key = "nonResourceURLs" if rule.get("nonResourceURLs") else "resources"
        others = [t for t in rule[key] if t != target]
        if others:
            result.append({**rule, key: others})
        verbs = [v for v in rule["verbs"] if v != verb]
        if verbs:
            result.append({**rule, key: [target], "verbs": verbs})
    return result
