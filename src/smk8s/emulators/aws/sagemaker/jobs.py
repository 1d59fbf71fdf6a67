"""SageMaker training, processing and transform jobs: Create/Describe/Stop/List, UpdateTrainingJob, lifecycles.

Operations (``OPERATIONS``): CreateTrainingJob, DescribeTrainingJob, StopTrainingJob, ListTrainingJobs,
UpdateTrainingJob, CreateProcessingJob, DescribeProcessingJob, StopProcessingJob, ListProcessingJobs,
CreateTransformJob, DescribeTransformJob, StopTransformJob, ListTransformJobs.

Names and errors (as SageMaker answers them):

- Job names are unique per account and region for ever, compared case-insensitively (ARNs carry the lower-cased
  name), even after the job ended: ``ResourceInUse`` "Training job names must be unique within an AWS account and
  region, and a training job with this name already exists (ARN)" (text seen in user reports, e.g.
  SuperCowPowers/workbench#384); processing/transform jobs: "Job name must be unique ... a job with this name already
  exists (ARN)" (emulator's wording, same code).
- Unknown training job (Describe/Stop/Update): ``ValidationException`` "Requested resource not found." (the original
  operator's not-found test, ../shared/reference/original-operator.md 2.1). Unknown processing/transform job:
  ``ValidationException`` "Could not find requested job with name NAME" (the operator's clientwrapper prefix
  "Could not find requested job").
- Stop on a job that is not ``InProgress``: ``ValidationException`` "The request was rejected because the training
  job is in status Stopped." (awslabs/benchmark-ai#928); same wording for processing/transform jobs.
- Managed spot training needs ``StoppingCondition.MaxWaitTimeInSeconds`` >= ``MaxRuntimeInSeconds``:
  ``ValidationException`` "Invalid MaxWaitTimeInSeconds. It must be present and be greater than or equal to
  MaxRuntimeInSeconds".
- Account quotas (``world.quotas``, see quotas.py): jobs InProgress or Stopping count against
  ``training-jobs-running``, ``processing-jobs-running`` and ``transform-jobs-running``; one more is
  ``ResourceLimitExceeded`` in SageMaker's account-level service limit wording. Tuning children count too.
- CreateTransformJob needs its model: ``ValidationException`` 'Could not find model "ARN".' unless the model's ARN is
  registered in the tag store (the hosting store registers every model it creates).

Lifecycle of a training job (virtual seconds, defaults in :class:`Durations`; ``--time-scale`` compresses them)::

    t=0        InProgress / Starting     "Launching requested ML instances"
    +90        (same)                    "Preparing the instances for training"
    +60        InProgress / Downloading  "Downloading input data"         TrainingStartTime; log streams appear
    +30        InProgress / Training     "Downloading the training image..."
    +min(20, d/4)                        "Training image download completed. Training in progress."
    ... a progress log line on every instance every 60 s ...
    +d         InProgress / Uploading    "Uploading generated training model"   final metric log lines
    +20        Completed / Completed     "Training job completed"     ModelArtifacts, FinalMetricDataList, times

``d`` (the Training phase) defaults to 600 s. Failed jobs end at the end of the Training phase (``Failed`` /
``Failed``, FailureReason, no artifacts). StopTrainingJob: ``Stopping`` / ``Stopping`` at once, ``Stopped`` /
``Stopped`` 60 s later (with ModelArtifacts when the containers had started: the algorithm gets SIGTERM and saves its
model). ``StoppingCondition.MaxRuntimeInSeconds`` (default 86400) counts container run time: exceeding it ends the job
``Stopped`` / ``MaxRuntimeExceeded`` with artifacts; for spot jobs ``MaxWaitTimeInSeconds`` counts from creation:
``Stopped`` / ``MaxWaitTimeExceeded``. A spot interruption (outcome tag ``Interrupted``, needs
``EnableManagedSpotTraining``) happens half-way through the Training phase: ``Interrupted`` for 120 s, then Starting,
Downloading, Training (the remaining half), Uploading, Completed, with new log streams for the new instances.

TrainingTimeInSeconds = TrainingEndTime - TrainingStartTime; BillableTimeInSeconds = seconds the containers ran
(x 0.3 for spot: a 70 % saving). Debug/profiler rules start ``InProgress`` and become ``NoIssuesFound`` 60 s after the
job completes (``Stopped`` when it stops or fails). Warm pools (``ResourceConfig.KeepAlivePeriodInSeconds`` > 0):
``WarmPoolStatus.Status`` = ``Available`` once Completed, ``Terminated`` (with ResourceRetainedBillableTimeInSeconds)
after the keep-alive period; UpdateTrainingJob changes the period while the pool is not terminated.

Processing jobs: InProgress, ProcessingStartTime after 120 s, Completed (or Failed) after the run (default 300 s);
Stop: Stopping, Stopped 30 s later. Transform jobs: InProgress, TransformStartTime after 180 s, Completed/Failed after
the run (default 300 s); Stop: Stopping, Stopped 30 s later.

Outcome tags (read once, at creation, from the request's ``Tags``):

- ``emulator.smk8s/outcome``: ``Completed`` (default), ``Failed``, or ``Interrupted`` (training, spot only).
- ``emulator.smk8s/duration-seconds``: length of the Training phase (training) or of the run (processing,
  transform), in seconds.
- ``emulator.smk8s/failure-reason``: the FailureReason of a failing job (default
  "AlgorithmError: See job logs for more information").
- ``emulator.smk8s/final-metrics``: final metrics as ``name=value`` pairs separated by spaces (tag values cannot hold
  commas), e.g. ``validation:auc=0.91 train:loss=0.2``. Default: one value per ``MetricDefinitions`` name (or
  ``train:loss``), derived from the job name.
- ``emulator.smk8s/rule-evaluation``: the final status of debug/profiler rules of a completed job
  (``NoIssuesFound`` default, ``IssuesFound``, ``Error``).

CloudWatch Logs: training writes to ``/aws/sagemaker/TrainingJobs``, stream ``<job>/algo-<n>-<epoch>`` per instance;
processing to ``/aws/sagemaker/ProcessingJobs``, ``<job>/algo-<n>-<epoch>``; transform to
``/aws/sagemaker/TransformJobs``, ``<job>/<instance-id>-<epoch>`` plus ``<job>/<instance-id>-<epoch>/data-log``.
``<epoch>`` is the (virtual) second the instance's container started; events carry the virtual instant of the
lifecycle step that wrote them. All writes go through :func:`write_log_events`.

For the tuning store (public functions): :func:`create_training_job` launches a (child) training job, with
``tuning_job_arn``, ``final_metrics`` and ``at`` (the due instant of the lifecycle step launching it);
:func:`stop_training` stops one; :func:`on_training_job_terminal` registers a callback run with the job's
description when it ends; :func:`training_job_description` and :func:`training_jobs_of_tuning_job` read jobs.
"""

from __future__ import annotations

import copy
import hashlib
import math
import random
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from smk8s.emulators.aws.errors import AwsError, resource_in_use, validation
from smk8s.emulators.aws.sagemaker.listing import ASCENDING, DESCENDING, ListSpec, list_page

if TYPE_CHECKING:
    from smk8s.emulators.aws.world import Handler, World

OUTCOME_TAG = "emulator.smk8s/outcome"
DURATION_TAG = "emulator.smk8s/duration-seconds"
FAILURE_REASON_TAG = "emulator.smk8s/failure-reason"
FINAL_METRICS_TAG = "emulator.smk8s/final-metrics"
RULE_EVALUATION_TAG = "emulator.smk8s/rule-evaluation"

COMPLETED, FAILED, INTERRUPTED = "Completed", "Failed", "Interrupted"
IN_PROGRESS, STOPPING, STOPPED = "InProgress", "Stopping", "Stopped"
TERMINAL = frozenset({COMPLETED, FAILED, STOPPED})
DEFAULT_FAILURE_REASON = "AlgorithmError: See job logs for more information"
DEFAULT_MAX_RUNTIME_SECONDS = 86400
SPOT_BILLING_FACTOR = 0.3
MAX_PROGRESS_LINES = 200

TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"
PROCESSING_LOG_GROUP = "/aws/sagemaker/ProcessingJobs"
TRANSFORM_LOG_GROUP = "/aws/sagemaker/TransformJobs"


@dataclass(frozen=True)
class Durations:
    """Default phase lengths in virtual seconds (see module docstring)."""

    launching: float = 90.0
    preparing: float = 60.0
    downloading: float = 30.0
    image_download: float = 20.0
    training: float = 600.0
    uploading: float = 20.0
    stopping: float = 60.0
    interruption: float = 120.0
    rule_evaluation: float = 60.0
    log_interval: float = 60.0
    processing_starting: float = 120.0
    processing: float = 300.0
    processing_stopping: float = 30.0
    transform_starting: float = 180.0
    transform: float = 300.0
    transform_stopping: float = 30.0


# --------------------------------------------------------------------------------------------------------------------
# Kinds


@dataclass(frozen=True)
class Kind:
    """What differs between the three job kinds."""

    label: str  # "training", in messages
    prefix: str  # "TrainingJob": members are <prefix>Name, <prefix>Arn, <prefix>Status
    arn_type: str
    log_group: str
    start_member: str
    end_member: str
    summary_members: tuple[str, ...]
    has_last_modified: bool  # DescribeTransformJob has no LastModifiedTime

    @property
    def name_member(self) -> str:
        return f"{self.prefix}Name"

    @property
    def arn_member(self) -> str:
        return f"{self.prefix}Arn"

    @property
    def status_member(self) -> str:
        return f"{self.prefix}Status"

    def not_found(self, name: str) -> AwsError:
        if self is TRAINING:
            return validation("Requested resource not found.")
        return validation(f"Could not find requested job with name {name}")

    def in_use(self, arn: str) -> AwsError:
        if self is TRAINING:
            return resource_in_use("Training job names must be unique within an AWS account and region, and a "
                                   f"training job with this name already exists ({arn})")
        return resource_in_use("Job name must be unique within an AWS account and region, and a job with this name "
                               f"already exists ({arn})")


TRAINING = Kind("training", "TrainingJob", "training-job", TRAINING_LOG_GROUP, "TrainingStartTime", "TrainingEndTime",
                ("TrainingJobName", "TrainingJobArn", "CreationTime", "TrainingEndTime", "LastModifiedTime",
                 "TrainingJobStatus", "SecondaryStatus", "WarmPoolStatus"), True)
PROCESSING = Kind("processing", "ProcessingJob", "processing-job", PROCESSING_LOG_GROUP, "ProcessingStartTime",
                  "ProcessingEndTime", ("ProcessingJobName", "ProcessingJobArn", "CreationTime", "ProcessingEndTime",
                                        "LastModifiedTime", "ProcessingJobStatus", "FailureReason", "ExitMessage"),
                  True)
TRANSFORM = Kind("transform", "TransformJob", "transform-job", TRANSFORM_LOG_GROUP, "TransformStartTime",
                 "TransformEndTime", ("TransformJobName", "TransformJobArn", "CreationTime", "TransformEndTime",
                                      "LastModifiedTime", "TransformJobStatus", "FailureReason"), False)
KINDS = (TRAINING, PROCESSING, TRANSFORM)
# The account quota (quotas.py) each kind's running jobs count against.
QUOTAS = {TRAINING.label: "training-jobs-running", PROCESSING.label: "processing-jobs-running",
          TRANSFORM.label: "transform-jobs-running"}


# --------------------------------------------------------------------------------------------------------------------
# Outcome tags (pure)


@dataclass(frozen=True)
class Outcome:
    """What the outcome tags ask for (see module docstring)."""

    result: str = COMPLETED
    duration: float | None = None
    failure_reason: str = DEFAULT_FAILURE_REASON
    final_metrics: dict[str, float] | None = None
    rule_result: str = "NoIssuesFound"


def outcome_from_tags(tags: Iterable[Mapping[str, str]], kind: Kind) -> Outcome:
    """Parse the outcome tags; a malformed value is a ``ValidationException`` naming the tag."""
    values = {t["Key"]: t.get("Value", "") for t in tags}
    result = values.get(OUTCOME_TAG, COMPLETED)
    allowed = (COMPLETED, FAILED, INTERRUPTED) if kind is TRAINING else (COMPLETED, FAILED)
    if result not in allowed:
        raise validation(f"Tag {OUTCOME_TAG} must be one of {', '.join(allowed)} for a {kind.label} job, "
                         f"not '{result}'")
    duration: float | None = None
    if DURATION_TAG in values:
        try:
            duration = float(values[DURATION_TAG])
        except ValueError:
            duration = -1.0
        if not (duration >= 0 and math.isfinite(duration)):
            raise validation(f"Tag {DURATION_TAG} must be a non-negative number of seconds, "
                             f"not '{values[DURATION_TAG]}'")
    metrics: dict[str, float] | None = None
    if FINAL_METRICS_TAG in values:
        metrics = {}
        for pair in values[FINAL_METRICS_TAG].split():
            name, sep, raw = pair.rpartition("=")
            try:
                metrics[name] = float(raw)
            except ValueError:
                name = ""
            if not sep or not name:
                raise validation(f"Tag {FINAL_METRICS_TAG} must hold name=value pairs separated by spaces, "
                                 f"not '{values[FINAL_METRICS_TAG]}'")
    rule_result = values.get(RULE_EVALUATION_TAG, "NoIssuesFound")
    if rule_result not in ("NoIssuesFound", "IssuesFound", "Error"):
        raise validation(f"Tag {RULE_EVALUATION_TAG} must be one of NoIssuesFound, IssuesFound, Error, "
                         f"not '{rule_result}'")
    return Outcome(result, duration, values.get(FAILURE_REASON_TAG) or DEFAULT_FAILURE_REASON, metrics, rule_result)


# --------------------------------------------------------------------------------------------------------------------
# Lifecycle plans (pure): offsets from creation -> actions


@dataclass(frozen=True)
class Transition:
    """Enter a new secondary status (training only)."""

    status: str
    message: str


@dataclass(frozen=True)
class StatusMessage:
    """Update the current secondary status's message."""

    message: str


@dataclass(frozen=True)
class ContainersUp:
    """Instances start their containers: start time, log streams."""


@dataclass(frozen=True)
class ContainersDown:
    """Instances go away (spot interruption): stop counting billable time."""


@dataclass(frozen=True)
class Progress:
    """A progress log line on every instance; ``fraction`` of the run done."""

    fraction: float


@dataclass(frozen=True)
class FinalMetrics:
    """The algorithm logs its final metrics (FinalMetricDataList)."""


@dataclass(frozen=True)
class Finish:
    """The job ends."""

    status: str
    secondary: str = ""
    message: str = ""
    failure_reason: str | None = None
    artifacts: bool = False


Action = Transition | StatusMessage | ContainersUp | ContainersDown | Progress | FinalMetrics | Finish
Plan = list[tuple[float, Action]]


def _progress(start: float, length: float, interval: float) -> Plan:
    if length <= 0:
        return []
    interval = max(interval, length / MAX_PROGRESS_LINES)
    steps: Plan = []
    k = 1
    while k * interval < length:
        steps.append((start + k * interval, Progress(k * interval / length)))
        k += 1
    return steps


def plan_training(d: Durations, *, training_seconds: float, outcome: str, spot: bool, max_runtime: float,
                  max_wait: float | None) -> Plan:
    """The offsets (from creation) and actions of a training job's whole life (see module docstring)."""
    steps: Plan = []
    running: list[tuple[float, float]] = []

    def attempt(t: float, length: float) -> tuple[float, float]:
        steps.append((t, Transition("Starting", "Launching requested ML instances")))
        t += d.launching
        steps.append((t, StatusMessage("Preparing the instances for training")))
        t += d.preparing
        up = t
        steps.append((t, Transition("Downloading", "Downloading input data")))
        steps.append((t, ContainersUp()))
        t += d.downloading
        steps.append((t, Transition("Training", "Downloading the training image...")))
        image = min(d.image_download, length / 4)
        steps.append((t + image, StatusMessage("Training image download completed. Training in progress.")))
        steps.extend(_progress(t + image, length - image, d.log_interval))
        return up, t + length

    if outcome == INTERRUPTED:
        first = training_seconds / 2
        up, t = attempt(0.0, first)
        running.append((up, t))
        steps.append((t, ContainersDown()))
        steps.append((t, Transition("Interrupted", "Training interrupted: the Spot capacity was reclaimed. "
                                                   "Waiting for Spot capacity to resume training")))
        up, t = attempt(t + d.interruption, training_seconds - first)
    else:
        up, t = attempt(0.0, training_seconds)
    if outcome == FAILED:
        running.append((up, t))
        steps.append((t, Finish(FAILED, "Failed", "Training job failed", failure_reason="")))
    else:
        steps.append((t, FinalMetrics()))
        steps.append((t, Transition("Uploading", "Uploading generated training model")))
        t += d.uploading
        running.append((up, t))
        steps.append((t, Finish(COMPLETED, "Completed", "Training job completed", artifacts=True)))
    end = t

    cut: tuple[float, Finish] | None = None
    used = 0.0
    for start, stop in running:
        if used + (stop - start) > max_runtime:
            at = start + (max_runtime - used)
            cut = (at, Finish(STOPPED, "MaxRuntimeExceeded", "Training job runtime exceeded MaxRuntimeInSeconds "
                                                             "provided", artifacts=True))
            break
        used += stop - start
    if spot and max_wait is not None and max_wait < end and (cut is None or max_wait < cut[0]):
        ran = any(start < max_wait for start, _ in running)
        cut = (max_wait, Finish(STOPPED, "MaxWaitTimeExceeded", "Training job exceeded MaxWaitTimeInSeconds "
                                                                "provided", artifacts=ran))
    if cut is not None and cut[0] < end:
        steps = [s for s in steps if s[0] < cut[0]]
        steps.append(cut)
    return steps


def plan_run(starting: float, length: float, interval: float, outcome: str) -> Plan:
    """Processing and transform jobs: containers up after ``starting``, end after ``length`` more."""
    steps: Plan = [(starting, ContainersUp())]
    steps.extend(_progress(starting, length, interval))
    end = starting + length
    if outcome == FAILED:
        steps.append((end, Finish(FAILED, failure_reason="")))
    else:
        steps.append((end, Finish(COMPLETED)))
    return steps


# --------------------------------------------------------------------------------------------------------------------
# Metrics (pure)


def _seeded(name: str) -> random.Random:
    return random.Random(int(hashlib.sha256(name.encode()).hexdigest()[:16], 16))


def default_final_metrics(job_name: str, metric_names: Iterable[str]) -> dict[str, float]:
    """Deterministic final metric values for a job: accuracy-like metrics in [0.7, 0.99], others (losses) in
    [0.05, 0.5]."""
    rand = _seeded(job_name)
    out: dict[str, float] = {}
    for name in metric_names:
        lowered = name.lower()
        high = any(word in lowered for word in ("acc", "auc", "f1", "precision", "recall", "map", "ndcg"))
        out[name] = round(rand.uniform(0.7, 0.99) if high else rand.uniform(0.05, 0.5), 6)
    return out


def metric_log_line(name: str, value: float, regex: str | None) -> str:
    """A log line the algorithm could have printed for a metric; when a ``MetricDefinitions`` regex is given, one that
    the regex parses back to ``value`` if any of a few usual formats does."""
    text = f"{value:g}"
    candidates = [f"{name}={text}", f"{name}: {text}", f"{name} = {text}", f"{name}:{text}", f"{name} {text}",
                  f"#quality_metric: host=algo-1, epoch=1, {name} <score>={text}", f"{name}={text};"]
    if regex:
        for line in candidates:
            try:
                match = re.search(regex, line)
            except re.error:
                break
            if match and match.groups():
                try:
                    if float(match.group(1)) == float(text):
                        return line
                except (TypeError, ValueError):
                    continue
    return candidates[0]


# --------------------------------------------------------------------------------------------------------------------
# Store


@dataclass(eq=False)
class Job:
    """One job: ``desc`` holds the Describe response members as they stand (rendered by deep copy)."""

    kind: Kind
    name: str
    arn: str
    desc: dict[str, Any]
    outcome: Outcome
    created: float
    modified: float
    instances: int
    generation: int = 0
    streams: list[str] = field(default_factory=list)
    running_since: float | None = None
    running_seconds: float = 0.0
    spot: bool = False
    final_metrics: dict[str, float] = field(default_factory=dict)
    watchers: list[Callable[[dict[str, Any]], None]] = field(default_factory=list)
    warm_pool_generation: int = 0
    ended: float | None = None

    @property
    def status(self) -> str:
        return str(self.desc[self.kind.status_member])

    def touch(self, at: float) -> None:
        self.modified = max(self.modified, at)
        if self.kind.has_last_modified:
            self.desc["LastModifiedTime"] = self.modified

    def describe(self) -> dict[str, Any]:
        return copy.deepcopy(self.desc)

    def summary(self) -> dict[str, Any]:
        out = {m: copy.deepcopy(self.desc[m]) for m in self.kind.summary_members if m in self.desc}
        out["LastModifiedTime"] = self.modified
        return out


class JobStore:
    """Every training, processing and transform job of the account, by kind and lower-cased name.

    ``durations`` are the lifecycle defaults (a test or the server may replace them).
    """

    def __init__(self, durations: Durations | None = None) -> None:
        self.durations = durations or Durations()
        self._jobs: dict[str, dict[str, Job]] = {kind.label: {} for kind in KINDS}

    def get(self, kind: Kind, name: str) -> Job | None:
        return self._jobs[kind.label].get(name.lower())

    def require(self, kind: Kind, name: str) -> Job:
        job = self.get(kind, name)
        if job is None:
            raise kind.not_found(name)
        return job

    def add(self, job: Job) -> None:
        self._jobs[job.kind.label][job.name.lower()] = job

    def all(self, kind: Kind) -> list[Job]:
        return list(self._jobs[kind.label].values())

    def running(self, kind: Kind) -> int:
        """How many jobs of ``kind`` are InProgress or Stopping (what the account quotas count)."""
        return sum(1 for job in self._jobs[kind.label].values() if job.status in (IN_PROGRESS, STOPPING))

    def snapshot(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Every job's Describe answer by kind and name (for the control API's ``GET state``)."""
        return {kind.label: {job.name: job.describe() for job in self.all(kind)} for kind in KINDS}


# --------------------------------------------------------------------------------------------------------------------
# Effects


def write_log_events(world: World, group: str, stream: str, events: list[tuple[float, str]]) -> None:
    """Append ``(virtual epoch seconds, message)`` events to a CloudWatch Logs stream (created on demand).

    The one place that talks to the LogStore.
    """
    world.logs.put_log_events(group, stream, [(round(ts * 1000), message) for ts, message in events])


def _schedule(world: World, job: Job, when: float, action: Action) -> None:
    generation = job.generation

    def step() -> None:
        if job.generation == generation:
            _apply(world, job, when, action)

    world.scheduler.at(when, step)


def _schedule_plan(world: World, job: Job, start: float, plan: Plan) -> None:
    for offset, action in plan:
        _schedule(world, job, start + offset, action)


def _instance_id(job: Job, index: int) -> str:
    return "i-0" + hashlib.sha256(f"{job.arn}/{index}".encode()).hexdigest()[:16]


def _log_all(world: World, job: Job, at: float, message: Callable[[int], str]) -> None:
    """Write ``message(instance number)`` to every instance's main stream."""
    streams = [stream for stream in job.streams if not stream.endswith("/data-log")]
    for index, stream in enumerate(streams, start=1):
        write_log_events(world, job.kind.log_group, stream, [(at, message(index))])


def _containers_up(world: World, job: Job, at: float) -> None:
    job.desc.setdefault(job.kind.start_member, at)
    job.running_since = at
    epoch = int(at)
    job.streams = []
    if job.kind is TRANSFORM:
        for index in range(1, job.instances + 1):
            stream = f"{job.name}/{_instance_id(job, index)}-{epoch}"
            job.streams += [stream, f"{stream}/data-log"]
            desc = job.desc
            write_log_events(world, job.kind.log_group, f"{stream}/data-log", [(at, (
                f"[sagemaker logs]: MaxConcurrentTransforms={desc.get('MaxConcurrentTransforms', 1)}, "
                f"MaxPayloadInMB={desc.get('MaxPayloadInMB', 6)}, "
                f"BatchStrategy={str(desc.get('BatchStrategy', 'SingleRecord')).upper()}"))])
    else:
        job.streams = [f"{job.name}/algo-{index}-{epoch}" for index in range(1, job.instances + 1)]
    hosts = ", ".join(f'"algo-{i}"' for i in range(1, job.instances + 1))
    _log_all(world, job, at, lambda i: f"Starting {job.kind.label} job {job.name} on algo-{i} "
                                       f"({i} of {job.instances}); hosts [{hosts}]")


def _containers_down(job: Job, at: float) -> None:
    if job.running_since is not None:
        job.running_seconds += max(at - job.running_since, 0.0)
        job.running_since = None


def _transition(job: Job, at: float, status: str, message: str, *, final: bool = False) -> None:
    transitions: list[dict[str, Any]] = job.desc.setdefault("SecondaryStatusTransitions", [])
    if transitions and "EndTime" not in transitions[-1]:
        transitions[-1]["EndTime"] = at
    entry: dict[str, Any] = {"Status": status, "StartTime": at, "StatusMessage": message}
    if final:
        entry["EndTime"] = at
    transitions.append(entry)
    job.desc["SecondaryStatus"] = status


def _rules(job: Job) -> list[dict[str, Any]]:
    return [*job.desc.get("DebugRuleEvaluationStatuses", []), *job.desc.get("ProfilerRuleEvaluationStatuses", [])]


def _end_rules(world: World, job: Job, at: float) -> None:
    pending = [rule for rule in _rules(job) if rule["RuleEvaluationStatus"] == IN_PROGRESS]
    if not pending:
        return
    if job.status != COMPLETED:
        for rule in pending:
            rule["RuleEvaluationStatus"] = STOPPED
            rule["LastModifiedTime"] = at
        job.touch(at)
        return
    when = at + world.sagemaker.jobs.durations.rule_evaluation

    def finish_rules() -> None:
        for rule in pending:
            if rule["RuleEvaluationStatus"] == IN_PROGRESS:
                rule["RuleEvaluationStatus"] = job.outcome.rule_result
                rule["LastModifiedTime"] = when
        job.touch(when)

    world.scheduler.at(when, finish_rules)


def _schedule_warm_pool_end(world: World, job: Job, earliest: float) -> None:
    """(Re)schedule the end of an Available warm pool: keep-alive seconds after the job ended, not before
    ``earliest`` (an update cannot terminate the pool in the past)."""
    keep_alive = int(job.desc["ResourceConfig"].get("KeepAlivePeriodInSeconds") or 0)
    assert job.ended is not None
    job.warm_pool_generation += 1
    generation = job.warm_pool_generation
    ended = job.ended
    when = max(ended + keep_alive, earliest)

    def terminate() -> None:
        if job.warm_pool_generation == generation and job.desc.get("WarmPoolStatus", {}).get("Status") == "Available":
            job.desc["WarmPoolStatus"] = {"Status": "Terminated",
                                          "ResourceRetainedBillableTimeInSeconds": int(when - ended)}
            job.touch(when)

    world.scheduler.at(when, terminate)


def _finish(world: World, job: Job, at: float, action: Finish) -> None:
    kind = job.kind
    _containers_down(job, at)
    desc = job.desc
    desc[kind.status_member] = action.status
    desc[kind.end_member] = at
    job.ended = at
    if action.failure_reason is not None:
        desc["FailureReason"] = action.failure_reason or job.outcome.failure_reason
    started = desc.get(kind.start_member)
    if kind is TRAINING:
        _transition(job, at, action.secondary, action.message, final=True)
        if started is not None:
            desc["TrainingTimeInSeconds"] = int(at - started)
            factor = SPOT_BILLING_FACTOR if job.spot else 1.0
            desc["BillableTimeInSeconds"] = max(math.ceil(job.running_seconds * factor), 1)
            if action.artifacts:
                output = str(desc["OutputDataConfig"]["S3OutputPath"]).rstrip("/")
                desc["ModelArtifacts"] = {"S3ModelArtifacts": f"{output}/{job.name}/output/model.tar.gz"}
        if action.status == COMPLETED and int(desc["ResourceConfig"].get("KeepAlivePeriodInSeconds") or 0) > 0:
            desc["WarmPoolStatus"] = {"Status": "Available"}
            _schedule_warm_pool_end(world, job, at)
    outcome_line = {COMPLETED: "Reporting training SUCCESS", FAILED: f"Reporting training FAILURE: "
                    f"{desc.get('FailureReason', '')}", STOPPED: "Received SIGTERM: the job was stopped"}
    if job.streams and kind is TRAINING:
        _log_all(world, job, at, lambda _i: outcome_line[action.status])
    elif job.streams:
        _log_all(world, job, at, lambda _i: f"{kind.label.capitalize()} job {action.status.lower()}"
                                            + (f": {desc['FailureReason']}" if action.status == FAILED else ""))
    job.touch(at)
    if kind is TRAINING:
        _end_rules(world, job, at)
    watchers, job.watchers = job.watchers, []
    for watcher in watchers:
        watcher(job.describe())


def _apply(world: World, job: Job, at: float, action: Action) -> None:
    """Carry out one lifecycle action at virtual instant ``at`` (the step's due time, not the clock's now)."""
    if isinstance(action, Transition):
        _transition(job, at, action.status, action.message)
    elif isinstance(action, StatusMessage):
        transitions = job.desc.get("SecondaryStatusTransitions")
        if transitions:
            transitions[-1]["StatusMessage"] = action.message
    elif isinstance(action, ContainersUp):
        _containers_up(world, job, at)
    elif isinstance(action, ContainersDown):
        _containers_down(job, at)
        _log_all(world, job, at, lambda _i: "Received SIGTERM: the Spot instance is being reclaimed")
        job.streams = []
    elif isinstance(action, Progress):
        pct = int(action.fraction * 100)
        _log_all(world, job, at, lambda i: f"[algo-{i}] progress {pct}%")
    elif isinstance(action, FinalMetrics):
        if job.kind is TRAINING:
            definitions = {m["Name"]: m.get("Regex") for m in
                           job.desc.get("AlgorithmSpecification", {}).get("MetricDefinitions", [])}
            job.desc["FinalMetricDataList"] = [{"MetricName": name, "Value": value, "Timestamp": at}
                                               for name, value in job.final_metrics.items()]
            if job.streams:
                write_log_events(world, job.kind.log_group, job.streams[0], [
                    (at, metric_log_line(name, value, definitions.get(name)))
                    for name, value in job.final_metrics.items()])
        return
    elif isinstance(action, Finish):
        _finish(world, job, at, action)
        return
    job.touch(at)


# --------------------------------------------------------------------------------------------------------------------
# Training jobs


def _check_spot(request: Mapping[str, Any]) -> None:
    stopping = request.get("StoppingCondition") or {}
    max_wait = stopping.get("MaxWaitTimeInSeconds")
    max_runtime = stopping.get("MaxRuntimeInSeconds", DEFAULT_MAX_RUNTIME_SECONDS)
    if request.get("EnableManagedSpotTraining"):
        if max_wait is None or max_wait < max_runtime:
            raise validation("Invalid MaxWaitTimeInSeconds. It must be present and be greater than or equal to "
                             "MaxRuntimeInSeconds")
    elif max_wait is not None:
        raise validation("MaxWaitTimeInSeconds can only be set when EnableManagedSpotTraining is true")


def _check_name_free(world: World, kind: Kind, name: str) -> str:
    arn = world.arn("sagemaker", f"{kind.arn_type}/{name.lower()}")
    if world.sagemaker.jobs.get(kind, name) is not None:
        raise kind.in_use(arn)
    return arn


def _rule_statuses(world: World, job_name: str, rules: Iterable[Mapping[str, Any]], at: float) -> list[dict[str, Any]]:
    out = []
    for rule in rules:
        rule_name = str(rule["RuleConfigurationName"])
        suffix = hashlib.sha256(f"{job_name}/{rule_name}".encode()).hexdigest()[:8]
        job_part = re.sub("[^a-z0-9-]", "-", job_name.lower())[:26]
        rule_part = re.sub("[^a-z0-9-]", "-", rule_name.lower())[:20]
        out.append({"RuleConfigurationName": rule_name,
                    "RuleEvaluationJobArn": world.arn("sagemaker", f"processing-job/{job_part}-{rule_part}-{suffix}"),
                    "RuleEvaluationStatus": IN_PROGRESS, "LastModifiedTime": at})
    return out


def _instance_count(resource_config: Mapping[str, Any]) -> int:
    groups = resource_config.get("InstanceGroups")
    if groups:
        return sum(int(g.get("InstanceCount", 1)) for g in groups)
    return int(resource_config.get("InstanceCount", 1))


_TRAINING_ECHO = ("HyperParameters", "AlgorithmSpecification", "RoleArn", "InputDataConfig", "OutputDataConfig",
                  "ResourceConfig", "VpcConfig", "CheckpointConfig", "DebugHookConfig", "ExperimentConfig",
                  "DebugRuleConfigurations", "TensorBoardOutputConfig", "ProfilerConfig",
                  "ProfilerRuleConfigurations", "Environment", "RetryStrategy", "RemoteDebugConfig",
                  "InfraCheckConfig", "ServerlessJobConfig", "MlflowConfig", "ModelPackageConfig")


def create_training_job(world: World, request: dict[str, Any], *, tuning_job_arn: str | None = None,
                        final_metrics: Mapping[str, float] | None = None, at: float | None = None) -> dict[str, Any]:
    """CreateTrainingJob; the tuning store calls it for child jobs.

    ``tuning_job_arn`` makes the job a tuning child (``TuningJobArn`` in its description, listed by
    :func:`training_jobs_of_tuning_job`); ``final_metrics`` overrides the final metric values (the tuning store
    computes objective values from the sampled hyperparameters). Raises ``ResourceInUse`` for a used name and
    ``ResourceLimitExceeded`` when the concurrent training job quota is full. Returns ``{"TrainingJobArn": ...}``.

    ``at``: the virtual instant of creation. Requests leave it out (the clock's now); a lifecycle step that launches a
    job must pass its own due instant, because steps run lazily (possibly long after they were due) and the child's
    lifecycle has to start when the step was due, not when somebody looked.
    """
    store = world.sagemaker.jobs
    name = str(request["TrainingJobName"])
    arn = _check_name_free(world, TRAINING, name)
    world.check_execution_role(request.get("RoleArn"))
    tags = list(request.get("Tags") or [])
    outcome = outcome_from_tags(tags, TRAINING)
    spot = bool(request.get("EnableManagedSpotTraining"))
    _check_spot(request)
    if outcome.result == INTERRUPTED and not spot:
        raise validation(f"Tag {OUTCOME_TAG}=Interrupted needs EnableManagedSpotTraining")
    world.quotas.check(QUOTAS[TRAINING.label], store.running(TRAINING))

    now = world.clock.now() if at is None else at
    desc: dict[str, Any] = {"TrainingJobName": name, "TrainingJobArn": arn}
    if tuning_job_arn is not None:
        desc["TuningJobArn"] = tuning_job_arn
    desc.update({"TrainingJobStatus": IN_PROGRESS, "SecondaryStatus": "Starting"})
    for member in _TRAINING_ECHO:
        if request.get(member) is not None:
            desc[member] = copy.deepcopy(request[member])
    desc.setdefault("ResourceConfig", {})
    stopping = copy.deepcopy(request.get("StoppingCondition") or {})
    stopping.setdefault("MaxRuntimeInSeconds", DEFAULT_MAX_RUNTIME_SECONDS)
    desc["StoppingCondition"] = stopping
    desc["CreationTime"] = now
    desc["LastModifiedTime"] = now
    desc["SecondaryStatusTransitions"] = []
    desc["EnableNetworkIsolation"] = bool(request.get("EnableNetworkIsolation", False))
    desc["EnableInterContainerTrafficEncryption"] = bool(request.get("EnableInterContainerTrafficEncryption", False))
    desc["EnableManagedSpotTraining"] = spot
    if request.get("DebugRuleConfigurations"):
        desc["DebugRuleEvaluationStatuses"] = _rule_statuses(world, name, request["DebugRuleConfigurations"], now)
    if request.get("ProfilerRuleConfigurations"):
        desc["ProfilerRuleEvaluationStatuses"] = _rule_statuses(world, name, request["ProfilerRuleConfigurations"],
                                                                now)
    profiler = request.get("ProfilerConfig")
    if profiler is not None or request.get("ProfilerRuleConfigurations"):
        desc["ProfilingStatus"] = "Disabled" if (profiler or {}).get("DisableProfiler") else "Enabled"

    metric_names = [m["Name"] for m in (request.get("AlgorithmSpecification") or {}).get("MetricDefinitions", [])]
    if final_metrics is not None:
        metrics = dict(final_metrics)
    elif outcome.final_metrics is not None:
        metrics = dict(outcome.final_metrics)
    else:
        metrics = default_final_metrics(name, metric_names or ["train:loss"])
    job = Job(TRAINING, name, arn, desc, outcome, now, now, _instance_count(desc["ResourceConfig"]), spot=spot,
              final_metrics=metrics)
    store.add(job)
    world.sagemaker.tags.register(arn, tags)

    d = store.durations
    plan = plan_training(d, training_seconds=outcome.duration if outcome.duration is not None else d.training,
                         outcome=outcome.result, spot=spot, max_runtime=float(stopping["MaxRuntimeInSeconds"]),
                         max_wait=stopping.get("MaxWaitTimeInSeconds"))
    first, rest = [s for s in plan if s[0] == 0], [s for s in plan if s[0] != 0]
    for _, action in first:
        _apply(world, job, now, action)
    _schedule_plan(world, job, now, rest)
    return {"TrainingJobArn": arn}


def _create_training_job(world: World, request: dict[str, Any]) -> dict[str, Any]:
    return create_training_job(world, request)


def describe_training_job(world: World, request: dict[str, Any]) -> dict[str, Any]:
    return world.sagemaker.jobs.require(TRAINING, request["TrainingJobName"]).describe()


def _stop(world: World, kind: Kind, name: str, at: float | None = None) -> None:
    job = world.sagemaker.jobs.require(kind, name)
    if job.status != IN_PROGRESS:
        raise validation(f"The request was rejected because the {kind.label} job is in status {job.status}.")
    job.generation += 1  # cancels the rest of the plan
    now = world.clock.now() if at is None else at
    d = world.sagemaker.jobs.durations
    job.desc[kind.status_member] = STOPPING
    if kind is TRAINING:
        _transition(job, now, "Stopping", "Stopping the training job")
        delay = d.stopping
        finish = Finish(STOPPED, "Stopped", "Training job stopped",
                        artifacts=kind.start_member in job.desc)
    else:
        delay = d.processing_stopping if kind is PROCESSING else d.transform_stopping
        finish = Finish(STOPPED)
    job.touch(now)
    _schedule(world, job, now + delay, finish)


def stop_training_job(world: World, request: dict[str, Any]) -> dict[str, Any]:
    _stop(world, TRAINING, request["TrainingJobName"])
    return {}


def stop_training(world: World, name: str, *, at: float | None = None) -> None:
    """StopTrainingJob for the tuning store (``at``: a lifecycle step's due instant, see
    :func:`create_training_job`); same errors as the operation."""
    _stop(world, TRAINING, name, at)


def _spec(operation: str, default_order: str) -> ListSpec[Job]:
    return ListSpec(
        operation=operation,
        name=lambda job: job.name,
        sort_keys={"Name": lambda job: job.name, "CreationTime": lambda job: job.created,
                   "Status": lambda job: job.status},
        default_sort_by="CreationTime",
        default_sort_order=default_order,
        created=lambda job: job.created,
        modified=lambda job: job.modified,
        status=lambda job: job.status,
    )


# Defaults as the API reference documents them: Ascending for training and processing, Descending for transform.
TRAINING_LIST = _spec("ListTrainingJobs", ASCENDING)
PROCESSING_LIST = _spec("ListProcessingJobs", ASCENDING)
TRANSFORM_LIST = _spec("ListTransformJobs", DESCENDING)


def list_training_jobs(world: World, request: dict[str, Any]) -> dict[str, Any]:
    post: list[Callable[[Job], bool]] = []
    warm = request.get("WarmPoolStatusEquals")
    if warm:
        post.append(lambda job: job.desc.get("WarmPoolStatus", {}).get("Status") == warm)
    plan_arn = request.get("TrainingPlanArnEquals")
    if plan_arn:
        post.append(lambda job: job.desc.get("ResourceConfig", {}).get("TrainingPlanArn") == plan_arn)
    page = list_page(world.sagemaker.jobs.all(TRAINING), request, TRAINING_LIST, extra_post=post)
    return page.response("TrainingJobSummaries", Job.summary)


def update_training_job(world: World, request: dict[str, Any]) -> dict[str, Any]:
    """UpdateTrainingJob: warm pool keep-alive (ResourceConfig) and profiler settings."""
    job = world.sagemaker.jobs.require(TRAINING, request["TrainingJobName"])
    resource = request.get("ResourceConfig")
    profiler = request.get("ProfilerConfig")
    rules = request.get("ProfilerRuleConfigurations")
    if resource is None and profiler is None and rules is None and request.get("RemoteDebugConfig") is None:
        raise validation("Please provide at least one of ProfilerConfig, ProfilerRuleConfigurations, "
                         "ResourceConfig or RemoteDebugConfig to update")
    now = world.clock.now()
    if resource is not None:
        current = job.desc["ResourceConfig"]
        if not int(current.get("KeepAlivePeriodInSeconds") or 0):
            raise validation(f"Training job {job.name} was not created with KeepAlivePeriodInSeconds; its warm pool "
                             "cannot be updated")
        if job.desc.get("WarmPoolStatus", {}).get("Status") == "Terminated":
            raise validation(f"The warm pool of training job {job.name} is terminated and cannot be updated")
    if (profiler is not None or rules is not None) and job.status != IN_PROGRESS:
        raise validation(f"The request was rejected because the training job is in status {job.status}. "
                         "Profiler settings can only be updated while the job is InProgress.")
    if rules:
        existing = {r["RuleConfigurationName"] for r in job.desc.get("ProfilerRuleConfigurations", [])}
        for rule in rules:
            if rule["RuleConfigurationName"] in existing:
                raise validation(f"Profiler rule configuration {rule['RuleConfigurationName']} already exists for "
                                 f"training job {job.name}")
    if resource is not None:
        job.desc["ResourceConfig"]["KeepAlivePeriodInSeconds"] = int(resource["KeepAlivePeriodInSeconds"])
        if job.desc.get("WarmPoolStatus", {}).get("Status") == "Available":
            _schedule_warm_pool_end(world, job, now)
    if profiler is not None:
        job.desc["ProfilerConfig"] = {**job.desc.get("ProfilerConfig", {}), **copy.deepcopy(profiler)}
        job.desc["ProfilingStatus"] = "Disabled" if profiler.get("DisableProfiler") else "Enabled"
    if rules:
        job.desc.setdefault("ProfilerRuleConfigurations", []).extend(copy.deepcopy(rules))
        job.desc.setdefault("ProfilerRuleEvaluationStatuses", []).extend(_rule_statuses(world, job.name, rules, now))
        job.desc.setdefault("ProfilingStatus", "Enabled")
    if request.get("RemoteDebugConfig") is not None:
        job.desc["RemoteDebugConfig"] = {**job.desc.get("RemoteDebugConfig", {}),
                                         **copy.deepcopy(request["RemoteDebugConfig"])}
    job.touch(now)
    return {"TrainingJobArn": job.arn}


def on_training_job_terminal(world: World, name: str, callback: Callable[[dict[str, Any]], None]) -> None:
    """Run ``callback(description)`` once when training job ``name`` ends (Completed, Failed or Stopped), from the
    lifecycle step that ends it; at once if it has already ended. Unknown name: the not-found ValidationException."""
    job = world.sagemaker.jobs.require(TRAINING, name)
    if job.status in TERMINAL:
        callback(job.describe())
    else:
        job.watchers.append(callback)


def training_job_description(world: World, name: str) -> dict[str, Any]:
    """DescribeTrainingJob's answer for ``name`` (a copy)."""
    return world.sagemaker.jobs.require(TRAINING, name).describe()


def training_jobs_of_tuning_job(world: World, tuning_job_arn: str) -> list[dict[str, Any]]:
    """Descriptions of the training jobs launched for a tuning job, in creation order."""
    jobs = [job for job in world.sagemaker.jobs.all(TRAINING) if job.desc.get("TuningJobArn") == tuning_job_arn]
    return [job.describe() for job in sorted(jobs, key=lambda job: (job.created, job.name))]


# --------------------------------------------------------------------------------------------------------------------
# Processing and transform jobs


_PROCESSING_ECHO = ("ProcessingInputs", "ProcessingOutputConfig", "ProcessingJobName", "ProcessingResources",
                    "StoppingCondition", "AppSpecification", "Environment", "NetworkConfig", "RoleArn",
                    "ExperimentConfig")
_TRANSFORM_ECHO = ("TransformJobName", "ModelName", "MaxConcurrentTransforms", "ModelClientConfig", "MaxPayloadInMB",
                   "BatchStrategy", "Environment", "TransformInput", "TransformOutput", "DataCaptureConfig",
                   "TransformResources", "DataProcessing", "ExperimentConfig")


def _create_run_job(world: World, kind: Kind, request: dict[str, Any], echo: tuple[str, ...], instances: int,
                    starting: float, default_length: float) -> dict[str, Any]:
    name = str(request[kind.name_member])
    arn = _check_name_free(world, kind, name)
    world.check_execution_role(request.get("RoleArn"))  # processing; a transform job runs as its model's role
    tags = list(request.get("Tags") or [])
    outcome = outcome_from_tags(tags, kind)
    world.quotas.check(QUOTAS[kind.label], world.sagemaker.jobs.running(kind))
    now = world.clock.now()
    desc: dict[str, Any] = {m: copy.deepcopy(request[m]) for m in echo if request.get(m) is not None}
    desc.update({kind.arn_member: arn, kind.status_member: IN_PROGRESS, "CreationTime": now})
    job = Job(kind, name, arn, desc, outcome, now, now, instances)
    job.touch(now)
    world.sagemaker.jobs.add(job)
    world.sagemaker.tags.register(arn, tags)
    length = outcome.duration if outcome.duration is not None else default_length
    _schedule_plan(world, job, now, plan_run(starting, length, world.sagemaker.jobs.durations.log_interval,
                                             outcome.result))
    return {kind.arn_member: arn}


def create_processing_job(world: World, request: dict[str, Any]) -> dict[str, Any]:
    d = world.sagemaker.jobs.durations
    cluster = request["ProcessingResources"]["ClusterConfig"]
    return _create_run_job(world, PROCESSING, request, _PROCESSING_ECHO, int(cluster.get("InstanceCount", 1)),
                           d.processing_starting, d.processing)


def create_transform_job(world: World, request: dict[str, Any]) -> dict[str, Any]:
    d = world.sagemaker.jobs.durations
    model = str(request["ModelName"])
    model_arn = world.arn("sagemaker", f"model/{model.lower()}")
    tags = world.sagemaker.tags
    if not (tags.known(model_arn) or tags.known(world.arn("sagemaker", f"model/{model}"))):
        raise validation(f'Could not find model "{model_arn}".')
    return _create_run_job(world, TRANSFORM, request, _TRANSFORM_ECHO,
                           int(request["TransformResources"]["InstanceCount"]), d.transform_starting, d.transform)


def describe_processing_job(world: World, request: dict[str, Any]) -> dict[str, Any]:
    return world.sagemaker.jobs.require(PROCESSING, request["ProcessingJobName"]).describe()


def describe_transform_job(world: World, request: dict[str, Any]) -> dict[str, Any]:
    return world.sagemaker.jobs.require(TRANSFORM, request["TransformJobName"]).describe()


def stop_processing_job(world: World, request: dict[str, Any]) -> dict[str, Any]:
    _stop(world, PROCESSING, request["ProcessingJobName"])
    return {}


def stop_transform_job(world: World, request: dict[str, Any]) -> dict[str, Any]:
    _stop(world, TRANSFORM, request["TransformJobName"])
    return {}


def list_processing_jobs(world: World, request: dict[str, Any]) -> dict[str, Any]:
    page = list_page(world.sagemaker.jobs.all(PROCESSING), request, PROCESSING_LIST)
    return page.response("ProcessingJobSummaries", Job.summary)


def list_transform_jobs(world: World, request: dict[str, Any]) -> dict[str, Any]:
    page = list_page(world.sagemaker.jobs.all(TRANSFORM), request, TRANSFORM_LIST)
    return page.response("TransformJobSummaries", Job.summary)


OPERATIONS: Mapping[str, Handler] = {
    "CreateTrainingJob": _create_training_job,
    "DescribeTrainingJob": describe_training_job,
    "StopTrainingJob": stop_training_job,
    "ListTrainingJobs": list_training_jobs,
    "UpdateTrainingJob": update_training_job,
    "CreateProcessingJob": create_processing_job,
    "DescribeProcessingJob": describe_processing_job,
    "StopProcessingJob": stop_processing_job,
    "ListProcessingJobs": list_processing_jobs,
    "CreateTransformJob": create_transform_job,
    "DescribeTransformJob": describe_transform_job,
    "StopTransformJob": stop_transform_job,
    "ListTransformJobs": list_transform_jobs,
}
