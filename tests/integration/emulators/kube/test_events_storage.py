"""Events written through events.k8s.io/v1 are core Events (one storage, as kube-apiserver's /registry/events):
core reads, field selectors, watches and `kubectl describe` see them, with one resourceVersion."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from tests.support.kube import RunningKube

NS = "default"


def _event(name: str, regarding: dict[str, Any], note: str) -> dict[str, Any]:
    return {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": name, "namespace": NS},
            "eventTime": "2026-11-28T10:00:00.000000Z", "reportingController": "sagemaker.aws.amazon.com/smk8s",
            "reportingInstance": "manager-0", "action": "Reconcile", "reason": "Created", "type": "Normal",
            "note": note, "regarding": regarding}


async def test_an_events_v1_event_is_read_patched_and_watched_as_a_core_event(http: aiohttp.ClientSession) -> None:
    core_events = f"/api/v1/namespaces/{NS}/events"
    v1_events = f"/apis/events.k8s.io/v1/namespaces/{NS}/events"
    async with http.get(core_events, params={"watch": "1", "resourceVersion": "0"}) as watch:
        regarding = {"apiVersion": "v1", "kind": "ConfigMap", "name": "cm", "namespace": NS, "uid": "u-1"}
        async with http.post(v1_events, json=_event("cm.1", regarding, "made")) as created:
            assert created.status == 201
            written = await created.json()
        line = json.loads(await asyncio.wait_for(watch.content.readline(), 10))
    assert line["type"] == "ADDED" and line["object"]["message"] == "made"
    async with http.get(core_events, params={"fieldSelector": "involvedObject.name=cm,involvedObject.uid=u-1"}) as r:
        items = (await r.json())["items"]
    assert [(i["metadata"]["name"], i["message"], i["reportingComponent"]) for i in items] == [
        ("cm.1", "made", "sagemaker.aws.amazon.com/smk8s")]
    assert items[0]["metadata"]["resourceVersion"] == written["metadata"]["resourceVersion"]
    # A series update through events.k8s.io (as client-go's recorder patches) shows through core, and back.
    patch = {"series": {"count": 2, "lastObservedTime": "2026-11-28T10:01:00.000000Z"}, "note": "made again"}
    async with http.patch(f"{v1_events}/cm.1", json=patch,
                          headers={"Content-Type": "application/merge-patch+json"}) as r:
        assert r.status == 200 and (await r.json())["series"]["count"] == 2
    async with http.get(f"{core_events}/cm.1") as r:
        core = await r.json()
    assert core["message"] == "made again" and core["series"]["count"] == 2 and "note" not in core
    async with http.get(v1_events, params={"fieldSelector": "regarding.name=cm"}) as r:
        assert [i["note"] for i in (await r.json())["items"]] == ["made again"]
    async with http.delete(f"{core_events}/cm.1") as r:
        assert r.status == 200
    async with http.get(f"{v1_events}/cm.1") as r:
        assert r.status == 404


def test_kubectl_describe_shows_events_recorded_through_events_v1(kube: RunningKube) -> None:
    kube.kubectl("create", "configmap", "described", "-n", NS)
    cm = kube.kubectl_json("get", "configmap", "described", "-n", NS)
    regarding = {"apiVersion": "v1", "kind": "ConfigMap", "name": "described", "namespace": NS,
                 "uid": cm["metadata"]["uid"]}
    kube.kubectl("create", "-f", "-", input=json.dumps(_event("described.1", regarding, "seen by describe")))
    described = kube.kubectl("describe", "configmap", "described", "-n", NS).stdout
    assert "Events:" in described and "seen by describe" in described and "Created" in described
    listed = kube.kubectl("get", "events", "-n", NS).stdout
    assert "seen by describe" in listed
