"""Pure conversions: specs -> the exact SageMaker / Application Auto Scaling requests, Describe* responses -> status.

Requests: :func:`to_api` turns any generated model into its API shape (wire name -> member name, lists of
``{name, value}`` / ``{key, value}`` -> maps, the original operator's legacy keys -> their members); the per-kind
functions add the names the caller decided (generated or from the spec) and drop what is not a request member.

Statuses: ``*_status(describe_response, ...)`` map a Describe* response (timestamps as datetimes, as botocore parses
them, or epoch seconds) onto the kind's status fields; :func:`conditions` computes ``Ready``/``Complete``/``Failed``
keeping transition times of unchanged conditions. The controller adds ``observedGeneration``/``lastCheckTime``.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel

from smk8s.api.v1.base import ApiModel
from smk8s.api.v1.batch_transform_job import BatchTransformJobSpec, BatchTransformJobStatus
from smk8s.api.v1.common import COMPLETE, FAILED, READY, Condition, NameValue, rfc3339
from smk8s.api.v1.endpoint_config import EndpointConfigSpec, EndpointConfigStatus
from smk8s.api.v1.hosting_autoscaling_policy import HostingAutoscalingPolicySpec
from smk8s.api.v1.hosting_deployment import (
    DeployedImage,
    HostingDeploymentModel,
    HostingDeploymentSpec,
    HostingDeploymentStatus,
    ProductionVariantSummary,
)
from smk8s.api.v1.hyperparameter_tuning_job import (
    BestTrainingJob,
    FinalObjectiveMetric,
    HyperparameterTuningJobSpec,
    HyperparameterTuningJobStatus,
    TrainingJobStatusCounters,
)
from smk8s.api.v1.model import ModelSpec, ModelStatus
from smk8s.api.v1.processing_job import ProcessingJobSpec, ProcessingJobStatus
from smk8s.api.v1.training_job import DebugRuleEvaluationStatus, TrainingJobSpec, TrainingJobStatus

# ------------------------------------------------------------------------------------------------ spec -> request


def to_api(model: ApiModel) -> dict[str, Any]:
    """The API shape of a generated model: only API members, set ones, by their API names."""
    out: dict[str, Any] = {}
    legacy = {canonical: alt for alt, canonical in model.API_LEGACY.items()}
    for python, member in model.API_MEMBERS.items():
        value = getattr(model, python)
        if value is None and python in legacy:
            value = getattr(model, legacy[python])
        if value is None:
            continue
        out[member] = _map(value) if python in model.API_MAPS else _value(value)
    return out


def _value(value: Any) -> Any:
    if isinstance(value, ApiModel):
        return to_api(value)
    if isinstance(value, list):
        return [_value(v) for v in value]
    return value


def _map(entries: Iterable[BaseModel]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for entry in entries:
        data = entry.model_dump()
        key = data["key"] if "key" in data else data["name"]
        out[key] = data["value"]
    return out


def _only(request: dict[str, Any], members: Iterable[str]) -> dict[str, Any]:
    wanted = set(members)
    return {k: v for k, v in request.items() if k in wanted}


def training_job_request(spec: TrainingJobSpec, name: str) -> dict[str, Any]:
    """CreateTrainingJob request of ``spec`` for the job ``name``."""
    return {"TrainingJobName": name, **_without(to_api(spec), "TrainingJobName")}


def hyperparameter_tuning_job_request(spec: HyperparameterTuningJobSpec, name: str) -> dict[str, Any]:
    """CreateHyperParameterTuningJob request of ``spec`` for the tuning job ``name``."""
    return {"HyperParameterTuningJobName": name, **_without(to_api(spec), "HyperParameterTuningJobName")}


def processing_job_request(spec: ProcessingJobSpec, name: str) -> dict[str, Any]:
    """CreateProcessingJob request of ``spec`` for the job ``name``."""
    return {"ProcessingJobName": name, **to_api(spec)}


def transform_job_request(spec: BatchTransformJobSpec, name: str) -> dict[str, Any]:
    """CreateTransformJob request of ``spec`` for the job ``name``."""
    return {"TransformJobName": name, **_without(to_api(spec), "TransformJobName")}


def model_request(spec: ModelSpec, name: str) -> dict[str, Any]:
    """CreateModel request of ``spec`` for the model ``name``."""
    return {"ModelName": name, **to_api(spec)}


def endpoint_config_request(spec: EndpointConfigSpec, name: str) -> dict[str, Any]:
    """CreateEndpointConfig request of ``spec`` for the configuration ``name``."""
    return {"EndpointConfigName": name, **to_api(spec)}


def _without(request: dict[str, Any], *members: str) -> dict[str, Any]:
    return {k: v for k, v in request.items() if k not in members}


# -- HostingDeployment

CREATE_ENDPOINT_CONFIG_MEMBERS = ("ProductionVariants", "DataCaptureConfig", "Tags", "KmsKeyId", "AsyncInferenceConfig",
                                  "ExplainerConfig", "ShadowProductionVariants", "ExecutionRoleArn", "VpcConfig",
                                  "EnableNetworkIsolation", "MetricsConfig")


def hosting_model_request(spec: HostingDeploymentSpec, model: HostingDeploymentModel, name: str) -> dict[str, Any]:
    """CreateModel request for one model of a hosting deployment, named ``name`` (tags are the deployment's).

    As the original operator: a single container becomes ``PrimaryContainer``; several go in ``Containers`` (an
    inference pipeline) and ``primaryContainer`` is not used.
    """
    request: dict[str, Any] = {"ModelName": name, **to_api(model)}
    containers = request.pop("Containers", [])
    if len(containers) == 1:
        request["PrimaryContainer"] = containers[0]
    elif containers:
        request["Containers"] = containers
    if spec.tags:
        request["Tags"] = [to_api(t) for t in spec.tags]
    return request


def hosting_endpoint_config_request(spec: HostingDeploymentSpec, name: str,
                                    model_names: Mapping[str, str]) -> dict[str, Any]:
    """CreateEndpointConfig request of a hosting deployment; ``model_names``: spec model name -> SageMaker name.

    Raises ``KeyError`` naming the model when a variant refers to a model that ``model_names`` lacks.
    """
    request = _only(to_api(spec), CREATE_ENDPOINT_CONFIG_MEMBERS)
    for key in ("ProductionVariants", "ShadowProductionVariants"):
        for variant in request.get(key, ()):
            if "ModelName" in variant:
                variant["ModelName"] = model_names[variant["ModelName"]]
    return {"EndpointConfigName": name, **request}


def create_endpoint_request(spec: HostingDeploymentSpec, name: str, config_name: str) -> dict[str, Any]:
    """CreateEndpoint request of a hosting deployment."""
    return {"EndpointName": name, "EndpointConfigName": config_name,
            **_only(to_api(spec), ("DeploymentConfig", "Tags"))}


def update_endpoint_request(spec: HostingDeploymentSpec, name: str, config_name: str) -> dict[str, Any]:
    """UpdateEndpoint request moving a hosting deployment's endpoint to the configuration ``config_name``."""
    members = ("RetainAllVariantProperties", "ExcludeRetainedVariantProperties", "DeploymentConfig",
               "RetainDeploymentConfig")
    return {"EndpointName": name, "EndpointConfigName": config_name, **_only(to_api(spec), members)}


# -- HostingAutoscalingPolicy

REGISTER_MEMBERS = ("ServiceNamespace", "ScalableDimension", "MinCapacity", "MaxCapacity", "RoleARN", "SuspendedState")
POLICY_MEMBERS = ("PolicyName", "ServiceNamespace", "ScalableDimension", "PolicyType", "StepScalingPolicyConfiguration",
                  "TargetTrackingScalingPolicyConfiguration", "PredictiveScalingPolicyConfiguration")


def resource_ids(spec: HostingAutoscalingPolicySpec) -> list[str]:
    """``endpoint/<endpoint>/variant/<variant>`` of every resource of the policy, in spec order."""
    return [r.resource_id() for r in spec.resource_id]


def register_scalable_target_requests(spec: HostingAutoscalingPolicySpec) -> list[dict[str, Any]]:
    """One RegisterScalableTarget request per resource."""
    base = _only(to_api(spec), REGISTER_MEMBERS)
    return [{**base, "ResourceId": rid} for rid in resource_ids(spec)]


def put_scaling_policy_requests(spec: HostingAutoscalingPolicySpec) -> list[dict[str, Any]]:
    """One PutScalingPolicy request per resource."""
    base = _only(to_api(spec), POLICY_MEMBERS)
    return [{**base, "ResourceId": rid} for rid in resource_ids(spec)]


# ------------------------------------------------------------------------------------------------ response -> status


def _time(value: Any) -> str | None:
    return None if value is None else rfc3339(value)


def log_url(region: str, group: str, name: str) -> str:
    """The CloudWatch console URL of a job's log streams (``name`` is the stream prefix)."""
    return (f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
            f"#logStream:group={group};prefix={name};streamFilter=typeLogStreamPrefix")


def training_job_status(desc: Mapping[str, Any], region: str) -> TrainingJobStatus:
    """Status fields of a DescribeTrainingJob response (``region`` for the log URL)."""
    name = desc["TrainingJobName"]
    state = desc.get("TrainingJobStatus")
    reason = desc.get("FailureReason")
    rules = [DebugRuleEvaluationStatus(
        ruleConfigurationName=r.get("RuleConfigurationName"), ruleEvaluationJobArn=r.get("RuleEvaluationJobArn"),
        ruleEvaluationStatus=r.get("RuleEvaluationStatus"), statusDetail=r.get("StatusDetails"),
        lastModifiedTime=_time(r.get("LastModifiedTime")),
    ) for r in desc.get("DebugRuleEvaluationStatuses", ())]
    return TrainingJobStatus(
        trainingJobStatus=state,
        secondaryStatus=None if state == "Stopping" else desc.get("SecondaryStatus"),
        sageMakerTrainingJobName=name,
        trainingJobArn=desc.get("TrainingJobArn"),
        cloudWatchLogUrl=log_url(region, "/aws/sagemaker/TrainingJobs", name),
        modelPath=desc.get("ModelArtifacts", {}).get("S3ModelArtifacts") if state == "Completed" else None,
        debugRuleEvaluationStatuses=rules or None,
        additional=reason,
        failureReason=reason,
    )


def hyperparameter_tuning_job_status(desc: Mapping[str, Any]) -> HyperparameterTuningJobStatus:
    """Status fields of a DescribeHyperParameterTuningJob response."""
    reason = desc.get("FailureReason")
    counters = desc.get("TrainingJobStatusCounters")
    best = desc.get("BestTrainingJob")
    return HyperparameterTuningJobStatus(
        hyperParameterTuningJobStatus=desc.get("HyperParameterTuningJobStatus"),
        sageMakerHyperParameterTuningJobName=desc["HyperParameterTuningJobName"],
        hyperParameterTuningJobArn=desc.get("HyperParameterTuningJobArn"),
        bestTrainingJob=None if best is None else _best_training_job(best),
        trainingJobStatusCounters=None if counters is None else TrainingJobStatusCounters(
            completed=counters.get("Completed"), inProgress=counters.get("InProgress"),
            retryableError=counters.get("RetryableError"), nonRetryableError=counters.get("NonRetryableError"),
            totalError=counters.get("RetryableError", 0) + counters.get("NonRetryableError", 0),
            stopped=counters.get("Stopped")),
        additional=reason,
        failureReason=reason,
    )


def _best_training_job(best: Mapping[str, Any]) -> BestTrainingJob:
    metric = best.get("FinalHyperParameterTuningJobObjectiveMetric")
    tuned = best.get("TunedHyperParameters")
    return BestTrainingJob(
        trainingJobName=best.get("TrainingJobName"),
        trainingJobArn=best.get("TrainingJobArn"),
        trainingJobDefinitionName=best.get("TrainingJobDefinitionName"),
        trainingJobStatus=best.get("TrainingJobStatus"),
        tuningJobName=best.get("TuningJobName"),
        creationTime=_time(best.get("CreationTime")),
        trainingStartTime=_time(best.get("TrainingStartTime")),
        trainingEndTime=_time(best.get("TrainingEndTime")),
        tunedHyperParameters=None if tuned is None else [NameValue(name=k, value=v) for k, v in tuned.items()],
        finalHyperParameterTuningJobObjectiveMetric=None if metric is None else FinalObjectiveMetric(
            metricName=metric.get("MetricName"), type=metric.get("Type"),
            value=None if metric.get("Value") is None else repr(float(metric["Value"]))),
        objectiveStatus=best.get("ObjectiveStatus"),
        failureReason=best.get("FailureReason"),
    )


def processing_job_status(desc: Mapping[str, Any], region: str) -> ProcessingJobStatus:
    """Status fields of a DescribeProcessingJob response."""
    reason = desc.get("FailureReason")
    name = desc["ProcessingJobName"]
    return ProcessingJobStatus(
        processingJobStatus=desc.get("ProcessingJobStatus"), sageMakerProcessingJobName=name,
        processingJobArn=desc.get("ProcessingJobArn"),
        cloudWatchLogUrl=log_url(region, "/aws/sagemaker/ProcessingJobs", name),
        additional=reason, failureReason=reason)


def transform_job_status(desc: Mapping[str, Any], region: str) -> BatchTransformJobStatus:
    """Status fields of a DescribeTransformJob response."""
    reason = desc.get("FailureReason")
    name = desc["TransformJobName"]
    return BatchTransformJobStatus(
        transformJobStatus=desc.get("TransformJobStatus"), sageMakerTransformJobName=name,
        transformJobArn=desc.get("TransformJobArn"),
        cloudWatchLogUrl=log_url(region, "/aws/sagemaker/TransformJobs", name),
        additional=reason, failureReason=reason)


def model_status(desc: Mapping[str, Any]) -> ModelStatus:
    """Status fields of a DescribeModel response (the model exists: ``Created``)."""
    return ModelStatus(status="Created", sageMakerModelName=desc["ModelName"], modelArn=desc.get("ModelArn"))


def endpoint_config_status(desc: Mapping[str, Any]) -> EndpointConfigStatus:
    """Status fields of a DescribeEndpointConfig response (the configuration exists: ``Created``)."""
    return EndpointConfigStatus(status="Created", sageMakerEndpointConfigName=desc["EndpointConfigName"],
                                endpointConfigArn=desc.get("EndpointConfigArn"))


def endpoint_url(region: str, name: str) -> str:
    """The invocation URL of an endpoint (the original operator's form)."""
    return f"https://runtime.sagemaker.{region}.amazonaws.com/endpoints/{name}/invocations"


def hosting_deployment_status(desc: Mapping[str, Any], region: str,
                              model_names: Mapping[str, str]) -> HostingDeploymentStatus:
    """Status fields of a DescribeEndpoint response; ``model_names``: spec model name -> SageMaker model name."""
    reason = desc.get("FailureReason")
    name = desc["EndpointName"]
    variants = [ProductionVariantSummary(
        variantName=v.get("VariantName"), currentInstanceCount=v.get("CurrentInstanceCount"),
        desiredInstanceCount=v.get("DesiredInstanceCount"), currentWeight=v.get("CurrentWeight"),
        desiredWeight=v.get("DesiredWeight"),
        deployedImages=[DeployedImage(specifiedImage=i.get("SpecifiedImage"), resolvedImage=i.get("ResolvedImage"),
                                       resolutionTime=_time(i.get("ResolutionTime")))
                         for i in v.get("DeployedImages", ())] or None,
    ) for v in desc.get("ProductionVariants", ())]
    return HostingDeploymentStatus(
        endpointStatus=desc.get("EndpointStatus"), endpointName=name,
        endpointConfigName=desc.get("EndpointConfigName"), endpointUrl=endpoint_url(region, name),
        endpointArn=desc.get("EndpointArn"), creationTime=_time(desc.get("CreationTime")),
        lastModifiedTime=_time(desc.get("LastModifiedTime")), productionVariants=variants or None,
        modelNames=[NameValue(name=k, value=v) for k, v in sorted(model_names.items())] or None,
        additional=reason, failureReason=reason)


# ------------------------------------------------------------------------------------------------ conditions

JOB_ACTIVE = frozenset({"InProgress", "Stopping"})


def conditions(previous: Sequence[Condition] | None, desired: Iterable[tuple[str, bool, str, str]],
               now: datetime.datetime | float | str, generation: int | None = None) -> list[Condition]:
    """Conditions ``(type, status, reason, message)`` merged into ``previous``: a condition whose status did not
    change keeps its lastTransitionTime; types not in ``desired`` are kept as they were."""
    by_type = {c.type: c for c in previous or ()}
    stamp = rfc3339(now)
    for type_, status, reason, message in desired:
        text: Literal["True", "False"] = "True" if status else "False"
        old = by_type.get(type_)
        by_type[type_] = Condition(
            type=type_, status=text, observedGeneration=generation, reason=reason, message=message,
            lastTransitionTime=old.last_transition_time if old is not None and old.status == text else stamp)
    return list(by_type.values())


def job_conditions(state: str | None, failure_reason: str | None) -> list[tuple[str, bool, str, str]]:
    """Ready/Complete/Failed of a job in SageMaker state ``state`` (Completed: all True but Failed; Failed and
    Stopped: Failed True, like a batch Job's conditions)."""
    if state == "Completed":
        return [(READY, True, "Completed", "The job completed"), (COMPLETE, True, "Completed", "The job completed"),
                (FAILED, False, "Completed", "The job completed")]
    if state in ("Failed", "Stopped"):
        message = failure_reason or f"The job is {state}"
        return [(READY, False, state, message), (COMPLETE, False, state, message), (FAILED, True, state, message)]
    reason = state or "Pending"
    message = f"The job is {state}" if state else "The job has not been created yet"
    return [(READY, False, reason, message), (COMPLETE, False, reason, message), (FAILED, False, reason, message)]


def ready_condition(ready: bool, reason: str, message: str) -> list[tuple[str, bool, str, str]]:
    """The Ready condition of a non-job kind."""
    return [(READY, ready, reason, message)]
