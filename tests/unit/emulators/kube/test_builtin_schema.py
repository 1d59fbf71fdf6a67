"""Typed decoding of built-in kinds (smk8s.emulators.kube.builtin_schema).

Message forms follow sigs.k8s.io/json (encoding/json's ``UnmarshalTypeError``: innermost struct, JSON field path
from the root, Go type) and test/integration/apiserver/field_validation_test.go for unknown-field paths.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from smk8s.emulators.kube import builtin_schema, errors
from smk8s.emulators.kube.builtin_schema import GO_TYPE, decode_errors, resolved_schema, unknown_fields
from smk8s.emulators.kube.resources import ResourceType, builtin_resources

TYPES = {(rt.group, rt.kind): rt for rt in builtin_resources()}
CONFIGMAP = TYPES[("", "ConfigMap")]
SECRET = TYPES[("", "Secret")]
LEASE = TYPES[("coordination.k8s.io", "Lease")]
ROLEBINDING = TYPES[("rbac.authorization.k8s.io", "RoleBinding")]
CRD = TYPES[("apiextensions.k8s.io", "CustomResourceDefinition")]
EVENT = TYPES[("", "Event")]


def test_resolved_schema_inlines_references_and_names_go_structs() -> None:
    s = resolved_schema(CONFIGMAP)
    assert s[GO_TYPE] == "v1.ConfigMap"
    meta = s["properties"]["metadata"]
    assert "$ref" not in meta and meta[GO_TYPE] == "v1.ObjectMeta"
    assert meta["properties"]["managedFields"]["items"][GO_TYPE] == "v1.ManagedFieldsEntry"
    assert s["properties"]["data"]["additionalProperties"] == {"type": "string"}
    assert resolved_schema(CONFIGMAP) is s  # cached per kind


def test_recursive_definitions_stay_lazy_references() -> None:
    props = resolved_schema(CRD)["properties"]["spec"]["properties"]["versions"]["items"]["properties"]
    json_schema = props["schema"]["properties"]["openAPIV3Schema"]
    assert json_schema[GO_TYPE] == "v1.JSONSchemaProps"
    nested = json_schema["properties"]["properties"]["additionalProperties"]
    assert nested == {"$ref": "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps"}


@pytest.mark.parametrize("rt", builtin_resources(), ids=lambda rt: f"{rt.group or 'core'}/{rt.kind}")
def test_every_builtin_kind_resolves_to_a_struct(rt: ResourceType) -> None:
    s = resolved_schema(rt)
    assert s[GO_TYPE].endswith(f".{rt.kind}") and {"apiVersion", "kind", "metadata"} <= set(s["properties"])


def test_unknown_fields_are_removed_and_reported_in_document_order() -> None:
    obj: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "dataa": {"x": "1"},
        "metadata": {"name": "cfg", "colour": "red", "labels": {"any": "key"}},
        "data": {"free": "keys"},
    }
    assert unknown_fields(obj, CONFIGMAP) == ["dataa", "metadata.colour"]
    assert obj == {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "labels": {"any": "key"}},
                   "data": {"free": "keys"}}
    assert unknown_fields(obj, CONFIGMAP) == []


def test_nested_unknown_fields_carry_list_indices_and_map_keys() -> None:
    binding = {"subjects": [{"kind": "User", "name": "a"}, {"kind": "User", "name": "b", "bogus": 1}],
               "roleRef": {"kind": "Role", "name": "r", "extra": True}}
    assert unknown_fields(binding, ROLEBINDING) == ["subjects[1].bogus", "roleRef.extra"]
    crd = {"spec": {"versions": [{"name": "v1", "schema": {"openAPIV3Schema": {
        "type": "object", "properties": {"spec": {"type": "object", "typo": 1}}}}}]}}
    assert unknown_fields(crd, CRD) == ["spec.versions[0].schema.openAPIV3Schema.properties.spec.typo"]


def test_known_fields_of_builtins_are_kept() -> None:
    secret = {"metadata": {"name": "s"}, "stringData": {"a": "b"}, "type": "Opaque", "immutable": False}
    lease = {"metadata": {"name": "l"}, "spec": {"holderIdentity": "me", "leaseDurationSeconds": 15,
                                                 "renewTime": "2024-01-01T00:00:00.000000Z"}}
    binding = {"metadata": {"name": "rb", "managedFields": [{"manager": "m", "fieldsV1": {"f:anything": {}}}]},
               "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "ns"}],
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"}}
    for obj, rt in ((secret, SECRET), (lease, LEASE), (binding, ROLEBINDING)):
        before = copy.deepcopy(obj)
        assert unknown_fields(obj, rt) == [] and obj == before
        assert decode_errors(obj, rt) is None


@pytest.mark.parametrize(
    ("rt", "obj", "message"),
    [
        (CONFIGMAP, {"data": 5}, "json: cannot unmarshal number into Go struct field ConfigMap.data of type "
                                 "map[string]string"),
        (CONFIGMAP, {"data": {"a": True}}, "json: cannot unmarshal bool into Go struct field ConfigMap.data of "
                                           "type string"),
        (CONFIGMAP, {"metadata": {"labels": {"n": 1}}}, "json: cannot unmarshal number into Go struct field "
                                                        "ObjectMeta.metadata.labels of type string"),
        (CONFIGMAP, {"binaryData": "x"}, "json: cannot unmarshal string into Go struct field ConfigMap.binaryData "
                                         "of type map[string][]uint8"),
        (CONFIGMAP, {"immutable": "yes"}, "json: cannot unmarshal string into Go struct field ConfigMap.immutable "
                                          "of type bool"),
        (SECRET, {"stringData": {"k": 1}}, "json: cannot unmarshal number into Go struct field Secret.stringData "
                                           "of type string"),
        (SECRET, {"data": {"k": "not base64!"}}, "illegal base64 data at input byte 3"),
        (LEASE, {"spec": "x"}, "json: cannot unmarshal string into Go struct field Lease.spec of type v1.LeaseSpec"),
        (LEASE, {"spec": {"holderIdentity": 5}}, "json: cannot unmarshal number into Go struct field "
                                                 "LeaseSpec.spec.holderIdentity of type string"),
        (LEASE, {"spec": {"leaseDurationSeconds": 1.5}}, "json: cannot unmarshal number 1.5 into Go struct field "
                                                         "LeaseSpec.spec.leaseDurationSeconds of type int32"),
        (LEASE, {"spec": {"leaseDurationSeconds": 2**31}}, "json: cannot unmarshal number 2147483648 into Go "
                                                           "struct field LeaseSpec.spec.leaseDurationSeconds of type "
                                                           "int32"),
        (LEASE, {"spec": {"renewTime": 5}}, "json: cannot unmarshal number into Go value of type string"),
        (ROLEBINDING, {"subjects": {"kind": "User"}}, "json: cannot unmarshal object into Go struct field "
                                                      "RoleBinding.subjects of type []v1.Subject"),
        (ROLEBINDING, {"subjects": [{"name": ["a"]}]}, "json: cannot unmarshal array into Go struct field "
                                                       "Subject.subjects.name of type string"),
        (CONFIGMAP, {"metadata": {"generation": "1"}}, "json: cannot unmarshal string into Go struct field "
                                                       "ObjectMeta.metadata.generation of type int64"),
        (EVENT, {"count": "1"}, "json: cannot unmarshal string into Go struct field Event.count of type int32"),
    ],
)
def test_decode_errors_name_struct_field_path_and_go_type(rt: ResourceType, obj: dict[str, Any], message: str) -> None:
    assert decode_errors(obj, rt) == [message]


def test_decode_errors_accept_null_and_report_in_document_order() -> None:
    assert decode_errors({"data": None, "metadata": {"labels": None}, "immutable": None}, CONFIGMAP) is None
    errs = decode_errors({"immutable": 1, "data": 2}, CONFIGMAP)
    assert errs is not None and [e.split(" field ")[1].split(" ")[0] for e in errs] == [
        "ConfigMap.immutable", "ConfigMap.data"]


def test_decoding_error_and_its_patch_form() -> None:
    exc = builtin_schema.DecodingError(CONFIGMAP, 'strict decoding error: unknown field "dataa"')
    assert (exc.code, exc.reason) == (400, "BadRequest")
    assert exc.message == ('ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: '
                           'unknown field "dataa"')
    patched = builtin_schema.patch_error(exc, {"dataa": {"x": "1"}})
    assert isinstance(patched, errors.APIError) and (patched.code, patched.reason) == (422, "Invalid")
    assert patched.message == (' "" is invalid: patch: Invalid value: "{\\"dataa\\":{\\"x\\":\\"1\\"}}": strict '
                               'decoding error: unknown field "dataa"')
