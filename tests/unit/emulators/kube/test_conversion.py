"""events.k8s.io/v1 <-> core/v1 Event field mapping (k8s.io/kubernetes pkg/apis/events/v1/conversion.go)."""

from __future__ import annotations

from typing import Any

from smk8s.emulators.kube.conversion import from_storage, to_storage

EVENTS_V1: dict[str, Any] = {
    "apiVersion": "events.k8s.io/v1", "kind": "Event",
    "metadata": {"name": "job.1", "namespace": "default"},
    "eventTime": "2026-11-28T10:00:00.000000Z", "reportingController": "sagemaker.aws.amazon.com/smk8s",
    "reportingInstance": "pod-1", "action": "Create", "reason": "Created", "type": "Normal", "note": "created",
    "regarding": {"kind": "TrainingJob", "name": "job", "namespace": "default", "uid": "u"},
    "series": {"count": 2, "lastObservedTime": "2026-11-28T10:01:00.000000Z"},
}


def test_an_events_v1_event_is_stored_as_the_core_event_kubectl_describe_reads() -> None:
    core = to_storage("events.k8s.io", EVENTS_V1)
    assert core["apiVersion"] == "v1" and core["kind"] == "Event"
    assert core["involvedObject"] == EVENTS_V1["regarding"] and core["message"] == "created"
    assert core["reportingComponent"] == "sagemaker.aws.amazon.com/smk8s"
    assert core["series"] == EVENTS_V1["series"] and core["reason"] == "Created"
    assert core["firstTimestamp"] is None and core["source"] == {}  # what Go serialises for empty core fields
    assert "regarding" not in core and "note" not in core


def test_reading_back_through_events_v1_gives_what_was_written() -> None:
    assert from_storage("events.k8s.io", "v1", "Event", to_storage("events.k8s.io", EVENTS_V1)) == EVENTS_V1


def test_a_core_event_reads_through_events_v1_with_its_deprecated_fields() -> None:
    core = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"}, "involvedObject": {"name": "x"},
            "message": "m", "source": {"component": "kubelet"}, "count": 3,
            "firstTimestamp": "2026-11-28T10:00:00Z", "lastTimestamp": "2026-11-28T10:05:00Z", "eventTime": None,
            "reportingComponent": "", "reportingInstance": ""}
    shown = from_storage("events.k8s.io", "v1", "Event", core)
    assert shown["regarding"] == {"name": "x"} and shown["note"] == "m"
    assert shown["deprecatedSource"] == {"component": "kubelet"} and shown["deprecatedCount"] == 3
    assert shown["deprecatedFirstTimestamp"] == "2026-11-28T10:00:00Z"
    assert "reportingController" not in shown and shown["eventTime"] is None  # omitempty / not omitempty
    assert from_storage("", "v1", "Event", core) == core  # other resources: the object as stored
