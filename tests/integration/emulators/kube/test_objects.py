"""Object semantics (issue 2, behaviour 4), proven over HTTP with the official ``kubernetes`` client and kubectl.

Server-set metadata, the one cluster-wide resourceVersion counter, generation, generateName, the standard errors
(404/409/422), PUT, the four PATCH types, server-side apply, dry run, field validation, ObjectMeta validation and
size limits, no-op updates and the status subresource split. Expected wording follows kube-apiserver
(k8s.io/apimachinery/pkg/api/errors, k8s.io/apiserver/pkg/registry/generic/registry/store.go and
pkg/endpoints/handlers), cited per test.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException
from kubernetes_asyncio import client as aclient
from kubernetes_asyncio import config as aconfig

from smk8s.emulators.kube.server import KubeEmulator
from tests.support.kube import RunningKube
from tests.support.kube import failure_status as status_of

MANIFESTS = Path(__file__).parents[3] / "support" / "manifests"
CRD = MANIFESTS / "trainingjob-crd.yaml"
JOB = MANIFESTS / "trainingjob.yaml"
GROUP, VERSION, PLURAL = "sagemaker.aws.amazon.com", "v1", "trainingjobs"
CRD_NAME = f"{PLURAL}.{GROUP}"


def install_crd(api: client.ApiClient) -> None:
    """Create the TrainingJob CRD and wait (on a watch) until it is Established, as a client must."""
    client.ApiextensionsV1Api(api).create_custom_resource_definition(yaml.safe_load(CRD.read_text()))
    stream: Any = watch.Watch()  # type: ignore[no-untyped-call]
    for event in stream.stream(
        client.ApiextensionsV1Api(api).list_custom_resource_definition,
        field_selector=f"metadata.name={CRD_NAME}",
        timeout_seconds=10,
    ):
        conditions = event["object"].status.conditions or []
        if any(c.type == "Established" and c.status == "True" for c in conditions):
            stream.stop()
            return
    raise AssertionError("the CRD never became Established")


def install_crd_via_kubectl(kube: RunningKube, *extra: str) -> None:
    kube.kubectl("apply", "-f", str(CRD), *extra)
    kube.kubectl("wait", "--for=condition=Established", "--timeout=10s", f"crd/{CRD_NAME}")


def job_body(name: str = "xgboost-mnist") -> dict[str, Any]:
    body: dict[str, Any] = yaml.safe_load(JOB.read_text())
    body["metadata"]["name"] = name
    return body


def configmap(name: str, **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, **meta}, "data": {"k": "v"}}


# -- server-set metadata --------------------------------------------------------------------------------------


def test_server_sets_uid_timestamp_and_resource_versions_from_one_cluster_wide_counter(
    kube: RunningKube, api: client.ApiClient
) -> None:
    install_crd(api)
    core: Any = client.CoreV1Api(api)
    custom: Any = client.CustomObjectsApi(api)
    coordination: Any = client.CoordinationV1Api(api)
    # Client-supplied server-owned fields are ignored on create (rest.BeforeCreate / FillObjectMetaSystemFields).
    forged = configmap("cm", uid="11111111-1111-1111-1111-111111111111", creationTimestamp="2001-01-01T00:00:00Z")
    created = [
        core.create_namespaced_config_map("default", forged),
        core.create_namespaced_secret("default", {"metadata": {"name": "s"}, "stringData": {"a": "b"}}),
        core.create_namespace({"metadata": {"name": "team-a"}}),
        coordination.create_namespaced_lease("default", {"metadata": {"name": "leader"}, "spec": {}}),
    ]
    metas = [(o.metadata.uid, o.metadata.creation_timestamp, o.metadata.resource_version) for o in created]
    job = custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, job_body())
    metas.append((job["metadata"]["uid"], job["metadata"]["creationTimestamp"], job["metadata"]["resourceVersion"]))
    uids = [m[0] for m in metas]
    assert len(set(uids)) == len(uids) and "11111111-1111-1111-1111-111111111111" not in uids
    for uid in uids:
        assert uuid.UUID(uid).version == 4
    assert created[0].metadata.creation_timestamp.year >= 2025
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", job["metadata"]["creationTimestamp"])
    # One counter across every resource: strictly increasing in write order, whatever the kind.
    rvs = [int(m[2]) for m in metas]
    assert rvs == sorted(rvs) and len(set(rvs)) == len(rvs)
    # A list's resourceVersion is the cluster's current revision, not a per-resource one.
    assert int(core.list_namespaced_config_map("default").metadata.resource_version) >= rvs[-1]
    # metadata.generation: maintained for custom resources, not for ConfigMaps.
    assert job["metadata"]["generation"] == 1 and created[0].metadata.generation is None


def test_create_carrying_a_resource_version_is_refused_like_etcd3_store(api: client.ApiClient) -> None:
    core: Any = client.CoreV1Api(api)
    # storage.ErrResourceVersionSetOnCreate is not an APIStatus: ErrorToAPIStatus makes it a 500, reason unknown.
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_config_map("default", configmap("cm", resourceVersion="42"))
    assert exc.value.status == 500
    body = json.loads(exc.value.body or "")
    assert body["message"] == "resourceVersion should not be set on objects to be created"
    assert "reason" not in body
    # Dry run does not check it, and without it the same object is created.
    assert core.create_namespaced_config_map("default", configmap("cm", resourceVersion="42"), dry_run="All")
    assert core.create_namespaced_config_map("default", configmap("cm")).metadata.resource_version != "42"


def test_generate_name_appends_five_random_characters(api: client.ApiClient) -> None:
    core: Any = client.CoreV1Api(api)
    first = core.create_namespaced_config_map("default", {"metadata": {"generateName": "job-"}})
    second = core.create_namespaced_config_map("default", {"metadata": {"generateName": "job-"}})
    for obj in (first, second):
        # names.SimpleNameGenerator: prefix + 5 characters from "bcdfghjklmnpqrstvwxz2456789".
        assert re.fullmatch(r"job-[bcdfghjklmnpqrstvwxz2456789]{5}", obj.metadata.name)
        assert obj.metadata.generate_name == "job-"
    assert first.metadata.name != second.metadata.name
    assert core.read_namespaced_config_map(first.metadata.name, "default").metadata.uid == first.metadata.uid


def test_not_found_already_exists_and_missing_namespace(api: client.ApiClient) -> None:
    core: Any = client.CoreV1Api(api)
    with pytest.raises(ApiException) as missing_ns:
        core.create_namespaced_config_map("nope", configmap("cm"))
    # The NamespaceLifecycle admission plugin: namespaced create in a missing namespace is 404 on namespaces.
    body = status_of(missing_ns.value)
    assert (body["code"], body["reason"], body["message"]) == (404, "NotFound", 'namespaces "nope" not found')
    assert body["details"] == {"name": "nope", "kind": "namespaces"}

    core.create_namespaced_config_map("default", configmap("cm"))
    with pytest.raises(ApiException) as exists:
        core.create_namespaced_config_map("default", configmap("cm"))
    body = status_of(exists.value)
    assert (body["code"], body["reason"]) == (409, "AlreadyExists")
    assert body["message"] == 'configmaps "cm" already exists'

    with pytest.raises(ApiException) as gone:
        core.read_namespaced_config_map("absent", "default")
    body = status_of(gone.value)
    assert (body["code"], body["reason"], body["message"]) == (404, "NotFound", 'configmaps "absent" not found')
    with pytest.raises(ApiException) as gone_lease:
        client.CoordinationV1Api(api).read_namespaced_lease("absent", "default")
    assert status_of(gone_lease.value)["message"] == 'leases.coordination.k8s.io "absent" not found'


def test_update_with_stale_resource_version_conflicts_and_put_replaces(api: client.ApiClient) -> None:
    core: Any = client.CoreV1Api(api)
    v1 = core.create_namespaced_config_map("default", configmap("cm"))
    stale = copy.deepcopy(v1)
    v1.data = {"k": "v2", "extra": "x"}
    v2 = core.replace_namespaced_config_map("cm", "default", v1)
    assert v2.data == {"k": "v2", "extra": "x"}  # PUT replaces the whole object
    assert int(v2.metadata.resource_version) > int(stale.metadata.resource_version)
    stale.data = {"k": "lost update"}
    with pytest.raises(ApiException) as conflict:
        core.replace_namespaced_config_map("cm", "default", stale)
    body = status_of(conflict.value)
    assert (body["code"], body["reason"]) == (409, "Conflict")
    assert body["message"] == (
        'Operation cannot be fulfilled on configmaps "cm": the object has been modified; please apply your changes '
        "to the latest version and try again"
    )
    # A patch carrying a stale resourceVersion is refused the same way.
    with pytest.raises(ApiException) as patch_conflict:
        core.patch_namespaced_config_map(
            "cm", "default", {"metadata": {"resourceVersion": stale.metadata.resource_version}, "data": {"k": "z"}}
        )
    assert status_of(patch_conflict.value)["reason"] == "Conflict"
    assert core.read_namespaced_config_map("cm", "default").data == {"k": "v2", "extra": "x"}


def test_uid_is_a_put_precondition_and_immutable_through_patch(api: client.ApiClient) -> None:
    core: Any = client.CoreV1Api(api)
    cm = core.create_namespaced_config_map("default", configmap("cm"))
    # rest.DefaultUpdatedObjectInfo turns a PUT's metadata.uid into a storage precondition: 409, before the
    # resourceVersion check (InterpretUpdateError wraps the etcd3 store's invalid-object error).
    cm.metadata.uid = "00000000-0000-4000-8000-000000000000"
    cm.metadata.resource_version = "1"
    with pytest.raises(ApiException) as put:
        core.replace_namespaced_config_map("cm", "default", cm)
    body = status_of(put.value)
    assert (body["code"], body["reason"]) == (409, "Conflict")
    real_uid = core.read_namespaced_config_map("cm", "default").metadata.uid
    assert body["message"] == (
        'Operation cannot be fulfilled on configmaps "cm": StorageError: invalid object, Code: 4, '
        "Key: /registry/configmaps/default/cm, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: "
        f"UID in precondition: 00000000-0000-4000-8000-000000000000, UID in object meta: {real_uid}"
    )
    # A patch has no precondition; changing the uid fails ObjectMeta update validation.
    with pytest.raises(ApiException) as patched:
        core.patch_namespaced_config_map(
            "cm",
            "default",
            {"metadata": {"uid": "00000000-0000-4000-8000-000000000000"}},
            _content_type="application/merge-patch+json",
        )
    assert status_of(patched.value)["message"] == (
        'ConfigMap "cm" is invalid: metadata.uid: Invalid value: "00000000-0000-4000-8000-000000000000": '
        "field is immutable"
    )
    # The right uid is accepted, creationTimestamp changes are ignored (rest.BeforeUpdate).
    cm.metadata.uid = real_uid
    cm.metadata.resource_version = None
    cm.metadata.creation_timestamp = None
    cm.data = {"k": "v2"}
    updated = core.replace_namespaced_config_map("cm", "default", cm)
    assert updated.data == {"k": "v2"} and updated.metadata.creation_timestamp is not None


def test_custom_resource_put_requires_resource_version(api: client.ApiClient) -> None:
    install_crd(api)
    custom: Any = client.CustomObjectsApi(api)
    custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, job_body())
    # The customresource strategy does not allow unconditional updates (AllowUnconditionalUpdate() == false).
    with pytest.raises(ApiException) as exc:
        custom.replace_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "xgboost-mnist", job_body())
    body = status_of(exc.value)
    assert body["reason"] == "Invalid"
    assert "metadata.resourceVersion: Invalid value: 0: must be specified for an update" in body["message"]


# -- patch types ----------------------------------------------------------------------------------------------


def test_merge_json_and_strategic_merge_patches_on_a_built_in(api: client.ApiClient) -> None:
    core: Any = client.CoreV1Api(api)
    core.create_namespaced_config_map("default", configmap("cm", finalizers=["example.com/a"]))
    # JSON merge patch (RFC 7386): lists are replaced, null deletes.
    merged = core.patch_namespaced_config_map(
        "cm",
        "default",
        {"metadata": {"finalizers": ["example.com/b"]}, "data": {"k": None, "m": "1"}},
        _content_type="application/merge-patch+json",
    )
    assert merged.metadata.finalizers == ["example.com/b"] and merged.data == {"m": "1"}
    # Strategic merge patch: ObjectMeta.finalizers has patchStrategy "merge", so the list is merged, not replaced.
    # Order as strategicpatch.normalizeElementOrder/mergeSortedSlice: an item absent from the live list sorts
    # before the server-only items.
    strategic = core.patch_namespaced_config_map(
        "cm",
        "default",
        {"metadata": {"finalizers": ["example.com/c"]}, "data": {"s": "2"}},
        _content_type="application/strategic-merge-patch+json",
    )
    assert strategic.metadata.finalizers == ["example.com/c", "example.com/b"]
    assert strategic.data == {"m": "1", "s": "2"}
    # JSON patch (RFC 6902), including a failing test op (422, nothing written).
    ops = [{"op": "remove", "path": "/metadata/finalizers/0"}, {"op": "add", "path": "/data/j", "value": "3"}]
    patched = core.patch_namespaced_config_map("cm", "default", ops, _content_type="application/json-patch+json")
    assert patched.metadata.finalizers == ["example.com/b"] and patched.data == {"m": "1", "s": "2", "j": "3"}
    with pytest.raises(ApiException) as failed:
        core.patch_namespaced_config_map(
            "cm",
            "default",
            [{"op": "test", "path": "/data/j", "value": "no"}],
            _content_type="application/json-patch+json",
        )
    assert failed.value.status == 422
    assert core.read_namespaced_config_map("cm", "default").metadata.resource_version == (
        patched.metadata.resource_version
    )


def test_strategic_merge_patch_on_a_custom_resource_is_415_like_upstream(kube: RunningKube) -> None:
    install_crd_via_kubectl(kube)
    kube.kubectl("apply", "-f", str(JOB))
    # kubectl patch defaults to strategic; the apiextensions-apiserver refuses it for custom resources.
    proc = kube.kubectl("patch", "tj", "xgboost-mnist", "-p", '{"spec":{"trainingJobName":"n"}}', check=False)
    assert proc.returncode != 0
    assert proc.stderr == (
        "error: application/strategic-merge-patch+json is not supported by sagemaker.aws.amazon.com/v1, "
        "Kind=TrainingJob: the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml\n"
    )
    proc = kube.kubectl(
        "patch", "tj", "xgboost-mnist", "--type=merge", "-p", '{"spec":{"trainingJobName":"n"}}', check=True
    )
    assert kube.kubectl_json("get", "tj", "xgboost-mnist")["spec"]["trainingJobName"] == "n"


def test_strategic_merge_patch_content_type_for_custom_resource_over_http(api: client.ApiClient) -> None:
    install_crd(api)
    custom: Any = client.CustomObjectsApi(api)
    custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, job_body())
    with pytest.raises(ApiException) as exc:
        custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            "default",
            PLURAL,
            "xgboost-mnist",
            {"spec": {"trainingJobName": "n"}},
            _content_type="application/strategic-merge-patch+json",
        )
    body = status_of(exc.value)
    assert (body["code"], body["reason"]) == (415, "UnsupportedMediaType")
    assert "application/strategic-merge-patch+json" not in body["message"]
    assert "application/merge-patch+json" in body["message"]


# -- server-side apply ----------------------------------------------------------------------------------------


def apply_patch(
    api: client.ApiClient, name: str, manifest: dict[str, Any], manager: str, *, force: bool = False
) -> Any:
    """PATCH application/apply-patch+yaml (JSON is YAML), as client-go's Apply does; returns the JSON body."""
    core: Any = client.CoreV1Api(api)
    response = core.patch_namespaced_config_map(
        name,
        "default",
        manifest,
        field_manager=manager or None,
        force=force or None,
        _content_type="application/apply-patch+yaml",
        _preload_content=False,
    )
    return json.loads(response.data)


def test_server_side_apply_manages_fields_conflicts_and_force(api: client.ApiClient) -> None:
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"owner": "a"}}
    created = apply_patch(api, "ssa", manifest, "alpha")  # apply creates a missing object
    entries = {m["manager"]: m for m in created["metadata"]["managedFields"]}
    assert entries["alpha"]["operation"] == "Apply"
    assert "f:owner" in entries["alpha"]["fieldsV1"]["f:data"]

    with pytest.raises(ApiException) as conflict:
        apply_patch(api, "ssa", {**manifest, "data": {"owner": "b"}}, "beta")
    body = status_of(conflict.value)
    assert (body["code"], body["reason"]) == (409, "Conflict")
    assert body["message"] == 'Apply failed with 1 conflict: conflict with "alpha": .data.owner'
    assert body["details"]["causes"] == [
        {"reason": "FieldManagerConflict", "message": 'conflict with "alpha"', "field": ".data.owner"}
    ]

    forced = apply_patch(api, "ssa", {**manifest, "data": {"owner": "b"}}, "beta", force=True)
    assert forced["data"] == {"owner": "b"}
    owners = {m["manager"]: m.get("fieldsV1", {}) for m in forced["metadata"]["managedFields"]}
    assert "f:owner" in owners["beta"]["f:data"] and "alpha" not in owners  # ownership moved

    # Apply requires a field manager (PatchOptions validation).
    with pytest.raises(ApiException) as no_manager:
        apply_patch(api, "ssa", manifest, "")
    assert no_manager.value.status == 422 and "fieldManager: Required value" in status_of(no_manager.value)["message"]


# -- dry run, field validation --------------------------------------------------------------------------------


def test_dry_run_persists_nothing_and_bumps_no_resource_version(api: client.ApiClient) -> None:
    core: Any = client.CoreV1Api(api)
    before = core.list_namespaced_config_map("default").metadata.resource_version
    shown = core.create_namespaced_config_map("default", configmap("dry"), dry_run="All")
    assert shown.metadata.name == "dry" and shown.metadata.uid  # the would-be object, fully defaulted
    with pytest.raises(ApiException) as exc:
        core.read_namespaced_config_map("dry", "default")
    assert exc.value.status == 404
    assert core.list_namespaced_config_map("default").metadata.resource_version == before

    real = core.create_namespaced_config_map("default", configmap("wet"))
    changed = core.patch_namespaced_config_map("wet", "default", {"data": {"k": "dry"}}, dry_run="All")
    assert changed.data == {"k": "dry"}
    assert core.read_namespaced_config_map("wet", "default").metadata.resource_version == (
        real.metadata.resource_version
    )
    assert core.read_namespaced_config_map("wet", "default").data == {"k": "v"}
    core.delete_namespaced_config_map("wet", "default", dry_run="All")
    assert core.read_namespaced_config_map("wet", "default").metadata.uid == real.metadata.uid
    assert core.list_namespaced_config_map("default").metadata.resource_version == real.metadata.resource_version
    # Only "All" is a valid dry-run value.
    with pytest.raises(ApiException) as bad:
        core.create_namespaced_config_map("default", configmap("x"), dry_run="Some")
    assert bad.value.status == 400


def test_field_validation_strict_warn_and_ignore(api: client.ApiClient) -> None:
    install_crd(api)
    custom: Any = client.CustomObjectsApi(api)
    body = job_body()
    body["spec"]["bogusField"] = 1

    def create(name: str, mode: str) -> Any:
        return custom.create_namespaced_custom_object(
            GROUP,
            VERSION,
            "default",
            PLURAL,
            {**body, "metadata": {"name": name}},
            field_validation=mode,
            _preload_content=False,
        )

    with pytest.raises(ApiException) as strict:
        create("strict", "Strict")
    err = status_of(strict.value)
    assert (err["code"], err["reason"]) == (400, "BadRequest")
    assert err["message"] == (
        'TrainingJob in version "v1" cannot be handled as a TrainingJob: strict decoding error: '
        'unknown field "spec.bogusField"'
    )

    warned = create("warned", "Warn")
    assert warned.status == 201
    assert warned.headers.get("Warning") == '299 - "unknown field \\"spec.bogusField\\""'
    assert "bogusField" not in json.loads(warned.data)["spec"]  # pruned

    ignored = create("ignored", "Ignore")
    assert ignored.status == 201 and ignored.headers.get("Warning") is None
    assert "bogusField" not in json.loads(ignored.data)["spec"]


# -- ObjectMeta validation and size limits --------------------------------------------------------------------


def test_names_labels_and_annotations_are_validated(api: client.ApiClient) -> None:
    core: Any = client.CoreV1Api(api)
    with pytest.raises(ApiException) as bad_name:
        core.create_namespaced_config_map("default", configmap("Bad_Name"))
    body = status_of(bad_name.value)
    assert (body["code"], body["reason"]) == (422, "Invalid")
    assert body["message"].startswith(
        'ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain '
        "must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an "
        "alphanumeric character"
    )
    assert body["details"]["causes"][0]["field"] == "metadata.name"
    # Namespaces are DNS-1123 labels: no dots.
    with pytest.raises(ApiException) as bad_ns:
        core.create_namespace({"metadata": {"name": "a.b"}})
    assert status_of(bad_ns.value)["message"] == (
        'Namespace "a.b" is invalid: metadata.name: Invalid value: "a.b": must not contain dots'
    )

    with pytest.raises(ApiException) as bad_label:
        core.create_namespaced_config_map("default", configmap("cm", labels={"app": "has space"}))
    message = status_of(bad_label.value)["message"]
    assert message.startswith('ConfigMap "cm" is invalid: metadata.labels: Invalid value: "has space": a valid label')
    with pytest.raises(ApiException) as bad_key:
        core.create_namespaced_config_map("default", configmap("cm", annotations={"-bad/key": "x"}))
    assert 'metadata.annotations: Invalid value: "-bad/key"' in status_of(bad_key.value)["message"]

    # TotalAnnotationSizeLimitB: 256 KiB of keys and values together.
    limit = 256 * 1024
    at_limit = {"a": "x" * (limit - 1)}
    core.create_namespaced_config_map("default", configmap("fits", annotations=at_limit))
    with pytest.raises(ApiException) as too_big:
        core.create_namespaced_config_map("default", configmap("big", annotations={"a": "x" * limit}))
    body = status_of(too_big.value)
    # field.TooLong's wording since Kubernetes 1.30 ("must have at most N bytes" before).
    too_long = "Too long: may not be more than 262144 bytes"
    assert body["message"] == f'ConfigMap "big" is invalid: metadata.annotations: {too_long}'
    assert body["details"]["causes"] == [
        {"reason": "FieldValueTooLong", "message": too_long, "field": "metadata.annotations"}
    ]


def test_request_body_over_3_mib_is_413(api: client.ApiClient) -> None:
    core: Any = client.CoreV1Api(api)
    big = {"metadata": {"name": "huge"}, "data": {"blob": "x" * (3 * 1024 * 1024)}}
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_config_map("default", big)
    body = status_of(exc.value)
    assert (body["code"], body["reason"]) == (413, "RequestEntityTooLarge")
    assert body["message"] == "Request entity too large: limit is 3145728"
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_config_map("huge", "default")
    assert missing.value.status == 404


def big_crd() -> dict[str, Any]:
    """The TrainingJob CRD padded with long descriptions: over 256 KiB of JSON, under the 3 MiB body limit."""
    crd: dict[str, Any] = yaml.safe_load(CRD.read_text())
    spec_props = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    for i in range(40):
        spec_props[f"padding{i}"] = {"type": "string", "description": f"field {i} " + "lorem ipsum " * 700}
    assert 300 * 1024 < len(json.dumps(crd)) < 3 * 1024 * 1024
    return crd


def test_client_side_apply_of_a_huge_crd_fails_on_the_annotation_limit_but_server_side_works(
    kube: RunningKube,
) -> None:
    manifest = json.dumps(big_crd())
    proc = kube.kubectl("apply", "-f", "-", input=manifest, check=False)
    assert proc.returncode != 0
    # kubectl's wording around the server's 422 (as against real clusters, with field.TooLong's 1.30+ detail).
    assert (
        f'The CustomResourceDefinition "{CRD_NAME}" is invalid: metadata.annotations: Too long: may not be more '
        "than 262144 bytes" in proc.stderr
    )
    assert kube.kubectl("get", "crd", CRD_NAME, "--ignore-not-found").stdout.strip() == ""
    kube.kubectl("apply", "--server-side", "-f", "-", input=manifest)
    kube.kubectl("wait", "--for=condition=Established", "--timeout=10s", f"crd/{CRD_NAME}")
    crd = kube.kubectl_json("get", "crd", CRD_NAME)
    assert "kubectl.kubernetes.io/last-applied-configuration" not in (crd["metadata"].get("annotations") or {})


# -- no-op updates, status subresource ------------------------------------------------------------------------


def test_no_op_update_does_not_bump_resource_version(api: client.ApiClient) -> None:
    core: Any = client.CoreV1Api(api)
    cm = core.create_namespaced_config_map("default", configmap("cm", labels={"a": "b"}))
    same = core.replace_namespaced_config_map("cm", "default", cm)
    assert same.metadata.resource_version == cm.metadata.resource_version
    patched = core.patch_namespaced_config_map(
        "cm", "default", {"data": {"k": "v"}, "metadata": {"labels": {"a": "b"}}}
    )
    assert patched.metadata.resource_version == cm.metadata.resource_version
    # No watch event either: a watch from the create's revision sees only the real change that follows.
    core.patch_namespaced_config_map("cm", "default", {"data": {"k": "changed"}})
    events = []
    stream: Any = watch.Watch()  # type: ignore[no-untyped-call]
    for event in stream.stream(
        core.list_namespaced_config_map,
        "default",
        resource_version=cm.metadata.resource_version,
        field_selector="metadata.name=cm",
        timeout_seconds=5,
    ):
        events.append((event["type"], event["object"].data["k"]))
        stream.stop()
    assert events == [("MODIFIED", "changed")]


def test_status_subresource_split_and_generation(api: client.ApiClient) -> None:
    install_crd(api)
    custom: Any = client.CustomObjectsApi(api)
    body = job_body()
    body["status"] = {"trainingJobStatus": "Forged"}
    created = custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, body)
    assert "status" not in created and created["metadata"]["generation"] == 1  # status dropped on create

    # /status writes status only; spec in the same body is ignored; generation stays.
    created["status"] = {"trainingJobStatus": "InProgress"}
    created["spec"]["region"] = "eu-west-1"
    after_status = custom.replace_namespaced_custom_object_status(
        GROUP, VERSION, "default", PLURAL, "xgboost-mnist", created
    )
    assert after_status["status"] == {"trainingJobStatus": "InProgress"}
    assert after_status["spec"]["region"] == "us-west-2" and after_status["metadata"]["generation"] == 1
    assert int(after_status["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])

    # The main endpoint ignores status; a metadata-only change does not bump generation.
    after_status["status"] = {"trainingJobStatus": "Hacked"}
    after_status["metadata"]["labels"] = {"team": "ml", "extra": "yes"}
    relabeled = custom.replace_namespaced_custom_object(
        GROUP, VERSION, "default", PLURAL, "xgboost-mnist", after_status
    )
    assert relabeled["status"] == {"trainingJobStatus": "InProgress"}
    assert relabeled["metadata"]["labels"]["extra"] == "yes" and relabeled["metadata"]["generation"] == 1

    # A spec change bumps generation by one.
    relabeled["spec"]["trainingJobName"] = "renamed"
    respecced = custom.replace_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "xgboost-mnist", relabeled)
    assert respecced["metadata"]["generation"] == 2
    status_only = custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, "default", PLURAL, "xgboost-mnist", {"status": {"observedGeneration": 2}}
    )
    assert status_only["metadata"]["generation"] == 2 and status_only["status"]["observedGeneration"] == 2


def test_deployment_generation_tracks_spec_and_annotation_changes(api: client.ApiClient) -> None:
    """pkg/registry/apps/deployment/strategy.go: generation 1 on create; PrepareForUpdate bumps it when the spec
    or the annotations change (annotations are copied to ReplicaSets), not for labels or status."""
    apps: Any = client.AppsV1Api(api)
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "generation": 7},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx"}]},
            },
        },
    }
    created = apps.create_namespaced_deployment("default", body)
    assert created.metadata.generation == 1  # the client's value is ignored
    scaled = apps.patch_namespaced_deployment("web", "default", {"spec": {"replicas": 3}})
    assert scaled.metadata.generation == 2
    labelled = apps.patch_namespaced_deployment("web", "default", {"metadata": {"labels": {"team": "a"}}})
    assert labelled.metadata.generation == 2
    annotated = apps.patch_namespaced_deployment("web", "default", {"metadata": {"annotations": {"note": "x"}}})
    assert annotated.metadata.generation == 3
    status = apps.patch_namespaced_deployment_status("web", "default", {"status": {"observedGeneration": 3}})
    assert status.metadata.generation == 3 and status.status.observed_generation == 3


# -- kubernetes_asyncio against an in-process emulator --------------------------------------------------------


async def test_async_client_sees_the_same_semantics() -> None:
    async with KubeEmulator() as emulator:
        api_client = await aconfig.new_client_from_config_dict(emulator.kubeconfig)
        async with api_client:
            core: Any = aclient.CoreV1Api(api_client)
            secret = await core.create_namespaced_secret(
                "default", {"metadata": {"generateName": "creds-"}, "stringData": {"password": "hunter2"}}
            )
            assert secret.metadata.name.startswith("creds-") and secret.data == {"password": "aHVudGVyMg=="}
            stale = secret.metadata.resource_version
            secret.string_data = {"password": "changed"}
            updated = await core.replace_namespaced_secret(secret.metadata.name, "default", secret)
            assert int(updated.metadata.resource_version) > int(stale)
            secret.metadata.resource_version = stale
            with pytest.raises(aclient.ApiException) as conflict:
                await core.replace_namespaced_secret(secret.metadata.name, "default", secret)
            assert conflict.value.status == 409 and json.loads(conflict.value.body or b"")["reason"] == "Conflict"
            with pytest.raises(aclient.ApiException) as missing:
                await core.create_namespaced_secret("ghost", {"metadata": {"name": "s"}})
            assert missing.value.status == 404
