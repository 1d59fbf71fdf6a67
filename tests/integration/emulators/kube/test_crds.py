"""Conformance: CustomResourceDefinitions served, validated, pruned, defaulted and printed as apiextensions does.

Upstream references (kubernetes/kubernetes, staging/src/k8s.io/apiextensions-apiserver):
- pkg/controller/establish + status/naming controllers: ``NamesAccepted`` and ``Established`` conditions.
- pkg/apiserver/schema/validation.go (ValidateStructural): non-structural schemas are rejected at CRD create;
  single-version (identical) schemas are reported under ``spec.validation.openAPIV3Schema``.
- pkg/apiserver/schema/pruning, defaulting; pkg/apiserver/schema/cel (``x-kubernetes-validations``: errors are
  ``FieldValueInvalid`` at the rule's schema node, ``Invalid value: "<type>": <message>``; transition rules only run
  on update; ``messageExpression`` replaces the message).
- pkg/registry/customresource/tableconvertor: ``additionalPrinterColumns`` served as ``meta.k8s.io/v1`` Table,
  absent values as null cells, ``includeObject`` None/Metadata/Object.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from kubernetes_asyncio import client as aclient
from kubernetes_asyncio import config as aconfig
from kubernetes_asyncio import watch as awatch
from kubernetes_asyncio.client.exceptions import ApiException

from smk8s.emulators.kube.server import KubeEmulator

GROUP = "smk8s.example.com"
CRD_NAME = f"widgets.{GROUP}"
BASE = f"/apis/{GROUP}/v1"
WIDGETS = f"{BASE}/namespaces/default/widgets"
TABLE_ACCEPT = (
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
)


def widget_crd() -> dict[str, Any]:
    spec_schema: dict[str, Any] = {
        "type": "object",
        "required": ["size"],
        "x-kubernetes-validations": [
            {
                "rule": "self.replicas <= 5 || self.size == 'L'",
                "messageExpression": "'replicas ' + string(self.replicas) + ' needs size L, not ' + self.size",
            }
        ],
        "properties": {
            "size": {"type": "string", "enum": ["S", "M", "L"]},
            "replicas": {"type": "integer", "minimum": 0, "maximum": 10, "default": 1},
            "mode": {"type": "string", "default": "auto"},
            "owner": {"type": "string", "maxLength": 8},
            "immutableId": {
                "type": "string",
                "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "immutableId is immutable"}],
            },
            "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
        },
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": CRD_NAME},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": "Widget",
                "listKind": "WidgetList",
                "plural": "widgets",
                "singular": "widget",
                "shortNames": ["wd"],
                "categories": ["all"],
            },
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [
                        {"name": "Size", "type": "string", "jsonPath": ".spec.size", "description": "widget size"},
                        {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
                        {"name": "Phase", "type": "string", "jsonPath": ".status.phase", "priority": 1},
                        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                    ],
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": spec_schema,
                                "status": {
                                    "type": "object",
                                    "properties": {"phase": {"type": "string"}, "ready": {"type": "integer"}},
                                },
                            },
                        }
                    },
                }
            ],
        },
    }


def widget(name: str = "w1", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/v1",
        "kind": "Widget",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"size": "S", **spec},
    }


# -- fixtures and helpers ----------------------------------------------------------------------------------------


@pytest.fixture
async def api(emulator: KubeEmulator) -> AsyncIterator[aclient.ApiClient]:
    api_client = await aconfig.new_client_from_config_dict(emulator.kubeconfig)
    async with api_client:
        yield api_client


async def request(
    http: aiohttp.ClientSession, method: str, path: str, body: Any = None, content_type: str = "application/json"
) -> tuple[int, Any]:
    import json

    data = None if body is None else json.dumps(body)
    headers = {"Content-Type": content_type} if body is not None else {}
    async with http.request(method, path, data=data, headers=headers) as resp:
        text = await resp.text()
        return resp.status, json.loads(text) if text else None


async def wait_established(api: aclient.ApiClient, name: str = CRD_NAME, seconds: float = 5) -> dict[str, Any]:
    """Watch the CRD (initial state included) until its Established condition is True; returns its conditions."""
    ext = aclient.ApiextensionsV1Api(api)
    w = awatch.Watch()
    async with asyncio.timeout(seconds):
        async with w.stream(
            ext.list_custom_resource_definition, field_selector=f"metadata.name={name}", timeout_seconds=int(seconds)
        ) as stream:
            async for event in stream:
                conditions = {c.type: c for c in (event["object"].status.conditions or [])}
                if conditions.get("Established") and conditions["Established"].status == "True":
                    w.stop()
                    return conditions
    raise AssertionError("the watch ended before the CRD was Established")


async def install(http: aiohttp.ClientSession, api: aclient.ApiClient, crd: dict[str, Any] | None = None) -> None:
    status, body = await request(
        http, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd or widget_crd()
    )
    assert status == 201, body
    await wait_established(api, (crd or widget_crd())["metadata"]["name"])


def causes(status: dict[str, Any]) -> list[tuple[str, str, str]]:
    return sorted((c["reason"], c.get("field", ""), c["message"]) for c in status["details"]["causes"])


# -- establishing and serving ------------------------------------------------------------------------------------


async def test_crd_is_established_and_served_within_a_second(
    http: aiohttp.ClientSession, api: aclient.ApiClient
) -> None:
    status, _ = await request(http, "GET", WIDGETS)
    assert status == 404
    started = time.monotonic()
    ext: Any = aclient.ApiextensionsV1Api(api)
    created = await ext.create_custom_resource_definition(widget_crd())
    assert created.metadata.name == CRD_NAME
    conditions = await wait_established(api, seconds=1)
    assert conditions["NamesAccepted"].status == "True" and conditions["NamesAccepted"].reason == "NoConflicts"
    assert conditions["Established"].reason == "InitialNamesAccepted"
    status, resources = await request(http, "GET", BASE)
    assert status == 200 and "widgets" in [r["name"] for r in resources["resources"]]
    status, listed = await request(http, "GET", WIDGETS)
    assert status == 200 and listed["kind"] == "WidgetList" and listed["items"] == []
    assert time.monotonic() - started < 1.0
    crd = await ext.read_custom_resource_definition(CRD_NAME)
    assert crd.status.accepted_names.kind == "Widget" and crd.status.accepted_names.short_names == ["wd"]
    assert crd.status.stored_versions == ["v1"]


async def test_non_structural_schema_is_rejected_at_crd_create(
    http: aiohttp.ClientSession, api: aclient.ApiClient
) -> None:
    crd = widget_crd()
    props = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    props["untyped"] = {"description": "no type"}
    props["choice"] = {"type": "object", "anyOf": [{"properties": {"a": {"type": "string"}}}]}
    status, body = await request(http, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    assert status == 422 and body["reason"] == "Invalid" and body["code"] == 422
    assert body["details"]["kind"] == "CustomResourceDefinition" and body["details"]["name"] == CRD_NAME
    assert body["details"]["group"] == "apiextensions.k8s.io"
    root = "spec.validation.openAPIV3Schema.properties[spec]"
    assert causes(body) == [
        (
            "FieldValueForbidden",
            f"{root}.properties[choice].anyOf[0].properties[a].type",
            "Forbidden: must be empty to be structural",
        ),
        (
            "FieldValueRequired",
            f"{root}.properties[untyped].type",
            "Required value: must not be empty for specified object fields",
        ),
    ]
    assert body["message"].startswith(f'CustomResourceDefinition.apiextensions.k8s.io "{CRD_NAME}" is invalid: [')
    status, _ = await request(http, "GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{CRD_NAME}")
    assert status == 404


async def test_schema_validation_reports_every_field_cause(http: aiohttp.ClientSession, api: aclient.ApiClient) -> None:
    await install(http, api)
    bad = widget(size="XL", replicas=11, owner="much-too-long", tags=["a", "b", "c"])
    bad["spec"]["immutableId"] = 7
    status, body = await request(http, "POST", WIDGETS, bad)
    assert status == 422 and body["kind"] == "Status" and body["status"] == "Failure" and body["reason"] == "Invalid"
    assert body["details"]["group"] == GROUP and body["details"]["kind"] == "Widget" and body["details"]["name"] == "w1"
    assert causes(body) == sorted(
        [
            ("FieldValueNotSupported", "spec.size", 'Unsupported value: "XL": supported values: "S", "M", "L"'),
            (
                "FieldValueInvalid",
                "spec.replicas",
                "Invalid value: 11: spec.replicas in body should be less than or equal to 10",
            ),
            ("FieldValueTooLong", "spec.owner", "Too long: may not be more than 8 bytes"),
            ("FieldValueTooMany", "spec.tags", "Too many: 3: must have at most 2 items"),
            (
                "FieldValueTypeInvalid",
                "spec.immutableId",
                'Invalid value: "integer": spec.immutableId in body must be of type string: "integer"',
            ),
        ]
    )
    assert body["message"].startswith('Widget.smk8s.example.com "w1" is invalid: [')
    missing = widget()
    del missing["spec"]["size"]
    status, body = await request(http, "POST", WIDGETS, missing)
    assert status == 422 and causes(body) == [("FieldValueRequired", "spec.size", "Required value")]
    assert body["message"] == 'Widget.smk8s.example.com "w1" is invalid: spec.size: Required value'


async def test_pruning_keeps_only_known_or_preserved_fields_and_defaults_apply(
    http: aiohttp.ClientSession, api: aclient.ApiClient
) -> None:
    await install(http, api)
    obj = widget()
    obj["spec"]["unknown"] = "dropped"
    obj["spec"]["extra"] = {"anything": {"nested": [1, 2]}}
    obj["topLevelUnknown"] = True
    status, created = await request(http, "POST", WIDGETS, obj)
    assert status == 201, created
    assert "unknown" not in created["spec"] and "topLevelUnknown" not in created
    assert created["spec"]["extra"] == {"anything": {"nested": [1, 2]}}
    assert created["spec"]["replicas"] == 1 and created["spec"]["mode"] == "auto"  # schema defaults
    # Strict field validation refuses the unknown field instead of pruning it.
    status, body = await request(http, "POST", WIDGETS + "?fieldValidation=Strict", widget("w2", unknown=1))
    assert status == 400 and body["reason"] == "BadRequest"
    assert 'unknown field "spec.unknown"' in body["message"]
    # Defaults also apply to what is read back (the stored object has them), and an explicit value wins.
    status, stored = await request(http, "GET", f"{WIDGETS}/w1")
    assert stored["spec"]["replicas"] == 1
    status, explicit = await request(http, "POST", WIDGETS, widget("w3", replicas=3, mode="manual"))
    assert explicit["spec"]["replicas"] == 3 and explicit["spec"]["mode"] == "manual"


async def test_cel_rules_with_message_expression_and_transition_rule(
    http: aiohttp.ClientSession, api: aclient.ApiClient
) -> None:
    await install(http, api)
    status, body = await request(http, "POST", WIDGETS, widget(replicas=7))
    assert status == 422 and body["reason"] == "Invalid"
    # messageExpression output is used as is (no value shown); a rule message follows the value (kubernetes PR
    # "CEL validation errors show the value", fieldErrorForReason with field.OmitValueType for messageExpression).
    assert causes(body) == [("FieldValueInvalid", "spec", "Invalid value: replicas 7 needs size L, not S")]
    # The transition rule is not evaluated on create (there is no oldSelf)...
    status, created = await request(http, "POST", WIDGETS, widget(immutableId="a"))
    assert status == 201, created
    # ...and holds on update.
    patch: dict[str, Any] = {"spec": {"immutableId": "b"}}
    status, body = await request(http, "PATCH", f"{WIDGETS}/w1", patch, "application/merge-patch+json")
    assert status == 422
    assert causes(body) == [("FieldValueInvalid", "spec.immutableId", 'Invalid value: "b": immutableId is immutable')]
    # An unchanged value and other changes pass.
    patch = {"spec": {"immutableId": "a", "size": "L", "replicas": 7}}
    status, updated = await request(http, "PATCH", f"{WIDGETS}/w1", patch, "application/merge-patch+json")
    assert status == 200, updated
    assert updated["spec"]["replicas"] == 7


async def test_status_subresource_splits_spec_and_status(http: aiohttp.ClientSession, api: aclient.ApiClient) -> None:
    await install(http, api)
    obj = widget()
    obj["status"] = {"phase": "Ignored"}
    status, created = await request(http, "POST", WIDGETS, obj)
    assert status == 201 and "status" not in created and created["metadata"]["generation"] == 1
    # /status ignores everything but status, metadata included (customresource statusStrategy.PrepareForUpdate
    # copies the old object and sets only status and managedFields).
    patch = {
        "status": {"phase": "Running", "ready": 1},
        "spec": {"size": "M"},
        "metadata": {"labels": {"team": "a"}, "annotations": {"note": "x"}},
    }
    status, after = await request(http, "PATCH", f"{WIDGETS}/w1/status", patch, "application/merge-patch+json")
    assert status == 200 and after["status"] == {"phase": "Running", "ready": 1}
    assert after["spec"]["size"] == "S" and after["metadata"]["generation"] == 1
    assert "labels" not in after["metadata"] and "annotations" not in after["metadata"]
    status, stored = await request(http, "GET", f"{WIDGETS}/w1")
    assert "labels" not in stored["metadata"] and stored["status"]["phase"] == "Running"
    # Status is validated against the schema too.
    bad = {"status": {"ready": "one"}}
    status, body = await request(http, "PATCH", f"{WIDGETS}/w1/status", bad, "application/merge-patch+json")
    assert status == 422 and [c[1] for c in causes(body)] == ["status.ready"]
    # The main resource ignores status changes and bumps generation only for spec changes.
    patch = {"status": {"phase": "Hacked"}, "spec": {"size": "M"}}
    status, after = await request(http, "PATCH", f"{WIDGETS}/w1", patch, "application/merge-patch+json")
    assert after["status"]["phase"] == "Running" and after["spec"]["size"] == "M"
    assert after["metadata"]["generation"] == 2
    # The typed client's status call reaches the same subresource.
    custom = aclient.CustomObjectsApi(api)
    got = await custom.get_namespaced_custom_object_status(GROUP, "v1", "default", "widgets", "w1")
    assert got["status"]["phase"] == "Running"


async def test_without_status_subresource_a_status_change_bumps_the_generation(
    http: aiohttp.ClientSession, api: aclient.ApiClient
) -> None:
    """customResourceStrategy.PrepareForUpdate: with the status subresource off, everything but metadata counts
    as the spec, status included; a metadata-only change leaves the generation alone."""
    crd = widget_crd()
    del crd["spec"]["versions"][0]["subresources"]
    await install(http, api, crd)
    obj = widget()
    obj["status"] = {"phase": "Kept"}
    status, created = await request(http, "POST", WIDGETS, obj)
    assert status == 201 and created["status"] == {"phase": "Kept"}, created
    assert created["metadata"]["generation"] == 1
    patch: dict[str, Any] = {"status": {"phase": "Running"}}
    status, after = await request(http, "PATCH", f"{WIDGETS}/w1", patch, "application/merge-patch+json")
    assert status == 200 and after["status"] == {"phase": "Running"}
    assert after["metadata"]["generation"] == 2
    patch = {"metadata": {"annotations": {"note": "x"}}}
    status, after = await request(http, "PATCH", f"{WIDGETS}/w1", patch, "application/merge-patch+json")
    assert status == 200 and after["metadata"]["annotations"] == {"note": "x"}
    assert after["metadata"]["generation"] == 2
    # There is no /status endpoint to write through.
    status, _ = await request(http, "PATCH", f"{WIDGETS}/w1/status", patch, "application/merge-patch+json")
    assert status == 404


async def test_printer_columns_are_served_as_a_table(http: aiohttp.ClientSession, api: aclient.ApiClient) -> None:
    await install(http, api)
    await request(http, "POST", WIDGETS, widget("w1", replicas=2))
    patch = {"status": {"phase": "Running"}}
    await request(http, "PATCH", f"{WIDGETS}/w1/status", patch, "application/merge-patch+json")
    await request(http, "POST", WIDGETS, widget("w2", size="M"))

    async with http.get(WIDGETS, headers={"Accept": TABLE_ACCEPT}) as resp:
        assert resp.status == 200 and resp.headers["Content-Type"].startswith("application/json")
        table = await resp.json()
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    assert table["metadata"]["resourceVersion"]
    columns = [(c["name"], c["type"], c["format"], c["priority"]) for c in table["columnDefinitions"]]
    assert columns == [
        ("Name", "string", "name", 0),
        ("Size", "string", "", 0),
        ("Replicas", "integer", "", 0),
        ("Phase", "string", "", 1),
        ("Age", "date", "", 0),
    ]
    descriptions = {c["name"]: c["description"] for c in table["columnDefinitions"]}
    assert descriptions["Size"] == "widget size"
    assert descriptions["Replicas"] == "Custom resource definition column (in JSONPath format): .spec.replicas"
    rows = {row["cells"][0]: row for row in table["rows"]}
    assert rows["w1"]["cells"][1:4] == ["S", 2, "Running"]
    assert rows["w2"]["cells"][1:4] == ["M", 1, None]  # an absent value is a null cell
    assert isinstance(rows["w1"]["cells"][4], str) and rows["w1"]["cells"][4].endswith("s")
    # includeObject defaults to Metadata: each row carries PartialObjectMetadata.
    assert rows["w1"]["object"]["kind"] == "PartialObjectMetadata"
    assert rows["w1"]["object"]["apiVersion"] == "meta.k8s.io/v1"
    assert rows["w1"]["object"]["metadata"]["name"] == "w1" and "spec" not in rows["w1"]["object"]

    async with http.get(WIDGETS + "?includeObject=Object", headers={"Accept": TABLE_ACCEPT}) as resp:
        full = await resp.json()
    assert full["rows"][0]["object"]["kind"] == "Widget" and full["rows"][0]["object"]["spec"]["size"]
    async with http.get(WIDGETS + "?includeObject=None", headers={"Accept": TABLE_ACCEPT}) as resp:
        bare = await resp.json()
    assert all(row["object"] is None for row in bare["rows"])
    # A single object is a one-row Table.
    async with http.get(f"{WIDGETS}/w1", headers={"Accept": TABLE_ACCEPT}) as resp:
        one = await resp.json()
    assert one["kind"] == "Table" and [r["cells"][0] for r in one["rows"]] == ["w1"]
    # Without the Table Accept header the list is the plain WidgetList.
    _, plain = await request(http, "GET", WIDGETS)
    assert plain["kind"] == "WidgetList"


async def test_deleting_a_crd_deletes_its_objects(http: aiohttp.ClientSession, api: aclient.ApiClient) -> None:
    await install(http, api)
    for name in ("w1", "w2"):
        status, _ = await request(http, "POST", WIDGETS, widget(name))
        assert status == 201
    custom = aclient.CustomObjectsApi(api)
    ext = aclient.ApiextensionsV1Api(api)
    added: set[str] = set()
    deleted: set[str] = set()
    w = awatch.Watch()
    async with asyncio.timeout(10):
        # No resourceVersion: the watch starts with the current objects, so it is connected before the delete.
        async with w.stream(
            custom.list_namespaced_custom_object, GROUP, "v1", "default", "widgets", timeout_seconds=10
        ) as stream:
            async for event in stream:
                name = event["object"]["metadata"]["name"]
                if event["type"] == "ADDED":
                    added.add(name)
                    if added == {"w1", "w2"}:
                        await ext.delete_custom_resource_definition(CRD_NAME)
                elif event["type"] == "DELETED":
                    deleted.add(name)
                    if deleted == {"w1", "w2"}:
                        w.stop()
    assert deleted == {"w1", "w2"}
    with pytest.raises(ApiException) as gone:
        await ext.read_custom_resource_definition(CRD_NAME)
    assert gone.value.status == 404
    status, _ = await request(http, "GET", WIDGETS)
    assert status == 404
    # Re-creating the CRD does not bring the objects back.
    await install(http, api)
    assert (await custom.list_namespaced_custom_object(GROUP, "v1", "default", "widgets"))["items"] == []


async def test_crd_update_adding_a_version_and_a_field_takes_effect(
    http: aiohttp.ClientSession, api: aclient.ApiClient
) -> None:
    await install(http, api)
    obj = widget()
    obj["spec"]["color"] = "red"
    status, created = await request(http, "POST", WIDGETS, obj)
    assert "color" not in created["spec"]  # not in the schema yet: pruned
    status, _ = await request(http, "GET", f"/apis/{GROUP}/v2/namespaces/default/widgets")
    assert status == 404

    ext = aclient.ApiextensionsV1Api(api)
    crd = await ext.read_custom_resource_definition(CRD_NAME)
    body = aclient.ApiClient().sanitize_for_serialization(crd)
    schema = body["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    schema["properties"]["spec"]["properties"]["color"] = {"type": "string", "enum": ["red", "blue"]}
    v2 = copy.deepcopy(body["spec"]["versions"][0])
    v2.update(name="v2", storage=False)
    body["spec"]["versions"].append(v2)
    await ext.replace_custom_resource_definition(CRD_NAME, body)
    await wait_established(api)

    status, group = await request(http, "GET", f"/apis/{GROUP}")
    assert [v["version"] for v in group["versions"]] == ["v2", "v1"]  # kube-aware version order
    status, listed = await request(http, "GET", f"/apis/{GROUP}/v2/namespaces/default/widgets")
    assert status == 200 and listed["items"][0]["apiVersion"] == f"{GROUP}/v2"
    obj = widget("w2")
    obj["spec"]["color"] = "red"
    status, created = await request(http, "POST", WIDGETS, obj)
    assert status == 201 and created["spec"]["color"] == "red"
    obj = widget("w3")
    obj["spec"]["color"] = "green"
    status, body_ = await request(http, "POST", WIDGETS, obj)
    assert status == 422 and causes(body_)[0][:2] == ("FieldValueNotSupported", "spec.color")
    crd = await ext.read_custom_resource_definition(CRD_NAME)
    assert crd.status.stored_versions == ["v1"]
