"""Tests for the structural-schema functions of the emulated apiextensions (schema.py).

Expected messages follow apiextensions-apiserver (pkg/apiserver/validation/validation.go converting
kube-openapi errors, pkg/apiserver/schema/validation.go, pkg/apis/apiextensions/validation/validation.go) and
k8s.io/apimachinery/pkg/util/validation/field/errors.go.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from smk8s.emulators.kube.errors import (
    FIELD_DUPLICATE,
    FIELD_FORBIDDEN,
    FIELD_INVALID,
    FIELD_NOT_SUPPORTED,
    FIELD_REQUIRED,
    FIELD_TOO_LONG,
    FIELD_TOO_MANY,
    FIELD_TYPE_INVALID,
    Cause,
)
from smk8s.emulators.kube.schema import (
    apply_defaults,
    go_float,
    prune,
    resolve_rule_field_path,
    validate,
    validate_crd_schema,
)

ROOT = "spec.versions[0].schema.openAPIV3Schema"


def training_job_schema() -> dict[str, Any]:
    """A realistic CRD version schema: a SageMaker-TrainingJob-like resource."""
    return {
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": {
                "type": "object",
                "required": ["algorithm", "roleArn"],
                "x-kubernetes-validations": [
                    {
                        "rule": "self.maxRuntimeSeconds >= 60",
                        "message": "maxRuntimeSeconds must be at least 60",
                    }
                ],
                "properties": {
                    "trainingJobName": {
                        "type": "string",
                        "maxLength": 63,
                        "pattern": "^[a-zA-Z0-9](-*[a-zA-Z0-9])*$",
                        "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "is immutable"}],
                    },
                    "roleArn": {"type": "string", "minLength": 20},
                    "region": {"type": "string", "default": "us-west-2"},
                    "maxRuntimeSeconds": {
                        "type": "integer",
                        "format": "int64",
                        "default": 86400,
                        "minimum": 1,
                    },
                    "algorithm": {
                        "type": "object",
                        "required": ["trainingImage"],
                        "properties": {
                            "trainingImage": {"type": "string"},
                            "trainingInputMode": {
                                "type": "string",
                                "enum": ["File", "Pipe"],
                                "default": "File",
                            },
                        },
                    },
                    "resourceConfig": {
                        "type": "object",
                        "default": {},
                        "properties": {
                            "instanceCount": {"type": "integer", "minimum": 1, "maximum": 100, "default": 1},
                            "instanceType": {"type": "string", "default": "ml.m5.large"},
                            "volumeSizeInGB": {"x-kubernetes-int-or-string": True, "default": 30},
                        },
                    },
                    "hyperParameters": {
                        "type": "array",
                        "x-kubernetes-list-type": "map",
                        "x-kubernetes-list-map-keys": ["name"],
                        "maxItems": 3,
                        "items": {
                            "type": "object",
                            "required": ["name"],
                            "properties": {
                                "name": {"type": "string"},
                                "value": {"type": "string", "default": ""},
                            },
                        },
                    },
                    "tags": {
                        "type": "object",
                        "additionalProperties": {"type": "string", "maxLength": 10},
                    },
                    "channels": {
                        "type": "array",
                        "x-kubernetes-list-type": "set",
                        "items": {"type": "string"},
                    },
                    "debugConfig": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                    "startedAt": {"type": "string", "format": "date-time"},
                    "weight": {"type": "number", "maximum": 1.5},
                },
            },
            "status": {
                "type": "object",
                "properties": {"trainingJobStatus": {"type": "string"}},
            },
        },
    }


def training_job(**spec: Any) -> dict[str, Any]:
    base_spec: dict[str, Any] = {
        "roleArn": "arn:aws:iam::123456789012:role/x",
        "algorithm": {"trainingImage": "img:1"},
    }
    base_spec.update(spec)
    return {
        "apiVersion": "sagemaker.aws.amazon.com/v1",
        "kind": "TrainingJob",
        "metadata": {"name": "job", "namespace": "default", "labels": {"a": "b"}},
        "spec": base_spec,
    }


# ---------------------------------------------------------------------------------------------------------
# validate
# ---------------------------------------------------------------------------------------------------------


def test_valid_training_job_has_no_errors() -> None:
    obj = training_job(
        trainingJobName="job-1",
        maxRuntimeSeconds=3600,
        resourceConfig={"instanceCount": 2, "volumeSizeInGB": "30Gi"},
        hyperParameters=[{"name": "epochs", "value": "3"}],
        tags={"team": "ml"},
        channels=["train", "test"],
        debugConfig={"anything": {"goes": [1, 2]}},
        startedAt="2024-01-02T03:04:05Z",
        weight=1.0,
    )
    assert validate(obj, training_job_schema()) == []


def test_type_error_matches_kube_openapi_message() -> None:
    causes = validate(training_job(maxRuntimeSeconds="long"), training_job_schema())
    assert causes == [
        Cause(
            FIELD_TYPE_INVALID,
            'Invalid value: "string": spec.maxRuntimeSeconds in body must be of type integer: "string"',
            "spec.maxRuntimeSeconds",
        )
    ]


def test_integral_float_is_accepted_for_integer_and_int_for_number() -> None:
    obj = training_job(maxRuntimeSeconds=3600.0, weight=1)
    assert validate(obj, training_job_schema()) == []


def test_non_integral_float_is_rejected_for_integer() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    assert validate({"n": 1.5}, schema)[0].message.endswith('must be of type integer: "number"')


def test_integer_format_mismatch_reports_the_format_like_kube_openapi() -> None:
    # kube-openapi validate/type.go checks the format before the type for non-string values
    causes = validate(training_job(maxRuntimeSeconds=1.5), training_job_schema())
    assert causes[0].message == (
        'Invalid value: "float64": spec.maxRuntimeSeconds in body must be of type int64: "float64"'
    )


def test_required_fields_at_nested_paths() -> None:
    obj = training_job()
    del obj["spec"]["roleArn"]
    obj["spec"]["algorithm"] = {}
    causes = validate(obj, training_job_schema())
    assert Cause(FIELD_REQUIRED, "Required value", "spec.roleArn") in causes
    assert Cause(FIELD_REQUIRED, "Required value", "spec.algorithm.trainingImage") in causes


def test_enum_reports_supported_values() -> None:
    causes = validate(
        training_job(algorithm={"trainingImage": "i", "trainingInputMode": "Stream"}), training_job_schema()
    )
    assert causes == [
        Cause(
            FIELD_NOT_SUPPORTED,
            'Unsupported value: "Stream": supported values: "File", "Pipe"',
            "spec.algorithm.trainingInputMode",
        )
    ]


def test_non_string_enum_values_are_json() -> None:
    causes = validate({"x": 3}, {"type": "object", "properties": {"x": {"type": "integer", "enum": [1, 2]}}})
    assert causes[0].message == 'Unsupported value: 3: supported values: "1", "2"'


def test_minimum_and_maximum() -> None:
    schema = training_job_schema()
    too_small = validate(training_job(resourceConfig={"instanceCount": 0}), schema)
    too_big = validate(training_job(resourceConfig={"instanceCount": 101}), schema)
    assert too_small == [
        Cause(
            FIELD_INVALID,
            "Invalid value: 0: spec.resourceConfig.instanceCount in body should be greater than "
            "or equal to 1",
            "spec.resourceConfig.instanceCount",
        )
    ]
    assert too_big[0].message == (
        "Invalid value: 101: spec.resourceConfig.instanceCount in body should be less than or equal to 100"
    )


def test_exclusive_bounds_and_float_rendering() -> None:
    schema = {
        "type": "object",
        "properties": {"f": {"type": "number", "maximum": 1e6, "exclusiveMaximum": True}},
    }
    assert validate({"f": 1e6}, schema)[0].message == (
        "Invalid value: 1e+06: f in body should be less than 1e+06"
    )


def test_max_length_is_too_long() -> None:
    causes = validate(training_job(trainingJobName="a" * 64), training_job_schema())
    assert causes == [
        Cause(FIELD_TOO_LONG, "Too long: may not be more than 63 bytes", "spec.trainingJobName")
    ]


def test_min_length_and_pattern() -> None:
    schema = training_job_schema()
    assert validate(training_job(roleArn="short"), schema) == [
        Cause(
            FIELD_INVALID,
            'Invalid value: "short": spec.roleArn in body should be at least 20 chars long',
            "spec.roleArn",
        )
    ]
    assert validate(training_job(trainingJobName="-bad"), schema) == [
        Cause(
            FIELD_INVALID,
            'Invalid value: "-bad": spec.trainingJobName in body should match '
            "'^[a-zA-Z0-9](-*[a-zA-Z0-9])*$'",
            "spec.trainingJobName",
        )
    ]


def test_max_items_is_too_many() -> None:
    params = [{"name": str(i)} for i in range(4)]
    causes = validate(training_job(hyperParameters=params), training_job_schema())
    assert causes == [Cause(FIELD_TOO_MANY, "Too many: 4: must have at most 3 items", "spec.hyperParameters")]


def test_min_items_and_properties_bounds() -> None:
    schema = {
        "type": "object",
        "properties": {
            "l": {"type": "array", "minItems": 2, "items": {"type": "string"}},
            "m": {"type": "object", "maxProperties": 1, "additionalProperties": {"type": "string"}},
        },
    }
    causes = validate({"l": ["a"], "m": {"a": "1", "b": "2"}}, schema)
    assert Cause(FIELD_INVALID, "Invalid value: 1: l in body should have at least 2 items", "l") in causes
    assert Cause(FIELD_TOO_MANY, "Too many: 2: must have at most 1 item", "m") in causes


def test_errors_in_array_items_and_additional_properties_have_indexed_paths() -> None:
    obj = training_job(hyperParameters=[{"name": "a"}, {"name": 5}], tags={"owner": "x" * 11})
    causes = validate(obj, training_job_schema())
    fields = {c.field for c in causes}
    assert "spec.hyperParameters[1].name" in fields
    assert "spec.tags.owner" in fields


def test_int_or_string_accepts_both_and_rejects_others() -> None:
    schema = training_job_schema()
    assert validate(training_job(resourceConfig={"volumeSizeInGB": 30}), schema) == []
    assert validate(training_job(resourceConfig={"volumeSizeInGB": "30"}), schema) == []
    causes = validate(training_job(resourceConfig={"volumeSizeInGB": True}), schema)
    assert causes == [
        Cause(
            FIELD_TYPE_INVALID,
            'Invalid value: "boolean": spec.resourceConfig.volumeSizeInGB in body must be '
            'of type integer,string: "boolean"',
            "spec.resourceConfig.volumeSizeInGB",
        )
    ]


def test_int_or_string_anyof_pattern_adds_composite_error_at_nil_path() -> None:
    schema = {
        "type": "object",
        "properties": {
            "port": {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]}
        },
    }
    causes = validate({"port": 1.5}, schema)
    assert (
        Cause(FIELD_INVALID, 'Invalid value: "": "port" must validate at least one schema (anyOf)', "<nil>")
        in causes
    )
    assert causes[0].reason == FIELD_TYPE_INVALID


def test_one_of_all_of_and_not() -> None:
    schema = {
        "type": "object",
        "properties": {
            "v": {
                "type": "string",
                "oneOf": [{"pattern": "^a"}, {"pattern": "b$"}],
                "allOf": [{"minLength": 2}],
                "not": {"enum": ["forbidden"]},
            }
        },
    }
    assert validate({"v": "ac"}, schema) == []
    messages = [c.message for c in validate({"v": "ab"}, schema)]
    assert any(
        "must validate one and only one schema (oneOf). Found 2 valid alternatives" in m for m in messages
    )
    messages = [c.message for c in validate({"v": "x"}, schema)]
    assert any("must validate all the schemas (allOf). None validated" in m for m in messages)
    messages = [c.message for c in validate({"v": "forbidden"}, schema)]
    assert any('"v" must not validate the schema (not)' in m for m in messages)


def test_formats() -> None:
    schema = training_job_schema()
    causes = validate(training_job(startedAt="yesterday"), schema)
    assert causes == [
        Cause(
            FIELD_TYPE_INVALID,
            'Invalid value: "yesterday": spec.startedAt in body must be of type date-time: "yesterday"',
            "spec.startedAt",
        )
    ]
    fmt_schema = {
        "type": "object",
        "properties": {
            k: {"type": "string", "format": k}
            for k in (
                "byte",
                "uuid",
                "ipv4",
                "cidr",
                "email",
                "duration",
                "quantity",
                "date",
                "k8s-short-name",
            )
        },
    }
    good = {
        "byte": "aGVsbG8=",
        "uuid": "123e4567-e89b-12d3-a456-426614174000",
        "ipv4": "10.0.0.1",
        "cidr": "10.0.0.0/8",
        "email": "a@b.c",
        "duration": "1h30m",
        "quantity": "10Gi",
        "date": "2024-02-29",
        "k8s-short-name": "my-name",
    }
    assert validate(good, fmt_schema) == []
    bad = {
        "byte": "!!",
        "uuid": "nope",
        "ipv4": "300.1.1.1",
        "cidr": "10.0.0.0",
        "email": "no-at",
        "duration": "forever",
        "quantity": "lots",
        "date": "2023-02-29",
        "k8s-short-name": "Upper",
    }
    assert sorted(c.field for c in validate(bad, fmt_schema)) == sorted(bad)


def test_unknown_formats_are_ignored() -> None:
    schema = {"type": "object", "properties": {"x": {"type": "string", "format": "my-own-format"}}}
    assert validate({"x": "anything"}, schema) == []


def test_null_requires_nullable() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "string", "nullable": True}},
    }
    assert validate({"b": None}, schema) == []
    assert validate({"a": None}, schema) == [
        Cause(FIELD_TYPE_INVALID, 'Invalid value: "null": a in body must be of type string: "null"', "a")
    ]


def test_list_type_set_and_map_duplicates() -> None:
    obj = training_job(channels=["a", "b", "a"], hyperParameters=[{"name": "x"}, {"name": "x", "value": "2"}])
    causes = validate(obj, training_job_schema())
    assert Cause(FIELD_DUPLICATE, 'Duplicate value: "a"', "spec.channels[2]") in causes
    assert Cause(FIELD_DUPLICATE, 'Duplicate value: {"name":"x"}', "spec.hyperParameters[1]") in causes


def test_metadata_is_not_validated_except_name_constraints() -> None:
    schema = training_job_schema()
    schema["properties"]["metadata"] = {
        "type": "object",
        "properties": {"name": {"type": "string", "maxLength": 5}},
    }
    obj = training_job()
    obj["metadata"]["labels"] = {"x": 1}  # not this function's business
    assert validate(obj, schema) == []
    obj["metadata"]["name"] = "much-too-long"
    assert validate(obj, schema) == [
        Cause(FIELD_TOO_LONG, "Too long: may not be more than 5 bytes", "metadata.name")
    ]


def test_ratcheting_skips_unchanged_invalid_values_on_update() -> None:
    schema = training_job_schema()
    old = training_job(roleArn="short")
    assert validate(copy.deepcopy(old), schema, old_obj=old) == []
    changed = training_job(roleArn="short", region="eu-west-1", trainingJobName="-bad")
    causes = validate(changed, schema, old_obj=old)
    assert [c.field for c in causes] == ["spec.trainingJobName"]


def test_base_path_prefixes_fields() -> None:
    causes = validate("x", {"type": "integer"}, base_path="p.default")
    assert causes == [
        Cause(
            FIELD_TYPE_INVALID,
            'Invalid value: "string":  in body must be of type integer: "string"',
            "p.default",
        )
    ]


def test_go_float_formatting() -> None:
    assert [go_float(v) for v in (1.5, 1e6, 123456.0, 1234567.0, 0.0001, 1e-05, -2.0)] == [
        "1.5",
        "1e+06",
        "123456",
        "1.234567e+06",
        "0.0001",
        "1e-05",
        "-2",
    ]


# ---------------------------------------------------------------------------------------------------------
# prune
# ---------------------------------------------------------------------------------------------------------


def test_prune_removes_unknown_fields_and_reports_paths() -> None:
    obj = training_job(
        unknownTop=1,
        algorithm={"trainingImage": "i", "extra": True},
        hyperParameters=[{"name": "a", "junk": 1}],
        tags={"anyKey": "kept"},
        debugConfig={"free": {"form": 1}},
    )
    obj["topLevel"] = "x"
    obj["status"] = {"trainingJobStatus": "x", "bogus": 1}
    pruned = prune(obj, training_job_schema())
    assert pruned == [
        "spec.algorithm.extra",
        "spec.hyperParameters[0].junk",
        "spec.unknownTop",
        "status.bogus",
        "topLevel",
    ]
    assert obj["spec"]["tags"] == {"anyKey": "kept"}
    assert obj["spec"]["debugConfig"] == {"free": {"form": 1}}
    assert obj["metadata"]["labels"] == {"a": "b"}
    assert "unknownTop" not in obj["spec"]


def test_prune_keeps_type_and_object_meta_of_embedded_resources() -> None:
    schema = {
        "type": "object",
        "properties": {
            "template": {
                "type": "object",
                "x-kubernetes-embedded-resource": True,
                "properties": {"spec": {"type": "object", "properties": {"a": {"type": "string"}}}},
            }
        },
    }
    obj = {
        "template": {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "x"},
            "spec": {"a": "1", "b": 2},
            "other": 1,
        }
    }
    assert prune(obj, schema) == ["template.other", "template.spec.b"]
    assert obj["template"] == {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "x"},
        "spec": {"a": "1"},
    }


def test_prune_inside_preserve_unknown_still_prunes_specified_properties() -> None:
    schema = {
        "type": "object",
        "properties": {
            "cfg": {
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": True,
                "properties": {"known": {"type": "object", "properties": {"x": {"type": "string"}}}},
            }
        },
    }
    obj = {"cfg": {"free": 1, "known": {"x": "1", "y": 2}}}
    assert prune(obj, schema) == ["cfg.known.y"]
    assert obj == {"cfg": {"free": 1, "known": {"x": "1"}}}


def test_prune_paths_sorted_bytewise() -> None:
    obj = {"b": 1, "B": 1, "a": 1}
    assert prune(obj, {"type": "object", "properties": {}}) == ["B", "a", "b"]


# ---------------------------------------------------------------------------------------------------------
# apply_defaults
# ---------------------------------------------------------------------------------------------------------


def test_defaults_fill_absent_fields_recursively() -> None:
    obj = training_job(hyperParameters=[{"name": "lr"}])
    apply_defaults(obj, training_job_schema())
    spec = obj["spec"]
    assert spec["region"] == "us-west-2"
    assert spec["maxRuntimeSeconds"] == 86400
    assert spec["algorithm"]["trainingInputMode"] == "File"
    assert spec["resourceConfig"] == {"instanceCount": 1, "instanceType": "ml.m5.large", "volumeSizeInGB": 30}
    assert spec["hyperParameters"] == [{"name": "lr", "value": ""}]


def test_defaults_do_not_override_given_values_and_are_copies() -> None:
    schema = training_job_schema()
    obj = training_job(region="eu-west-1")
    apply_defaults(obj, schema)
    assert obj["spec"]["region"] == "eu-west-1"
    obj["spec"]["resourceConfig"]["instanceType"] = "changed"
    assert schema["properties"]["spec"]["properties"]["resourceConfig"]["default"] == {}


def test_defaults_in_additional_properties_and_nulls() -> None:
    schema = {
        "type": "object",
        "properties": {
            "m": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "default": {"d": 1},
                    "properties": {"x": {"type": "integer", "default": 7}},
                },
            },
            "n": {"type": "string"},
            "keep": {"type": "string", "nullable": True},
            "dflt": {"type": "string", "default": "D"},
        },
    }
    obj: dict[str, Any] = {"m": {"a": {}, "b": None}, "n": None, "keep": None, "dflt": None}
    apply_defaults(obj, schema)
    assert obj == {"m": {"a": {"x": 7}, "b": {"d": 1, "x": 7}}, "keep": None, "dflt": "D"}


def test_defaults_inside_array_items_replace_null_items() -> None:
    schema = {
        "type": "object",
        "properties": {
            "l": {
                "type": "array",
                "items": {
                    "type": "object",
                    "default": {"k": "v"},
                    "properties": {"k": {"type": "string"}, "z": {"type": "integer", "default": 0}},
                },
            }
        },
    }
    obj: dict[str, Any] = {"l": [None, {"k": "x"}]}
    apply_defaults(obj, schema)
    assert obj == {"l": [{"k": "v", "z": 0}, {"k": "x", "z": 0}]}


# ---------------------------------------------------------------------------------------------------------
# validate_crd_schema
# ---------------------------------------------------------------------------------------------------------


def test_realistic_schema_is_valid() -> None:
    assert validate_crd_schema(training_job_schema(), ROOT) == []


def test_missing_type_is_not_structural() -> None:
    schema = training_job_schema()
    schema["properties"]["spec"]["properties"]["noType"] = {"description": "x"}
    schema["properties"]["spec"]["properties"]["list"] = {"type": "array", "items": {"properties": {}}}
    causes = validate_crd_schema(schema, ROOT)
    assert (
        Cause(
            FIELD_REQUIRED,
            "Required value: must not be empty for specified object fields",
            f"{ROOT}.properties[spec].properties[noType].type",
        )
        in causes
    )
    assert (
        Cause(
            FIELD_REQUIRED,
            "Required value: must not be empty for specified array items",
            f"{ROOT}.properties[spec].properties[list].items.type",
        )
        in causes
    )


def test_root_rules() -> None:
    causes = validate_crd_schema({"type": "string", "nullable": True}, ROOT)
    assert (
        Cause(FIELD_FORBIDDEN, "Forbidden: nullable cannot be true at the root", f"{ROOT}.nullable") in causes
    )
    assert (
        Cause(FIELD_INVALID, 'Invalid value: "string": must be object at the root', f"{ROOT}.type") in causes
    )
    causes = validate_crd_schema({"properties": {}}, ROOT)
    assert causes == [Cause(FIELD_REQUIRED, "Required value: must not be empty at the root", f"{ROOT}.type")]


def test_array_needs_items() -> None:
    schema = {"type": "object", "properties": {"l": {"type": "array"}}}
    assert validate_crd_schema(schema, ROOT) == [
        Cause(FIELD_REQUIRED, "Required value: must be specified", f"{ROOT}.properties[l].items")
    ]


def test_additional_properties_with_properties_is_forbidden() -> None:
    schema = {
        "type": "object",
        "properties": {
            "m": {
                "type": "object",
                "properties": {"a": {"type": "string"}},
                "additionalProperties": {"type": "string"},
            }
        },
    }
    assert validate_crd_schema(schema, ROOT) == [
        Cause(
            FIELD_FORBIDDEN,
            "Forbidden: additionalProperties and properties are mutual exclusive",
            f"{ROOT}.properties[m].additionalProperties",
        )
    ]


def test_metadata_may_only_restrict_name_and_generate_name() -> None:
    ok = {
        "type": "object",
        "properties": {
            "metadata": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 10}}}
        },
    }
    assert validate_crd_schema(ok, ROOT) == []
    bad = {
        "type": "object",
        "properties": {
            "metadata": {
                "type": "object",
                "properties": {"labels": {"type": "object", "additionalProperties": {"type": "string"}}},
            }
        },
    }
    assert Cause(
        FIELD_FORBIDDEN,
        "Forbidden: must not specify anything other than name and generateName, but "
        "metadata is implicitly specified",
        f"{ROOT}.properties[metadata]",
    ) in (validate_crd_schema(bad, ROOT))


def test_default_in_top_level_metadata_is_forbidden() -> None:
    schema = {
        "type": "object",
        "properties": {
            "metadata": {"type": "object", "properties": {"name": {"type": "string", "default": "x"}}}
        },
    }
    assert Cause(
        FIELD_FORBIDDEN,
        "Forbidden: must not be set in top-level metadata",
        f"{ROOT}.properties[metadata].properties[name].default",
    ) in validate_crd_schema(schema, ROOT)


def test_list_type_map_needs_keys_and_required_or_defaulted_keys() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "array", "x-kubernetes-list-type": "map", "items": {"type": "object"}},
            "b": {
                "type": "array",
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["k"],
                "items": {"type": "object", "properties": {"k": {"type": "string"}}},
            },
            "c": {"type": "string", "x-kubernetes-list-type": "set"},
            "d": {"type": "array", "x-kubernetes-list-map-keys": ["k"], "items": {"type": "string"}},
            "e": {"type": "array", "x-kubernetes-list-type": "bag", "items": {"type": "string"}},
        },
    }
    causes = validate_crd_schema(schema, ROOT)
    assert (
        Cause(
            FIELD_REQUIRED,
            "Required value: must not be empty if x-kubernetes-list-type is map",
            f"{ROOT}.properties[a].x-kubernetes-list-map-keys",
        )
        in causes
    )
    assert (
        Cause(
            FIELD_REQUIRED,
            "Required value: this property is in x-kubernetes-list-map-keys, so it must "
            "have a default or be a required property",
            f"{ROOT}.properties[b].items.properties[k].default",
        )
        in causes
    )
    assert (
        Cause(
            FIELD_INVALID,
            'Invalid value: "string": must be array if x-kubernetes-list-type is specified',
            f"{ROOT}.properties[c].type",
        )
        in causes
    )
    assert (
        Cause(
            FIELD_REQUIRED,
            "Required value: must be map if x-kubernetes-list-map-keys is non-empty",
            f"{ROOT}.properties[d].x-kubernetes-list-type",
        )
        in causes
    )
    assert (
        Cause(
            FIELD_NOT_SUPPORTED,
            'Unsupported value: "bag": supported values: "atomic", "set", "map"',
            f"{ROOT}.properties[e].x-kubernetes-list-type",
        )
        in causes
    )


def test_unsupported_keywords() -> None:
    schema = {
        "type": "object",
        "properties": {
            "u": {"type": "array", "uniqueItems": True, "items": {"type": "string"}},
            "r": {"$ref": "#/x"},
            "t": {"type": "float"},
            "p": {"type": "boolean", "x-kubernetes-preserve-unknown-fields": False},
        },
    }
    causes = validate_crd_schema(schema, ROOT)
    assert (
        Cause(
            FIELD_FORBIDDEN,
            "Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
            f"{ROOT}.properties[u].uniqueItems",
        )
        in causes
    )
    assert Cause(FIELD_FORBIDDEN, "Forbidden: $ref is not supported", f"{ROOT}.properties[r].$ref") in causes
    assert (
        Cause(
            FIELD_NOT_SUPPORTED,
            'Unsupported value: "float": supported values: "array", "boolean", '
            '"integer", "number", "object", "string"',
            f"{ROOT}.properties[t].type",
        )
        in causes
    )
    assert (
        Cause(
            FIELD_INVALID,
            "Invalid value: false: must be true or undefined",
            f"{ROOT}.properties[p].x-kubernetes-preserve-unknown-fields",
        )
        in causes
    )


def test_value_validations_must_not_carry_structure() -> None:
    schema = {
        "type": "object",
        "properties": {"x": {"type": "string", "anyOf": [{"type": "string", "description": "d"}]}},
        "anyOf": [{"properties": {"y": {"pattern": "a"}}}],
    }
    causes = validate_crd_schema(schema, ROOT)
    fields = {c.field: c.message for c in causes}
    assert fields[f"{ROOT}.properties[x].anyOf[0].type"] == "Forbidden: must be empty to be structural"
    assert fields[f"{ROOT}.properties[x].anyOf[0].description"] == "Forbidden: must be empty to be structural"
    assert fields[f"{ROOT}.properties[y]"] == (
        f"Required value: because it is defined in {ROOT}.anyOf[0].properties[y]"
    )
    assert [c.field for c in causes] == sorted(c.field for c in causes)  # sorted like ValidateStructural


def test_int_or_string_pattern_is_structural() -> None:
    schema = {
        "type": "object",
        "properties": {
            "p": {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]}
        },
    }
    assert validate_crd_schema(schema, ROOT) == []


def test_embedded_resource_rules() -> None:
    schema = {
        "type": "object",
        "properties": {"t": {"x-kubernetes-embedded-resource": True, "type": "string"}},
    }
    causes = validate_crd_schema(schema, ROOT)
    assert (
        Cause(
            FIELD_INVALID,
            'Invalid value: "string": must be object if x-kubernetes-embedded-resource is true',
            f"{ROOT}.properties[t].type",
        )
        in causes
    )


def test_defaults_must_validate_and_be_pruned() -> None:
    schema = {
        "type": "object",
        "properties": {
            "n": {"type": "integer", "default": "ten"},
            "o": {"type": "object", "default": {"a": "1", "zz": 2}, "properties": {"a": {"type": "string"}}},
        },
    }
    causes = validate_crd_schema(schema, ROOT)
    assert (
        Cause(
            FIELD_TYPE_INVALID,
            'Invalid value: "string":  in body must be of type integer: "string"',
            f"{ROOT}.properties[n].default",
        )
        in causes
    )
    assert (
        Cause(
            FIELD_INVALID,
            'Invalid value: {"a":"1","zz":2}: must not have unknown fields',
            f"{ROOT}.properties[o].default",
        )
        in causes
    )


def test_validation_rule_static_checks() -> None:
    schema = {
        "type": "object",
        "properties": {
            "s": {
                "type": "object",
                "properties": {"a": {"type": "string"}},
                "x-kubernetes-validations": [
                    {"rule": " "},
                    {"rule": "self.a != ''", "message": "bad\nmessage"},
                    {"rule": "true", "reason": "Nope"},
                    {"rule": "true", "fieldPath": ".missing"},
                    {"rule": "true", "fieldPath": ".a"},
                ],
            }
        },
    }
    causes = validate_crd_schema(schema, ROOT)
    base = f"{ROOT}.properties[s].x-kubernetes-validations"
    assert causes == [
        Cause(FIELD_REQUIRED, "Required value: rule is not specified", f"{base}[0].rule"),
        Cause(
            FIELD_INVALID,
            'Invalid value: "bad\\nmessage": message must not contain line breaks',
            f"{base}[1].message",
        ),
        Cause(
            FIELD_NOT_SUPPORTED,
            'Unsupported value: "Nope": supported values: "FieldValueDuplicate", '
            '"FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired"',
            f"{base}[2].reason",
        ),
        Cause(
            FIELD_INVALID, 'Invalid value: ".missing": fieldPath must be a valid path', f"{base}[3].fieldPath"
        ),
    ]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (".spec.replicas", "spec.replicas"),
        (".spec.tags['a.b']", "spec.tags[a.b]"),
        ("['spec'].replicas", "spec.replicas"),
        (".spec.nope", None),
        ("spec", None),
        (".spec.tags.x.y", None),
    ],
)
def test_resolve_rule_field_path(path: str, expected: str | None) -> None:
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "replicas": {"type": "integer"},
                    "tags": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            }
        },
    }
    resolved = resolve_rule_field_path(path, schema)
    assert (resolved[0] if resolved else None) == expected
