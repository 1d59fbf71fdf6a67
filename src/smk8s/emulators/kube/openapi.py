"""The ``/openapi/v2`` and ``/openapi/v3`` documents of the emulated API server.

Built from the resource types the server currently serves, complete enough for kubectl:

* ``kubectl explain`` (k8s.io/kubectl/pkg/explain/v2) fetches ``/openapi/v3``, then the document of the
  group-version, finds the GVK on an operation of ``/apis/<g>/<v>[/namespaces/{namespace}]/<plural>[/{name}]``
  and the schema in ``components.schemas`` whose ``x-kubernetes-group-version-kind`` list holds that GVK.
* Server-side field validation (k8s.io/cli-runtime/pkg/resource/query_param_verifier_v3.go): kubectl looks,
  in the GV document, for a ``patch`` operation carrying that GVK (a single map, not a list) and a
  ``fieldValidation`` entry among the *operation's* ``parameters``.
* Client-side apply (k8s.io/kubectl/pkg/cmd/apply/patcher.go): a strategic merge patch is computed from the
  v3 schema when the GVK's ``patch`` operation accepts ``application/strategic-merge-patch+json`` (built-ins
  only; custom resources get JSON merge patches), using the ``x-kubernetes-patch-*`` extensions.

Schemas of built-in kinds are generated from the model classes of ``kubernetes_asyncio`` (``openapi_types``,
``attribute_map``, property docstrings, required-ness from the setters) and named as upstream names them
(``io.k8s.api.core.v1.ConfigMap``). CRD schemas follow k8s.io/apiextensions-apiserver's
``controller/openapi/builder``: ``metadata`` becomes a reference to ObjectMeta, ``apiVersion``/``kind`` are
described, the GVK extension is added, definitions are named with the reversed group
(``ai.amazon.aws.sagemaker.v1.TrainingJob``); for v2 the schema goes through ``ToStructuralOpenAPIV2`` and its
defaults are pruned.

All functions are pure; the built-in catalogue is computed once per process (``functools.cache``).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import kubernetes_asyncio.client.models as k8s_models

from smk8s.emulators.kube.resources import ResourceType, builtin_resources

Schema = dict[str, Any]

V3_REF_PREFIX = "#/components/schemas/"
V2_REF_PREFIX = "#/definitions/"
GVK_EXTENSION = "x-kubernetes-group-version-kind"

META = "io.k8s.apimachinery.pkg.apis.meta.v1"
OBJECT_META = f"{META}.ObjectMeta"
LIST_META = f"{META}.ListMeta"
STATUS = f"{META}.Status"
DELETE_OPTIONS = f"{META}.DeleteOptions"
PATCH = f"{META}.Patch"
WATCH_EVENT = f"{META}.WatchEvent"
_APIEXTENSIONS = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1"
_RAW_EXTENSION = "io.k8s.apimachinery.pkg.runtime.RawExtension"
_INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"

# Model classes of k8s.io/apimachinery/pkg/apis/meta/v1 and of core/v1 that other groups reference; every
# other unprefixed model class belongs to the package of the kind that references it.
_META_MODELS = frozenset({
    "V1ObjectMeta", "V1ListMeta", "V1ManagedFieldsEntry", "V1OwnerReference", "V1LabelSelector",
    "V1LabelSelectorRequirement", "V1FieldSelectorRequirement", "V1Status", "V1StatusDetails",
    "V1StatusCause", "V1DeleteOptions", "V1Preconditions", "V1WatchEvent", "V1APIResourceList",
    "V1APIResource", "V1Condition",
    "V1ShardInfo", "V1APIGroup", "V1APIGroupList", "V1APIVersions", "V1GroupVersionForDiscovery",
    "V1ServerAddressByClientCIDR",
})
_CORE_MODELS = frozenset(
    {"V1ObjectReference", "V1LocalObjectReference", "V1TypedLocalObjectReference", "V1EventSource"}
)
_PREFIX_PACKAGES = {
    "Core": "io.k8s.api.core",
    "Events": "io.k8s.api.events",
    "Rbac": "io.k8s.api.rbac",
    "Apiextensions": "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions",
    "Admissionregistration": "io.k8s.api.admissionregistration",
    "Storage": "io.k8s.api.storage",
    "Discovery": "io.k8s.api.discovery",
    "Flowcontrol": "io.k8s.api.flowcontrol",
    "Authentication": "io.k8s.api.authentication",
    "Resource": "io.k8s.api.resource",
    "Networking": "io.k8s.api.networking",
    "Apiregistration": "io.k8s.kube-aggregator.pkg.apis.apiregistration",
}
_MODEL_NAME = re.compile(r"^([A-Z][a-z]+)?(V\d+(?:alpha\d+|beta\d+)?)([A-Z]\w*)$")

# Fields kubernetes_asyncio types as ``object`` whose upstream schema is a named definition.
_OBJECT_FIELD_DEFINITIONS = {
    ("V1ManagedFieldsEntry", "fields_v1"): f"{META}.FieldsV1",
    ("V1WatchEvent", "object"): _RAW_EXTENSION,
    ("V1JSONSchemaProps", "default"): f"{_APIEXTENSIONS}.JSON",
    ("V1JSONSchemaProps", "example"): f"{_APIEXTENSIONS}.JSON",
    ("V1JSONSchemaProps", "enum"): f"{_APIEXTENSIONS}.JSON",
    ("V1JSONSchemaProps", "additional_properties"): f"{_APIEXTENSIONS}.JSONSchemaPropsOrBool",
    ("V1JSONSchemaProps", "additional_items"): f"{_APIEXTENSIONS}.JSONSchemaPropsOrBool",
    ("V1JSONSchemaProps", "items"): f"{_APIEXTENSIONS}.JSONSchemaPropsOrArray",
    ("V1JSONSchemaProps", "dependencies"): f"{_APIEXTENSIONS}.JSONSchemaPropsOrStringArray",
    ("V1CustomResourceSubresources", "status"): f"{_APIEXTENSIONS}.CustomResourceSubresourceStatus",
    ("V1ServicePort", "target_port"): _INT_OR_STRING,
    ("V1HTTPGetAction", "port"): _INT_OR_STRING,
    ("V1TCPSocketAction", "port"): _INT_OR_STRING,
    ("V1NetworkPolicyPort", "port"): _INT_OR_STRING,
    ("V1RollingUpdateDeployment", "max_surge"): _INT_OR_STRING,
    ("V1RollingUpdateDeployment", "max_unavailable"): _INT_OR_STRING,
    ("V1PodDisruptionBudgetSpec", "min_available"): _INT_OR_STRING,
    ("V1PodDisruptionBudgetSpec", "max_unavailable"): _INT_OR_STRING,
}
_BYTE_FIELDS = frozenset({("V1Secret", "data"), ("V1ConfigMap", "binary_data")})

_ATOMIC_LIST = MappingProxyType({"x-kubernetes-list-type": "atomic"})


def _map_list(key: str, patch: bool = True) -> Mapping[str, Any]:
    ext: dict[str, Any] = {"x-kubernetes-list-map-keys": [key], "x-kubernetes-list-type": "map"}
    if patch:
        ext |= {"x-kubernetes-patch-merge-key": key, "x-kubernetes-patch-strategy": "merge"}
    return MappingProxyType(ext)


# Strategic-merge and list-type markers upstream's Go types carry (keyed by model class and JSON field).
_FIELD_EXTENSIONS: Mapping[tuple[str, str], Mapping[str, Any]] = MappingProxyType({
    ("V1ObjectMeta", "finalizers"): {"x-kubernetes-list-type": "set", "x-kubernetes-patch-strategy": "merge"},
    ("V1ObjectMeta", "ownerReferences"): _map_list("uid"),
    ("V1ObjectMeta", "managedFields"): _ATOMIC_LIST,
    ("V1NamespaceSpec", "finalizers"): _ATOMIC_LIST,
    ("V1NamespaceStatus", "conditions"): _map_list("type"),
    ("V1ServiceAccount", "secrets"): _map_list("name"),
    ("V1ServiceAccount", "imagePullSecrets"): _ATOMIC_LIST,
    ("V1Role", "rules"): _ATOMIC_LIST,
    ("V1ClusterRole", "rules"): _ATOMIC_LIST,
    ("V1AggregationRule", "clusterRoleSelectors"): _ATOMIC_LIST,
    ("V1RoleBinding", "subjects"): _ATOMIC_LIST,
    ("V1ClusterRoleBinding", "subjects"): _ATOMIC_LIST,
    ("V1PolicyRule", "apiGroups"): _ATOMIC_LIST,
    ("V1PolicyRule", "nonResourceURLs"): _ATOMIC_LIST,
    ("V1PolicyRule", "resourceNames"): _ATOMIC_LIST,
    ("V1PolicyRule", "resources"): _ATOMIC_LIST,
    ("V1PolicyRule", "verbs"): _ATOMIC_LIST,
    ("V1LabelSelector", "matchExpressions"): _ATOMIC_LIST,
    ("V1LabelSelectorRequirement", "values"): _ATOMIC_LIST,
    ("V1StatusDetails", "causes"): _ATOMIC_LIST,
    ("V1CustomResourceDefinitionSpec", "versions"): _ATOMIC_LIST,
    ("V1CustomResourceDefinitionStatus", "conditions"): _map_list("type", patch=False),
    ("V1CustomResourceDefinitionStatus", "storedVersions"): _ATOMIC_LIST,
    ("V1CustomResourceDefinitionNames", "categories"): _ATOMIC_LIST,
    ("V1CustomResourceDefinitionNames", "shortNames"): _ATOMIC_LIST,
    ("V1CustomResourceDefinitionVersion", "additionalPrinterColumns"): _ATOMIC_LIST,
    ("V1CustomResourceDefinitionVersion", "selectableFields"): _ATOMIC_LIST,
})
_MODEL_EXTENSIONS: Mapping[str, Mapping[str, Any]] = MappingProxyType({
    name: {"x-kubernetes-map-type": "atomic"}
    for name in ("V1OwnerReference", "V1ObjectReference", "V1LocalObjectReference", "V1LabelSelector",
                 "V1RoleRef")
})

# Descriptions of the served top-level kinds (kubernetes_asyncio model classes carry no type docs).
_KIND_DESCRIPTIONS = MappingProxyType({
    "Namespace": "Namespace provides a scope for Names. Use of multiple namespaces is optional.",
    "Event": "Event is a report of an event somewhere in the cluster.",
    "ConfigMap": "ConfigMap holds configuration data for pods to consume.",
    "Secret": "Secret holds secret data of a certain type. The total bytes of the values in the Data field "
              "must be less than MaxSecretSize bytes.",
    "ServiceAccount": "ServiceAccount binds together: * a name, understood by users, and perhaps by "
                      "peripheral systems, for an identity * a principal that can be authenticated and "
                      "authorized * a set of secrets",
    "Lease": "Lease defines a lease concept.",
    "CustomResourceDefinition": "CustomResourceDefinition represents a resource that should be exposed on "
                                "the API server.  Its name MUST be in the format "
                                "<.spec.name>.<.spec.group>.",
    "Role": "Role is a namespaced, logical grouping of PolicyRules that can be referenced as a unit by a "
            "RoleBinding.",
    "ClusterRole": "ClusterRole is a cluster level, logical grouping of PolicyRules that can be referenced "
                   "as a unit by a RoleBinding or ClusterRoleBinding.",
    "RoleBinding": "RoleBinding references a role, but does not contain it.  It can reference a Role in the "
                   "same namespace or a ClusterRole in the global namespace.",
    "ClusterRoleBinding": "ClusterRoleBinding references a ClusterRole, but not contain it.  It can "
                          "reference a ClusterRole in the global namespace, and adds who information via "
                          "Subject.",
    "TokenReview": "TokenReview attempts to authenticate a token to a known user.",
    "SelfSubjectReview": "SelfSubjectReview contains the user information that the kube-apiserver has about "
                         "the user making this request.",
    "SubjectAccessReview": "SubjectAccessReview checks whether or not a user or group can perform an action.",
    "SelfSubjectAccessReview": "SelfSubjectAccessReview checks whether or the current user can perform an "
                               "action.",
    "SelfSubjectRulesReview": "SelfSubjectRulesReview enumerates the set of actions the current user can "
                              "perform within a namespace.",
    "LocalSubjectAccessReview": "LocalSubjectAccessReview checks whether or not a user or group can perform "
                                "an action in a given namespace.",
    "ObjectMeta": "ObjectMeta is metadata that all persisted resources must have, which includes all objects "
                  "users must create.",
    "ListMeta": "ListMeta describes metadata that synthetic resources must have, including lists and various "
                "status objects.",
    "Status": "Status is a return value for calls that don't return other objects.",
    "DeleteOptions": "DeleteOptions may be provided when deleting an API object.",
    "WatchEvent": "Event represents a single event to a watched resource.",
})

# Small meta definitions kubernetes_asyncio has no model class for.
_HAND_DEFINITIONS: Mapping[str, Schema] = MappingProxyType({
    PATCH: {"description": "Patch is provided to give a concrete name and type to the Kubernetes PATCH "
                           "request body.", "type": "object"},
    f"{META}.FieldsV1": {"description": "FieldsV1 stores a set of fields in a data structure like a Trie, in "
                                        "JSON format.", "type": "object"},
    _RAW_EXTENSION: {"description": "RawExtension is used to hold extensions in external versions.",
                     "type": "object"},
    _INT_OR_STRING: {"description": "IntOrString is a type that can hold an int32 or a string.",
                     "format": "int-or-string", "type": "string"},
    f"{_APIEXTENSIONS}.JSON": {"description": "JSON represents any valid JSON value."},
    f"{_APIEXTENSIONS}.JSONSchemaPropsOrBool": {"description": "JSONSchemaPropsOrBool represents "
                                                               "JSONSchemaProps or a boolean value."},
    f"{_APIEXTENSIONS}.JSONSchemaPropsOrArray": {"description": "JSONSchemaPropsOrArray represents a value "
                                                                "that can either be a JSONSchemaProps or an "
                                                                "array of JSONSchemaProps."},
    f"{_APIEXTENSIONS}.JSONSchemaPropsOrStringArray": {
        "description": "JSONSchemaPropsOrStringArray represents a JSONSchemaProps or a string array."},
    f"{_APIEXTENSIONS}.CustomResourceSubresourceStatus": {
        "description": "CustomResourceSubresourceStatus defines how to serve the status subresource for "
                       "CustomResources.", "type": "object"},
})


# ---------------------------------------------------------------------------------------------------------
# Naming


def group_version_path(group: str, version: str) -> str:
    """The v3 index key of a group-version: ``api/v1`` or ``apis/<group>/<version>``."""
    return f"apis/{group}/{version}" if group else f"api/{version}"


def reversed_group(group: str) -> str:
    """``sagemaker.aws.amazon.ai`` -> ``ai.amazon.aws.sagemaker`` (kube-openapi's ``ToRESTFriendlyName``)."""
    return ".".join(reversed(group.split(".")))


def _builtin_package(group: str) -> str:
    if not group:
        return "io.k8s.api.core"
    if group == "apiextensions.k8s.io":
        return "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions"
    if group == "apiregistration.k8s.io":
        return "io.k8s.kube-aggregator.pkg.apis.apiregistration"
    return f"io.k8s.api.{group.split('.')[0]}"


def definition_name(rt: ResourceType, kind: str | None = None) -> str:
    """Upstream definition name of ``kind`` (default ``rt.kind``) in ``rt``'s group-version."""
    kind = kind or rt.kind
    if rt.is_custom:
        return f"{reversed_group(rt.group)}.{rt.version}.{kind}" if rt.group else f"{rt.version}.{kind}"
    return f"{_builtin_package(rt.group)}.{rt.version}.{kind}"


def _gvk(group: str, version: str, kind: str) -> dict[str, str]:
    return {"group": group, "kind": kind, "version": version}


# ---------------------------------------------------------------------------------------------------------
# Built-in schemas from kubernetes_asyncio models


def _model_class(name: str) -> Any:
    return getattr(k8s_models, name, None)


def _model_for_kind(group: str, version: str, kind: str) -> str | None:
    """The kubernetes_asyncio class of a kind: group-prefixed where names collide (``CoreV1Event``)."""
    prefix = "".join(part.title() for part in (group.split(".")[0] if group else "core").split("-"))
    version_part = version[:1].upper() + version[1:]
    for candidate in (f"{prefix}{version_part}{kind}", f"{version_part}{kind}"):
        if _model_class(candidate) is not None:
            return candidate
    return None


def _docstring_description(doc: str | None) -> str:
    """The field description in a kubernetes_asyncio property docstring (between summary and ``:return:``)."""
    if not doc:
        return ""
    paragraphs = [p.strip() for p in doc.split("\n\n")]
    body = [p for p in paragraphs[1:] if p and not p.startswith(":")]
    return " ".join(body).replace("  # noqa: E501", "").strip()


def field_description(model: str, attribute: str) -> str:
    """Upstream description of ``model``'s Python ``attribute`` (``("V1ObjectMeta", "name")``), or ``""``."""
    prop = getattr(_model_class(model), attribute, None)
    return _docstring_description(getattr(prop, "__doc__", None)) if isinstance(prop, property) else ""


_OBJECT_METADATA_DESCRIPTION = (
    "Standard object's metadata. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
_LIST_METADATA_DESCRIPTION = (
    "Standard list metadata. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)


def _fallback_description(json_name: str, schema: Schema) -> str:
    """kubernetes_asyncio drops the descriptions of fields that reference a type; restore ``metadata``'s."""
    if json_name != "metadata":
        return ""
    ref = str(schema.get("$ref", ""))
    if ref.endswith(".ObjectMeta"):
        return _OBJECT_METADATA_DESCRIPTION
    return _LIST_METADATA_DESCRIPTION if ref.endswith(".ListMeta") else ""


def _is_required(cls: Any, attribute: str) -> bool:
    """kubernetes_asyncio setters of required fields reject ``None`` with a fixed message."""
    prop = getattr(cls, attribute, None)
    setter = getattr(prop, "fset", None)
    code = getattr(setter, "__code__", None)
    marker = f"Invalid value for `{attribute}`, must not be `None`"
    return code is not None and any(isinstance(c, str) and c == marker for c in code.co_consts)


@dataclass(frozen=True)
class _Catalog:
    """Built-in definitions (v3 references) and the definition name of each built-in GVK."""

    schemas: Mapping[str, Schema]
    by_gvk: Mapping[tuple[str, str, str], str]


class _CatalogBuilder:
    def __init__(self) -> None:
        self.schemas: dict[str, Schema] = dict(copy.deepcopy(dict(_HAND_DEFINITIONS)))
        self.names: dict[str, str] = {}  # model class -> definition name
        self.pending: list[str] = []

    def name_of(self, model: str, package_hint: str) -> str:
        """Definition name for a model class, queueing it for schema generation on first sight."""
        if model in self.names:
            return self.names[model]
        match = _MODEL_NAME.match(model)
        if not match:
            raise ValueError(f"unexpected model class name {model}")
        prefix, version, short = match.groups()
        if model in _META_MODELS:
            package = "io.k8s.apimachinery.pkg.apis.meta"
        elif model in _CORE_MODELS:
            package = "io.k8s.api.core"
        elif prefix:
            package = _PREFIX_PACKAGES.get(prefix, f"io.k8s.api.{prefix.lower()}")
        else:
            package = package_hint
        name = f"{package}.{version.lower()}.{short}"
        self.names[model] = name
        self.pending.append(model)
        return name

    def build(self) -> None:
        while self.pending:
            model = self.pending.pop()
            name = self.names[model]
            self.schemas[name] = self._model_schema(model, name.rsplit(".", 2)[0])

    def _model_schema(self, model: str, package: str) -> Schema:
        cls = _model_class(model)
        properties: dict[str, Schema] = {}
        required: list[str] = []
        for attribute, type_text in cls.openapi_types.items():
            json_name = cls.attribute_map[attribute]
            prop = self._type_schema(type_text, model, attribute, package)
            description = field_description(model, attribute) or _fallback_description(json_name, prop)
            if description:
                prop["description"] = description
            prop.update(_FIELD_EXTENSIONS.get((model, json_name), {}))
            properties[json_name] = dict(sorted(prop.items()))
            if _is_required(cls, attribute):
                required.append(json_name)
        schema: Schema = {"properties": dict(sorted(properties.items())), "type": "object"}
        short = _MODEL_NAME.match(model).group(3)  # type: ignore[union-attr]
        if short in _KIND_DESCRIPTIONS:
            schema["description"] = _KIND_DESCRIPTIONS[short]
        if required:
            schema["required"] = required
        schema.update(_MODEL_EXTENSIONS.get(model, {}))
        return dict(sorted(schema.items()))

    def _type_schema(self, type_text: str, model: str, attribute: str, package: str) -> Schema:
        if type_text.startswith("list["):
            return {"items": self._type_schema(type_text[5:-1], model, attribute, package), "type": "array"}
        if type_text.startswith("dict("):
            value_type = type_text[5:-1].split(",", 1)[1].strip()
            return {"additionalProperties": self._type_schema(value_type, model, attribute, package),
                    "type": "object"}
        if type_text == "str":
            if (model, attribute) in _BYTE_FIELDS:
                return {"format": "byte", "type": "string"}
            return {"type": "string"}
        primitive = {"int": {"type": "integer"}, "float": {"format": "double", "type": "number"},
                     "bool": {"type": "boolean"}, "datetime": {"format": "date-time", "type": "string"},
                     "date": {"format": "date", "type": "string"}}
        if type_text in primitive:
            return dict(primitive[type_text])
        if type_text == "object":
            target = _OBJECT_FIELD_DEFINITIONS.get((model, attribute))
            if target:
                return {"$ref": V3_REF_PREFIX + target}
            return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        return {"$ref": V3_REF_PREFIX + self.name_of(type_text, package)}


_SHARED_META_MODELS = ("V1Status", "V1DeleteOptions", "V1WatchEvent", "V1ListMeta", "V1ObjectMeta")


@functools.cache
def _builtin_catalog() -> _Catalog:
    """Definitions of every built-in kind the server serves (and what they reference), computed once."""
    builder = _CatalogBuilder()
    by_gvk: dict[tuple[str, str, str], str] = {}
    types = builtin_resources()
    for rt in types:
        for kind in (rt.kind, rt.list_kind):
            model = _model_for_kind(rt.group, rt.version, kind)
            if model is not None:
                by_gvk[(rt.group, rt.version, kind)] = builder.name_of(model, _builtin_package(rt.group))
    for model in _SHARED_META_MODELS:
        builder.name_of(model, "io.k8s.apimachinery.pkg.apis.meta")
    builder.build()
    for (group, version, kind), name in by_gvk.items():
        builder.schemas[name][GVK_EXTENSION] = [_gvk(group, version, kind)]
    group_versions = sorted({(rt.group, rt.version) for rt in types})
    for name, kind in ((STATUS, "Status"), (DELETE_OPTIONS, "DeleteOptions"), (WATCH_EVENT, "WatchEvent")):
        gv_list = [("", "v1")] if kind == "Status" else group_versions
        builder.schemas[name][GVK_EXTENSION] = [_gvk(g, v, kind) for g, v in gv_list]
    # Shared across calls: never handed out directly, only as deep copies (see _closure).
    return _Catalog(MappingProxyType(dict(sorted(builder.schemas.items()))), MappingProxyType(by_gvk))


def _refs(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str):
                yield item.rsplit("/", 1)[-1]
            else:
                yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


def _closure(roots: Iterable[str], schemas: Mapping[str, Schema]) -> dict[str, Schema]:
    """The named definitions and every definition they reference, transitively (deep copies)."""
    out: dict[str, Schema] = {}
    stack = list(roots)
    while stack:
        name = stack.pop()
        if name in out or name not in schemas:
            continue
        out[name] = copy.deepcopy(schemas[name])
        stack.extend(_refs(out[name]))
    return dict(sorted(out.items()))


# ---------------------------------------------------------------------------------------------------------
# CRD schemas (apiextensions-apiserver controller/openapi/builder)


def _type_meta_property(field: str) -> Schema:
    attribute = "api_version" if field == "apiVersion" else "kind"
    return {"description": field_description("V1ConfigMap", attribute), "type": "string"}


def _metadata_property() -> Schema:
    return {"$ref": V3_REF_PREFIX + OBJECT_META, "description": _OBJECT_METADATA_DESCRIPTION}


def _unfold(schema: Schema) -> Schema:
    """Structural ``Unfold``: ``x-kubernetes-int-or-string`` alone gets ``anyOf: [int, string]``."""
    out = {key: value for key, value in schema.items()}
    if out.get("x-kubernetes-int-or-string") and "anyOf" not in out and "allOf" not in out:
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if isinstance(out.get("properties"), dict):
        out["properties"] = {k: _unfold(v) for k, v in out["properties"].items()}
    if isinstance(out.get("items"), dict):
        out["items"] = _unfold(out["items"])
    if isinstance(out.get("additionalProperties"), dict):
        out["additionalProperties"] = _unfold(out["additionalProperties"])
    return out


def _add_embedded_properties(schema: Schema, v2: bool) -> Schema:
    """``x-kubernetes-embedded-resource`` objects get apiVersion/kind/metadata (not in v2 when unknown fields
    are preserved, which would make kubectl reject the unknown fields)."""
    out = dict(schema)
    if isinstance(out.get("properties"), dict):
        out["properties"] = {k: _add_embedded_properties(v, v2) for k, v in out["properties"].items()}
    if isinstance(out.get("items"), dict):
        out["items"] = _add_embedded_properties(out["items"], v2)
    if isinstance(out.get("additionalProperties"), dict):
        out["additionalProperties"] = _add_embedded_properties(out["additionalProperties"], v2)
    if v2 and out.get("x-kubernetes-preserve-unknown-fields"):
        return out
    if out.get("x-kubernetes-embedded-resource"):
        properties = dict(out.get("properties") or {})
        properties["apiVersion"] = _type_meta_property("apiVersion")
        properties["kind"] = _type_meta_property("kind")
        properties["metadata"] = _metadata_property()
        out["properties"] = properties
        required = list(out.get("required") or [])
        out["required"] = required + [f for f in ("kind", "apiVersion") if f not in required]
    return out


def _to_structural_v2(schema: Schema) -> Schema:
    """apiextensions ``ToStructuralOpenAPIV2``: drop what OpenAPI v2 (and kubectl's v2 reader) cannot take."""
    out = {k: v for k, v in schema.items() if k not in ("allOf", "oneOf", "anyOf", "not")}
    if out.pop("nullable", False):
        out.pop("type", None)
        out.pop("items", None)
        out.pop("properties", None)
    if out.get("x-kubernetes-preserve-unknown-fields"):
        out.pop("items", None)
        out.pop("properties", None)
    if "items" not in out and out.get("type") == "array":
        out.pop("type")
    if out.get("x-kubernetes-preserve-unknown-fields") and out.get("type") == "object":
        out.pop("type")
    properties = out.get("properties")
    if isinstance(properties, dict):
        nullable = {name for name, p in properties.items() if isinstance(p, dict) and p.get("nullable")}
        if nullable and "required" in out:
            out["required"] = [r for r in out["required"] if r not in nullable]
            if not out["required"]:
                del out["required"]
        out["properties"] = {k: _to_structural_v2(v) for k, v in properties.items()}
    additional = out.get("additionalProperties")
    if isinstance(additional, dict):
        if additional.get("nullable"):
            out.pop("required", None)
        out["additionalProperties"] = _to_structural_v2(additional)
    if isinstance(out.get("items"), dict):
        out["items"] = _to_structural_v2(out["items"])
    return out


def _prune_defaults(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _prune_defaults(v) for k, v in schema.items() if k != "default"}
    if isinstance(schema, list):
        return [_prune_defaults(item) for item in schema]
    return schema


def crd_schema(rt: ResourceType, *, v2: bool = False) -> Schema:
    """The published schema of a custom resource kind (v3 references; see :func:`_to_v2_refs` for v2)."""
    source = rt.schema
    gvk = [_gvk(rt.group, rt.version, rt.kind)]
    if source is None or (v2 and (source.get("x-kubernetes-preserve-unknown-fields")
                                  or rt.preserve_unknown_fields)):
        return {"type": "object", GVK_EXTENSION: gvk}
    schema = _unfold(copy.deepcopy(source))
    if v2:
        schema = _prune_defaults(_to_structural_v2(schema))
    properties = dict(schema.get("properties") or {})
    properties["metadata"] = _metadata_property()
    properties["apiVersion"] = _type_meta_property("apiVersion")
    properties["kind"] = _type_meta_property("kind")
    schema["properties"] = dict(sorted(properties.items()))
    schema = _add_embedded_properties(schema, v2)
    schema[GVK_EXTENSION] = gvk
    return schema


def crd_list_schema(rt: ResourceType) -> Schema:
    """The ``<Kind>List`` schema the CRD builder publishes next to the kind."""
    return {
        "description": f"{rt.list_kind} is a list of {rt.kind}",
        "properties": {
            "apiVersion": _type_meta_property("apiVersion"),
            "items": {"description": f"List of {rt.plural}. More info: "
                                     "https://git.k8s.io/community/contributors/devel/sig-architecture/"
                                     "api-conventions.md",
                      "items": {"$ref": V3_REF_PREFIX + definition_name(rt)}, "type": "array"},
            "kind": _type_meta_property("kind"),
            "metadata": {"$ref": V3_REF_PREFIX + LIST_META, "description": _LIST_METADATA_DESCRIPTION},
        },
        "required": ["items"],
        "type": "object",
        GVK_EXTENSION: [_gvk(rt.group, rt.version, rt.list_kind)],
    }


def _kind_definitions(rt: ResourceType, *, v2: bool) -> tuple[dict[str, Schema], list[str]]:
    """Definitions this resource type adds, and the root names its paths reference."""
    if rt.is_custom:
        kind_name, list_name = definition_name(rt), definition_name(rt, rt.list_kind)
        return {kind_name: crd_schema(rt, v2=v2), list_name: crd_list_schema(rt)}, [kind_name, list_name]
    catalog = _builtin_catalog()
    keys = ((rt.group, rt.version, rt.kind), (rt.group, rt.version, rt.list_kind))
    return {}, [catalog.by_gvk[key] for key in keys if key in catalog.by_gvk]


# ---------------------------------------------------------------------------------------------------------
# Paths and operations


_QUERY_PARAMETERS: Mapping[str, tuple[str, str]] = MappingProxyType({
    "allowWatchBookmarks": ("boolean", "allowWatchBookmarks requests watch events with type \"BOOKMARK\"."),
    "continue": ("string", "The continue token returned by a previous, limited list call."),
    "dryRun": ("string", "When present, indicates that modifications should not be persisted. Valid values "
                         "are: - All: all dry run stages will be processed"),
    "fieldManager": ("string", "fieldManager is a name associated with the actor or entity that is making "
                               "these changes."),
    "fieldSelector": ("string", "A selector to restrict the list of returned objects by their fields."),
    "fieldValidation": ("string", "fieldValidation instructs the server on how to handle objects in the "
                                  "request containing unknown or duplicate fields. Valid values are: - "
                                  "Ignore - Warn - Strict"),
    "force": ("boolean", "Force is going to \"force\" Apply requests, re-acquiring conflicting fields."),
    "gracePeriodSeconds": ("integer", "The duration in seconds before the object should be deleted."),
    "labelSelector": ("string", "A selector to restrict the list of returned objects by their labels."),
    "limit": ("integer", "limit is a maximum number of responses to return for a list call."),
    "orphanDependents": ("boolean", "Deprecated: please use the PropagationPolicy."),
    "pretty": ("string", "If 'true', then the output is pretty printed."),
    "propagationPolicy": ("string", "Whether and how garbage collection will be performed: 'Orphan', "
                                    "'Background' or 'Foreground'."),
    "resourceVersion": ("string", "resourceVersion sets a constraint on what resource versions a request "
                                  "may be served from."),
    "resourceVersionMatch": ("string", "resourceVersionMatch determines how resourceVersion is applied to "
                                       "list calls."),
    "sendInitialEvents": ("boolean", "`sendInitialEvents=true` may be set together with `watch=true`."),
    "timeoutSeconds": ("integer", "Timeout for the list/watch call."),
    "watch": ("boolean", "Watch for changes to the described resources and return them as a stream of add, "
                         "update, and remove notifications."),
})
_LIST_PARAMS = ("allowWatchBookmarks", "continue", "fieldSelector", "labelSelector", "limit",
                "resourceVersion", "resourceVersionMatch", "sendInitialEvents", "timeoutSeconds", "watch")
_WRITE_PARAMS = ("dryRun", "fieldManager", "fieldValidation")
_PATCH_PARAMS = ("dryRun", "fieldManager", "fieldValidation", "force")
_DELETE_PARAMS = ("dryRun", "gracePeriodSeconds", "orphanDependents", "propagationPolicy")
_DELETECOLLECTION_PARAMS = ("continue", "dryRun", "fieldSelector", "gracePeriodSeconds", "labelSelector",
                            "limit", "orphanDependents", "propagationPolicy", "resourceVersion",
                            "resourceVersionMatch", "sendInitialEvents", "timeoutSeconds")
_BUILTIN_PATCH_TYPES = ("application/apply-patch+yaml", "application/json-patch+json",
                        "application/merge-patch+json", "application/strategic-merge-patch+json")
_CUSTOM_PATCH_TYPES = ("application/apply-patch+yaml", "application/json-patch+json",
                       "application/merge-patch+json")
_PRODUCES = ("application/json", "application/yaml")
_WATCH_PRODUCES = ("application/json", "application/yaml", "application/json;stream=watch")


@dataclass(frozen=True)
class _Operation:
    method: str  # get/post/put/patch/delete
    action: str  # x-kubernetes-action
    operation_id: str
    description: str
    query: tuple[str, ...]
    body: str | None  # definition name of the request body
    response: str  # definition name
    codes: tuple[str, ...]


@dataclass(frozen=True)
class _PathItem:
    path: str
    path_params: tuple[tuple[str, str], ...]  # (name, description)
    operations: tuple[_Operation, ...]


def _operation_id_part(text: str, capitalize: bool) -> str:
    """kube-openapi ``ToValidOperationID``: drop non-letters, capitalising the letter after each."""
    out = []
    upper = capitalize
    for index, char in enumerate(text):
        if char.isalpha() or char == "_" or (index and char.isdigit()):
            out.append(char.upper() if upper else char)
            upper = False
        else:
            upper = True
    return "".join(out)


def _group_id(rt: ResourceType) -> tuple[str, str]:
    """(operation-id infix, tag) as apiserver's ``GetOperationIDAndTags`` derives them."""
    group = (rt.group or "core").removesuffix(".k8s.io")
    infix = _operation_id_part(group, True) + _operation_id_part(rt.version, True)
    return infix, f"{_operation_id_part(group, False)}_{_operation_id_part(rt.version, False)}"


def _article(kind: str) -> str:
    return "an" if kind[:1].lower() in "aeiou" else "a"


def _path_items(rt: ResourceType, kind_def: str, list_def: str | None) -> list[_PathItem]:
    """The REST paths of one resource type and their operations, filtered by its verbs."""
    prefix = f"/apis/{rt.group}/{rt.version}" if rt.group else f"/api/{rt.version}"
    infix, _tag = _group_id(rt)
    scope = "Namespaced" if rt.namespaced else ""
    collection = f"{prefix}/{rt.plural}"
    if rt.namespaced:
        collection = f"{prefix}/namespaces/{{namespace}}/{rt.plural}"
    verbs = set(rt.verbs)
    kind = rt.kind
    namespace_param = (("namespace", "object name and auth scope, such as for teams and projects"),)
    base_params = namespace_param if rt.namespaced else ()
    name_param = (("name", f"name of the {kind}"),)
    items: list[_PathItem] = []

    def op(method: str, action: str, verb: str, rest: str, description: str, query: tuple[str, ...],
           body: str | None, response: str, codes: tuple[str, ...] = ("200",)) -> _Operation:
        return _Operation(method, action, f"{verb}{infix}{rest}", description, query, body, response, codes)

    list_response = list_def or kind_def
    collection_ops: list[_Operation] = []
    if "list" in verbs:
        collection_ops.append(op("get", "list", "list", f"{scope}{kind}",
                                 f"list or watch objects of kind {kind}", _LIST_PARAMS, None, list_response))
    if "create" in verbs:
        collection_ops.append(op("post", "post", "create", f"{scope}{kind}",
                                 f"create {_article(kind)} {kind}", _WRITE_PARAMS, kind_def, kind_def,
                                 ("200", "201", "202")))
    if "deletecollection" in verbs:
        collection_ops.append(op("delete", "deletecollection", "delete", f"Collection{scope}{kind}",
                                 f"delete collection of {kind}", _DELETECOLLECTION_PARAMS, DELETE_OPTIONS,
                                 STATUS))
    if collection_ops:
        items.append(_PathItem(collection, base_params, tuple(collection_ops)))
    if rt.namespaced and "list" in verbs:
        items.append(_PathItem(f"{prefix}/{rt.plural}", (), (
            op("get", "list", "list", f"{kind}ForAllNamespaces", f"list or watch objects of kind {kind}",
               _LIST_PARAMS, None, list_response),)))

    for sub in ("", "status") if rt.has_status else ("",):
        title = sub.title()
        of = f"{sub} of " if sub else ""
        object_ops: list[_Operation] = []
        if "get" in verbs:
            object_ops.append(op("get", "get", "read", f"{scope}{kind}{title}",
                                 f"read {of}the specified {kind}", (), None, kind_def))
        if "update" in verbs:
            object_ops.append(op("put", "put", "replace", f"{scope}{kind}{title}",
                                 f"replace {of}the specified {kind}", _WRITE_PARAMS, kind_def, kind_def,
                                 ("200", "201")))
        if "patch" in verbs:
            object_ops.append(op("patch", "patch", "patch", f"{scope}{kind}{title}",
                                 f"partially update {of}the specified {kind}", _PATCH_PARAMS, PATCH, kind_def,
                                 ("200", "201")))
        if "delete" in verbs and not sub:
            object_ops.append(op("delete", "delete", "delete", f"{scope}{kind}",
                                 f"delete {_article(kind)} {kind}", _DELETE_PARAMS, DELETE_OPTIONS, STATUS,
                                 ("200", "202")))
        if object_ops:
            path = f"{collection}/{{name}}" + (f"/{sub}" if sub else "")
            items.append(_PathItem(path, name_param + base_params, tuple(object_ops)))

    if "watch" in verbs and not rt.is_custom:
        watch_prefix = f"{prefix}/watch"
        watch_collection = (f"{watch_prefix}/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced
                            else f"{watch_prefix}/{rt.plural}")
        deprecated = "deprecated: use the 'watch' parameter with a list operation instead"
        items.append(_PathItem(watch_collection, base_params, (
            op("get", "watchlist", "watch", f"{scope}{kind}List",
               f"watch individual changes to a list of {kind}. {deprecated}.", (), None, WATCH_EVENT),)))
        items.append(_PathItem(f"{watch_collection}/{{name}}", name_param + base_params, (
            op("get", "watch", "watch", f"{scope}{kind}",
               f"watch changes to an object of kind {kind}. {deprecated}, filtered to a single item with the "
               "'fieldSelector' parameter.", (), None, WATCH_EVENT),)))
        if rt.namespaced:
            items.append(_PathItem(f"{watch_prefix}/{rt.plural}", (), (
                op("get", "watchlist", "watch", f"{kind}ListForAllNamespaces",
                   f"watch individual changes to a list of {kind}. {deprecated}.", (), None, WATCH_EVENT),)))
    return items


def _v3_parameter(name: str, location: str = "query", description: str | None = None) -> Schema:
    type_, default_description = _QUERY_PARAMETERS.get(name, ("string", ""))
    param: Schema = {"description": description or default_description, "in": location, "name": name,
                     "schema": {"type": type_, "uniqueItems": True}}
    if location == "path":
        param["required"] = True
    return param


def _v2_parameter(name: str, location: str = "query", description: str | None = None) -> Schema:
    type_, default_description = _QUERY_PARAMETERS.get(name, ("string", ""))
    param: Schema = {"description": description or default_description, "in": location, "name": name,
                     "type": type_, "uniqueItems": True}
    if location == "path":
        param["required"] = True
    return param


def _render_path_item(item: _PathItem, rt: ResourceType, *, v2: bool) -> Schema:
    ref_prefix = V2_REF_PREFIX if v2 else V3_REF_PREFIX
    make_param: Callable[..., Schema] = _v2_parameter if v2 else _v3_parameter
    _infix, tag = _group_id(rt)
    out: Schema = {"parameters": [make_param(name, "path", desc) for name, desc in item.path_params]
                   + [make_param("pretty")]}
    for operation in item.operations:
        produces = _WATCH_PRODUCES if operation.action in ("list", "watch", "watchlist") else _PRODUCES
        rendered: Schema = {
            "description": operation.description,
            "operationId": operation.operation_id,
            "tags": [tag],
            "x-kubernetes-action": operation.action,
            GVK_EXTENSION: _gvk(rt.group, rt.version, rt.kind),
        }
        params = [make_param(name) for name in operation.query]
        body_required = operation.method in ("post", "put", "patch")
        body_ref = {"$ref": ref_prefix + operation.body} if operation.body else None
        response_ref = {"$ref": ref_prefix + operation.response}
        codes_text = {"200": "OK", "201": "Created", "202": "Accepted"}
        if v2:
            if body_ref:
                body_param: Schema = {"in": "body", "name": "body", "schema": body_ref}
                if body_required:
                    body_param["required"] = True
                params.insert(0, body_param)
            rendered["consumes"] = list(_patch_types(rt) if operation.method == "patch" else ("*/*",))
            rendered["produces"] = list(produces)
            rendered["schemes"] = ["https"]
            rendered["responses"] = {code: {"description": codes_text[code], "schema": response_ref}
                                     for code in operation.codes} | {"401": {"description": "Unauthorized"}}
        else:
            if body_ref:
                content_types = _patch_types(rt) if operation.method == "patch" else ("*/*",)
                body: Schema = {"content": {ct: {"schema": body_ref} for ct in content_types}}
                if body_required:
                    body["required"] = True
                rendered["requestBody"] = body
            rendered["responses"] = {
                code: {"content": {ct: {"schema": response_ref} for ct in produces},
                       "description": codes_text[code]}
                for code in operation.codes
            } | {"401": {"description": "Unauthorized"}}
        if params:
            rendered["parameters"] = params
        out[operation.method] = dict(sorted(rendered.items()))
    return out


def _patch_types(rt: ResourceType) -> tuple[str, ...]:
    return _CUSTOM_PATCH_TYPES if rt.is_custom else _BUILTIN_PATCH_TYPES


def _paths_of(rt: ResourceType, *, v2: bool) -> dict[str, Schema]:
    _defs, roots = _kind_definitions(rt, v2=v2)
    if not roots:
        return {}
    list_def = roots[1] if len(roots) > 1 else None
    return {item.path: _render_path_item(item, rt, v2=v2) for item in _path_items(rt, roots[0], list_def)}


# ---------------------------------------------------------------------------------------------------------
# Documents


def _to_v2_refs(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (v.replace(V3_REF_PREFIX, V2_REF_PREFIX) if k == "$ref" and isinstance(v, str)
                    else _to_v2_refs(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_v2_refs(item) for item in value]
    return value


def _definitions_for(types: Iterable[ResourceType], *, v2: bool, everything: bool) -> dict[str, Schema]:
    catalog = _builtin_catalog()
    pool: dict[str, Schema] = dict(catalog.schemas)
    roots: list[str] = [STATUS, DELETE_OPTIONS, PATCH, WATCH_EVENT]
    for rt in types:
        extra, rt_roots = _kind_definitions(rt, v2=v2)
        pool.update(extra)
        roots.extend(rt_roots)
    if everything:
        roots.extend(pool)
    return _closure(roots, pool)


def openapi_v2(types: list[ResourceType]) -> dict[str, Any]:
    """The swagger 2.0 document of ``/openapi/v2``: all definitions and paths of the served types."""
    paths: dict[str, Schema] = {}
    for rt in types:
        paths.update(_paths_of(rt, v2=True))
    definitions = _definitions_for(types, v2=True, everything=True)
    return {
        "definitions": _to_v2_refs(definitions),
        "info": {"title": "Kubernetes", "version": "v1.37.0"},
        "paths": dict(sorted(paths.items())),
        "security": [{"BearerToken": []}],
        "securityDefinitions": {"BearerToken": {"description": "Bearer Token authentication", "in": "header",
                                                "name": "authorization", "type": "apiKey"}},
        "swagger": "2.0",
    }


def openapi_v3_document(types: list[ResourceType], gv_path: str) -> dict[str, Any] | None:
    """The OpenAPI 3.0 document of one group-version (``api/v1``, ``apis/<g>/<v>``), or ``None`` if no
    served type belongs to it. Holds the GV's paths and the schemas they reference, transitively."""
    selected = [rt for rt in types if group_version_path(rt.group, rt.version) == gv_path]
    if not selected:
        return None
    paths: dict[str, Schema] = {}
    for rt in selected:
        paths.update(_paths_of(rt, v2=False))
    return {
        "components": {
            "schemas": _definitions_for(selected, v2=False, everything=False),
            "securitySchemes": {"BearerToken": {"description": "Bearer Token authentication", "in": "header",
                                                "name": "authorization", "type": "apiKey"}},
        },
        "info": {"title": "Kubernetes", "version": "v1.37.0"},
        "openapi": "3.0.0",
        "paths": dict(sorted(paths.items())),
        "security": [{"BearerToken": []}],
    }


def document_hash(document: Mapping[str, Any]) -> str:
    """Content hash of a document as the v3 index publishes it (sha512, upper-case hex)."""
    encoded = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha512(encoded).hexdigest().upper()


def openapi_v3_index(types: list[ResourceType]) -> dict[str, Any]:
    """The ``/openapi/v3`` index: each served group-version with a ``serverRelativeURL`` carrying the hash of
    its current document, so clients' caches change exactly when the document does."""
    paths: dict[str, Any] = {}
    for gv_path in sorted({group_version_path(rt.group, rt.version) for rt in types}):
        document = openapi_v3_document(types, gv_path)
        assert document is not None
        paths[gv_path] = {"serverRelativeURL": f"/openapi/v3/{gv_path}?hash={document_hash(document)}"}
    return {"paths": paths}
