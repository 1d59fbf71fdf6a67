"""Authentication and authorization as kube-apiserver does them: bearer tokens, RBAC from the stored objects,
service-account tokens, the review APIs and impersonation — through kubectl and the official client.

The server under test runs with ``--authorization-mode=RBAC`` semantics (the ``kube_rbac`` fixture, over TLS because
client-go sends bearer tokens only over TLS). Expected messages follow
k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go (``forbiddenMessage``) and
plugin/pkg/auth/authorizer/rbac/rbac.go; the default grants follow bootstrappolicy/policy.go.
"""

from __future__ import annotations

import copy
import json
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import yaml
from kubernetes import client as _client
from kubernetes import config as _config
from kubernetes.client.exceptions import ApiException

from tests.support.kube import RunningKube

# The official client types every model field as optional and some functions not at all: tests read it as Any.
client: Any = _client
config: Any = _config


@contextmanager
def api_client(kube: RunningKube, token: str | None) -> Iterator[Any]:
    """An official-client ApiClient for the emulator as the user of ``token`` (anonymous when ``None``)."""
    cfg = copy.deepcopy(kube.emulator.kubeconfig)
    cfg["users"][0]["user"] = {"token": token} if token is not None else {}
    api = config.new_client_from_config_dict(cfg)
    try:
        yield api
    finally:
        api.close()


def add_user(kube: RunningKube, name: str, *groups: str) -> str:
    return kube.call(lambda: kube.emulator.add_user(name, tuple(groups)))


def apply(kube: RunningKube, *objects: dict[str, Any]) -> None:
    kube.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(objects))


def role(name: str, namespace: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": name, "namespace": namespace},
        "rules": rules,
    }


def cluster_role(name: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name},
        "rules": rules,
    }


def binding(
    name: str, role_kind: str, role_name: str, subjects: list[dict[str, Any]], namespace: str | None = None
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding" if namespace is not None else "ClusterRoleBinding",
        "metadata": meta,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role_name},
        "subjects": subjects,
    }


def user(name: str) -> dict[str, Any]:
    return {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": name}


def group(name: str) -> dict[str, Any]:
    return {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": name}


def status_of(exc: ApiException) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(exc.body or "")
    return body


def raw(api: Any, method: str, path: str) -> tuple[int, bytes]:
    """A request for any path through the official client (its authentication and TLS settings): status, body."""
    serialized = api.param_serialize(method, path, auth_settings=["BearerToken"])
    response = api.call_api(*serialized)
    return response.status, response.read()


def raw_status(api: Any, method: str, path: str) -> tuple[int, dict[str, Any]]:
    code, data = raw(api, method, path)
    return code, json.loads(data)


CONFIGMAP_READER = [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}]


# -- authentication ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["kube", "kube_rbac"])
def test_unknown_bearer_token_is_401_unauthorized_status(fixture: str, request: pytest.FixtureRequest) -> None:
    kube: RunningKube = request.getfixturevalue(fixture)
    with api_client(kube, "not-a-token") as api, pytest.raises(ApiException) as caught:
        client.CoreV1Api(api).list_namespace()
    assert caught.value.status == 401
    status = status_of(caught.value)
    assert (status["kind"], status["status"], status["reason"], status["code"]) == (
        "Status",
        "Failure",
        "Unauthorized",
        401,
    )
    assert status["message"] == "Unauthorized"
    # Even open endpoints: a bad token is never downgraded to anonymous (bearertoken.go).
    with api_client(kube, "not-a-token") as api:
        code, status = raw_status(api, "GET", "/healthz")
    assert (code, status["reason"]) == (401, "Unauthorized")


def test_kubectl_with_unknown_token_must_log_in(kube_rbac: RunningKube) -> None:
    proc = kube_rbac.kubectl("--token", "not-a-token", "get", "namespaces", check=False)
    assert proc.returncode == 1
    # client-go's wording for a 401 (k8s.io/apimachinery/pkg/api/errors: NewUnauthorized).
    assert proc.stderr.strip().endswith(
        "error: You must be logged in to the server (the server has asked for the client to provide credentials)"
    )


def test_anonymous_may_only_read_public_info_granted_by_stored_binding(kube_rbac: RunningKube) -> None:
    with api_client(kube_rbac, None) as api:
        with pytest.raises(ApiException) as caught:
            client.CoreV1Api(api).list_namespace()
        assert caught.value.status == 403
        status = status_of(caught.value)
        assert status["reason"] == "Forbidden"
        assert status["message"] == (
            'namespaces is forbidden: User "system:anonymous" cannot list resource "namespaces" in API group "" '
            "at the cluster scope"
        )
        assert status["details"] == {"kind": "namespaces"}
        # system:public-info-viewer is bound to system:unauthenticated: health and version are open.
        assert raw(api, "GET", "/healthz") == (200, b"ok")
        version = client.VersionApi(api).get_code()
        assert version.major == "1"
        # ... but discovery is not (system:discovery is bound to system:authenticated only).
        code, status = raw_status(api, "GET", "/apis")
        assert (code, status["reason"]) == (403, "Forbidden")
        assert status["message"] == 'forbidden: User "system:anonymous" cannot get path "/apis"'

    # The grant comes from the stored ClusterRoleBinding, not from a rule in the server: remove it, it's gone.
    kube_rbac.kubectl("delete", "clusterrolebinding", "system:public-info-viewer")
    with api_client(kube_rbac, None) as api:
        code, status = raw_status(api, "GET", "/healthz")
    assert code == 403
    assert status["message"] == 'forbidden: User "system:anonymous" cannot get path "/healthz"'


def test_users_added_in_process_or_over_control_api_authenticate(kube_rbac: RunningKube) -> None:
    in_process = add_user(kube_rbac, "alice", "devs")
    req = urllib.request.Request(
        f"{kube_rbac.url}/_emulator/tokens",
        data=json.dumps({"user": "dave", "groups": ["ops"]}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    ctx = _ssl_context(kube_rbac)
    with urllib.request.urlopen(req, context=ctx) as resp:
        over_http = json.loads(resp.read())["token"]
    for token, name, groups in ((in_process, "alice", ["devs"]), (over_http, "dave", ["ops"])):
        with api_client(kube_rbac, token) as api:
            review = client.AuthenticationV1Api(api).create_self_subject_review(
                client.V1SelfSubjectReview(metadata=client.V1ObjectMeta())
            )
        assert review.status.user_info.username == name
        assert review.status.user_info.groups == [*groups, "system:authenticated"]


def _ssl_context(kube: RunningKube) -> Any:
    import base64
    import ssl

    ca = base64.b64decode(kube.emulator.kubeconfig["clusters"][0]["cluster"]["certificate-authority-data"])
    return ssl.create_default_context(cadata=ca.decode())


# -- RBAC ----------------------------------------------------------------------------------------------------


def test_role_binding_takes_effect_immediately_and_deleting_it_revokes(kube_rbac: RunningKube) -> None:
    kube = kube_rbac
    alice = add_user(kube, "alice", "devs")
    apply(kube, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"a": "1"}})

    proc = kube.kubectl("--token", alice, "get", "configmaps", check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        'Error from server (Forbidden): configmaps is forbidden: User "alice" cannot list resource "configmaps" '
        'in API group "" in the namespace "default"'
    )

    apply(
        kube,
        role("cm-reader", "default", CONFIGMAP_READER),
        binding("alice-reads", "Role", "cm-reader", [user("alice")], namespace="default"),
    )
    assert "settings" in kube.kubectl("--token", alice, "get", "configmaps").stdout
    assert kube.kubectl("--token", alice, "get", "configmap", "settings", "-o", "jsonpath={.data.a}").stdout == "1"
    # A Role grants nothing outside its namespace, and nothing but its verbs.
    other_ns = kube.kubectl("--token", alice, "get", "configmaps", "-n", "kube-system", check=False)
    assert 'cannot list resource "configmaps" in API group "" in the namespace "kube-system"' in other_ns.stderr
    delete = kube.kubectl("--token", alice, "delete", "configmap", "settings", check=False)
    assert (
        'configmaps "settings" is forbidden: User "alice" cannot delete resource "configmaps" in API group "" '
        'in the namespace "default"'
    ) in delete.stderr

    # Groups are subjects too: a ClusterRoleBinding of the bootstrap "view" role to alice's group.
    apply(kube, binding("devs-view", "ClusterRole", "view", [group("devs")]))
    assert kube.kubectl("--token", alice, "get", "configmaps", "-n", "kube-system").returncode == 0

    kube.kubectl("delete", "rolebinding", "alice-reads")
    kube.kubectl("delete", "clusterrolebinding", "devs-view")
    proc = kube.kubectl("--token", alice, "get", "configmaps", check=False)
    assert proc.returncode == 1 and "Forbidden" in proc.stderr


def test_role_rules_change_applies_to_existing_bindings(kube_rbac: RunningKube) -> None:
    kube = kube_rbac
    alice = add_user(kube, "alice")
    apply(
        kube,
        role("cm", "default", [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}]),
        binding("alice-cm", "Role", "cm", [user("alice")], namespace="default"),
    )
    assert kube.kubectl("--token", alice, "get", "configmaps", check=False).returncode == 1
    apply(kube, role("cm", "default", CONFIGMAP_READER))
    assert kube.kubectl("--token", alice, "get", "configmaps").returncode == 0
    assert kube.kubectl("--token", alice, "get", "secrets", check=False).returncode == 1


def test_non_resource_urls_are_authorized_by_rules(kube_rbac: RunningKube) -> None:
    kube = kube_rbac
    alice = add_user(kube, "alice")
    proc = kube.kubectl("--token", alice, "get", "--raw", "/metrics", check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == 'Error from server (Forbidden): forbidden: User "alice" cannot get path "/metrics"'
    apply(
        kube,
        cluster_role("metrics-reader", [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]),
        binding("alice-metrics", "ClusterRole", "metrics-reader", [user("alice")]),
    )
    proc = kube.kubectl("--token", alice, "get", "--raw", "/metrics", check=False)
    assert "Forbidden" not in proc.stderr  # authorized now (the emulator serves no metrics: NotFound)

    # Prefix rules ("/apis/*") on paths the server serves, for anonymous requests.
    with api_client(kube, None) as api:
        assert raw(api, "GET", "/apis/rbac.authorization.k8s.io")[0] == 403
        apply(
            kube,
            cluster_role("anon-discovery", [{"nonResourceURLs": ["/apis", "/apis/*"], "verbs": ["get"]}]),
            binding("anon-discovery", "ClusterRole", "anon-discovery", [group("system:unauthenticated")]),
        )
        code, group_doc = raw_status(api, "GET", "/apis/rbac.authorization.k8s.io")
        assert (code, group_doc["kind"]) == (200, "APIGroup")
        code, status = raw_status(api, "POST", "/apis/rbac.authorization.k8s.io")  # the rule is for "get" only
        assert code == 403
        assert (
            status["message"] == 'forbidden: User "system:anonymous" cannot post path "/apis/rbac.authorization.k8s.io"'
        )


def test_service_account_token_request_and_token_review(kube_rbac: RunningKube) -> None:
    kube = kube_rbac
    with api_client(kube, kube.emulator.admin_token) as admin:
        core = client.CoreV1Api(admin)
        core.create_namespaced_service_account(
            "default", client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="bot"))
        )
        request = client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=600)
        )
        issued = core.create_namespaced_service_account_token("bot", "default", request)
        token = issued.status.token
        assert token and issued.spec.expiration_seconds == 600
        review = client.AuthenticationV1Api(admin).create_token_review(
            client.V1TokenReview(spec=client.V1TokenReviewSpec(token=token))
        )
        assert review.status.authenticated is True
        assert review.status.user.username == "system:serviceaccount:default:bot"
        assert review.status.user.groups == [
            "system:serviceaccounts",
            "system:serviceaccounts:default",
            "system:authenticated",
        ]
        bogus = client.AuthenticationV1Api(admin).create_token_review(
            client.V1TokenReview(spec=client.V1TokenReviewSpec(token="bogus"))
        )
        assert not bogus.status.authenticated

    with api_client(kube, token) as bot:
        with pytest.raises(ApiException) as caught:
            client.CoreV1Api(bot).list_namespaced_config_map("default")
        assert status_of(caught.value)["message"] == (
            'configmaps is forbidden: User "system:serviceaccount:default:bot" cannot list resource "configmaps" '
            'in API group "" in the namespace "default"'
        )
        sa_subject = {"kind": "ServiceAccount", "name": "bot", "namespace": "default"}
        apply(
            kube,
            role("cm-reader", "default", CONFIGMAP_READER),
            binding("bot-reads", "Role", "cm-reader", [sa_subject], namespace="default"),
        )
        assert client.CoreV1Api(bot).list_namespaced_config_map("default").items == []
        # A service account may not review tokens without system:auth-delegator.
        with pytest.raises(ApiException) as caught:
            client.AuthenticationV1Api(bot).create_token_review(
                client.V1TokenReview(spec=client.V1TokenReviewSpec(token=token))
            )
        assert caught.value.status == 403


def test_kubectl_create_token_gives_a_working_service_account_token(kube_rbac: RunningKube) -> None:
    kube = kube_rbac
    apply(kube, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "bot"}})
    token = kube.kubectl("create", "token", "bot", "--duration=10m").stdout.strip()
    whoami = json.loads(kube.kubectl("--token", token, "auth", "whoami", "-o", "json").stdout)
    assert whoami["status"]["userInfo"]["username"] == "system:serviceaccount:default:bot"
    proc = kube.kubectl("--token", token, "get", "configmaps", check=False)
    assert 'User "system:serviceaccount:default:bot" cannot list resource "configmaps"' in proc.stderr
    apply(
        kube,
        binding("bot-view", "ClusterRole", "view", [{"kind": "ServiceAccount", "name": "bot", "namespace": "default"}]),
    )
    assert kube.kubectl("--token", token, "get", "configmaps", "-A").returncode == 0


# -- review APIs ---------------------------------------------------------------------------------------------


def test_access_reviews_answer_from_the_stored_rbac_objects(kube_rbac: RunningKube) -> None:
    kube = kube_rbac
    alice = add_user(kube, "alice", "devs")
    list_cms = client.V1ResourceAttributes(verb="list", resource="configmaps", namespace="default")

    def sar(attrs: Any = None, **spec: Any) -> Any:
        body = client.V1SubjectAccessReview(spec=client.V1SubjectAccessReviewSpec(resource_attributes=attrs, **spec))
        with api_client(kube, kube.emulator.admin_token) as admin:
            return client.AuthorizationV1Api(admin).create_subject_access_review(body).status

    assert sar(list_cms, user="alice", groups=["devs"]).allowed is False
    with api_client(kube, alice) as api:
        authz = client.AuthorizationV1Api(api)
        self_review = client.V1SelfSubjectAccessReview(
            spec=client.V1SelfSubjectAccessReviewSpec(resource_attributes=list_cms)
        )
        assert authz.create_self_subject_access_review(self_review).status.allowed is False

        apply(
            kube,
            role("cm-reader", "default", CONFIGMAP_READER),
            binding("alice-reads", "Role", "cm-reader", [user("alice")], namespace="default"),
        )
        status = sar(list_cms, user="alice", groups=["devs"])
        assert status.allowed is True
        assert status.reason == 'RBAC: allowed by RoleBinding "alice-reads/default" of Role "cm-reader" to User "alice"'
        assert authz.create_self_subject_access_review(self_review).status.allowed is True
        in_kube_system = client.V1ResourceAttributes(verb="list", resource="configmaps", namespace="kube-system")
        assert sar(in_kube_system, user="alice").allowed is False

        rules = authz.create_self_subject_rules_review(
            client.V1SelfSubjectRulesReview(spec=client.V1SelfSubjectRulesReviewSpec(namespace="default"))
        ).status
        assert {"verbs": ["get", "list", "watch"], "api_groups": [""], "resources": ["configmaps"]} in [
            {"verbs": r.verbs, "api_groups": r.api_groups, "resources": r.resources} for r in rules.resource_rules
        ]
        assert any("/healthz" in r.non_resource_urls for r in rules.non_resource_rules)
        assert rules.incomplete is False
        elsewhere = authz.create_self_subject_rules_review(
            client.V1SelfSubjectRulesReview(spec=client.V1SelfSubjectRulesReviewSpec(namespace="kube-system"))
        ).status
        assert all("configmaps" not in (r.resources or []) for r in elsewhere.resource_rules)

        # alice may review herself (system:basic-user) but not others (needs system:auth-delegator).
        with pytest.raises(ApiException) as caught:
            authz.create_subject_access_review(
                client.V1SubjectAccessReview(
                    spec=client.V1SubjectAccessReviewSpec(resource_attributes=list_cms, user="bob")
                )
            )
        assert status_of(caught.value)["message"] == (
            'subjectaccessreviews.authorization.k8s.io is forbidden: User "alice" cannot create resource '
            '"subjectaccessreviews" in API group "authorization.k8s.io" at the cluster scope'
        )

    # Non-resource attributes and group subjects.
    healthz = client.V1NonResourceAttributes(path="/healthz", verb="get")
    assert sar(
        None, non_resource_attributes=healthz, user="system:anonymous", groups=["system:unauthenticated"]
    ).allowed
    metrics = client.V1NonResourceAttributes(path="/metrics", verb="get")
    assert not sar(None, non_resource_attributes=metrics, user="alice", groups=["system:authenticated"]).allowed
    assert sar(None, non_resource_attributes=metrics, user="mon", groups=["system:monitoring"]).allowed
    # LocalSubjectAccessReview, in the namespace of the request.
    with api_client(kube, kube.emulator.admin_token) as admin:
        local = client.AuthorizationV1Api(admin).create_namespaced_local_subject_access_review(
            "default",
            client.V1LocalSubjectAccessReview(
                metadata=client.V1ObjectMeta(namespace="default"),
                spec=client.V1SubjectAccessReviewSpec(resource_attributes=list_cms, user="alice"),
            ),
        )
    assert local.status.allowed is True


def test_kubectl_auth_can_i_and_whoami(kube_rbac: RunningKube) -> None:
    kube = kube_rbac
    proc = kube.kubectl("auth", "can-i", "list", "configmaps", "--as=alice", check=False)
    assert (proc.returncode, proc.stdout.strip()) == (1, "no")
    apply(
        kube,
        role("cm-reader", "default", CONFIGMAP_READER),
        binding("alice-reads", "Role", "cm-reader", [user("alice")], namespace="default"),
    )
    proc = kube.kubectl("auth", "can-i", "list", "configmaps", "--as=alice")
    assert proc.stdout.strip() == "yes"
    proc = kube.kubectl("auth", "can-i", "delete", "configmaps", "--as=alice", check=False)
    assert (proc.returncode, proc.stdout.strip()) == (1, "no")
    proc = kube.kubectl("auth", "can-i", "list", "configmaps", "-n", "kube-system", "--as=alice", check=False)
    assert proc.stdout.strip() == "no"
    listed = kube.kubectl("auth", "can-i", "--list", "--as=alice").stdout
    row = next(line for line in listed.splitlines() if line.startswith("configmaps "))
    assert row.split() == ["configmaps", "[]", "[]", "[get", "list", "watch]"]
    assert kube.kubectl("auth", "can-i", "get", "/healthz", "--as=alice").stdout.strip() == "yes"
    assert kube.kubectl("auth", "can-i", "get", "/metrics", "--as=alice", check=False).stdout.strip() == "no"

    admin = json.loads(kube.kubectl("auth", "whoami", "-o", "json").stdout)["status"]["userInfo"]
    assert admin["username"] == "kubernetes-admin" and "system:masters" in admin["groups"]
    as_alice = json.loads(kube.kubectl("auth", "whoami", "-o", "json", "--as=alice", "--as-group=devs").stdout)
    assert as_alice["status"]["userInfo"] == {"username": "alice", "groups": ["devs", "system:authenticated"]}


# -- impersonation -------------------------------------------------------------------------------------------


def test_impersonation_needs_the_impersonate_verb(kube_rbac: RunningKube) -> None:
    kube = kube_rbac
    alice = add_user(kube, "alice")

    def list_as(*headers: tuple[str, str]) -> tuple[int, str]:
        with api_client(kube, alice) as api:
            for name, value in headers:
                api.set_default_header(name, value)
            try:
                client.CoreV1Api(api).list_namespaced_config_map("default")
            except ApiException as exc:
                return exc.status, status_of(exc)["message"]
            return 200, ""

    assert list_as(("Impersonate-User", "bob")) == (
        403,
        'users "bob" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster '
        "scope",
    )
    # kubectl fails in discovery already, and client-go's discovery reports a 403 as "unknown" (as against a cluster).
    proc = kube.kubectl("--token", alice, "--as=bob", "get", "configmaps", check=False)
    assert proc.returncode == 1 and proc.stderr.strip().endswith("Error from server (Forbidden): unknown")

    apply(
        kube,
        cluster_role(
            "impersonate-bob",
            [{"apiGroups": [""], "resources": ["users"], "verbs": ["impersonate"], "resourceNames": ["bob"]}],
        ),
        binding("alice-as-bob", "ClusterRole", "impersonate-bob", [user("alice")]),
        role("cm-reader", "default", CONFIGMAP_READER),
        binding("bob-reads", "Role", "cm-reader", [user("bob")], namespace="default"),
    )
    # Acting as bob, alice gets bob's rights (and only those): alice herself may not list configmaps.
    assert list_as(("Impersonate-User", "bob")) == (200, "")
    assert kube.kubectl("--token", alice, "--as=bob", "get", "configmaps").returncode == 0
    assert kube.kubectl("--token", alice, "get", "configmaps", check=False).returncode == 1
    proc = kube.kubectl("--token", alice, "--as=bob", "get", "secrets", check=False)
    assert 'User "bob" cannot list resource "secrets" in API group "" in the namespace "default"' in proc.stderr
    # Only bob: impersonating carol, or bob with a group, is still refused.
    assert list_as(("Impersonate-User", "carol"))[1].startswith('users "carol" is forbidden: User "alice" cannot')
    assert list_as(("Impersonate-User", "bob"), ("Impersonate-Group", "admins")) == (
        403,
        'groups "admins" is forbidden: User "alice" cannot impersonate resource "groups" in API group "" at the '
        "cluster scope",
    )
    # The cluster admin may impersonate anyone, and is then treated as them.
    proc = kube.kubectl("--as=carol", "get", "configmaps", check=False)
    assert 'User "carol" cannot list resource "configmaps"' in proc.stderr
