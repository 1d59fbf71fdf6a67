"""The resource types the emulated API server serves: built-ins, and those CRDs add at run time.

A :class:`ResourceType` is one (group, version, resource) as discovery lists it. Objects are stored per
(group, resource), whatever version they are read or written through (CRD conversion strategy ``None``: only
``apiVersion`` differs), so :attr:`ResourceType.storage` is the storage key: its own group/resource, or, for a
resource another API group also serves (``events.k8s.io`` Events are core Events), that one's
(:mod:`~smk8s.emulators.kube.conversion`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STANDARD_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
CREATE_ONLY_VERBS = ("create",)


@dataclass(frozen=True)
class ResourceType:
    """One served group/version/resource with what discovery says of it.

    ``schema`` is the structural ``openAPIV3Schema`` of a CRD version (``None`` for built-ins, whose shape the
    server does not validate beyond metadata). ``printer_columns`` are a CRD's ``additionalPrinterColumns``.
    """

    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = STANDARD_VERBS
    subresources: tuple[str, ...] = ()
    schema: dict[str, Any] | None = None
    printer_columns: tuple[dict[str, Any], ...] = ()
    preserve_unknown_fields: bool = False
    is_custom: bool = False
    storage_version: str = ""
    selectable_fields: tuple[str, ...] = field(default=())
    stored_as: tuple[str, str] | None = None

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> str:
        return self.api_version

    @property
    def group_resource(self) -> tuple[str, str]:
        return (self.group, self.plural)

    @property
    def storage(self) -> tuple[str, str]:
        """Where its objects are stored: ``stored_as``, else its own group/resource."""
        return self.stored_as or (self.group, self.plural)

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def qualified(self) -> str:
        """``resource.group`` as kube-apiserver names a resource in messages (``leases.coordination.k8s.io``)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources


def _rt(group: str, version: str, plural: str, kind: str, namespaced: bool, **kw: Any) -> ResourceType:
    singular = kw.pop("singular", kind.lower())
    return ResourceType(group, version, plural, singular, kind, namespaced, **kw)


def builtin_resources() -> list[ResourceType]:
    """The built-in resources kube-apiserver serves that the operator (or its tests) touch."""
    return [
        _rt(
            "",
            "v1",
            "namespaces",
            "Namespace",
            False,
            short_names=("ns",),
            subresources=("status",),
            verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
        ),
        _rt("", "v1", "events", "Event", True, short_names=("ev",)),
        _rt("", "v1", "configmaps", "ConfigMap", True, short_names=("cm",)),
        _rt("", "v1", "secrets", "Secret", True),
        _rt("", "v1", "serviceaccounts", "ServiceAccount", True, short_names=("sa",)),
        # Stored and served (an installer applies them), never run: no pods, no endpoints, status stays as written.
        _rt("", "v1", "services", "Service", True, short_names=("svc",), categories=("all",),
            subresources=("status",)),
        _rt("apps", "v1", "deployments", "Deployment", True, short_names=("deploy",), categories=("all",),
            subresources=("status",)),
        _rt("events.k8s.io", "v1", "events", "Event", True, short_names=("ev",), stored_as=("", "events")),
        _rt("coordination.k8s.io", "v1", "leases", "Lease", True),
        _rt(
            "apiextensions.k8s.io",
            "v1",
            "customresourcedefinitions",
            "CustomResourceDefinition",
            False,
            short_names=("crd", "crds"),
            categories=("api-extensions",),
            subresources=("status",),
        ),
        _rt("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
        _rt("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
        _rt("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
        _rt("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
        _rt("authentication.k8s.io", "v1", "tokenreviews", "TokenReview", False, verbs=CREATE_ONLY_VERBS),
        _rt(
            "authentication.k8s.io",
            "v1",
            "selfsubjectreviews",
            "SelfSubjectReview",
            False,
            verbs=CREATE_ONLY_VERBS,
        ),
        _rt(
            "authorization.k8s.io",
            "v1",
            "subjectaccessreviews",
            "SubjectAccessReview",
            False,
            verbs=CREATE_ONLY_VERBS,
        ),
        _rt(
            "authorization.k8s.io",
            "v1",
            "selfsubjectaccessreviews",
            "SelfSubjectAccessReview",
            False,
            verbs=CREATE_ONLY_VERBS,
        ),
        _rt(
            "authorization.k8s.io",
            "v1",
            "selfsubjectrulesreviews",
            "SelfSubjectRulesReview",
            False,
            verbs=CREATE_ONLY_VERBS,
        ),
        _rt(
            "authorization.k8s.io",
            "v1",
            "localsubjectaccessreviews",
            "LocalSubjectAccessReview",
            True,
            verbs=CREATE_ONLY_VERBS,
        ),
    ]


def resource_types_from_crd(crd: dict[str, Any]) -> list[ResourceType]:
    """The served versions of an ``apiextensions.k8s.io/v1`` CustomResourceDefinition as resource types."""
    spec = crd.get("spec", {})
    names = spec.get("names", {})
    group = spec.get("group", "")
    namespaced = spec.get("scope", "Namespaced") == "Namespaced"
    storage = next((v["name"] for v in spec.get("versions", []) if v.get("storage")), "")
    out = []
    for v in spec.get("versions", []):
        if not v.get("served", True):
            continue
        subres = v.get("subresources") or {}
        schema = (v.get("schema") or {}).get("openAPIV3Schema")
        out.append(
            ResourceType(
                group=group,
                version=v["name"],
                plural=names.get("plural", ""),
                singular=names.get("singular") or names.get("kind", "").lower(),
                kind=names.get("kind", ""),
                namespaced=namespaced,
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                subresources=tuple(s for s in ("status", "scale") if s in subres),
                schema=schema,
                printer_columns=tuple(v.get("additionalPrinterColumns") or ()),
                preserve_unknown_fields=bool(spec.get("preserveUnknownFields")),
                is_custom=True,
                storage_version=storage,
                selectable_fields=tuple(f["jsonPath"] for f in v.get("selectableFields") or ()),
            )
        )
    return out
