"""Models read the original operator's manifests unchanged and give CRD-ready JSON schemas."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from smk8s.api.v1 import BatchTransformJob, HostingAutoscalingPolicy, HostingDeployment, TrainingJob
from smk8s.api.v1.registry import INFO, KINDS

ORIGINAL = Path(__file__).resolve().parents[3] / "support" / "manifests" / "original"


def manifests() -> list[Path]:
    return sorted(ORIGINAL.glob("*.yaml"))


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


def test_there_is_an_original_manifest_of_every_kind() -> None:
    assert {load(p)["kind"] for p in manifests()} == set(KINDS)


@pytest.mark.parametrize("path", manifests(), ids=lambda p: p.stem)
def test_original_manifest_round_trips_unchanged(path: Path) -> None:
    manifest = load(path)
    obj = KINDS[manifest["kind"]].model_validate(manifest)
    dumped = obj.model_dump(by_alias=True, exclude_none=True, exclude_unset=True)
    assert dumped == manifest


def test_legacy_keys_are_accepted_and_kept() -> None:
    job = BatchTransformJob.model_validate(load(ORIGINAL / "xgboost-mnist-batchtransform.yaml"))
    processing = job.spec.data_processing
    assert processing is not None
    assert (processing.join_source_legacy, processing.output_filter_legacy) == ("Input", "$[0,-1]")
    training = TrainingJob.model_validate(load(ORIGINAL / "xgboost-mnist-trainingjob-debugger.yaml"))
    assert training.spec.debug_hook_config is not None
    assert training.spec.debug_hook_config.rule_parameters_legacy is not None


def test_unknown_fields_and_floats_for_integers_are_rejected() -> None:
    manifest = load(ORIGINAL / "xgboost-mnist-trainingjob.yaml")
    manifest["spec"]["resourceConfig"]["volumeSizInGB"] = 5
    with pytest.raises(ValidationError, match="volumeSizInGB"):
        TrainingJob.model_validate(manifest)
    hd = load(ORIGINAL / "xgboost-mnist-hostingdeployment.yaml")
    hd["spec"]["productionVariants"][0]["initialVariantWeight"] = 0.5
    with pytest.raises(ValidationError, match="initialVariantWeight"):
        HostingDeployment.model_validate(hd)


def test_region_is_required_and_hap_defaults_are_the_originals() -> None:
    manifest = load(ORIGINAL / "hap-predefined-metric.yaml")
    del manifest["spec"]["policyName"], manifest["spec"]["policyType"]
    spec = HostingAutoscalingPolicy.model_validate(manifest).spec
    assert (spec.policy_name, spec.policy_type, spec.service_namespace, spec.scalable_dimension) == (
        "SageMakerEndpointInvocationScalingPolicy", "TargetTrackingScaling", "sagemaker",
        "sagemaker:variant:DesiredInstanceCount")
    del manifest["spec"]["region"]
    with pytest.raises(ValidationError, match="region"):
        HostingAutoscalingPolicy.model_validate(manifest)


# ------------------------------------------------------------------------------------------------ JSON schemas


def walk(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, f"{path}[{i}]")


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
    return node


def prop(schema: dict[str, Any], *path: str) -> dict[str, Any]:
    node = schema
    for name in path:
        node = resolve(schema, node)
        node = node["items"] if name == "[]" else node["properties"][name]
    return node


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_schemas_are_structural_friendly(kind: str) -> None:
    schema = KINDS[kind].model_json_schema(by_alias=True)
    for path, node in walk(schema):
        assert not {"anyOf", "oneOf", "allOf", "title"} & set(node) or path.endswith("/properties"), path
        assert node.get("type") != "null", path
        assert node.get("additionalProperties") is not False, path
        assert not ("default" in node and node["default"] is None), path


def test_schema_carries_descriptions_and_constraints() -> None:
    schema = TrainingJob.model_json_schema(by_alias=True)
    resource = prop(schema, "spec", "resourceConfig")
    assert "ML compute instances" in (resource.get("description") or resolve(schema, resource)["description"])
    assert "ML compute instance type" in prop(schema, "spec", "resourceConfig", "instanceType")["description"]
    assert prop(schema, "spec", "resourceConfig", "volumeSizeInGB")["type"] == "integer"
    assert prop(schema, "spec", "algorithmSpecification", "trainingInputMode")["enum"] == ["Pipe", "File", "FastFile"]
    role = prop(schema, "spec", "roleArn")
    assert (role["minLength"], role["maxLength"], role["pattern"]) == (
        20, 2048, "arn:aws[a-z\\-]*:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+")
    assert prop(schema, "spec", "hyperParameters")["maxItems"] == 100
    assert prop(schema, "spec", "hyperParameters", "[]", "name")["maxLength"] == 256
    assert prop(schema, "spec", "region")["minLength"] == 1
    assert "ruleParameters" in resolve(schema, prop(schema, "spec", "debugHookConfig"))["properties"]
    assert "required" in resolve(schema, prop(schema, "spec"))


def test_floats_the_original_made_integers_stay_integers() -> None:
    hd = HostingDeployment.model_json_schema(by_alias=True)
    assert prop(hd, "spec", "productionVariants", "[]", "initialVariantWeight")["type"] == "integer"
    hap = HostingAutoscalingPolicy.model_json_schema(by_alias=True)
    assert prop(hap, "spec", "targetTrackingScalingPolicyConfiguration", "targetValue")["type"] == "integer"
    batch = BatchTransformJob.model_json_schema(by_alias=True)
    assert set(resolve(batch, prop(batch, "spec", "dataProcessing"))["properties"]) == {
        "inputFilter", "outputFilter", "joinSource", "OutputFilter", "JoinSource"}


def test_conditions_are_a_list_map_keyed_by_type() -> None:
    schema = TrainingJob.model_json_schema(by_alias=True)
    conditions = prop(schema, "status", "conditions")
    assert (conditions["x-kubernetes-list-type"], conditions["x-kubernetes-list-map-keys"]) == ("map", ["type"])
    assert set(resolve(schema, conditions["items"])["required"]) == {
        "type", "status", "lastTransitionTime", "reason", "message"}


def test_registry_columns_point_at_status_fields() -> None:
    for kind, info in INFO.items():
        schema = info.model.model_json_schema(by_alias=True)
        for column in info.printer_columns:
            parts = column.json_path.split("[")[0].strip(".").split(".")
            if parts[0] != "status":
                continue
            assert prop(schema, *parts), (kind, column)
        assert info.immutable[0].path == "region"
        assert info.categories == ("sagemaker",)
    assert INFO["TrainingJob"].printer_columns[0].json_path == ".status.trainingJobStatus"
    assert INFO["HostingAutoscalingPolicy"].short_names == ("hap",)
