"""Tests for x-kubernetes-validations (cel.py).

Expectations follow apiextensions-apiserver pkg/apiserver/schema/cel/validation.go (field errors per reason,
messages, transition rules, ratcheting) and pkg/apis/apiextensions/validation/validation.go (compilation).
"""

from __future__ import annotations

import copy
from typing import Any

import celpy
import pytest

from smk8s.emulators.kube.cel import RuleSet, check_rules, compile_rules, escape_property, to_cel
from smk8s.emulators.kube.errors import (
    FIELD_DUPLICATE,
    FIELD_FORBIDDEN,
    FIELD_INVALID,
    FIELD_REQUIRED,
    Cause,
)
from tests.unit.emulators.kube.test_schema import ROOT, training_job, training_job_schema


def node(schema: dict[str, Any], *rules: dict[str, Any]) -> dict[str, Any]:
    """A resource schema whose ``spec.x`` is ``schema`` carrying ``rules``."""
    return {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {"x": {**schema, "x-kubernetes-validations": list(rules)}},
            }
        },
    }


def check(schema: dict[str, Any], value: Any, old: Any = None) -> list[Cause]:
    obj = {"apiVersion": "g/v1", "kind": "K", "metadata": {"name": "n"}, "spec": {"x": value}}
    old_obj = None if old is None else {**copy.deepcopy(obj), "spec": {"x": old}}
    return check_rules(obj, old_obj, schema)


# ---------------------------------------------------------------------------------------------------------
# The realistic schema
# ---------------------------------------------------------------------------------------------------------


def test_training_job_rules_pass_on_create() -> None:
    assert (
        check_rules(training_job(maxRuntimeSeconds=3600, trainingJobName="a"), None, training_job_schema())
        == []
    )


def test_object_rule_failure_omits_the_object_value() -> None:
    causes = check_rules(training_job(maxRuntimeSeconds=10), None, training_job_schema())
    assert causes == [Cause(FIELD_INVALID, "Invalid value: maxRuntimeSeconds must be at least 60", "spec")]


def test_immutable_string_field_on_update() -> None:
    schema = training_job_schema()
    old = training_job(maxRuntimeSeconds=3600, trainingJobName="first")
    new = training_job(maxRuntimeSeconds=3600, trainingJobName="second")
    assert check_rules(new, old, schema) == [
        Cause(FIELD_INVALID, 'Invalid value: "second": is immutable', "spec.trainingJobName")
    ]
    assert check_rules(copy.deepcopy(old), old, schema) == []


def test_transition_rule_skipped_on_create_and_when_old_value_absent() -> None:
    schema = training_job_schema()
    new = training_job(maxRuntimeSeconds=3600, trainingJobName="second")
    assert check_rules(new, None, schema) == []
    assert check_rules(new, training_job(maxRuntimeSeconds=3600), schema) == []


def test_ratcheting_drops_errors_of_unchanged_values() -> None:
    schema = training_job_schema()
    old = training_job(maxRuntimeSeconds=10)
    assert check_rules(copy.deepcopy(old), old, schema) == []
    changed = training_job(maxRuntimeSeconds=20)
    assert [c.field for c in check_rules(changed, old, schema)] == ["spec"]


# ---------------------------------------------------------------------------------------------------------
# Values and self
# ---------------------------------------------------------------------------------------------------------


def test_immutable_object_with_self_equals_old_self() -> None:
    schema = node(
        {"type": "object", "properties": {"a": {"type": "string"}, "n": {"type": "integer"}}},
        {"rule": "self == oldSelf", "message": "cfg is immutable"},
    )
    assert check(schema, {"a": "1", "n": 2}, {"a": "1", "n": 2}) == []
    assert check(schema, {"a": "2", "n": 2}, {"a": "1", "n": 2}) == [
        Cause(FIELD_INVALID, "Invalid value: cfg is immutable", "spec.x")
    ]


def test_integers_are_cel_ints_and_numbers_doubles() -> None:
    schema = node(
        {"type": "object", "properties": {"i": {"type": "integer"}, "d": {"type": "number"}}},
        {"rule": "self.i + 1 == 3 && self.d == 2.0 && type(self.i) == int"},
    )
    assert check(schema, {"i": 2, "d": 2}) == []


def test_has_size_and_macros() -> None:
    schema = node(
        {
            "type": "object",
            "properties": {
                "items": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"n": {"type": "integer"}}},
                },
                "opt": {"type": "string"},
            },
        },
        {
            "rule": "!has(self.opt) && size(self.items) == 3 && self.items.all(i, i.n > 0) && "
            "self.items.exists_one(i, i.n == 2) && self.items.map(i, i.n * 2) == [2, 4, 6] && "
            "self.items.filter(i, i.n > 1).size() == 2 && self.items.exists(i, i.n == 3)"
        },
    )
    assert check(schema, {"items": [{"n": 1}, {"n": 2}, {"n": 3}]}) == []
    assert len(check(schema, {"items": [{"n": 1}], "opt": "x"})) == 1


@pytest.mark.parametrize(
    "rule",
    [
        "self.startsWith('ab') && self.endsWith('yz') && self.contains('mn')",
        "self.matches('^[a-z]+$')",
        "'ABC'.lowerAscii() == 'abc' && 'abc'.upperAscii() == 'ABC'",
        "self.indexOf('c') == 2 && self.lastIndexOf('z') == 25",
        "' x '.trim() == 'x' && 'a,b'.split(',') == ['a', 'b'] && 'aXa'.replace('X', 'Y') == 'aYa'",
        "self.substring(0, 3) == 'abc' && self.charAt(1) == 'b' && ['a', 'b'].join('-') == 'a-b'",
        "[1, 2, 3].isSorted() && ![2, 1].isSorted() && [1, 2, 3].sum() == 6",
        "[4, 2, 9].min() == 2 && [4, 2, 9].max() == 9 && [1, 2].indexOf(2) == 1",
        "size(self) == 26 && self.size() == 26",
    ],
)
def test_kubernetes_library_functions(rule: str) -> None:
    schema = node({"type": "string"}, {"rule": rule})
    assert check(schema, "abcdefghijklmnopqrstuvwxyz") == []


def test_map_values_from_additional_properties() -> None:
    schema = node(
        {"type": "object", "additionalProperties": {"type": "string"}},
        {"rule": "'team' in self && self['team'] == 'ml' && self.all(k, k.size() < 10)"},
    )
    assert check(schema, {"team": "ml"}) == []
    assert len(check(schema, {"team": "ops"})) == 1


def test_formatted_strings_become_timestamps_and_durations() -> None:
    schema = node(
        {
            "type": "object",
            "properties": {
                "start": {"type": "string", "format": "date-time"},
                "end": {"type": "string", "format": "date-time"},
                "timeout": {"type": "string", "format": "duration"},
            },
        },
        {"rule": "self.start < self.end && self.timeout > duration('1m')"},
    )
    value = {"start": "2024-01-01T00:00:00Z", "end": "2024-01-02T00:00:00Z", "timeout": "5m"}
    assert check(schema, value) == []
    assert len(check(schema, {**value, "end": "2023-01-01T00:00:00Z"})) == 1


def test_escaped_property_names() -> None:
    assert escape_property("x-y") == "x__dash__y"
    assert escape_property("namespace") == "__namespace__"
    assert escape_property("a.b/c") == "a__dot__b__slash__c"
    assert escape_property("a__b") == "a__underscores__b"
    assert escape_property("1abc") is None
    schema = node(
        {"type": "object", "properties": {"max-size": {"type": "integer"}}},
        {"rule": "self.max__dash__size < 5"},
    )
    assert check(schema, {"max-size": 3}) == []


def test_root_sees_type_meta_and_only_name_of_metadata() -> None:
    schema = {
        "type": "object",
        "x-kubernetes-validations": [
            {"rule": "self.kind == 'K' && self.metadata.name == 'n' && !has(self.metadata.generateName)"}
        ],
        "properties": {"spec": {"type": "object"}},
    }
    obj = {"apiVersion": "g/v1", "kind": "K", "metadata": {"name": "n", "namespace": "ns"}, "spec": {}}
    assert check_rules(obj, None, schema) == []
    root = to_cel(obj, schema, resource_root=True)
    assert set(map(str, root["metadata"])) == {"name"}


def test_root_rule_failure_has_nil_field() -> None:
    schema = {
        "type": "object",
        "x-kubernetes-validations": [{"rule": "self.kind == 'Other'"}],
        "properties": {"spec": {"type": "object"}},
    }
    obj = {"apiVersion": "g/v1", "kind": "K", "metadata": {"name": "n"}, "spec": {}}
    assert check_rules(obj, None, schema) == [
        Cause(FIELD_INVALID, "Invalid value: failed rule: self.kind == 'Other'", "<nil>")
    ]


def test_rules_on_array_items_and_map_values_report_their_paths() -> None:
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "l": {
                        "type": "array",
                        "items": {"type": "integer", "x-kubernetes-validations": [{"rule": "self > 0"}]},
                    },
                    "m": {
                        "type": "object",
                        "additionalProperties": {
                            "type": "string",
                            "x-kubernetes-validations": [{"rule": "self != ''", "message": "empty"}],
                        },
                    },
                },
            }
        },
    }
    obj = {"spec": {"l": [1, -2], "m": {"a": "", "b": "x"}}}
    assert check_rules(obj, None, schema) == [
        Cause(FIELD_INVALID, "Invalid value: -2: failed rule: self > 0", "spec.l[1]"),
        Cause(FIELD_INVALID, 'Invalid value: "": empty', "spec.m[a]"),
    ]


def test_null_values_are_not_validated() -> None:
    schema = node({"type": "string", "nullable": True}, {"rule": "self == 'never'"})
    assert check(schema, None) == []


# ---------------------------------------------------------------------------------------------------------
# Messages, reasons, fieldPath
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("FieldValueForbidden", Cause(FIELD_FORBIDDEN, "Forbidden: nope", "spec.x")),
        ("FieldValueRequired", Cause(FIELD_REQUIRED, "Required value: nope", "spec.x")),
        ("FieldValueDuplicate", Cause(FIELD_DUPLICATE, 'Duplicate value: "v"', "spec.x")),
        ("FieldValueInvalid", Cause(FIELD_INVALID, 'Invalid value: "v": nope', "spec.x")),
    ],
)
def test_reasons(reason: str, expected: Cause) -> None:
    schema = node({"type": "string"}, {"rule": "false", "message": "nope", "reason": reason})
    assert check(schema, "v") == [expected]


def test_message_expression_and_fallbacks() -> None:
    schema = node(
        {"type": "integer"},
        {"rule": "self < 5", "messageExpression": "'got ' + string(self) + ', want < 5'"},
        {"rule": "self < 4", "message": "static", "messageExpression": "''"},
        {"rule": "self < 3"},
    )
    assert check(schema, 7) == [
        Cause(FIELD_INVALID, "Invalid value: 7: got 7, want < 5", "spec.x"),
        Cause(FIELD_INVALID, "Invalid value: 7: static", "spec.x"),
        Cause(FIELD_INVALID, "Invalid value: 7: failed rule: self < 3", "spec.x"),
    ]


def test_field_path_moves_the_error() -> None:
    schema = node(
        {"type": "object", "properties": {"min": {"type": "integer"}, "max": {"type": "integer"}}},
        {"rule": "self.min <= self.max", "message": "min above max", "fieldPath": ".max"},
    )
    assert check(schema, {"min": 3, "max": 1}) == [
        Cause(FIELD_INVALID, "Invalid value: min above max", "spec.x.max")
    ]


def test_runtime_errors_are_reported_with_the_schema_type() -> None:
    schema = node({"type": "object", "properties": {"a": {"type": "string"}}}, {"rule": "self.a == 'x'"})
    assert check(schema, {}) == [
        Cause(
            FIELD_INVALID,
            "Invalid value: \"object\": no such key: a evaluating rule: self.a == 'x'",
            "spec.x",
        )
    ]


def test_int_or_string_is_dynamic() -> None:
    schema = node(
        {"x-kubernetes-int-or-string": True}, {"rule": "type(self) == int ? self > 0 : self.endsWith('%')"}
    )
    assert check(schema, 3) == []
    assert check(schema, "50%") == []
    assert len(check(schema, "50")) == 1


# ---------------------------------------------------------------------------------------------------------
# Transition rules
# ---------------------------------------------------------------------------------------------------------


def test_transition_rules_in_map_lists_correlate_by_key() -> None:
    schema = node(
        {
            "type": "array",
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string"},
                    "size": {
                        "type": "integer",
                        "x-kubernetes-validations": [
                            {"rule": "self >= oldSelf", "message": "may not shrink"}
                        ],
                    },
                },
            },
        }
    )
    old = [{"name": "a", "size": 5}, {"name": "b", "size": 5}]
    new = [{"name": "b", "size": 4}, {"name": "a", "size": 6}, {"name": "c", "size": 1}]
    assert check(schema, new, old) == [
        Cause(FIELD_INVALID, "Invalid value: 4: may not shrink", "spec.x[0].size")
    ]


def test_optional_old_self_is_evaluated_on_create() -> None:
    schema = node(
        {"type": "string"},
        {
            "rule": "!oldSelf.hasValue() || oldSelf.value() == self",
            "optionalOldSelf": True,
            "message": "immutable once set",
        },
        {"rule": "oldSelf.orValue('') != 'locked'", "optionalOldSelf": True},
    )
    assert check(schema, "a") == []
    assert check(schema, "a", "a") == []
    assert check(schema, "b", "a") == [
        Cause(FIELD_INVALID, 'Invalid value: "b": immutable once set', "spec.x")
    ]


# ---------------------------------------------------------------------------------------------------------
# Compilation
# ---------------------------------------------------------------------------------------------------------


def test_realistic_schema_compiles() -> None:
    assert compile_rules(training_job_schema(), ROOT) == []


def test_syntax_error_is_a_compile_error_cause() -> None:
    schema = node({"type": "string"}, {"rule": "self =="})
    causes = compile_rules(schema, ROOT)
    assert len(causes) == 1
    assert causes[0].reason == FIELD_INVALID
    assert causes[0].field == f"{ROOT}.properties[spec].properties[x].x-kubernetes-validations[0].rule"
    assert causes[0].message.startswith(
        'Invalid value: apiextensions.ValidationRule{Rule:"self ==", Message:""'
    )
    assert "compilation failed: ERROR: <input>:1:" in causes[0].message
    assert "Syntax error" in causes[0].message


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ("self.nope == 1", "undefined field 'nope'"),
        ("selff.a == 'x'", "undeclared reference to 'selff'"),
        ("self.a.frobnicate()", "undeclared reference to 'frobnicate'"),
        ("self.a.b == 1", "type 'string' does not support field selection"),
        ("self.items.all(i, i.missing)", "undefined field 'missing'"),
    ],
)
def test_semantic_compile_errors(rule: str, problem: str) -> None:
    schema = node(
        {
            "type": "object",
            "properties": {
                "a": {"type": "string"},
                "items": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"n": {"type": "integer"}}},
                },
            },
        },
        {"rule": rule},
    )
    causes = compile_rules(schema, ROOT)
    assert len(causes) == 1 and problem in causes[0].message


def test_compile_error_caret_points_at_the_problem() -> None:
    schema = node({"type": "object", "properties": {"a": {"type": "string"}}}, {"rule": "self.zz == 1"})
    message = compile_rules(schema, ROOT)[0].message
    assert message.endswith("ERROR: <input>:1:5: undefined field 'zz'\n | self.zz == 1\n | ....^")


def test_message_expression_compile_error() -> None:
    schema = node({"type": "string"}, {"rule": "true", "messageExpression": "'x' +"})
    causes = compile_rules(schema, ROOT)
    assert [c.field.rsplit(".", 1)[-1] for c in causes] == ["messageExpression"]
    assert "messageExpression compilation failed" in causes[0].message


def test_old_self_under_uncorrelatable_list_is_rejected() -> None:
    schema = node(
        {
            "type": "array",
            "items": {"type": "string", "x-kubernetes-validations": [{"rule": "self == oldSelf"}]},
        }
    )
    causes = compile_rules(schema, ROOT)
    assert causes == [
        Cause(
            FIELD_INVALID,
            'Invalid value: "self == oldSelf": oldSelf cannot be used on the uncorrelatable portion of the '
            f"schema within {ROOT}.properties[spec].properties[x]",
            f"{ROOT}.properties[spec].properties[x].items.x-kubernetes-validations[0].rule",
        )
    ]


def test_optional_old_self_without_old_self_is_rejected() -> None:
    schema = node({"type": "string"}, {"rule": "self != ''", "optionalOldSelf": True})
    assert compile_rules(schema, ROOT) == [
        Cause(
            FIELD_INVALID,
            "Invalid value: true: may not be set if oldSelf is not used in rule",
            f"{ROOT}.properties[spec].properties[x].x-kubernetes-validations[0].optionalOldSelf",
        )
    ]


def test_rule_set_compiles_once_and_is_reusable() -> None:
    rules = RuleSet(training_job_schema())
    job = training_job(maxRuntimeSeconds=10)
    assert check_rules(job, None, training_job_schema(), rules) == rules.check(job)
    assert len(rules.check(job)) == 1
    assert rules.check(training_job(maxRuntimeSeconds=100)) == []


def test_remembered_outcomes_are_keyed_by_self_and_old_self() -> None:
    """The memo (rule, self, oldSelf) -> outcome never answers for other values: an immutability rule passes,
    fails, and passes again as the values change back, and old entries are dropped beyond the memo size."""
    from smk8s.emulators.kube import cel

    schema = node({"type": "string"}, {"rule": "self == oldSelf", "message": "immutable"})
    rules = RuleSet(schema)

    def update(new: str, old: str) -> list[Cause]:
        obj = {"apiVersion": "g/v1", "kind": "K", "metadata": {"name": "n"}, "spec": {"x": new}}
        return rules.check(obj, {**obj, "spec": {"x": old}})

    assert update("a", "a") == []
    assert [c.message for c in update("b", "a")] == ["Invalid value: \"b\": immutable"]
    assert update("a", "a") == [] and update("b", "b") == []
    assert update("b", "a") == update("b", "a")  # remembered, same answer
    for i in range(cel.OUTCOME_MEMO_SIZE + 10):
        update(str(i), str(i))
    assert len(rules._outcomes) == cel.OUTCOME_MEMO_SIZE


def test_a_rule_reading_only_members_is_remembered_by_those_members() -> None:
    """Immutability rules on a spec read ``self.f``/``oldSelf.f`` only: objects differing elsewhere (each job's own
    name) share outcomes, while a change of ``f`` -- or of its presence -- is still judged."""
    from smk8s.emulators.kube import cel

    rule = {"rule": "has(self.f) == has(oldSelf.f) && (!has(self.f) || self.f == oldSelf.f)", "message": "immutable"}
    schema = node({"type": "object", "properties": {"f": {"type": "string"}, "name": {"type": "string"}}}, rule)
    rules = RuleSet(schema)

    def update(new: dict[str, Any], old: dict[str, Any]) -> list[str]:
        obj = {"apiVersion": "g/v1", "kind": "K", "metadata": {"name": "n"}, "spec": {"x": new}}
        return [c.message for c in rules.check(obj, {**obj, "spec": {"x": old}})]

    for i in range(50):
        assert update({"f": "a", "name": f"job-{i}"}, {"f": "a", "name": f"job-{i}"}) == []
    assert len(rules._outcomes) == 1  # one outcome for every object: the rule reads only f
    assert update({"f": "b", "name": "job-1"}, {"f": "a", "name": "job-1"}) == ["Invalid value: immutable"]
    assert update({"name": "job-1"}, {"f": "a", "name": "job-1"}) != []  # removing f is a change too
    assert update({"f": "a"}, {"f": "a", "name": "other"}) == []

    whole = RuleSet(node({"type": "object", "properties": {"f": {"type": "string"}}},
                         {"rule": "self == oldSelf", "message": "immutable"}))
    assert [r.program.members for n in whole._nodes.values() for r in n.rules] == [None]  # whole values: keyed so
    env = celpy.Environment()
    assert cel._members_read(env.compile("self.a.b == oldSelf.a && has(self.c)")) == frozenset({"a", "c"})
    assert cel._members_read(env.compile("self.all(x, x > 0)")) is None
    assert cel._members_read(env.compile("size(self) > 0")) is None
