"""The kinds of sagemaker.aws.amazon.com/v1 and what a CRD needs to know about each (names, columns, immutability).

``KINDS`` maps a kind to its root model; ``INFO`` to its :class:`KindInfo`. Printer columns start with the original
operator's (../shared/reference/original-operator.md section 1), in its order and with its names, followed by new
ones. ``immutable`` lists spec fields (dotted paths of wire names under ``.spec``) SageMaker cannot change after
creation, each with the message a rejected edit gets; every kind's ``region`` is among them. For the four jobs it is
derived (:func:`job_immutable`): every spec field but a short explicit list of updatable ones, so a field a botocore
update adds is immutable by default. The hosting kinds apply every edit (a new endpoint configuration and
UpdateEndpoint, a replacement Model or EndpointConfig, re-registered scaling targets): only their ``region`` and
HostingDeployment's ``endpointName`` are immutable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, get_args

from pydantic import BaseModel

from smk8s.api.v1.batch_transform_job import BatchTransformJob
from smk8s.api.v1.common import GROUP, VERSION
from smk8s.api.v1.endpoint_config import EndpointConfig
from smk8s.api.v1.hosting_autoscaling_policy import HostingAutoscalingPolicy
from smk8s.api.v1.hosting_deployment import HostingDeployment
from smk8s.api.v1.hyperparameter_tuning_job import HyperparameterTuningJob
from smk8s.api.v1.model import Model
from smk8s.api.v1.processing_job import ProcessingJob
from smk8s.api.v1.training_job import TrainingJob

CATEGORY = "sagemaker"


@dataclass(frozen=True)
class PrinterColumn:
    """An additionalPrinterColumns entry."""

    name: str
    json_path: str
    type: str = "string"
    description: str = ""
    priority: int = 0
    format: str = ""


@dataclass(frozen=True)
class Immutable:
    """A spec field that cannot change once the object exists (a CEL transition rule in the CRD)."""

    # Dotted wire names under .spec, e.g. "resourceConfig.instanceType". A field absent before may be set once (the
    # controller writes generated names into trainingJobName and the like); changing or removing it is refused.
    path: str
    message: str


@dataclass(frozen=True)
class KindInfo:
    kind: str
    model: type[BaseModel]
    plural: str
    singular: str
    short_names: tuple[str, ...]
    printer_columns: tuple[PrinterColumn, ...]
    immutable: tuple[Immutable, ...]
    is_job: bool
    categories: tuple[str, ...] = (CATEGORY,)

    @property
    def group(self) -> str:
        return GROUP

    @property
    def version(self) -> str:
        return VERSION

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{GROUP}"


def _created() -> PrinterColumn:
    return PrinterColumn("Creation-Time", ".metadata.creationTimestamp", "date")


def _ready() -> PrinterColumn:
    return PrinterColumn("Ready", '.status.conditions[?(@.type=="Ready")].status',
                         description="Whether the SageMaker resource is ready (jobs: ended successfully)")


def _region(kind: str) -> Immutable:
    return Immutable("region", f"region cannot be changed: delete the {kind} and create it again in the other region")


# Spec fields of every kind that are the operator's, not SageMaker's: where the API is. Both are immutable.
OPERATOR_FIELDS: Final = ("region", "sageMakerEndpoint")


@dataclass(frozen=True)
class JobMutability:
    """What of a job's spec may change after creation; everything else is immutable (:func:`job_immutable`).

    ``updatable`` are dotted wire paths the controller brings SageMaker to after an edit (tags: AddTags/DeleteTags
    by the job reconciler; TrainingJob: the members of UpdateTrainingJob). ``split`` are object fields some of
    whose members are updatable: each of their other members is immutable on its own (a rule cannot point into a
    list, so only object fields can be split).
    """

    updatable: tuple[str, ...] = ("tags",)
    split: tuple[str, ...] = ()


# UpdateTrainingJob's members (botocore's SageMaker model: TrainingJobName, ProfilerConfig, ProfilerRuleConfigurations,
# ResourceConfig (ResourceConfigForUpdate: KeepAlivePeriodInSeconds only) and RemoteDebugConfig), plus tags.
TRAINING_JOB_MUTABILITY: Final = JobMutability(
    updatable=("tags", "profilerConfig", "profilerRuleConfigurations", "remoteDebugConfig",
               "resourceConfig.keepAlivePeriodInSeconds"),
    split=("resourceConfig",),
)
# Tuning, processing and transform jobs have no Update operation: only their tags change.
TAGS_ONLY: Final = JobMutability()


def spec_model(root: type[BaseModel]) -> type[BaseModel]:
    """The spec model of a kind's root model."""
    return _object_model(root, "spec")


def _object_model(model: type[BaseModel], wire_name: str) -> type[BaseModel]:
    """The model of the object field ``wire_name`` of ``model`` (optional or not); ValueError if not an object."""
    for field in model.model_fields.values():
        if field.alias != wire_name:
            continue
        for candidate in (field.annotation, *get_args(field.annotation)):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                return candidate
        raise ValueError(f"{model.__name__}.{wire_name} is not an object (a list or a scalar cannot be split)")
    raise ValueError(f"{model.__name__} has no field {wire_name!r}")


def wire_names(model: type[BaseModel]) -> tuple[str, ...]:
    """The wire names (aliases) of a model's fields, in declaration order."""
    return tuple(f.alias or name for name, f in model.model_fields.items())


def job_immutable(kind: str, spec: type[BaseModel], mutability: JobMutability) -> tuple[Immutable, ...]:
    """Every spec field of a job (split fields member by member) but the updatable ones, ``region`` first.

    Derived from the spec model, so a field a botocore update adds is immutable until someone makes the controller
    update it and lists it in ``mutability``. The message says what can be updated and what to do instead.
    """
    *others, last = mutability.updatable
    updatable = f"{', '.join(others)} and {last}" if others else last
    message = (f"{{field}} of a {kind} cannot be changed after creation (SageMaker jobs are immutable; only "
               f"{updatable} can be updated): create a new {kind} instead")
    paths: list[str] = []
    for name in wire_names(spec):
        if name == "region" or name in mutability.updatable:
            continue
        if name in mutability.split:
            paths += [f"{name}.{member}" for member in wire_names(_object_model(spec, name))
                      if f"{name}.{member}" not in mutability.updatable]
        else:
            paths.append(name)
    return (_region(kind), *(Immutable(p, message.format(field=p)) for p in paths))


TRAINING_JOB = KindInfo(
    kind="TrainingJob",
    model=TrainingJob,
    plural="trainingjobs",
    singular="trainingjob",
    short_names=("tj",),
    printer_columns=(
        PrinterColumn("Status", ".status.trainingJobStatus"),
        PrinterColumn("Secondary-Status", ".status.secondaryStatus"),
        _created(),
        PrinterColumn("Sagemaker-Job-Name", ".status.sageMakerTrainingJobName"),
        _ready(),
        PrinterColumn("Arn", ".status.trainingJobArn", priority=1),
    ),
    immutable=job_immutable("TrainingJob", spec_model(TrainingJob), TRAINING_JOB_MUTABILITY),
    is_job=True,
)

HYPERPARAMETER_TUNING_JOB = KindInfo(
    kind="HyperparameterTuningJob",
    model=HyperparameterTuningJob,
    plural="hyperparametertuningjobs",
    singular="hyperparametertuningjob",
    short_names=("hpo",),
    printer_columns=(
        PrinterColumn("Status", ".status.hyperParameterTuningJobStatus"),
        _created(),
        PrinterColumn("Completed", ".status.trainingJobStatusCounters.completed", "integer"),
        PrinterColumn("InProgress", ".status.trainingJobStatusCounters.inProgress", "integer"),
        PrinterColumn("Errors", ".status.trainingJobStatusCounters.totalError", "integer"),
        PrinterColumn("Stopped", ".status.trainingJobStatusCounters.stopped", "integer"),
        PrinterColumn("Best-Training-Job", ".status.bestTrainingJob.trainingJobName"),
        PrinterColumn("Sagemaker-Job-Name", ".status.sageMakerHyperParameterTuningJobName"),
        _ready(),
        PrinterColumn("Arn", ".status.hyperParameterTuningJobArn", priority=1),
    ),
    immutable=job_immutable("HyperparameterTuningJob", spec_model(HyperparameterTuningJob), TAGS_ONLY),
    is_job=True,
)

PROCESSING_JOB = KindInfo(
    kind="ProcessingJob",
    model=ProcessingJob,
    plural="processingjobs",
    singular="processingjob",
    short_names=("pj",),
    printer_columns=(
        PrinterColumn("Status", ".status.processingJobStatus"),
        _created(),
        PrinterColumn("Sagemaker-Job-Name", ".status.sageMakerProcessingJobName"),
        _ready(),
        PrinterColumn("Arn", ".status.processingJobArn", priority=1),
    ),
    immutable=job_immutable("ProcessingJob", spec_model(ProcessingJob), TAGS_ONLY),
    is_job=True,
)

BATCH_TRANSFORM_JOB = KindInfo(
    kind="BatchTransformJob",
    model=BatchTransformJob,
    plural="batchtransformjobs",
    singular="batchtransformjob",
    short_names=("btj",),
    printer_columns=(
        PrinterColumn("Status", ".status.transformJobStatus"),
        _created(),
        PrinterColumn("Sagemaker-Job-Name", ".status.sageMakerTransformJobName"),
        _ready(),
        PrinterColumn("Arn", ".status.transformJobArn", priority=1),
    ),
    immutable=job_immutable("BatchTransformJob", spec_model(BatchTransformJob), TAGS_ONLY),
    is_job=True,
)

HOSTING_DEPLOYMENT = KindInfo(
    kind="HostingDeployment",
    model=HostingDeployment,
    plural="hostingdeployments",
    singular="hostingdeployment",
    short_names=("hd",),
    printer_columns=(
        PrinterColumn("Status", ".status.endpointStatus"),
        PrinterColumn("Sagemaker-endpoint-name", ".status.endpointName"),
        _ready(),
        PrinterColumn("Age", ".metadata.creationTimestamp", "date"),
        PrinterColumn("Endpoint-Url", ".status.endpointUrl", priority=1),
    ),
    immutable=(
        _region("HostingDeployment"),
        Immutable("endpointName", "endpointName cannot be changed: create a new HostingDeployment for another "
                                  "endpoint and delete this one"),
    ),
    is_job=False,
)

MODEL = KindInfo(
    kind="Model",
    model=Model,
    plural="models",
    singular="model",
    short_names=("smmodel",),
    printer_columns=(
        PrinterColumn("Status", ".status.status"),
        PrinterColumn("Sage-Maker-Model-Name", ".status.sageMakerModelName"),
        _ready(),
        PrinterColumn("Age", ".metadata.creationTimestamp", "date"),
    ),
    immutable=(_region("Model"),),
    is_job=False,
)

ENDPOINT_CONFIG = KindInfo(
    kind="EndpointConfig",
    model=EndpointConfig,
    plural="endpointconfigs",
    singular="endpointconfig",
    short_names=("smepc",),
    printer_columns=(
        PrinterColumn("Status", ".status.status"),
        PrinterColumn("Sage-Maker-EndpointConfig-Name", ".status.sageMakerEndpointConfigName"),
        _ready(),
        PrinterColumn("Age", ".metadata.creationTimestamp", "date"),
    ),
    immutable=(_region("EndpointConfig"),),
    is_job=False,
)

HOSTING_AUTOSCALING_POLICY = KindInfo(
    kind="HostingAutoscalingPolicy",
    model=HostingAutoscalingPolicy,
    plural="hostingautoscalingpolicies",
    singular="hostingautoscalingpolicy",
    short_names=("hap",),
    printer_columns=(
        PrinterColumn("Status", ".status.hostingAutoscalingPolicyStatus"),
        _created(),
        _ready(),
        PrinterColumn("Policy-Name", ".status.policyName", priority=1),
    ),
    immutable=(_region("HostingAutoscalingPolicy"),),
    is_job=False,
)

INFO: dict[str, KindInfo] = {i.kind: i for i in (
    TRAINING_JOB, HYPERPARAMETER_TUNING_JOB, PROCESSING_JOB, BATCH_TRANSFORM_JOB, HOSTING_DEPLOYMENT, MODEL,
    ENDPOINT_CONFIG, HOSTING_AUTOSCALING_POLICY,
)}
KINDS: dict[str, type[BaseModel]] = {k: i.model for k, i in INFO.items()}
