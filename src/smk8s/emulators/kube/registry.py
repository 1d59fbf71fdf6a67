"""Which resources the server serves right now, and the discovery documents that describe them.

Built-ins are always served; a CRD's versions are added once it is Established and removed when it is deleted.
Discovery answers are built from this registry on every request, so they change the moment a CRD does.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from typing import Any

from smk8s.emulators.kube import errors
from smk8s.emulators.kube.resources import ResourceType, builtin_resources, resource_types_from_crd

_SUBRESOURCE_VERBS = ("get", "patch", "update")


class Registry:
    """The served (group, version, plural) → :class:`ResourceType` table.

    Only the server's own request handlers and its CRD controller call it; it is not thread-safe and needs not be.
    """

    def __init__(self) -> None:
        self._types: dict[tuple[str, str, str], ResourceType] = {}
        self._crd_types: dict[str, list[ResourceType]] = {}
        for rt in builtin_resources():
            self._types[(rt.group, rt.version, rt.plural)] = rt

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._types.get((group, version, plural))

    def require(self, group: str, version: str, plural: str) -> ResourceType:
        rt = self.lookup(group, version, plural)
        if rt is None:
            raise errors.APIError(404, "NotFound", "the server could not find the requested resource")
        return rt

    def served_group_version(self, group: str, version: str) -> bool:
        return any(g == group and v == version for g, v, _ in self._types)

    def all(self) -> list[ResourceType]:
        return list(self._types.values())

    def by_group_resource(self, group: str, plural: str) -> list[ResourceType]:
        return [rt for (g, _, p), rt in self._types.items() if g == group and p == plural]

    def kind_for(self, group: str, plural: str) -> str:
        found = self.by_group_resource(group, plural)
        return found[0].kind if found else ""

    def set_crd(self, crd_name: str, crd: dict[str, Any] | None) -> None:
        """Serve the versions of an Established CRD, or stop serving them (``crd`` None)."""
        for rt in self._crd_types.pop(crd_name, []):
            self._types.pop((rt.group, rt.version, rt.plural), None)
        if crd is None:
            return
        types = resource_types_from_crd(crd)
        self._crd_types[crd_name] = types
        for rt in types:
            self._types[(rt.group, rt.version, rt.plural)] = rt

    # -- discovery -------------------------------------------------------------------------------------------

    def groups(self) -> list[tuple[str, list[str]]]:
        """Served API groups (not the legacy core group) and their versions, preferred version first."""
        by_group: dict[str, list[str]] = {}
        for group, version, _ in self._types:
            if group and version not in by_group.setdefault(group, []):
                by_group[group].append(version)
        return [(g, sorted(vs, key=_version_priority)) for g, vs in sorted(by_group.items())]

    def api_versions(self) -> dict[str, Any]:
        return {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}],
        }

    def api_group_list(self) -> dict[str, Any]:
        return {
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": [_group(g, vs) for g, vs in self.groups()],
        }

    def api_group(self, group: str) -> dict[str, Any] | None:
        for g, vs in self.groups():
            if g == group:
                return {"kind": "APIGroup", "apiVersion": "v1", **_group(g, vs)}
        return None

    def api_resource_list(self, group: str, version: str) -> dict[str, Any] | None:
        types = sorted(
            (rt for (g, v, _), rt in self._types.items() if g == group and v == version),
            key=lambda r: r.plural,
        )
        if not types:
            return None
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version,
            "resources": list(_api_resources(types)),
        }

    def aggregated_discovery(self, legacy: bool) -> dict[str, Any]:
        """``apidiscovery.k8s.io/v2`` APIGroupDiscoveryList, for ``/api`` (legacy) or ``/apis``."""
        groups = [("", ["v1"])] if legacy else self.groups()
        items = []
        for group, versions in groups:
            items.append(
                {
                    # ObjectMeta.name is omitempty: the legacy group's item has no name at all.
                    "metadata": {"name": group, "creationTimestamp": None} if group else {"creationTimestamp": None},
                    "versions": [self._discovery_version(group, v) for v in versions],
                }
            )
        return {
            "kind": "APIGroupDiscoveryList",
            "apiVersion": "apidiscovery.k8s.io/v2",
            "metadata": {},
            "items": items,
        }

    def _discovery_version(self, group: str, version: str) -> dict[str, Any]:
        types = sorted(
            (rt for (g, v, _), rt in self._types.items() if g == group and v == version),
            key=lambda r: r.plural,
        )
        resources = []
        for rt in types:
            entry: dict[str, Any] = {
                "resource": rt.plural,
                "responseKind": _response_kind(rt),
                "scope": "Namespaced" if rt.namespaced else "Cluster",
                "singularResource": rt.singular,
                "verbs": sorted(rt.verbs),
            }
            if rt.short_names:
                entry["shortNames"] = list(rt.short_names)
            if rt.categories:
                entry["categories"] = list(rt.categories)
            if rt.subresources:
                entry["subresources"] = [
                    {
                        "subresource": sub,
                        "responseKind": _subresource_kind(rt, sub),
                        "verbs": list(_SUBRESOURCE_VERBS),
                    }
                    for sub in rt.subresources
                ]
            resources.append(entry)
        return {"version": version, "resources": resources, "freshness": "Current"}


def _subresource_kind(rt: ResourceType, sub: str) -> dict[str, str]:
    if sub == "scale":
        return {"group": "autoscaling", "version": "v1", "kind": "Scale"}
    return _response_kind(rt)


def _response_kind(rt: ResourceType) -> dict[str, str]:
    """Built-ins report an empty group/version (installer.go ConvertGroupVersionIntoToDiscovery copies
    APIResource.Group/Version, set only when they differ from the served group version); CRDs report theirs
    (apiextensions-apiserver customresource_discovery_controller.go)."""
    if rt.is_custom:
        return {"group": rt.group, "version": rt.version, "kind": rt.kind}
    return {"group": "", "version": "", "kind": rt.kind}


def _api_resources(types: Iterable[ResourceType]) -> Iterable[dict[str, Any]]:
    for rt in types:
        entry: dict[str, Any] = {
            "name": rt.plural,
            "singularName": rt.singular,
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": sorted(rt.verbs),
        }
        if rt.short_names:
            entry["shortNames"] = list(rt.short_names)
        if rt.categories:
            entry["categories"] = list(rt.categories)
        if rt.is_custom:
            entry["storageVersionHash"] = _hash(f"{rt.group}/{rt.version}/{rt.kind}")
        yield entry
        for sub in rt.subresources:
            sub_kind = _subresource_kind(rt, sub)
            sub_entry: dict[str, Any] = {
                "name": f"{rt.plural}/{sub}",
                "singularName": "",
                "namespaced": rt.namespaced,
                "kind": sub_kind["kind"],
                "verbs": list(_SUBRESOURCE_VERBS),
            }
            if sub == "scale":
                sub_entry["group"] = "autoscaling"
                sub_entry["version"] = "v1"
            yield sub_entry


def _hash(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()[:8]).decode()


def _group(group: str, versions: list[str]) -> dict[str, Any]:
    gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": gvs, "preferredVersion": gvs[0]}


def _version_priority(version: str) -> tuple[int, int, int]:
    """Kubernetes version priority: GA > beta > alpha, higher numbers first (CompareKubeAwareVersionStrings)."""
    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not m:
        return (3, 0, 0)
    major = int(m.group(1))
    stage = {"": 0, None: 0, "beta": 1, "alpha": 2}[m.group(2)]
    minor = int(m.group(3) or 0)
    return (stage, -major, -minor)
