"""Kubernetes JSONPath as client-go evaluates printer-column paths (k8s.io/client-go/util/jsonpath)."""

from __future__ import annotations

from typing import Any

import pytest

from smk8s.emulators.kube.jsonpath import JSONPathError, find, format_value, go_format_float, parse

DATA: dict[str, Any] = {
    "metadata": {"name": "t1", "labels": {"app.kubernetes.io/name": "trainer"}},
    "spec": {"a": [{"b": 1}, {"b": 2.5}, {"b": "x"}], "empty": []},
    "status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "Synced", "status": "False"}],
               "nothing": None},
}


@pytest.mark.parametrize(("path", "expected"), [
    (".metadata.name", ["t1"]),
    ("{.metadata.name}", ["t1"]),
    (".spec.a[0].b", [1]),
    (".spec.a[-1].b", ["x"]),
    (".spec.a[*].b", [1, 2.5, "x"]),
    (".spec.a[0:2].b", [1, 2.5]),
    (".spec.a[::2].b", [1, "x"]),
    (".spec.a[0,2].b", [1, "x"]),
    (".spec['a'][1].b", [2.5]),
    (".metadata.labels.app\\.kubernetes\\.io/name", ["trainer"]),
    (".status.conditions[?(@.type==\"Ready\")].status", ["True"]),
    (".status.conditions[?(@.type!='Ready')].type", ["Synced"]),
    (".status.conditions[?(@.status)].type", ["Ready", "Synced"]),
    ("..b", [1, 2.5, "x"]),
    (".spec.missing.deeper", []),
    (".status.nothing", [None]),
])
def test_find(path: str, expected: list[Any]) -> None:
    assert find(parse(path), DATA) == expected


@pytest.mark.parametrize("path", [".spec.a[5]", ".metadata.name[0]", ".spec.a[2:1]"])
def test_bad_indexing_is_an_error(path: str) -> None:
    with pytest.raises(JSONPathError):
        find(parse(path), DATA)


def test_zero_length_slice_is_not_an_error() -> None:
    assert find(parse(".spec.empty[0:0]"), DATA) == []


@pytest.mark.parametrize("path", [".spec.a[x]", ".spec.a[0", ".a[?(@.b==1)", '.a["b"]'])
def test_unparsable_paths_raise(path: str) -> None:
    with pytest.raises(JSONPathError):
        parse(path)


@pytest.mark.parametrize(("value", "text"), [
    ("s", "s"), (3, "3"), (True, "true"), (None, "<no value>"),
    ({"b": [1, 2.5], "a": "<&>"}, '{"a":"\\u003c\\u0026\\u003e","b":[1,2.5]}'),
])
def test_format_value_prints_like_go(value: Any, text: str) -> None:
    assert format_value(value) == text


@pytest.mark.parametrize(("value", "text"), [
    (1.5, "1.5"), (123456.0, "123456"), (1e6, "1e+06"), (1234567.0, "1.234567e+06"), (0.0001, "0.0001"),
    (0.00001, "1e-05"), (-2.25, "-2.25"), (0.0, "0"),
])
def test_go_float_formatting(value: float, text: str) -> None:
    assert go_format_float(value) == text
