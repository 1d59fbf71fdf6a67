"""RBAC authorization, access/token reviews and the bootstrap policy of the emulated kube-apiserver.

The RBAC objects are those the SageMaker operator ships (kubebuilder's manager-role on our CRD group, the
leader-election Role, metrics-reader) plus hand-made ones. Expected reasons and messages follow
plugin/pkg/auth/authorizer/rbac/rbac.go, pkg/registry/rbac/validation/rule.go, pkg/registry/authorization and
pkg/apis/authorization/validation/validation.go.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from smk8s.emulators.kube.auth import (
    ADMIN_USER,
    ANONYMOUS_USER,
    RequestAttributes,
    TokenAuthenticator,
    UserInfo,
    impersonate,
    request_attributes,
    service_account_user,
)
from smk8s.emulators.kube.errors import APIError
from smk8s.emulators.kube.rbac import (
    ClusterAuthorizer,
    RBACAuthorizer,
    aggregated_rules,
    bootstrap_policy,
    forbidden_error,
    is_privileged,
    local_subject_access_review,
    rule_allows,
    self_subject_access_review,
    self_subject_review,
    self_subject_rules_review,
    subject_access_review,
    token_review,
)

RBAC = "rbac.authorization.k8s.io"
SM = "sagemaker.aws.amazon.com"
OPERATOR_NS = "sagemaker-system"
MANAGER = service_account_user(OPERATOR_NS, "controller-manager")
ALICE = UserInfo("alice", groups=("system:authenticated",))
BOB = UserInfo("bob", groups=("ml-team", "system:authenticated"))


class FakeStore:
    """Objects by (group, plural), as the server's store lists them."""

    def __init__(self, objects: Iterable[tuple[str, str, dict[str, Any]]] = ()) -> None:
        self.objects: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for group, plural, obj in objects:
            self.add(group, plural, obj)

    def add(self, group: str, plural: str, obj: dict[str, Any]) -> None:
        self.objects.setdefault((group, plural), []).append(obj)

    def list(self, group: str, plural: str) -> list[dict[str, Any]]:
        return list(self.objects.get((group, plural), []))


def _meta(name: str, namespace: str = "", labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = dict(labels)
    return meta


def cluster_role(
    name: str, rules: list[dict[str, Any]], labels: Mapping[str, str] | None = None
) -> dict[str, Any]:
    return {"apiVersion": f"{RBAC}/v1", "kind": "ClusterRole", "metadata": _meta(name, labels=labels),
            "rules": rules}


def role(name: str, namespace: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": f"{RBAC}/v1", "kind": "Role", "metadata": _meta(name, namespace), "rules": rules}


def binding(name: str, role_kind: str, role_name: str, subjects: list[dict[str, Any]],
            namespace: str = "") -> dict[str, Any]:
    return {
        "apiVersion": f"{RBAC}/v1", "kind": "RoleBinding" if namespace else "ClusterRoleBinding",
        "metadata": _meta(name, namespace),
        "roleRef": {"apiGroup": RBAC, "kind": role_kind, "name": role_name},
        "subjects": subjects,
    }


ALL_RULE = {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}


def team_binding(name: str, cluster_role_name: str, subject: dict[str, Any]) -> dict[str, Any]:
    return binding(name, "ClusterRole", cluster_role_name, [subject], namespace="team")


def sa_subject(name: str, namespace: str = "") -> dict[str, Any]:
    subject = {"kind": "ServiceAccount", "name": name}
    if namespace:
        subject["namespace"] = namespace
    return subject


def user_subject(name: str) -> dict[str, Any]:
    return {"apiGroup": RBAC, "kind": "User", "name": name}


def group_subject(name: str) -> dict[str, Any]:
    return {"apiGroup": RBAC, "kind": "Group", "name": name}


def operator_objects() -> list[tuple[str, str, dict[str, Any]]]:
    """config/rbac of the operator, as kubebuilder generates it."""
    manager_role = cluster_role("manager-role", [
        {"apiGroups": [SM], "resources": ["trainingjobs"],
         "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]},
        {"apiGroups": [SM], "resources": ["trainingjobs/finalizers"], "verbs": ["update"]},
        {"apiGroups": [SM], "resources": ["trainingjobs/status"], "verbs": ["get", "patch", "update"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
        {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["sagemaker-credentials"],
         "verbs": ["get"]},
    ])
    leader_election = role("leader-election-role", OPERATOR_NS, [
        {"apiGroups": [""], "resources": ["configmaps"],
         "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
         "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
    ])
    metrics_reader = cluster_role("metrics-reader", [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}])
    return [
        (RBAC, "clusterroles", manager_role),
        (RBAC, "clusterrolebindings", binding("manager-rolebinding", "ClusterRole", "manager-role",
                                              [sa_subject("controller-manager", OPERATOR_NS)])),
        (RBAC, "roles", leader_election),
        # The subject's namespace is left out: a RoleBinding defaults it to its own namespace.
        (RBAC, "rolebindings", binding("leader-election-rolebinding", "Role", "leader-election-role",
                                       [sa_subject("controller-manager")], namespace=OPERATOR_NS)),
        (RBAC, "clusterroles", metrics_reader),
        (RBAC, "clusterrolebindings", binding("metrics-reader-binding", "ClusterRole", "metrics-reader",
                                              [user_subject("prometheus")])),
    ]


@pytest.fixture
def store() -> FakeStore:
    return FakeStore([*bootstrap_policy(), *operator_objects()])


@pytest.fixture
def rbac(store: FakeStore) -> RBACAuthorizer:
    return RBACAuthorizer(store.list)


def res(user: UserInfo, verb: str, resource: str, namespace: str = "", *, group: str = "", name: str = "",
        subresource: str = "") -> RequestAttributes:
    return RequestAttributes(
        user=user, verb=verb, is_resource_request=True, api_group=group, api_version="v1", resource=resource,
        subresource=subresource, namespace=namespace, name=name,
    )


def url(user: UserInfo, path: str, verb: str = "get") -> RequestAttributes:
    return RequestAttributes(user=user, verb=verb, is_resource_request=False, path=path)


# ----------------------------------------------------------------------------------------------------
# The operator's own permissions


def test_manager_role_allows_trainingjobs_everywhere_with_upstream_reason(rbac: RBACAuthorizer) -> None:
    assert rbac.authorize(res(MANAGER, "watch", "trainingjobs", group=SM)) == (
        True,
        'RBAC: allowed by ClusterRoleBinding "manager-rolebinding" of ClusterRole "manager-role" '
        'to ServiceAccount "controller-manager/sagemaker-system"',
    )
    assert rbac.authorize(res(MANAGER, "create", "trainingjobs", "team-a", group=SM))[0]


def test_manager_role_subresources(rbac: RBACAuthorizer) -> None:
    assert rbac.authorize(res(MANAGER, "update", "trainingjobs", "ns", group=SM, subresource="status",
                              name="job"))[0]
    assert rbac.authorize(res(MANAGER, "update", "trainingjobs", "ns", group=SM, subresource="finalizers",
                              name="job"))[0]
    assert not rbac.authorize(res(MANAGER, "delete", "trainingjobs", "ns", group=SM, subresource="status",
                                  name="job"))[0]
    assert not rbac.authorize(res(MANAGER, "patch", "trainingjobs", "ns", group=SM, subresource="finalizers",
                                  name="job"))[0]


def test_rules_match_api_group_exactly(rbac: RBACAuthorizer) -> None:
    assert not rbac.authorize(res(MANAGER, "get", "trainingjobs", "ns", group="other.example.com"))[0]
    assert not rbac.authorize(res(MANAGER, "create", "events", "ns", group="events.k8s.io"))[0]
    assert rbac.authorize(res(MANAGER, "create", "events", "ns"))[0]


def test_resource_names_limit_a_rule_to_named_objects(rbac: RBACAuthorizer) -> None:
    assert rbac.authorize(res(MANAGER, "get", "secrets", "ns", name="sagemaker-credentials"))[0]
    assert not rbac.authorize(res(MANAGER, "get", "secrets", "ns", name="other"))[0]
    # A list has no name, so a resourceNames rule cannot allow it.
    assert not rbac.authorize(res(MANAGER, "list", "secrets", "ns"))[0]


def test_role_binding_grants_only_in_its_namespace(rbac: RBACAuthorizer) -> None:
    lease = res(MANAGER, "update", "leases", OPERATOR_NS, group="coordination.k8s.io", name="lock")
    allowed, reason = rbac.authorize(lease)
    assert allowed
    assert reason == (
        'RBAC: allowed by RoleBinding "leader-election-rolebinding/sagemaker-system" of Role '
        '"leader-election-role" to ServiceAccount "controller-manager/sagemaker-system"'
    )
    assert not rbac.authorize(res(MANAGER, "update", "leases", "default", group="coordination.k8s.io",
                                  name="lock"))[0]
    assert not rbac.authorize(res(MANAGER, "list", "leases", group="coordination.k8s.io"))[0]


def test_service_account_of_another_namespace_does_not_match(rbac: RBACAuthorizer) -> None:
    impostor = service_account_user("default", "controller-manager")
    assert not rbac.authorize(res(impostor, "list", "trainingjobs", group=SM))[0]
    assert not rbac.authorize(res(impostor, "get", "configmaps", OPERATOR_NS))[0]


def test_metrics_reader_non_resource_url(rbac: RBACAuthorizer) -> None:
    prometheus = UserInfo("prometheus", groups=("system:authenticated",))
    assert rbac.authorize(url(prometheus, "/metrics"))[0]
    assert not rbac.authorize(url(prometheus, "/metrics/extra"))[0]
    assert not rbac.authorize(url(prometheus, "/metrics", verb="post"))[0]
    assert not rbac.authorize(url(ALICE, "/metrics"))[0]


def test_denied_request_renders_upstream_forbidden(rbac: RBACAuthorizer) -> None:
    attrs = request_attributes("PUT", f"/apis/{SM}/v1/namespaces/ns/trainingjobs/job1/status", {}, ALICE)
    allowed, reason = rbac.authorize(attrs)
    assert (allowed, reason) == (False, "")
    error = forbidden_error(attrs, reason)
    assert error.message == (
        'trainingjobs.sagemaker.aws.amazon.com "job1" is forbidden: User "alice" cannot update resource '
        '"trainingjobs/status" in API group "sagemaker.aws.amazon.com" in the namespace "ns"'
    )


# ----------------------------------------------------------------------------------------------------
# Matching details (evaluation_helpers.go, rule.go)


@pytest.mark.parametrize(
    ("rule", "attrs", "allowed"),
    [
        ({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}, res(ALICE, "delete", "pods", "ns"), True),
        ({"verbs": ["get"], "apiGroups": [""], "resources": ["*/status"]},
         res(ALICE, "get", "pods", "ns", subresource="status"), True),
        ({"verbs": ["get"], "apiGroups": [""], "resources": ["*/status"]},
         res(ALICE, "get", "pods", "ns"), False),
        ({"verbs": ["get"], "apiGroups": [""], "resources": ["*/status"]},
         res(ALICE, "get", "pods", "ns", subresource="log"), False),
        # A rule on the resource does not cover its subresources.
        ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]},
         res(ALICE, "get", "pods", "ns", subresource="log"), False),
        ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods/log"]},
         res(ALICE, "get", "pods", "ns", subresource="log"), True),
        ({"verbs": ["get"], "nonResourceURLs": ["/healthz/*"]}, url(ALICE, "/healthz/etcd"), True),
        ({"verbs": ["get"], "nonResourceURLs": ["/healthz/*"]}, url(ALICE, "/healthz"), False),
        ({"verbs": ["get"], "nonResourceURLs": ["*"]}, url(ALICE, "/anything"), True),
        # Non-resource rules never cover resource requests, and resource rules never cover URLs.
        ({"verbs": ["*"], "nonResourceURLs": ["*"]}, res(ALICE, "get", "pods", "ns"), False),
        ({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}, url(ALICE, "/healthz"), False),
    ],
)
def test_rule_allows(rule: dict[str, Any], attrs: RequestAttributes, allowed: bool) -> None:
    assert rule_allows(attrs, rule) is allowed


def test_group_and_user_subjects() -> None:
    store = FakeStore([
        (RBAC, "clusterroles", cluster_role("pod-reader", [{"verbs": ["get"], "apiGroups": [""],
                                                             "resources": ["pods"]}])),
        (RBAC, "rolebindings", binding("team", "ClusterRole", "pod-reader",
                                       [user_subject("carol"), group_subject("ml-team")], namespace="ml")),
    ])
    rbac = RBACAuthorizer(store.list)
    assert rbac.authorize(res(BOB, "get", "pods", "ml")) == (
        True, 'RBAC: allowed by RoleBinding "team/ml" of ClusterRole "pod-reader" to Group "ml-team"'
    )
    assert rbac.authorize(res(UserInfo("carol"), "get", "pods", "ml"))[0]
    assert not rbac.authorize(res(ALICE, "get", "pods", "ml"))[0]
    # A RoleBinding to a ClusterRole grants it in the binding's namespace only.
    assert not rbac.authorize(res(BOB, "get", "pods", "other"))[0]


def test_service_account_subject_without_namespace_never_matches_in_cluster_role_binding() -> None:
    store = FakeStore([
        (RBAC, "clusterroles", cluster_role("all", [ALL_RULE])),
        (RBAC, "clusterrolebindings", binding("b", "ClusterRole", "all", [sa_subject("default")])),
    ])
    nameless = service_account_user("", "default")
    assert not RBACAuthorizer(store.list).authorize(res(nameless, "get", "pods"))[0]


def test_binding_to_missing_role_reports_it_in_the_reason() -> None:
    store = FakeStore([
        (RBAC, "rolebindings", binding("rb", "Role", "gone", [user_subject("alice")], namespace="ns")),
        (RBAC, "clusterrolebindings", binding("crb", "ClusterRole", "gone-too", [user_subject("alice")])),
    ])
    rbac = RBACAuthorizer(store.list)
    assert rbac.authorize(res(ALICE, "get", "pods", "ns")) == (
        False,
        'RBAC: [clusterrole.rbac.authorization.k8s.io "gone-too" not found, '
        'role.rbac.authorization.k8s.io "gone" not found]',
    )
    assert rbac.authorize(res(ALICE, "get", "pods")) == (
        False, 'RBAC: clusterrole.rbac.authorization.k8s.io "gone-too" not found'
    )
    attrs = res(ALICE, "get", "pods", "ns")
    assert forbidden_error(attrs, rbac.authorize(attrs)[1]).message.endswith(
        '"ns": RBAC: [clusterrole.rbac.authorization.k8s.io "gone-too" not found, '
        'role.rbac.authorization.k8s.io "gone" not found]'
    )


def test_role_of_another_namespace_is_not_found() -> None:
    store = FakeStore([
        (RBAC, "roles", role("r", "other", [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}])),
        (RBAC, "rolebindings", binding("rb", "Role", "r", [user_subject("alice")], namespace="ns")),
    ])
    assert RBACAuthorizer(store.list).authorize(res(ALICE, "get", "pods", "ns")) == (
        False, 'RBAC: role.rbac.authorization.k8s.io "r" not found'
    )


def test_changes_to_stored_objects_apply_immediately() -> None:
    store = FakeStore()
    rbac = RBACAuthorizer(store.list)
    assert not rbac.authorize(res(ALICE, "list", "pods", "ns"))[0]
    store.add(RBAC, "clusterroles", cluster_role("r", [{"verbs": ["list"], "apiGroups": [""],
                                                         "resources": ["pods"]}]))
    store.add(RBAC, "clusterrolebindings", binding("b", "ClusterRole", "r", [user_subject("alice")]))
    assert rbac.authorize(res(ALICE, "list", "pods", "ns"))[0]


# ----------------------------------------------------------------------------------------------------
# Privileged groups and the authorizer chain


def test_system_masters_is_not_special_to_rbac_itself() -> None:
    rbac = RBACAuthorizer(FakeStore().list)
    assert is_privileged(ADMIN_USER)
    assert not is_privileged(ALICE)
    assert rbac.authorize(res(ADMIN_USER, "delete", "namespaces", name="x")) == (False, "")
    assert ClusterAuthorizer(rbac).authorize(res(ADMIN_USER, "delete", "namespaces", name="x")) == (True, "")


def test_cluster_authorizer_defers_to_rbac_for_everyone_else(rbac: RBACAuthorizer) -> None:
    chain = ClusterAuthorizer(rbac)
    assert not chain.authorize(res(ALICE, "list", "trainingjobs", group=SM))[0]
    assert chain.authorize(res(MANAGER, "list", "trainingjobs", group=SM))[0]


def test_cluster_authorizer_without_rbac_allows_everything() -> None:
    chain = ClusterAuthorizer(None)
    assert chain.authorize(res(ANONYMOUS_USER, "delete", "namespaces", name="x")) == (True, "")
    rules = chain.rules_for(ALICE, "default")
    assert rules.resource_rules == [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]
    assert rules.non_resource_rules == [{"verbs": ["*"], "nonResourceURLs": ["*"]}]


# ----------------------------------------------------------------------------------------------------
# Bootstrap policy and aggregation


def test_bootstrap_objects_are_labelled_like_rbac_defaults() -> None:
    objects = bootstrap_policy()
    names = {(plural, obj["metadata"]["name"]) for _, plural, obj in objects}
    for expected in ["cluster-admin", "admin", "edit", "view", "system:discovery", "system:basic-user",
                     "system:public-info-viewer"]:
        assert ("clusterroles", expected) in names
    for _, _, obj in objects:
        assert obj["metadata"]["labels"]["kubernetes.io/bootstrapping"] == "rbac-defaults"
        assert obj["apiVersion"] == "rbac.authorization.k8s.io/v1"
    subjects = {obj["metadata"]["name"]: [s["name"] for s in obj["subjects"]]
                for _, plural, obj in objects if plural == "clusterrolebindings"}
    assert subjects["cluster-admin"] == ["system:masters"]
    assert subjects["system:discovery"] == ["system:authenticated"]
    assert subjects["system:basic-user"] == ["system:authenticated"]
    assert subjects["system:public-info-viewer"] == ["system:authenticated", "system:unauthenticated"]


def test_masters_are_cluster_admin_through_rbac_too(rbac: RBACAuthorizer) -> None:
    assert rbac.authorize(res(ADMIN_USER, "delete", "trainingjobs", "x", group=SM, name="j")) == (
        True, 'RBAC: allowed by ClusterRoleBinding "cluster-admin" of ClusterRole "cluster-admin" to Group '
        '"system:masters"'
    )


def test_anonymous_sees_public_info_only(rbac: RBACAuthorizer) -> None:
    for path in ["/healthz", "/livez", "/readyz", "/version"]:
        assert rbac.authorize(request_attributes("GET", path, {}, ANONYMOUS_USER))[0], path
    for path in ["/api", "/apis", "/openapi/v2", "/metrics"]:
        assert not rbac.authorize(request_attributes("GET", path, {}, ANONYMOUS_USER))[0], path


def test_authenticated_users_discover_and_review_themselves(rbac: RBACAuthorizer) -> None:
    for path in ["/api", "/api/v1", f"/apis/{SM}/v1", "/openapi/v2", "/version"]:
        assert rbac.authorize(request_attributes("GET", path, {}, ALICE))[0], path
    ssar = request_attributes("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {}, ALICE)
    assert rbac.authorize(ssar)[0]
    whoami = request_attributes("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", {}, ALICE)
    assert rbac.authorize(whoami)[0]
    assert not rbac.authorize(request_attributes("GET", "/api/v1/namespaces/default/pods", {}, ALICE))[0]


def test_bootstrap_aggregated_roles_hold_their_rules() -> None:
    roles = {o["metadata"]["name"]: o for _, plural, o in bootstrap_policy() if plural == "clusterroles"}
    view, edit, admin = (roles[n]["rules"] for n in ("view", "edit", "admin"))
    assert roles["view"]["aggregationRule"] == {
        "clusterRoleSelectors": [{"matchLabels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}}]
    }
    assert view == roles["system:aggregate-to-view"]["rules"]
    assert all(rule in edit for rule in view)
    assert all(rule in admin for rule in edit)
    assert any("rolebindings" in rule["resources"] for rule in admin)
    assert not any("rolebindings" in rule["resources"] for rule in edit)


def test_edit_view_admin_through_role_bindings(store: FakeStore, rbac: RBACAuthorizer) -> None:
    store.add(RBAC, "rolebindings", team_binding("viewers", "view", user_subject("alice")))
    store.add(RBAC, "rolebindings", team_binding("editors", "edit", group_subject("ml-team")))
    assert rbac.authorize(res(ALICE, "list", "pods", "team"))[0]
    assert not rbac.authorize(res(ALICE, "create", "pods", "team"))[0]
    assert not rbac.authorize(res(ALICE, "get", "secrets", "team", name="s"))[0]
    assert rbac.authorize(res(BOB, "create", "configmaps", "team"))[0]
    assert rbac.authorize(res(BOB, "get", "secrets", "team", name="s"))[0]
    assert not rbac.authorize(res(BOB, "create", "rolebindings", "team", group=RBAC))[0]


def test_custom_resources_join_edit_and_admin_through_aggregation_labels(
    store: FakeStore, rbac: RBACAuthorizer
) -> None:
    store.add(RBAC, "clusterroles", cluster_role(
        "trainingjob-editor",
        [{"verbs": ["create", "delete", "get", "list", "patch", "update", "watch"], "apiGroups": [SM],
          "resources": ["trainingjobs"]}],
        labels={"rbac.authorization.k8s.io/aggregate-to-edit": "true"},
    ))
    store.add(RBAC, "rolebindings", team_binding("editors", "edit", group_subject("ml-team")))
    store.add(RBAC, "rolebindings", team_binding("admins", "admin", user_subject("carol")))
    store.add(RBAC, "rolebindings", team_binding("viewers", "view", user_subject("alice")))
    assert rbac.authorize(res(BOB, "create", "trainingjobs", "team", group=SM)) == (
        True, 'RBAC: allowed by RoleBinding "editors/team" of ClusterRole "edit" to Group "ml-team"'
    )
    assert rbac.authorize(res(UserInfo("carol"), "delete", "trainingjobs", "team", group=SM, name="j"))[0]
    assert not rbac.authorize(res(ALICE, "get", "trainingjobs", "team", group=SM, name="j"))[0]


def test_aggregation_order_selectors_and_cycles() -> None:
    rule_a = {"verbs": ["get"], "apiGroups": [""], "resources": ["a"]}
    rule_b = {"verbs": ["get"], "apiGroups": [""], "resources": ["b"]}
    aggregator = cluster_role("agg", [rule_b], labels={"tier": "x"})
    aggregator["aggregationRule"] = {"clusterRoleSelectors": [
        {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["x", "y"]}]},
    ]}
    others = [
        aggregator,
        cluster_role("z-last", [rule_b], labels={"tier": "y"}),
        cluster_role("a-first", [rule_a, rule_b], labels={"tier": "x"}),
        cluster_role("unlabelled", [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]),
    ]
    # Sorted by name, deduplicated, itself (and its own hand-written rules) left out.
    assert aggregated_rules(aggregator, others) == [rule_a, rule_b]
    assert aggregated_rules(others[1], others) is None
    loop_a = cluster_role("loop-a", [rule_a], labels={"loop": "b"})
    loop_a["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": {"loop": "a"}}]}
    loop_b = cluster_role("loop-b", [rule_b], labels={"loop": "a"})
    loop_b["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": {"loop": "b"}}]}
    assert aggregated_rules(loop_a, [loop_a, loop_b]) == []


@pytest.mark.parametrize(
    ("expression", "labels", "matches"),
    [
        ({"key": "k", "operator": "NotIn", "values": ["v"]}, {"k": "w"}, True),
        ({"key": "k", "operator": "NotIn", "values": ["v"]}, {"k": "v"}, False),
        ({"key": "k", "operator": "Exists"}, {"k": ""}, True),
        ({"key": "k", "operator": "Exists"}, {}, False),
        ({"key": "k", "operator": "DoesNotExist"}, {}, True),
        ({"key": "k", "operator": "DoesNotExist"}, {"k": "v"}, False),
        ({"key": "k", "operator": "Bogus"}, {"k": "v"}, False),
    ],
)
def test_aggregation_selector_expressions(
    expression: dict[str, Any], labels: dict[str, str], matches: bool
) -> None:
    agg = cluster_role("agg", [])
    agg["aggregationRule"] = {"clusterRoleSelectors": [{"matchExpressions": [expression]}]}
    rule = {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}
    other = cluster_role("other", [rule], labels=labels)
    assert aggregated_rules(agg, [agg, other]) == ([rule] if matches else [])


# ----------------------------------------------------------------------------------------------------
# Impersonation authorized by RBAC (kubectl --as)


def test_impersonation_allowed_by_a_cluster_role(store: FakeStore) -> None:
    store.add(RBAC, "clusterroles", cluster_role("impersonator", [
        {"verbs": ["impersonate"], "apiGroups": [""], "resources": ["users", "groups", "serviceaccounts"]},
    ]))
    store.add(RBAC, "clusterrolebindings", binding("ci", "ClusterRole", "impersonator", [user_subject("ci")]))
    chain = ClusterAuthorizer(RBACAuthorizer(store.list))
    ci = UserInfo("ci", groups=("system:authenticated",))
    acting = impersonate(ci, {"Impersonate-User": MANAGER.username}, chain.authorize)
    assert acting == MANAGER
    assert chain.authorize(request_attributes("GET", f"/apis/{SM}/v1/trainingjobs", {}, acting))[0]


def test_impersonation_denied_by_rbac(rbac: RBACAuthorizer) -> None:
    with pytest.raises(APIError) as caught:
        impersonate(ALICE, {"Impersonate-User": "bob"}, ClusterAuthorizer(rbac).authorize)
    assert caught.value.code == 403
    assert caught.value.message == (
        'users "bob" is forbidden: User "alice" cannot impersonate resource "users" in API group "" '
        "at the cluster scope"
    )


def test_masters_may_impersonate_anyone(rbac: RBACAuthorizer) -> None:
    acting = impersonate(ADMIN_USER, {"Impersonate-User": "alice", "Impersonate-Group": ["ml-team"]},
                         ClusterAuthorizer(rbac).authorize)
    assert acting == UserInfo("alice", groups=("ml-team", "system:authenticated"))


# ----------------------------------------------------------------------------------------------------
# Access reviews


def test_subject_access_review_allowed_with_reason(rbac: RBACAuthorizer) -> None:
    spec = {"user": "system:serviceaccount:sagemaker-system:controller-manager",
            "groups": ["system:serviceaccounts"],
            "resourceAttributes": {"verb": "update", "group": SM, "resource": "trainingjobs",
                                   "subresource": "status", "namespace": "ns", "name": "j"}}
    assert subject_access_review(spec, rbac) == {
        "allowed": True,
        "reason": 'RBAC: allowed by ClusterRoleBinding "manager-rolebinding" of ClusterRole "manager-role" '
                  'to ServiceAccount "controller-manager/sagemaker-system"',
    }


def test_subject_access_review_uses_spec_groups_verbatim(rbac: RBACAuthorizer) -> None:
    # No system:authenticated is added to a SAR's subject, so discovery is not allowed for a bare user.
    spec = {"user": "alice", "nonResourceAttributes": {"path": "/api", "verb": "get"}}
    assert subject_access_review(spec, rbac) == {"allowed": False}
    spec_with_group = {**spec, "groups": ["system:authenticated"]}
    assert subject_access_review(spec_with_group, rbac)["allowed"] is True


def test_subject_access_review_accepts_a_function(rbac: RBACAuthorizer) -> None:
    spec = {"groups": ["system:masters"], "resourceAttributes": {"verb": "delete", "resource": "nodes"}}
    assert subject_access_review(spec, ClusterAuthorizer(rbac).authorize) == {"allowed": True}


def test_review_version_defaults_to_any(rbac: RBACAuthorizer) -> None:
    seen: list[RequestAttributes] = []

    def record(attrs: RequestAttributes) -> tuple[bool, str]:
        seen.append(attrs)
        return False, ""

    subject_access_review({"user": "u", "resourceAttributes": {"verb": "get", "resource": "pods"}}, record)
    assert seen[0].api_version == "*"
    assert seen[0].is_resource_request


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"user": "u"},
         'SubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: '
         'Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes '
         "must be specified"),
        ({"resourceAttributes": {"verb": "get"}},
         'SubjectAccessReview.authorization.k8s.io "" is invalid: spec.user: Invalid value: "": '
         "at least one of user or group must be specified"),
        ({"user": "u", "resourceAttributes": {}, "nonResourceAttributes": {"path": "/x", "verb": "get"}},
         'SubjectAccessReview.authorization.k8s.io "" is invalid: spec.nonResourceAttributes: Invalid value: '
         '{path:"/x", verb:"get"}: cannot be specified in combination with resourceAttributes'),
    ],
)
def test_subject_access_review_validation(rbac: RBACAuthorizer, spec: dict[str, Any], message: str) -> None:
    with pytest.raises(APIError) as caught:
        subject_access_review(spec, rbac)
    assert (caught.value.code, caught.value.reason) == (422, "Invalid")
    assert caught.value.message == message
    assert caught.value.kind == "SubjectAccessReview"


def test_review_metadata_must_be_empty(rbac: RBACAuthorizer) -> None:
    spec = {"user": "u", "nonResourceAttributes": {"path": "/x", "verb": "get"}}
    # What Go clients send for an empty ObjectMeta is accepted.
    assert subject_access_review(spec, rbac, {"creationTimestamp": None, "managedFields": [{}]}) == {
        "allowed": False
    }
    with pytest.raises(APIError) as caught:
        subject_access_review(spec, rbac, {"name": "x"})
    assert "metadata: Invalid value" in caught.value.message
    assert caught.value.message.endswith("must be empty")


def test_self_subject_access_review_for_the_requesting_user(rbac: RBACAuthorizer) -> None:
    spec = {"resourceAttributes": {"namespace": OPERATOR_NS, "verb": "create", "group": "coordination.k8s.io",
                                   "resource": "leases"}}
    assert self_subject_access_review(spec, MANAGER, rbac)["allowed"] is True
    assert self_subject_access_review(spec, ALICE, rbac) == {"allowed": False}
    with pytest.raises(APIError) as caught:
        self_subject_access_review({}, ALICE, rbac)
    assert caught.value.message.startswith('SelfSubjectAccessReview.authorization.k8s.io "" is invalid')


def test_can_i_as_another_user_via_impersonation(rbac: RBACAuthorizer) -> None:
    """kubectl auth can-i list trainingjobs --as=system:serviceaccount:sagemaker-system:controller-manager."""
    chain = ClusterAuthorizer(rbac)
    acting = impersonate(ADMIN_USER, {"Impersonate-User": MANAGER.username}, chain.authorize)
    spec = {"resourceAttributes": {"verb": "list", "group": SM, "resource": "trainingjobs",
                                   "namespace": "ns"}}
    assert self_subject_access_review(spec, acting, chain)["allowed"] is True
    spec["resourceAttributes"]["resource"] = "pods"
    assert self_subject_access_review(spec, acting, chain) == {"allowed": False}


def test_local_subject_access_review(rbac: RBACAuthorizer) -> None:
    spec = {"user": MANAGER.username, "resourceAttributes": {"namespace": OPERATOR_NS, "verb": "get",
                                                             "resource": "configmaps"}}
    assert local_subject_access_review(spec, OPERATOR_NS, rbac)["allowed"] is True
    assert local_subject_access_review(spec, OPERATOR_NS, rbac, {"namespace": OPERATOR_NS})["allowed"] is True


def test_local_subject_access_review_namespace_must_match(rbac: RBACAuthorizer) -> None:
    spec = {"user": "u", "resourceAttributes": {"namespace": "other", "verb": "get", "resource": "pods"}}
    with pytest.raises(APIError) as caught:
        local_subject_access_review(spec, "ns", rbac)
    assert caught.value.code == 422
    assert caught.value.message == (
        'LocalSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes.namespace: '
        'Invalid value: "other": must match metadata.namespace'
    )
    with pytest.raises(APIError) as mismatch:
        local_subject_access_review({**spec, "resourceAttributes": {"namespace": "ns"}}, "ns", rbac,
                                    {"namespace": "elsewhere"})
    assert mismatch.value.code == 400
    assert mismatch.value.message == (
        "the namespace of the provided object does not match the namespace sent on the request"
    )


def test_local_subject_access_review_refuses_non_resource_attributes(rbac: RBACAuthorizer) -> None:
    with pytest.raises(APIError) as caught:
        spec = {"user": "u", "nonResourceAttributes": {"path": "/x", "verb": "get"}}
        local_subject_access_review(spec, "ns", rbac)
    assert caught.value.message.endswith("disallowed on this kind of request")


def test_local_subject_access_review_needs_a_namespace(rbac: RBACAuthorizer) -> None:
    with pytest.raises(APIError) as caught:
        local_subject_access_review({"user": "u", "resourceAttributes": {"verb": "get"}}, "", rbac)
    assert (caught.value.code, caught.value.message) == (400, "namespace is required on this type: ")


def test_self_subject_rules_review_lists_what_can_i_list(rbac: RBACAuthorizer) -> None:
    status = self_subject_rules_review(OPERATOR_NS, MANAGER, rbac)
    assert status["incomplete"] is False
    assert "evaluationError" not in status
    resource_rules = status["resourceRules"]
    finalizers = {"verbs": ["update"], "apiGroups": [SM], "resources": ["trainingjobs/finalizers"]}
    assert finalizers in resource_rules
    assert {"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"],
            "resourceNames": ["sagemaker-credentials"]} in resource_rules
    assert any(rule.get("resources") == ["leases"] for rule in resource_rules)
    public_urls = ["/healthz", "/livez", "/readyz", "/version", "/version/"]
    public_info = {"verbs": ["get"], "nonResourceURLs": public_urls}
    assert public_info in status["nonResourceRules"]
    # The leader-election Role only shows up in its namespace.
    elsewhere = self_subject_rules_review("default", MANAGER, rbac)["resourceRules"]
    assert not any(rule.get("resources") == ["leases"] for rule in elsewhere)


def test_self_subject_rules_review_reports_resolution_errors() -> None:
    store = FakeStore([(RBAC, "rolebindings", binding("rb", "Role", "gone", [user_subject("alice")], "ns"))])
    status = self_subject_rules_review("ns", ALICE, RBACAuthorizer(store.list))
    assert status == {"resourceRules": [], "nonResourceRules": [], "incomplete": False,
                      "evaluationError": 'role.rbac.authorization.k8s.io "gone" not found'}


def test_self_subject_rules_review_needs_a_namespace(rbac: RBACAuthorizer) -> None:
    with pytest.raises(APIError) as caught:
        self_subject_rules_review("", ALICE, rbac)
    assert (caught.value.code, caught.value.message) == (400, "no namespace on request")


# ----------------------------------------------------------------------------------------------------
# TokenReview and SelfSubjectReview


@pytest.fixture
def tokens() -> TokenAuthenticator:
    authenticator = TokenAuthenticator()
    authenticator.add_service_account(OPERATOR_NS, "controller-manager", uid="sa-uid", token="sa-token")
    return authenticator


def test_token_review_of_a_service_account_token(tokens: TokenAuthenticator) -> None:
    assert token_review({"token": "sa-token"}, tokens) == {
        "authenticated": True,
        "user": {"username": MANAGER.username, "uid": "sa-uid", "groups": list(MANAGER.groups)},
        "audiences": ["https://kubernetes.default.svc.cluster.local"],
    }


def test_token_review_of_an_unknown_token(tokens: TokenAuthenticator) -> None:
    assert token_review({"token": "nope"}, tokens) == {"user": {}}


def test_token_review_for_foreign_audiences_is_unauthenticated(tokens: TokenAuthenticator) -> None:
    assert token_review({"token": "sa-token", "audiences": ["vault"]}, tokens) == {"user": {}}
    both = token_review({"token": "sa-token", "audiences": ["vault", "https://kubernetes.default.svc.cluster.local"]},
                        tokens)
    assert both["audiences"] == ["https://kubernetes.default.svc.cluster.local"]


def test_token_review_needs_a_token(tokens: TokenAuthenticator) -> None:
    with pytest.raises(APIError) as caught:
        token_review({}, tokens)
    assert caught.value.code == 400
    assert caught.value.message == "token is required for TokenReview in authentication"


def test_self_subject_review_is_whoami() -> None:
    assert self_subject_review(ADMIN_USER) == {
        "userInfo": {"username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]}
    }
