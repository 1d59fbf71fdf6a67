"""Specs become requests botocore's own validation accepts; Describe* responses (from the emulator) become statuses."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
import botocore.validate
import pytest
import yaml

from smk8s.api.v1 import (
    BatchTransformJob,
    EndpointConfig,
    HostingAutoscalingPolicy,
    HostingDeployment,
    HyperparameterTuningJob,
    Model,
    ProcessingJob,
    TrainingJob,
    convert,
)
from smk8s.api.v1.common import Condition
from smk8s.emulators.aws.clock import VirtualClock
from smk8s.emulators.aws.sagemaker import OPERATIONS as SAGEMAKER
from smk8s.emulators.aws.world import World, new_world

ORIGINAL = Path(__file__).resolve().parents[3] / "support" / "manifests" / "original"
T0 = 1_700_000_000.0


@cache
def service(name: str) -> Any:
    return botocore.session.get_session().get_service_model(name)


def validate(request: dict[str, Any], operation: str, service_name: str = "sagemaker") -> None:
    botocore.validate.validate_parameters(request, service(service_name).operation_model(operation).input_shape)


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((ORIGINAL / name).read_text())
    assert isinstance(data, dict)
    return data


def requests_of(manifest: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(service, operation, request) for every request an object of ``manifest`` leads to."""
    kind = manifest["kind"]
    if kind == "TrainingJob":
        spec = TrainingJob.model_validate(manifest).spec
        return [("sagemaker", "CreateTrainingJob", convert.training_job_request(spec, "job"))]
    if kind == "HyperparameterTuningJob":
        hpo = HyperparameterTuningJob.model_validate(manifest).spec
        return [("sagemaker", "CreateHyperParameterTuningJob", convert.hyperparameter_tuning_job_request(hpo, "t"))]
    if kind == "ProcessingJob":
        pj = ProcessingJob.model_validate(manifest).spec
        return [("sagemaker", "CreateProcessingJob", convert.processing_job_request(pj, "p"))]
    if kind == "BatchTransformJob":
        bt = BatchTransformJob.model_validate(manifest).spec
        return [("sagemaker", "CreateTransformJob", convert.transform_job_request(bt, "b"))]
    if kind == "Model":
        return [("sagemaker", "CreateModel", convert.model_request(Model.model_validate(manifest).spec, "m"))]
    if kind == "EndpointConfig":
        ec = EndpointConfig.model_validate(manifest).spec
        return [("sagemaker", "CreateEndpointConfig", convert.endpoint_config_request(ec, "c"))]
    if kind == "HostingDeployment":
        hd = HostingDeployment.model_validate(manifest).spec
        names = {m.name: f"{m.name}-sm" for m in hd.models}
        return [
            *[("sagemaker", "CreateModel", convert.hosting_model_request(hd, m, names[m.name])) for m in hd.models],
            ("sagemaker", "CreateEndpointConfig", convert.hosting_endpoint_config_request(hd, "c", names)),
            ("sagemaker", "CreateEndpoint", convert.create_endpoint_request(hd, "e", "c")),
            ("sagemaker", "UpdateEndpoint", convert.update_endpoint_request(hd, "e", "c2")),
        ]
    hap = HostingAutoscalingPolicy.model_validate(manifest).spec
    return [*[("application-autoscaling", "RegisterScalableTarget", r)
              for r in convert.register_scalable_target_requests(hap)],
            *[("application-autoscaling", "PutScalingPolicy", r) for r in convert.put_scaling_policy_requests(hap)]]


@pytest.mark.parametrize("name", sorted(p.name for p in ORIGINAL.glob("*.yaml")))
def test_original_manifests_convert_to_valid_requests(name: str) -> None:
    for service_name, operation, request in requests_of(load(name)):
        validate(request, operation, service_name)


def test_training_request_is_exact() -> None:
    spec = TrainingJob.model_validate(load("xgboost-mnist-trainingjob-debugger.yaml")).spec
    request = convert.training_job_request(spec, "my-job")
    assert request["TrainingJobName"] == "my-job"
    assert request["HyperParameters"] == {"num_round": "50"}
    assert request["ResourceConfig"] == {"InstanceCount": 1, "InstanceType": "ml.m4.xlarge", "VolumeSizeInGB": 5}
    assert request["DebugHookConfig"]["HookParameters"] == {"save_interval": "5"}  # the original's ruleParameters
    assert request["DebugHookConfig"]["CollectionConfigurations"][1] == {
        "CollectionName": "losses", "CollectionParameters": {"save_interval": "500"}}
    assert request["DebugRuleConfigurations"][0]["RuleParameters"]["rule_to_invoke"] == "LossNotDecreasing"
    assert "Region" not in request and "SageMakerEndpoint" not in request and "region" not in request


def test_legacy_keys_become_members_and_name_comes_from_caller() -> None:
    spec = BatchTransformJob.model_validate(load("xgboost-mnist-batchtransform.yaml")).spec
    request = convert.transform_job_request(spec, "generated")
    assert request["TransformJobName"] == "generated"
    assert request["DataProcessing"] == {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"}
    assert request["Environment"] == {"SAGEMAKER_MODEL_SERVER_TIMEOUT": "3600"}


def test_hosting_deployment_requests() -> None:
    hd = HostingDeployment.model_validate(load("xgboost-multi-model-hostingdeployment.yaml")).spec
    model = convert.hosting_model_request(hd, hd.models[0], "sm-model")
    assert model["ModelName"] == "sm-model"
    assert model["PrimaryContainer"]["Mode"] == "MultiModel" and "Containers" not in model
    config = convert.hosting_endpoint_config_request(hd, "cfg", {"multi-model-xgboost": "sm-model"})
    assert config["ProductionVariants"][0]["ModelName"] == "sm-model"
    assert config["ProductionVariants"][0]["InitialVariantWeight"] == 1
    update = convert.update_endpoint_request(hd, "multi-model-endpoint", "cfg2")
    assert update == {"EndpointName": "multi-model-endpoint", "EndpointConfigName": "cfg2",
                      "RetainAllVariantProperties": True,
                      "ExcludeRetainedVariantProperties": [{"VariantPropertyType": "DesiredWeight"}]}
    with pytest.raises(KeyError, match="multi-model-xgboost"):
        convert.hosting_endpoint_config_request(hd, "cfg", {})


def test_autoscaling_requests_one_per_resource() -> None:
    hap = HostingAutoscalingPolicy.model_validate(load("hap-custom-metric.yaml")).spec
    (target,) = convert.register_scalable_target_requests(hap)
    assert target == {"ServiceNamespace": "sagemaker", "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
                      "MinCapacity": 1, "MaxCapacity": 4, "ResourceId": "endpoint/endpoint-one/variant/AllTraffic",
                      "SuspendedState": {"DynamicScalingInSuspended": False, "DynamicScalingOutSuspended": False,
                                         "ScheduledScalingSuspended": False}}
    (policy,) = convert.put_scaling_policy_requests(hap)
    metric = policy["TargetTrackingScalingPolicyConfiguration"]["CustomizedMetricSpecification"]
    assert metric["Dimensions"] == [{"Name": "EndpointName", "Value": "endpoint-one"},
                                    {"Name": "VariantName", "Value": "AllTraffic"}]
    assert policy["PolicyName"] == "SageMakerEndpointInvocationScalingPolicy"
    two = HostingAutoscalingPolicy.model_validate(load("hap-predefined-metric.yaml")).spec
    assert [r["ResourceId"] for r in convert.put_scaling_policy_requests(two)] == [
        "endpoint/endpoint-one/variant/AllTraffic", "endpoint/endpoint-two/variant/AllTraffic"]


# ------------------------------------------------------------------------------------------------ status


@pytest.fixture
def world() -> World:
    return new_world(clock=VirtualClock(start=T0, scale=1e-12))


def call(world: World, operation: str, request: dict[str, Any]) -> dict[str, Any]:
    world.advance()
    return SAGEMAKER[operation](world, request)


def at(world: World, offset: float) -> None:
    world.clock.advance(max(T0 + offset - world.clock.now(), 0.0))
    world.advance()


def test_training_describe_becomes_status(world: World) -> None:
    spec = TrainingJob.model_validate(load("xgboost-mnist-trainingjob-debugger.yaml")).spec
    call(world, "CreateTrainingJob", convert.training_job_request(spec, "dbg"))
    status = convert.training_job_status(call(world, "DescribeTrainingJob", {"TrainingJobName": "dbg"}), "us-west-2")
    assert (status.training_job_status, status.secondary_status, status.model_path) == ("InProgress", "Starting", None)
    assert status.sage_maker_training_job_name == "dbg"
    assert status.training_job_arn == "arn:aws:sagemaker:us-west-2:123456789012:training-job/dbg"
    assert status.cloud_watch_log_url is not None and "prefix=dbg;" in status.cloud_watch_log_url
    assert status.debug_rule_evaluation_statuses is not None
    assert status.debug_rule_evaluation_statuses[0].rule_configuration_name == "LossNotDecreasing"
    at(world, 10_000)
    done = convert.training_job_status(call(world, "DescribeTrainingJob", {"TrainingJobName": "dbg"}), "us-west-2")
    assert done.training_job_status == "Completed"
    assert done.model_path == "s3://my-bucket/xgboost/dbg/output/model.tar.gz"
    dumped = done.model_dump(by_alias=True, exclude_none=True)
    assert dumped["debugRuleEvaluationStatuses"][0]["lastModifiedTime"].endswith("Z")


def test_failed_job_reason_goes_to_additional_and_failure_reason(world: World) -> None:
    spec = ProcessingJob.model_validate(load("kmeans-mnist-processingjob.yaml")).spec
    request = convert.processing_job_request(spec, "pj")
    request["Tags"] = [{"Key": "emulator.smk8s/outcome", "Value": "Failed"},
                       {"Key": "emulator.smk8s/failure-reason", "Value": "ClientError: bad input"}]
    call(world, "CreateProcessingJob", request)
    at(world, 10_000)
    status = convert.processing_job_status(call(world, "DescribeProcessingJob", {"ProcessingJobName": "pj"}),
                                           "us-west-2")
    assert (status.processing_job_status, status.additional, status.failure_reason) == (
        "Failed", "ClientError: bad input", "ClientError: bad input")


def test_hosting_describe_becomes_status(world: World) -> None:
    hd = HostingDeployment.model_validate(load("xgboost-mnist-hostingdeployment.yaml")).spec
    names = {"xgboost-model": "xgboost-model-sm"}
    call(world, "CreateModel", convert.hosting_model_request(hd, hd.models[0], "xgboost-model-sm"))
    call(world, "CreateEndpointConfig", convert.hosting_endpoint_config_request(hd, "cfg", names))
    call(world, "CreateEndpoint", convert.create_endpoint_request(hd, "ep", "cfg"))
    at(world, 10_000)
    status = convert.hosting_deployment_status(call(world, "DescribeEndpoint", {"EndpointName": "ep"}), "us-west-2",
                                               names)
    assert (status.endpoint_status, status.endpoint_config_name) == ("InService", "cfg")
    assert status.endpoint_url == "https://runtime.sagemaker.us-west-2.amazonaws.com/endpoints/ep/invocations"
    assert status.production_variants is not None and status.production_variants[0].variant_name == "AllTraffic"
    assert status.model_names is not None and status.model_names[0].value == "xgboost-model-sm"
    model = convert.model_status(call(world, "DescribeModel", {"ModelName": "xgboost-model-sm"}))
    assert (model.status, model.sage_maker_model_name) == ("Created", "xgboost-model-sm")
    config = convert.endpoint_config_status(call(world, "DescribeEndpointConfig", {"EndpointConfigName": "cfg"}))
    assert config.endpoint_config_arn == "arn:aws:sagemaker:us-west-2:123456789012:endpoint-config/cfg"


def test_tuning_and_transform_describe_become_status(world: World) -> None:
    hpo = HyperparameterTuningJob.model_validate(load("xgboost-mnist-hpo.yaml")).spec
    request = convert.hyperparameter_tuning_job_request(hpo, "hpo")
    del request["WarmStartConfig"]
    call(world, "CreateHyperParameterTuningJob", request)
    at(world, 100_000)
    status = convert.hyperparameter_tuning_job_status(
        call(world, "DescribeHyperParameterTuningJob", {"HyperParameterTuningJobName": "hpo"}))
    assert status.sage_maker_hyper_parameter_tuning_job_name == "hpo"
    assert status.training_job_status_counters is not None
    assert status.training_job_status_counters.completed == 10
    assert status.best_training_job is not None and status.best_training_job.training_job_name
    metric = status.best_training_job.final_hyper_parameter_tuning_job_objective_metric
    assert metric is not None and metric.value is not None and float(metric.value) >= 0
    transform = convert.transform_job_status({"TransformJobName": "t", "TransformJobStatus": "InProgress",
                                              "TransformJobArn": "arn:t"}, "us-east-1")
    assert (transform.transform_job_status, transform.transform_job_arn) == ("InProgress", "arn:t")


def test_conditions_keep_transition_times_of_unchanged_ones() -> None:
    first = convert.conditions(None, convert.job_conditions("InProgress", None), T0, generation=1)
    assert [(c.type, c.status) for c in first] == [("Ready", "False"), ("Complete", "False"), ("Failed", "False")]
    later = convert.conditions(first, convert.job_conditions("Completed", None), T0 + 60, generation=1)
    by_type: dict[str, Condition] = {c.type: c for c in later}
    assert by_type["Complete"].status == "True"
    assert by_type["Complete"].last_transition_time == "2023-11-14T22:14:20Z"
    assert by_type["Failed"].last_transition_time == "2023-11-14T22:13:20Z"
    failed = {c.type: c for c in convert.conditions(None, convert.job_conditions("Failed", "AlgorithmError: x"), T0)}
    assert (failed["Failed"].status, failed["Failed"].message) == ("True", "AlgorithmError: x")
    ready = convert.conditions(None, convert.ready_condition(True, "InService", "Endpoint is in service"), T0)
    assert [(c.type, c.status, c.reason) for c in ready] == [("Ready", "True", "InService")]
