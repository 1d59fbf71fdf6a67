"""Conformance: failures are ``Status`` objects with upstream's reason, code, message and details.

Upstream references: k8s.io/apimachinery/pkg/api/errors (NewNotFound, NewAlreadyExists, NewConflict, NewInvalid,
NewResourceExpired, NewForbidden, NewUnauthorized, NewMethodNotSupported, NewTooManyRequests),
k8s.io/apiserver/pkg/authorization (the RBAC denial wording), and kubectl's cmdutil.CheckErr (how kubectl prints
them: ``Error from server (Reason): message``, ``The Kind "name" is invalid: field: message``).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes import watch as k8s_watch

from smk8s.emulators.kube.faults import FaultPlan
from tests.support.kube import RunningKube

RFC1123_SUBDOMAIN = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start "
    "and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
STALE = "the object has been modified; please apply your changes to the latest version and try again"


def client_for(kube: RunningKube, token: str | None = None, retries: int | bool | None = None) -> k8s.ApiClient:
    """An official client from the emulator's kubeconfig (TLS verified), with another bearer token if given."""
    config = k8s.Configuration()
    k8s_config.load_kube_config(config_file=str(kube.kubeconfig_path), client_configuration=config)  # type: ignore[no-untyped-call]
    if token is not None:
        config.api_key = {"BearerToken": f"Bearer {token}"}
        config.refresh_api_key_hook = None  # the loader's hook would put the kubeconfig's token back
    if retries is not None:
        config.retries = retries
    return k8s.ApiClient(config)


def status_of(exc: pytest.ExceptionInfo[k8s.ApiException]) -> dict[str, Any]:
    """The ``Status`` body of an ApiException, checked to be a well-formed failure Status."""
    body: dict[str, Any] = json.loads(exc.value.body or "null")
    assert body["kind"] == "Status" and body["apiVersion"] == "v1" and body["status"] == "Failure"
    assert body["code"] == exc.value.status
    headers: Any = exc.value.headers
    assert headers["Content-Type"].startswith("application/json")
    return body


def configmap(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def test_not_found(kube: RunningKube, official: k8s.ApiClient) -> None:
    core: Any = k8s.CoreV1Api(official)
    with pytest.raises(k8s.ApiException) as exc:
        core.read_namespaced_config_map("x", "default")
    assert exc.value.status == 404 and exc.value.reason == "Not Found"
    body = status_of(exc)
    assert body["reason"] == "NotFound" and body["message"] == 'configmaps "x" not found'
    assert body["details"] == {"name": "x", "kind": "configmaps"}
    # A grouped resource is named resource.group, and the group is in the details.
    leases: Any = k8s.CoordinationV1Api(official)
    with pytest.raises(k8s.ApiException) as exc:
        leases.delete_namespaced_lease("x", "default")
    body = status_of(exc)
    assert body["message"] == 'leases.coordination.k8s.io "x" not found'
    assert body["details"] == {"name": "x", "group": "coordination.k8s.io", "kind": "leases"}
    # A namespace that does not exist.
    with pytest.raises(k8s.ApiException) as exc:
        core.read_namespace("nowhere")
    assert status_of(exc)["message"] == 'namespaces "nowhere" not found'

    proc = kube.kubectl("get", "configmap", "x", check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == 'Error from server (NotFound): configmaps "x" not found'
    proc = kube.kubectl("delete", "lease", "x", check=False)
    assert proc.stderr.strip() == 'Error from server (NotFound): leases.coordination.k8s.io "x" not found'


def test_already_exists(kube: RunningKube, official: k8s.ApiClient) -> None:
    core: Any = k8s.CoreV1Api(official)
    core.create_namespaced_config_map("default", configmap("dup"))
    with pytest.raises(k8s.ApiException) as exc:
        core.create_namespaced_config_map("default", configmap("dup"))
    assert exc.value.status == 409
    body = status_of(exc)
    assert body["reason"] == "AlreadyExists" and body["message"] == 'configmaps "dup" already exists'
    assert body["details"] == {"name": "dup", "kind": "configmaps"}
    proc = kube.kubectl("create", "-f", "-", input=json.dumps(configmap("dup")), check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        'Error from server (AlreadyExists): error when creating "STDIN": configmaps "dup" already exists'
    )


def test_conflict_on_a_stale_resource_version(kube: RunningKube, official: k8s.ApiClient) -> None:
    core: Any = k8s.CoreV1Api(official)
    created = core.create_namespaced_config_map("default", configmap("c", a="1"))
    core.patch_namespaced_config_map("c", "default", {"data": {"a": "2"}}, _content_type="application/merge-patch+json")
    created.data = {"a": "3"}
    with pytest.raises(k8s.ApiException) as exc:
        core.replace_namespaced_config_map("c", "default", created)  # still carries the first resourceVersion
    assert exc.value.status == 409
    body = status_of(exc)
    assert body["reason"] == "Conflict"
    assert body["message"] == f'Operation cannot be fulfilled on configmaps "c": {STALE}'
    assert body["details"] == {"name": "c", "kind": "configmaps"}
    # A uid precondition that does not match is a Conflict too (apimachinery storage.NewInvalidObjError).
    with pytest.raises(k8s.ApiException) as exc:
        core.delete_namespaced_config_map("c", "default", body={"preconditions": {"uid": "not-the-uid"}})
    body = status_of(exc)
    assert body["reason"] == "Conflict" and exc.value.status == 409
    # The message wraps the storage error, as upstream's does.
    assert body["message"].startswith('Operation cannot be fulfilled on configmaps "c": StorageError: invalid object')
    assert "Precondition failed: UID in precondition: not-the-uid, UID in object meta: " in body["message"]

    stale = configmap("c", a="4")
    stale["metadata"]["resourceVersion"] = created.metadata.resource_version
    proc = kube.kubectl("replace", "-f", "-", input=json.dumps(stale), check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        f'Error from server (Conflict): error when replacing "STDIN": Operation cannot be fulfilled on '
        f'configmaps "c": {STALE}'
    )


def test_invalid_with_causes(kube: RunningKube, official: k8s.ApiClient) -> None:
    core: Any = k8s.CoreV1Api(official)
    with pytest.raises(k8s.ApiException) as exc:
        core.create_namespaced_config_map("default", configmap("Bad_Name"))
    assert exc.value.status == 422 and exc.value.reason == "Unprocessable Entity"
    body = status_of(exc)
    assert body["reason"] == "Invalid"
    cause = {
        "reason": "FieldValueInvalid",
        "field": "metadata.name",
        "message": f'Invalid value: "Bad_Name": {RFC1123_SUBDOMAIN}',
    }
    assert body["details"] == {"name": "Bad_Name", "kind": "ConfigMap", "causes": [cause]}
    assert (
        body["message"]
        == f'ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": {RFC1123_SUBDOMAIN}'
    )
    # Several causes are listed in brackets; the group qualifies the kind.
    leases: Any = k8s.CoordinationV1Api(official)
    lease = {"metadata": {"name": "Bad_Name", "labels": {"bad key": "v"}}, "spec": {}}
    with pytest.raises(k8s.ApiException) as exc:
        leases.create_namespaced_lease("default", lease)
    body = status_of(exc)
    assert body["reason"] == "Invalid" and body["details"]["group"] == "coordination.k8s.io"
    assert body["details"]["kind"] == "Lease" and body["details"]["name"] == "Bad_Name"
    assert sorted((c["reason"], c["field"]) for c in body["details"]["causes"]) == [
        ("FieldValueInvalid", "metadata.labels"),
        ("FieldValueInvalid", "metadata.name"),
    ]
    assert body["message"].startswith('Lease.coordination.k8s.io "Bad_Name" is invalid: [metadata.')
    assert body["message"].endswith("]")

    proc = kube.kubectl("create", "-f", "-", input=json.dumps(configmap("Bad_Name")), check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        f'The ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": {RFC1123_SUBDOMAIN}'
    )


def test_expired_continue_token_and_watch_resource_version(kube: RunningKube, official: k8s.ApiClient) -> None:
    core: Any = k8s.CoreV1Api(official)
    for name in ("e1", "e2", "e3"):
        core.create_namespaced_config_map("default", configmap(name))
    first = core.list_namespaced_config_map("default", limit=1)
    assert first.metadata._continue and first.metadata.remaining_item_count == 2
    old_rv = first.metadata.resource_version
    core.create_namespaced_config_map("default", configmap("e4"))
    kube.call(kube.emulator.compact)

    with pytest.raises(k8s.ApiException) as exc:
        core.list_namespaced_config_map("default", limit=1, _continue=first.metadata._continue)
    assert exc.value.status == 410 and exc.value.reason == "Gone"
    body = status_of(exc)
    assert body["reason"] == "Expired"
    assert body["message"].startswith("The provided continue parameter is too old to display a consistent list result.")
    # The Status offers a fresh continue token (metadata.continue) to resume inconsistently.
    assert body["metadata"].get("continue")

    with pytest.raises(k8s.ApiException) as exc:
        core.list_namespaced_config_map("default", resource_version=old_rv, resource_version_match="Exact")
    body = status_of(exc)
    assert exc.value.status == 410 and body["reason"] == "Expired"

    # A watch from a compacted resourceVersion gets an ERROR event carrying a 410 Expired Status; the official
    # watch helper turns it into ApiException(410) (after its single automatic retry).
    w: Any = k8s_watch.Watch()  # type: ignore[no-untyped-call]
    with pytest.raises(k8s.ApiException) as exc:
        for _ in w.stream(core.list_namespaced_config_map, "default", resource_version=old_rv, timeout_seconds=5):
            pass
    assert exc.value.status == 410
    assert exc.value.reason == f"Expired: too old resource version: {old_rv} ({kube.emulator.store.revision})"


def test_forbidden_names_the_user_verb_resource_and_namespace(kube_rbac: RunningKube) -> None:
    kube = kube_rbac
    token = kube.call(lambda: kube.emulator.add_user("bob", groups=("dev",)))
    with client_for(kube, token) as bob:
        core: Any = k8s.CoreV1Api(bob)
        with pytest.raises(k8s.ApiException) as exc:
            core.list_namespaced_config_map("default")
        assert exc.value.status == 403
        body = status_of(exc)
        assert body["reason"] == "Forbidden"
        assert body["message"] == (
            'configmaps is forbidden: User "bob" cannot list resource "configmaps" in API group "" '
            'in the namespace "default"'
        )
        assert body["details"] == {"kind": "configmaps"}
        with pytest.raises(k8s.ApiException) as exc:
            core.read_namespace("default")
        body = status_of(exc)
        assert body["message"] == (
            # RequestInfo gives a namespace's own URL that namespace, so the wording names it.
            'namespaces "default" is forbidden: User "bob" cannot get resource "namespaces" in API group "" '
            'in the namespace "default"'
        )
        assert body["details"] == {"name": "default", "kind": "namespaces"}

    proc = kube.kubectl("get", "leases", "-n", "kube-system", "--as=bob", check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        'Error from server (Forbidden): leases.coordination.k8s.io is forbidden: User "bob" cannot list resource '
        '"leases" in API group "coordination.k8s.io" in the namespace "kube-system"'
    )


def test_unauthorized_for_a_bad_token(kube_rbac: RunningKube) -> None:
    kube = kube_rbac
    with client_for(kube, "not-a-valid-token") as anonymous:
        version: Any = k8s.CoreV1Api(anonymous)
        with pytest.raises(k8s.ApiException) as exc:
            version.list_namespace()
    assert exc.value.status == 401 and exc.value.reason == "Unauthorized"
    body = status_of(exc)
    assert body["reason"] == "Unauthorized" and body["message"] == "Unauthorized"
    assert "details" not in body

    proc = kube.kubectl("get", "configmaps", "--token=not-a-valid-token", check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        "error: You must be logged in to the server (the server has asked for the client to provide credentials)"
    )


def test_method_not_allowed(kube: RunningKube) -> None:
    def request(method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
        req = urllib.request.Request(
            kube.url + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {kube.emulator.admin_token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    # PUT on a collection (upstream registers no PUT route there).
    status, body = request("PUT", "/api/v1/namespaces/default/configmaps", configmap("m"))
    assert status == 405
    assert body["kind"] == "Status" and body["reason"] == "MethodNotAllowed" and body["code"] == 405
    assert body["message"] == "the server does not allow this method on the requested resource"
    # PATCH on a collection and POST on an item have no route either.
    status, body = request("PATCH", "/api/v1/namespaces/default/configmaps", {})
    assert status == 405 and body["reason"] == "MethodNotAllowed"
    status, body = request("POST", "/api/v1/namespaces/default/configmaps/m", configmap("m"))
    assert status == 405 and body["reason"] == "MethodNotAllowed"
    # A verb the resource lacks: tokenreviews are create-only; namespaces have no deletecollection.
    status, body = request("GET", "/apis/authentication.k8s.io/v1/tokenreviews")
    assert status == 405 and body["reason"] == "MethodNotAllowed"
    status, body = request("DELETE", "/api/v1/namespaces")
    assert status == 405 and body["reason"] == "MethodNotAllowed"
    # Discovery documents only answer GET.
    status, body = request("POST", "/apis", {})
    assert status == 405 and body["reason"] == "MethodNotAllowed"

    proc = kube.kubectl("get", "tokenreviews", check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith(
        "Error from server (MethodNotAllowed): the server does not allow this method on the requested resource"
    )


def test_too_many_requests_carries_retry_after(kube: RunningKube) -> None:
    plan = FaultPlan(error_rate=1.0, error_code=429, retry_after_seconds=2, verbs=("list",))
    kube.call(lambda: kube.emulator.set_faults(plan))
    # retries=False: urllib3 would otherwise honour Retry-After itself and retry (3 times, 2 s apart).
    with client_for(kube, retries=False) as api_client:
        core: Any = k8s.CoreV1Api(api_client)
        try:
            with pytest.raises(k8s.ApiException) as exc:
                core.list_namespaced_config_map("default")
            assert exc.value.status == 429 and exc.value.reason == "Too Many Requests"
            headers: Any = exc.value.headers
            assert headers["Retry-After"] == "2"
            body = status_of(exc)
            assert body["reason"] == "TooManyRequests"
            assert body["details"] == {"retryAfterSeconds": 2}
            assert body["message"] == "the server has received too many requests and has asked us to try again later"
            assert kube.call(lambda: kube.emulator.faults.injected) == 1
            # Only the planned verbs are hit.
            assert core.read_namespace("default").metadata.name == "default"
        finally:
            kube.call(kube.emulator.clear_faults)
        assert core.list_namespaced_config_map("default").items == []
