"""Typed decoding of built-in kinds: unknown fields per fieldValidation and wrong JSON types.

kube-apiserver decodes built-ins into Go structs (sigs.k8s.io/json). Upstream references:
k8s.io/apiserver/pkg/endpoints/handlers/create.go and update.go (``transformDecodeError``: ``<Kind> in version
"<v>" cannot be handled as a <Kind>: <err>``; Warn adds one warning per strict error, Ignore drops silently),
handlers/patch.go (a patched object that does not decode: 422 on the ``patch`` field) and
test/integration/apiserver/field_validation_test.go (``strict decoding error: unknown field "spec.unknown1", ...``,
paths with list indices such as ``spec.template.spec.containers[0].unknownNested``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.support.kube import RunningKube

CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  a: b
dataa:
  x: "1"
"""
STRICT_ERROR = (
    'Error from server (BadRequest): error when creating "STDIN": ConfigMap in version "v1" cannot be handled as a '
    'ConfigMap: strict decoding error: unknown field "dataa"'
)


def status_of(exc: ApiException) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(exc.body or "{}")
    return body


def test_kubectl_strict_validation_rejects_an_unknown_configmap_field_with_upstreams_message(
    kube: RunningKube,
) -> None:
    for verb in ("apply", "create"):
        proc = kube.kubectl(verb, "-f", "-", input=CONFIGMAP, check=False)
        assert proc.returncode == 1
        assert proc.stderr.strip() == STRICT_ERROR
    assert "NotFound" in kube.kubectl("get", "configmap", "cfg", check=False).stderr


def test_kubectl_validate_false_drops_and_validate_warn_reports_the_unknown_field(kube: RunningKube) -> None:
    created = kube.kubectl("apply", "--validate=false", "-f", "-", input=CONFIGMAP)
    assert created.stderr == ""  # fieldValidation=Ignore: dropped silently
    stored = kube.kubectl_json("get", "configmap", "cfg")
    assert "dataa" not in stored and stored["data"] == {"a": "b"}

    warned = kube.kubectl("create", "--validate=warn", "-f", "-", input=CONFIGMAP.replace("name: cfg", "name: cfg2"))
    assert warned.stderr.strip() == 'Warning: unknown field "dataa"'
    assert "dataa" not in kube.kubectl_json("get", "configmap", "cfg2")


def test_wrong_json_type_fails_decoding_whatever_field_validation_says(kube: RunningKube) -> None:
    bad = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  a: true\n"  # unquoted YAML bool
    for validate in ("--validate=strict", "--validate=false"):
        proc = kube.kubectl("create", validate, "-f", "-", input=bad, check=False)
        assert proc.returncode == 1
        assert proc.stderr.strip() == (
            'Error from server (BadRequest): error when creating "STDIN": ConfigMap in version "v1" cannot be '
            "handled as a ConfigMap: json: cannot unmarshal bool into Go struct field ConfigMap.data of type string"
        )
    lease = """apiVersion: coordination.k8s.io/v1
kind: Lease
metadata:
  name: l
spec:
  holderIdentity: 5
"""
    proc = kube.kubectl("create", "-f", "-", input=lease, check=False)
    assert "json: cannot unmarshal number into Go struct field LeaseSpec.spec.holderIdentity of type string" in (
        proc.stderr
    )


def test_known_fields_of_other_builtins_are_accepted_under_strict_validation(kube: RunningKube) -> None:
    manifests = """apiVersion: v1
kind: Secret
metadata:
  name: s
stringData:
  password: hunter2
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata:
  name: leader
spec:
  holderIdentity: pod-a
  leaseDurationSeconds: 15
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: rb
subjects:
- kind: ServiceAccount
  name: default
  namespace: default
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: reader
"""
    proc = kube.kubectl("apply", "-f", "-", input=manifests)
    assert proc.stderr == ""
    assert kube.kubectl_json("get", "secret", "s")["data"] == {"password": "aHVudGVyMg=="}
    assert kube.kubectl_json("get", "lease", "leader")["spec"]["holderIdentity"] == "pod-a"
    assert kube.kubectl_json("get", "rolebinding", "rb")["subjects"][0]["name"] == "default"
    # A nested unknown field is reported with its path, list index included.
    bad = manifests.split("---\n")[2].replace("  namespace: default\n", "  namespace: default\n  bogus: 1\n")
    proc = kube.kubectl("apply", "-f", "-", input=bad.replace("name: rb", "name: rb2"), check=False)
    assert proc.returncode == 1 and proc.stderr.strip().endswith(
        'RoleBinding in version "v1" cannot be handled as a RoleBinding: strict decoding error: '
        'unknown field "subjects[0].bogus"'
    )


def _post(api: client.ApiClient, path: str, body: dict[str, Any], validation: str) -> Any:
    """POST a raw dict through the official client's ApiClient (its typed methods refuse unknown fields)."""
    serialized = api.param_serialize(
        "POST", path, query_params=[("fieldValidation", validation)], body=body,
        header_params={"Content-Type": "application/json", "Accept": "application/json"},
        auth_settings=["BearerToken"],
    )
    response = api.call_api(*serialized)
    response.read()  # type: ignore[no-untyped-call]
    return response


def test_official_client_strict_warn_ignore_and_patch(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    path = "/api/v1/namespaces/default/configmaps"
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "data": {"a": "b"},
        "dataa": {"x": "1"},
        "metadata": {"name": "py", "colour": "red"},
    }
    strict = _post(api, path, body, "Strict")
    err = json.loads(strict.data)
    assert (strict.status, err["code"], err["reason"]) == (400, 400, "BadRequest")
    # Unknown fields come in document order, metadata's among them, joined in one report.
    assert err["message"] == (
        'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: '
        'unknown field "dataa", unknown field "metadata.colour"'
    )

    warned = _post(api, path, body, "Warn")
    assert warned.status == 201
    assert warned.getheader("Warning") == (
        '299 - "unknown field \\"dataa\\"", 299 - "unknown field \\"metadata.colour\\""'
    )
    stored = core.read_namespaced_config_map("py", "default")
    assert stored.data == {"a": "b"} and "dataa" not in stored.to_dict()

    ignored = _post(api, path, {**body, "metadata": {"name": "py2"}}, "Ignore")
    assert ignored.status == 201 and ignored.getheader("Warning") is None

    # A patch whose result does not decode: 422 on the "patch" field (handlers/patch.go).
    with pytest.raises(ApiException) as patched:
        core.patch_namespaced_config_map("py", "default", {"dataa": {"y": "2"}}, field_validation="Strict")
    err = status_of(patched.value)
    assert (err["code"], err["reason"]) == (422, "Invalid")
    assert err["message"].startswith(' "" is invalid: patch: Invalid value: "{')
    assert err["message"].endswith('": strict decoding error: unknown field "dataa"')
    assert err["details"]["causes"][0]["field"] == "patch"

    # Wrong types fail even with fieldValidation=Ignore.
    typed = _post(api, path, {"metadata": {"name": "py3", "labels": {"n": 5}}}, "Ignore")
    assert (typed.status, json.loads(typed.data)["message"]) == (
        400,
        'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal number into Go struct '
        "field ObjectMeta.metadata.labels of type string",
    )

    # The typed models the client serializes are accepted under Strict validation.
    meta = client.V1ObjectMeta
    core.create_namespaced_secret(
        "default", client.V1Secret(metadata=meta(name="sec"), string_data={"k": "v"}), field_validation="Strict"
    )
    client.CoordinationV1Api(api).create_namespaced_lease(
        "default",
        client.V1Lease(metadata=meta(name="lease"), spec=client.V1LeaseSpec(holder_identity="me")),
        field_validation="Strict",
    )
    binding = client.V1RoleBinding(
        metadata=meta(name="rb"),
        role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="Role", name="reader"),
        subjects=[client.RbacV1Subject(kind="User", name="alice", api_group="rbac.authorization.k8s.io")],
    )
    client.RbacAuthorizationV1Api(api).create_namespaced_role_binding("default", binding, field_validation="Strict")
    assert core.read_namespaced_secret("sec", "default").data == {"k": "dg=="}
