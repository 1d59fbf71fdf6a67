"""Role-based access control as kube-apiserver's RBAC authorizer, the review APIs, and the bootstrap policy.

:class:`RBACAuthorizer` decides from the Role, ClusterRole, RoleBinding and ClusterRoleBinding objects stored
in the emulated server (read through a ``list_objects(group, plural)`` callable at every decision, so changes
apply at once). :class:`ClusterAuthorizer` is the chain kube-apiserver runs: members of ``system:masters`` are
allowed by the separate privileged-groups authorizer, everyone else by RBAC (or everything when the server
runs without RBAC, like ``--authorization-mode=AlwaysAllow``).

The review functions answer SubjectAccessReview, SelfSubjectAccessReview, LocalSubjectAccessReview,
SelfSubjectRulesReview (``kubectl auth can-i [--list]``), TokenReview and SelfSubjectReview (``kubectl auth
whoami``): spec in, ``status`` out, :class:`~smk8s.emulators.kube.errors.APIError` for what upstream rejects.

Sources: plugin/pkg/auth/authorizer/rbac/rbac.go, pkg/registry/rbac/validation/rule.go,
pkg/apis/rbac/v1/evaluation_helpers.go, pkg/controller/clusterroleaggregation, pkg/registry/authorization/*,
pkg/apis/authorization/validation/validation.go, pkg/registry/authentication/*, and
plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go (testdata/cluster-roles.yaml).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from smk8s.emulators.kube.auth import (
    ALL_AUTHENTICATED,
    ALL_SERVICE_ACCOUNTS_GROUP,
    ALL_UNAUTHENTICATED,
    PRIVILEGED_GROUP,
    Authorize,
    RequestAttributes,
    TokenAuthenticator,
    UserInfo,
    forbidden_error,
    service_account_username,
)
from smk8s.emulators.kube.errors import FIELD_INVALID, Cause, bad_request, invalid

__all__ = [
    "ClusterAuthorizer",
    "RBACAuthorizer",
    "SubjectRules",
    "aggregated_rules",
    "bootstrap_policy",
    "forbidden_error",
    "is_privileged",
    "local_subject_access_review",
    "rule_allows",
    "self_subject_access_review",
    "self_subject_review",
    "self_subject_rules_review",
    "subject_access_review",
    "token_review",
]

RBAC_GROUP = "rbac.authorization.k8s.io"
RBAC_API_VERSION = f"{RBAC_GROUP}/v1"
AUTHORIZATION_GROUP = "authorization.k8s.io"

ListObjects = Callable[[str, str], Iterable[Mapping[str, Any]]]
"""``list_objects(group, plural)``: every stored object of that resource, in all namespaces."""


def is_privileged(user: UserInfo) -> bool:
    """Whether the privileged-groups authorizer lets ``user`` do anything (member of ``system:masters``)."""
    return PRIVILEGED_GROUP in user.groups


# ----------------------------------------------------------------------------------------------------
# Rule matching (evaluation_helpers.go)


def _strings(rule: Mapping[str, Any], key: str) -> list[str]:
    return [str(item) for item in rule.get(key) or ()]


def rule_allows(attrs: RequestAttributes, rule: Mapping[str, Any]) -> bool:
    """Whether one PolicyRule (a ``rules[]`` item as a dict) covers the request, as ``RuleAllows``.

    Resource requests match ``verbs``, ``apiGroups``, ``resources`` (``*``, ``resource``,
    ``resource/subresource`` or ``*/subresource``) and ``resourceNames`` (empty means any); non-resource
    requests match ``verbs`` and ``nonResourceURLs`` (``*``, exact, or a prefix ending in ``*``).
    """
    verbs = _strings(rule, "verbs")
    if "*" not in verbs and attrs.verb not in verbs:
        return False
    if not attrs.is_resource_request:
        return any(
            url == "*" or url == attrs.path or (url.endswith("*") and attrs.path.startswith(url.rstrip("*")))
            for url in _strings(rule, "nonResourceURLs")
        )
    groups = _strings(rule, "apiGroups")
    if "*" not in groups and attrs.api_group not in groups:
        return False
    combined = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    if not any(
        resource in ("*", combined) or (attrs.subresource and resource == f"*/{attrs.subresource}")
        for resource in _strings(rule, "resources")
    ):
        return False
    names = _strings(rule, "resourceNames")
    return not names or attrs.name in names


# ----------------------------------------------------------------------------------------------------
# ClusterRole aggregation (pkg/controller/clusterroleaggregation)


def _selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """``metav1.LabelSelector``: matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist)."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or ():
        key, operator = expression.get("key", ""), expression.get("operator", "")
        values = list(expression.get("values") or ())
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
        if operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False
    return True


def _name_of(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def _namespace_of(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("namespace", "") or "")


def aggregated_rules(
    cluster_role: Mapping[str, Any], cluster_roles: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]] | None:
    """The rules the aggregation controller gives a ClusterRole with an ``aggregationRule``, else ``None``.

    For each of ``aggregationRule.clusterRoleSelectors`` in order, the rules of the other matching
    ClusterRoles (by name), without duplicates. Matching roles that aggregate themselves contribute their own
    aggregated rules (the controller reaches the same fixed point); cycles are cut.
    """
    by_name = {_name_of(role): role for role in cluster_roles}
    return _aggregate(cluster_role, by_name, frozenset())


def _aggregate(
    cluster_role: Mapping[str, Any], by_name: Mapping[str, Mapping[str, Any]], visiting: frozenset[str]
) -> list[dict[str, Any]] | None:
    rule_spec = cluster_role.get("aggregationRule")
    if rule_spec is None:
        return None
    name = _name_of(cluster_role)
    visiting = visiting | {name}
    rules: list[dict[str, Any]] = []
    for selector in rule_spec.get("clusterRoleSelectors") or ():
        for other_name in sorted(by_name):
            other = by_name[other_name]
            labels = (other.get("metadata") or {}).get("labels") or {}
            if other_name in visiting or not _selector_matches(selector, labels):
                continue
            other_rules = _aggregate(other, by_name, visiting)
            for rule in other_rules if other_rules is not None else other.get("rules") or ():
                if _normalized(rule) not in (_normalized(existing) for existing in rules):
                    rules.append(dict(rule))
    return rules


def _normalized(rule: Mapping[str, Any]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    keys = ("verbs", "apiGroups", "resources", "resourceNames", "nonResourceURLs")
    return tuple((key, tuple(_strings(rule, key))) for key in keys)


# ----------------------------------------------------------------------------------------------------
# The RBAC authorizer (rbac.go, rule.go)


@dataclass(frozen=True)
class SubjectRules:
    """What a user may do in a namespace, as ``RulesFor``: rules as ``rules[]`` dicts, split like SSRR's
    status.

    ``incomplete`` says some authorizer could not list its rules; ``evaluation_error`` joins the errors met
    while resolving (a binding to a missing role): the rules found still apply.
    """

    resource_rules: list[dict[str, Any]] = field(default_factory=list)
    non_resource_rules: list[dict[str, Any]] = field(default_factory=list)
    incomplete: bool = False
    evaluation_error: str = ""


class RuleResolver(Protocol):
    """Lists what a user may do in a namespace (``authorizer.RuleResolver``)."""

    def rules_for(self, user: UserInfo, namespace: str) -> SubjectRules: ...


def _describe_subject(subject: Mapping[str, Any], binding_namespace: str) -> str:
    kind, name = str(subject.get("kind", "")), str(subject.get("name", ""))
    if kind == "ServiceAccount":
        return f'{kind} "{name}/{subject.get("namespace") or binding_namespace}"'
    return f'{kind} "{name}"'


def _applies_to(user: UserInfo, subject: Mapping[str, Any], namespace: str) -> bool:
    """``appliesToUser``: a User by name, a Group by membership, a ServiceAccount by its user name.

    A ServiceAccount subject without a namespace means the binding's namespace (none for ClusterRoleBindings).
    """
    kind, name = subject.get("kind"), str(subject.get("name", ""))
    if kind == "User":
        return user.username == name
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        sa_namespace = str(subject.get("namespace") or namespace)
        return bool(sa_namespace) and user.username == service_account_username(sa_namespace, name)
    return False


@dataclass(frozen=True)
class _Visit:
    """One rule that applies to a user (with the binding that grants it), or one resolution error."""

    rule: Mapping[str, Any] | None = None
    source: str = ""
    error: str = ""


class RBACAuthorizer:
    """kube-apiserver's RBAC authorizer over the RBAC objects ``list_objects`` returns.

    ClusterRoleBindings grant their role everywhere; RoleBindings grant a Role of their namespace or a
    ClusterRole within their namespace only. ``system:masters`` gets nothing special here (see
    :class:`ClusterAuthorizer`). ClusterRoles with an ``aggregationRule`` grant the aggregated rules.
    """

    def __init__(self, list_objects: ListObjects) -> None:
        self._list_objects = list_objects

    def authorize(self, attrs: RequestAttributes) -> tuple[bool, str]:
        """``(allowed, reason)``: ``RBAC: allowed by ClusterRoleBinding "b" of ClusterRole "r" to User "u"``
        when a rule matches; otherwise not allowed, with ``RBAC: ERRORS`` if roles could not be resolved, else
        an empty reason. RBAC never denies explicitly (no opinion)."""
        errors: list[str] = []
        for visit in self._visit_rules(attrs.user, attrs.namespace):
            if visit.rule is not None and rule_allows(attrs, visit.rule):
                return True, f"RBAC: allowed by {visit.source}"
            if visit.error:
                errors.append(visit.error)
        return False, f"RBAC: {_aggregate_errors(errors)}" if errors else ""

    def rules_for(self, user: UserInfo, namespace: str) -> SubjectRules:
        """Every rule granted to ``user`` in ``namespace`` (cluster-wide ones included), as ``RulesFor``."""
        resource_rules: list[dict[str, Any]] = []
        non_resource_rules: list[dict[str, Any]] = []
        errors: list[str] = []
        for visit in self._visit_rules(user, namespace):
            if visit.error:
                errors.append(visit.error)
            if visit.rule is None:
                continue
            if visit.rule.get("resources"):
                resource_rules.append(_resource_rule(visit.rule))
            if visit.rule.get("nonResourceURLs"):
                non_resource_rules.append(_non_resource_rule(visit.rule))
        return SubjectRules(resource_rules, non_resource_rules, False, _aggregate_errors(errors))

    def _visit_rules(self, user: UserInfo, namespace: str) -> Iterator[_Visit]:
        """``DefaultRuleResolver.VisitRulesFor``: ClusterRoleBindings, then RoleBindings of ``namespace``."""
        cluster_roles: dict[str, Mapping[str, Any]] | None = None

        def role_rules(role_ref: Mapping[str, Any], binding_namespace: str) -> list[Mapping[str, Any]]:
            nonlocal cluster_roles
            kind, name = role_ref.get("kind"), str(role_ref.get("name", ""))
            if kind == "Role":
                wanted = (binding_namespace, name)
                for role in self._list_objects(RBAC_GROUP, "roles"):
                    if binding_namespace and (_namespace_of(role), _name_of(role)) == wanted:
                        return list(role.get("rules") or ())
                raise LookupError(f'role.{RBAC_GROUP} "{name}" not found')
            if kind == "ClusterRole":
                if cluster_roles is None:
                    cluster_roles = {_name_of(r): r for r in self._list_objects(RBAC_GROUP, "clusterroles")}
                if name not in cluster_roles:
                    raise LookupError(f'clusterrole.{RBAC_GROUP} "{name}" not found')
                aggregated = _aggregate(cluster_roles[name], cluster_roles, frozenset())
                return list(aggregated if aggregated is not None else cluster_roles[name].get("rules") or ())
            raise LookupError(f'unsupported role reference kind: "{kind}"')

        bindings: list[tuple[str, str, Mapping[str, Any]]] = [
            ("ClusterRoleBinding", "", binding)
            for binding in self._list_objects(RBAC_GROUP, "clusterrolebindings")
        ]
        if namespace:
            bindings += [
                ("RoleBinding", namespace, binding)
                for binding in self._list_objects(RBAC_GROUP, "rolebindings")
                if _namespace_of(binding) == namespace
            ]
        for kind, binding_namespace, binding in bindings:
            subject = next(
                (s for s in binding.get("subjects") or () if _applies_to(user, s, binding_namespace)), None
            )
            if subject is None:
                continue
            role_ref = binding.get("roleRef") or {}
            try:
                rules = role_rules(role_ref, binding_namespace)
            except LookupError as error:
                yield _Visit(error=str(error.args[0]))
                continue
            binding_name = _name_of(binding) + (f"/{binding_namespace}" if binding_namespace else "")
            source = (
                f'{kind} "{binding_name}" of {role_ref.get("kind", "")} "{role_ref.get("name", "")}" '
                f"to {_describe_subject(subject, binding_namespace)}"
            )
            for rule in rules:
                yield _Visit(rule=rule, source=source)


def _aggregate_errors(errors: Sequence[str]) -> str:
    """``utilerrors.NewAggregate(errs).Error()``: one message alone, several deduplicated in ``[a, b]``."""
    unique = list(dict.fromkeys(errors))
    if not unique:
        return ""
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


def _resource_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    """A ``ResourceRule`` of SSRR status: ``verbs`` always, the rest only when non-empty."""
    out: dict[str, Any] = {"verbs": _strings(rule, "verbs")}
    for key in ("apiGroups", "resources", "resourceNames"):
        if rule.get(key):
            out[key] = _strings(rule, key)
    return out


def _non_resource_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    return {"verbs": _strings(rule, "verbs"), "nonResourceURLs": _strings(rule, "nonResourceURLs")}


class ClusterAuthorizer:
    """The authorizer chain of the emulated server: privileged groups, then RBAC (``None``: allow everything).

    ``authorize`` is what the HTTP layer, :func:`~smk8s.emulators.kube.auth.impersonate` and the access
    reviews call; ``rules_for`` is what SelfSubjectRulesReview lists.
    """

    def __init__(self, rbac: RBACAuthorizer | None) -> None:
        self.rbac = rbac

    def authorize(self, attrs: RequestAttributes) -> tuple[bool, str]:
        """Allowed with an empty reason for ``system:masters`` or without RBAC, else RBAC's decision."""
        if is_privileged(attrs.user) or self.rbac is None:
            return True, ""
        return self.rbac.authorize(attrs)

    def rules_for(self, user: UserInfo, namespace: str) -> SubjectRules:
        """RBAC's rules; everything (``*``) without RBAC, as the AlwaysAllow authorizer lists."""
        if self.rbac is None:
            return SubjectRules(
                [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            )
        return self.rbac.rules_for(user, namespace)


# ----------------------------------------------------------------------------------------------------
# Access reviews (pkg/registry/authorization, pkg/apis/authorization/validation)


def _invalid_value(field_path: str, value: str, detail: str) -> Cause:
    return Cause(FIELD_INVALID, f"Invalid value: {value}: {detail}", field_path)


def _go_value(value: Any) -> str:
    """Roughly how ``field.Invalid`` prints a bad value: strings quoted, nothing as ``"null"``."""
    if value is None:
        return '"null"'
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{key}:{_go_value(item)}" for key, item in value.items()) + "}"
    return str(value)


def _has_content(value: Any) -> bool:
    return value not in (None, "", 0, False) and not (isinstance(value, (Mapping, list, tuple)) and not value)


def _metadata_causes(metadata: Mapping[str, Any] | None, ignored: Sequence[str], detail: str) -> list[Cause]:
    """``metadata: must be empty``: reviews are not stored, so carry no metadata (managedFields aside)."""
    meta = metadata or {}
    if any(_has_content(value) for key, value in meta.items() if key not in ("managedFields", *ignored)):
        return [_invalid_value("metadata", _go_value(dict(meta)), detail)]
    return []


def _access_spec_causes(spec: Mapping[str, Any], needs_subject: bool) -> list[Cause]:
    resource_attrs, non_resource_attrs = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    causes: list[Cause] = []
    if resource_attrs is not None and non_resource_attrs is not None:
        causes.append(_invalid_value("spec.nonResourceAttributes", _go_value(non_resource_attrs),
                                     "cannot be specified in combination with resourceAttributes"))
    if resource_attrs is None and non_resource_attrs is None:
        causes.append(_invalid_value(
            "spec.resourceAttributes", _go_value(None),
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        ))
    if needs_subject and not spec.get("user") and not spec.get("groups"):
        causes.append(_invalid_value("spec.user", _go_value(spec.get("user") or ""),
                                     "at least one of user or group must be specified"))
    return causes


def _review_attributes(spec: Mapping[str, Any], user: UserInfo) -> RequestAttributes:
    """``ResourceAttributesFrom`` / ``NonResourceAttributesFrom``: an empty version means any (``*``)."""
    resource_attrs = spec.get("resourceAttributes")
    if resource_attrs is not None:
        return RequestAttributes(
            user=user, verb=str(resource_attrs.get("verb") or ""), is_resource_request=True,
            api_group=str(resource_attrs.get("group") or ""),
            api_version=str(resource_attrs.get("version") or "*"),
            resource=str(resource_attrs.get("resource") or ""),
            subresource=str(resource_attrs.get("subresource") or ""),
            namespace=str(resource_attrs.get("namespace") or ""), name=str(resource_attrs.get("name") or ""),
        )
    non_resource_attrs = spec.get("nonResourceAttributes") or {}
    return RequestAttributes(
        user=user, verb=str(non_resource_attrs.get("verb") or ""), is_resource_request=False,
        path=str(non_resource_attrs.get("path") or ""),
    )


def _spec_user(spec: Mapping[str, Any]) -> UserInfo:
    extra_spec = spec.get("extra") or {}
    extra = {str(key): tuple(str(v) for v in values or ()) for key, values in extra_spec.items()}
    return UserInfo(
        str(spec.get("user") or ""), str(spec.get("uid") or ""),
        tuple(str(group) for group in spec.get("groups") or ()), extra,
    )


@runtime_checkable
class HasAuthorize(Protocol):
    """An authorizer object such as :class:`RBACAuthorizer` or :class:`ClusterAuthorizer`."""

    def authorize(self, attrs: RequestAttributes) -> tuple[bool, str]: ...


Authorizer = HasAuthorize | Authorize
"""What the access reviews ask: an object with ``authorize(attrs)``, or such a function."""


def _decide(authorizer: Authorizer, attrs: RequestAttributes) -> tuple[bool, str]:
    if isinstance(authorizer, HasAuthorize):
        return authorizer.authorize(attrs)
    return authorizer(attrs)


def _access_status(allowed: bool, reason: str) -> dict[str, Any]:
    """``SubjectAccessReviewStatus`` on the wire: ``allowed`` always; ``denied`` (only for an explicit deny,
    which neither RBAC nor the privileged-groups authorizer give) and ``reason`` only when set."""
    status: dict[str, Any] = {"allowed": allowed}
    if reason:
        status["reason"] = reason
    return status


def subject_access_review(
    spec: Mapping[str, Any], authorizer: Authorizer, metadata: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The status of a SubjectAccessReview: may ``spec.user``/``groups`` do ``resourceAttributes`` or
    ``nonResourceAttributes``? Raises 422 Invalid as upstream when both or neither attributes are given, when
    neither user nor groups are, or when ``metadata`` is not empty."""
    causes = _access_spec_causes(spec, needs_subject=True) + _metadata_causes(metadata, (), "must be empty")
    if causes:
        raise invalid(AUTHORIZATION_GROUP, "SubjectAccessReview", "", causes)
    return _access_status(*_decide(authorizer, _review_attributes(spec, _spec_user(spec))))


def self_subject_access_review(
    spec: Mapping[str, Any], user: UserInfo, authorizer: Authorizer, metadata: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The status of a SelfSubjectAccessReview (``kubectl auth can-i``): may the requesting ``user`` (after
    impersonation) do what the spec says? 422 as upstream for both/neither attributes or non-empty
    metadata."""
    causes = _access_spec_causes(spec, needs_subject=False) + _metadata_causes(metadata, (), "must be empty")
    if causes:
        raise invalid(AUTHORIZATION_GROUP, "SelfSubjectAccessReview", "", causes)
    return _access_status(*_decide(authorizer, _review_attributes(spec, user)))


def local_subject_access_review(
    spec: Mapping[str, Any], namespace: str, authorizer: Authorizer, metadata: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The status of a LocalSubjectAccessReview created in ``namespace`` (the request's namespace).

    The object's ``metadata.namespace`` defaults to ``namespace`` and must equal it (400, as the create
    handler); as upstream validation (422) ``spec.resourceAttributes.namespace`` must equal it too,
    non-resource attributes are refused and metadata must hold nothing but the namespace; an empty
    ``namespace`` is 400.
    """
    object_namespace = str((metadata or {}).get("namespace") or namespace)
    if object_namespace != namespace:
        raise bad_request(
            "the namespace of the provided object does not match the namespace sent on the request"
        )
    causes = _access_spec_causes(spec, needs_subject=True)
    causes += _metadata_causes(metadata, ("namespace",), "must be empty except for namespace")
    resource_attrs = spec.get("resourceAttributes")
    if resource_attrs is not None and str(resource_attrs.get("namespace") or "") != object_namespace:
        causes.append(_invalid_value("spec.resourceAttributes.namespace",
                                     _go_value(str(resource_attrs.get("namespace") or "")),
                                     "must match metadata.namespace"))
    if spec.get("nonResourceAttributes") is not None:
        causes.append(_invalid_value("spec.nonResourceAttributes", _go_value(spec["nonResourceAttributes"]),
                                     "disallowed on this kind of request"))
    if causes:
        raise invalid(AUTHORIZATION_GROUP, "LocalSubjectAccessReview", "", causes)
    if not namespace:
        raise bad_request("namespace is required on this type: ")
    return _access_status(*_decide(authorizer, _review_attributes(spec, _spec_user(spec))))


def self_subject_rules_review(namespace: str, user: UserInfo, resolver: RuleResolver) -> dict[str, Any]:
    """The status of a SelfSubjectRulesReview for ``spec.namespace`` (``kubectl auth can-i --list``).

    ``resourceRules``, ``nonResourceRules`` and ``incomplete`` always, ``evaluationError`` when rules could
    not all be resolved. An empty namespace is 400 ``no namespace on request`` as upstream.
    """
    if not namespace:
        raise bad_request("no namespace on request")
    rules = resolver.rules_for(user, namespace)
    status: dict[str, Any] = {
        "resourceRules": rules.resource_rules,
        "nonResourceRules": rules.non_resource_rules,
        "incomplete": rules.incomplete,
    }
    if rules.evaluation_error:
        status["evaluationError"] = rules.evaluation_error
    return status


def token_review(spec: Mapping[str, Any], authenticator: TokenAuthenticator) -> dict[str, Any]:
    """The status of a TokenReview: who ``spec.token`` authenticates as, for ``spec.audiences``.

    Audiences default to the server's; a known token asked for audiences the server's tokens are not good for
    is unauthenticated (``WrapAudienceAgnosticToken``). On the wire, as upstream, ``authenticated`` is omitted
    when false and ``user`` is ``{}``. An empty token is 400.
    """
    token = str(spec.get("token") or "")
    if not token:
        raise bad_request("token is required for TokenReview in authentication")
    requested = [str(audience) for audience in spec.get("audiences") or ()]
    requested = requested or list(authenticator.api_audiences)
    granted = [audience for audience in requested if audience in authenticator.api_audiences]
    user = authenticator.authenticate_token(token)
    if user is None or not granted:
        return {"user": {}}
    return {"authenticated": True, "user": user.to_dict(), "audiences": granted}


def self_subject_review(user: UserInfo) -> dict[str, Any]:
    """The status of a SelfSubjectReview (``kubectl auth whoami``): the requesting user's attributes."""
    return {"userInfo": user.to_dict()}


# ----------------------------------------------------------------------------------------------------
# Bootstrap policy (bootstrappolicy/policy.go)

_BOOTSTRAP_LABELS = {"kubernetes.io/bootstrapping": "rbac-defaults"}
_AUTOUPDATE = {"rbac.authorization.kubernetes.io/autoupdate": "true"}
_READ = ["get", "list", "watch"]
_WRITE = ["create", "delete", "deletecollection", "patch", "update"]
_READ_WRITE = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
_AGGREGATE_TO = "rbac.authorization.k8s.io/aggregate-to-"


def _rule(verbs: list[str], groups: list[str], resources: list[str]) -> dict[str, Any]:
    return {"verbs": verbs, "apiGroups": groups, "resources": resources}


def _urls(verbs: list[str], urls: list[str]) -> dict[str, Any]:
    return {"verbs": verbs, "nonResourceURLs": urls}


def _cluster_role(
    name: str, rules: list[dict[str, Any]], labels: Mapping[str, str] | None = None,
    aggregate_from: str | None = None,
) -> dict[str, Any]:
    role: dict[str, Any] = {
        "apiVersion": RBAC_API_VERSION,
        "kind": "ClusterRole",
        "metadata": {
            "name": name, "labels": {**_BOOTSTRAP_LABELS, **(labels or {})}, "annotations": dict(_AUTOUPDATE),
        },
        "rules": rules,
    }
    if aggregate_from:
        selector = {"matchLabels": {_AGGREGATE_TO + aggregate_from: "true"}}
        role["aggregationRule"] = {"clusterRoleSelectors": [selector]}
    return role


def _cluster_role_binding(name: str, groups: Sequence[str]) -> dict[str, Any]:
    return {
        "apiVersion": RBAC_API_VERSION,
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name, "labels": dict(_BOOTSTRAP_LABELS), "annotations": dict(_AUTOUPDATE)},
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": name},
        "subjects": [{"apiGroup": RBAC_GROUP, "kind": "Group", "name": group} for group in groups],
    }


def _bootstrap_cluster_roles() -> list[dict[str, Any]]:
    core, apps, batch = [""], ["apps"], ["batch"]
    aggregate_to_view = [
        _rule(_READ, core, [
            "configmaps", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "pods",
            "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services",
            "services/status",
        ]),
        _rule(_READ, core, [
            "bindings", "events", "limitranges", "namespaces/status", "pods/log", "pods/status",
            "replicationcontrollers/status", "resourcequotas", "resourcequotas/status",
        ]),
        _rule(_READ, core, ["namespaces"]),
        _rule(_READ, ["discovery.k8s.io"], ["endpointslices"]),
        _rule(_READ, apps, [
            "controllerrevisions", "daemonsets", "daemonsets/status", "deployments", "deployments/scale",
            "deployments/status", "replicasets", "replicasets/scale", "replicasets/status", "statefulsets",
            "statefulsets/scale", "statefulsets/status",
        ]),
        _rule(_READ, ["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
        _rule(_READ, batch, ["cronjobs", "cronjobs/status", "jobs", "jobs/status"]),
        _rule(_READ, ["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
        _rule(_READ, ["networking.k8s.io"], ["ingresses", "ingresses/status", "networkpolicies"]),
    ]
    aggregate_to_edit = [
        _rule(_READ, core, ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets",
                            "services/proxy"]),
        _rule(["impersonate"], core, ["serviceaccounts"]),
        _rule(_WRITE, core, ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"]),
        _rule(["create"], core, ["pods/eviction"]),
        _rule(_WRITE, core, ["configmaps", "events", "persistentvolumeclaims", "replicationcontrollers",
                             "replicationcontrollers/scale", "secrets", "serviceaccounts", "services",
                             "services/proxy"]),
        _rule(["create"], core, ["serviceaccounts/token"]),
        _rule(_WRITE, apps, ["daemonsets", "deployments", "deployments/rollback", "deployments/scale",
                             "replicasets", "replicasets/scale", "statefulsets", "statefulsets/scale"]),
        _rule(_WRITE, ["autoscaling"], ["horizontalpodautoscalers"]),
        _rule(_WRITE, batch, ["cronjobs", "jobs"]),
        _rule(_WRITE, ["policy"], ["poddisruptionbudgets"]),
        _rule(_WRITE, ["networking.k8s.io"], ["ingresses", "networkpolicies"]),
        _rule(_READ_WRITE, ["coordination.k8s.io"], ["leases"]),
    ]
    aggregate_to_admin = [
        _rule(["create"], [AUTHORIZATION_GROUP], ["localsubjectaccessreviews"]),
        _rule(_READ_WRITE, [RBAC_GROUP], ["rolebindings", "roles"]),
    ]
    health_urls = ["/healthz", "/livez", "/readyz", "/version", "/version/"]
    return [
        _cluster_role("cluster-admin", [_rule(["*"], ["*"], ["*"]), _urls(["*"], ["*"])]),
        _cluster_role("admin", [], aggregate_from="admin"),
        _cluster_role("edit", [], labels={_AGGREGATE_TO + "admin": "true"}, aggregate_from="edit"),
        _cluster_role("view", [], labels={_AGGREGATE_TO + "edit": "true"}, aggregate_from="view"),
        *(
            _cluster_role(f"system:aggregate-to-{target}", rules, labels={_AGGREGATE_TO + target: "true"})
            for target, rules in (
                ("admin", aggregate_to_admin), ("edit", aggregate_to_edit), ("view", aggregate_to_view)
            )
        ),
        _cluster_role("system:auth-delegator", [
            _rule(["create"], ["authentication.k8s.io"], ["tokenreviews"]),
            _rule(["create"], [AUTHORIZATION_GROUP], ["subjectaccessreviews"]),
        ]),
        _cluster_role("system:basic-user", [
            _rule(["create"], [AUTHORIZATION_GROUP], ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
            _rule(["create"], ["authentication.k8s.io"], ["selfsubjectreviews"]),
        ]),
        _cluster_role("system:discovery", [_urls(["get"], [
            "/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz",
            "/version", "/version/",
        ])]),
        _cluster_role("system:monitoring", [_urls(["get"], [
            "/healthz", "/healthz/*", "/livez", "/livez/*", "/metrics", "/metrics/slis", "/readyz",
            "/readyz/*",
        ])]),
        _cluster_role("system:public-info-viewer", [_urls(["get"], health_urls)]),
        _cluster_role("system:service-account-issuer-discovery", [
            _urls(["get"], ["/.well-known/openid-configuration", "/openid/v1/jwks"]),
        ]),
    ]


def bootstrap_policy() -> list[tuple[str, str, dict[str, Any]]]:
    """``(group, plural, object)`` for the RBAC objects a fresh cluster has (the part that matters here).

    ClusterRoles cluster-admin, admin/edit/view (aggregated, their ``rules`` filled as the aggregation
    controller would), the system:aggregate-to-* roles they aggregate, system:discovery, system:basic-user,
    system:public-info-viewer, system:monitoring, system:auth-delegator and
    system:service-account-issuer-discovery; ClusterRoleBindings cluster-admin→system:masters,
    system:discovery and system:basic-user→system:authenticated,
    system:public-info-viewer→system:authenticated and system:unauthenticated,
    system:monitoring→system:monitoring and system:service-account-issuer-discovery→system:serviceaccounts.
    All labelled ``kubernetes.io/bootstrapping: rbac-defaults`` and annotated
    ``rbac.authorization.kubernetes.io/autoupdate``.
    """
    roles = _bootstrap_cluster_roles()
    for role in roles:
        aggregated = aggregated_rules(role, roles)
        if aggregated is not None:
            role["rules"] = aggregated
    bindings = [
        _cluster_role_binding("cluster-admin", [PRIVILEGED_GROUP]),
        _cluster_role_binding("system:basic-user", [ALL_AUTHENTICATED]),
        _cluster_role_binding("system:discovery", [ALL_AUTHENTICATED]),
        _cluster_role_binding("system:monitoring", ["system:monitoring"]),
        _cluster_role_binding("system:public-info-viewer", [ALL_AUTHENTICATED, ALL_UNAUTHENTICATED]),
        _cluster_role_binding("system:service-account-issuer-discovery", [ALL_SERVICE_ACCOUNTS_GROUP]),
    ]
    return [(RBAC_GROUP, "clusterroles", role) for role in roles] + [
        (RBAC_GROUP, "clusterrolebindings", binding) for binding in bindings
    ]
