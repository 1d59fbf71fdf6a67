"""The generated CRDs and the samples on the emulated API server, with kubectl as a user runs it.

Every CRD installs with client-side and server-side apply; every sample applies; ``kubectl explain`` and
``kubectl get sagemaker`` work; and bad manifests are rejected when they are applied (422 naming the field, or the
400 of strict field validation for unknown fields), never later by a controller.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from smk8s.api.v1 import crds
from smk8s.api.v1.registry import INFO
from tests.support.kube import RunningKube, running_kube
from tests.unit.api.v1.test_convert import requests_of, validate

ROOT = Path(__file__).resolve().parents[3]
CRD_DIR = ROOT / "config" / "crd"
SAMPLES = ROOT / "config" / "samples"
SAMPLE_FILES = sorted(SAMPLES.glob("*-*.yaml"))
ORIGINAL = ROOT / "tests" / "support" / "manifests" / "original"  # manifests written for the original operator


def _load(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(path.read_text())
    return doc


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningKube]:
    """One emulated API server with the CRDs installed, shared by the tests that only add objects to it."""
    with running_kube(tmp_path_factory.mktemp("crds")) as kube:
        kube.kubectl("apply", "-k", str(CRD_DIR))
        yield kube


# ------------------------------------------------------------------------------------------ installing


def test_every_crd_installs_with_client_side_apply_within_the_annotation_limit(kube: RunningKube) -> None:
    out = kube.kubectl("apply", "-f", str(CRD_DIR / "bases")).stdout
    assert out.count("created") == len(INFO)
    for info in INFO.values():
        crd = kube.kubectl_json("get", "crd", info.crd_name)
        stored = crd["metadata"]["annotations"][crds.LAST_APPLIED_ANNOTATION]
        expected = crds.last_applied_size(_load(CRD_DIR / crds.crd_file_name(info)))
        assert len(crds.LAST_APPLIED_ANNOTATION) + len(stored.encode()) == expected  # the budget's arithmetic
        assert expected <= crds.SIZE_BUDGET
        conditions = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
        assert conditions["Established"] == "True" and conditions["NamesAccepted"] == "True"
    # applying again is a no-op
    assert kube.kubectl("apply", "-f", str(CRD_DIR / "bases")).stdout.count("unchanged") == len(INFO)


def test_every_crd_installs_with_server_side_apply(kube: RunningKube) -> None:
    out = kube.kubectl("apply", "--server-side", "-k", str(CRD_DIR)).stdout
    assert out.count("serverside-applied") == len(INFO)
    crd = kube.kubectl_json("get", "crd", INFO["TrainingJob"].crd_name)
    assert crds.LAST_APPLIED_ANNOTATION not in (crd["metadata"].get("annotations") or {})


def test_a_crd_over_the_annotation_limit_is_refused_by_client_side_apply(kube: RunningKube) -> None:
    """The limit the budget guards against is real: a CRD with 300 KiB of descriptions does not install."""
    doc = _load(CRD_DIR / crds.crd_file_name(INFO["Model"]))
    doc["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["description"] = "x" * (300 * 1024)
    proc = kube.kubectl("apply", "-f", "-", input=yaml.safe_dump(doc), check=False)
    assert proc.returncode != 0
    assert "Too long: may not be more than 262144 bytes" in proc.stderr
    kube.kubectl("apply", "--server-side", "-f", "-", input=yaml.safe_dump(doc))  # no annotation: installs


# ------------------------------------------------------------------------------------------ samples, explain, get


def test_every_sample_applies(cluster: RunningKube) -> None:
    listed = _load(SAMPLES / "kustomization.yaml")["resources"]
    assert sorted(listed) == [p.name for p in SAMPLE_FILES]
    out = cluster.kubectl("apply", "-k", str(SAMPLES)).stdout
    assert out.count(" created") + out.count(" unchanged") == len(SAMPLE_FILES)
    kinds = {_load(p)["kind"] for p in SAMPLE_FILES}
    assert kinds == set(INFO)
    for path in SAMPLE_FILES:
        sample = _load(path)
        stored = cluster.kubectl_json("get", sample["kind"], sample["metadata"]["name"])
        assert stored["spec"] == _with_defaults(sample["spec"], sample["kind"]), path.name  # nothing pruned


def test_every_sample_converts_into_a_request_botocore_accepts() -> None:
    for path in SAMPLE_FILES:
        requests = requests_of(_load(path))
        assert requests, path.name
        for service_name, operation, request in requests:
            validate(request, operation, service_name)


def test_the_original_operators_manifests_apply_unchanged(cluster: RunningKube) -> None:
    originals = sorted(ORIGINAL.glob("*.yaml"))
    assert len(originals) >= 10
    cluster.kubectl("create", "namespace", "original")
    for path in originals:
        # kubectl's default strict field validation: an unknown or pruned field would fail (or warn) here
        proc = cluster.kubectl("apply", "-n", "original", "-f", str(path))
        assert "created" in proc.stdout and "Warning" not in proc.stderr, (path.name, proc.stderr)
        manifest = _load(path)
        stored = cluster.kubectl_json("get", "-n", "original", manifest["kind"], manifest["metadata"]["name"])
        for key, value in manifest["spec"].items():
            assert stored["spec"][key] == value, (path.name, key)


def _with_defaults(spec: dict[str, Any], kind: str) -> dict[str, Any]:
    """``spec`` with the CRD's defaults (only HostingAutoscalingPolicy has top-level ones)."""
    if kind != "HostingAutoscalingPolicy":
        return spec
    return {
        "policyName": "SageMakerEndpointInvocationScalingPolicy",
        "policyType": "TargetTrackingScaling",
        "scalableDimension": "sagemaker:variant:DesiredInstanceCount",
        "serviceNamespace": "sagemaker",
        **spec,
    }


def test_kubectl_explain_describes_nested_spec_fields(cluster: RunningKube) -> None:
    out = cluster.kubectl("explain", "trainingjob.spec.resourceConfig").stdout
    assert "KIND:       TrainingJob" in out
    assert "FIELD: resourceConfig <Object>" in out
    assert "ML compute instances" in out  # SageMaker's documentation of ResourceConfig
    assert "instanceCount\t<integer>" in out and "volumeSizeInGB\t<integer>" in out
    nested = cluster.kubectl("explain", "tj.spec.inputDataConfig.dataSource.s3DataSource.s3DataType").stdout
    assert "FIELD: s3DataType <string>" in nested
    assert "AugmentedManifestFile" in nested  # the enum
    hpo = cluster.kubectl("explain", "hyperparametertuningjob.spec.hyperParameterTuningJobConfig.strategy").stdout
    assert "FIELD: strategy <string>" in hpo and "Bayesian" in hpo


def test_kubectl_get_sagemaker_lists_every_kind_with_its_columns(cluster: RunningKube) -> None:
    cluster.kubectl("apply", "-k", str(SAMPLES))
    status = {
        "trainingJobStatus": "InProgress",
        "secondaryStatus": "Downloading",
        "sageMakerTrainingJobName": "xgboost-mnist-0123456789abcdef0123456789abcdef",
        "conditions": [
            {
                "type": "Ready",
                "status": "False",
                "reason": "InProgress",
                "message": "The training job is running",
                "lastTransitionTime": "2024-05-01T12:00:00Z",
            }
        ],
    }
    cluster.kubectl(
        "patch", "trainingjob", "xgboost-mnist", "--subresource=status", "--type=merge",
        "-p", json.dumps({"status": status}),
    )
    out = cluster.kubectl("get", "sagemaker").stdout
    for info in INFO.values():
        assert f"{info.singular}.sagemaker.aws.amazon.com/" in out, info.kind
        for column in info.printer_columns:
            if column.priority == 0:
                assert column.name.upper() in out, (info.kind, column.name)
    row = next(line for line in out.splitlines() if "trainingjob.sagemaker.aws.amazon.com/xgboost-mnist " in line)
    assert row.split()[1:3] == ["InProgress", "Downloading"]
    assert row.split()[-1] == "False"  # Ready
    wide = cluster.kubectl("get", "tj", "-o", "wide").stdout
    assert "ARN" in wide.splitlines()[0]
    for info in INFO.values():
        for short in info.short_names:
            assert cluster.kubectl("get", short, "-o", "name").stdout.strip(), short


# ------------------------------------------------------------------------------------------ bad manifests

Mutation = Callable[[dict[str, Any]], None]


def _walk(doc: Any, path: str) -> tuple[Any, str | int]:
    *parents, leaf = path.split(".")
    node = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node, int(leaf) if isinstance(node, list) else leaf


def put(path: str, value: Any) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        node, leaf = _walk(doc, path)
        node[leaf] = value

    return mutate


def drop(path: str) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        node, leaf = _walk(doc, path)
        del node[leaf]

    return mutate


@dataclass(frozen=True)
class Bad:
    id: str
    sample: str
    mutate: Mutation
    field: str  # the field path the error must name
    detail: str = ""  # more text the error must contain
    code: int = 422
    edit: bool = False  # apply the sample first, then the mutated manifest (an update)


TJ, HPO = "trainingjob-xgboost-mnist.yaml", "hyperparametertuningjob-xgboost-mnist.yaml"
PJ, BTJ = "processingjob-kmeans-mnist.yaml", "batchtransformjob-xgboost-mnist.yaml"
HD = "hostingdeployment-xgboost-mnist.yaml"
EC, HAP = "endpointconfig-xgboost-mnist.yaml", "hostingautoscalingpolicy-custom-metric.yaml"
MODEL = "model-xgboost-mnist.yaml"
MLFLOW_ARN = "arn:aws:sagemaker:us-west-2:123456789012:mlflow-tracking-server/mnist"
TRAINING_PLAN_ARN = "arn:aws:sagemaker:us-west-2:123456789012:training-plan/mnist-capacity-plan"

BAD = [
    # missing required fields
    Bad("no-spec", TJ, drop("spec"), "spec", "Required value"),
    Bad("no-region", TJ, drop("spec.region"), "spec.region", "Required value"),
    Bad("no-role", TJ, drop("spec.roleArn"), "spec.roleArn", "Required value"),
    Bad("no-output", TJ, drop("spec.outputDataConfig"), "spec.outputDataConfig", "Required value"),
    Bad("no-s3-output", TJ, drop("spec.outputDataConfig.s3OutputPath"), "spec.outputDataConfig.s3OutputPath",
        "Required value"),
    Bad("no-channel-name", TJ, drop("spec.inputDataConfig.0.channelName"), "spec.inputDataConfig[0].channelName",
        "Required value"),
    Bad("hpo-no-config", HPO, drop("spec.hyperParameterTuningJobConfig"), "spec.hyperParameterTuningJobConfig",
        "Required value"),
    Bad("hpo-no-parallel", HPO, drop("spec.hyperParameterTuningJobConfig.resourceLimits.maxParallelTrainingJobs"),
        "spec.hyperParameterTuningJobConfig.resourceLimits.maxParallelTrainingJobs", "Required value"),
    Bad("pj-no-app", PJ, drop("spec.appSpecification"), "spec.appSpecification", "Required value"),
    Bad("btj-no-model", BTJ, drop("spec.modelName"), "spec.modelName", "Required value"),
    Bad("hd-no-variant-name", HD, drop("spec.productionVariants.0.variantName"),
        "spec.productionVariants[0].variantName", "Required value"),
    Bad("hap-no-resource", HAP, drop("spec.resourceId"), "spec.resourceId", "Required value"),
    # wrong enums
    Bad("input-mode", TJ, put("spec.algorithmSpecification.trainingInputMode", "Stream"),
        "spec.algorithmSpecification.trainingInputMode", 'Unsupported value: "Stream"'),
    Bad("s3-data-type", TJ, put("spec.inputDataConfig.0.dataSource.s3DataSource.s3DataType", "S3Bucket"),
        "spec.inputDataConfig[0].dataSource.s3DataSource.s3DataType", 'Unsupported value: "S3Bucket"'),
    Bad("compression", TJ, put("spec.inputDataConfig.1.compressionType", "Zip"),
        "spec.inputDataConfig[1].compressionType", 'Unsupported value: "Zip"'),
    Bad("hpo-strategy", HPO, put("spec.hyperParameterTuningJobConfig.strategy", "Genetic"),
        "spec.hyperParameterTuningJobConfig.strategy", 'Unsupported value: "Genetic"'),
    Bad("hpo-objective", HPO, put("spec.hyperParameterTuningJobConfig.hyperParameterTuningJobObjective.type",
                                  "Minimise"),
        "spec.hyperParameterTuningJobConfig.hyperParameterTuningJobObjective.type", 'Unsupported value: "Minimise"'),
    Bad("btj-strategy", BTJ, put("spec.batchStrategy", "AllAtOnce"), "spec.batchStrategy",
        'Unsupported value: "AllAtOnce"'),
    Bad("pj-upload-mode", PJ, put("spec.processingOutputConfig.outputs.0.s3Output.s3UploadMode", "Sometimes"),
        "spec.processingOutputConfig.outputs[0].s3Output.s3UploadMode", 'Unsupported value: "Sometimes"'),
    Bad("hap-policy-type", HAP, put("spec.policyType", "ReactiveScaling"), "spec.policyType",
        'Unsupported value: "ReactiveScaling"'),
    # out-of-range numbers, lengths, counts and patterns
    Bad("instance-count", TJ, put("spec.resourceConfig.instanceCount", -1), "spec.resourceConfig.instanceCount",
        "should be greater than or equal to 0"),
    Bad("max-runtime", TJ, put("spec.stoppingCondition.maxRuntimeInSeconds", 0),
        "spec.stoppingCondition.maxRuntimeInSeconds", "should be greater than or equal to 1"),
    Bad("hpo-parallel", HPO, put("spec.hyperParameterTuningJobConfig.resourceLimits.maxParallelTrainingJobs", 0),
        "spec.hyperParameterTuningJobConfig.resourceLimits.maxParallelTrainingJobs",
        "should be greater than or equal to 1"),
    Bad("hd-instances", HD, put("spec.productionVariants.0.initialInstanceCount", 0),
        "spec.productionVariants[0].initialInstanceCount", "should be greater than or equal to 1"),
    Bad("btj-payload", BTJ, put("spec.maxPayloadInMB", -5), "spec.maxPayloadInMB",
        "should be greater than or equal to 0"),
    Bad("job-name-length", TJ, put("spec.trainingJobName", "j" * 64), "spec.trainingJobName",
        "may not be more than 63 bytes"),
    Bad("job-name-pattern", TJ, put("spec.trainingJobName", "xgboost_mnist"), "spec.trainingJobName",
        "should match"),
    Bad("role-length", TJ, put("spec.roleArn", "arn:aws:iam::1:role"), "spec.roleArn",
        "should be at least 20 chars long"),
    Bad("role-pattern", MODEL, put("spec.executionRoleArn", "arn:aws:iam::123456789012:user/someone"),
        "spec.executionRoleArn", "should match"),
    Bad("s3-uri", TJ, put("spec.inputDataConfig.0.dataSource.s3DataSource.s3Uri", "gs://bucket/train"),
        "spec.inputDataConfig[0].dataSource.s3DataSource.s3Uri", "should match"),
    Bad("endpoint-url", TJ, put("spec.sageMakerEndpoint", "ftp://sagemaker.example.com"), "spec.sageMakerEndpoint",
        "should match"),
    Bad("empty-region", EC, put("spec.region", ""), "spec.region", "should be at least 1 chars long"),
    Bad("security-groups", TJ, put("spec.vpcConfig", {"securityGroupIds": [f"sg-{i}" for i in range(6)],
                                                      "subnets": ["subnet-1"]}),
        "spec.vpcConfig.securityGroupIds", "must have at most 5 items"),
    Bad("no-variants", EC, put("spec.productionVariants", []), "spec.productionVariants",
        "should have at least 1 items"),
    # floats where the original operator had integers, and other wrong types
    Bad("volume-float", TJ, put("spec.resourceConfig.volumeSizeInGB", 5.5), "spec.resourceConfig.volumeSizeInGB",
        'must be of type int64: "float64"'),
    Bad("weight-float", HD, put("spec.productionVariants.0.initialVariantWeight", 0.5),
        "spec.productionVariants[0].initialVariantWeight", 'must be of type int64: "float64"'),
    Bad("target-float", HAP, put("spec.targetTrackingScalingPolicyConfiguration.targetValue", 60.5),
        "spec.targetTrackingScalingPolicyConfiguration.targetValue", 'must be of type int64: "float64"'),
    Bad("count-string", TJ, put("spec.resourceConfig.instanceCount", "one"), "spec.resourceConfig.instanceCount",
        'must be of type integer: "string"'),
    # an API map written as a map rather than a name/value list: pruned, so strict field validation's 400
    Bad("hyperparameters-map", TJ, put("spec.hyperParameters", {"eta": "0.2"}), "spec.hyperParameters.eta",
        "strict decoding error: unknown field", code=400),
    # edits of fields SageMaker cannot change
    Bad("edit-instance-type", TJ, put("spec.resourceConfig.instanceType", "ml.m5.4xlarge"),
        "spec.resourceConfig.instanceType", "create a new TrainingJob", edit=True),
    Bad("edit-region", TJ, put("spec.region", "eu-west-1"), "spec.region", "delete the TrainingJob", edit=True),
    Bad("edit-hyperparameters", TJ, put("spec.hyperParameters.0.value", "6"), "spec.hyperParameters",
        "create a new TrainingJob", edit=True),
    Bad("add-vpc", TJ, put("spec.vpcConfig", {"securityGroupIds": ["sg-1"], "subnets": ["subnet-1"]}),
        "spec.vpcConfig", "create a new TrainingJob", edit=True),
    Bad("edit-job-name", "trainingjob-custom-endpoint.yaml", put("spec.trainingJobName", "another-name"),
        "spec.trainingJobName", "create a new TrainingJob", edit=True),
    Bad("edit-hpo-limits", HPO, put("spec.hyperParameterTuningJobConfig.resourceLimits.maxNumberOfTrainingJobs", 20),
        "spec.hyperParameterTuningJobConfig", "create a new HyperparameterTuningJob", edit=True),
    Bad("edit-endpoint-name", HD, put("spec.endpointName", "another-endpoint"), "spec.endpointName",
        "create a new HostingDeployment", edit=True),
    Bad("edit-model-region", MODEL, put("spec.region", "us-east-1"), "spec.region", "delete the Model", edit=True),
    # fields newer than the original operator, and members of resourceConfig UpdateTrainingJob does not take
    Bad("edit-mlflow", TJ, put("spec.mlflowConfig", {"mlflowResourceArn": MLFLOW_ARN, "mlflowExperimentName": "x"}),
        "spec.mlflowConfig", "only tags, profilerConfig", edit=True),
    Bad("add-training-plan", TJ, put("spec.resourceConfig.trainingPlanArn", TRAINING_PLAN_ARN),
        "spec.resourceConfig.trainingPlanArn", "resourceConfig.keepAlivePeriodInSeconds can be updated", edit=True),
    Bad("pj-edit-instance-type", PJ, put("spec.processingResources.clusterConfig.instanceType", "ml.m5.4xlarge"),
        "spec.processingResources", "create a new ProcessingJob", edit=True),
    Bad("btj-edit-payload", BTJ, put("spec.maxPayloadInMB", 12), "spec.maxPayloadInMB",
        "only tags can be updated", edit=True),
    # unknown fields: strict field validation (kubectl's default) answers 400
    Bad("unknown-spec-field", TJ, put("spec.instanceType", "ml.m5.xlarge"), "spec.instanceType",
        "strict decoding error: unknown field", code=400),
    Bad("unknown-nested-field", TJ, put("spec.resourceConfig.volumeSizeInGb", 5), "spec.resourceConfig.volumeSizeInGb",
        "strict decoding error: unknown field", code=400),
    Bad("unknown-list-field", HAP, put("spec.resourceId.0.endpoint", "x"), "spec.resourceId[0].endpoint",
        "strict decoding error: unknown field", code=400),
]


def test_the_table_is_big_and_covers_every_kind() -> None:
    assert len(BAD) >= 30
    assert {_load(SAMPLES / b.sample)["kind"] for b in BAD} == set(INFO)
    assert len({b.id for b in BAD}) == len(BAD)


@pytest.mark.parametrize("bad", BAD, ids=[b.id for b in BAD])
def test_a_bad_manifest_is_rejected_when_applied(cluster: RunningKube, bad: Bad) -> None:
    sample = _load(SAMPLES / bad.sample)
    sample["metadata"]["name"] = f"bad-{bad.id}"
    if bad.edit:
        cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(sample))
    manifest = copy.deepcopy(sample)
    bad.mutate(manifest)
    proc = cluster.kubectl("apply", "-v=6", "-f", "-", input=yaml.safe_dump(manifest), check=False)
    assert proc.returncode != 0, proc.stdout
    # kubectl -v=6 logs each response's status: the rejection is the apply request itself
    method = "PATCH" if bad.edit else "POST"
    status = {422: "422 Unprocessable Entity", 400: "400 Bad Request"}[bad.code]
    assert any(method in line and status in line for line in proc.stderr.splitlines()), proc.stderr
    error = proc.stderr.splitlines()[-1] if bad.code == 400 else proc.stderr
    if bad.code == 422:
        assert f'The {sample["kind"]} "bad-{bad.id}" is invalid' in error
        assert f"{bad.field}: " in error, error
    else:
        assert f'unknown field "{bad.field}"' in error, error
    assert bad.detail in error, error
    # nothing was stored (or the stored object kept its old spec)
    stored = cluster.kubectl("get", sample["kind"], sample["metadata"]["name"], "-o", "json", check=False)
    if bad.edit:
        assert json.loads(stored.stdout)["spec"] == _with_defaults(sample["spec"], sample["kind"])
    else:
        assert stored.returncode != 0 and "NotFound" in stored.stderr


def test_what_sagemaker_can_update_on_a_job_is_accepted(cluster: RunningKube) -> None:
    """The other side of the immutability rows: UpdateTrainingJob's members and tags may be edited (apply works)."""
    sample = _load(SAMPLES / TJ)
    sample["metadata"]["name"] = "edit-updatable"
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(sample))
    edited = copy.deepcopy(sample)
    edited["spec"]["resourceConfig"]["keepAlivePeriodInSeconds"] = 600
    edited["spec"]["profilerConfig"] = {"s3OutputPath": "s3://my-bucket/profiler", "disableProfiler": False}
    edited["spec"]["remoteDebugConfig"] = {"enableRemoteDebug": True}
    edited["spec"]["tags"] = [{"key": "project", "value": "mnist-2"}]
    proc = cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(edited))
    assert "configured" in proc.stdout, proc.stdout
    stored = cluster.kubectl_json("get", "trainingjob", "edit-updatable")
    assert stored["spec"] == edited["spec"]
    pj = _load(SAMPLES / PJ)
    pj["metadata"]["name"] = "edit-tags"
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(pj))
    pj["spec"]["tags"] = [{"key": "team", "value": "ml"}]
    assert "configured" in cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(pj)).stdout
