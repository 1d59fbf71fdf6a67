"""The generated CRDs: checked in as generated, structural, within the annotation budget; the pure conversions."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import re2  # type: ignore[import-untyped]
import yaml

from smk8s.api.v1 import crds
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
