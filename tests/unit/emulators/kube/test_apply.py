"""Server-side apply and managedFields, checked against sigs.k8s.io/structured-merge-diff and
k8s.io/apimachinery/pkg/util/managedfields/internal (conflict.go, managedfields.go, stripmeta.go, ...)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from smk8s.emulators.kube.apply import (
    default_manager_name,
    fields_to_set,
    path_string,
    record_update,
    server_side_apply,
    set_to_fields,
)
from smk8s.emulators.kube.errors import APIError

API = "ml.example.com/v1"
T0, T1, T2 = "2024-05-01T10:00:00Z", "2024-05-01T10:00:01Z", "2024-05-01T10:00:02Z"

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "replicas": {"type": "integer"},
                "image": {"type": "string"},
                "ports": {
                    "type": "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name"],
                    "items": {"type": "object", "properties": {"name": {"type": "string"},
                                                               "port": {"type": "integer"}}},
                },
                "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
                "args": {"type": "array", "items": {"type": "string"}},
                "resources": {"type": "object", "x-kubernetes-map-type": "atomic",
                              "additionalProperties": {"type": "string"}},
            },
        },
        "status": {"type": "object", "properties": {"phase": {"type": "string"}}},
    },
}


def _job(spec: dict[str, Any] | None = None, **metadata: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": API, "kind": "TrainingJob",
                           "metadata": {"name": "job", "namespace": "default", **metadata}}
    if spec is not None:
        obj["spec"] = spec
    return obj


def _entries(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["manager"]: e for e in obj["metadata"].get("managedFields", [])}


def _apply(live: dict[str, Any] | None, applied: dict[str, Any], manager: str, now: str = T0,
           force: bool = False, **kw: Any) -> dict[str, Any]:
    return server_side_apply(live, applied, manager, force, SCHEMA, API, now, **kw)


def _stored(obj: dict[str, Any]) -> dict[str, Any]:
    """What the server stores after a create: server-set metadata added."""
    obj["metadata"].update(uid="u-1", resourceVersion="1", creationTimestamp=T0)
    return obj


# -- FieldsV1 ---------------------------------------------------------------------------------------


def test_fields_v1_round_trip_with_dot_for_members_that_have_children() -> None:
    fields = {"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
              "f:spec": {"f:ports": {'k:{"name":"http"}': {".": {}, "f:port": {}}}, "f:tags": {'v:"a"': {}}}}
    paths = fields_to_set(fields)
    assert ("f:metadata", "f:labels") in paths
    assert ("f:metadata",) not in paths
    assert ("f:spec", "f:ports", 'k:{"name":"http"}', "f:port") in paths
    assert set_to_fields(paths) == fields


def test_path_string_matches_structured_merge_diff() -> None:
    assert path_string(("f:spec", "f:replicas")) == ".spec.replicas"
    assert path_string(("f:spec", "f:ports", 'k:{"port":80,"name":"http"}', "f:port")) == \
        '.spec.ports[name="http",port=80].port'
    assert path_string(("f:metadata", "f:finalizers", 'v:"x"')) == '.metadata.finalizers[="x"]'


# -- apply: create and ownership --------------------------------------------------------------------


def test_apply_create_records_one_apply_entry_without_server_managed_fields() -> None:
    obj = _apply(None, _job({"replicas": 1, "ports": [{"name": "http", "port": 80}], "tags": ["a"]},
                            labels={"app": "x"}), "trainer")
    [entry] = obj["metadata"]["managedFields"]
    assert {k: v for k, v in entry.items() if k != "fieldsV1"} == {
        "manager": "trainer", "operation": "Apply", "apiVersion": API, "time": T0, "fieldsType": "FieldsV1"}
    assert entry["fieldsV1"] == {
        "f:metadata": {"f:labels": {"f:app": {}}},
        "f:spec": {
            "f:ports": {'k:{"name":"http"}': {".": {}, "f:name": {}, "f:port": {}}},
            "f:replicas": {},
            "f:tags": {'v:"a"': {}},
        },
    }
    assert obj["spec"]["ports"] == [{"name": "http", "port": 80}]


def test_apply_subresource_is_recorded_in_entry() -> None:
    live = _stored(_apply(None, _job({"replicas": 1}), "a"))
    obj = _apply(live, {**_job(), "status": {"phase": "Running"}}, "ctrl", subresource="status")
    assert _entries(obj)["ctrl"]["subresource"] == "status"


def test_two_managers_setting_the_same_value_share_ownership() -> None:
    live = _stored(_apply(None, _job({"replicas": 1, "image": "a"}), "alice"))
    obj = _apply(live, _job({"replicas": 1}), "bob", T1)
    entries = _entries(obj)
    assert entries["bob"]["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    assert "f:replicas" in entries["alice"]["fieldsV1"]["f:spec"]


def test_conflict_with_another_applier_is_409_with_causes() -> None:
    live = _stored(_apply(None, _job({"replicas": 1}), "alice"))
    with pytest.raises(APIError) as info:
        _apply(live, _job({"replicas": 3}), "bob", T1)
    error = info.value
    assert (error.code, error.reason) == (409, "Conflict")
    assert error.message == 'Apply failed with 1 conflict: conflict with "alice": .spec.replicas'
    assert [c.to_dict() for c in error.causes] == [
        {"reason": "FieldManagerConflict", "message": 'conflict with "alice"', "field": ".spec.replicas"}]


def test_conflicts_are_grouped_per_manager_with_plural_message() -> None:
    live = _stored(_job({"replicas": 1, "image": "a", "ports": [{"name": "http", "port": 80}]}))
    record_update(None, live, "kubectl-edit", API, T0, schema=SCHEMA)
    with pytest.raises(APIError) as info:
        _apply(live, _job({"replicas": 2, "image": "b", "ports": [{"name": "http", "port": 81}]}), "bob", T1)
    assert info.value.message == (
        'Apply failed with 3 conflicts: conflicts with "kubectl-edit" using ml.example.com/v1:\n'
        "- .spec.image\n- .spec.replicas\n"
        '- .spec.ports[name="http"].port'
    )
    fields = {c.field for c in info.value.causes}
    assert fields == {".spec.image", ".spec.replicas", '.spec.ports[name="http"].port'}


def test_force_takes_ownership_from_the_other_manager() -> None:
    live = _stored(_apply(None, _job({"replicas": 1, "image": "a"}), "alice"))
    obj = _apply(live, _job({"replicas": 3}), "bob", T1, force=True)
    assert obj["spec"] == {"replicas": 3, "image": "a"}
    entries = _entries(obj)
    assert entries["bob"]["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    assert entries["alice"]["fieldsV1"] == {"f:spec": {"f:image": {}}}


def test_dropped_field_is_removed_when_nobody_else_owns_it() -> None:
    spec = {"replicas": 1, "image": "a", "tags": ["x", "y"], "args": ["--v"]}
    live = _stored(_apply(None, _job(spec), "alice"))
    obj = _apply(live, _job({"replicas": 1, "tags": ["x"]}), "alice", T1)
    assert obj["spec"] == {"replicas": 1, "tags": ["x"]}
    assert _entries(obj)["alice"]["time"] == T1


def test_dropped_field_stays_when_another_manager_owns_it() -> None:
    live = _stored(_apply(None, _job({"replicas": 1, "image": "a"}), "alice"))
    live = _stored(_apply(live, _job({"image": "a"}), "bob", T1))
    obj = _apply(live, _job({"replicas": 1}), "alice", T2)
    assert obj["spec"] == {"replicas": 1, "image": "a"}
    assert "f:image" not in _entries(obj)["alice"]["fieldsV1"]["f:spec"]


def test_dropped_field_owned_by_an_updater_stays() -> None:
    live = _stored(_apply(None, _job({"replicas": 1}), "alice"))
    edited = json.loads(json.dumps(live))
    edited["spec"]["image"] = "edited"
    record_update(live, edited, "kubectl-edit", API, T1, schema=SCHEMA)
    obj = _apply(edited, _job({"replicas": 1}), "alice", T2)
    assert obj["spec"]["image"] == "edited"


def test_associative_list_items_merge_by_key_and_dropped_items_go() -> None:
    ports = [{"name": "a", "port": 1}, {"name": "b", "port": 2}]
    live = _stored(_apply(None, _job({"ports": ports}), "alice"))
    obj = _apply(live, _job({"ports": [{"name": "b", "port": 20}, {"name": "c", "port": 3}]}), "alice", T1)
    assert obj["spec"]["ports"] == [{"name": "b", "port": 20}, {"name": "c", "port": 3}]


def test_apply_merges_with_items_of_another_manager_keeping_them() -> None:
    live = _stored(_apply(None, _job({"ports": [{"name": "a", "port": 1}]}), "alice"))
    obj = _apply(live, _job({"ports": [{"name": "b", "port": 2}]}), "bob", T1)
    assert obj["spec"]["ports"] == [{"name": "a", "port": 1}, {"name": "b", "port": 2}]


def test_atomic_list_and_map_are_owned_and_replaced_whole() -> None:
    live = _stored(_apply(None, _job({"args": ["a", "b"], "resources": {"cpu": "1", "mem": "1Gi"}}), "alice"))
    assert _entries(live)["alice"]["fieldsV1"] == {"f:spec": {"f:args": {}, "f:resources": {}}}
    with pytest.raises(APIError) as info:
        _apply(live, _job({"resources": {"cpu": "2"}}), "bob", T1)
    assert [c.field for c in info.value.causes] == [".spec.resources"]
    obj = _apply(live, _job({"args": ["c"], "resources": {"cpu": "1", "mem": "1Gi"}}), "alice", T1)
    assert obj["spec"] == {"args": ["c"], "resources": {"cpu": "1", "mem": "1Gi"}}


def test_builtin_finalizers_are_a_set_and_owner_references_keyed_by_uid() -> None:
    owner = {"apiVersion": "v1", "kind": "ConfigMap", "name": "o", "uid": "u-9", "controller": True}
    cm = {"apiVersion": "v1", "kind": "ConfigMap",
          "metadata": {"name": "c", "namespace": "d", "finalizers": ["a/b"], "ownerReferences": [owner]},
          "data": {"k": "v"}}
    obj = server_side_apply(None, cm, "op", False, None, "v1", T0)
    assert obj["metadata"]["managedFields"][0]["fieldsV1"] == {
        "f:data": {"f:k": {}},
        "f:metadata": {"f:finalizers": {'v:"a/b"': {}}, "f:ownerReferences": {'k:{"uid":"u-9"}': {}}},
    }
    # Another manager adding a finalizer merges into the set instead of replacing it.
    other = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "finalizers": ["x/y"]}}
    merged = server_side_apply(_stored(obj), other, "second", False, None, "v1", T1)
    assert merged["metadata"]["finalizers"] == ["a/b", "x/y"]


def test_untracked_live_object_is_first_owned_by_before_first_apply() -> None:
    live = _stored(_job({"replicas": 1}))
    with pytest.raises(APIError) as info:
        _apply(live, _job({"replicas": 2}), "alice", T1)
    assert info.value.message == (
        'Apply failed with 1 conflict: conflict with "before-first-apply" using ml.example.com/v1: '
        ".spec.replicas"
    )


def test_ignored_fields_are_neither_owned_nor_conflicting_and_keep_live_value() -> None:
    live = _stored(_apply(None, {**_job(), "status": {"phase": "Running"}}, "ctrl", subresource="status",
                          ignored_fields=("spec",)))
    obj = _apply(live, {**_job({"replicas": 1}), "status": {"phase": "Failed"}}, "user", T1,
                 ignored_fields=("status",))
    assert obj["status"] == {"phase": "Running"}
    assert _entries(obj)["user"]["fieldsV1"] == {"f:spec": {"f:replicas": {}}}


def test_apply_drops_null_values_from_the_result() -> None:
    live = _stored(_apply(None, _job({"replicas": 1, "image": "a"}), "alice"))
    assert "image" not in _apply(live, _job({"replicas": 1, "image": None}), "alice", T1)["spec"]


# -- apply: invalid requests ------------------------------------------------------------------------


def test_apply_with_managed_fields_is_400() -> None:
    with pytest.raises(APIError) as info:
        _apply(None, _job(managedFields=[]), "a")
    assert (info.value.code, info.value.message) == (400, "metadata.managedFields must be nil")


def test_apply_with_other_api_version_is_400() -> None:
    with pytest.raises(APIError) as info:
        _apply(None, {**_job(), "apiVersion": "ml.example.com/v2"}, "a")
    assert info.value.code == 400
    assert info.value.message == "invalid object type: ml.example.com/v2, Kind=TrainingJob"


def test_apply_with_duplicate_associative_keys_is_500() -> None:
    with pytest.raises(APIError) as info:
        _apply(None, _job({"ports": [{"name": "a", "port": 1}, {"name": "a", "port": 2}]}), "a")
    assert info.value.code == 500
    assert info.value.message == (
        "failed to create typed patch object (default/job; ml.example.com/v1, Kind=TrainingJob): "
        '.spec.ports: duplicate entries for key [name="a"]'
    )


# -- record_update ----------------------------------------------------------------------------------


def test_create_records_update_entry_with_dot_for_new_maps() -> None:
    cm: dict[str, Any] = {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "d", "uid": "u", "labels": {"app": "x"}}, "data": {"k": "v"},
    }
    record_update(None, cm, "kubectl-create", "v1", T0)
    assert cm["metadata"]["managedFields"] == [{
        "manager": "kubectl-create", "operation": "Update", "apiVersion": "v1", "time": T0,
        "fieldsType": "FieldsV1",
        "fieldsV1": {"f:data": {".": {}, "f:k": {}}, "f:metadata": {"f:labels": {".": {}, "f:app": {}}}},
    }]


def test_update_takes_changed_fields_from_the_applier() -> None:
    live = _stored(_apply(None, _job({"replicas": 1, "image": "a"}), "alice"))
    new = json.loads(json.dumps(live))
    new["spec"]["replicas"] = 5
    record_update(live, new, "hpa", API, T1, schema=SCHEMA)
    entries = _entries(new)
    assert entries["hpa"]["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    assert entries["hpa"]["operation"] == "Update"
    assert entries["alice"]["fieldsV1"] == {"f:spec": {"f:image": {}}}
    assert [e["operation"] for e in new["metadata"]["managedFields"]] == ["Apply", "Update"]


def test_update_that_changes_nothing_adds_no_entry() -> None:
    live = _stored(_apply(None, _job({"replicas": 1}), "alice"))
    new = json.loads(json.dumps(live))
    new["metadata"]["resourceVersion"] = "7"
    record_update(live, new, "noop", API, T1, schema=SCHEMA)
    assert set(_entries(new)) == {"alice"}


def test_update_removing_a_field_takes_it_from_its_owner() -> None:
    live = _stored(_apply(None, _job({"replicas": 1, "image": "a"}), "alice"))
    new = json.loads(json.dumps(live))
    del new["spec"]["image"]
    record_update(live, new, "editor", API, T1, schema=SCHEMA)
    assert _entries(new)["alice"]["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    assert "editor" not in _entries(new)


def test_update_with_empty_entry_resets_managed_fields() -> None:
    live = _stored(_apply(None, _job({"replicas": 1}), "alice"))
    new = json.loads(json.dumps(live))
    new["metadata"]["managedFields"] = [{}]
    record_update(live, new, "resetter", API, T1, schema=SCHEMA)
    assert "managedFields" not in new["metadata"]


def test_update_may_rewrite_managed_fields_but_not_through_a_subresource() -> None:
    live = _stored(_apply(None, _job({"replicas": 1}), "alice"))
    handwritten = [{"manager": "someone", "operation": "Update", "apiVersion": API, "time": T0,
                    "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}}]
    new = json.loads(json.dumps(live))
    new["metadata"]["managedFields"] = handwritten
    record_update(live, new, "writer", API, T1, schema=SCHEMA)
    assert set(_entries(new)) == {"someone"}
    via_status = json.loads(json.dumps(live))
    via_status["metadata"]["managedFields"] = handwritten
    record_update(live, via_status, "writer", API, T1, "status", schema=SCHEMA)
    assert set(_entries(via_status)) == {"alice"}


def test_update_entries_beyond_ten_fold_into_ancient_changes() -> None:
    obj = _stored(_job({}))
    record_update(None, obj, "creator", API, "2024-05-01T09:00:00Z", schema=SCHEMA)
    for i in range(11):
        new = json.loads(json.dumps(obj))
        new.setdefault("spec", {})[f"f{i}"] = i
        record_update(obj, new, f"writer-{i:02d}", API, f"2024-05-01T10:00:{i:02d}Z", schema=SCHEMA)
        obj = new
    managers = [e["manager"] for e in obj["metadata"]["managedFields"]]
    assert len(managers) == 10
    assert "ancient-changes" in managers
    assert "creator" not in managers and "writer-00" not in managers


def test_malformed_live_entries_are_ignored_on_update() -> None:
    live = _stored(_job({"replicas": 1}))
    live["metadata"]["managedFields"] = [{"manager": "x", "operation": "Bogus"}]
    new = json.loads(json.dumps(live))
    del new["metadata"]["managedFields"]
    new["spec"]["replicas"] = 2
    record_update(live, new, "w", API, T1, schema=SCHEMA)
    assert set(_entries(new)) == {"w"}


# -- manager names and client round trip ------------------------------------------------------------


@pytest.mark.parametrize(("user_agent", "manager"), [
    ("kubectl/v1.37.0 (linux/amd64) kubernetes/abcdef", "kubectl"),
    ("kubectl-edit/v1.37.0 (linux/amd64) kubernetes/abcdef", "kubectl-edit"),
    ("OpenAPI-Generator/31.0.0/python", "OpenAPI-Generator"),
    ("tab\there/1", "tabhere"),
    ("x" * 200, "x" * 128),
])
def test_default_manager_name_is_user_agent_prefix(user_agent: str, manager: str) -> None:
    assert default_manager_name(user_agent) == manager


def test_managed_fields_deserialize_in_the_official_client() -> None:
    kubernetes = pytest.importorskip("kubernetes")
    applied = {"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "c", "namespace": "d", "labels": {"a": "b"}}, "data": {"k": "v"}}
    obj = server_side_apply(None, applied, "kubectl", False, None, "v1", T0)

    client = kubernetes.client.ApiClient()
    cm = client.deserialize(json.dumps(obj), "V1ConfigMap", "application/json")
    [entry] = cm.metadata.managed_fields
    assert (entry.manager, entry.operation, entry.fields_type) == ("kubectl", "Apply", "FieldsV1")
    assert entry.fields_v1 == obj["metadata"]["managedFields"][0]["fieldsV1"]
    assert entry.time.isoformat() == "2024-05-01T10:00:00+00:00"
