"""kubectl v1.37's typed commands send their bodies as ``application/vnd.kubernetes.protobuf``; the emulator decodes
them (smk8s.emulators.kube.protobuf) and stores exactly what the JSON encoding would have carried."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from tests.support.kube import RunningKube


def test_create_configmap_with_literals_and_binary_file(kube: RunningKube, tmp_path: Path) -> None:
    blob = bytes(range(256))
    (tmp_path / "blob.bin").write_bytes(blob)
    kube.kubectl("create", "configmap", "cfg", "--from-literal=a=b", "--from-literal=empty=",
                 f"--from-file=blob={tmp_path / 'blob.bin'}")
    cm = kube.kubectl_json("get", "configmap", "cfg")
    assert cm["data"] == {"a": "b", "empty": ""}
    assert base64.b64decode(cm["binaryData"]["blob"]) == blob
    assert cm["metadata"]["namespace"] == "default"
    assert cm["metadata"]["uid"] and cm["metadata"]["creationTimestamp"]


def test_create_secret_generic_and_docker_registry(kube: RunningKube) -> None:
    kube.kubectl("create", "secret", "generic", "creds", "--from-literal=user=admin", "--from-literal=pw=s3cr3t",
                 "--type=example.com/creds")
    secret = kube.kubectl_json("get", "secret", "creds")
    assert secret["type"] == "example.com/creds"
    assert {k: base64.b64decode(v).decode() for k, v in secret["data"].items()} == {"user": "admin", "pw": "s3cr3t"}

    kube.kubectl("create", "secret", "docker-registry", "pull", "--docker-server=r.example.com",
                 "--docker-username=u", "--docker-password=p")
    pull = kube.kubectl_json("get", "secret", "pull")
    assert pull["type"] == "kubernetes.io/dockerconfigjson"
    config = json.loads(base64.b64decode(pull["data"][".dockerconfigjson"]))
    assert config["auths"]["r.example.com"]["username"] == "u"


def test_create_namespace_and_serviceaccount_in_it(kube: RunningKube) -> None:
    kube.kubectl("create", "namespace", "team-a")
    ns = kube.kubectl_json("get", "namespace", "team-a")
    assert ns["metadata"]["name"] == "team-a"
    assert ns["status"]["phase"] == "Active"

    kube.kubectl("create", "serviceaccount", "builder", "-n", "team-a")
    sa = kube.kubectl_json("get", "serviceaccount", "builder", "-n", "team-a")
    assert (sa["metadata"]["name"], sa["metadata"]["namespace"]) == ("builder", "team-a")


def test_create_role_rolebinding_clusterrole_clusterrolebinding(kube: RunningKube) -> None:
    kube.kubectl("create", "role", "reader", "--verb=get,list", "--resource=configmaps,secrets",
                 "--resource-name=app-config")
    kube.kubectl("create", "rolebinding", "reader", "--role=reader", "--user=alice", "--group=devs",
                 "--serviceaccount=default:builder")
    kube.kubectl("create", "clusterrole", "health", "--verb=get", "--non-resource-url=/healthz")
    kube.kubectl("create", "clusterrole", "aggregate", "--aggregation-rule=rbac.example.com/aggregate=true")
    kube.kubectl("create", "clusterrolebinding", "health", "--clusterrole=health", "--user=alice")

    role = kube.kubectl_json("get", "role", "reader")
    assert role["rules"] == [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["configmaps", "secrets"],
                              "resourceNames": ["app-config"]}]
    binding = kube.kubectl_json("get", "rolebinding", "reader")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"}
    assert binding["subjects"] == [
        {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice"},
        {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "devs"},
        {"kind": "ServiceAccount", "name": "builder", "namespace": "default"},
    ]
    health = kube.kubectl_json("get", "clusterrole", "health")
    assert health["rules"] == [{"verbs": ["get"], "nonResourceURLs": ["/healthz"]}]
    aggregate = kube.kubectl_json("get", "clusterrole", "aggregate")
    assert aggregate["aggregationRule"] == {
        "clusterRoleSelectors": [{"matchLabels": {"rbac.example.com/aggregate": "true"}}]}
    crb = kube.kubectl_json("get", "clusterrolebinding", "health")
    assert crb["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "health"}
    assert crb["subjects"] == [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice"}]


def test_create_token_returns_a_token_that_authenticates_as_the_service_account(kube_rbac: RunningKube) -> None:
    kube_rbac.kubectl("create", "serviceaccount", "builder")
    token = kube_rbac.kubectl("create", "token", "builder", "--audience=api", "--duration=10m").stdout.strip()
    assert token
    whoami = kube_rbac.kubectl_json("--token", token, "auth", "whoami")
    assert whoami["status"]["userInfo"]["username"] == "system:serviceaccount:default:builder"


def test_auth_can_i_and_list_for_an_impersonated_user(kube_rbac: RunningKube) -> None:
    kube_rbac.kubectl("create", "role", "cm-reader", "--verb=get,list", "--resource=configmaps")
    kube_rbac.kubectl("create", "rolebinding", "cm-reader", "--role=cm-reader", "--user=alice")

    assert kube_rbac.kubectl("auth", "can-i", "get", "configmaps", "--as=alice").stdout.strip() == "yes"
    denied = kube_rbac.kubectl("auth", "can-i", "delete", "configmaps", "--as=alice", check=False)
    assert (denied.returncode, denied.stdout.strip()) == (1, "no")
    assert kube_rbac.kubectl("auth", "can-i", "get", "/healthz", "--as=alice").stdout.strip() == "yes"

    rows = [line.split() for line in
            kube_rbac.kubectl("auth", "can-i", "--list", "--as=alice").stdout.splitlines()]
    assert ["configmaps", "[]", "[]", "[get", "list]"] in rows
    assert not any(row[0] == "secrets" for row in rows)


def test_auth_whoami_with_impersonation(kube_rbac: RunningKube) -> None:
    review = kube_rbac.kubectl_json("auth", "whoami", "--as=alice", "--as-group=devs")
    assert review["status"]["userInfo"]["username"] == "alice"
    assert "devs" in review["status"]["userInfo"]["groups"]


def test_auth_reconcile_creates_then_updates_rbac_objects(kube_rbac: RunningKube, tmp_path: Path) -> None:
    manifest = tmp_path / "rbac.yaml"
    template = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: secret-reader}
rules:
- {apiGroups: [""], resources: [secrets], verbs: VERBS}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: secret-reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: secret-reader}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: bob}
"""
    manifest.write_text(template.replace("VERBS", "[get]"))
    kube_rbac.kubectl("auth", "reconcile", "-f", str(manifest))
    assert kube_rbac.kubectl("auth", "can-i", "get", "secrets", "--as=bob").stdout.strip() == "yes"
    assert kube_rbac.kubectl("auth", "can-i", "list", "secrets", "--as=bob", check=False).stdout.strip() == "no"

    manifest.write_text(template.replace("VERBS", "[get, list]"))  # reconcile updates (PUT) the ClusterRole
    kube_rbac.kubectl("auth", "reconcile", "-f", str(manifest))
    assert kube_rbac.kubectl("auth", "can-i", "list", "secrets", "--as=bob").stdout.strip() == "yes"
    role = kube_rbac.kubectl_json("get", "clusterrole", "secret-reader")
    assert sorted(verb for rule in role["rules"] for verb in rule["verbs"]) == ["get", "list"]
