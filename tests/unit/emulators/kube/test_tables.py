"""meta.k8s.io/v1 Tables: columns and cells as kube-apiserver's printers and CRD table convertor make them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from smk8s.emulators.kube import tables
from smk8s.emulators.kube.resources import ResourceType, builtin_resources, resource_types_from_crd

NOW = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)
FIVE_MINUTES_AGO = "2024-03-01T11:55:00Z"


def builtin(group: str, plural: str) -> ResourceType:
    return next(rt for rt in builtin_resources() if rt.group == group and rt.plural == plural)


def custom(printer_columns: list[dict[str, Any]] | None) -> ResourceType:
    version: dict[str, Any] = {"name": "v1", "served": True, "storage": True,
                               "schema": {"openAPIV3Schema": {"type": "object"}}}
    if printer_columns is not None:
        version["additionalPrinterColumns"] = printer_columns
    crd = {"spec": {"group": "sagemaker.aws.amazon.ai", "scope": "Namespaced",
                    "names": {"plural": "trainingjobs", "kind": "TrainingJob"}, "versions": [version]}}
    return resource_types_from_crd(crd)[0]


def obj(name: str = "x", created: str | None = FIVE_MINUTES_AGO, **fields: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "default", "resourceVersion": "7", "uid": "u-1"}
    if created:
        meta["creationTimestamp"] = created
    return {"apiVersion": "v1", "kind": "Thing", "metadata": meta, **fields}


def table(rt: ResourceType, *objects: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("list_meta", {"resourceVersion": "42"})
    return tables.to_table(rt, list(objects), now=NOW, **kwargs)


def names(t: dict[str, Any]) -> list[str]:
    return [c["name"] for c in t["columnDefinitions"]]


def cells(t: dict[str, Any]) -> list[list[Any]]:
    return [row["cells"] for row in t["rows"]]


# --- human_duration (k8s.io/apimachinery/pkg/util/duration/duration_test.go) ----------------------

S, M, H, D = timedelta(seconds=1), timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
MS = timedelta(milliseconds=1)
Y = 365 * D


@pytest.mark.parametrize(("duration", "text"), [
    (S, "1s"), (70 * S, "70s"), (190 * S, "3m10s"), (70 * M, "70m"), (47 * H, "47h"), (49 * H, "2d1h"),
    ((8 * 24 + 2) * H, "8d"), (367 * D, "367d"), (2 * Y + 25 * H, "2y1d"), (8 * Y + 2 * H, "8y"),
    # TestHumanDurationBoundaries
    (-2 * S, "<invalid>"), (-2 * S + timedelta(microseconds=1), "0s"), (timedelta(0), "0s"), (S - MS, "0s"),
    (2 * M - MS, "119s"), (2 * M, "2m"), (2 * M + S, "2m1s"), (10 * M - MS, "9m59s"), (10 * M, "10m"),
    (10 * M + S, "10m"), (3 * H - MS, "179m"), (3 * H, "3h"), (3 * H + M, "3h1m"), (8 * H - MS, "7h59m"),
    (8 * H, "8h"), (8 * H + 59 * M, "8h"), (2 * D - MS, "47h"), (2 * D, "2d"), (2 * D + H, "2d1h"),
    (8 * D - MS, "7d23h"), (8 * D, "8d"), (8 * D + 23 * H, "8d"), (2 * Y - MS, "729d"), (2 * Y, "2y"),
    (2 * Y + 23 * H, "2y"), (2 * Y + 23 * H + 59 * M, "2y"), (2 * Y + 24 * H - MS, "2y"),
    (2 * Y + 24 * H, "2y1d"), (3 * Y, "3y"), (7 * Y, "7y"), (8 * Y - MS, "7y364d"), (8 * Y, "8y"),
    (8 * Y + 364 * D, "8y"), (9 * Y, "9y"),
])
def test_human_duration_matches_upstream(duration: timedelta, text: str) -> None:
    assert tables.human_duration(duration) == text


# --- custom resources -----------------------------------------------------------------------------

COLUMNS: list[dict[str, Any]] = [
    {"name": "Status", "type": "string", "jsonPath": ".status.trainingJobStatus"},
    {"name": "Instance", "type": "string", "jsonPath": ".spec.resourceConfig[0].instanceType", "priority": 1,
     "description": "The instance type."},
    {"name": "Count", "type": "integer", "jsonPath": ".spec.count"},
    {"name": "Ratio", "type": "number", "format": "float", "jsonPath": ".spec.ratio"},
    {"name": "Ready", "type": "boolean", "jsonPath": ".status.ready"},
    {"name": "Started", "type": "date", "jsonPath": ".status.startTime"},
    {"name": "Config", "type": "string", "jsonPath": ".spec.config"},
]


def test_crd_columns_are_name_then_printer_columns() -> None:
    t = table(custom(COLUMNS))
    assert names(t) == ["Name", "Status", "Instance", "Count", "Ratio", "Ready", "Started", "Config"]
    by_name = {c["name"]: c for c in t["columnDefinitions"]}
    assert by_name["Name"]["format"] == "name" and by_name["Name"]["type"] == "string"
    assert by_name["Instance"] == {"name": "Instance", "type": "string", "format": "", "priority": 1,
                                   "description": "The instance type."}
    assert by_name["Status"]["description"] == (
        "Custom resource definition column (in JSONPath format): .status.trainingJobStatus")
    assert by_name["Ratio"]["format"] == "float"


def test_crd_cells_evaluate_nested_and_array_paths() -> None:
    job = obj("t1", spec={"resourceConfig": [{"instanceType": "ml.m5.large"}], "count": 3.0, "ratio": 2,
                          "config": {"b": 1, "a": [True]}},
              status={"trainingJobStatus": "InProgress", "ready": True, "startTime": "2024-03-01T09:00:00Z"})
    assert cells(table(custom(COLUMNS), job)) == [
        ["t1", "InProgress", "ml.m5.large", 3, 2.0, True, "3h", '{"a":[true],"b":1}']]


def test_crd_cells_for_missing_or_mistyped_values_are_null() -> None:
    job = obj("t2", spec={"resourceConfig": [], "count": "three", "ratio": True},
              status={"ready": "yes", "startTime": "yesterday"})
    assert cells(table(custom(COLUMNS), job)) == [["t2", None, None, None, None, None, "<invalid>", None]]


def test_crd_without_printer_columns_shows_name_and_age() -> None:
    t = table(custom(None), obj("t3"))
    assert names(t) == ["Name", "Age"]
    assert t["columnDefinitions"][1]["type"] == "date"
    assert cells(t) == [["t3", "5m"]]
    assert cells(table(custom(None), obj("t4", created=None))) == [["t4", None]]


def test_crd_columns_stop_at_an_unparsable_path() -> None:
    rt = custom([{"name": "A", "type": "string", "jsonPath": ".spec.a"},
                 {"name": "B", "type": "string", "jsonPath": ".spec.b[x]"},
                 {"name": "C", "type": "string", "jsonPath": ".spec.c"}])
    t = table(rt, obj("t5", spec={"a": "1", "c": "3"}))
    assert names(t) == ["Name", "A"]
    assert cells(t) == [["t5", "1"]]


# --- built-ins ------------------------------------------------------------------------------------


def test_configmaps_show_data_count_and_age() -> None:
    t = table(builtin("", "configmaps"), obj("cm", data={"a": "1", "b": "2"}, binaryData={"c": "AA=="}))
    assert names(t) == ["Name", "Data", "Age"]
    assert cells(t) == [["cm", 3, "5m"]]


def test_secrets_namespaces_serviceaccounts_and_leases() -> None:
    secret = table(builtin("", "secrets"), obj("s", type="Opaque", data={"k": "dg=="}))
    assert (names(secret), cells(secret)) == (["Name", "Type", "Data", "Age"], [["s", "Opaque", 1, "5m"]])
    namespace = table(builtin("", "namespaces"), obj("ns", status={"phase": "Active"}))
    assert (names(namespace), cells(namespace)) == (["Name", "Status", "Age"], [["ns", "Active", "5m"]])
    account = table(builtin("", "serviceaccounts"), obj("sa", secrets=[{"name": "t"}]))
    assert (names(account), cells(account)) == (["Name", "Secrets", "Age"], [["sa", 1, "5m"]])
    lease = table(builtin("coordination.k8s.io", "leases"), obj("l", spec={"holderIdentity": "me"}), obj("m"))
    assert (names(lease), cells(lease)) == (["Name", "Holder", "Age"], [["l", "me", "5m"], ["m", "", "5m"]])


def test_core_events_show_the_wide_event_columns() -> None:
    event = obj("e1", involvedObject={"kind": "TrainingJob", "name": "t1", "fieldPath": "spec"},
                type="Warning", reason="Failed", message=" boom \n",
                source={"component": "smk8s", "host": "h"},
                firstTimestamp="2024-03-01T10:00:00Z", lastTimestamp="2024-03-01T11:59:00Z", count=4)
    t = table(builtin("", "events"), event)
    assert names(t) == ["Last Seen", "Type", "Reason", "Object", "Subobject", "Source", "Message",
                        "First Seen", "Count", "Name"]
    assert [c["priority"] for c in t["columnDefinitions"]] == [0, 0, 0, 0, 1, 1, 0, 1, 1, 1]
    assert cells(t) == [["60s", "Warning", "Failed", "trainingjob/t1", "spec", "smk8s, h", "boom", "120m", 4,
                         "e1"]]


def test_events_k8s_io_events_print_through_the_core_printer() -> None:
    event = obj("e2", regarding={"kind": "Pod"}, reason="Started", note="ok", type="Normal",
                eventTime="2024-03-01T11:59:29.5Z", reportingController="kubelet", reportingInstance="n1")
    assert cells(table(builtin("events.k8s.io", "events"), event)) == [
        ["30s", "Normal", "Started", "pod", "", "kubelet, n1", "ok", "30s", 1, "e2"]]
    series = dict(event, series={"count": 7, "lastObservedTime": "2024-03-01T11:59:50Z"})
    assert cells(table(builtin("events.k8s.io", "events"), series))[0][0] == "10s"
    assert cells(table(builtin("events.k8s.io", "events"), series))[0][8] == 7


def test_role_bindings_show_role_and_subjects() -> None:
    binding = obj("rb", roleRef={"kind": "ClusterRole", "name": "view"},
                  subjects=[{"kind": "User", "name": "alice"}, {"kind": "Group", "name": "devs"},
                            {"kind": "ServiceAccount", "name": "op", "namespace": "system"},
                            {"kind": "User", "name": "bob"}])
    t = table(builtin("rbac.authorization.k8s.io", "clusterrolebindings"), binding)
    assert names(t) == ["Name", "Role", "Age", "Users", "Groups", "ServiceAccounts"]
    assert t["columnDefinitions"][3]["description"] == "Users in the clusterRoleBinding"
    assert cells(t) == [["rb", "ClusterRole/view", "5m", "alice, bob", "devs", "system/op"]]


@pytest.mark.parametrize(("group", "plural"), [
    ("rbac.authorization.k8s.io", "roles"), ("rbac.authorization.k8s.io", "clusterroles"),
    ("apiextensions.k8s.io", "customresourcedefinitions"),
])
def test_kinds_without_a_printer_show_name_and_created_at(group: str, plural: str) -> None:
    t = table(builtin(group, plural), obj("r", created="2024-03-01T12:55:00+01:00"), obj("z", created=None))
    assert names(t) == ["Name", "Created At"]
    assert t["columnDefinitions"][1]["type"] == "date"
    assert cells(t) == [["r", "2024-03-01T11:55:00Z"], ["z", "0001-01-01T00:00:00Z"]]


def test_missing_creation_timestamp_is_unknown_age() -> None:
    assert cells(table(builtin("", "configmaps"), obj("cm", created=None))) == [["cm", 0, "<unknown>"]]


def test_column_descriptions_come_from_the_api_docs() -> None:
    t = table(builtin("", "configmaps"))
    assert t["columnDefinitions"][0]["description"].startswith("Name must be unique within a namespace.")
    assert t["columnDefinitions"][2]["description"].startswith("CreationTimestamp is a timestamp")


# --- table envelope -------------------------------------------------------------------------------


def test_rows_carry_partial_object_metadata_by_default() -> None:
    item = obj("cm", data={})
    t = table(builtin("", "configmaps"), item)
    assert t["kind"] == "Table" and t["apiVersion"] == "meta.k8s.io/v1"
    assert t["rows"][0]["object"] == {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                      "metadata": item["metadata"]}


def test_include_object_none_and_object() -> None:
    item = obj("cm")
    assert table(builtin("", "configmaps"), item, include_object="None")["rows"][0]["object"] is None
    assert table(builtin("", "configmaps"), item, include_object="Object")["rows"][0]["object"] == item
    with pytest.raises(ValueError, match="includeObject"):
        table(builtin("", "configmaps"), item, include_object="Everything")


def test_list_metadata_carries_over_and_single_objects_take_their_resource_version() -> None:
    listed = table(builtin("", "configmaps"), obj("a"),
                   list_meta={"resourceVersion": "42", "continue": "tok", "remainingItemCount": 3,
                              "selfLink": "x"})
    assert listed["metadata"] == {"resourceVersion": "42", "continue": "tok", "remainingItemCount": 3}
    single = table(builtin("", "configmaps"), obj("a"), list_meta=None)
    assert single["metadata"] == {"resourceVersion": "7"}
    empty = table(builtin("", "configmaps"))
    assert empty["rows"] == [] and empty["metadata"] == {"resourceVersion": "42"}


def test_no_headers_leaves_column_definitions_null() -> None:
    assert table(custom(None), obj(), no_headers=True)["columnDefinitions"] is None
