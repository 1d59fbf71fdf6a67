"""Deletion (issue 2, behaviour 5), proven over HTTP with the official ``kubernetes`` client, kubernetes_asyncio
and kubectl: finalizers and graceful deletion, propagation policies and garbage collection, deletecollection,
namespace and CRD lifecycle, preconditions.

Outcomes are observed the way a client must observe them on a real cluster: through watches (replayed from a
known resourceVersion, so nothing here sleeps or polls) and reads. Expected wording follows kube-apiserver:
pkg/registry/generic/registry/store.go (Delete, deletion with finalizers), the garbage collector
(pkg/controller/garbagecollector), the namespace controller and apiextensions-apiserver's finalizer controller.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException
from kubernetes_asyncio import client as aclient
from kubernetes_asyncio import config as aconfig
from kubernetes_asyncio import watch as awatch

from smk8s.emulators.kube.server import KubeEmulator
from tests.support.kube import RunningKube
from tests.support.kube import failure_status as status_of

MANIFESTS = Path(__file__).parents[3] / "support" / "manifests"
CRD = MANIFESTS / "trainingjob-crd.yaml"
JOB = MANIFESTS / "trainingjob.yaml"
GROUP, VERSION, PLURAL = "sagemaker.aws.amazon.com", "v1", "trainingjobs"
CRD_NAME = f"{PLURAL}.{GROUP}"
HOLD = "example.com/hold"


def raw(response: Any) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON body) of a call made with ``_preload_content=False``."""
    return response.status, json.loads(response.data)


def events(
    list_fn: Callable[..., Any], *args: Any, since: str, until: Callable[[str, dict[str, Any]], bool], **kw: Any
) -> list[tuple[str, str]]:
    """(type, name) of the watch events after resourceVersion ``since`` up to the first one ``until`` accepts.

    The watch replays history from ``since``, so a test may act first and look afterwards without racing.
    """
    seen: list[tuple[str, str]] = []
    stream: Any = watch.Watch()  # type: ignore[no-untyped-call]
    for event in stream.stream(list_fn, *args, resource_version=since, timeout_seconds=10, **kw):
        obj = event["raw_object"]
        seen.append((event["type"], obj["metadata"]["name"]))
        if until(event["type"], obj):
            stream.stop()
            return seen
    raise AssertionError(f"the watch ended before the awaited event; saw {seen}")


def is_deleted(name: str) -> Callable[[str, dict[str, Any]], bool]:
    return lambda kind, obj: kind == "DELETED" and obj["metadata"]["name"] == name


def configmap(name: str, **meta: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, **meta}, "data": {"k": "v"}}


def owner_ref(owner: Any, *, block: bool = False, kind: str = "ConfigMap") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": kind,
        "name": owner.metadata.name,
        "uid": owner.metadata.uid,
        "blockOwnerDeletion": block,
    }


def current_rv(core: Any) -> str:
    return str(core.list_namespaced_config_map("default", limit=1).metadata.resource_version)


def install_crd(api: client.ApiClient) -> None:
    ext: Any = client.ApiextensionsV1Api(api)
    ext.create_custom_resource_definition(yaml.safe_load(CRD.read_text()))
    stream: Any = watch.Watch()  # type: ignore[no-untyped-call]
    for event in stream.stream(
        ext.list_custom_resource_definition, field_selector=f"metadata.name={CRD_NAME}", timeout_seconds=10
    ):
        if any(c.type == "Established" and c.status == "True" for c in event["object"].status.conditions or []):
            stream.stop()
            return
    raise AssertionError("the CRD never became Established")


def job(name: str, **meta: Any) -> dict[str, Any]:
    body: dict[str, Any] = yaml.safe_load(JOB.read_text())
    body["metadata"] = {"name": name, **meta}
    return body


# -- finalizers -----------------------------------------------------------------------------------------------


def test_finalizers_hold_the_object_until_released_then_a_watch_sees_deleted(api: client.ApiClient) -> None:
    core: Any = client.CoreV1Api(api)
    created = core.create_namespaced_config_map("default", configmap("held", finalizers=[HOLD]))

    # Delete with a finalizer pending: 202 Accepted, the object comes back with deletionTimestamp set.
    code, body = raw(core.delete_namespaced_config_map("held", "default", _preload_content=False))
    assert code == 202
    assert body["kind"] == "ConfigMap" and body["metadata"]["deletionTimestamp"]
    assert body["metadata"]["deletionGracePeriodSeconds"] == 0 and body["metadata"]["finalizers"] == [HOLD]
    live = core.read_namespaced_config_map("held", "default")
    assert live.metadata.deletion_timestamp is not None and live.metadata.finalizers == [HOLD]

    # ValidateObjectMetaUpdate: no new finalizers on an object being deleted (422, %#v of the sorted set).
    with pytest.raises(ApiException) as exc:
        core.patch_namespaced_config_map(
            "held",
            "default",
            {"metadata": {"finalizers": [HOLD, "example.com/late", "example.com/also"]}},
            _content_type="application/merge-patch+json",
        )
    err = status_of(exc.value)
    assert (err["code"], err["reason"]) == (422, "Invalid")
    assert err["message"] == (
        'ConfigMap "held" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object '
        'is being deleted, found new finalizers []string{"example.com/also", "example.com/late"}'
    )
    # Other updates are still allowed, and deleting again changes nothing.
    core.patch_namespaced_config_map(
        "held", "default", {"data": {"k": "still"}}, _content_type="application/merge-patch+json"
    )
    code, again = raw(core.delete_namespaced_config_map("held", "default", _preload_content=False))
    assert code == 202 and again["metadata"]["deletionTimestamp"] == body["metadata"]["deletionTimestamp"]

    # Releasing the last finalizer removes the object.
    core.patch_namespaced_config_map(
        "held",
        "default",
        [{"op": "remove", "path": "/metadata/finalizers"}],
        _content_type="application/json-patch+json",
    )
    with pytest.raises(ApiException) as gone:
        core.read_namespaced_config_map("held", "default")
    assert gone.value.status == 404
    seen = events(
        core.list_namespaced_config_map,
        "default",
        since=created.metadata.resource_version,
        until=is_deleted("held"),
        field_selector="metadata.name=held",
    )
    assert seen == [("MODIFIED", "held")] * 3 + [("DELETED", "held")]


# -- propagation policies and garbage collection --------------------------------------------------------------


def test_background_deletion_collects_dependents(api: client.ApiClient) -> None:
    core: Any = client.CoreV1Api(api)
    owner = core.create_namespaced_config_map("default", configmap("owner"))
    core.create_namespaced_secret(
        "default", {"metadata": {"name": "dep", "ownerReferences": [owner_ref(owner)]}, "stringData": {"a": "b"}}
    )
    since = current_rv(core)
    code, body = raw(
        core.delete_namespaced_config_map(
            "owner", "default", body=client.V1DeleteOptions(propagation_policy="Background"), _preload_content=False
        )
    )
    assert code == 200 and body["kind"] == "Status" and body["status"] == "Success"  # the owner goes at once
    assert body["details"]["uid"] == owner.metadata.uid
    seen = events(core.list_namespaced_secret, "default", since=since, until=is_deleted("dep"))
    assert seen[-1] == ("DELETED", "dep")


def test_foreground_deletion_keeps_the_owner_until_blocking_dependents_are_gone(api: client.ApiClient) -> None:
    core: Any = client.CoreV1Api(api)
    owner = core.create_namespaced_config_map("default", configmap("owner"))
    core.create_namespaced_config_map(
        "default", configmap("blocking", ownerReferences=[owner_ref(owner, block=True)], finalizers=[HOLD])
    )
    core.create_namespaced_config_map(
        "default", configmap("nonblocking", ownerReferences=[owner_ref(owner)], finalizers=[HOLD])
    )
    since = current_rv(core)
    code, body = raw(
        core.delete_namespaced_config_map(
            "owner", "default", body=client.V1DeleteOptions(propagation_policy="Foreground"), _preload_content=False
        )
    )
    assert code == 202 and body["metadata"]["finalizers"] == ["foregroundDeletion"]
    # The garbage collector deletes the dependents; both are held by their own finalizer, so the owner waits.
    for name in ("blocking", "nonblocking"):
        assert core.read_namespaced_config_map(name, "default").metadata.deletion_timestamp is not None
    held = core.read_namespaced_config_map("owner", "default")
    assert held.metadata.deletion_timestamp is not None and held.metadata.finalizers == ["foregroundDeletion"]

    # Only blockOwnerDeletion dependents block: releasing the blocking one lets the owner go.
    core.patch_namespaced_config_map(
        "blocking", "default", {"metadata": {"finalizers": None}}, _content_type="application/merge-patch+json"
    )
    seen = events(core.list_namespaced_config_map, "default", since=since, until=is_deleted("owner"))
    deletions = [name for kind, name in seen if kind == "DELETED"]
    assert deletions == ["blocking", "owner"]
    assert core.read_namespaced_config_map("nonblocking", "default").metadata.deletion_timestamp is not None


def test_orphan_deletion_strips_owner_references(api: client.ApiClient) -> None:
    core: Any = client.CoreV1Api(api)
    owner = core.create_namespaced_config_map("default", configmap("owner"))
    other = core.create_namespaced_config_map("default", configmap("other-owner"))
    core.create_namespaced_config_map("default", configmap("only", ownerReferences=[owner_ref(owner)]))
    core.create_namespaced_config_map(
        "default", configmap("shared", ownerReferences=[owner_ref(owner), owner_ref(other)])
    )
    since = current_rv(core)
    code, body = raw(
        core.delete_namespaced_config_map(
            "owner", "default", body=client.V1DeleteOptions(propagation_policy="Orphan"), _preload_content=False
        )
    )
    assert code == 202 and body["metadata"]["finalizers"] == ["orphan"]
    events(core.list_namespaced_config_map, "default", since=since, until=is_deleted("owner"))
    assert core.read_namespaced_config_map("only", "default").metadata.owner_references is None
    shared = core.read_namespaced_config_map("shared", "default").metadata.owner_references
    assert [r.uid for r in shared] == [other.metadata.uid]


def test_dependent_whose_owner_uid_does_not_exist_is_collected(api: client.ApiClient) -> None:
    core: Any = client.CoreV1Api(api)
    owner = core.create_namespaced_config_map("default", configmap("owner"))
    since = current_rv(core)
    # The owner's name exists but with another uid: the garbage collector treats the owner as absent.
    stale = {**owner_ref(owner), "uid": "00000000-0000-4000-8000-000000000000"}
    core.create_namespaced_config_map("default", configmap("orphaned", ownerReferences=[stale]))
    core.create_namespaced_config_map("default", configmap("owned", ownerReferences=[owner_ref(owner)]))
    seen = events(core.list_namespaced_config_map, "default", since=since, until=is_deleted("orphaned"))
    assert ("DELETED", "owned") not in seen
    assert core.read_namespaced_config_map("owned", "default").metadata.deletion_timestamp is None
    assert core.read_namespaced_config_map("owner", "default").metadata.uid == owner.metadata.uid


def test_deletecollection_with_a_label_selector(api: client.ApiClient) -> None:
    core: Any = client.CoreV1Api(api)
    for name, team in (("a1", "a"), ("a2", "a"), ("b1", "b")):
        core.create_namespaced_config_map("default", configmap(name, labels={"team": team}))
    core.create_namespaced_config_map("default", configmap("a-held", labels={"team": "a"}, finalizers=[HOLD]))
    code, body = raw(
        core.delete_collection_namespaced_config_map("default", label_selector="team=a", _preload_content=False)
    )
    assert code == 200 and body["kind"] == "ConfigMapList"
    assert sorted(i["metadata"]["name"] for i in body["items"]) == ["a-held", "a1", "a2"]
    left = core.list_namespaced_config_map("default", label_selector="team")
    assert [i.metadata.name for i in left.items] == ["a-held", "b1"]
    assert left.items[0].metadata.deletion_timestamp is not None  # held by its finalizer


# -- namespaces -----------------------------------------------------------------------------------------------


def test_deleting_a_namespace_deletes_its_content_then_the_namespace(kube: RunningKube, api: client.ApiClient) -> None:
    core: Any = client.CoreV1Api(api)
    ns = core.create_namespace({"metadata": {"name": "team"}})
    core.create_namespaced_secret("team", {"metadata": {"name": "s"}, "stringData": {"a": "b"}})
    core.create_namespaced_config_map("team", configmap("held", finalizers=[HOLD]))
    leases: Any = client.CoordinationV1Api(api)
    leases.create_namespaced_lease("team", {"metadata": {"name": "leader"}, "spec": {}})

    kube.kubectl("delete", "namespace", "team", "--wait=false")
    terminating = core.read_namespace("team")
    assert terminating.status.phase == "Terminating" and terminating.metadata.deletion_timestamp is not None
    assert terminating.spec.finalizers == ["kubernetes"]  # the namespace controller's finalizer is still there
    assert core.list_namespaced_secret("team").items == []
    assert leases.list_namespaced_lease("team").items == []
    assert core.read_namespaced_config_map("held", "team").metadata.deletion_timestamp is not None

    # The NamespaceLifecycle admission plugin refuses new content in a terminating namespace.
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_config_map("team", configmap("late"))
    err = status_of(exc.value)
    assert (err["code"], err["reason"]) == (403, "Forbidden")
    assert err["message"] == "unable to create new content in namespace team because it is being terminated"

    core.patch_namespaced_config_map(
        "held", "team", {"metadata": {"finalizers": None}}, _content_type="application/merge-patch+json"
    )
    seen = events(
        core.list_namespace,
        since=ns.metadata.resource_version,
        until=is_deleted("team"),
        field_selector="metadata.name=team",
    )
    assert seen[-1] == ("DELETED", "team")
    with pytest.raises(ApiException) as gone:
        core.read_namespace("team")
    assert gone.value.status == 404


def test_the_default_and_system_namespaces_may_not_be_deleted(kube: RunningKube, api: client.ApiClient) -> None:
    """NamespaceLifecycle admission (k8s.io/apiserver/pkg/admission/plugin/namespace/lifecycle/admission.go):
    ``immortalNamespaces`` default, kube-system and kube-public; errors.NewForbidden(namespaces, name, "this
    namespace may not be deleted")."""
    core: Any = client.CoreV1Api(api)
    for name in ("default", "kube-system", "kube-public"):
        proc = kube.kubectl("delete", "namespace", name, check=False)
        assert proc.returncode == 1
        assert proc.stderr.strip() == (
            f'Error from server (Forbidden): namespaces "{name}" is forbidden: this namespace may not be deleted'
        )
        with pytest.raises(ApiException) as exc:
            core.delete_namespace(name, dry_run="All")
        err = status_of(exc.value)
        assert (err["code"], err["reason"]) == (403, "Forbidden")
        assert err["details"] == {"name": name, "kind": "namespaces"}
        ns = core.read_namespace(name)
        assert ns.status.phase == "Active" and ns.metadata.deletion_timestamp is None
    # kube-node-lease is not immortal: it can go, like any other namespace.
    kube.kubectl("delete", "namespace", "kube-node-lease", "--wait=false")


# -- CRDs -----------------------------------------------------------------------------------------------------


def test_deleting_a_crd_deletes_its_objects_and_finalizers_keep_it_terminating(api: client.ApiClient) -> None:
    install_crd(api)
    custom: Any = client.CustomObjectsApi(api)
    ext: Any = client.ApiextensionsV1Api(api)
    custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, job("plain"))
    custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, job("held", finalizers=[HOLD]))
    since = str(ext.list_custom_resource_definition().metadata.resource_version)

    code, body = raw(ext.delete_custom_resource_definition(CRD_NAME, _preload_content=False))
    assert code == 202 and body["metadata"]["finalizers"] == ["customresourcecleanup.apiextensions.k8s.io"]
    crd = ext.read_custom_resource_definition(CRD_NAME)
    terminating = {c.type: c for c in crd.status.conditions}["Terminating"]
    assert (terminating.status, terminating.reason) == ("True", "InstanceDeletionPending")
    left = custom.list_namespaced_custom_object(GROUP, VERSION, "default", PLURAL)["items"]
    assert [o["metadata"]["name"] for o in left] == ["held"] and left[0]["metadata"]["deletionTimestamp"]

    # apiextensions-apiserver refuses new objects of a terminating CRD: 405 MethodNotAllowed.
    with pytest.raises(ApiException) as exc:
        custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, job("late"))
    err = status_of(exc.value)
    assert (err["code"], err["reason"]) == (405, "MethodNotAllowed")
    assert err["message"] == "create not allowed while custom resource definition is terminating"

    custom.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        "default",
        PLURAL,
        "held",
        {"metadata": {"finalizers": None}},
        _content_type="application/merge-patch+json",
    )
    seen = events(ext.list_custom_resource_definition, since=since, until=is_deleted(CRD_NAME))
    assert seen[-1] == ("DELETED", CRD_NAME)
    with pytest.raises(ApiException) as unserved:
        custom.list_namespaced_custom_object(GROUP, VERSION, "default", PLURAL)
    assert unserved.value.status == 404


# -- preconditions --------------------------------------------------------------------------------------------


def test_delete_preconditions_conflict_on_uid_or_resource_version(api: client.ApiClient) -> None:
    core: Any = client.CoreV1Api(api)
    cm = core.create_namespaced_config_map("default", configmap("cm"))
    wrong_uid = client.V1DeleteOptions(preconditions=client.V1Preconditions(uid="not-the-uid"))
    with pytest.raises(ApiException) as by_uid:
        core.delete_namespaced_config_map("cm", "default", body=wrong_uid)
    err = status_of(by_uid.value)
    assert (err["code"], err["reason"]) == (409, "Conflict")
    # storage.Preconditions.Check's invalid-object error, as InterpretDeleteError wraps it.
    assert err["message"] == (
        'Operation cannot be fulfilled on configmaps "cm": StorageError: invalid object, Code: 4, '
        "Key: /registry/configmaps/default/cm, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: "
        f"UID in precondition: not-the-uid, UID in object meta: {cm.metadata.uid}"
    )
    stale = client.V1DeleteOptions(preconditions=client.V1Preconditions(resource_version="1"))
    with pytest.raises(ApiException) as by_rv:
        core.delete_namespaced_config_map("cm", "default", body=stale)
    assert status_of(by_rv.value)["message"].endswith(
        f"Precondition failed: ResourceVersion in precondition: 1, ResourceVersion in object meta: "
        f"{cm.metadata.resource_version}"
    )
    assert core.read_namespaced_config_map("cm", "default").metadata.uid == cm.metadata.uid
    matching = client.V1DeleteOptions(
        preconditions=client.V1Preconditions(uid=cm.metadata.uid, resource_version=cm.metadata.resource_version)
    )
    core.delete_namespaced_config_map("cm", "default", body=matching)
    with pytest.raises(ApiException) as gone:
        core.read_namespaced_config_map("cm", "default")
    assert gone.value.status == 404


# -- kubernetes_asyncio ---------------------------------------------------------------------------------------


async def test_async_watch_sees_terminating_then_deleted_for_a_lease() -> None:
    async with KubeEmulator() as emulator:
        api_client = await aconfig.new_client_from_config_dict(emulator.kubeconfig)
        async with api_client:
            leases: Any = aclient.CoordinationV1Api(api_client)
            created = await leases.create_namespaced_lease(
                "default", {"metadata": {"name": "leader", "finalizers": [HOLD]}, "spec": {"holderIdentity": "me"}}
            )
            await leases.delete_namespaced_lease("leader", "default", _preload_content=False)
            await leases.patch_namespaced_lease(
                "leader",
                "default",
                [{"op": "remove", "path": "/metadata/finalizers"}],
                _content_type="application/json-patch+json",
            )
            seen = []
            stream = awatch.Watch()
            async with stream.stream(
                leases.list_namespaced_lease,
                "default",
                resource_version=created.metadata.resource_version,
                timeout_seconds=10,
            ) as events_:
                async for event in events_:
                    meta = event["object"].metadata
                    seen.append((event["type"], meta.deletion_timestamp is not None, meta.finalizers))
                    if event["type"] == "DELETED":
                        break
            assert seen == [("MODIFIED", True, [HOLD]), ("MODIFIED", True, None), ("DELETED", True, None)]
