"""Duplicate keys of request bodies and how fieldValidation words them (smk8s.emulators.kube.decoding).

Wording and order: kubernetes/kubernetes test/integration/apiserver/field_validation_test.go (sigs.k8s.io/json's
``duplicate field "<path>"``, go-yaml's ``line N: key "k" already set in map``).
"""

from __future__ import annotations

import json

import pytest
import yaml

from smk8s.emulators.kube.decoding import (
    NONE,
    Duplicates,
    json_patch_duplicates,
    loads_json,
    loads_yaml,
    sort_keys,
    strict_problems,
)

# field_validation_test.go's invalidBodyJSON, trimmed: duplicates at three depths, one also unknown.
DEPLOYMENT = b"""{
  "apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"name": "d", "name": "d", "unknownMeta": "x"},
  "spec": {
    "unknown1": "v", "unknownDupe": "a", "unknownDupe": "b", "paused": true, "paused": false,
    "template": {"spec": {"containers": [
      {"name": "n", "unknownNested": "v", "imagePullPolicy": "Always", "imagePullPolicy": "Never"}
    ]}}
  }
}"""
UNKNOWN = [
    "metadata.unknownMeta",
    "spec.unknown1",
    "spec.unknownDupe",
    "spec.template.spec.containers[0].unknownNested",
]


def test_a_body_without_duplicates_decodes_as_json_loads_and_reports_none() -> None:
    raw = json.dumps({"a": [1, {"b": None}], "c": "é"}).encode()
    value, duplicates = loads_json(raw)
    assert value == json.loads(raw) and duplicates is NONE and not duplicates


def test_duplicates_are_found_with_their_paths_and_the_last_value_wins() -> None:
    value, duplicates = loads_json(DEPLOYMENT)
    assert duplicates.paths == (
        "metadata.name",
        "spec.unknownDupe",
        "spec.paused",
        "spec.template.spec.containers[0].imagePullPolicy",
    )
    assert value["spec"]["paused"] is False and value["spec"]["unknownDupe"] == "b"
    assert value["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "Never"
    assert list(value["spec"]) == ["unknown1", "unknownDupe", "paused", "template"]  # first position kept


def test_malformed_json_still_raises_value_error() -> None:
    with pytest.raises(ValueError):
        loads_json(b'{"a": 1, "a": ')


def test_typed_kinds_interleave_in_document_order_and_report_unknown_duplicates_as_unknown() -> None:
    _, duplicates = loads_json(DEPLOYMENT)
    warnings, strict = strict_problems(duplicates, UNKNOWN, typed=True)
    assert strict == (
        'strict decoding error: duplicate field "metadata.name", unknown field "metadata.unknownMeta", '
        'unknown field "spec.unknown1", unknown field "spec.unknownDupe", duplicate field "spec.paused", '
        'unknown field "spec.template.spec.containers[0].unknownNested", '
        'duplicate field "spec.template.spec.containers[0].imagePullPolicy"'
    )
    assert warnings == strict.removeprefix("strict decoding error: ").split(", ")


def test_custom_resources_and_patches_list_duplicates_first() -> None:
    _, duplicates = loads_json(DEPLOYMENT)
    warnings, _ = strict_problems(duplicates, ["spec.unknownDupe"], typed=False)
    assert warnings == [
        'duplicate field "metadata.name"',
        'duplicate field "spec.unknownDupe"',
        'duplicate field "spec.paused"',
        'duplicate field "spec.template.spec.containers[0].imagePullPolicy"',
        'unknown field "spec.unknownDupe"',
    ]


def test_unknown_fields_alone_keep_their_old_wording() -> None:
    assert strict_problems(NONE, ["dataa"], typed=True) == (
        ['unknown field "dataa"'],
        'strict decoding error: unknown field "dataa"',
    )


def test_json_patch_reports_only_the_operations_own_duplicates() -> None:
    _, found = loads_json(b'[{"op": "add", "path": "/a", "value": {"x": 1, "x": 2}}, {"path": "/b", "path": "/c"}]')
    duplicates = json_patch_duplicates(found)
    assert duplicates == Duplicates(paths=("[1].path",), json_patch=True)
    assert strict_problems(duplicates, [], typed=True)[0] == ['json patch duplicate field "[1].path"']
    assert json_patch_duplicates(loads_json(b'[{"value": {"x": 1, "x": 2}}]')[1]) is NONE


def test_yaml_duplicates_get_go_yamls_line_messages() -> None:
    value, duplicates = loads_yaml("metadata:\n  name: a\n  name: b\nspec:\n  x: 1\n  x: 2\n")
    assert value == {"metadata": {"name": "b"}, "spec": {"x": 2}}
    assert duplicates.yaml_lines == ('line 3: key "name" already set in map', 'line 6: key "x" already set in map')
    warnings, strict = strict_problems(duplicates, ["spec.y"], typed=True)
    assert warnings == [*duplicates.yaml_lines, 'unknown field "spec.y"']
    assert strict == (
        "strict decoding error: yaml: unmarshal errors:\n"
        '  line 3: key "name" already set in map\n'
        '  line 6: key "x" already set in map, unknown field "spec.y"'
    )
    with pytest.raises(yaml.YAMLError):
        loads_yaml("a: [")
    assert loads_yaml("a: 1\n") == ({"a": 1}, NONE)


def test_sort_keys_orders_every_object() -> None:
    assert list(sort_keys({"b": {"z": 1, "a": [{"d": 1, "c": 2}]}, "a": 0})) == ["a", "b"]
    assert list(sort_keys({"b": {"z": 1, "a": [{"d": 1, "c": 2}]}})["b"]["a"][0]) == ["c", "d"]
