"""The job kinds ``kubectl smlogs`` reads logs of: how each is named on the command line, where its SageMaker name and
status live in the object, which SageMaker call describes it and which CloudWatch Logs group its jobs write to.

Pure data and lookups; no I/O. Kind names, plurals and short names repeat :mod:`smk8s.api.v1.registry`'s (a unit test
keeps them equal): importing the registry loads every pydantic model, a quarter of a second the plugin need not
spend on each run. The original plugin's aliases (``TrainingJob``, ``trainingjobs``, ``BatchtransformJob``,
``HyperParameterTuningJob``, ...; ../shared/reference/original-operator.md section 4) are all matched, because
:func:`kind_for` compares case-insensitively against every kind's singular, plural, kind and short names (kubectl
resolves resource types case-insensitively as well).
"""

from __future__ import annotations

from dataclasses import dataclass

GROUP = "sagemaker.aws.amazon.com"
VERSION = "v1"

TERMINAL_STATUSES = frozenset({"Completed", "Failed", "Stopped"})

TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"
PROCESSING_LOG_GROUP = "/aws/sagemaker/ProcessingJobs"
TRANSFORM_LOG_GROUP = "/aws/sagemaker/TransformJobs"


@dataclass(frozen=True)
class JobKind:
    """One kind of job object and how to find its SageMaker job and logs."""

    kind: str
    plural: str
    singular: str
    short_names: tuple[str, ...]
    name_field: str
    """``.status`` field holding the SageMaker job name (written by the operator once it created the job)."""
    status_field: str
    """``.status`` field holding the job's status as the operator last saw it."""
    secondary_status_field: str | None
    describe_operation: str
    """The SageMaker call that describes the job (the botocore operation name)."""
    name_member: str
    """The request member naming the job in ``describe_operation``."""
    status_member: str
    """The Describe answer's status member."""
    log_group: str | None
    """Where the job's containers log; None for tuning jobs, whose logs are their child training jobs'."""
    noun: str
    """How messages name a SageMaker job of this kind ("training job")."""
    extra_aliases: tuple[str, ...] = ()

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{GROUP}"

    @property
    def has_children(self) -> bool:
        return self.log_group is None

    def aliases(self) -> frozenset[str]:
        """Every lower-cased name this kind answers to on the command line."""
        names = {self.kind, self.plural, self.singular, f"{self.kind}s", self.crd_name, *self.short_names,
                 *self.extra_aliases}
        return frozenset(name.lower() for name in names)


TRAINING = JobKind(
    kind="TrainingJob",
    plural="trainingjobs",
    singular="trainingjob",
    short_names=("tj",),
    name_field="sageMakerTrainingJobName",
    status_field="trainingJobStatus",
    secondary_status_field="secondaryStatus",
    describe_operation="DescribeTrainingJob",
    name_member="TrainingJobName",
    status_member="TrainingJobStatus",
    log_group=TRAINING_LOG_GROUP,
    noun="training job",
)
PROCESSING = JobKind(
    kind="ProcessingJob",
    plural="processingjobs",
    singular="processingjob",
    short_names=("pj",),
    name_field="sageMakerProcessingJobName",
    status_field="processingJobStatus",
    secondary_status_field=None,
    describe_operation="DescribeProcessingJob",
    name_member="ProcessingJobName",
    status_member="ProcessingJobStatus",
    log_group=PROCESSING_LOG_GROUP,
    noun="processing job",
)
TRANSFORM = JobKind(
    kind="BatchTransformJob",
    plural="batchtransformjobs",
    singular="batchtransformjob",
    short_names=("btj",),
    name_field="sageMakerTransformJobName",
    status_field="transformJobStatus",
    secondary_status_field=None,
    describe_operation="DescribeTransformJob",
    name_member="TransformJobName",
    status_member="TransformJobStatus",
    log_group=TRANSFORM_LOG_GROUP,
    noun="transform job",
    extra_aliases=("transformjob", "transformjobs"),
)
TUNING = JobKind(
    kind="HyperparameterTuningJob",
    plural="hyperparametertuningjobs",
    singular="hyperparametertuningjob",
    short_names=("hpo",),
    name_field="sageMakerHyperParameterTuningJobName",
    status_field="hyperParameterTuningJobStatus",
    secondary_status_field=None,
    describe_operation="DescribeHyperParameterTuningJob",
    name_member="HyperParameterTuningJobName",
    status_member="HyperParameterTuningJobStatus",
    log_group=None,
    noun="hyperparameter tuning job",
    extra_aliases=("tuningjob", "tuningjobs"),
)

JOB_KINDS: tuple[JobKind, ...] = (TRAINING, PROCESSING, TRANSFORM, TUNING)


class UnknownKindError(ValueError):
    """The TYPE argument names no job kind."""


def kind_for(name: str) -> JobKind:
    """The kind ``name`` designates (case-insensitive; singular, plural, kind, short name or ``plural.group``)."""
    wanted = name.strip().lower()
    for kind in JOB_KINDS:
        if wanted in kind.aliases():
            return kind
    choices = ", ".join(kind.singular for kind in JOB_KINDS)
    raise UnknownKindError(f'unknown job type "{name}": use one of {choices}')


def is_terminal(status: str | None) -> bool:
    """Whether a SageMaker job status is final (Completed, Failed or Stopped)."""
    return status in TERMINAL_STATUSES
