"""SageMaker hosting: models, endpoint configurations and endpoints with their lifecycles on the virtual clock.

Contracts (as SageMaker answers; texts from SDK/operator sources cited in the tests):

- Not found is ``ValidationException`` with ``Could not find model "<arn>".``, ``Could not find endpoint
  configuration "<arn>".`` or ``Could not find endpoint "<arn>".``; a duplicate name is ``ValidationException``
  ``Cannot create already existing model|endpoint configuration|endpoint "<arn>".``
- Endpoints: ``Creating`` → ``InService`` after :data:`CREATE_SECONDS` (or ``Failed`` with a FailureReason when the
  endpoint carries the tag ``emulator.smk8s/outcome=Failed``); ``UpdateEndpoint`` → ``Updating`` → ``InService`` on the
  new configuration, or, when the *new endpoint configuration* carries ``emulator.smk8s/update-outcome=RollingBack``,
  ``Updating`` → ``RollingBack`` → ``InService`` with a FailureReason and the old configuration still serving
  (``UpdateRollbackFailed`` ends there instead); ``UpdateEndpointWeightsAndCapacities`` → ``Updating`` →
  ``InService`` with the new weights/counts; ``DeleteEndpoint`` → ``Deleting`` → gone. An endpoint that is
  Creating, Updating, RollingBack or Deleting answers updates and deletes with ``Cannot update in-progress
  endpoint "<arn>".``
- ``emulator.smk8s/duration-seconds`` on an endpoint sets its creation time; on an endpoint configuration, the time
  an update to it takes. ``emulator.smk8s/failure-reason`` sets the FailureReason.
- An endpoint snapshots its configuration and models when it deploys them: deleting a model or a configuration
  afterwards does not disturb a running endpoint (as in SageMaker).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from smk8s.emulators.aws.errors import AwsError, validation
from smk8s.emulators.aws.sagemaker import listing

if TYPE_CHECKING:
    from smk8s.emulators.aws.world import Handler, World

OUTCOME_TAG = "emulator.smk8s/outcome"
UPDATE_OUTCOME_TAG = "emulator.smk8s/update-outcome"
FAILURE_REASON_TAG = "emulator.smk8s/failure-reason"
DURATION_TAG = "emulator.smk8s/duration-seconds"

# Virtual seconds; SageMaker typically takes 5-10 minutes to create or update an endpoint.
CREATE_SECONDS = 420.0
UPDATE_SECONDS = 420.0
ROLLBACK_SECONDS = 180.0
WEIGHTS_ONLY_SECONDS = 30.0
CAPACITY_SECONDS = 240.0
DELETE_SECONDS = 60.0

IN_PROGRESS = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})


def default_failure_reason(variant: str) -> str:
    """The FailureReason SageMaker gives most often (a container failing its health check)."""
    return (
        f"The primary container for production variant {variant} did not pass the ping health check. "
        "Please check CloudWatch logs for this endpoint."
    )


@dataclass
class Model:
    name: str
    arn: str
    request: dict[str, Any]
    creation_time: float


@dataclass
class EndpointConfig:
    name: str
    arn: str
    request: dict[str, Any]
    creation_time: float
    tags: dict[str, str]


@dataclass
class Deployment:
    """What an endpoint serves (or is moving to): a configuration snapshot plus per-variant runtime numbers."""

    config_name: str
    config: dict[str, Any]
    variants: list[dict[str, Any]]  # ProductionVariantSummary members (Current*/Desired* numbers, DeployedImages)


@dataclass
class Endpoint:
    name: str
    arn: str
    status: str
    creation_time: float
    last_modified_time: float
    serving: Deployment
    tags: dict[str, str]
    failure_reason: str | None = None
    pending: Deployment | None = None  # an UpdateEndpoint in progress
    pending_start: float | None = None
    deployment_config: dict[str, Any] | None = None
    seq: int = 0  # bumped on every transition request: stale scheduled steps check it and do nothing
    deployed: bool = False  # has been InService once (SageMaker reports ProductionVariants from then on)

    def variant_names(self) -> list[str]:
        return [v["VariantName"] for v in self.serving.variants]


@dataclass
class HostingStore:
    """Models, endpoint configurations and endpoints by name (one account and region)."""

    models: dict[str, Model] = field(default_factory=dict)
    configs: dict[str, EndpointConfig] = field(default_factory=dict)
    endpoints: dict[str, Endpoint] = field(default_factory=dict)

    def endpoint(self, name: str) -> Endpoint | None:
        return self.endpoints.get(name)

    def snapshot(self) -> dict[str, Any]:
        """Every model, configuration and endpoint (for the control API's ``GET state``)."""
        return {
            "models": {m.name: {"arn": m.arn, "creation_time": m.creation_time} for m in self.models.values()},
            "endpoint_configs": {
                c.name: {"arn": c.arn, "creation_time": c.creation_time,
                         "variants": [v["VariantName"] for v in c.request["ProductionVariants"]]}
                for c in self.configs.values()
            },
            "endpoints": {
                e.name: {
                    "arn": e.arn,
                    "status": e.status,
                    "endpoint_config": e.serving.config_name,
                    "pending_endpoint_config": e.pending.config_name if e.pending else None,
                    "failure_reason": e.failure_reason,
                    "creation_time": e.creation_time,
                    "last_modified_time": e.last_modified_time,
                    "variants": [_public_variant(v) for v in e.serving.variants],
                }
                for e in self.endpoints.values()
            },
        }


# ---------------------------------------------------------------------------------------------------------- helpers


def _store(world: World) -> HostingStore:
    return world.sagemaker.hosting


def _tags(request: Mapping[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in request.get("Tags") or []}


def _register_tags(world: World, arn: str, request: Mapping[str, Any]) -> None:
    world.sagemaker.tags.register(arn, list(request.get("Tags") or []))


def _current_tags(world: World, arn: str, fallback: dict[str, str]) -> dict[str, str]:
    """The resource's tags now (AddTags after creation counts), falling back to those given at creation."""
    store = world.sagemaker.tags
    if not store.known(arn):
        return fallback
    return {t["Key"]: t["Value"] for t in store.tags(arn)}


def _duration(tags: Mapping[str, str], default: float) -> float:
    raw = tags.get(DURATION_TAG)
    if raw is None:
        return default
    try:
        return max(float(raw), 0.0)
    except ValueError:
        return default


def model_arn(world: World, name: str) -> str:
    return world.arn("sagemaker", f"model/{name.lower()}")


def config_arn(world: World, name: str) -> str:
    return world.arn("sagemaker", f"endpoint-config/{name.lower()}")


def endpoint_arn(world: World, name: str) -> str:
    return world.arn("sagemaker", f"endpoint/{name.lower()}")


def _model_not_found(world: World, name: str) -> AwsError:
    return validation(f'Could not find model "{model_arn(world, name)}".')


def _config_not_found(world: World, name: str) -> AwsError:
    return validation(f'Could not find endpoint configuration "{config_arn(world, name)}".')


def _endpoint_not_found(world: World, name: str) -> AwsError:
    return validation(f'Could not find endpoint "{endpoint_arn(world, name)}".')


def _in_progress(ep: Endpoint) -> AwsError:
    return validation(f'Cannot update in-progress endpoint "{ep.arn}".')


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def _resolved(image: str) -> str:
    """``repo@sha256:<digest>`` as SageMaker resolves a tag (deterministic per image)."""
    repo = image.split("@", 1)[0]
    if ":" in repo.rsplit("/", 1)[-1]:
        repo = repo.rsplit(":", 1)[0]
    return f"{repo}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


def _images(model: dict[str, Any] | None) -> list[str]:
    if model is None:
        return []
    containers = [model["PrimaryContainer"]] if model.get("PrimaryContainer") else list(model.get("Containers") or [])
    return [c["Image"] for c in containers if c.get("Image")]


def _deployment(world: World, config: EndpointConfig, previous: Deployment | None, retain: set[str]) -> Deployment:
    """The variants an endpoint runs once ``config`` is deployed.

    ``retain`` lists the variant properties (``DesiredInstanceCount``, ``DesiredWeight``, ``DataCaptureConfig``)
    carried over from ``previous`` for variants of the same name (UpdateEndpoint's RetainAllVariantProperties).
    """
    now = world.clock.now()
    store = _store(world)
    old = {v["VariantName"]: v for v in previous.variants} if previous else {}
    variants: list[dict[str, Any]] = []
    for pv in config.request["ProductionVariants"]:
        model = store.models.get(pv.get("ModelName", ""))
        summary: dict[str, Any] = {
            "VariantName": pv["VariantName"],
            "DeployedImages": [
                {"SpecifiedImage": img, "ResolvedImage": _resolved(img), "ResolutionTime": now}
                for img in _images(model.request if model else None)
            ],
        }
        weight = float(pv.get("InitialVariantWeight", 1.0))
        prior = old.get(pv["VariantName"])
        if prior is not None and "DesiredWeight" in retain:
            weight = prior["DesiredWeight"]
        summary["CurrentWeight"] = summary["DesiredWeight"] = weight
        if pv.get("ServerlessConfig"):
            summary["CurrentServerlessConfig"] = summary["DesiredServerlessConfig"] = dict(pv["ServerlessConfig"])
        else:
            count = int(pv.get("InitialInstanceCount", 1))
            if prior is not None and "DesiredInstanceCount" in retain and "DesiredInstanceCount" in prior:
                count = prior["DesiredInstanceCount"]
            summary["CurrentInstanceCount"] = summary["DesiredInstanceCount"] = count
            summary["_InstanceType"] = pv.get("InstanceType")
        variants.append(summary)
    snapshot = dict(config.request)
    if previous is not None and "DataCaptureConfig" in retain:
        if previous.config.get("DataCaptureConfig") is not None:
            snapshot["DataCaptureConfig"] = previous.config["DataCaptureConfig"]
        else:
            snapshot.pop("DataCaptureConfig", None)
    return Deployment(config_name=config.name, config=snapshot, variants=variants)


def _public_variant(v: dict[str, Any]) -> dict[str, Any]:
    return {k: val for k, val in v.items() if not k.startswith("_")}


def _data_capture_summary(config: dict[str, Any]) -> dict[str, Any] | None:
    dc = config.get("DataCaptureConfig")
    if not dc:
        return None
    enabled = bool(dc.get("EnableCapture", False))
    return {
        "EnableCapture": enabled,
        "CaptureStatus": "Started" if enabled else "Stopped",
        "CurrentSamplingPercentage": dc["InitialSamplingPercentage"],
        "DestinationS3Uri": dc["DestinationS3Uri"],
        "KmsKeyId": dc.get("KmsKeyId", ""),
    }


def _schedule(
    world: World, ep: Endpoint, delay: float, step: Callable[[Endpoint], None], *, start: float | None = None
) -> None:
    """Run ``step(ep)`` ``delay`` virtual seconds after ``start`` (default now) unless the endpoint moved on
    (deleted, re-created, updated again)."""
    seq = ep.seq
    store = _store(world)
    when = (world.clock.now() if start is None else start) + delay

    def run() -> None:
        if store.endpoints.get(ep.name) is ep and ep.seq == seq:
            ep.last_modified_time = when  # the transition happened when it was due, not when somebody looked
            step(ep)

    world.scheduler.at(when, run)


def _list_spec(operation: str, name: Callable[[Any], str], *, status: bool = False) -> listing.ListSpec[Any]:
    """ListModels/ListEndpointConfigs/ListEndpoints: SortBy Name|CreationTime(|Status), default CreationTime
    Descending (SageMaker API reference)."""
    sort_keys: dict[str, Callable[[Any], listing.SortValue]] = {
        "Name": name,
        "CreationTime": lambda r: float(r.creation_time),
    }
    if status:
        sort_keys["Status"] = lambda r: str(r.status)
    return listing.ListSpec(
        operation=operation,
        name=name,
        sort_keys=sort_keys,
        default_sort_by="CreationTime",
        default_sort_order=listing.DESCENDING,
        created=lambda r: float(r.creation_time),
        modified=(lambda r: float(r.last_modified_time)) if status else None,
        status=(lambda r: str(r.status)) if status else None,
    )


MODELS_SPEC = _list_spec("ListModels", lambda m: str(m.name))
CONFIGS_SPEC = _list_spec("ListEndpointConfigs", lambda c: str(c.name))
ENDPOINTS_SPEC = _list_spec("ListEndpoints", lambda e: str(e.name), status=True)


# ------------------------------------------------------------------------------------------------------------ models


def create_model(world: World, request: dict[str, Any]) -> dict[str, Any]:
    store = _store(world)
    name = request["ModelName"]
    arn = model_arn(world, name)
    if name in store.models:
        raise validation(f'Cannot create already existing model "{arn}".')
    world.check_execution_role(request.get("ExecutionRoleArn"))
    store.models[name] = Model(name=name, arn=arn, request=dict(request), creation_time=world.clock.now())
    _register_tags(world, arn, request)
    return {"ModelArn": arn}


def describe_model(world: World, request: dict[str, Any]) -> dict[str, Any]:
    model = _store(world).models.get(request["ModelName"])
    if model is None:
        raise _model_not_found(world, request["ModelName"])
    r = model.request
    return _drop_none(
        {
            "ModelName": model.name,
            "PrimaryContainer": r.get("PrimaryContainer"),
            "Containers": r.get("Containers"),
            "InferenceExecutionConfig": r.get("InferenceExecutionConfig"),
            "ExecutionRoleArn": r.get("ExecutionRoleArn"),
            "VpcConfig": r.get("VpcConfig"),
            "CreationTime": model.creation_time,
            "ModelArn": model.arn,
            "EnableNetworkIsolation": bool(r.get("EnableNetworkIsolation", False)),
        }
    )


def delete_model(world: World, request: dict[str, Any]) -> dict[str, Any]:
    store = _store(world)
    model = store.models.pop(request["ModelName"], None)
    if model is None:
        raise _model_not_found(world, request["ModelName"])
    world.sagemaker.tags.forget(model.arn)
    return {}


def list_models(world: World, request: dict[str, Any]) -> dict[str, Any]:
    page = listing.list_page(_store(world).models.values(), request, MODELS_SPEC)
    return page.response("Models", lambda m: {"ModelName": m.name, "ModelArn": m.arn, "CreationTime": m.creation_time})


# -------------------------------------------------------------------------------------------- endpoint configurations


def create_endpoint_config(world: World, request: dict[str, Any]) -> dict[str, Any]:
    store = _store(world)
    name = request["EndpointConfigName"]
    arn = config_arn(world, name)
    if name in store.configs:
        raise validation(f'Cannot create already existing endpoint configuration "{arn}".')
    for pv in list(request["ProductionVariants"]) + list(request.get("ShadowProductionVariants") or []):
        model_name = pv.get("ModelName")
        if model_name is not None and model_name not in store.models:
            raise _model_not_found(world, model_name)
    store.configs[name] = EndpointConfig(
        name=name, arn=arn, request=dict(request), creation_time=world.clock.now(), tags=_tags(request)
    )
    _register_tags(world, arn, request)
    return {"EndpointConfigArn": arn}


def describe_endpoint_config(world: World, request: dict[str, Any]) -> dict[str, Any]:
    config = _store(world).configs.get(request["EndpointConfigName"])
    if config is None:
        raise _config_not_found(world, request["EndpointConfigName"])
    r = config.request
    variants = [{"InitialVariantWeight": 1.0, **pv} for pv in r["ProductionVariants"]]
    return _drop_none(
        {
            "EndpointConfigName": config.name,
            "EndpointConfigArn": config.arn,
            "ProductionVariants": variants,
            "DataCaptureConfig": r.get("DataCaptureConfig"),
            "KmsKeyId": r.get("KmsKeyId"),
            "CreationTime": config.creation_time,
            "AsyncInferenceConfig": r.get("AsyncInferenceConfig"),
            "ExplainerConfig": r.get("ExplainerConfig"),
            "ShadowProductionVariants": r.get("ShadowProductionVariants"),
            "ExecutionRoleArn": r.get("ExecutionRoleArn"),
            "VpcConfig": r.get("VpcConfig"),
            "EnableNetworkIsolation": r.get("EnableNetworkIsolation"),
            "MetricsConfig": r.get("MetricsConfig"),
        }
    )


def delete_endpoint_config(world: World, request: dict[str, Any]) -> dict[str, Any]:
    config = _store(world).configs.pop(request["EndpointConfigName"], None)
    if config is None:
        raise _config_not_found(world, request["EndpointConfigName"])
    world.sagemaker.tags.forget(config.arn)
    return {}


def list_endpoint_configs(world: World, request: dict[str, Any]) -> dict[str, Any]:
    page = listing.list_page(_store(world).configs.values(), request, CONFIGS_SPEC)
    return page.response(
        "EndpointConfigs",
        lambda c: {"EndpointConfigName": c.name, "EndpointConfigArn": c.arn, "CreationTime": c.creation_time},
    )


# --------------------------------------------------------------------------------------------------------- endpoints


def _config_for_endpoint(world: World, name: str) -> EndpointConfig:
    store = _store(world)
    config = store.configs.get(name)
    if config is None:
        raise _config_not_found(world, name)
    for pv in config.request["ProductionVariants"]:
        if pv.get("ModelName") and pv["ModelName"] not in store.models:
            raise _model_not_found(world, pv["ModelName"])
    return config


def create_endpoint(world: World, request: dict[str, Any]) -> dict[str, Any]:
    store = _store(world)
    name = request["EndpointName"]
    arn = endpoint_arn(world, name)
    if name in store.endpoints:
        raise validation(f'Cannot create already existing endpoint "{arn}".')
    config = _config_for_endpoint(world, request["EndpointConfigName"])
    world.quotas.check("endpoints", len(store.endpoints))
    _check_instances(world, config.request["ProductionVariants"])
    now = world.clock.now()
    tags = _tags(request)
    ep = Endpoint(
        name=name,
        arn=arn,
        status="Creating",
        creation_time=now,
        last_modified_time=now,
        serving=_deployment(world, config, None, set()),
        tags=tags,
        deployment_config=request.get("DeploymentConfig"),
    )
    store.endpoints[name] = ep
    _register_tags(world, arn, request)

    def finish(ep: Endpoint) -> None:
        current = _current_tags(world, ep.arn, ep.tags)
        if current.get(OUTCOME_TAG) == "Failed":
            ep.status = "Failed"
            ep.failure_reason = current.get(FAILURE_REASON_TAG) or default_failure_reason(ep.variant_names()[0])
        else:
            ep.status = "InService"
            ep.deployed = True

    _schedule(world, ep, _duration(tags, CREATE_SECONDS), finish)
    return {"EndpointArn": arn}


def _check_instances(world: World, variants: list[dict[str, Any]]) -> None:
    """The account quota on instances per endpoint (``ResourceLimitExceeded``)."""
    total = sum(int(v.get("InitialInstanceCount", v.get("DesiredInstanceCount", 0)) or 0) for v in variants)
    world.quotas.check("instances-per-endpoint", 0, total)


def _get_endpoint(world: World, name: str) -> Endpoint:
    ep = _store(world).endpoints.get(name)
    if ep is None:
        raise _endpoint_not_found(world, name)
    return ep


def describe_endpoint(world: World, request: dict[str, Any]) -> dict[str, Any]:
    ep = _get_endpoint(world, request["EndpointName"])
    out: dict[str, Any] = {
        "EndpointName": ep.name,
        "EndpointArn": ep.arn,
        "EndpointConfigName": ep.serving.config_name,
        "EndpointStatus": ep.status,
        "CreationTime": ep.creation_time,
        "LastModifiedTime": ep.last_modified_time,
    }
    # SageMaker reports running variants only once the endpoint has been deployed once.
    if ep.deployed:
        out["ProductionVariants"] = [_public_variant(v) for v in ep.serving.variants]
        dc = _data_capture_summary(ep.serving.config)
        if dc is not None:
            out["DataCaptureConfig"] = dc
    if ep.failure_reason is not None:
        out["FailureReason"] = ep.failure_reason
    if ep.deployment_config is not None:
        out["LastDeploymentConfig"] = ep.deployment_config
    for key in ("AsyncInferenceConfig", "ExplainerConfig"):
        if ep.serving.config.get(key) is not None:
            out[key] = ep.serving.config[key]
    if ep.pending is not None and ep.status == "Updating":
        out["PendingDeploymentSummary"] = {
            "EndpointConfigName": ep.pending.config_name,
            "ProductionVariants": [
                {
                    **{k: v for k, v in _public_variant(pv).items() if not k.startswith("Current")},
                    "VariantStatus": [{"Status": "Creating", "StartTime": ep.pending_start}],
                    **({"InstanceType": pv["_InstanceType"]} if pv.get("_InstanceType") else {}),
                }
                for pv in ep.pending.variants
            ],
            "StartTime": ep.pending_start,
        }
    return out


def update_endpoint(world: World, request: dict[str, Any]) -> dict[str, Any]:
    ep = _get_endpoint(world, request["EndpointName"])
    config = _config_for_endpoint(world, request["EndpointConfigName"])
    if ep.status in IN_PROGRESS:
        raise _in_progress(ep)
    if ep.status == "Failed":
        raise validation(f'Cannot update failed endpoint "{ep.arn}".')
    retain: set[str] = set()
    if request.get("RetainAllVariantProperties"):
        excluded = {p["VariantPropertyType"] for p in request.get("ExcludeRetainedVariantProperties") or []}
        retain = {"DesiredInstanceCount", "DesiredWeight", "DataCaptureConfig"} - excluded
    pending = _deployment(world, config, ep.serving, retain)
    _check_instances(world, pending.variants)
    now = world.clock.now()
    ep.pending = pending
    ep.pending_start = now
    ep.status = "Updating"
    ep.failure_reason = None
    ep.last_modified_time = now
    ep.seq += 1
    if request.get("DeploymentConfig") is not None:
        ep.deployment_config = request["DeploymentConfig"]
    elif not request.get("RetainDeploymentConfig"):
        ep.deployment_config = None
    config_tags = _current_tags(world, config.arn, config.tags)
    outcome = config_tags.get(UPDATE_OUTCOME_TAG)
    duration = _duration(config_tags, UPDATE_SECONDS)

    def rolled_back(ep: Endpoint) -> None:
        ep.status = "UpdateRollbackFailed" if outcome == "UpdateRollbackFailed" else "InService"

    def finish(ep: Endpoint) -> None:
        pending, ep.pending = ep.pending, None
        if outcome in ("RollingBack", "Failed", "UpdateRollbackFailed") and pending is not None:
            ep.status = "RollingBack"
            ep.failure_reason = config_tags.get(FAILURE_REASON_TAG) or default_failure_reason(
                pending.variants[0]["VariantName"]
            )
            ep.seq += 1
            _schedule(world, ep, ROLLBACK_SECONDS, rolled_back, start=ep.last_modified_time)
            return
        if pending is not None:
            ep.serving = pending
        ep.status = "InService"

    _schedule(world, ep, duration, finish)
    return {"EndpointArn": ep.arn}


def update_endpoint_weights_and_capacities(world: World, request: dict[str, Any]) -> dict[str, Any]:
    ep = _get_endpoint(world, request["EndpointName"])
    if ep.status in IN_PROGRESS:
        raise _in_progress(ep)
    if ep.status == "Failed":
        raise validation(f'Cannot update failed endpoint "{ep.arn}".')
    by_name = {v["VariantName"]: v for v in ep.serving.variants}
    missing = [d["VariantName"] for d in request["DesiredWeightsAndCapacities"] if d["VariantName"] not in by_name]
    if missing:
        raise validation(f"The variant(s) \"[{', '.join(missing)}]\" are not present in the endpoint \"{ep.arn}\".")
    counts = {v["VariantName"]: v.get("DesiredInstanceCount", 0) for v in ep.serving.variants}
    counts.update({d["VariantName"]: d["DesiredInstanceCount"] for d in request["DesiredWeightsAndCapacities"]
                   if "DesiredInstanceCount" in d})
    _check_instances(world, [{"DesiredInstanceCount": c} for c in counts.values()])
    capacity_change = False
    for d in request["DesiredWeightsAndCapacities"]:
        if "DesiredWeight" not in d and "DesiredInstanceCount" not in d and "ServerlessUpdateConfig" not in d:
            raise validation(
                f"Either DesiredWeight or DesiredInstanceCount must be specified for variant {d['VariantName']}."
            )
        v = by_name[d["VariantName"]]
        if "DesiredWeight" in d:
            v["DesiredWeight"] = float(d["DesiredWeight"])
        if "DesiredInstanceCount" in d and "CurrentInstanceCount" in v:
            v["DesiredInstanceCount"] = int(d["DesiredInstanceCount"])
            capacity_change = capacity_change or v["DesiredInstanceCount"] != v["CurrentInstanceCount"]
        if d.get("ServerlessUpdateConfig") and "DesiredServerlessConfig" in v:
            v["DesiredServerlessConfig"] = {**v["DesiredServerlessConfig"], **d["ServerlessUpdateConfig"]}
            capacity_change = True
    ep.status = "Updating"
    ep.failure_reason = None
    ep.last_modified_time = world.clock.now()
    ep.seq += 1

    def finish(ep: Endpoint) -> None:
        for v in ep.serving.variants:
            v["CurrentWeight"] = v["DesiredWeight"]
            if "DesiredInstanceCount" in v:
                v["CurrentInstanceCount"] = v["DesiredInstanceCount"]
            if "DesiredServerlessConfig" in v:
                v["CurrentServerlessConfig"] = dict(v["DesiredServerlessConfig"])
        ep.status = "InService"

    _schedule(world, ep, CAPACITY_SECONDS if capacity_change else WEIGHTS_ONLY_SECONDS, finish)
    return {"EndpointArn": ep.arn}


def delete_endpoint(world: World, request: dict[str, Any]) -> dict[str, Any]:
    ep = _get_endpoint(world, request["EndpointName"])
    if ep.status in IN_PROGRESS:
        raise _in_progress(ep)
    ep.status = "Deleting"
    ep.pending = None
    ep.last_modified_time = world.clock.now()
    ep.seq += 1
    store = _store(world)

    def gone(ep: Endpoint) -> None:
        del store.endpoints[ep.name]
        world.sagemaker.tags.forget(ep.arn)

    _schedule(world, ep, DELETE_SECONDS, gone)
    return {}


def list_endpoints(world: World, request: dict[str, Any]) -> dict[str, Any]:
    page = listing.list_page(_store(world).endpoints.values(), request, ENDPOINTS_SPEC)
    return page.response(
        "Endpoints",
        lambda e: {
            "EndpointName": e.name,
            "EndpointArn": e.arn,
            "CreationTime": e.creation_time,
            "LastModifiedTime": e.last_modified_time,
            "EndpointStatus": e.status,
        },
    )


OPERATIONS: Mapping[str, Handler] = {
    "CreateModel": create_model,
    "DescribeModel": describe_model,
    "DeleteModel": delete_model,
    "ListModels": list_models,
    "CreateEndpointConfig": create_endpoint_config,
    "DescribeEndpointConfig": describe_endpoint_config,
    "DeleteEndpointConfig": delete_endpoint_config,
    "ListEndpointConfigs": list_endpoint_configs,
    "CreateEndpoint": create_endpoint,
    "DescribeEndpoint": describe_endpoint,
    "UpdateEndpoint": update_endpoint,
    "UpdateEndpointWeightsAndCapacities": update_endpoint_weights_and_capacities,
    "DeleteEndpoint": delete_endpoint,
    "ListEndpoints": list_endpoints,
}
