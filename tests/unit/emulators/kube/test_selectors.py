"""Label and field selectors: syntax, matching and error text as k8s.io/apimachinery/pkg/{labels,fields}."""

from __future__ import annotations

from typing import Any

import pytest

from smk8s.emulators.kube.errors import APIError
from smk8s.emulators.kube.resources import ResourceType, builtin_resources
from smk8s.emulators.kube.selectors import (
    FieldSelector,
    LabelSelector,
    Requirement,
    check_field_labels,
    field_labels_for,
    new_requirement,
    object_fields,
    supported_field_labels,
)

KEY_NAME_REGEX = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
LABEL_VALUE_REGEX = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used "
    "for "
    "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


def _bad_request(exc: pytest.ExceptionInfo[APIError]) -> str:
    assert exc.value.code == 400
    assert exc.value.reason == "BadRequest"
    return exc.value.message


# -- label selector matching (labels/selector.go Requirement.Matches) ----------------------------------------

LABEL_MATCHES = [
    ("", {}, True),
    ("", {"a": "b"}, True),
    ("a=b", {"a": "b"}, True),
    ("a=b", {"a": "c"}, False),
    ("a=b", {}, False),
    ("a==b", {"a": "b"}, True),
    ("a==b", {"a": "c"}, False),
    ("a!=b", {"a": "c"}, True),
    ("a!=b", {"a": "b"}, False),
    ("a!=b", {}, True),  # != matches objects without the key
    ("a in (x,y)", {"a": "y"}, True),
    ("a in (x,y)", {"a": "z"}, False),
    ("a in (x,y)", {}, False),
    ("a notin (x)", {"a": "y"}, True),
    ("a notin (x)", {"a": "x"}, False),
    ("a notin (x)", {}, True),  # notin matches objects without the key
    ("a", {"a": ""}, True),
    ("a", {"b": "x"}, False),
    ("!a", {"b": "x"}, True),
    ("!a", {"a": "x"}, False),
    ("a>1", {"a": "2"}, True),
    ("a>1", {"a": "1"}, False),
    ("a>1", {"a": "x"}, False),
    ("a>1", {}, False),
    ("a<10", {"a": "-3"}, True),
    ("a<10", {"a": "10"}, False),
    ("a=b,c=d", {"a": "b", "c": "d"}, True),  # comma is AND
    ("a=b,c=d", {"a": "b", "c": "x"}, False),
    ("a=b,!c", {"a": "b"}, True),
    ("  a = b ,\tc in ( x , y )  ", {"a": "b", "c": "x"}, True),  # whitespace around tokens
    ("a=", {"a": ""}, True),  # an empty exact value
    ("a=", {"a": "x"}, False),
    ("a in (,x)", {"a": ""}, True),
    ("a in ()", {"a": ""}, True),
    ("in in (in,notin)", {"in": "notin"}, True),  # keywords are identifiers where a key or value is expected
    ("example.com/app=web", {"example.com/app": "web"}, True),
]


@pytest.mark.parametrize(("selector", "labels", "expected"), LABEL_MATCHES)
def test_label_selector_matches_like_upstream(selector: str, labels: dict[str, str], expected: bool) -> None:
    assert LabelSelector.parse(selector).matches(labels) is expected


def test_label_selector_matches_none_labels_as_empty() -> None:
    assert LabelSelector.parse("!a").matches(None)
    assert not LabelSelector.parse("a").matches(None)


# -- label selector parse errors (labels/selector.go Parser) -------------------------------------------------

LABEL_PARSE_ERRORS = [
    ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
    ("a,", "found '', expected: identifier after ','"),
    ("a,,b", "found ',', expected: identifier after ','"),
    ("=a", "found '=', expected: !, identifier, or 'end of string'"),
    (",a", "found ',', expected: !, identifier, or 'end of string'"),
    ("a=b c", "found 'c', expected: ',' or 'end of string'"),
    ("a!=b!=c", "found '!=', expected: ',' or 'end of string'"),
    ("!a=b", "found '=', expected: ',' or 'end of string'"),
    ("!,a", "unable to parse requirement: found ',', expected: identifier"),
    ("a in b", "unable to parse requirement: found 'b' expected: '('"),
    ("a in (b c)", "unable to parse requirement: found 'c', expected: ',' or ')'"),
    ("a in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier"),
    ("a in (b,=)", "unable to parse requirement: found '=', expected: ',', or identifier"),
    ("a=(", "unable to parse requirement: found '(', expected: identifier"),
    ("Foo_=x", f'unable to parse requirement: <nil>: Invalid value: "Foo_": {KEY_NAME_REGEX}'),
    ("/a", 'unable to parse requirement: <nil>: Invalid value: "/a": prefix part must be non-empty'),
    ("a=b_", f'unable to parse requirement: values[0][a]: Invalid value: "b_": {LABEL_VALUE_REGEX}'),
    ("a in (ok,x_)", f'unable to parse requirement: values[1][a]: Invalid value: "x_": {LABEL_VALUE_REGEX}'),
    ("a>x", "unable to parse requirement: values[0]: Invalid value: \"x\": "
            "for 'Gt', 'Lt' operators, the value must be an integer"),
]


@pytest.mark.parametrize(("selector", "message"), LABEL_PARSE_ERRORS)
def test_label_selector_parse_errors_carry_upstream_text(selector: str, message: str) -> None:
    with pytest.raises(APIError) as exc:
        LabelSelector.parse(selector)
    assert _bad_request(exc) == message


def test_label_value_length_is_limited_to_63_bytes() -> None:
    LabelSelector.parse("a=" + "v" * 63)
    with pytest.raises(APIError) as exc:
        LabelSelector.parse("a=" + "v" * 64)
    assert _bad_request(exc) == (
        f'unable to parse requirement: values[0][a]: Invalid value: "{"v" * 64}": must be no more than 63 '
        'bytes'
    )


def test_label_key_prefix_must_be_a_dns_subdomain() -> None:
    LabelSelector.parse("app.example.com/name=x")
    with pytest.raises(APIError) as exc:
        LabelSelector.parse("Example_com/name=x")
    assert "prefix part a lowercase RFC 1123 subdomain must consist" in _bad_request(exc)


def test_label_selector_string_is_sorted_by_key_with_sorted_unique_values() -> None:
    parsed = LabelSelector.parse("z notin (b,a,b), y, !x, a==1, b!=2, c>3, d in (q,,p)")
    assert str(parsed) == "a==1,b!=2,c>3,d in (,p,q),!x,y,z notin (a,b)"
    assert parsed.requirements[0] == Requirement("a", "==", ("1",))


def test_label_selector_empty_property() -> None:
    assert LabelSelector.parse("").empty
    assert not LabelSelector.parse("a").empty
    assert not LabelSelector.from_label_selector(None).empty


# -- metav1.LabelSelector (LabelSelectorAsSelector) ----------------------------------------------------------

METAV1_MATCHES: list[tuple[dict[str, Any] | None, dict[str, str], bool]] = [
    (None, {}, False),  # a nil selector selects nothing
    (None, {"a": "b"}, False),
    ({}, {"a": "b"}, True),  # an empty selector selects everything
    ({"matchLabels": {"a": "b"}}, {"a": "b", "c": "d"}, True),
    ({"matchLabels": {"a": "b"}}, {"a": "c"}, False),
    ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["x", "y"]}]}, {"a": "y"}, True),
    ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["x"]}]}, {}, False),
    ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["x"]}]}, {}, True),
    ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["x"]}]}, {"a": "x"}, False),
    ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {"a": ""}, True),
    ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {}, False),
    ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {}, True),
    ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {"a": "x"}, False),
    (
        {"matchLabels": {"rbac.example.com/aggregate-to-edit": "true"},
         "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]}]},
        {"rbac.example.com/aggregate-to-edit": "true", "tier": "web"},
        True,
    ),
]


@pytest.mark.parametrize(("selector", "labels", "expected"), METAV1_MATCHES)
def test_from_label_selector_matches_like_upstream(
    selector: dict[str, Any] | None, labels: dict[str, str], expected: bool
) -> None:
    assert LabelSelector.from_label_selector(selector).matches(labels) is expected


METAV1_ERRORS: list[tuple[dict[str, Any], str]] = [
    ({"matchExpressions": [{"key": "a", "operator": "Foo", "values": ["x"]}]},
     '"Foo" is not a valid label selector operator'),
    ({"matchExpressions": [{"key": "a", "operator": "In"}]},
     "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty"),
    ({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
     'values: Invalid value: ["x"]: values set must be empty for exists and does not exist'),
    ({"matchLabels": {"a": "b c"}}, f'values[0][a]: Invalid value: "b c": {LABEL_VALUE_REGEX}'),
    ({"matchLabels": {"Foo_": "x"}}, f'key: Invalid value: "Foo_": {KEY_NAME_REGEX}'),
]


@pytest.mark.parametrize(("selector", "message"), METAV1_ERRORS)
def test_from_label_selector_errors(selector: dict[str, Any], message: str) -> None:
    with pytest.raises(APIError) as exc:
        LabelSelector.from_label_selector(selector)
    assert _bad_request(exc) == message


def test_new_requirement_aggregates_several_errors_in_brackets() -> None:
    with pytest.raises(APIError) as exc:
        new_requirement("Foo_", "=", ["a", "b"])
    assert _bad_request(exc) == (
        f'[key: Invalid value: "Foo_": {KEY_NAME_REGEX}, '
        'values: Invalid value: ["a","b"]: exact-match compatibility requires one single value]'
    )


def test_new_requirement_rejects_unknown_operator() -> None:
    with pytest.raises(APIError) as exc:
        new_requirement("a", "~", [])
    assert _bad_request(exc).startswith('operator: Unsupported value: "~": supported values: "in", "notin", '
                                        '"="')


# -- field selectors (fields/selector.go) --------------------------------------------------------------------

FIELD_MATCHES = [
    ("", {"metadata.name": "x"}, True),
    ("metadata.name=x", {"metadata.name": "x"}, True),
    ("metadata.name=x", {"metadata.name": "y"}, False),
    ("metadata.name==x", {"metadata.name": "x"}, True),
    ("metadata.name!=x", {"metadata.name": "y"}, True),
    ("metadata.name!=x", {"metadata.name": "x"}, False),
    ("spec.missing=", {}, True),  # a missing field reads as ""
    ("spec.missing!=", {}, False),
    ("a=1,b=2", {"a": "1", "b": "2"}, True),  # comma is AND
    ("a=1,b=2", {"a": "1", "b": "3"}, False),
    ("a=1,,b=2", {"a": "1", "b": "2"}, True),  # empty terms are skipped
    ("a=x\\,y", {"a": "x,y"}, True),  # escaped comma stays in the value
    ("a=x\\=y", {"a": "x=y"}, True),
    ("a=x\\\\y", {"a": "x\\y"}, True),
]


@pytest.mark.parametrize(("selector", "fields", "expected"), FIELD_MATCHES)
def test_field_selector_matches_like_upstream(selector: str, fields: dict[str, str], expected: bool) -> None:
    assert FieldSelector.parse(selector).matches(fields) is expected


FIELD_PARSE_ERRORS = [
    ("metadata.name", "invalid selector: 'metadata.name'; can't understand 'metadata.name'"),
    ("a=1,b", "invalid selector: 'a=1,b'; can't understand 'b'"),
    ("a=b=c", "invalid field selector: unescaped character in value: 61"),  # Go prints the rune as %v
    ("a!==x", "invalid field selector: unescaped character in value: 61"),  # "!=" splits, "=x" remains
    ("a=x\\y", "invalid field selector: invalid escape sequence: \\y"),
    ("a=x\\", "invalid field selector: invalid escape sequence: \\"),
]


@pytest.mark.parametrize(("selector", "message"), FIELD_PARSE_ERRORS)
def test_field_selector_parse_errors(selector: str, message: str) -> None:
    with pytest.raises(APIError) as exc:
        FieldSelector.parse(selector)
    assert _bad_request(exc) == message


def test_field_selector_terms_are_sorted_and_round_trip_escapes() -> None:
    parsed = FieldSelector.parse("z=1,a!=x\\,y")
    assert parsed.fields() == ["a", "z"]
    assert str(parsed) == "a!=x\\,y,z=1"
    assert FieldSelector.parse("").empty and not parsed.empty


# -- field labels --------------------------------------------------------------------------------------------


def _builtin(group: str, plural: str) -> ResourceType:
    return next(r for r in builtin_resources() if (r.group, r.plural) == (group, plural))


def _custom(namespaced: bool, selectable: tuple[str, ...] = ()) -> ResourceType:
    return ResourceType("example.com", "v1", "widgets", "widget", "Widget", namespaced, is_custom=True,
                        selectable_fields=selectable)


SUPPORTED_LABELS = [
    ("", "ConfigMap", {"metadata.name", "metadata.namespace"}),
    ("", "Namespace", {"metadata.name", "status.phase"}),
    ("", "Secret", {"metadata.name", "metadata.namespace", "type"}),
    ("", "Event", {"metadata.name", "metadata.namespace", "involvedObject.kind", "involvedObject.namespace",
                   "involvedObject.name", "involvedObject.uid", "involvedObject.apiVersion",
                   "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
                   "reportingComponent", "source", "type"}),
    ("events.k8s.io", "Event", {"metadata.name", "metadata.namespace", "regarding.kind",
                                "regarding.namespace",
                                "regarding.name", "regarding.uid", "regarding.apiVersion",
                                "regarding.resourceVersion", "regarding.fieldPath", "reason",
                                "reportingController", "source", "type"}),
    ("rbac.authorization.k8s.io", "ClusterRole", {"metadata.name", "metadata.namespace"}),
]


@pytest.mark.parametrize(("group", "kind", "labels"), SUPPORTED_LABELS)
def test_supported_field_labels_table(group: str, kind: str, labels: set[str]) -> None:
    assert supported_field_labels(group, kind) == labels


def test_custom_resource_field_labels_depend_on_scope_and_selectable_fields() -> None:
    expected = {"metadata.name", "metadata.namespace", "spec.color"}
    assert field_labels_for(_custom(True, (".spec.color",))) == expected
    assert field_labels_for(_custom(False)) == {"metadata.name"}


UNSUPPORTED_LABEL_ERRORS = [
    (_custom(True), "spec.x=1", "field label not supported: spec.x"),
    (_custom(False), "metadata.namespace=a", "field label not supported: metadata.namespace"),
    (_builtin("", "namespaces"), "metadata.namespace=a", "field label not supported: metadata.namespace"),
    (_builtin("", "secrets"), "data.x=1", "field label not supported: data.x"),
    (_builtin("", "configmaps"), "data.x=1",
     '"data.x" is not a known field selector: only "metadata.name", "metadata.namespace"'),
    (_custom(True), "z.b=1,spec.a=1", "field label not supported: spec.a"),  # first in sorted term order
]


@pytest.mark.parametrize(("rt", "selector", "message"), UNSUPPORTED_LABEL_ERRORS)
def test_check_field_labels_errors(rt: ResourceType, selector: str, message: str) -> None:
    with pytest.raises(APIError) as exc:
        check_field_labels(FieldSelector.parse(selector), rt)
    assert _bad_request(exc) == message


def test_check_field_labels_accepts_supported_labels() -> None:
    check_field_labels(FieldSelector.parse("spec.color=red,metadata.name=a"), _custom(True, (".spec.color",)))
    check_field_labels(FieldSelector.parse("metadata.namespace=x"), _builtin("", "configmaps"))


# -- object fields (GetAttrs) --------------------------------------------------------------------------------


def test_object_fields_include_namespace_only_when_namespaced() -> None:
    obj = {"metadata": {"name": "n", "namespace": "ns"}}
    assert object_fields(obj, True) == {"metadata.name": "n", "metadata.namespace": "ns"}
    assert object_fields(obj, False) == {"metadata.name": "n"}


def test_object_fields_renders_selectable_paths() -> None:
    obj = {"metadata": {"name": "n"},
           "spec": {"color": "red", "on": True, "off": False, "size": 3, "ratio": 2.0, "nested": {"a": 1}}}
    paths = (".spec.color", ".spec.on", ".spec.off", ".spec.size", ".spec.ratio", ".spec.nested",
             ".spec.none")
    assert object_fields(obj, False, paths) == {
        "metadata.name": "n", "spec.color": "red", "spec.on": "true", "spec.off": "false", "spec.size": "3",
        "spec.ratio": "2", "spec.nested": "", "spec.none": "",
    }


def test_object_fields_core_event_extras() -> None:
    event = {
        "apiVersion": "v1", "kind": "Event", "metadata": {"name": "e", "namespace": "ns"},
        "involvedObject": {"kind": "Pod", "name": "p", "namespace": "ns", "uid": "u", "apiVersion": "v1",
                           "resourceVersion": "7", "fieldPath": "spec.containers{c}"},
        "reason": "Started", "type": "Normal", "reportingComponent": "kubelet",
    }
    fields = object_fields(event, True)
    assert fields["involvedObject.kind"] == "Pod"
    assert fields["involvedObject.fieldPath"] == "spec.containers{c}"
    assert fields["involvedObject.resourceVersion"] == "7"
    assert fields["reason"] == "Started"
    assert fields["type"] == "Normal"
    assert fields["reportingComponent"] == "kubelet"
    assert fields["source"] == "kubelet"  # source.component empty: falls back to reportingComponent
    event["source"] = {"component": "scheduler"}
    assert object_fields(event, True)["source"] == "scheduler"
    assert FieldSelector.parse("involvedObject.name=p,type=Normal").matches(object_fields(event, True))


def test_object_fields_events_k8s_io_extras() -> None:
    event = {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e", "namespace": "ns"},
             "regarding": {"kind": "Widget", "name": "w"}, "reason": "Synced", "type": "Warning",
             "reportingController": "smk8s.io/operator"}
    fields = object_fields(event, True)
    assert fields["regarding.kind"] == "Widget"
    assert fields["regarding.uid"] == ""
    assert fields["reportingController"] == "smk8s.io/operator"
    assert fields["source"] == "smk8s.io/operator"


def test_object_fields_secret_and_namespace_extras() -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "ns"},
              "type": "Opaque"}
    assert object_fields(secret, True)["type"] == "Opaque"
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns"}, "status": {"phase": "Active"}}
    assert object_fields(ns, False) == {"metadata.name": "ns", "status.phase": "Active"}
    # Another group's "Secret" kind gets no built-in extras.
    other = {"apiVersion": "example.com/v1", "kind": "Secret", "metadata": {"name": "s"}, "type": "x"}
    assert "type" not in object_fields(other, True)
