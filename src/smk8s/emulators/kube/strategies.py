"""Per-resource rules of kube-apiserver's registry strategies (k8s.io/apiserver/pkg/registry/rest).

Each built-in resource's ``RESTCreateStrategy``/``RESTUpdateStrategy`` decides whether ``metadata.generation`` is
maintained, whether PUT may create or may omit ``resourceVersion``, and what a deletion returns.
Custom resources all follow the customresource strategy.
"""

from __future__ import annotations

from dataclasses import dataclass

from smk8s.emulators.kube.resources import ResourceType


@dataclass(frozen=True)
class Strategy:
    """What the generic store does differently for one resource."""

    # metadata.generation is set to 1 on create and bumped on spec changes (api._generation_changed).
    tracks_generation: bool = False
    # PUT of a missing object creates it (Events, Leases do; most do not).
    allow_create_on_update: bool = False
    # PUT without metadata.resourceVersion is accepted as an unconditional update.
    allow_unconditional_update: bool = True
    # Objects the deletion returns in full instead of a Status (namespaces, custom resources).
    returns_deleted_object: bool = False


_DEFAULT = Strategy()

_BUILTIN: dict[tuple[str, str], Strategy] = {
    ("", "namespaces"): Strategy(returns_deleted_object=True),
    ("", "events"): Strategy(allow_create_on_update=True),
    ("events.k8s.io", "events"): Strategy(allow_create_on_update=True),
    ("", "configmaps"): Strategy(),
    ("", "secrets"): Strategy(),
    ("", "serviceaccounts"): Strategy(),
    ("coordination.k8s.io", "leases"): Strategy(allow_create_on_update=True),
    # deploymentStrategy: Generation = 1 on create, bumped on spec or annotation changes.
    ("apps", "deployments"): Strategy(tracks_generation=True),
    ("apiextensions.k8s.io", "customresourcedefinitions"): Strategy(
        tracks_generation=True, allow_unconditional_update=False, returns_deleted_object=True
    ),
    ("rbac.authorization.k8s.io", "roles"): Strategy(allow_create_on_update=True),
    ("rbac.authorization.k8s.io", "clusterroles"): Strategy(allow_create_on_update=True),
    ("rbac.authorization.k8s.io", "rolebindings"): Strategy(allow_create_on_update=True),
    ("rbac.authorization.k8s.io", "clusterrolebindings"): Strategy(allow_create_on_update=True),
}

_CUSTOM = Strategy(tracks_generation=True, allow_unconditional_update=False, returns_deleted_object=True)


def strategy_for(rt: ResourceType) -> Strategy:
    if rt.is_custom:
        return _CUSTOM
    return _BUILTIN.get(rt.group_resource, _DEFAULT)
