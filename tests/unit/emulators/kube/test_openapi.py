"""OpenAPI v2/v3 documents: structure, and exactly what kubectl reads from them.

kubectl behaviours mirrored here come from k8s.io/kubectl/pkg/explain/v2/templates/plaintext.tmpl,
k8s.io/cli-runtime/pkg/resource/query_param_verifier_v3.go and k8s.io/kubectl/pkg/cmd/apply/patcher.go.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from smk8s.emulators.kube import openapi
from smk8s.emulators.kube.resources import ResourceType, builtin_resources, resource_types_from_crd

GROUP = "sagemaker.aws.amazon.ai"
TRAINING_JOB_DEF = "ai.amazon.aws.sagemaker.v1.TrainingJob"


def training_job_crd(schema_patch: dict[str, Any] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "description": "TrainingJob is the Schema for the trainingjobs API",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": {
                "type": "object",
                "required": ["resourceConfig"],
                "properties": {
                    "resourceConfig": {
                        "type": "object",
                        "required": ["instanceCount", "instanceType"],
                        "properties": {
                            "instanceCount": {"type": "integer", "minimum": 1},
                            "instanceType": {"type": "string", "description": "ML instance type."},
                            "volumeSizeInGB": {"type": "integer", "default": 10},
                            "port": {"x-kubernetes-int-or-string": True},
                            "note": {"type": "string", "nullable": True},
                        },
                    },
                    "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                             "properties": {"a": {"type": "string"}}},
                    "embedded": {"type": "object", "x-kubernetes-embedded-resource": True,
                                 "x-kubernetes-preserve-unknown-fields": True},
                },
            },
            "status": {"type": "object", "properties": {"trainingJobStatus": {"type": "string"}}},
        },
    }
    schema.update(schema_patch or {})
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"trainingjobs.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {"plural": "trainingjobs", "singular": "trainingjob", "kind": "TrainingJob",
                      "listKind": "TrainingJobList"},
            "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                          "schema": {"openAPIV3Schema": schema}}],
        },
    }


def served_types(crd: dict[str, Any] | None = None) -> list[ResourceType]:
    return builtin_resources() + resource_types_from_crd(crd or training_job_crd())


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    resolved = document["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert isinstance(resolved, dict)
    return resolved


def schema_with_gvk(document: dict[str, Any], gvk: dict[str, str]) -> dict[str, Any]:
    """What kubectl explain's template does: the component whose GVK list contains the operation's GVK."""
    matches: list[dict[str, Any]] = [s for s in document["components"]["schemas"].values()
                                     if gvk in s.get("x-kubernetes-group-version-kind", [])]
    assert len(matches) == 1
    return matches[0]


# --- structure ------------------------------------------------------------------------------------


def test_v2_document_is_valid_swagger() -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    document = openapi.openapi_v2(served_types())
    assert list(validator.OpenAPIV2SpecValidator(document).iter_errors()) == []


@pytest.mark.parametrize("gv_path", ["api/v1", f"apis/{GROUP}/v1", "apis/apiextensions.k8s.io/v1"])
def test_v3_group_version_documents_are_valid_openapi_3(gv_path: str) -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    document = openapi.openapi_v3_document(served_types(), gv_path)
    assert document is not None and document["openapi"] == "3.0.0"
    assert list(validator.OpenAPIV30SpecValidator(document).iter_errors()) == []


def test_every_reference_resolves_within_its_document() -> None:
    types = served_types()
    for gv_path in openapi.openapi_v3_index(types)["paths"]:
        document = openapi.openapi_v3_document(types, gv_path)
        assert document is not None
        names = set(document["components"]["schemas"])
        assert set(openapi._refs(document)) <= names, gv_path
    v2 = openapi.openapi_v2(types)
    assert {r for r in openapi._refs(v2)} <= set(v2["definitions"])
    assert all(ref.startswith("#/definitions/") for ref in _raw_refs(v2))


def _raw_refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        own = [v for k, v in value.items() if k == "$ref" and isinstance(v, str)]
        return own + [r for v in value.values() for r in _raw_refs(v)]
    if isinstance(value, list):
        return [r for v in value for r in _raw_refs(v)]
    return []


def test_unknown_group_version_has_no_document() -> None:
    assert openapi.openapi_v3_document(served_types(), "apis/nope.example.com/v1") is None


# --- naming and built-in schemas ------------------------------------------------------------------


def test_builtin_definitions_are_named_like_upstream() -> None:
    definitions = openapi.openapi_v2(served_types())["definitions"]
    for name in ("io.k8s.api.core.v1.ConfigMap", "io.k8s.api.core.v1.Event", "io.k8s.api.events.v1.Event",
                 "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "io.k8s.api.coordination.v1.Lease",
                 "io.k8s.api.rbac.v1.Subject", "io.k8s.api.core.v1.EventSource",
                 "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition",
                 "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps"):
        assert name in definitions, name
    assert definitions["io.k8s.api.core.v1.ConfigMap"]["x-kubernetes-group-version-kind"] == [
        {"group": "", "kind": "ConfigMap", "version": "v1"}]
    assert definitions["io.k8s.api.coordination.v1.LeaseList"]["x-kubernetes-group-version-kind"] == [
        {"group": "coordination.k8s.io", "kind": "LeaseList", "version": "v1"}]


def test_builtin_schema_is_generated_from_kubernetes_asyncio_models() -> None:
    schemas = openapi.openapi_v3_document(served_types(), "api/v1")["components"]["schemas"]  # type: ignore[index]
    config_map = schemas["io.k8s.api.core.v1.ConfigMap"]
    assert config_map["description"] == "ConfigMap holds configuration data for pods to consume."
    data = config_map["properties"]["data"]
    assert data["type"] == "object" and data["additionalProperties"] == {"type": "string"}
    assert "configuration data" in data["description"]
    assert config_map["properties"]["binaryData"]["additionalProperties"]["format"] == "byte"
    metadata = config_map["properties"]["metadata"]
    assert metadata["$ref"] == "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    assert metadata["description"].startswith("Standard object's metadata.")
    object_meta = schemas["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]
    assert object_meta["properties"]["creationTimestamp"]["format"] == "date-time"
    assert object_meta["properties"]["labels"]["additionalProperties"] == {"type": "string"}
    assert object_meta["properties"]["ownerReferences"]["items"]["$ref"].endswith("meta.v1.OwnerReference")


def test_required_fields_come_from_the_models() -> None:
    schemas = openapi.openapi_v3_document(served_types(), "api/v1")["components"]["schemas"]  # type: ignore[index]
    assert set(schemas["io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference"]["required"]) == {
        "apiVersion", "kind", "name", "uid"}
    assert schemas["io.k8s.api.core.v1.ConfigMapList"]["required"] == ["items"]
    assert "required" not in schemas["io.k8s.api.core.v1.ConfigMap"]


def test_strategic_merge_extensions_match_upstream_markers() -> None:
    schemas = openapi.openapi_v3_document(served_types(), "api/v1")["components"]["schemas"]  # type: ignore[index]
    meta = schemas["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]["properties"]
    assert meta["finalizers"]["x-kubernetes-patch-strategy"] == "merge"
    assert meta["ownerReferences"]["x-kubernetes-patch-merge-key"] == "uid"
    assert meta["ownerReferences"]["x-kubernetes-patch-strategy"] == "merge"
    conditions = schemas["io.k8s.api.core.v1.NamespaceStatus"]["properties"]["conditions"]
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]


def test_recursive_json_schema_props_is_one_self_referencing_definition() -> None:
    document = openapi.openapi_v3_document(served_types(), "apis/apiextensions.k8s.io/v1")
    assert document is not None
    props = document["components"]["schemas"][
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps"]["properties"]
    assert props["properties"]["additionalProperties"]["$ref"].endswith("apiextensions.v1.JSONSchemaProps")
    assert props["$ref"]["type"] == "string"
    assert props["x-kubernetes-int-or-string"]["type"] == "boolean"
    assert props["default"]["$ref"].endswith("apiextensions.v1.JSON")


# --- CRD schemas ----------------------------------------------------------------------------------


def test_crd_definition_carries_gvk_metadata_ref_and_type_meta() -> None:
    document = openapi.openapi_v3_document(served_types(), f"apis/{GROUP}/v1")
    assert document is not None
    schema = document["components"]["schemas"][TRAINING_JOB_DEF]
    assert schema["x-kubernetes-group-version-kind"] == [
        {"group": GROUP, "kind": "TrainingJob", "version": "v1"}]
    assert schema["properties"]["metadata"]["$ref"] == (
        "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
    assert schema["properties"]["apiVersion"]["description"].startswith("APIVersion defines")
    assert schema["properties"]["kind"]["description"].startswith("Kind is a string value")
    listing = document["components"]["schemas"]["ai.amazon.aws.sagemaker.v1.TrainingJobList"]
    assert listing["properties"]["items"]["items"]["$ref"] == f"#/components/schemas/{TRAINING_JOB_DEF}"
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" in document["components"]["schemas"]
    assert "io.k8s.api.core.v1.ConfigMap" not in document["components"]["schemas"]


def test_crd_v3_schema_keeps_validation_and_unfolds_int_or_string() -> None:
    document = openapi.openapi_v3_document(served_types(), f"apis/{GROUP}/v1")
    assert document is not None
    config = document["components"]["schemas"][TRAINING_JOB_DEF]["properties"]["spec"]["properties"][
        "resourceConfig"]["properties"]
    assert config["volumeSizeInGB"]["default"] == 10
    assert config["instanceCount"]["minimum"] == 1
    assert config["port"]["anyOf"] == [{"type": "integer"}, {"type": "string"}]
    assert config["note"]["nullable"] is True


def test_crd_embedded_resource_gets_type_meta_and_object_meta() -> None:
    schema = openapi.crd_schema(resource_types_from_crd(training_job_crd())[0])
    embedded = schema["properties"]["spec"]["properties"]["embedded"]
    assert set(embedded["properties"]) == {"apiVersion", "kind", "metadata"}
    assert embedded["required"] == ["kind", "apiVersion"]
    # v2 leaves embedded objects that preserve unknown fields alone (kubectl would reject unknown fields)
    v2 = openapi.crd_schema(resource_types_from_crd(training_job_crd())[0], v2=True)
    assert "properties" not in v2["properties"]["spec"]["properties"]["embedded"]


def test_crd_v2_schema_is_converted_like_to_structural_openapi_v2() -> None:
    definitions = openapi.openapi_v2(served_types())["definitions"]
    spec = definitions[TRAINING_JOB_DEF]["properties"]["spec"]["properties"]
    config = spec["resourceConfig"]["properties"]
    assert "default" not in config["volumeSizeInGB"]  # defaults are pruned from v2
    assert "anyOf" not in config["port"]
    assert config["note"] == {}  # nullable: type dropped
    assert "type" not in spec["free"] and "properties" not in spec["free"]
    assert definitions[TRAINING_JOB_DEF]["properties"]["metadata"]["$ref"] == (
        "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")


def test_crd_preserving_unknown_fields_at_root_is_a_bare_object_in_v2() -> None:
    crd = training_job_crd({"x-kubernetes-preserve-unknown-fields": True})
    definitions = openapi.openapi_v2(served_types(crd))["definitions"]
    assert definitions[TRAINING_JOB_DEF] == {
        "type": "object",
        "x-kubernetes-group-version-kind": [{"group": GROUP, "kind": "TrainingJob", "version": "v1"}],
    }


def test_crd_without_schema_is_an_object_with_gvk() -> None:
    crd = training_job_crd()
    del crd["spec"]["versions"][0]["schema"]
    schema = openapi.crd_schema(resource_types_from_crd(crd)[0])
    assert schema == {"type": "object",
                      "x-kubernetes-group-version-kind": [{"group": GROUP, "kind": "TrainingJob",
                                                            "version": "v1"}]}


# --- what kubectl reads ---------------------------------------------------------------------------


def test_explain_finds_the_crd_kind_and_walks_spec_resource_config() -> None:
    document = openapi.openapi_v3_document(served_types(), f"apis/{GROUP}/v1")
    assert document is not None
    item = document["paths"][f"/apis/{GROUP}/v1/namespaces/{{namespace}}/trainingjobs"]
    gvk = item["get"]["x-kubernetes-group-version-kind"]
    assert gvk == {"group": GROUP, "kind": "TrainingJob", "version": "v1"}
    schema = schema_with_gvk(document, gvk)
    resource_config = schema["properties"]["spec"]["properties"]["resourceConfig"]
    assert set(resource_config["properties"]) >= {"instanceCount", "instanceType"}
    assert resource_config["required"] == ["instanceCount", "instanceType"]


def test_explain_finds_configmap_through_the_core_document() -> None:
    document = openapi.openapi_v3_document(served_types(), "api/v1")
    assert document is not None
    listing = document["paths"]["/api/v1/namespaces/{namespace}/configmaps"]["get"]
    gvk = listing["x-kubernetes-group-version-kind"]
    schema = schema_with_gvk(document, gvk)
    metadata = resolve(document, schema["properties"]["metadata"])
    assert "name" in metadata["properties"]


@pytest.mark.parametrize(("gv_path", "gvk"), [
    (f"apis/{GROUP}/v1", {"group": GROUP, "kind": "TrainingJob", "version": "v1"}),
    ("api/v1", {"group": "", "kind": "ConfigMap", "version": "v1"}),
    ("api/v1", {"group": "", "kind": "Namespace", "version": "v1"}),
    ("apis/coordination.k8s.io/v1", {"group": "coordination.k8s.io", "kind": "Lease", "version": "v1"}),
])
def test_every_patch_operation_of_a_kind_supports_field_validation(gv_path: str, gvk: dict[str, str]) -> None:
    # kubectl stops at the first PATCH operation with the GVK it meets (in Go map order): all must qualify.
    document = openapi.openapi_v3_document(served_types(), gv_path)
    assert document is not None
    patches = [item["patch"] for item in document["paths"].values()
               if "patch" in item and item["patch"]["x-kubernetes-group-version-kind"] == gvk]
    assert patches
    for operation in patches:
        names = [p["name"] for p in operation["parameters"]]
        assert {"fieldValidation", "dryRun", "fieldManager", "force"} <= set(names)


def test_strategic_merge_patch_is_offered_for_builtins_only() -> None:
    types = served_types()
    core = openapi.openapi_v3_document(types, "api/v1")
    custom = openapi.openapi_v3_document(types, f"apis/{GROUP}/v1")
    assert core is not None and custom is not None
    core_patch = core["paths"]["/api/v1/namespaces/{namespace}/configmaps/{name}"]["patch"]
    assert "application/strategic-merge-patch+json" in core_patch["requestBody"]["content"]
    item = custom["paths"][f"/apis/{GROUP}/v1/namespaces/{{namespace}}/trainingjobs/{{name}}"]
    custom_patch = item["patch"]
    assert set(custom_patch["requestBody"]["content"]) == {
        "application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json"}


def test_operations_follow_the_resource_verbs_and_subresources() -> None:
    types = served_types()
    auth = openapi.openapi_v3_document(types, "apis/authentication.k8s.io/v1")
    assert auth is not None
    assert set(auth["paths"]) == {"/apis/authentication.k8s.io/v1/tokenreviews",
                                  "/apis/authentication.k8s.io/v1/selfsubjectreviews"}
    assert set(auth["paths"]["/apis/authentication.k8s.io/v1/tokenreviews"]) == {"parameters", "post"}
    core = openapi.openapi_v3_document(types, "api/v1")
    assert core is not None
    namespaces = core["paths"]["/api/v1/namespaces"]
    assert "delete" not in namespaces  # no deletecollection verb
    status = core["paths"]["/api/v1/namespaces/{name}/status"]
    assert status["patch"]["operationId"] == "patchCoreV1NamespaceStatus"
    assert status["patch"]["x-kubernetes-action"] == "patch"
    listing = core["paths"]["/api/v1/namespaces/{namespace}/configmaps"]
    assert listing["get"]["operationId"] == "listCoreV1NamespacedConfigMap"
    assert listing["post"]["requestBody"]["required"] is True
    assert core["paths"]["/api/v1/configmaps"]["get"]["operationId"] == "listCoreV1ConfigMapForAllNamespaces"
    assert core["paths"]["/api/v1/watch/namespaces/{namespace}/configmaps"]["get"]["x-kubernetes-action"] == (
        "watchlist")
    crd_paths = openapi.openapi_v3_document(types, f"apis/{GROUP}/v1")["paths"]  # type: ignore[index]
    assert f"/apis/{GROUP}/v1/namespaces/{{namespace}}/trainingjobs/{{name}}/status" in crd_paths
    assert not any("/watch/" in path for path in crd_paths)


def test_v2_operations_carry_kubernetes_extensions_and_body_parameters() -> None:
    paths = openapi.openapi_v2(served_types())["paths"]
    patch = paths["/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}"]["patch"]
    assert patch["x-kubernetes-action"] == "patch"
    assert patch["x-kubernetes-group-version-kind"] == {
        "group": "coordination.k8s.io", "kind": "Lease", "version": "v1"}
    patch_ref = "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"
    assert patch["parameters"][0] == {"in": "body", "name": "body", "required": True,
                                      "schema": {"$ref": patch_ref}}
    names = {p["name"] for p in patch["parameters"]}
    assert {"fieldValidation", "dryRun", "fieldManager"} <= names
    assert "application/strategic-merge-patch+json" in patch["consumes"]


# --- the v3 index ---------------------------------------------------------------------------------


def test_index_lists_each_group_version_with_its_document_hash() -> None:
    types = served_types()
    index = openapi.openapi_v3_index(types)["paths"]
    assert {"api/v1", f"apis/{GROUP}/v1", "apis/coordination.k8s.io/v1"} <= set(index)
    url = index[f"apis/{GROUP}/v1"]["serverRelativeURL"]
    document = openapi.openapi_v3_document(types, f"apis/{GROUP}/v1")
    assert document is not None
    assert url == f"/openapi/v3/apis/{GROUP}/v1?hash={openapi.document_hash(document)}"
    digest = url.rsplit("=", 1)[1]
    assert len(digest) == 128 and digest == digest.upper()


def test_index_hash_is_stable_and_follows_the_crd_schema() -> None:
    first = openapi.openapi_v3_index(served_types())["paths"]
    assert openapi.openapi_v3_index(served_types())["paths"] == first
    crd = training_job_crd()
    changed = copy.deepcopy(crd)
    changed["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["extra"] = {"type": "string"}
    second = openapi.openapi_v3_index(served_types(changed))["paths"]
    assert second[f"apis/{GROUP}/v1"] != first[f"apis/{GROUP}/v1"]
    assert second["api/v1"] == first["api/v1"]


def test_documents_are_fresh_copies() -> None:
    types = served_types()
    document = openapi.openapi_v3_document(types, "api/v1")
    assert document is not None
    document["components"]["schemas"]["io.k8s.api.core.v1.ConfigMap"]["properties"].clear()
    again = openapi.openapi_v3_document(types, "api/v1")
    assert again is not None
    assert again["components"]["schemas"]["io.k8s.api.core.v1.ConfigMap"]["properties"]
