"""The generated CRDs: checked in as generated, structural, within the annotation budget; the pure conversions."""

from __future__ import annotations

import copy
import math
import re
from pathlib import Path
from typing import Any, get_args

import botocore.session
import pytest
import re2  # type: ignore[import-untyped]
import yaml
from pydantic import BaseModel

from smk8s.api.v1 import cel_cost, crds, registry
from smk8s.api.v1.registry import INFO, Immutable, KindInfo
from smk8s.emulators.kube import cel, schema

ROOT = Path(__file__).resolve().parents[4]
CRD_DIR = ROOT / "config" / "crd"
SCHEMA_PATH = "spec.versions[0].schema.openAPIV3Schema"


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    return crds.render(INFO.values())


@pytest.fixture(scope="module")
def documents(rendered: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {name: yaml.safe_load(text) for name, text in rendered.items() if name.startswith("bases/")}


def _schema(doc: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = doc["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return out


# ------------------------------------------------------------------------------------------ the checked-in files


def test_regeneration_produces_the_checked_in_files(rendered: dict[str, str]) -> None:
    on_disk = {str(p.relative_to(CRD_DIR)): p.read_text() for p in CRD_DIR.rglob("*.yaml")}
    assert sorted(on_disk) == sorted(rendered), "run: python hack/generate_crds.py"
    for name, text in rendered.items():
        assert on_disk[name] == text, f"config/crd/{name} is stale; run: python hack/generate_crds.py"


def test_one_crd_per_kind_listed_by_the_kustomization(rendered: dict[str, str]) -> None:
    kustomization = yaml.safe_load(rendered["kustomization.yaml"])
    expected = sorted(f"bases/sagemaker.aws.amazon.com_{i.plural}.yaml" for i in INFO.values())
    assert kustomization["resources"] == expected
    assert len(INFO) == 8


def test_every_crd_is_structural_and_its_rules_compile(documents: dict[str, dict[str, Any]]) -> None:
    for name, doc in documents.items():
        s = _schema(doc)
        assert schema.validate_crd_schema(s, SCHEMA_PATH) == [], name
        assert cel.compile_rules(s, SCHEMA_PATH) == [], name


def test_every_crd_fits_the_last_applied_annotation(documents: dict[str, dict[str, Any]]) -> None:
    for name, doc in documents.items():
        size = crds.last_applied_size(doc)
        assert size <= crds.SIZE_BUDGET < crds.ANNOTATION_SIZE_LIMIT, (name, size)


def test_crd_conventions(documents: dict[str, dict[str, Any]]) -> None:
    for info in INFO.values():
        doc = documents[crds.crd_file_name(info)]
        names = doc["spec"]["names"]
        assert names["categories"] == ["sagemaker"]
        assert doc["spec"]["scope"] == "Namespaced"
        (version,) = doc["spec"]["versions"]
        assert version["subresources"] == {"status": {}}
        assert version["name"] == "v1" and version["served"] and version["storage"]
        root = _schema(doc)
        assert root["properties"]["metadata"] == {"type": "object"}
        assert root["required"] == ["spec"]
        assert "region" in root["properties"]["spec"]["required"]
        columns = [c["jsonPath"] for c in version["additionalPrinterColumns"]]
        assert '.status.conditions[?(@.type=="Ready")].status' in columns


# Short names and resource names of a kube-apiserver 1.30 with no CRDs (kubectl api-resources): a CRD short name
# equal to one of these would shadow or be shadowed by the built-in.
_BUILTIN_NAMES_TEXT = """
cs cm ep ev limits ns no pvc pv po rc quota sa svc crd crds ds deploy rs sts hpa cj csr ing netpol pdb pc sc vac
ingclass csidrivers csinodes jobs job pods pod nodes node events event secrets secret services service configmaps
endpoints endpointslices leases roles rolebindings clusterroles clusterrolebindings networkpolicies runtimeclasses
priorityclasses storageclasses volumeattachments deployments replicasets statefulsets daemonsets cronjobs
namespaces serviceaccounts
"""
BUILTIN_NAMES = frozenset(_BUILTIN_NAMES_TEXT.split())


def test_short_names_collide_with_no_builtin_and_with_each_other() -> None:
    seen: set[str] = set()
    for info in INFO.values():
        for name in (*info.short_names, info.singular, info.plural):
            assert name not in BUILTIN_NAMES, name
            assert name not in seen, name
            seen.add(name)
    assert INFO["HostingAutoscalingPolicy"].short_names[0] == "hap"  # the original's


def _nodes(s: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    crds.walk(s, lambda path, node: found.append((path, node)))
    return found


def test_schemas_are_typed_with_int64_integers_and_portable_patterns(documents: dict[str, dict[str, Any]]) -> None:
    patterns = 0
    for name, doc in documents.items():
        for path, node in _nodes(_schema(doc)):
            assert "type" in node or node.get("x-kubernetes-preserve-unknown-fields"), (name, path)
            assert not {"anyOf", "oneOf", "allOf", "$ref", "$defs", "title"} & set(node), (name, path)
            if node.get("type") == "integer":
                assert node["format"] == "int64", (name, path)
            if "pattern" in node:
                patterns += 1
                re.compile(node["pattern"])
                re2.compile(node["pattern"])  # RE2: what kube-apiserver (Go regexp) accepts
    assert patterns > 50


def test_the_original_operators_integers_stay_integers(documents: dict[str, dict[str, Any]]) -> None:
    hd = _schema(documents["bases/sagemaker.aws.amazon.com_hostingdeployments.yaml"])["properties"]["spec"]
    weight = hd["properties"]["productionVariants"]["items"]["properties"]["initialVariantWeight"]
    assert weight["type"] == "integer"
    hap = _schema(documents["bases/sagemaker.aws.amazon.com_hostingautoscalingpolicies.yaml"])["properties"]["spec"]
    target = hap["properties"]["targetTrackingScalingPolicyConfiguration"]["properties"]["targetValue"]
    assert target["type"] == "integer"


def test_api_constraints_reach_the_crd(documents: dict[str, dict[str, Any]]) -> None:
    spec = _schema(documents["bases/sagemaker.aws.amazon.com_trainingjobs.yaml"])["properties"]["spec"]
    props = spec["properties"]
    assert props["algorithmSpecification"]["properties"]["trainingInputMode"]["enum"] == ["Pipe", "File", "FastFile"]
    assert props["trainingJobName"]["maxLength"] == 63
    assert props["resourceConfig"]["properties"]["instanceCount"]["minimum"] == 0
    assert props["roleArn"]["pattern"].startswith("^(?:arn:aws")
    assert "kubectl" not in props["resourceConfig"]["description"]
    rules = {r["fieldPath"]: r for r in spec["x-kubernetes-validations"]}
    assert rules[".resourceConfig.instanceType"]["message"].endswith("create a new TrainingJob instead")


# ------------------------------------------------------------------------------------------ JSON schema -> CRD


def test_structural_inlines_refs_and_collapses_optional_unions() -> None:
    source = {
        "type": "object",
        "title": "Root",
        "additionalProperties": False,
        "properties": {
            "inner": {"$ref": "#/$defs/Inner", "description": "The field's own words."},
            "maybe": {"anyOf": [{"type": "integer", "exclusiveMinimum": 0}, {"type": "null"}], "default": None},
            "ratio": {"type": "number", "exclusiveMaximum": 1.5},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "anything": {},
            "mode": {"enum": ["A", "B"], "default": "A"},
            "kind": {"const": "K", "type": "string"},
            "ids": {"type": "array", "items": {"type": "string"}, "uniqueItems": True, "maxItems": 3},
            "when": {"type": "string", "format": "date-time"},
            "url": {"type": "string", "format": "uri"},
        },
        "required": ["inner", "missing"],
        "$defs": {"Inner": {"type": "object", "description": "The shape.", "properties": {"n": {"type": "integer"}}}},
    }
    out = crds.structural(source)
    props = out["properties"]
    assert props["inner"] == {
        "description": "The field's own words.",
        "type": "object",
        "properties": {"n": {"type": "integer", "format": "int64"}},
    }
    assert props["maybe"] == {"type": "integer", "format": "int64", "minimum": 1}
    assert props["ratio"] == {"type": "number", "maximum": 1.5, "exclusiveMaximum": True}
    assert props["labels"] == {"type": "object", "additionalProperties": {"type": "string"}}
    assert props["anything"] == {"x-kubernetes-preserve-unknown-fields": True}
    assert props["mode"] == {"type": "string", "enum": ["A", "B"], "default": "A"}
    assert props["kind"] == {"type": "string", "enum": ["K"]}
    assert props["ids"] == {"type": "array", "items": {"type": "string"}, "maxItems": 3}
    assert props["when"] == {"type": "string", "format": "date-time"}
    assert props["url"] == {"type": "string"}
    assert out["required"] == ["inner"]
    assert "title" not in out and "additionalProperties" not in out


def test_structural_cuts_recursion_with_an_open_object() -> None:
    source = {
        "$ref": "#/$defs/Node",
        "$defs": {"Node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/Node"}}}},
    }
    out = crds.structural(source)
    assert out["properties"]["child"] == {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


@pytest.mark.parametrize(
    "bad",
    [
        {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        {"type": ["string", "integer"]},
        {"$ref": "#/$defs/Missing"},
        {"allOf": [{"type": "string"}, {"minLength": 1}]},
    ],
)
def test_structural_refuses_what_a_crd_cannot_express(bad: dict[str, Any]) -> None:
    with pytest.raises(crds.SchemaError):
        crds.structural({"type": "object", "properties": {"x": bad}})


# ------------------------------------------------------------------------------------------ patterns

PATTERNS = [
    # SageMaker pattern, CRD pattern (None: dropped), a value SageMaker accepts, one it rejects
    (r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", r"^(?:[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62})$", "my-job-1", "-job"),
    (r"arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+",
     r"^(?:arn:aws[a-z\-]*:iam::[0-9]{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+)$",
     "arn:aws:iam::123456789012:role/x", "arn:aws:iam::12345678901\u0663:role/x"),
    (r"(https|s3)://([^/]+)/?(.*)", r"^(?:(https|s3)://([^/]+)/?(.*))$", "s3://b/k", "gs://b/k"),
    (r"\p{Print}+", r"^(?:[ -~]+)$", "Policy 1", "tab\there"),
    (r"arn:[\p{Alnum}\-]+:lambda", r"^(?:arn:[0-9A-Za-z\-]+:lambda)$", "arn:aws-cn:lambda", "arn:aws_x:lambda"),
    (r"[\w-_]+", r"^(?:[0-9A-Za-z_\-_]+)$", "a-b_c", "a.b"),
    (r"[a-z0-9-\.]+", r"^(?:[a-z0-9\-\.]+)$", "a-b.c", "a_b"),
    (r"[\S]+", r"^(?:[^\t\n\x0b\f\r ]+)$", "abc", "a b"),
    (r"[\s\S]+", r"^(?:[\s\S]+)$", "a\nb", ""),
    (r"\d+K", r"^(?:[0-9]+K)$", "128K", "\u0661K"),  # \d is ASCII in Java and RE2
    # lookarounds removed: a superset of SageMaker's language
    (r"(?!\s*$).+", r"^(?:.+)$", "x", ""),
    (r"/(?!.*\.\.)[a-zA-Z0-9/_.\-]+", r"^(?:/[a-zA-Z0-9/_.\-]+)$", "/metrics", "metrics"),
    (r"([a-z]){0,62}(?<!-)", r"^(?:([a-z]){0,62})$", "abc", "ABC"),
    # repeat counts beyond RE2's 1000 opened
    (r"[a-zA-Z_][a-zA-Z0-9_]{0,1023}", r"^(?:[a-zA-Z_][a-zA-Z0-9_]*)$", "KEY_1", "1KEY"),
    (r"model-package/[\S]{1,2048}", r"^(?:model-package/[^\t\n\x0b\f\r ]+)$", "model-package/p", "model-package/"),
    (r"[a-z]{2000}", None, None, None),
    # already anchored
    (r"^(https|http)://.*$", r"^(https|http)://.*$", "https://x", "ftp://x"),
    (r"^a$|^b$", r"^(?:^a$|^b$)$", "b", "c"),
    # \u escapes
    (r"[\u0041-\u005A]+", r"^(?:[A-Z]+)$", "AB", "ab"),
    (r"x\u00e9", r"^(?:xé)$", "xé", "xe"),
    # nothing to check, or nothing both engines can check
    (r".*", None, None, None),
    (r"[\S\s]*", None, None, None),
    (r"([\p{L}\p{Z}\p{N}_.:/=+\-@]*)", None, None, None),
    (r"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\r\n\t]*", None, None, None),
    (r"(a)\1", None, None, None),
    (r"[a-z&&[^e]]", None, None, None),
    (r"\bword\b", None, None, None),
]


@pytest.mark.parametrize(("java", "expected", "good", "bad"), PATTERNS)
def test_crd_pattern(java: str, expected: str | None, good: str | None, bad: str | None) -> None:
    translated = crds.crd_pattern(java)
    assert translated == expected
    if translated is None:
        return
    assert good is not None and bad is not None
    for engine in (re, re2):
        assert engine.search(translated, good), (engine, good)
        assert not engine.search(translated, bad), (engine, bad)


def test_crd_pattern_keeps_lazy_and_drops_possessive_quantifiers() -> None:
    assert crds.crd_pattern("a+?b") == "^(?:a+?b)$"
    assert crds.crd_pattern("a++b") == "^(?:a+b)$"
    assert crds.crd_pattern("(?<name>a)b$?") == "^(?:(?:a)b$)$"


# ------------------------------------------------------------------------------------------ descriptions


def test_summarize_keeps_whole_sentences_within_the_limit() -> None:
    text = "The first sentence.\n  The second ``one`` is longer & has <more> words. Third."
    assert crds.plain_text(text) == "The first sentence. The second one is longer & has <more> words. Third."
    assert crds.summarize(text, 200) == "The first sentence. The second one is longer & has <more> words. Third."
    assert crds.summarize(text, 40) == "The first sentence."
    assert crds.summarize(text, 12) == "The first..."
    assert crds.summarize(text, 0) == ""


def test_trim_descriptions_keeps_a_summary_near_the_top() -> None:
    long = "A sentence about the field that goes on. " * 10
    s = {
        "description": long,
        "type": "object",
        "properties": {"a": {"description": long, "type": "object", "properties": {"b": {"description": long}}}},
    }
    out = crds.trim_descriptions(s, 0, keep_depth=2)
    assert len(out["description"]) <= 160 and len(out["properties"]["a"]["description"]) <= 160
    assert "description" not in out["properties"]["a"]["properties"]["b"]
    assert crds.trim_descriptions(s, 50)["properties"]["a"]["properties"]["b"]["description"] == (
        "A sentence about the field that goes on."
    )


def test_fitted_crd_shortens_descriptions_until_the_crd_fits() -> None:
    info = INFO["TrainingJob"]
    full = crds.fitted_crd(info)
    full_size = crds.last_applied_size(full)
    tight = crds.fitted_crd(info, budget=full_size - 2000)
    assert crds.last_applied_size(tight) <= full_size - 2000
    spec = _schema(tight)["properties"]["spec"]
    assert spec["properties"]["resourceConfig"]["description"]  # top-level fields keep a summary
    with pytest.raises(crds.SchemaError):
        crds.fitted_crd(info, budget=10_000)


def test_last_applied_size_is_what_kubectl_stores() -> None:
    doc = {"metadata": {"name": "x", "annotations": {"a": "<b>"}}, "spec": {"é": 1, "b": [1, 2]}}
    # Go's encoding/json: keys sorted, compact, HTML characters escaped, UTF-8; kubectl appends a newline
    value = '{"metadata":{"annotations":{"a":"\\u003cb\\u003e"},"name":"x"},"spec":{"b":[1,2],"é":1}}\n'
    expected = len(crds.LAST_APPLIED_ANNOTATION) + len(value.encode()) + len("a") + len("<b>")
    assert crds.last_applied_size(doc) == expected
    # without annotations kubectl still writes an empty map into its copy
    bare = {"metadata": {"name": "x"}}
    value = '{"metadata":{"annotations":{},"name":"x"}}\n'
    assert crds.last_applied_size(bare) == len(crds.LAST_APPLIED_ANNOTATION) + len(value)


# ------------------------------------------------------------------------------------------ immutability


def _spec_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "region": {"type": "string"},
            "jobName": {"type": "string"},
            "trainingJobName": {"type": "string"},
            "config": {"type": "object", "properties": {"size": {"type": "integer"}, "other": {"type": "string"}}},
        },
    }


def _check(spec_schema: dict[str, Any], new: dict[str, Any], old: dict[str, Any]) -> list[str]:
    root = {"type": "object", "properties": {"spec": spec_schema}}
    return [f"{c.field}: {c.message}" for c in cel.check_rules({"spec": new}, {"spec": old}, root)]


def test_immutability_rules_reject_changes_additions_and_removals() -> None:
    s = crds.add_immutability_rules(
        _spec_schema(),
        [
            Immutable("config.size", "size is fixed: create a new one"),
            Immutable("jobName", "jobName is fixed"),
        ],
    )
    base = {"region": "r", "jobName": "a", "config": {"size": 1, "other": "x"}}
    assert _check(s, {**base, "config": {"size": 1, "other": "y"}}, base) == []
    assert _check(s, {**base, "config": {"size": 2}}, base) == [
        "spec.config.size: Invalid value: size is fixed: create a new one"
    ]
    assert _check(s, {"region": "r", "jobName": "a"}, base) == [
        "spec.config.size: Invalid value: size is fixed: create a new one"
    ]
    assert _check(s, {**base, "jobName": "b"}, base) == ['spec.jobName: Invalid value: jobName is fixed']
    assert _check(s, {**base, "jobName": "a"}, {"region": "r", "config": base["config"]}) == [
        'spec.jobName: Invalid value: jobName is fixed'
    ]


def test_generated_names_may_be_filled_in_once() -> None:
    s = crds.add_immutability_rules(_spec_schema(), [Immutable("trainingJobName", "fixed")])
    assert _check(s, {"trainingJobName": "generated"}, {}) == []
    assert _check(s, {"trainingJobName": "other"}, {"trainingJobName": "generated"}) != []
    assert _check(s, {}, {"trainingJobName": "generated"}) != []


def test_immutable_paths_must_exist_and_not_cross_lists() -> None:
    with pytest.raises(crds.SchemaError):
        crds.add_immutability_rules(_spec_schema(), [Immutable("config.missing", "x")])
    listed = {"type": "object", "properties": {"xs": {"type": "array", "items": {"type": "object"}}}}
    with pytest.raises(crds.SchemaError):
        crds.add_immutability_rules(listed, [Immutable("xs.name", "x")])


def test_every_registry_immutable_field_has_a_rule(documents: dict[str, dict[str, Any]]) -> None:
    for info in INFO.values():
        spec = _schema(documents[crds.crd_file_name(info)])["properties"]["spec"]
        paths = [r["fieldPath"] for r in spec.get("x-kubernetes-validations", [])]
        assert paths == [f".{i.path}" for i in info.immutable], info.kind
        assert any(i.path == "region" for i in info.immutable)


def test_yaml_is_deterministic_with_a_header() -> None:
    info: KindInfo = INFO["Model"]
    doc = crds.fitted_crd(info)
    text = crds.to_yaml(doc, crds.HEADER)
    assert text.startswith("# Generated by hack/generate_crds.py")
    assert yaml.safe_load(text) == doc
    assert crds.to_yaml(crds.fitted_crd(info), crds.HEADER) == text


# ------------------------------------------------------------------------------------------ what jobs may change

# Every spec field of each job, as the CRD's immutability rules see it (resourceConfig member by member). Written out
# so that a botocore bump adding a member fails here: decide whether the controller updates it (then list it in the
# registry's JobMutability and make the controller update it) or leave it immutable, and update this table.
JOB_SPEC_FIELDS = {
    "TrainingJob": {
        "immutable": {
            "region", "sageMakerEndpoint", "trainingJobName", "hyperParameters", "algorithmSpecification", "roleArn",
            "inputDataConfig", "outputDataConfig", "resourceConfig.instanceType", "resourceConfig.instanceCount",
            "resourceConfig.volumeSizeInGB", "resourceConfig.volumeKmsKeyId", "resourceConfig.instanceGroups",
            "resourceConfig.trainingPlanArn", "resourceConfig.instancePlacementConfig",
            "resourceConfig.instancePreferences", "resourceConfig.selectedInstanceType",
            "resourceConfig.selectedInstanceCount", "vpcConfig", "stoppingCondition", "enableNetworkIsolation",
            "enableInterContainerTrafficEncryption", "enableManagedSpotTraining", "checkpointConfig",
            "debugHookConfig", "debugRuleConfigurations", "tensorBoardOutputConfig", "experimentConfig",
            "environment", "retryStrategy", "infraCheckConfig", "sessionChainingConfig", "serverlessJobConfig",
            "mlflowConfig", "modelPackageConfig",
        },
        "updatable": {
            "tags", "profilerConfig", "profilerRuleConfigurations", "remoteDebugConfig",
            "resourceConfig.keepAlivePeriodInSeconds",
        },
    },
    "HyperparameterTuningJob": {
        "immutable": {
            "region", "sageMakerEndpoint", "hyperParameterTuningJobName", "hyperParameterTuningJobConfig",
            "trainingJobDefinition", "trainingJobDefinitions", "warmStartConfig", "autotune",
        },
        "updatable": {"tags"},
    },
    "ProcessingJob": {
        "immutable": {
            "region", "sageMakerEndpoint", "processingInputs", "processingOutputConfig", "processingResources",
            "stoppingCondition", "appSpecification", "environment", "networkConfig", "roleArn", "experimentConfig",
        },
        "updatable": {"tags"},
    },
    "BatchTransformJob": {
        "immutable": {
            "region", "sageMakerEndpoint", "transformJobName", "modelName", "maxConcurrentTransforms",
            "modelClientConfig", "maxPayloadInMB", "batchStrategy", "environment", "transformInput",
            "transformOutput", "dataCaptureConfig", "transformResources", "dataProcessing", "experimentConfig",
        },
        "updatable": {"tags"},
    },
}


def _spec_fields(info: KindInfo, split: tuple[str, ...]) -> set[str]:
    """The spec's wire names, ``split`` object fields replaced by their members (independently of the registry)."""
    spec = info.model.model_fields["spec"].annotation
    assert isinstance(spec, type) and issubclass(spec, BaseModel)
    out: set[str] = set()
    for name, field in spec.model_fields.items():
        wire = field.alias or name
        if wire not in split:
            out.add(wire)
            continue
        (member_model,) = [a for a in get_args(field.annotation) if isinstance(a, type) and issubclass(a, BaseModel)]
        out |= {f"{wire}.{m.alias or n}" for n, m in member_model.model_fields.items()}
    return out


@pytest.mark.parametrize("kind", sorted(JOB_SPEC_FIELDS))
def test_every_job_spec_field_is_immutable_or_updatable(kind: str) -> None:
    info = INFO[kind]
    mutability = registry.TRAINING_JOB_MUTABILITY if kind == "TrainingJob" else registry.TAGS_ONLY
    immutable = {i.path for i in info.immutable}
    updatable = set(mutability.updatable)
    assert len(immutable) == len(info.immutable)  # no field twice
    assert not immutable & updatable
    assert set(registry.OPERATOR_FIELDS) <= immutable
    assert immutable | updatable == _spec_fields(info, mutability.split)
    assert immutable == JOB_SPEC_FIELDS[kind]["immutable"]
    assert updatable == JOB_SPEC_FIELDS[kind]["updatable"]
    assert info.immutable[0].path == "region" and "delete the" in info.immutable[0].message
    for item in info.immutable[1:]:
        assert item.message.startswith(f"{item.path} of a {kind} cannot be changed after creation"), item
        assert item.message.endswith(f"create a new {kind} instead")
        assert "only tags" in item.message  # says what can be updated


def _lower_camel(name: str) -> str:
    return name[0].lower() + name[1:]


def test_training_jobs_updatable_fields_are_update_training_jobs_members() -> None:
    """SageMaker's UpdateTrainingJob (botocore's model) is what the controller can change on a running job."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    members = model.operation_model("UpdateTrainingJob").input_shape.members
    expected = {"tags"}  # AddTags/DeleteTags, reconciled by the job controller after every edit
    for name, shape in members.items():
        if name == "TrainingJobName":
            continue  # the job's identity
        if name == "ResourceConfig":  # ResourceConfigForUpdate: a subset of ResourceConfig's members
            expected |= {f"resourceConfig.{_lower_camel(m)}" for m in shape.members}
        else:
            expected.add(_lower_camel(name))
    assert set(registry.TRAINING_JOB_MUTABILITY.updatable) == expected
    assert registry.TRAINING_JOB_MUTABILITY.split == ("resourceConfig",)


def test_training_job_rules_accept_updates_and_refuse_the_rest(documents: dict[str, dict[str, Any]]) -> None:
    """The generated TrainingJob CRD's rules, on the emulator's CEL: what UpdateTrainingJob takes passes."""
    root = _schema(documents[crds.crd_file_name(INFO["TrainingJob"])])
    old: dict[str, Any] = {
        "region": "us-west-2", "roleArn": "arn:aws:iam::123456789012:role/r",
        "resourceConfig": {"instanceType": "ml.m5.xlarge", "instanceCount": 1, "volumeSizeInGB": 5},
        "tags": [{"key": "a", "value": "1"}],
    }

    def errors(**changes: Any) -> list[str]:
        new = copy.deepcopy(old)
        for dotted, value in changes.items():
            *parents, leaf = dotted.split("__")
            node: dict[str, Any] = new
            for p in parents:
                node = node.setdefault(p, {})
            node[leaf] = value
        return [c.field for c in cel.check_rules({"spec": new}, {"spec": old}, root)]

    assert errors(resourceConfig__keepAlivePeriodInSeconds=600) == []
    assert errors(profilerConfig={"s3OutputPath": "s3://b/p"}) == []
    assert errors(remoteDebugConfig={"enableRemoteDebug": True}) == []
    assert errors(tags=[{"key": "a", "value": "2"}]) == []
    assert errors(resourceConfig__trainingPlanArn="arn:aws:sagemaker:us-west-2:123456789012:training-plan/p") == [
        "spec.resourceConfig.trainingPlanArn"
    ]
    assert errors(mlflowConfig={"mlflowResourceArn": "arn:aws:sagemaker:us-west-2:123456789012:mlflow-app/x"}) == [
        "spec.mlflowConfig"
    ]
    assert errors(resourceConfig__instanceCount=2) == ["spec.resourceConfig.instanceCount"]


# ------------------------------------------------------------------------------------------ CEL cost

# Cases of kube-apiserver's own cost estimation test (k8s.io/apiextensions-apiserver pkg/apiserver/schema/cel
# compilation_test.go, TestCostEstimation) within the estimator's CEL subset: (rule, the schema it sits on, the
# MaxCost kube-apiserver computes).
_UNBOUNDED_STRINGS = {"type": "array", "items": {"type": "string"}}
KUBE_COST_CASES = [
    ("index-of-array-with-strings", "self[1] == self[1]", _UNBOUNDED_STRINGS, 314577),
    ("string-equality", 'self == "x"', {"type": "string"}, 2),
    ("string-equality-max-length-zero", 'self == "x"', {"type": "string", "maxLength": 0}, 1),
    ("size-call", "oldSelf.size() == self.size()",
     {"type": "object", "additionalProperties": {"type": "integer"}}, 5),
    ("index-of-array-with-booleans", "self[0] == false", {"type": "array", "items": {"type": "boolean"}}, 2),
    ("index-of-array-of-objects", "self[0] == null",
     {"type": "array", "items": {"type": "object", "properties": {"a": {"type": "string"}}}}, 2),
    ("timestamp-comparison", 'self["a"] == self["b"]',
     {"type": "object", "additionalProperties": {"type": "string", "format": "date-time"}}, 8),
]


@pytest.mark.parametrize(("rule", "node", "expected"), [c[1:] for c in KUBE_COST_CASES],
                         ids=[c[0] for c in KUBE_COST_CASES])
def test_the_cel_cost_estimator_reproduces_kube_apiservers_estimates(
        rule: str, node: dict[str, Any], expected: int) -> None:
    assert cel_cost.rule_cost(rule, node) == expected


def test_the_cost_of_an_immutability_rule_follows_the_field_it_compares() -> None:
    spec = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},  # unbounded: 3 MiB - 2 characters
            "short": {"type": "string", "maxLength": 63},  # 4 bytes a character
            "mode": {"type": "string", "enum": ["File", "FastFile"]},
            "count": {"type": "integer"},
            "config": {"type": "object", "properties": {"size": {"type": "integer"}}},
        },
    }

    def cost(path: str, settable_once: bool = False) -> int:
        return cel_cost.rule_cost(crds.immutability_rule(path, "m", settable_once=settable_once)["rule"], spec)

    # (has(self.f)) == (has(oldSelf.f)) && (!(has(self.f)) || self.f == oldSelf.f):
    # 2 + 2 + eq(bools: 1) + 1 (!) + 2 + 2 + 2 (both selections) + ceil(size / 10)
    assert cost("name") == 12 + math.ceil((3 * 1024 * 1024 - 2) / 10)
    assert cost("short") == 12 + math.ceil(4 * 63 / 10)
    assert cost("mode") == 12 + 1
    assert cost("count") == 12  # scalars and objects have size 0 for the estimator
    # two levels: each has chain 2 + 3, each selection 3
    assert cost("config.size") == (5 + 5 + 1) + 1 + 5 + 6
    # !(has(oldSelf.f)) || ((has(self.f)) && self.f == oldSelf.f)
    assert cost("short", settable_once=True) == 1 + 2 + 2 + 4 + math.ceil(4 * 63 / 10)


def test_rules_under_lists_count_once_per_possible_item() -> None:
    item = {"type": "object", "properties": {"a": {"type": "string", "maxLength": 10}},
            "x-kubernetes-validations": [{"rule": "self.a == 'x'"}]}
    bounded = {"type": "object", "properties": {"xs": {"type": "array", "maxItems": 7, "items": item}}}
    (one,) = cel_cost.rule_costs(bounded)
    assert (one.path, one.cost, one.cardinality) == ("xs[]", 2 + 1, 7)
    unbounded = {"type": "object", "properties": {"xs": {"type": "array", "items": item}}}
    (many,) = cel_cost.rule_costs(unbounded)
    assert many.cardinality == (3 * 1024 * 1024) // (2 + 1)  # {} is the smallest item


@pytest.mark.parametrize("rule", ["self.all(x, true)", "self.name.matches('a')", "self.count + 1 == 2",
                                  "self.nothere == oldSelf.nothere"])
def test_the_cost_estimator_refuses_what_it_does_not_model(rule: str) -> None:
    node = {"type": "object", "properties": {"name": {"type": "string"}, "count": {"type": "integer"}}}
    with pytest.raises(cel_cost.UnsupportedRule):
        cel_cost.rule_cost(rule, node)


def test_every_crds_rules_fit_kube_apiservers_cost_limits(documents: dict[str, dict[str, Any]]) -> None:
    """What kube-apiserver checks when the CRD is created: each rule and the CRD's sum under the static limits."""
    for name, doc in documents.items():
        costs = cel_cost.crd_cost(doc)
        rules = _schema(doc)["properties"]["spec"].get("x-kubernetes-validations", [])
        assert len(costs) == len(rules), name  # every rule is estimated (all on spec, none elsewhere)
        for item in costs:
            assert item.path == "spec" and item.cardinality == 1, (name, item)
            # stricter than the static limit: even one evaluation's runtime budget is never in reach
            assert item.total <= cel_cost.PER_CALL_LIMIT < cel_cost.STATIC_ESTIMATED_COST_LIMIT, (name, item)
        assert sum(c.total for c in costs) <= cel_cost.STATIC_ESTIMATED_CRD_COST_LIMIT // 10, name
