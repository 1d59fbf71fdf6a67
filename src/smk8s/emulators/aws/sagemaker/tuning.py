"""SageMaker hyperparameter tuning jobs: Create/Describe/Stop/List and ListTrainingJobsForHyperParameterTuningJob.

A tuning job launches child training jobs (through :func:`jobs.create_training_job`, so they are ordinary training
jobs with ``TuningJobArn``), named as SageMaker names them, ``<tuning job>-<nnn>-<8 hex>`` (e.g.
``xgb-tune-003-7f2c1a9e``). Each child gets the definition's static hyperparameters, values sampled (seeded: the
config's ``RandomSeed``, else ``world.rand``) from the ranges -- Integer/Continuous with Linear, Logarithmic and
ReverseLogarithmic scaling (Auto = Linear), Categorical; Grid enumerates the categorical grid -- and
``_tuning_objective_metric`` as SageMaker adds it. At most ``MaxParallelTrainingJobs`` run at once and
``MaxNumberOfTrainingJobs`` are launched in all; a child refused by the concurrent training job quota is retried a
minute later. The objective value of a child is a deterministic function of its hyperparameters plus seeded noise,
given to the child as its final metric, so ``BestTrainingJob`` (Minimize/Maximize) is reproducible.

Statuses: ``InProgress`` → ``Completed`` when every child has ended (or ``TargetObjectiveMetricValue`` is reached:
the running children are stopped), ``Failed`` when no child completed; ``StopHyperParameterTuningJob`` →
``Stopping`` (running children are stopped) → ``Stopped`` when they have ended. Early stopping (``Auto``) and
``WarmStartConfig`` are accepted and echoed, without effect on the search.

Outcome tags on the tuning job (the ``emulator.smk8s/`` tags are not propagated to children; other tags are, as
SageMaker does):

- ``emulator.smk8s/outcome`` = ``Failed``: the tuning job fails when its first child ends (or after
  ``emulator.smk8s/duration-seconds``), its running children are stopped; FailureReason from
  ``emulator.smk8s/failure-reason`` or :data:`DEFAULT_FAILURE_REASON`.
- ``emulator.smk8s/child-outcome``, ``emulator.smk8s/child-duration-seconds``: outcome/duration tags for every child;
  ``emulator.smk8s/failed-children``: child numbers (``"2 5"``, 1-based) that fail.

Errors: unknown tuning job → ``ResourceNotFound`` "Amazon SageMaker can't find a tuning job with name NAME" (the
prefix the original operator matches); a used name → ``ResourceInUse``.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from smk8s.emulators.aws.errors import AwsError, resource_in_use, resource_not_found, validation
from smk8s.emulators.aws.sagemaker import jobs, listing

if TYPE_CHECKING:
    from smk8s.emulators.aws.world import Handler, World

OUTCOME_TAG = jobs.OUTCOME_TAG
DURATION_TAG = jobs.DURATION_TAG
FAILURE_REASON_TAG = jobs.FAILURE_REASON_TAG
CHILD_OUTCOME_TAG = "emulator.smk8s/child-outcome"
CHILD_DURATION_TAG = "emulator.smk8s/child-duration-seconds"
FAILED_CHILDREN_TAG = "emulator.smk8s/failed-children"
EMULATOR_TAG_PREFIX = "emulator.smk8s/"

DEFAULT_FAILURE_REASON = "InternalServerError: We encountered an internal error. Please try again."
ALL_CHILDREN_FAILED = "All training jobs failed. Please check the failure reasons of the individual training jobs."
RETRY_SECONDS = 60.0  # a child refused by the training job quota is retried this much later
STOP_SECONDS = 30.0  # Stopping lasts at least this long when no child needs stopping
TERMINAL = frozenset({"Completed", "Failed", "Stopped"})


@dataclass
class Child:
    name: str
    number: int
    definition: dict[str, Any]
    tuned: dict[str, str]
    objective_type: str
    objective_metric: str
    created: float


@dataclass(eq=False)
class TuningJob:
    name: str
    arn: str
    request: dict[str, Any]
    definitions: list[dict[str, Any]]
    created: float
    modified: float
    rng: random.Random
    tags: dict[str, str]
    total: int
    parallel: int
    grid: list[dict[str, str]] | None
    status: str = "InProgress"
    ended: float | None = None
    failure_reason: str | None = None
    children: list[Child] = field(default_factory=list)

    def touch(self, at: float) -> None:
        self.modified = max(self.modified, at)


@dataclass
class TuningStore:
    """Tuning jobs by lower-cased name (names are unique per account and region, case-insensitively)."""

    jobs: dict[str, TuningJob] = field(default_factory=dict)

    def get(self, name: str) -> TuningJob | None:
        return self.jobs.get(name.lower())

    def snapshot(self) -> dict[str, Any]:
        """Every tuning job with its children's names (for the control API's ``GET state``)."""
        return {
            j.name: {"arn": j.arn, "status": j.status, "creation_time": j.created, "end_time": j.ended,
                     "failure_reason": j.failure_reason, "max_jobs": j.total, "max_parallel": j.parallel,
                     "children": [c.name for c in j.children]}
            for j in self.jobs.values()
        }


# ------------------------------------------------------------------------------------------------ sampling (pure)


def sample_range(kind: str, spec: Mapping[str, Any], rng: random.Random) -> str:
    """One value of an Integer, Continuous or Categorical range, as the string SageMaker passes to the algorithm."""
    if kind == "Categorical":
        return str(rng.choice(list(spec["Values"])))
    lo, hi = float(spec["MinValue"]), float(spec["MaxValue"])
    scaling = spec.get("ScalingType", "Auto")
    u = rng.random()
    if scaling == "Logarithmic":
        value = math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
    elif scaling == "ReverseLogarithmic":
        value = 1.0 - math.exp(math.log(1.0 - hi) + u * (math.log(1.0 - lo) - math.log(1.0 - hi)))
    else:
        value = lo + u * (hi - lo)
    if kind == "Integer":
        return str(min(max(round(value), int(lo)), int(hi)))
    return repr(min(max(value, lo), hi))


def _ranges(definition: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
    return dict(definition.get("HyperParameterRanges") or config.get("ParameterRanges") or {})


def sample(ranges: Mapping[str, Any], rng: random.Random) -> dict[str, str]:
    out: dict[str, str] = {}
    for kind in ("Integer", "Continuous", "Categorical"):
        for spec in ranges.get(f"{kind}ParameterRanges") or []:
            out[spec["Name"]] = sample_range(kind, spec, rng)
    return out


def grid(ranges: Mapping[str, Any]) -> list[dict[str, str]]:
    """Every combination of the categorical ranges (Grid strategy), in a stable order."""
    cats = list(ranges.get("CategoricalParameterRanges") or [])
    names = [c["Name"] for c in cats]
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*[c["Values"] for c in cats])]


def objective_value(tuned: Mapping[str, str], ranges: Mapping[str, Any], objective_type: str,
                    rng: random.Random) -> float:
    """A made-up but smooth objective: distance of each numeric hyperparameter's position in its range from 0.3
    (plus seeded noise); small is good for Minimize, mirrored into (0, 1) for Maximize."""
    terms: list[float] = []
    for kind in ("Integer", "Continuous"):
        for spec in ranges.get(f"{kind}ParameterRanges") or []:
            lo, hi = float(spec["MinValue"]), float(spec["MaxValue"])
            position = 0.5 if hi == lo else (float(tuned[spec["Name"]]) - lo) / (hi - lo)
            terms.append((position - 0.3) ** 2)
    for spec in ranges.get("CategoricalParameterRanges") or []:
        terms.append(0.05 * list(spec["Values"]).index(tuned[spec["Name"]]) / max(len(spec["Values"]), 1))
    score = (sum(terms) / len(terms) if terms else 0.25) + rng.uniform(0.0, 0.05)
    return round(score if objective_type == "Minimize" else 1.0 - score, 6)


# ---------------------------------------------------------------------------------------------------------- helpers


def not_found(name: str) -> AwsError:
    return resource_not_found(f"Amazon SageMaker can't find a tuning job with name {name}")


def _require(world: World, name: str) -> TuningJob:
    job = world.sagemaker.tuning.get(name)
    if job is None:
        raise not_found(name)
    return job


def _objective(job: TuningJob, definition: Mapping[str, Any]) -> dict[str, str]:
    objective = definition.get("TuningObjective") or job.request["HyperParameterTuningJobConfig"].get(
        "HyperParameterTuningJobObjective")
    return dict(objective or {})


def _child_desc(world: World, child: Child) -> dict[str, Any]:
    return jobs.training_job_description(world, child.name)


def _metric_value(desc: Mapping[str, Any], metric: str) -> float | None:
    for m in desc.get("FinalMetricDataList") or []:
        if m["MetricName"] == metric:
            return float(m["Value"])
    return None


def child_summary(world: World, job: TuningJob, child: Child) -> dict[str, Any]:
    """HyperParameterTrainingJobSummary of a child, read from its training job."""
    desc = _child_desc(world, child)
    status = desc["TrainingJobStatus"]
    out: dict[str, Any] = {}
    if child.definition.get("DefinitionName"):
        out["TrainingJobDefinitionName"] = child.definition["DefinitionName"]
    out.update({"TrainingJobName": child.name, "TrainingJobArn": desc["TrainingJobArn"], "TuningJobName": job.name,
                "CreationTime": desc["CreationTime"]})
    for member in ("TrainingStartTime", "TrainingEndTime"):
        if member in desc:
            out[member] = desc[member]
    out["TrainingJobStatus"] = status
    out["TunedHyperParameters"] = dict(child.tuned)
    if desc.get("FailureReason"):
        out["FailureReason"] = desc["FailureReason"]
    value = _metric_value(desc, child.objective_metric)
    if value is not None and status != "Failed":
        out["FinalHyperParameterTuningJobObjectiveMetric"] = {
            "Type": child.objective_type, "MetricName": child.objective_metric, "Value": value}
    if status in ("InProgress", "Stopping"):
        out["ObjectiveStatus"] = "Pending"
    else:
        out["ObjectiveStatus"] = "Succeeded" if "FinalHyperParameterTuningJobObjectiveMetric" in out else "Failed"
    return out


def _summaries(world: World, job: TuningJob) -> list[dict[str, Any]]:
    return [child_summary(world, job, c) for c in job.children]


def _counters(summaries: list[dict[str, Any]]) -> tuple[dict[str, int], dict[str, int]]:
    status = {"Completed": 0, "InProgress": 0, "RetryableError": 0, "NonRetryableError": 0, "Stopped": 0}
    objective = {"Succeeded": 0, "Pending": 0, "Failed": 0}
    for s in summaries:
        st = s["TrainingJobStatus"]
        key = {"Completed": "Completed", "Failed": "NonRetryableError", "Stopped": "Stopped"}.get(st, "InProgress")
        status[key] += 1
        objective[s["ObjectiveStatus"]] += 1
    return status, objective


def _best(job: TuningJob, summaries: list[dict[str, Any]]) -> dict[str, Any] | None:
    scored = [s for s in summaries
              if s["TrainingJobStatus"] == "Completed" and "FinalHyperParameterTuningJobObjectiveMetric" in s]
    if not scored:
        return None

    def value(s: dict[str, Any]) -> float:
        v = float(s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])
        return -v if s["FinalHyperParameterTuningJobObjectiveMetric"]["Type"] == "Maximize" else v

    return min(scored, key=lambda s: (value(s), s["CreationTime"], s["TrainingJobName"]))


def _child_tags(job: TuningJob, number: int) -> list[dict[str, str]]:
    tags = [{"Key": k, "Value": v} for k, v in job.tags.items() if not k.startswith(EMULATOR_TAG_PREFIX)]
    failed = job.tags.get(FAILED_CHILDREN_TAG, "").split()
    outcome = "Failed" if str(number) in failed else job.tags.get(CHILD_OUTCOME_TAG)
    if outcome:
        tags.append({"Key": jobs.OUTCOME_TAG, "Value": outcome})
    if job.tags.get(CHILD_DURATION_TAG):
        tags.append({"Key": jobs.DURATION_TAG, "Value": job.tags[CHILD_DURATION_TAG]})
    return tags


_CHILD_ECHO = ("RoleArn", "InputDataConfig", "VpcConfig", "OutputDataConfig", "StoppingCondition",
               "EnableNetworkIsolation", "EnableInterContainerTrafficEncryption", "EnableManagedSpotTraining",
               "CheckpointConfig", "RetryStrategy", "Environment")


def _resource_config(definition: Mapping[str, Any]) -> dict[str, Any]:
    if definition.get("ResourceConfig"):
        return dict(definition["ResourceConfig"])
    hp = dict(definition.get("HyperParameterTuningResourceConfig") or {})
    first = (hp.get("InstanceConfigs") or [{}])[0]
    out = {k: v for k, v in {
        "InstanceType": hp.get("InstanceType") or first.get("InstanceType"),
        "InstanceCount": hp.get("InstanceCount") or first.get("InstanceCount", 1),
        "VolumeSizeInGB": hp.get("VolumeSizeInGB") or first.get("VolumeSizeInGB"),
        "VolumeKmsKeyId": hp.get("VolumeKmsKeyId"),
    }.items() if v is not None}
    return out


def _schedule(world: World, job: TuningJob, when: float, step: Any) -> None:
    def run() -> None:
        if world.sagemaker.tuning.get(job.name) is job:
            step(when)

    world.scheduler.at(when, run)


def _running(world: World, job: TuningJob) -> list[Child]:
    return [c for c in job.children if _child_desc(world, c)["TrainingJobStatus"] not in TERMINAL]


def _launch(world: World, job: TuningJob, at: float) -> None:
    """Start children until MaxParallelTrainingJobs run or MaxNumberOfTrainingJobs have been launched."""
    while job.status == "InProgress" and len(job.children) < job.total and len(_running(world, job)) < job.parallel:
        number = len(job.children) + 1
        definition = job.definitions[(number - 1) % len(job.definitions)]
        ranges = _ranges(definition, job.request["HyperParameterTuningJobConfig"])
        tuned = job.grid[number - 1] if job.grid is not None else sample(ranges, job.rng)
        objective = _objective(job, definition)
        metric, kind = objective.get("MetricName", "objective"), objective.get("Type", "Minimize")
        name = f"{job.name}-{number:03d}-{job.rng.getrandbits(32):08x}"
        spec = dict(definition.get("AlgorithmSpecification") or {})
        metrics = jobs.default_final_metrics(name, [m["Name"] for m in spec.get("MetricDefinitions") or []])
        metrics[metric] = objective_value(tuned, ranges, kind, job.rng)
        request: dict[str, Any] = {
            "TrainingJobName": name,
            "HyperParameters": {**(definition.get("StaticHyperParameters") or {}), **tuned,
                                "_tuning_objective_metric": metric},
            "AlgorithmSpecification": spec,
            "ResourceConfig": _resource_config(definition),
            "Tags": _child_tags(job, number),
        }
        request.update({k: definition[k] for k in _CHILD_ECHO if definition.get(k) is not None})
        try:
            jobs.create_training_job(world, request, tuning_job_arn=job.arn, final_metrics=metrics, at=at)
        except AwsError as err:
            if err.code != "ResourceLimitExceeded":
                raise
            _schedule(world, job, at + RETRY_SECONDS, lambda when: _launch(world, job, when))
            return
        child = Child(name, number, definition, tuned, kind, metric, at)
        job.children.append(child)
        job.touch(at)
        jobs.on_training_job_terminal(world, name, lambda desc: _child_ended(world, job, desc))


def _end(job: TuningJob, at: float, status: str, reason: str | None = None) -> None:
    job.status = status
    job.ended = at
    if reason is not None:
        job.failure_reason = reason
    job.touch(at)


def _stop_children(world: World, job: TuningJob, at: float | None = None) -> None:
    """Stop the running children; ``at`` is the due instant of the lifecycle step doing it (None: now)."""
    for child in job.children:
        if _child_desc(world, child)["TrainingJobStatus"] == "InProgress":
            jobs.stop_training(world, child.name, at=at)


def _fail(world: World, job: TuningJob, at: float) -> None:
    _end(job, at, "Failed", job.tags.get(FAILURE_REASON_TAG) or DEFAULT_FAILURE_REASON)
    _stop_children(world, job, at)


def _child_ended(world: World, job: TuningJob, desc: dict[str, Any]) -> None:
    at = float(desc.get("TrainingEndTime") or world.clock.now())
    if world.sagemaker.tuning.get(job.name) is not job:
        return
    job.touch(at)
    if job.status == "Stopping":
        if not _running(world, job):
            _end(job, at, "Stopped")
        return
    if job.status != "InProgress":
        return
    if job.tags.get(OUTCOME_TAG) == "Failed" and DURATION_TAG not in job.tags:
        _fail(world, job, at)
        return
    summaries = _summaries(world, job)
    target = (job.request["HyperParameterTuningJobConfig"].get("TuningJobCompletionCriteria") or {}).get(
        "TargetObjectiveMetricValue")
    best = _best(job, summaries)
    if target is not None and best is not None:
        metric = best["FinalHyperParameterTuningJobObjectiveMetric"]
        reached = metric["Value"] >= target if metric["Type"] == "Maximize" else metric["Value"] <= target
        if reached:
            _end(job, at, "Completed")
            _stop_children(world, job, at)
            return
    _launch(world, job, at)
    if len(job.children) >= job.total and not _running(world, job):
        if best is None:
            _end(job, at, "Failed", ALL_CHILDREN_FAILED)
        else:
            _end(job, at, "Completed")


# ------------------------------------------------------------------------------------------------------- validation


def _check_ranges(ranges: Mapping[str, Any], static: Mapping[str, str]) -> None:
    for kind in ("Integer", "Continuous"):
        for spec in ranges.get(f"{kind}ParameterRanges") or []:
            name = spec["Name"]
            try:
                lo, hi = (int(spec["MinValue"]), int(spec["MaxValue"])) if kind == "Integer" else (
                    float(spec["MinValue"]), float(spec["MaxValue"]))
            except ValueError:
                raise validation(f"The {kind.lower()} hyperparameter range for {name} has a MinValue or MaxValue "
                                 f"that is not a valid {kind.lower()}.") from None
            if lo > hi:
                raise validation(f"The MinValue of hyperparameter {name} must be less than or equal to its MaxValue.")
            scaling = spec.get("ScalingType", "Auto")
            if scaling == "Logarithmic" and lo <= 0:
                raise validation(f"Logarithmic scaling for hyperparameter {name} requires a MinValue greater than 0.")
            if scaling == "ReverseLogarithmic" and (kind == "Integer" or lo < 0 or hi >= 1):
                raise validation(f"ReverseLogarithmic scaling for hyperparameter {name} requires a continuous range "
                                 "with MinValue >= 0 and MaxValue < 1.")
    names = [spec["Name"] for kind in ("Integer", "Continuous", "Categorical")
             for spec in ranges.get(f"{kind}ParameterRanges") or []]
    for name in names:
        if name in static:
            raise validation(f"Hyperparameter {name} cannot be both static and tunable.")
    if len(set(names)) != len(names):
        raise validation("Each tunable hyperparameter can appear in only one parameter range.")


# ------------------------------------------------------------------------------------------------------- operations


def create_hyper_parameter_tuning_job(world: World, request: dict[str, Any]) -> dict[str, Any]:
    store = world.sagemaker.tuning
    name = request["HyperParameterTuningJobName"]
    arn = world.arn("sagemaker", f"hyper-parameter-tuning-job/{name.lower()}")
    if store.get(name) is not None:
        raise resource_in_use(
            "Hyperparameter tuning job names must be unique within an AWS account and region, and a hyperparameter "
            f"tuning job with this name already exists ({arn})")
    single, multiple = request.get("TrainingJobDefinition"), request.get("TrainingJobDefinitions")
    if (single is None) == (multiple is None):
        raise validation("Exactly one of TrainingJobDefinition or TrainingJobDefinitions must be provided.")
    definitions = [dict(single)] if single is not None else [dict(d) for d in multiple or []]
    for definition in definitions:
        world.check_execution_role(definition.get("RoleArn"))
    config = request["HyperParameterTuningJobConfig"]
    for definition in definitions:
        objective = definition.get("TuningObjective") or config.get("HyperParameterTuningJobObjective")
        if not objective:
            raise validation("HyperParameterTuningJobObjective is required in HyperParameterTuningJobConfig "
                             "or TuningObjective in every training job definition.")
        metric_names = [m["Name"] for m in (definition["AlgorithmSpecification"].get("MetricDefinitions") or [])]
        if metric_names and objective["MetricName"] not in metric_names:
            raise validation(f"The objective metric for the hyperparameter tuning job, [{objective['MetricName']}], "
                             "isn't valid for the algorithm. Choose a metric defined in MetricDefinitions.")
        _check_ranges(_ranges(definition, config), definition.get("StaticHyperParameters") or {})
    limits = config["ResourceLimits"]
    strategy = config["Strategy"]
    combos = grid(_ranges(definitions[0], config)) if strategy == "Grid" else None
    if combos is not None:
        total = min(len(combos), int(limits.get("MaxNumberOfTrainingJobs") or len(combos)))
    elif limits.get("MaxNumberOfTrainingJobs") is None:
        raise validation("MaxNumberOfTrainingJobs is required in ResourceLimits unless the strategy is Grid.")
    else:
        total = int(limits["MaxNumberOfTrainingJobs"])
    parallel = int(limits["MaxParallelTrainingJobs"])
    world.quotas.check("training-jobs-per-tuning-job", 0, total)
    world.quotas.check("parallel-training-jobs-per-tuning-job", 0, parallel)
    running = sum(1 for j in store.jobs.values() if j.status in ("InProgress", "Stopping"))
    world.quotas.check("tuning-jobs-running", running)
    for parent in (request.get("WarmStartConfig") or {}).get("ParentHyperParameterTuningJobs") or []:
        if store.get(parent["HyperParameterTuningJobName"]) is None:
            raise not_found(parent["HyperParameterTuningJobName"])
    seed = config.get("RandomSeed")
    now = world.clock.now()
    tags = {t["Key"]: t["Value"] for t in request.get("Tags") or []}
    job = TuningJob(
        name=name, arn=arn, request=dict(request), definitions=definitions, created=now, modified=now,
        rng=random.Random(seed if seed is not None else world.rand.getrandbits(64)), tags=tags, total=total,
        parallel=parallel, grid=combos,
    )
    store.jobs[name.lower()] = job
    world.sagemaker.tags.register(arn, list(request.get("Tags") or []))
    if tags.get(OUTCOME_TAG) == "Failed" and DURATION_TAG in tags:
        try:
            delay = max(float(tags[DURATION_TAG]), 0.0)
        except ValueError:
            raise validation(f"Tag {DURATION_TAG} must be a non-negative number of seconds") from None
        _schedule(world, job, now + delay, lambda when: _fail(world, job, when) if job.status == "InProgress" else None)
    _launch(world, job, now)
    return {"HyperParameterTuningJobArn": arn}


def describe_hyper_parameter_tuning_job(world: World, request: dict[str, Any]) -> dict[str, Any]:
    job = _require(world, request["HyperParameterTuningJobName"])
    summaries = _summaries(world, job)
    status_counters, objective_counters = _counters(summaries)
    config = {"TrainingJobEarlyStoppingType": "Off", **job.request["HyperParameterTuningJobConfig"]}
    out: dict[str, Any] = {
        "HyperParameterTuningJobName": job.name,
        "HyperParameterTuningJobArn": job.arn,
        "HyperParameterTuningJobConfig": config,
    }
    for member in ("TrainingJobDefinition", "TrainingJobDefinitions"):
        if job.request.get(member) is not None:
            out[member] = job.request[member]
    out.update({"HyperParameterTuningJobStatus": job.status, "CreationTime": job.created})
    if job.ended is not None:
        out["HyperParameterTuningEndTime"] = job.ended
    out["LastModifiedTime"] = job.modified
    out["TrainingJobStatusCounters"] = status_counters
    out["ObjectiveStatusCounters"] = objective_counters
    best = _best(job, summaries)
    if best is not None:
        out["BestTrainingJob"] = best
    for member in ("WarmStartConfig", "Autotune"):
        if job.request.get(member) is not None:
            out[member] = job.request[member]
    if job.failure_reason is not None:
        out["FailureReason"] = job.failure_reason
    end = job.ended if job.ended is not None else world.clock.now()
    out["ConsumedResources"] = {"RuntimeInSeconds": int(end - job.created)}
    return out


def stop_hyper_parameter_tuning_job(world: World, request: dict[str, Any]) -> dict[str, Any]:
    job = _require(world, request["HyperParameterTuningJobName"])
    if job.status != "InProgress":
        raise validation(f"The request was rejected because the tuning job is in status {job.status}.")
    now = world.clock.now()
    job.status = "Stopping"
    job.touch(now)
    _stop_children(world, job)
    if not _running(world, job):
        _schedule(world, job, now + STOP_SECONDS, lambda when: _end(job, when, "Stopped"))
    return {}


LIST_SPEC: listing.ListSpec[TuningJob] = listing.ListSpec(
    operation="ListHyperParameterTuningJobs",
    name=lambda j: j.name,
    sort_keys={"Name": lambda j: j.name, "Status": lambda j: j.status, "CreationTime": lambda j: j.created},
    default_sort_by="Name",
    default_sort_order=listing.ASCENDING,
    created=lambda j: j.created,
    modified=lambda j: j.modified,
    status=lambda j: j.status,
)


def list_hyper_parameter_tuning_jobs(world: World, request: dict[str, Any]) -> dict[str, Any]:
    page = listing.list_page(world.sagemaker.tuning.jobs.values(), request, LIST_SPEC)

    def render(job: TuningJob) -> dict[str, Any]:
        status_counters, objective_counters = _counters(_summaries(world, job))
        out: dict[str, Any] = {
            "HyperParameterTuningJobName": job.name,
            "HyperParameterTuningJobArn": job.arn,
            "HyperParameterTuningJobStatus": job.status,
            "Strategy": job.request["HyperParameterTuningJobConfig"]["Strategy"],
            "CreationTime": job.created,
        }
        if job.ended is not None:
            out["HyperParameterTuningEndTime"] = job.ended
        out.update({"LastModifiedTime": job.modified, "TrainingJobStatusCounters": status_counters,
                    "ObjectiveStatusCounters": objective_counters,
                    "ResourceLimits": job.request["HyperParameterTuningJobConfig"]["ResourceLimits"]})
        return out

    return page.response("HyperParameterTuningJobSummaries", render)


def _metric_sort_value(summary: Mapping[str, Any]) -> float:
    return float(summary["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])


CHILDREN_SPEC: listing.ListSpec[dict[str, Any]] = listing.ListSpec(
    operation="ListTrainingJobsForHyperParameterTuningJob",
    name=lambda s: str(s["TrainingJobName"]),
    sort_keys={
        "Name": lambda s: str(s["TrainingJobName"]),
        "CreationTime": lambda s: float(s["CreationTime"]),
        "Status": lambda s: str(s["TrainingJobStatus"]),
        "FinalObjectiveMetricValue": _metric_sort_value,
    },
    default_sort_by="Name",
    default_sort_order=listing.ASCENDING,
    created=lambda s: float(s["CreationTime"]),
    status=lambda s: str(s["TrainingJobStatus"]),
)


def list_training_jobs_for_hyper_parameter_tuning_job(world: World, request: dict[str, Any]) -> dict[str, Any]:
    job = _require(world, request["HyperParameterTuningJobName"])
    pre = []
    if request.get("SortBy") == "FinalObjectiveMetricValue":
        # "any training jobs that did not return an objective metric are not listed" (API reference)
        pre.append(lambda s: "FinalHyperParameterTuningJobObjectiveMetric" in s)
    page = listing.list_page(_summaries(world, job), request, CHILDREN_SPEC, extra_pre=pre)
    return page.response("TrainingJobSummaries", lambda s: s)


OPERATIONS: Mapping[str, Handler] = {
    "CreateHyperParameterTuningJob": create_hyper_parameter_tuning_job,
    "DescribeHyperParameterTuningJob": describe_hyper_parameter_tuning_job,
    "StopHyperParameterTuningJob": stop_hyper_parameter_tuning_job,
    "ListHyperParameterTuningJobs": list_hyper_parameter_tuning_jobs,
    "ListTrainingJobsForHyperParameterTuningJob": list_training_jobs_for_hyper_parameter_tuning_job,
}
