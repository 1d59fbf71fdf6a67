"""Who is asking, and what for: bearer-token authentication, impersonation and request attributes.

The emulated API server runs every request through the same steps as kube-apiserver:

1. :meth:`TokenAuthenticator.authenticate` turns the ``Authorization`` header into a :class:`UserInfo`
   (anonymous when no bearer token is sent, ``None`` — answer 401 — when the token is unknown);
2. :func:`impersonate` applies ``Impersonate-*`` headers after checking the ``impersonate`` verb;
3. :func:`request_attributes` says which verb on which resource the request is (kube verbs such as ``list``,
   ``watch``, ``deletecollection``), which an authorizer (see ``rbac.py``) then allows or not;
4. a denial becomes :func:`forbidden_error`.

Sources: k8s.io/apiserver/pkg/authentication/request/bearertoken/bearertoken.go,
k8s.io/apiserver/pkg/endpoints/filters/impersonation.go,
k8s.io/apiserver/pkg/endpoints/request/requestinfo.go,
k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go and
k8s.io/apiserver/pkg/authentication/serviceaccount/util.go.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote

from smk8s.emulators.kube.errors import APIError, bad_request, internal_error
from smk8s.emulators.kube.selectors import FieldSelector

ANONYMOUS_USERNAME = "system:anonymous"
ALL_AUTHENTICATED = "system:authenticated"
ALL_UNAUTHENTICATED = "system:unauthenticated"
PRIVILEGED_GROUP = "system:masters"
SERVICE_ACCOUNT_USERNAME_PREFIX = "system:serviceaccount:"
ALL_SERVICE_ACCOUNTS_GROUP = "system:serviceaccounts"
SERVICE_ACCOUNT_GROUP_PREFIX = "system:serviceaccounts:"
DEFAULT_API_AUDIENCES = ("https://kubernetes.default.svc.cluster.local",)

IMPERSONATE_USER_HEADER = "Impersonate-User"
IMPERSONATE_GROUP_HEADER = "Impersonate-Group"
IMPERSONATE_UID_HEADER = "Impersonate-Uid"
IMPERSONATE_EXTRA_HEADER_PREFIX = "Impersonate-Extra-"

_AUTHENTICATION_GROUP = "authentication.k8s.io"
_AUTHENTICATION_VERSION = "v1"
_AUTHENTICATION_API_VERSION = f"{_AUTHENTICATION_GROUP}/{_AUTHENTICATION_VERSION}"


@dataclass(frozen=True)
class UserInfo:
    """An authenticated (or anonymous) user as ``user.Info``: name, uid, groups and extra attributes."""

    username: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)

    def to_dict(self) -> dict[str, object]:
        """The wire ``UserInfo`` of authentication.k8s.io/v1 (every field ``omitempty``)."""
        out: dict[str, object] = {}
        if self.username:
            out["username"] = self.username
        if self.uid:
            out["uid"] = self.uid
        if self.groups:
            out["groups"] = list(self.groups)
        if self.extra:
            out["extra"] = {key: list(values) for key, values in self.extra.items()}
        return out


ADMIN_USER = UserInfo("kubernetes-admin", groups=(PRIVILEGED_GROUP, ALL_AUTHENTICATED))
ANONYMOUS_USER = UserInfo(ANONYMOUS_USERNAME, groups=(ALL_UNAUTHENTICATED,))


def service_account_username(namespace: str, name: str) -> str:
    """``system:serviceaccount:NS:NAME``, the user name a service account's tokens authenticate as."""
    return f"{SERVICE_ACCOUNT_USERNAME_PREFIX}{namespace}:{name}"


def service_account_user(namespace: str, name: str, uid: str = "") -> UserInfo:
    """The user a token of service account ``namespace/name`` authenticates as (groups as upstream)."""
    groups = (ALL_SERVICE_ACCOUNTS_GROUP, f"{SERVICE_ACCOUNT_GROUP_PREFIX}{namespace}", ALL_AUTHENTICATED)
    return UserInfo(service_account_username(namespace, name), uid=uid, groups=groups)


_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def split_service_account_username(username: str) -> tuple[str, str] | None:
    """``(namespace, name)`` when ``username`` names a service account, else ``None``.

    Like ``serviceaccount.SplitUsername``: exactly ``system:serviceaccount:NS:NAME`` with a DNS-label
    namespace and a DNS-subdomain name.
    """
    if not username.startswith(SERVICE_ACCOUNT_USERNAME_PREFIX):
        return None
    parts = username[len(SERVICE_ACCOUNT_USERNAME_PREFIX) :].split(":")
    if len(parts) != 2:
        return None
    namespace, name = parts
    if len(namespace) > 63 or not _DNS_LABEL.fullmatch(namespace):
        return None
    if len(name) > 253 or not _DNS_SUBDOMAIN.fullmatch(name):
        return None
    return namespace, name


def _with_authenticated_group(user: UserInfo) -> UserInfo:
    """``group.AuthenticatedGroupAdder``: every authenticated user is in ``system:authenticated``."""
    if ALL_AUTHENTICATED in user.groups:
        return user
    return UserInfo(user.username, user.uid, (*user.groups, ALL_AUTHENTICATED), user.extra)


class TokenAuthenticator:
    """Static bearer tokens, each naming a :class:`UserInfo`, with anonymous access as kube-apiserver's
    default.

    ``api_audiences`` are the audiences the server's tokens are good for (``--api-audiences``), reported by
    :func:`token_review` and used to reject TokenReviews asking for other audiences.
    """

    def __init__(
        self, *, allow_anonymous: bool = True, api_audiences: Sequence[str] = DEFAULT_API_AUDIENCES
    ) -> None:
        self._users: dict[str, UserInfo] = {}
        self.allow_anonymous = allow_anonymous
        self.api_audiences: tuple[str, ...] = tuple(api_audiences)

    def add(self, token: str, user: UserInfo) -> None:
        """Make ``token`` authenticate as ``user``, with ``system:authenticated`` added to its groups."""
        if not token:
            raise ValueError("a bearer token must not be empty")
        self._users[token] = _with_authenticated_group(user)

    def remove(self, token: str) -> None:
        """Revoke ``token``; unknown tokens are ignored."""
        self._users.pop(token, None)

    def add_service_account(self, namespace: str, name: str, uid: str = "", token: str | None = None) -> str:
        """Mint (or register ``token``) a bearer token for service account ``namespace/name``; return it."""
        minted = token or secrets.token_urlsafe(32)
        self.add(minted, service_account_user(namespace, name, uid))
        return minted

    def authenticate_token(self, token: str) -> UserInfo | None:
        """The user ``token`` was registered for, or ``None``."""
        return self._users.get(token)

    def authenticate(self, authorization_header: str | None) -> UserInfo | None:
        """Who sent a request with this ``Authorization`` header; ``None`` means answer 401 Unauthorized.

        As kube-apiserver with ``--anonymous-auth=true``: no header, a scheme other than ``Bearer`` or an
        empty bearer token is anonymous (``system:anonymous`` in ``system:unauthenticated``); a bearer token
        nobody registered is ``None`` (a bad token is never treated as anonymous). With
        ``allow_anonymous=False`` the anonymous cases are ``None`` too.
        """
        header = (authorization_header or "").strip()
        parts = header.split(" ", 2)
        if len(parts) >= 2 and parts[0].lower() == "bearer" and parts[1]:
            return self.authenticate_token(parts[1])
        return ANONYMOUS_USER if self.allow_anonymous else None


# ----------------------------------------------------------------------------------------------------
# Request attributes (requestinfo.go)


@dataclass(frozen=True)
class RequestAttributes:
    """What a request asks to do, as ``authorizer.Attributes``: the input of every authorization decision.

    For resource requests ``verb`` is a kube verb (``get``, ``list``, ``watch``, ``create``, ``update``,
    ``patch``, ``delete``, ``deletecollection``, or a special one such as ``impersonate``); for non-resource
    requests (``/healthz``, ``/apis``...) it is the lower-cased HTTP method and ``path`` is what is
    authorized.
    """

    user: UserInfo
    verb: str
    is_resource_request: bool
    path: str = ""
    api_group: str = ""
    api_version: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""


_API_PREFIXES = frozenset({"api", "apis"})
_GROUPLESS_API_PREFIXES = frozenset({"api"})
_SPECIAL_VERBS = frozenset({"proxy", "watch"})
_SPECIAL_VERBS_WITHOUT_SUBRESOURCES = frozenset({"proxy"})
_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})
_METHOD_VERBS = {
    "POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete",
}


def request_attributes(method: str, path: str, query: Mapping[str, str], user: UserInfo) -> RequestAttributes:
    """The attributes of an HTTP request, parsed like ``RequestInfoFactory.NewRequestInfo``.

    ``path`` is the URL path without the query; ``query`` its parameters (first value of each). Paths under
    ``/api/VERSION/`` and ``/apis/GROUP/VERSION/`` are resource requests (``/api/v1/namespaces/ns`` is ``get``
    of resource ``namespaces`` named and namespaced ``ns``); a GET without a name is ``list``, or ``watch``
    with ``?watch=`` set to anything but ``false``/``0`` or under the ``/watch/`` prefix; a DELETE without a
    name is ``deletecollection``; a list/watch whose ``fieldSelector`` pins ``metadata.name`` carries that
    name. Anything else (``/healthz``, ``/version``, ``/apis``, ``/api/v1``) is a non-resource request whose
    verb is the lower-cased method. Raises 500 for ``/api/v1/watch`` with nothing after it, as upstream.
    """
    parts = path.strip("/").split("/") if path.strip("/") else []
    non_resource = RequestAttributes(user=user, verb=method.lower(), is_resource_request=False, path=path)
    if len(parts) < 3 or parts[0] not in _API_PREFIXES:
        return non_resource
    prefix, parts = parts[0], parts[1:]
    api_group = ""
    if prefix not in _GROUPLESS_API_PREFIXES:
        if len(parts) < 3:
            return non_resource
        api_group, parts = parts[0], parts[1:]
    api_version, parts = parts[0], parts[1:]

    if parts[0] in _SPECIAL_VERBS:
        if len(parts) < 2:
            raise internal_error(
                f"failed to create RequestInfo: unable to determine kind and namespace from url, {path}"
            )
        verb, parts = parts[0], parts[1:]
    else:
        verb = _METHOD_VERBS.get(method.upper(), "")

    namespace = ""
    if parts[0] == "namespaces" and len(parts) > 1:
        namespace = parts[1]
        # /namespaces/NS/RESOURCE/... is a namespaced resource; /namespaces/NS[/status|/finalize] is the
        # namespace itself.
        if len(parts) > 2 and parts[2] not in _NAMESPACE_SUBRESOURCES:
            parts = parts[2:]

    resource = parts[0]
    name = parts[1] if len(parts) >= 2 else ""
    subresource = parts[2] if len(parts) >= 3 and verb not in _SPECIAL_VERBS_WITHOUT_SUBRESOURCES else ""

    if not name and verb == "get":
        verb = "watch" if _query_bool(query.get("watch")) else "list"
        name = _name_from_field_selector(query.get("fieldSelector", ""))
    if not name and verb == "delete":
        verb = "deletecollection"

    return RequestAttributes(
        user=user, verb=verb, is_resource_request=True, path=path, api_group=api_group,
        api_version=api_version, resource=resource, subresource=subresource, namespace=namespace, name=name,
    )


def _query_bool(value: str | None) -> bool:
    """``Convert_Slice_string_To_bool``: absent, ``false`` (any case) and ``0`` are false, all else true."""
    if value is None:
        return False
    return not (value == "0" or value.lower() == "false")


def _name_from_field_selector(selector: str) -> str:
    """The name a field selector requires exactly (``metadata.name=foo``), if it parses and is a valid
    path segment; else ``""`` (requestinfo.go ignores selectors it cannot parse; the handler rejects them)."""
    try:
        parsed = FieldSelector.parse(selector)
    except APIError:
        return ""
    for requirement in parsed.requirements:
        if requirement.field == "metadata.name" and requirement.operator == "=" and _is_valid_path_segment(
            requirement.value
        ):
            return requirement.value
    return ""


def _is_valid_path_segment(name: str) -> bool:
    return name not in (".", "..") and "/" not in name and "%" not in name


# ----------------------------------------------------------------------------------------------------
# Authorization decisions and their errors

Authorize = Callable[[RequestAttributes], tuple[bool, str]]
"""An authorizer: ``(allowed, reason)`` for the attributes of a request."""

ImpersonationCheck = Callable[[RequestAttributes], "tuple[bool, str] | None"]
"""What :func:`impersonate` asks: an :data:`Authorize`, or a check that returns ``None`` when it allows and
raises its own error when it does not."""

_SANITIZER = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def forbidden_message(attrs: RequestAttributes) -> str:
    """The ``User "x" cannot VERB ...`` sentence of ``responsewriters.forbiddenMessage``."""
    username = attrs.user.username
    if not attrs.is_resource_request:
        return f"User {_go_quote(username)} cannot {attrs.verb} path {_go_quote(attrs.path)}"
    resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    head = (
        f"User {_go_quote(username)} cannot {attrs.verb} resource {_go_quote(resource)} "
        f"in API group {_go_quote(attrs.api_group)}"
    )
    if attrs.namespace:
        return f"{head} in the namespace {_go_quote(attrs.namespace)}"
    return f"{head} at the cluster scope"


def forbidden_error(attrs: RequestAttributes, reason: str = "") -> APIError:
    """The 403 kube-apiserver answers when ``attrs`` is not authorized (``responsewriters.Forbidden``).

    Message as ``errors.NewForbidden``: ``configmaps "x" is forbidden: User "alice" cannot get resource
    "configmaps" in API group "" in the namespace "default"`` (``forbidden: User ... cannot get path "/x"``
    for a non-resource request), followed by ``: REASON`` when the authorizer gave one; details carry group,
    kind (the resource) and name.
    """
    message = forbidden_message(attrs).translate(_SANITIZER)
    if reason:
        message = f"{message}: {reason}"
    if not attrs.resource:
        return APIError(403, "Forbidden", f"forbidden: {message}")
    qualified = f"{attrs.resource}.{attrs.api_group}" if attrs.api_group else attrs.resource
    subject = f"{qualified} {_go_quote(attrs.name)}" if attrs.name else qualified
    return APIError(403, "Forbidden", f"{subject} is forbidden: {message}", attrs.api_group, attrs.resource,
                    attrs.name)


def _go_quote(text: str) -> str:
    """Go's ``%q`` for the printable strings that appear in API messages."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


# ----------------------------------------------------------------------------------------------------
# Impersonation (filters/impersonation.go)


@dataclass(frozen=True)
class _ImpersonationRequest:
    """One thing the requester asks to act as, rendered like the ``v1.ObjectReference`` upstream builds."""

    kind: str
    name: str
    namespace: str = ""
    api_version: str = ""
    field_path: str = ""

    def go_repr(self) -> str:
        # %v of v1.ObjectReference{Kind, Namespace, Name, UID, APIVersion, ResourceVersion, FieldPath}
        return f"{{{self.kind} {self.namespace} {self.name}  {self.api_version}  {self.field_path}}}"


def _header_values(headers: Mapping[str, str | Sequence[str]], name: str) -> list[str]:
    """All values of header ``name`` (case-insensitive), from a multidict or a dict of strings or lists."""
    wanted = name.lower()
    return [value for key, value in _header_items(headers) if key.lower() == wanted]


def _header_items(headers: Mapping[str, str | Sequence[str]]) -> Iterable[tuple[str, str]]:
    for key, value in headers.items():
        if isinstance(value, str):
            yield key, value
        else:
            for item in value:
                yield key, item


def _unescape_extra_key(encoded: str) -> str:
    """``url.PathUnescape`` of an ``Impersonate-Extra-`` key, keeping malformed keys as they are."""
    if re.search(r"%(?![0-9a-fA-F]{2})", encoded):
        return encoded
    return unquote(encoded)


def _impersonation_requests(headers: Mapping[str, str | Sequence[str]]) -> list[_ImpersonationRequest]:
    requests: list[_ImpersonationRequest] = []
    users = _header_values(headers, IMPERSONATE_USER_HEADER)
    requested_user = users[0] if users else ""
    if requested_user:
        service_account = split_service_account_username(requested_user)
        if service_account:
            requests.append(_ImpersonationRequest("ServiceAccount", service_account[1], service_account[0]))
        else:
            requests.append(_ImpersonationRequest("User", requested_user))
    groups = _header_values(headers, IMPERSONATE_GROUP_HEADER)
    requests.extend(_ImpersonationRequest("Group", group) for group in groups)
    extra_prefix = IMPERSONATE_EXTRA_HEADER_PREFIX.lower()
    extras = [
        _ImpersonationRequest(
            "UserExtra", value, api_version=_AUTHENTICATION_API_VERSION,
            field_path=_unescape_extra_key(key.lower()[len(extra_prefix) :]),
        )
        for key, value in _header_items(headers)
        if key.lower().startswith(extra_prefix)
    ]
    requests.extend(extras)
    uids = _header_values(headers, IMPERSONATE_UID_HEADER)
    if uids and uids[0]:
        requests.append(
            _ImpersonationRequest("UID", uids[0], api_version=_AUTHENTICATION_API_VERSION)
        )
    if (groups or extras or (uids and uids[0])) and not requested_user:
        rendered = " ".join(request.go_repr() for request in requests)
        raise bad_request(f"requested [{rendered}] without impersonating a user")
    return requests


def impersonate(
    requester: UserInfo, headers: Mapping[str, str | Sequence[str]], authorize: ImpersonationCheck
) -> UserInfo:
    """The user a request acts as once its ``Impersonate-*`` headers are applied (``requester`` if none).

    ``Impersonate-User`` (a ``system:serviceaccount:NS:NAME`` name impersonates that service account),
    ``Impersonate-Group`` (repeatable: a multidict's repeated headers or a list value), ``Impersonate-Uid``
    and ``Impersonate-Extra-KEY`` (key lower-cased and %-decoded). Each needs the ``impersonate`` verb,
    checked with ``authorize`` in that order: on ``users``/``groups``/``serviceaccounts`` (core group; service
    accounts in their namespace) or ``uids``/``userextras/KEY`` (authentication.k8s.io); the first refusal
    raises 403 as :func:`forbidden_error` (or whatever a check returning ``None`` raises). Groups, extras or a
    uid without a user raise 400. Without ``Impersonate-Group`` a service account gets its fixed groups; the
    result is then put in ``system:authenticated`` unless it lists ``system:authenticated`` or
    ``system:unauthenticated`` (``system:anonymous`` gets ``system:unauthenticated``).
    """
    requests = _impersonation_requests(headers)
    if not requests:
        return requester
    groups_specified = any(request.kind == "Group" for request in requests)
    username = ""
    uid = ""
    groups: list[str] = []
    extra: dict[str, list[str]] = {}
    for request in requests:
        attrs = _acting_as_attributes(requester, request)
        if request.kind == "ServiceAccount":
            username = service_account_username(request.namespace, request.name)
            if not groups_specified:
                groups = [ALL_SERVICE_ACCOUNTS_GROUP, f"{SERVICE_ACCOUNT_GROUP_PREFIX}{request.namespace}"]
        elif request.kind == "User":
            username = request.name
        elif request.kind == "Group":
            groups.append(request.name)
        elif request.kind == "UserExtra":
            extra.setdefault(request.field_path, []).append(request.name)
        else:
            uid = request.name
        decision = authorize(attrs)
        if decision is not None and not decision[0]:
            raise forbidden_error(attrs, decision[1])

    if username != ANONYMOUS_USERNAME:
        if ALL_AUTHENTICATED not in groups and ALL_UNAUTHENTICATED not in groups:
            groups.append(ALL_AUTHENTICATED)
    elif ALL_UNAUTHENTICATED not in groups:
        groups.append(ALL_UNAUTHENTICATED)
    return UserInfo(username, uid, tuple(groups), {key: tuple(values) for key, values in extra.items()})


def _acting_as_attributes(requester: UserInfo, request: _ImpersonationRequest) -> RequestAttributes:
    """The ``impersonate`` check upstream makes for one impersonation request."""
    core = {"ServiceAccount": "serviceaccounts", "User": "users", "Group": "groups"}
    if request.kind in core:
        return RequestAttributes(
            user=requester, verb="impersonate", is_resource_request=True, api_version="v1",
            resource=core[request.kind], namespace=request.namespace, name=request.name,
        )
    return RequestAttributes(
        user=requester, verb="impersonate", is_resource_request=True, api_group=_AUTHENTICATION_GROUP,
        api_version=_AUTHENTICATION_VERSION, resource="userextras" if request.kind == "UserExtra" else "uids",
        subresource=request.field_path, name=request.name,
    )
