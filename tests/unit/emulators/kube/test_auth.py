"""Authentication, impersonation, request attributes and forbidden messages of the emulated kube-apiserver.

Expected values follow k8s.io/apiserver: pkg/endpoints/request/requestinfo_test.go (request attributes),
pkg/endpoints/filters/impersonation_test.go (impersonation), pkg/endpoints/handlers/responsewriters/errors.go
(forbidden messages) and pkg/authentication/request/bearertoken/bearertoken.go (bearer tokens).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
from multidict import CIMultiDict

from smk8s.emulators.kube.auth import (
    ADMIN_USER,
    ANONYMOUS_USER,
    RequestAttributes,
    TokenAuthenticator,
    UserInfo,
    forbidden_error,
    impersonate,
    request_attributes,
    service_account_user,
    split_service_account_username,
)
from smk8s.emulators.kube.errors import APIError

ALICE = UserInfo("alice", groups=("dev", "system:authenticated"))


# ----------------------------------------------------------------------------------------------------
# Bearer tokens


@pytest.fixture
def authenticator() -> TokenAuthenticator:
    tokens = TokenAuthenticator()
    tokens.add("admin-token", ADMIN_USER)
    tokens.add("alice-token", UserInfo("alice", uid="u-1", groups=("dev",)))
    return tokens


def test_admin_token_authenticates_as_kubeconfig_admin(authenticator: TokenAuthenticator) -> None:
    user = authenticator.authenticate("Bearer admin-token")
    assert user == UserInfo("kubernetes-admin", groups=("system:masters", "system:authenticated"))


def test_authenticated_group_is_added_like_group_adder(authenticator: TokenAuthenticator) -> None:
    assert authenticator.authenticate("Bearer alice-token") == UserInfo(
        "alice", uid="u-1", groups=("dev", "system:authenticated")
    )


def test_bearer_scheme_is_case_insensitive_and_header_trimmed(authenticator: TokenAuthenticator) -> None:
    user = authenticator.authenticate("  bearer alice-token  ")
    assert user is not None and user.username == "alice"


@pytest.mark.parametrize("header", [None, "", "Basic YWxpY2U6cGFzcw==", "Bearer", "Bearer  admin-token"])
def test_requests_without_a_bearer_token_are_anonymous(
    authenticator: TokenAuthenticator, header: str | None
) -> None:
    # "Bearer  token" (two spaces) is an empty token upstream: not authenticated, so anonymous.
    assert authenticator.authenticate(header) == ANONYMOUS_USER
    assert UserInfo("system:anonymous", groups=("system:unauthenticated",)) == ANONYMOUS_USER


def test_unknown_token_is_rejected_not_anonymous(authenticator: TokenAuthenticator) -> None:
    assert authenticator.authenticate("Bearer wrong") is None


def test_anonymous_access_can_be_disabled() -> None:
    tokens = TokenAuthenticator(allow_anonymous=False)
    assert tokens.authenticate(None) is None


def test_removed_token_no_longer_authenticates(authenticator: TokenAuthenticator) -> None:
    authenticator.remove("alice-token")
    assert authenticator.authenticate("Bearer alice-token") is None


def test_empty_token_cannot_be_registered() -> None:
    with pytest.raises(ValueError):
        TokenAuthenticator().add("", ALICE)


def test_minted_service_account_token_authenticates_as_the_service_account() -> None:
    tokens = TokenAuthenticator()
    token = tokens.add_service_account("sagemaker-system", "controller-manager", uid="sa-uid")
    assert tokens.authenticate(f"Bearer {token}") == UserInfo(
        "system:serviceaccount:sagemaker-system:controller-manager",
        uid="sa-uid",
        groups=("system:serviceaccounts", "system:serviceaccounts:sagemaker-system", "system:authenticated"),
    )
    assert tokens.add_service_account("ns", "other") != token


def test_service_account_token_can_be_chosen() -> None:
    tokens = TokenAuthenticator()
    assert tokens.add_service_account("ns", "sa", token="fixed") == "fixed"
    assert tokens.authenticate_token("fixed") == service_account_user("ns", "sa")


@pytest.mark.parametrize(
    ("username", "expected"),
    [
        ("system:serviceaccount:ns:sa", ("ns", "sa")),
        ("system:serviceaccount:ns:sa.with.dots", ("ns", "sa.with.dots")),
        ("system:serviceaccount:ns", None),
        ("system:serviceaccount:ns:sa:extra", None),
        ("system:serviceaccount:Bad_NS:sa", None),
        ("system:serviceaccount::sa", None),
        ("alice", None),
    ],
)
def test_split_service_account_username(username: str, expected: tuple[str, str] | None) -> None:
    assert split_service_account_username(username) == expected


def test_user_info_wire_form_omits_empty_fields() -> None:
    assert UserInfo("alice").to_dict() == {"username": "alice"}
    assert UserInfo("bob", "uid", ("g",), {"scopes": ("a", "b")}).to_dict() == {
        "username": "bob", "uid": "uid", "groups": ["g"], "extra": {"scopes": ["a", "b"]},
    }


# ----------------------------------------------------------------------------------------------------
# Request attributes (requestinfo_test.go)

CRD = "/apis/sagemaker.aws.amazon.com/v1"
SM = "sagemaker.aws.amazon.com"
PODS = "/api/v1/namespaces/other/pods"


def ri(
    verb: str, resource: str, namespace: str = "", name: str = "", sub: str = "", group: str = ""
) -> dict[str, str]:
    """Expected resource-request attributes (version v1)."""
    return {"verb": verb, "resource": resource, "namespace": namespace, "name": name, "subresource": sub,
            "api_group": group}


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        ("GET", "/api/v1/namespaces", {}, ri("list", "namespaces")),
        ("GET", "/api/v1/namespaces/other", {}, ri("get", "namespaces", "other", "other")),
        ("GET", f"{PODS}/foo", {}, ri("get", "pods", "other", "foo")),
        ("GET", PODS, {}, ri("list", "pods", "other")),
        ("HEAD", f"{PODS}/foo", {}, ri("get", "pods", "other", "foo")),
        ("GET", "/api/v1/pods", {}, ri("list", "pods")),
        ("GET", PODS, {"watch": "true"}, ri("watch", "pods", "other")),
        ("GET", PODS, {"watch": "1"}, ri("watch", "pods", "other")),
        ("GET", PODS, {"watch": ""}, ri("watch", "pods", "other")),
        ("GET", PODS, {"watch": "False"}, ri("list", "pods", "other")),
        ("GET", PODS, {"watch": "0"}, ri("list", "pods", "other")),
        ("GET", f"{PODS}/foo", {"watch": "true"}, ri("get", "pods", "other", "foo")),
        ("GET", "/api/v1/watch/pods", {}, ri("watch", "pods")),
        ("GET", "/api/v1/watch/namespaces/other/pods", {}, ri("watch", "pods", "other")),
        ("GET", "/api/v1/watch/namespaces/other/pods/foo", {}, ri("watch", "pods", "other", "foo")),
        ("POST", PODS, {}, ri("create", "pods", "other")),
        ("PUT", f"{PODS}/foo", {}, ri("update", "pods", "other", "foo")),
        ("PATCH", f"{PODS}/foo", {}, ri("patch", "pods", "other", "foo")),
        ("DELETE", f"{PODS}/foo", {}, ri("delete", "pods", "other", "foo")),
        ("DELETE", PODS, {}, ri("deletecollection", "pods", "other")),
        ("OPTIONS", PODS, {}, ri("", "pods", "other")),
        ("GET", f"{PODS}/foo/log", {}, ri("get", "pods", "other", "foo", "log")),
        ("POST", f"{PODS}/foo/eviction", {}, ri("create", "pods", "other", "foo", "eviction")),
        ("PUT", "/api/v1/namespaces/ns/status", {}, ri("update", "namespaces", "ns", "ns", "status")),
        ("PUT", "/api/v1/namespaces/ns/finalize", {}, ri("update", "namespaces", "ns", "ns", "finalize")),
        ("GET", "/api/v1/proxy/namespaces/other/pods/foo/some/path", {}, ri("proxy", "pods", "other", "foo")),
        ("GET", f"{CRD}/trainingjobs", {}, ri("list", "trainingjobs", group=SM)),
        ("PUT", f"{CRD}/namespaces/ns/trainingjobs/job1/status", {},
         ri("update", "trainingjobs", "ns", "job1", "status", SM)),
        ("PATCH", f"{CRD}/namespaces/ns/trainingjobs/job1/status", {},
         ri("patch", "trainingjobs", "ns", "job1", "status", SM)),
        ("PUT", f"{CRD}/namespaces/ns/trainingjobs/job1/finalizers", {},
         ri("update", "trainingjobs", "ns", "job1", "finalizers", SM)),
        ("GET", "/apis/coordination.k8s.io/v1/namespaces/x/leases/lock", {},
         ri("get", "leases", "x", "lock", group="coordination.k8s.io")),
        ("GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles/admin", {},
         ri("get", "clusterroles", name="admin", group="rbac.authorization.k8s.io")),
        # A list pinned to one name by a field selector is authorized as that name (kubectl get --watch NAME).
        ("GET", PODS, {"fieldSelector": "metadata.name=foo"}, ri("list", "pods", "other", "foo")),
        ("GET", PODS, {"fieldSelector": "metadata.name==x", "watch": "1"}, ri("watch", "pods", "other", "x")),
        ("GET", "/api/v1/pods", {"fieldSelector": "spec.nodeName=n1,metadata.name=foo"},
         ri("list", "pods", "", "foo")),
        ("GET", "/api/v1/pods", {"fieldSelector": "metadata.name!=foo"}, ri("list", "pods")),
        ("GET", "/api/v1/pods", {"fieldSelector": "metadata.name=a%b"}, ri("list", "pods")),
        ("GET", "/api/v1/pods", {"fieldSelector": "metadata.name=foo,garbage"}, ri("list", "pods")),
        ("GET", "/api/v1/pods", {"fieldSelector": r"metadata.name=a\,b"}, ri("list", "pods", "", "a,b")),
        ("GET", "/api/v1/pods", {"fieldSelector": r"metadata.name=a\qb"}, ri("list", "pods")),
        ("DELETE", "/api/v1/pods", {"fieldSelector": "metadata.name=foo"}, ri("deletecollection", "pods")),
    ],
)
def test_resource_request_attributes(
    method: str, path: str, query: Mapping[str, str], expected: dict[str, str]
) -> None:
    attrs = request_attributes(method, path, query, ALICE)
    assert attrs == RequestAttributes(
        user=ALICE, is_resource_request=True, path=path, api_version="v1", **expected
    )


@pytest.mark.parametrize(
    ("method", "path", "verb"),
    [
        ("GET", "/", "get"),
        ("GET", "/healthz", "get"),
        ("GET", "/version", "get"),
        ("GET", "/openapi/v2", "get"),
        ("GET", "/openapi/v3/apis/sagemaker.aws.amazon.com/v1", "get"),
        ("GET", "/api", "get"),
        ("GET", "/api/v1", "get"),
        ("GET", "/apis", "get"),
        ("GET", "/apis/sagemaker.aws.amazon.com", "get"),
        ("GET", "/apis/sagemaker.aws.amazon.com/v1", "get"),
        ("GET", "/metrics", "get"),
        ("HEAD", "/healthz", "head"),
        ("POST", "/some/path", "post"),
    ],
)
def test_non_resource_request_attributes(method: str, path: str, verb: str) -> None:
    assert request_attributes(method, path, {}, ALICE) == RequestAttributes(
        user=ALICE, verb=verb, is_resource_request=False, path=path
    )


def test_special_verb_without_resource_is_an_internal_error() -> None:
    with pytest.raises(APIError) as caught:
        request_attributes("GET", "/api/v1/watch", {}, ALICE)
    assert caught.value.code == 500
    assert "unable to determine kind and namespace from url" in caught.value.message


# ----------------------------------------------------------------------------------------------------
# Forbidden messages (responsewriters/errors.go forbiddenMessage + errors.NewForbidden)


def _attrs(**kw: object) -> RequestAttributes:
    fields: dict[str, object] = {"user": ALICE, "verb": "get", "is_resource_request": True}
    fields.update(kw)
    return RequestAttributes(**fields)  # type: ignore[arg-type]


def test_forbidden_namespaced_collection() -> None:
    error = forbidden_error(_attrs(verb="list", resource="configmaps", namespace="default"), "")
    assert (error.code, error.reason) == (403, "Forbidden")
    assert error.message == (
        'configmaps is forbidden: User "alice" cannot list resource "configmaps" in API group "" '
        'in the namespace "default"'
    )
    assert error.to_status()["details"] == {"kind": "configmaps"}


def test_forbidden_named_object_in_api_group() -> None:
    attrs = _attrs(verb="get", api_group="coordination.k8s.io", resource="leases", namespace="x", name="lock")
    error = forbidden_error(attrs)
    assert error.message == (
        'leases.coordination.k8s.io "lock" is forbidden: User "alice" cannot get resource "leases" '
        'in API group "coordination.k8s.io" in the namespace "x"'
    )
    assert error.to_status()["details"] == {"group": "coordination.k8s.io", "kind": "leases", "name": "lock"}


def test_forbidden_cluster_scope() -> None:
    error = forbidden_error(_attrs(verb="list", resource="namespaces"))
    assert error.message == (
        'namespaces is forbidden: User "alice" cannot list resource "namespaces" in API group "" '
        "at the cluster scope"
    )


def test_forbidden_subresource() -> None:
    attrs = _attrs(verb="update", api_group="sagemaker.aws.amazon.com", resource="trainingjobs",
                   subresource="status", namespace="ns", name="job1")
    assert forbidden_error(attrs).message == (
        'trainingjobs.sagemaker.aws.amazon.com "job1" is forbidden: User "alice" cannot update resource '
        '"trainingjobs/status" in API group "sagemaker.aws.amazon.com" in the namespace "ns"'
    )


def test_forbidden_non_resource_path() -> None:
    error = forbidden_error(RequestAttributes(UserInfo("x"), "get", False, path="/metrics"))
    assert error.message == 'forbidden: User "x" cannot get path "/metrics"'
    assert "details" not in error.to_status()


def test_forbidden_appends_authorizer_reason() -> None:
    reason = 'RBAC: role.rbac.authorization.k8s.io "r" not found'
    error = forbidden_error(_attrs(resource="pods", namespace="ns"), reason)
    assert error.message.endswith(
        'in the namespace "ns": RBAC: role.rbac.authorization.k8s.io "r" not found'
    )


def test_forbidden_message_is_sanitized_like_upstream() -> None:
    error = forbidden_error(RequestAttributes(UserInfo("<b>&"), "get", False, path="/x"))
    assert error.message == 'forbidden: User "&lt;b&gt;&amp;" cannot get path "/x"'


# ----------------------------------------------------------------------------------------------------
# Impersonation (filters/impersonation.go)


class RecordingAuthorizer:
    """Allows the impersonate checks it is told to, recording every check."""

    def __init__(self, allowed: Sequence[tuple[str, str]] = ()) -> None:
        self.allowed = set(allowed)  # (resource, name); name "*" for any
        self.checks: list[RequestAttributes] = []

    def __call__(self, attrs: RequestAttributes) -> tuple[bool, str]:
        self.checks.append(attrs)
        resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
        ok = (resource, attrs.name) in self.allowed or (resource, "*") in self.allowed
        return ok, ""


def test_no_impersonation_headers_keep_the_requester() -> None:
    authorize = RecordingAuthorizer()
    assert impersonate(ALICE, {"Accept": "application/json"}, authorize) is ALICE
    assert authorize.checks == []


def test_impersonate_user_checks_users_impersonate_and_adds_authenticated() -> None:
    authorize = RecordingAuthorizer([("users", "bob")])
    user = impersonate(ALICE, {"Impersonate-User": "bob"}, authorize)
    assert user == UserInfo("bob", groups=("system:authenticated",))
    assert authorize.checks == [
        RequestAttributes(user=ALICE, verb="impersonate", is_resource_request=True, api_version="v1",
                          resource="users", name="bob")
    ]


def test_impersonate_groups_from_a_list_value() -> None:
    authorize = RecordingAuthorizer([("users", "bob"), ("groups", "*")])
    user = impersonate(ALICE, {"impersonate-user": "bob", "Impersonate-Group": ["g1", "g2"]}, authorize)
    assert user.groups == ("g1", "g2", "system:authenticated")
    assert [(c.resource, c.name) for c in authorize.checks] == [("users", "bob"), ("groups", "g1"),
                                                                 ("groups", "g2")]


def test_impersonate_groups_from_repeated_headers() -> None:
    headers: CIMultiDict[str] = CIMultiDict()
    headers.add("Impersonate-User", "bob")
    headers.add("Impersonate-Group", "g1")
    headers.add("impersonate-group", "g2")
    user = impersonate(ALICE, headers, RecordingAuthorizer([("users", "bob"), ("groups", "*")]))
    assert user.groups == ("g1", "g2", "system:authenticated")


def test_explicit_authenticated_or_unauthenticated_group_is_not_doubled() -> None:
    authorize = RecordingAuthorizer([("users", "bob"), ("groups", "*")])
    headers = {"Impersonate-User": "bob", "Impersonate-Group": "system:unauthenticated"}
    user = impersonate(ALICE, headers, authorize)
    assert user.groups == ("system:unauthenticated",)


def test_impersonate_anonymous_gets_unauthenticated_group() -> None:
    user = impersonate(ALICE, {"Impersonate-User": "system:anonymous"}, RecordingAuthorizer([("users", "*")]))
    assert user == UserInfo("system:anonymous", groups=("system:unauthenticated",))


def test_impersonate_service_account_checks_serviceaccounts_in_its_namespace() -> None:
    authorize = RecordingAuthorizer([("serviceaccounts", "controller-manager")])
    user = impersonate(
        ALICE, {"Impersonate-User": "system:serviceaccount:sagemaker-system:controller-manager"}, authorize
    )
    assert user == UserInfo(
        "system:serviceaccount:sagemaker-system:controller-manager",
        groups=("system:serviceaccounts", "system:serviceaccounts:sagemaker-system", "system:authenticated"),
    )
    check = authorize.checks[0]
    assert (check.api_group, check.resource, check.namespace, check.name) == (
        "", "serviceaccounts", "sagemaker-system", "controller-manager"
    )


def test_impersonate_service_account_with_explicit_groups_uses_only_those() -> None:
    authorize = RecordingAuthorizer([("serviceaccounts", "*"), ("groups", "*")])
    headers = {"Impersonate-User": "system:serviceaccount:ns:sa", "Impersonate-Group": "team"}
    assert impersonate(ALICE, headers, authorize).groups == ("team", "system:authenticated")


def test_impersonate_uid_and_extra() -> None:
    authorize = RecordingAuthorizer([("users", "bob"), ("uids", "*"), ("userextras/scopes", "*"),
                                     ("userextras/example.com/team", "*")])
    headers = {
        "Impersonate-User": "bob",
        "Impersonate-Uid": "1234",
        "Impersonate-Extra-Scopes": ["view", "edit"],
        "Impersonate-Extra-example.com%2fteam": "ml",
    }
    user = impersonate(ALICE, headers, authorize)
    assert user == UserInfo("bob", uid="1234", groups=("system:authenticated",),
                            extra={"scopes": ("view", "edit"), "example.com/team": ("ml",)})
    extra_check = next(c for c in authorize.checks if c.resource == "userextras")
    assert (extra_check.api_group, extra_check.subresource, extra_check.name) == (
        "authentication.k8s.io", "scopes", "view"
    )
    uid_check = next(c for c in authorize.checks if c.resource == "uids")
    assert (uid_check.api_group, uid_check.name) == ("authentication.k8s.io", "1234")


def test_impersonation_denied_is_forbidden_with_upstream_message() -> None:
    with pytest.raises(APIError) as caught:
        impersonate(ALICE, {"Impersonate-User": "bob"}, RecordingAuthorizer())
    assert caught.value.code == 403
    assert caught.value.message == (
        'users "bob" is forbidden: User "alice" cannot impersonate resource "users" in API group "" '
        "at the cluster scope"
    )


def test_impersonating_a_denied_group_is_forbidden() -> None:
    with pytest.raises(APIError) as caught:
        impersonate(ALICE, {"Impersonate-User": "bob", "Impersonate-Group": "system:masters"},
                    RecordingAuthorizer([("users", "bob")]))
    assert caught.value.message == (
        'groups "system:masters" is forbidden: User "alice" cannot impersonate resource "groups" '
        'in API group "" at the cluster scope'
    )


def test_impersonating_a_service_account_denied_names_its_namespace() -> None:
    with pytest.raises(APIError) as caught:
        impersonate(ALICE, {"Impersonate-User": "system:serviceaccount:ns:sa"}, RecordingAuthorizer())
    assert caught.value.message == (
        'serviceaccounts "sa" is forbidden: User "alice" cannot impersonate resource "serviceaccounts" '
        'in API group "" in the namespace "ns"'
    )


def test_groups_without_user_is_bad_request() -> None:
    with pytest.raises(APIError) as caught:
        impersonate(ALICE, {"Impersonate-Group": "g1"}, RecordingAuthorizer([("groups", "*")]))
    assert caught.value.code == 400
    assert caught.value.message == "requested [{Group  g1    }] without impersonating a user"


def test_uid_without_user_is_bad_request() -> None:
    with pytest.raises(APIError) as caught:
        impersonate(ALICE, {"Impersonate-Uid": "1"}, RecordingAuthorizer([("uids", "*")]))
    assert caught.value.message == (
        "requested [{UID  1  authentication.k8s.io/v1  }] without impersonating a user"
    )


def test_check_that_returns_none_allows_and_raises_its_own_error() -> None:
    def check(attrs: RequestAttributes) -> None:
        if attrs.name != "bob":
            raise APIError(403, "Forbidden", "custom")

    assert impersonate(ALICE, {"Impersonate-User": "bob"}, check).username == "bob"
    with pytest.raises(APIError, match="custom"):
        impersonate(ALICE, {"Impersonate-User": "carol"}, check)
