"""ObjectMeta, name and CRD validation, checked against kube-apiserver's exact causes.

Messages follow k8s.io/apimachinery/pkg/api/validation/objectmeta.go, pkg/util/validation,
pkg/api/validate/content and apiextensions-apiserver/pkg/apis/apiextensions/validation/validation.go.
"""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from smk8s.emulators.kube import errors
from smk8s.emulators.kube.errors import APIError, Cause
from smk8s.emulators.kube.validation import (
    NAME_SUFFIX_ALPHABET,
    MetaPolicy,
    apply_request_namespace,
    crd_schema_path,
    finalizer_warnings,
    generate_name,
    go_quote,
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_label_key,
    is_label_value,
    is_path_segment_name,
    meta_policy_for,
    schemas_required,
    validate_crd,
    validate_generate_name,
    validate_namespace_name,
    validate_object_meta,
)

SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
    "and "
    "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
DNS1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
    "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
    "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
KEY_NAME_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used "
    "for "
    "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
INVALID, REQUIRED, FORBIDDEN = errors.FIELD_INVALID, errors.FIELD_REQUIRED, errors.FIELD_FORBIDDEN


def test_the_brief_example_renders_like_kube_apiserver() -> None:
    causes = validate_object_meta({"metadata": {"name": "Foo_bar", "namespace": "default"}},
                                  namespaced=True, name_rule="subdomain", is_create=True)
    assert causes == [Cause(INVALID, f'Invalid value: "Foo_bar": {SUBDOMAIN_MSG}', "metadata.name")]
    status = errors.invalid("", "ConfigMap", "Foo_bar", causes).to_status()
    assert status["message"] == (
        f'ConfigMap "Foo_bar" is invalid: metadata.name: Invalid value: "Foo_bar": {SUBDOMAIN_MSG}'
    )
    assert status["details"]["causes"] == [
        {"reason": "FieldValueInvalid", "message": f'Invalid value: "Foo_bar": {SUBDOMAIN_MSG}',
         "field": "metadata.name"}
    ]


@pytest.mark.parametrize(("text", "quoted"), [
    ("plain", '"plain"'), ('a"b', '"a\\"b"'), ("a\\b", '"a\\\\b"'), ("tab\there", '"tab\\there"'),
    ("nul\x00", '"nul\\x00"'), ("héllo", '"héllo"'), ("\u200b", '"\\u200b"'),
])
def test_go_quote(text: str, quoted: str) -> None:
    assert go_quote(text) == quoted


# -- string formats ------------------------------------------------------------------------------------------

FORMAT_CASES: list[tuple[Any, str, list[str]]] = [
    (is_dns1123_label, "my-name", []),
    (is_dns1123_label, "a.b", ["must not contain dots"]),
    (is_dns1123_label, "-a", [LABEL_MSG]),
    (is_dns1123_label, "a" * 64, ["must be no more than 63 characters"]),
    (is_dns1123_subdomain, "example.com", []),
    (is_dns1123_subdomain, "Example.com", [SUBDOMAIN_MSG]),
    (is_dns1123_subdomain, "a" * 254, ["must be no more than 253 characters"]),
    (is_dns1123_subdomain, "A" * 254, ["must be no more than 253 characters", SUBDOMAIN_MSG]),
    (is_dns1035_label, "v1beta1", []),
    (is_dns1035_label, "1v", [DNS1035_MSG]),
    (is_label_key, "app", []),
    (is_label_key, "example.com/App_1", []),
    (is_label_key, "Foo_", [KEY_NAME_MSG]),
    (is_label_key, "", ["name part must be non-empty", KEY_NAME_MSG]),
    (is_label_key, "/a", ["prefix part must be non-empty"]),
    (is_label_key, "Ex.com/a", ["prefix part " + SUBDOMAIN_MSG]),
    (is_label_key, "a" * 64, ["name part must be no more than 63 bytes"]),
    (is_label_key, "p/" + "a" * 64, ["name part must be no more than 63 bytes"]),
    (is_label_key, "x" * 254 + "/a", ["prefix part must be no more than 253 bytes"]),
    (is_label_key, "a/b/c", [
        "a valid label key must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
        "with "
        "an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation "
        "is "
        "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' "
        "(e.g. 'example.com/MyName')"]),
    (is_label_value, "", []),
    (is_label_value, "My_value.1", []),
    (is_label_value, "-x", [LABEL_VALUE_MSG]),
    (is_label_value, "v" * 64, ["must be no more than 63 bytes"]),
    (is_path_segment_name, "system:controller:x", []),
    (is_path_segment_name, ".", ["may not be '.'"]),
    (is_path_segment_name, "..", ["may not be '..'"]),
    (is_path_segment_name, "a/b%c", ["may not contain '/'", "may not contain '%'"]),
]


@pytest.mark.parametrize(("check", "value", "expected"), FORMAT_CASES)
def test_string_formats(check: Any, value: str, expected: list[str]) -> None:
    assert check(value) == expected


def test_namespace_and_generate_name_helpers() -> None:
    assert validate_namespace_name("kube-system") == []
    assert validate_namespace_name("a.b") == ["must not contain dots"]
    assert validate_namespace_name("team-", prefix=True) == []  # a generateName prefix may end in '-'
    assert validate_generate_name("web-", "subdomain") == []
    assert validate_generate_name("Web-", "subdomain") == [
        Cause(INVALID, f'Invalid value: "Web-": {SUBDOMAIN_MSG}', "metadata.generateName")
    ]
    assert validate_generate_name("", "label") == []


# -- ObjectMeta on create ------------------------------------------------------------------------------------


def _meta(**fields: Any) -> dict[str, Any]:
    return {"metadata": {"name": "ok", "namespace": "default", **fields}}


def _create(obj: dict[str, Any], *, namespaced: bool = True, rule: str = "subdomain") -> list[Cause]:
    return validate_object_meta(obj, namespaced=namespaced, name_rule=rule, is_create=True)


CREATE_CASES: list[tuple[str, dict[str, Any], bool, str, list[Cause]]] = [
    ("valid", _meta(), True, "subdomain", []),
    ("name required", {"metadata": {"namespace": "default"}}, True, "subdomain",
     [Cause(REQUIRED, "Required value: name or generateName is required", "metadata.name")]),
    ("name too long", _meta(name="a" * 254), True, "subdomain",
     [Cause(INVALID, f'Invalid value: "{"a" * 254}": must be no more than 253 characters', "metadata.name")]),
    ("label rule: no dots", {"metadata": {"name": "a.b"}}, False, "label",
     [Cause(INVALID, 'Invalid value: "a.b": must not contain dots', "metadata.name")]),
    ("label rule: charset", {"metadata": {"name": "A"}}, False, "label",
     [Cause(INVALID, f'Invalid value: "A": {LABEL_MSG}', "metadata.name")]),
    ("path segment allows colons", {"metadata": {"name": "system:aggregate-to-edit"}}, False, "path_segment",
     []),
    ("path segment forbids slash", {"metadata": {"name": "a/b"}}, False, "path_segment",
     [Cause(INVALID, "Invalid value: \"a/b\": may not contain '/'", "metadata.name")]),
    ("generateName checked as a prefix", _meta(generateName="Bad-", name="Bad-abcde"), True, "subdomain",
     [Cause(INVALID, f'Invalid value: "Bad-": {SUBDOMAIN_MSG}', "metadata.generateName"),
      Cause(INVALID, f'Invalid value: "Bad-abcde": {SUBDOMAIN_MSG}', "metadata.name")]),
    ("namespace required", {"metadata": {"name": "ok"}}, True, "subdomain",
     [Cause(REQUIRED, "Required value", "metadata.namespace")]),
    ("namespace is a DNS label", _meta(namespace="a.b"), True, "subdomain",
     [Cause(INVALID, 'Invalid value: "a.b": must not contain dots', "metadata.namespace")]),
    ("namespace forbidden on cluster-scoped", _meta(), False, "subdomain",
     [Cause(FORBIDDEN, "Forbidden: not allowed on this type", "metadata.namespace")]),
    ("generation non-negative", _meta(generation=-1), True, "subdomain",
     [Cause(INVALID, "Invalid value: -1: must be greater than or equal to 0", "metadata.generation")]),
    ("label key", _meta(labels={"Foo_": "x"}), True, "subdomain",
     [Cause(INVALID, f'Invalid value: "Foo_": {KEY_NAME_MSG}', "metadata.labels")]),
    ("label value", _meta(labels={"a": "x y"}), True, "subdomain",
     [Cause(INVALID, f'Invalid value: "x y": {LABEL_VALUE_MSG}', "metadata.labels")]),
    ("label value length", _meta(labels={"a": "v" * 64}), True, "subdomain",
     [Cause(INVALID, f'Invalid value: "{"v" * 64}": must be no more than 63 bytes', "metadata.labels")]),
    ("annotation key", _meta(annotations={"a b": "x"}), True, "subdomain",
     [Cause(INVALID, f'Invalid value: "a b": {KEY_NAME_MSG}', "metadata.annotations")]),
    ("annotation keys are case-insensitive", _meta(annotations={"Example.COM/Key": "x"}), True, "subdomain",
     []),
    ("annotations at the size limit", _meta(annotations={"k": "v" * (262144 - 1)}), True, "subdomain", []),
    ("annotations over the size limit", _meta(annotations={"k": "v" * 262144}), True, "subdomain",
     [Cause(errors.FIELD_TOO_LONG, "Too long: may not be more than 262144 bytes", "metadata.annotations")]),
    ("finalizer name", _meta(finalizers=["a b"]), True, "subdomain",
     [Cause(INVALID, f'Invalid value: "a b": {KEY_NAME_MSG}', "metadata.finalizers")]),
    ("orphan with foregroundDeletion", _meta(finalizers=["orphan", "foregroundDeletion"]), True, "subdomain",
     [Cause(INVALID, 'Invalid value: ["orphan","foregroundDeletion"]: finalizer orphan and '
                     'foregroundDeletion '
                     "cannot be both set", "metadata.finalizers")]),
    ("managedFields operation", _meta(managedFields=[{"manager": "m", "operation": "Patch"}]), True,
     "subdomain", [Cause(INVALID, 'Invalid value: "Patch": must be `Apply` or `Update`',
                         "metadata.managedFields[0].operation")]),
]


@pytest.mark.parametrize(("obj", "namespaced", "rule", "expected"),
                         [c[1:] for c in CREATE_CASES], ids=[c[0] for c in CREATE_CASES])
def test_validate_object_meta_on_create(
    obj: dict[str, Any], namespaced: bool, rule: str, expected: list[Cause]
) -> None:
    assert _create(obj, namespaced=namespaced, rule=rule) == expected


OWNER = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d", "uid": "u1"}

OWNER_CASES: list[tuple[str, list[dict[str, Any]], list[Cause]]] = [
    ("valid", [OWNER, {**OWNER, "name": "e", "uid": "u2", "controller": True}], []),
    ("all fields required", [{}], [
        Cause(INVALID, 'Invalid value: "": version must not be empty', "metadata.ownerReferences.apiVersion"),
        Cause(INVALID, 'Invalid value: "": must not be empty', "metadata.ownerReferences.kind"),
        Cause(INVALID, 'Invalid value: "": must not be empty', "metadata.ownerReferences.name"),
        Cause(INVALID, 'Invalid value: "": must not be empty', "metadata.ownerReferences.uid"),
    ]),
    ("malformed apiVersion", [{**OWNER, "apiVersion": "a/b/c"}],
     [Cause(INVALID, 'Invalid value: "a/b/c": version must not be empty',
            "metadata.ownerReferences.apiVersion")]),
    ("core Event may not own", [{"apiVersion": "v1", "kind": "Event", "name": "e", "uid": "u"}],
     [Cause(INVALID, 'Invalid value: {"apiVersion":"v1","kind":"Event","name":"e","uid":"u"}: '
                     "/v1, Kind=Event is disallowed from being an owner", "metadata.ownerReferences")]),
    ("one controller", [{**OWNER, "controller": True}, {**OWNER, "name": "e", "controller": True}], [
        Cause(INVALID,
              'Invalid value: '
              '[{"apiVersion":"apps/v1","kind":"Deployment","name":"d","uid":"u1","controller":true},'
              '{"apiVersion":"apps/v1","kind":"Deployment","name":"e","uid":"u1","controller":true}]: '
              'Only one reference can have Controller set to true. Found "true" in references for '
              'Deployment/d '
              "and Deployment/e", "metadata.ownerReferences"),
    ]),
]


@pytest.mark.parametrize(("refs", "expected"), [c[1:] for c in OWNER_CASES], ids=[c[0] for c in OWNER_CASES])
def test_owner_references(refs: list[dict[str, Any]], expected: list[Cause]) -> None:
    assert _create(_meta(ownerReferences=refs)) == expected


# -- ObjectMeta on update ------------------------------------------------------------------------------------

OLD = {"metadata": {"name": "ok", "namespace": "default", "uid": "u1",
                    "creationTimestamp": "2024-01-01T00:00:00Z",
                    "generation": 2, "finalizers": ["example.com/a"], "resourceVersion": "5"}}


def _updated(**changes: Any) -> dict[str, Any]:
    new = copy.deepcopy(OLD)
    new["metadata"].update(changes)
    return new


def _update(new: dict[str, Any], old: dict[str, Any] = OLD, **kw: Any) -> list[Cause]:
    return validate_object_meta(new, namespaced=True, name_rule="subdomain", is_create=False, old=old, **kw)


UPDATE_CASES: list[tuple[str, dict[str, Any], list[Cause]]] = [
    ("unchanged", _updated(), []),
    ("name immutable", _updated(name="other"),
     [Cause(INVALID, 'Invalid value: "other": field is immutable', "metadata.name")]),
    ("namespace immutable", _updated(namespace="other"),
     [Cause(INVALID, 'Invalid value: "other": field is immutable', "metadata.namespace")]),
    ("uid immutable", _updated(uid="u2"),
     [Cause(INVALID, 'Invalid value: "u2": field is immutable', "metadata.uid")]),
    ("creationTimestamp immutable", _updated(creationTimestamp="2025-01-01T00:00:00Z"),
     [Cause(INVALID, 'Invalid value: "2025-01-01T00:00:00Z": field is immutable',
            "metadata.creationTimestamp")]),
    ("deletionTimestamp immutable", _updated(deletionTimestamp="2025-01-01T00:00:00Z"),
     [Cause(INVALID, 'Invalid value: "2025-01-01T00:00:00Z": field is immutable',
            "metadata.deletionTimestamp")]),
    ("generation not decremented", _updated(generation=1),
     [Cause(INVALID, "Invalid value: 1: must not be decremented", "metadata.generation")]),
    ("labels still validated", _updated(labels={"a": "-"}),
     [Cause(INVALID, f'Invalid value: "-": {LABEL_VALUE_MSG}', "metadata.labels")]),
    ("finalizer names not re-validated", _updated(finalizers=["a b"]), []),
]


@pytest.mark.parametrize(("new", "expected"), [c[1:] for c in UPDATE_CASES], ids=[c[0] for c in UPDATE_CASES])
def test_validate_object_meta_on_update(new: dict[str, Any], expected: list[Cause]) -> None:
    assert _update(new) == expected


def test_no_new_finalizers_once_deleting() -> None:
    old = _updated(deletionTimestamp="2025-01-01T00:00:00Z")
    new = copy.deepcopy(old)
    new["metadata"]["finalizers"] = ["example.com/a", "example.com/c", "example.com/b"]
    assert _update(new, old) == [Cause(
        FORBIDDEN, "Forbidden: no new finalizers can be added if the object is being deleted, found new "
                   "finalizers "
        '[]string{"example.com/b", "example.com/c"}', "metadata.finalizers")]
    new["metadata"]["finalizers"] = []
    assert _update(new, old) == []


def test_revalidate_on_update_adds_create_time_checks() -> None:
    bad_old = _updated(name="Bad_name")
    assert _update(copy.deepcopy(bad_old), bad_old) == []
    assert _update(copy.deepcopy(bad_old), bad_old, revalidate_on_update=True) == [
        Cause(INVALID, f'Invalid value: "Bad_name": {SUBDOMAIN_MSG}', "metadata.name")]
    assert _update(_updated(finalizers=["a b"]), revalidate_on_update=True) == [
        Cause(INVALID, f'Invalid value: "a b": {KEY_NAME_MSG}', "metadata.finalizers")]


META_POLICIES = [
    ("", "namespaces", False, MetaPolicy("label", False)),
    ("", "configmaps", False, MetaPolicy("subdomain", True)),
    ("", "secrets", False, MetaPolicy("subdomain", True)),
    ("", "serviceaccounts", False, MetaPolicy("subdomain", True)),
    ("", "events", False, None),  # core v1 Events skip ObjectMeta validation upstream
    ("events.k8s.io", "events", False, MetaPolicy("subdomain", False)),
    ("coordination.k8s.io", "leases", False, MetaPolicy("subdomain", False)),
    ("apiextensions.k8s.io", "customresourcedefinitions", False, MetaPolicy("subdomain", False)),
    ("rbac.authorization.k8s.io", "roles", False, MetaPolicy("path_segment", True)),
    ("rbac.authorization.k8s.io", "clusterroles", False, MetaPolicy("path_segment", True)),
    ("rbac.authorization.k8s.io", "rolebindings", False, MetaPolicy("path_segment", True)),
    ("rbac.authorization.k8s.io", "clusterrolebindings", False, MetaPolicy("path_segment", True)),
    ("example.com", "widgets", True, MetaPolicy("subdomain", False)),
]


@pytest.mark.parametrize(("group", "plural", "custom", "policy"), META_POLICIES)
def test_meta_policy_for(group: str, plural: str, custom: bool, policy: MetaPolicy | None) -> None:
    assert meta_policy_for(group, plural, is_custom=custom) == policy


# -- request namespace, name generation, warnings ------------------------------------------------------------


def test_apply_request_namespace() -> None:
    obj: dict[str, Any] = {"metadata": {"name": "a"}}
    apply_request_namespace(obj, "team", namespaced=True)
    assert obj["metadata"]["namespace"] == "team"
    apply_request_namespace(obj, "team", namespaced=True)
    with pytest.raises(APIError) as exc:
        apply_request_namespace(obj, "other", namespaced=True)
    assert (exc.value.code, exc.value.reason) == (400, "BadRequest")
    assert exc.value.message == (
        "the namespace of the provided object does not match the namespace sent on the request"
    )
    cluster: dict[str, Any] = {"metadata": {"name": "a", "namespace": "x"}}
    apply_request_namespace(cluster, "", namespaced=False)
    assert "namespace" not in cluster["metadata"]


def test_generate_name_appends_five_chars_from_upstream_alphabet() -> None:
    name = generate_name("web-", random.Random(7))
    assert name.startswith("web-") and len(name) == 9
    assert set(name[4:]) <= set(NAME_SUFFIX_ALPHABET)
    assert set(NAME_SUFFIX_ALPHABET) == set("bcdfghjklmnpqrstvwxz2456789")
    assert generate_name("web-", random.Random(7)) == name  # deterministic for a seeded generator
    long_name = generate_name("p" * 80, random.Random(1))
    assert len(long_name) == 63 and long_name[:58] == "p" * 58


def test_finalizer_warnings_for_unqualified_names() -> None:
    obj = {"metadata": {"finalizers": ["cleanup", "example.com/cleanup", "orphan", "a b"]}}
    assert finalizer_warnings(obj) == [
        'metadata.finalizers: "cleanup": prefer a domain-qualified finalizer name including a path (/) to '
        'avoid '
        "accidental conflicts with other finalizer writers"
    ]


# -- CustomResourceDefinitions -------------------------------------------------------------------------------

SCHEMA = {"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object"}}}}


def _crd(**spec_changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList",
                  "shortNames": ["wd"], "categories": ["all"]},
        "versions": [{"name": "v1", "served": True, "storage": True, "schema": copy.deepcopy(SCHEMA)}],
        "conversion": {"strategy": "None"},
    }
    spec.update(spec_changes)
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"}, "spec": spec}


def _with_version(**changes: Any) -> dict[str, Any]:
    crd = _crd()
    crd["spec"]["versions"][0].update(changes)
    return crd


def _names(**changes: Any) -> dict[str, Any]:
    crd = _crd()
    crd["spec"]["names"].update(changes)
    return crd


V1 = {"name": "v1", "served": True, "storage": True}
V2 = {"name": "v2", "served": True, "storage": False}

CRD_CASES: list[tuple[str, dict[str, Any], list[Cause]]] = [
    ("valid", _crd(), []),
    ("name must be plural.group", {**_crd(), "metadata": {"name": "widget.example.com"}},
     [Cause(INVALID, 'Invalid value: "widget.example.com": must be spec.names.plural+"."+spec.group',
            "metadata.name")]),
    ("group required", _crd(group=""), [
        Cause(INVALID, 'Invalid value: "widgets.example.com": must be spec.names.plural+"."+spec.group',
              "metadata.name"),
        Cause(REQUIRED, "Required value", "spec.group")]),
    ("group needs a dot", {**_crd(group="example"), "metadata": {"name": "widgets.example"}},
     [Cause(INVALID, 'Invalid value: "example": should be a domain with at least one dot', "spec.group")]),
    ("group is a subdomain", {**_crd(group="Ex.com"), "metadata": {"name": "widgets.Ex.com"}},
     [Cause(INVALID, f'Invalid value: "Ex.com": {SUBDOMAIN_MSG}', "spec.group")]),
    ("scope required", _crd(scope=""), [Cause(REQUIRED, "Required value", "spec.scope")]),
    ("scope enum", _crd(scope="Global"), [Cause(errors.FIELD_NOT_SUPPORTED,
                                                'Unsupported value: "Global": supported values: "Cluster", '
                                                '"Namespaced"', "spec.scope")]),
    ("version name DNS-1035", _with_version(name="1"),
     [Cause(INVALID, f'Invalid value: "1": {DNS1035_MSG}', "spec.versions[0].name")]),
    ("exactly one storage version", _crd(versions=[V1, {**V2, "storage": True}]),
     [Cause(INVALID, 'Invalid value: [{"name":"v1","served":true,"storage":true},'
                     '{"name":"v2","served":true,"storage":true}]: must have exactly one version marked as '
                     "storage version", "spec.versions")]),
    ("no versions", _crd(versions=[]),
     [Cause(INVALID, "Invalid value: []: must have exactly one version marked as storage version",
            "spec.versions")]),
    ("unique version names", _crd(versions=[V1, {**V1, "storage": False}]),
     [Cause(INVALID, 'Invalid value: [{"name":"v1","served":true,"storage":true},'
                     '{"name":"v1","served":true,"storage":false}]: must contain unique version names',
            "spec.versions")]),
    ("names required", _names(singular="", listKind="", kind=""), [
        Cause(REQUIRED, "Required value", "spec.names.singular"),
        Cause(REQUIRED, "Required value", "spec.names.kind"),
        Cause(REQUIRED, "Required value", "spec.names.listKind")]),
    ("plural DNS-1035", {**_names(plural="Widgets"), "metadata": {"name": "Widgets.example.com"}},
     [Cause(INVALID, f'Invalid value: "Widgets": {DNS1035_MSG}', "spec.names.plural")]),
    ("kind may be mixed case only", _names(kind="My_Kind"),
     [Cause(INVALID, f'Invalid value: "My_Kind": may have mixed case, but should otherwise match: '
                     f"{DNS1035_MSG}", "spec.names.kind")]),
    ("kind and listKind differ", _names(listKind="Widget"),
     [Cause(INVALID, 'Invalid value: "Widget": kind and listKind may not be the same',
            "spec.names.listKind")]),
    ("short names", _names(shortNames=["ok", "1x"]),
     [Cause(INVALID, f'Invalid value: "1x": {DNS1035_MSG}', "spec.names.shortNames[1]")]),
    ("categories", _names(categories=["A"]),
     [Cause(INVALID, f'Invalid value: "A": {DNS1035_MSG}', "spec.names.categories[0]")]),
    ("printer column (single version: lifted path)",
     _with_version(additionalPrinterColumns=[{"name": "", "type": "text", "format": "x",
                                              "jsonPath": "spec.a"}]), [
         Cause(REQUIRED, "Required value", "spec.additionalPrinterColumns[0].name"),
         Cause(INVALID, 'Invalid value: "text": must be one of boolean,date,integer,number,string',
               "spec.additionalPrinterColumns[0].type"),
         Cause(INVALID, 'Invalid value: "x": must be one of '
                        'byte,date,date-time,double,float,int32,int64,password',
               "spec.additionalPrinterColumns[0].format"),
         Cause(INVALID, 'Invalid value: "spec.a": must be a simple json path starting with .',
               "spec.additionalPrinterColumns[0].JSONPath")]),
    ("printer column type and jsonPath required", _with_version(additionalPrinterColumns=[{"name": "A"}]), [
        Cause(REQUIRED, "Required value: must be one of boolean,date,integer,number,string",
              "spec.additionalPrinterColumns[0].type"),
        Cause(REQUIRED, "Required value", "spec.additionalPrinterColumns[0].JSONPath")]),
    ("printer columns differing per version",
     _crd(versions=[V1, {**V2, "additionalPrinterColumns": [{"name": "A", "type": "str",
                                                             "jsonPath": ".a"}]}]),
     [Cause(INVALID, 'Invalid value: "str": must be one of boolean,date,integer,number,string',
            "spec.versions[1].additionalPrinterColumns[0].type")]),
    ("scale paths", _with_version(subresources={"scale": {"specReplicasPath": ".status.r",
                                                          "statusReplicasPath": "status.r",
                                                          "labelSelectorPath": ".metadata.x"}}), [
        Cause(INVALID, 'Invalid value: ".status.r": should be a json path under .spec',
              "spec.subresources.scale.specReplicasPath"),
        Cause(INVALID, 'Invalid value: "status.r": must be a simple json path starting with .',
              "spec.subresources.scale.statusReplicasPath"),
        Cause(INVALID, 'Invalid value: ".metadata.x": should be a json path under either .spec or .status',
              "spec.subresources.scale.labelSelectorPath")]),
    ("scale paths required", _with_version(subresources={"status": {}, "scale": {}}), [
        Cause(REQUIRED, "Required value", "spec.subresources.scale.specReplicasPath"),
        Cause(REQUIRED, "Required value", "spec.subresources.scale.statusReplicasPath")]),
    ("selectable fields", _with_version(selectableFields=[{"jsonPath": ".spec.a"}, {"jsonPath": ".spec.a"},
                                                         {"jsonPath": ".metadata.name"}, {}]), [
        Cause(errors.FIELD_DUPLICATE, 'Duplicate value: ".spec.a"', "spec.selectableFields[1].jsonPath"),
        Cause(INVALID, 'Invalid value: ".metadata.name": must not point to fields in metadata',
              "spec.selectableFields[2].jsonPath"),
        Cause(REQUIRED, "Required value", "spec.selectableFields[3].jsonPath")]),
    ("at most 8 selectable fields",
     _with_version(selectableFields=[{"jsonPath": f".spec.f{i}"} for i in range(9)]),
     [Cause(errors.FIELD_TOO_MANY, "Too many: 9: must have at most 8 items", "spec.selectableFields")]),
    ("deprecationWarning needs deprecated", _with_version(deprecationWarning="old"),
     [Cause(INVALID, 'Invalid value: "old": can only be set for deprecated versions',
            "spec.versions[0].deprecationWarning")]),
    ("deprecationWarning length", _with_version(deprecated=True, deprecationWarning="w" * 257),
     [Cause(INVALID, f'Invalid value: "{"w" * 257}": must be <= 256 characters long',
            "spec.versions[0].deprecationWarning")]),
    ("conversion strategy", _crd(conversion={"strategy": "Magic"}),
     [Cause(errors.FIELD_NOT_SUPPORTED, 'Unsupported value: "Magic": supported values: "None", "Webhook"',
            "spec.conversion.strategy")]),
    ("webhook conversion needs config", _crd(conversion={"strategy": "Webhook"}), [
        Cause(REQUIRED, "Required value: required when strategy is set to Webhook",
              "spec.conversion.webhookClientConfig"),
        Cause(REQUIRED, "Required value", "spec.conversion.conversionReviewVersions")]),
    ("webhook conversion review versions", _crd(conversion={"strategy": "Webhook", "webhook": {
        "clientConfig": {"url": "https://x.example.com/convert"},
        "conversionReviewVersions": ["v2", "v2"]}}), [
        Cause(INVALID, 'Invalid value: "v2": duplicate version',
              "spec.conversion.conversionReviewVersions[1]"),
        Cause(INVALID, 'Invalid value: ["v2","v2"]: must include at least one of v1, v1beta1',
              "spec.conversion.conversionReviewVersions")]),
    ("webhook config only with Webhook", _crd(conversion={"strategy": "None", "webhook": {
        "clientConfig": {"url": "https://x"}, "conversionReviewVersions": ["v1"]}}), [
        Cause(FORBIDDEN, "Forbidden: should not be set when strategy is not set to Webhook",
              "spec.conversion.webhookClientConfig"),
        Cause(FORBIDDEN, "Forbidden: should not be set when strategy is not set to Webhook",
              "spec.conversion.conversionReviewVersions")]),
    ("preserveUnknownFields true", _crd(preserveUnknownFields=True),
     [Cause(INVALID, "Invalid value: true: cannot set to true, set x-kubernetes-preserve-unknown-fields to "
                     "true in "
                     "spec.versions[*].schema instead", "spec.preserveUnknownFields")]),
    ("protected group needs approval",
     {**_crd(group="things.k8s.io"), "metadata": {"name": "widgets.things.k8s.io"}},
     [Cause(REQUIRED, 'Required value: protected groups must have approval annotation '
                      '"api-approved.kubernetes.io", '
                      "see https://github.com/kubernetes/enhancements/pull/1111",
            "metadata.annotations[api-approved.kubernetes.io]")]),
    ("protected group approval value", {**_crd(group="things.k8s.io"), "metadata": {
        "name": "widgets.things.k8s.io", "annotations": {"api-approved.kubernetes.io": "yes"}}},
     [Cause(INVALID, 'Invalid value: "yes": protected groups must have approval annotation '
                     '"api-approved.kubernetes.io" with either a URL or a reason starting with "unapproved", '
                     "see https://github.com/kubernetes/enhancements/pull/1111",
            "metadata.annotations[api-approved.kubernetes.io]")]),
    ("protected group approved by URL", {**_crd(group="x.k8s.io"), "metadata": {
        "name": "widgets.x.k8s.io",
        "annotations": {"api-approved.kubernetes.io": "https://github.com/k/e/pull/1"}}},
     []),
    ("protected group bypass", {**_crd(group="x.kubernetes.io"), "metadata": {
        "name": "widgets.x.kubernetes.io", "annotations": {"api-approved.kubernetes.io": "unapproved, "
                                                                                         "testing"}}},
     []),
    ("accepted names validated", {**_crd(), "status": {"acceptedNames": {"plural": "Bad", "kind": "Widget"}}},
     [Cause(INVALID, f'Invalid value: "Bad": {DNS1035_MSG}', "status.acceptedNames.plural")]),
    ("stored versions must exist", {**_crd(), "status": {"storedVersions": ["v1", "v0"]}}, [
        Cause(INVALID, 'Invalid value: "v0": missing from spec.versions; v0 was previously a storage '
                       'version, and '
                       "must remain in spec.versions until a storage migration ensures no data remains "
                       "persisted "
                       "in v0 and removes v0 from status.storedVersions", "status.storedVersions[1]")]),
    ("stored versions include storage", {**_crd(), "status": {"storedVersions": []}},
     [Cause(INVALID, "Invalid value: []: must have at least one stored version", "status.storedVersions")]),
    ("stored versions list the storage version",
     {**_crd(versions=[V1, V2]), "status": {"storedVersions": ["v2"]}},
     [Cause(INVALID, 'Invalid value: ["v2"]: must have the storage version v1', "status.storedVersions")]),
]


@pytest.mark.parametrize(("crd", "expected"), [c[1:] for c in CRD_CASES], ids=[c[0] for c in CRD_CASES])
def test_validate_crd_on_create(crd: dict[str, Any], expected: list[Cause]) -> None:
    assert validate_crd(crd, None) == expected


def test_crd_generate_name_also_gets_the_plural_group_message() -> None:
    crd = _crd()
    crd["metadata"] = {"generateName": "widgets-", "name": "widgets.example.com"}
    assert validate_crd(crd, None) == [
        Cause(INVALID, 'Invalid value: "widgets-": must be spec.names.plural+"."+spec.group',
              "metadata.generateName")]


def _established(crd: dict[str, Any]) -> dict[str, Any]:
    return {**crd, "status": {"conditions": [{"type": "Established", "status": "True"}]}}


CRD_UPDATE_CASES: list[tuple[str, dict[str, Any], dict[str, Any], list[Cause]]] = [
    ("unchanged", _crd(), _crd(), []),
    ("group immutable", {**_crd(group="other.com")}, _crd(),
     [Cause(INVALID, 'Invalid value: "other.com": field is immutable', "spec.group")]),
    ("plural immutable", _names(plural="gadgets"), _crd(),
     [Cause(INVALID, 'Invalid value: "gadgets": field is immutable', "spec.names.plural")]),
    ("scope and kind mutable before Established", _names(kind="Gadget", listKind="GadgetList"), _crd(), []),
    ("scope immutable once Established", _crd(scope="Cluster"), _established(_crd()),
     [Cause(INVALID, 'Invalid value: "Cluster": field is immutable', "spec.scope")]),
    ("kind immutable once Established", _names(kind="Gadget", listKind="GadgetList"), _established(_crd()),
     [Cause(INVALID, 'Invalid value: "Gadget": field is immutable', "spec.names.kind")]),
    ("name not re-checked on update", {**_crd(), "metadata": {"name": "x"}}, _crd(), []),
    ("preserveUnknownFields stays allowed",
     _crd(preserveUnknownFields=True), _crd(preserveUnknownFields=True), []),
    ("approval unchanged is accepted",
     {**_crd(group="a.k8s.io"), "metadata": {"name": "widgets.a.k8s.io"}},
     {**_crd(group="a.k8s.io"), "metadata": {"name": "widgets.a.k8s.io"}}, []),
]


@pytest.mark.parametrize(("new", "old", "expected"), [c[1:] for c in CRD_UPDATE_CASES],
                         ids=[c[0] for c in CRD_UPDATE_CASES])
def test_validate_crd_on_update(new: dict[str, Any], old: dict[str, Any], expected: list[Cause]) -> None:
    assert validate_crd(new, old) == expected


def test_crd_schema_path_follows_lifting() -> None:
    assert crd_schema_path(_crd(), 0) == "spec.validation.openAPIV3Schema"
    same = _crd(versions=[{**V1, "schema": SCHEMA}, {**V2, "schema": SCHEMA}])
    assert crd_schema_path(same, 1) == "spec.validation.openAPIV3Schema"
    other_schema = {"openAPIV3Schema": {"type": "object"}}
    different = _crd(versions=[{**V1, "schema": SCHEMA}, {**V2, "schema": other_schema}])
    assert crd_schema_path(different, 1) == "spec.versions[1].schema.openAPIV3Schema"


def test_schemas_required() -> None:
    missing = _crd(versions=[V1, {**V2, "schema": SCHEMA}])
    assert schemas_required(missing, None) == [
        Cause(REQUIRED, "Required value: schemas are required", "spec.versions[0].schema.openAPIV3Schema")]
    assert schemas_required(_crd(), None) == []
    assert schemas_required(missing, missing) == []  # not tightened for objects persisted without schemas
    assert len(schemas_required(missing, _crd())) == 1
