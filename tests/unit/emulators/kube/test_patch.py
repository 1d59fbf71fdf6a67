"""PATCH content types, checked against kube-apiserver behaviour.

References: k8s.io/apiserver/pkg/endpoints/handlers/patch.go (status codes), k8s.io/apimachinery/pkg/util/
strategicpatch/patch.go (strategic merge), k8s.io/api struct tags (patch strategies).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from smk8s.emulators.kube.errors import APIError
from smk8s.emulators.kube.patch import (
    apply_json_patch,
    apply_merge_patch,
    apply_strategic_merge_patch,
    field_meta,
    unsupported_patch_type_error,
)


def _cm(**metadata: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", **metadata},
            "data": {"a": "1"}}


def _owner(uid: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "name": name, "uid": uid, **extra}


# -- merge patch ------------------------------------------------------------------------------------


def test_merge_patch_merges_objects_and_null_deletes() -> None:
    original = _cm(labels={"a": "1", "b": "2"})
    patched = apply_merge_patch(original, {"metadata": {"labels": {"a": None, "c": "3"}}, "data": {"b": "2"}})
    assert patched["metadata"]["labels"] == {"b": "2", "c": "3"}
    assert patched["data"] == {"a": "1", "b": "2"}
    assert original["metadata"]["labels"] == {"a": "1", "b": "2"}, "input must not be mutated"


def test_merge_patch_replaces_lists_and_drops_nulls_in_new_objects() -> None:
    patched = apply_merge_patch({"l": [1, 2], "x": 1}, {"l": [3], "n": {"k": None, "v": 1}})
    assert patched == {"l": [3], "x": 1, "n": {"v": 1}}


def test_merge_patch_non_object_patch_replaces_whole_document() -> None:
    assert apply_merge_patch({"a": 1}, [1, 2]) == [1, 2]


# -- JSON patch -------------------------------------------------------------------------------------


def test_json_patch_applies_operations_to_a_copy() -> None:
    original = _cm()
    patched = apply_json_patch(original, [
        {"op": "add", "path": "/metadata/labels", "value": {"x": "y"}},
        {"op": "replace", "path": "/data/a", "value": "2"},
        {"op": "test", "path": "/data/a", "value": "2"},
    ])
    assert patched["metadata"]["labels"] == {"x": "y"}
    assert patched["data"] == {"a": "2"}
    assert "labels" not in original["metadata"]


@pytest.mark.parametrize("ops", [
    [{"op": "test", "path": "/data/a", "value": "other"}],
    [{"op": "remove", "path": "/data/missing"}],
    [{"op": "replace", "path": "/spec/x", "value": 1}],
    [{"op": "frobnicate", "path": "/data"}],
])
def test_json_patch_operation_failures_are_422_invalid(ops: list[dict[str, Any]]) -> None:
    with pytest.raises(APIError) as info:
        apply_json_patch(_cm(), ops)
    assert (info.value.code, info.value.reason) == (422, "Invalid")
    assert info.value.message == "the server rejected our request due to an error in our request"


def test_json_patch_body_not_a_list_is_400() -> None:
    with pytest.raises(APIError) as info:
        apply_json_patch(_cm(), {"op": "add"})
    assert info.value.code == 400
    assert info.value.message == "json: cannot unmarshal object into Go value of type jsonpatch.Patch"


def test_json_patch_operation_not_an_object_is_400() -> None:
    with pytest.raises(APIError) as info:
        apply_json_patch(_cm(), ["add"])
    assert info.value.code == 400
    assert "jsonpatch.Operation" in info.value.message


def test_json_patch_over_10000_operations_is_413() -> None:
    ops = [{"op": "test", "path": "/kind", "value": "ConfigMap"}] * 10001
    with pytest.raises(APIError) as info:
        apply_json_patch(_cm(), ops)
    assert info.value.code == 413
    assert "The allowed maximum operations in a JSON patch is 10000, got 10001" in info.value.message


# -- strategic merge patch: metadata table ----------------------------------------------------------


def test_field_meta_object_meta_applies_to_every_kind() -> None:
    assert field_meta("example.com", "Anything", ("metadata", "finalizers")).patch_strategy == "merge"
    owner_refs = field_meta("", "Secret", ("metadata", "ownerReferences"))
    assert owner_refs.patch_merge_key == "uid"
    assert (owner_refs.list_type, owner_refs.list_map_keys) == ("map", ("uid",))
    assert field_meta("", "ServiceAccount", ("secrets",)).patch_merge_key == "name"
    assert field_meta("", "ServiceAccount", ("imagePullSecrets",)).patch_strategy == ""
    assert field_meta("rbac.authorization.k8s.io", "Role", ("rules",)).list_type == "atomic"


# -- strategic merge patch: finalizers (primitive merge list) ---------------------------------------


def test_smp_finalizers_merge_as_a_set() -> None:
    original = _cm(finalizers=["a", "b"])
    patched = apply_strategic_merge_patch(original, {"metadata": {"finalizers": ["b", "c"]}}, "", "ConfigMap")
    assert patched["metadata"]["finalizers"] == ["a", "b", "c"]
    assert original["metadata"]["finalizers"] == ["a", "b"]


def test_smp_delete_from_primitive_list_removes_finalizers() -> None:
    original = _cm(finalizers=["a", "b", "c"])
    patch = {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b", "x"]}}
    patched = apply_strategic_merge_patch(original, patch, "", "ConfigMap")
    assert patched["metadata"]["finalizers"] == ["a", "c"]


def test_smp_delete_from_primitive_list_of_absent_list_is_noop() -> None:
    patched = apply_strategic_merge_patch(_cm(), {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}},
                                          "", "ConfigMap")
    assert "finalizers" not in patched["metadata"]


def test_smp_set_element_order_reorders_finalizers() -> None:
    original = _cm(finalizers=["a", "b", "c"])
    patch = {"metadata": {"$setElementOrder/finalizers": ["c", "a", "b"]}}
    patched = apply_strategic_merge_patch(original, patch, "", "ConfigMap")
    assert patched["metadata"]["finalizers"] == ["c", "a", "b"]


def test_smp_set_element_order_with_patch_list_keeps_server_only_items_in_place() -> None:
    original = _cm(finalizers=["a", "b"])
    patch = {"metadata": {"$setElementOrder/finalizers": ["c", "a"], "finalizers": ["c"]}}
    patched = apply_strategic_merge_patch(original, patch, "", "ConfigMap")
    assert patched["metadata"]["finalizers"] == ["c", "a", "b"]


def test_smp_set_element_order_must_agree_with_patch_list() -> None:
    patch = {"metadata": {"$setElementOrder/finalizers": ["a", "c"], "finalizers": ["c", "a"]}}
    with pytest.raises(APIError) as info:
        apply_strategic_merge_patch(_cm(finalizers=["a"]), patch, "", "ConfigMap")
    assert info.value.code == 500
    assert "doesn't match $setElementOrder list" in info.value.message


# -- strategic merge patch: ownerReferences (merge key uid) -----------------------------------------


def test_smp_owner_references_merge_by_uid() -> None:
    original = _cm(ownerReferences=[_owner("u1", "one"), _owner("u2", "two")])
    patch = {"metadata": {"ownerReferences": [
        {"uid": "u2", "controller": True},
        _owner("u3", "three"),
    ]}}
    patched = apply_strategic_merge_patch(original, patch, "", "ConfigMap")
    refs = patched["metadata"]["ownerReferences"]
    assert [r["uid"] for r in refs] == ["u1", "u2", "u3"]
    assert refs[1] == {**_owner("u2", "two"), "controller": True}


def test_smp_patch_delete_directive_removes_list_item_by_merge_key() -> None:
    original = _cm(ownerReferences=[_owner("u1", "one"), _owner("u2", "two")])
    patch = {"metadata": {"ownerReferences": [{"$patch": "delete", "uid": "u1"}]}}
    patched = apply_strategic_merge_patch(original, patch, "", "ConfigMap")
    assert [r["uid"] for r in patched["metadata"]["ownerReferences"]] == ["u2"]


def test_smp_patch_replace_directive_in_list_replaces_the_list() -> None:
    original = _cm(ownerReferences=[_owner("u1", "one"), _owner("u2", "two")])
    patch = {"metadata": {"ownerReferences": [{"$patch": "replace"}, _owner("u9", "nine")]}}
    patched = apply_strategic_merge_patch(original, patch, "", "ConfigMap")
    assert patched["metadata"]["ownerReferences"] == [_owner("u9", "nine")]


def test_smp_merge_list_item_without_merge_key_is_500() -> None:
    patch = {"metadata": {"ownerReferences": [{"name": "no-uid"}]}}
    with pytest.raises(APIError) as info:
        apply_strategic_merge_patch(_cm(ownerReferences=[_owner("u1", "one")]), patch, "", "ConfigMap")
    assert info.value.code == 500
    assert info.value.message == "map: map[name:no-uid] does not contain declared merge key: uid"


def test_smp_merge_directive_in_list_is_rejected() -> None:
    patch = {"metadata": {"ownerReferences": [{"$patch": "merge"}]}}
    with pytest.raises(APIError) as info:
        apply_strategic_merge_patch(_cm(ownerReferences=[_owner("u1", "one")]), patch, "", "ConfigMap")
    assert info.value.message == "merging lists cannot yet be specified in the patch"


# -- strategic merge patch: other kinds and directives ----------------------------------------------


def test_smp_service_account_secrets_merge_by_name_image_pull_secrets_replace() -> None:
    original = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa"},
                "secrets": [{"name": "s1"}], "imagePullSecrets": [{"name": "p1"}]}
    patch = {"secrets": [{"name": "s2"}], "imagePullSecrets": [{"name": "p2"}]}
    patched = apply_strategic_merge_patch(original, patch, "", "ServiceAccount")
    # mergeSortedSlice: an item only in the patch has no live position, so it goes before server-only items.
    assert patched["secrets"] == [{"name": "s2"}, {"name": "s1"}]
    assert patched["imagePullSecrets"] == [{"name": "p2"}]


def test_smp_lists_without_strategy_are_replaced() -> None:
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}
    patch = {"rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}]}
    patched = apply_strategic_merge_patch(role, patch, "rbac.authorization.k8s.io", "Role")
    assert patched["rules"] == patch["rules"]


def test_smp_delete_from_primitive_list_on_list_without_merge_strategy_replaces_it() -> None:
    # Upstream quirk (mergeSliceHandler): a non-merge list is simply replaced by the patch list.
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"},
          "spec": {"finalizers": ["a", "b"]}}
    patch = {"spec": {"$deleteFromPrimitiveList/finalizers": ["a"]}}
    assert apply_strategic_merge_patch(ns, patch, "", "Namespace")["spec"]["finalizers"] == ["a"]


def test_smp_maps_merge_and_null_deletes() -> None:
    original = _cm(labels={"a": "1", "b": "2"}, annotations={"x": "y"})
    patch = {"metadata": {"labels": {"a": None, "c": "3"}, "annotations": None}}
    patched = apply_strategic_merge_patch(original, patch, "", "ConfigMap")
    assert patched["metadata"]["labels"] == {"b": "2", "c": "3"}
    assert "annotations" not in patched["metadata"]


def test_smp_patch_replace_directive_in_map_replaces_the_map() -> None:
    patch = {"metadata": {"labels": {"$patch": "replace", "only": "this"}}}
    patched = apply_strategic_merge_patch(_cm(labels={"a": "1"}), patch, "", "ConfigMap")
    assert patched["metadata"]["labels"] == {"only": "this"}


def test_smp_patch_delete_directive_in_map_empties_it() -> None:
    patched = apply_strategic_merge_patch(_cm(), {"data": {"$patch": "delete"}}, "", "ConfigMap")
    assert patched["data"] == {}


def test_smp_unknown_patch_directive_in_map_is_500() -> None:
    with pytest.raises(APIError) as info:
        apply_strategic_merge_patch(_cm(), {"data": {"$patch": "merge"}}, "", "ConfigMap")
    assert info.value.code == 500
    assert info.value.message == "unknown patch type: merge in map: map[$patch:merge]"


def test_smp_retain_keys_clears_unlisted_keys() -> None:
    original = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"},
                "data": {"a": "1", "b": "2"}}
    patch = {"data": {"$retainKeys": ["b", "c"], "c": "3"}}
    patched = apply_strategic_merge_patch(original, patch, "", "ConfigMap")
    assert patched["data"] == {"b": "2", "c": "3"}


def test_smp_retain_keys_must_cover_patched_keys() -> None:
    with pytest.raises(APIError) as info:
        apply_strategic_merge_patch(_cm(), {"data": {"$retainKeys": ["b"], "c": "3"}}, "", "ConfigMap")
    assert (info.value.code, info.value.message) == (400, "invalid patch format of retainKeys")


def test_smp_malformed_delete_from_primitive_list_key_is_400() -> None:
    with pytest.raises(APIError) as info:
        apply_strategic_merge_patch(_cm(), {"metadata": {"$deleteFromPrimitiveList": ["a"]}}, "", "ConfigMap")
    assert (info.value.code, info.value.message) == (400, "invalid patch format of primitive list")


def test_smp_new_values_lose_directives_and_nulls() -> None:
    patch = {"metadata": {"ownerReferences": [{**_owner("u1", "one"), "blockOwnerDeletion": None}]}}
    patched = apply_strategic_merge_patch(_cm(), patch, "", "ConfigMap")
    assert patched["metadata"]["ownerReferences"] == [_owner("u1", "one")]


def test_smp_does_not_mutate_inputs() -> None:
    original = _cm(finalizers=["a"], labels={"x": "1"})
    patch = {"metadata": {"finalizers": ["b"], "labels": {"$patch": "replace", "y": "2"}}}
    before_original, before_patch = copy.deepcopy(original), copy.deepcopy(patch)
    apply_strategic_merge_patch(original, patch, "", "ConfigMap")
    assert (original, patch) == (before_original, before_patch)


def test_unsupported_patch_type_error_is_415_listing_custom_resource_types() -> None:
    error = unsupported_patch_type_error()
    assert (error.code, error.reason) == (415, "UnsupportedMediaType")
    assert error.message == (
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
    )
