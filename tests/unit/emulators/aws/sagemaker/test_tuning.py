"""Hyperparameter tuning jobs (handlers called directly on a world; children are real emulated training jobs).

"Amazon SageMaker can't find a tuning job" with ResourceNotFound is what the original operator's client wrapper
matches (DescribeHyperParameterTuningJob404MessagePrefix); child names follow SageMaker's
``<tuning job>-<nnn>-<8 hex>``; ``_tuning_objective_metric`` is the static hyperparameter SageMaker adds to children.
"""

from __future__ import annotations

import math
import random
import re
from typing import Any

import pytest

from smk8s.emulators.aws.clock import VirtualClock
from smk8s.emulators.aws.errors import AwsError
from smk8s.emulators.aws.sagemaker import jobs, tuning
from smk8s.emulators.aws.world import World, new_world
from tests.support.aws_shapes import assert_output_shape
from tests.unit.emulators.aws.sagemaker.test_hosting import later

ROLE = "arn:aws:iam::123456789012:role/sm"
RANGES: dict[str, list[dict[str, Any]]] = {
    "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "2", "MaxValue": "10", "ScalingType": "Linear"}],
    "ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.001", "MaxValue": "0.5",
                                   "ScalingType": "Logarithmic"}],
    "CategoricalParameterRanges": [{"Name": "booster", "Values": ["gbtree", "dart"]}],
}
DEFINITION = {
    "StaticHyperParameters": {"objective": "binary:logistic", "num_round": "50"},
    "AlgorithmSpecification": {"TrainingImage": "xgboost:1.7", "TrainingInputMode": "File",
                               "MetricDefinitions": [{"Name": "validation:auc", "Regex": "auc=([0-9.]+)"}]},
    "RoleArn": ROLE,
    "OutputDataConfig": {"S3OutputPath": "s3://bucket/out/"},
    "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
    "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
}


def request(name: str = "tune", *, total: int = 4, parallel: int = 2, objective: str = "Maximize",
            tags: dict[str, str] | None = None, **config: Any) -> dict[str, Any]:
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": objective, "MetricName": "validation:auc"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": total, "MaxParallelTrainingJobs": parallel},
            "ParameterRanges": RANGES,
            **config,
        },
        "TrainingJobDefinition": DEFINITION,
        "Tags": [{"Key": k, "Value": v} for k, v in {tuning.CHILD_DURATION_TAG: "100", **(tags or {})}.items()],
    }


def call(world: World, operation: str, **req: Any) -> dict[str, Any]:
    world.advance()
    response = tuning.OPERATIONS[operation](world, req)
    assert_output_shape("sagemaker", operation, response)
    return response


def error_of(world: World, operation: str, **req: Any) -> AwsError:
    world.advance()
    with pytest.raises(AwsError) as info:
        tuning.OPERATIONS[operation](world, req)
    return info.value


def describe(world: World, name: str = "tune") -> dict[str, Any]:
    return call(world, "DescribeHyperParameterTuningJob", HyperParameterTuningJobName=name)


def children(world: World, name: str = "tune", **req: Any) -> list[dict[str, Any]]:
    summaries: list[dict[str, Any]] = call(world, "ListTrainingJobsForHyperParameterTuningJob",
                                           HyperParameterTuningJobName=name, MaxResults=100, **req)[
        "TrainingJobSummaries"]
    return summaries


def run_to_end(world: World) -> None:
    later(world, 100_000)


@pytest.fixture
def world() -> World:
    return new_world(clock=VirtualClock(start=1_700_000_000.0, monotonic=lambda: 0.0), seed=7)


def test_sampling_respects_ranges_and_scaling() -> None:
    rng = random.Random(1)
    ints = [int(tuning.sample_range("Integer", {"MinValue": "2", "MaxValue": "10"}, rng)) for _ in range(500)]
    assert min(ints) == 2 and max(ints) == 10
    logs = [float(tuning.sample_range("Continuous", {"MinValue": "0.001", "MaxValue": "1",
                                                     "ScalingType": "Logarithmic"}, rng)) for _ in range(2000)]
    assert all(0.001 <= v <= 1 for v in logs)
    below = sum(v < 0.0316 for v in logs) / len(logs)  # log-uniform: half the mass below the geometric middle
    assert 0.4 < below < 0.6
    rev = [float(tuning.sample_range("Continuous", {"MinValue": "0.9", "MaxValue": "0.999",
                                                    "ScalingType": "ReverseLogarithmic"}, rng)) for _ in range(2000)]
    assert all(0.9 <= v <= 0.999 for v in rev)
    middle = 1 - math.sqrt(0.1 * 0.001)
    assert 0.4 < sum(v > middle for v in rev) / len(rev) < 0.6
    cats = {tuning.sample_range("Categorical", {"Values": ["a", "b", "c"]}, rng) for _ in range(100)}
    assert cats == {"a", "b", "c"}
    assert tuning.grid({"CategoricalParameterRanges": [{"Name": "x", "Values": ["1", "2"]},
                                                       {"Name": "y", "Values": ["a", "b"]}]}) == [
        {"x": "1", "y": "a"}, {"x": "1", "y": "b"}, {"x": "2", "y": "a"}, {"x": "2", "y": "b"}]


def test_tuning_job_runs_children_in_parallel_batches_and_picks_the_best(world: World) -> None:
    arn = call(world, "CreateHyperParameterTuningJob", **request(total=5, parallel=2))["HyperParameterTuningJobArn"]
    assert arn == "arn:aws:sagemaker:us-west-2:123456789012:hyper-parameter-tuning-job/tune"
    got = describe(world)
    assert got["HyperParameterTuningJobStatus"] == "InProgress"
    assert got["TrainingJobStatusCounters"]["InProgress"] == 2
    assert got["ObjectiveStatusCounters"] == {"Succeeded": 0, "Pending": 2, "Failed": 0}
    assert got["HyperParameterTuningJobConfig"]["TrainingJobEarlyStoppingType"] == "Off"
    assert "BestTrainingJob" not in got and "HyperParameterTuningEndTime" not in got
    first = children(world)
    assert len(first) == 2
    for summary in first:
        assert re.fullmatch(r"tune-00[12]-[0-9a-f]{8}", summary["TrainingJobName"])
        desc = jobs.training_job_description(world, summary["TrainingJobName"])
        assert desc["TuningJobArn"] == arn
        hp = desc["HyperParameters"]
        assert hp["objective"] == "binary:logistic" and hp["_tuning_objective_metric"] == "validation:auc"
        assert 2 <= int(hp["max_depth"]) <= 10 and 0.001 <= float(hp["eta"]) <= 0.5
        assert hp["booster"] in ("gbtree", "dart")
        assert summary["TunedHyperParameters"] == {k: hp[k] for k in ("max_depth", "eta", "booster")}
        assert summary["ObjectiveStatus"] == "Pending"
    peak = 0
    while describe(world)["HyperParameterTuningJobStatus"] == "InProgress":
        later(world, 10)
        running = describe(world)["TrainingJobStatusCounters"]["InProgress"]
        peak = max(peak, running)
        assert running <= 2
    assert peak == 2
    got = describe(world)
    assert got["HyperParameterTuningJobStatus"] == "Completed"
    assert got["TrainingJobStatusCounters"] == {"Completed": 5, "InProgress": 0, "RetryableError": 0,
                                                "NonRetryableError": 0, "Stopped": 0}
    assert got["ObjectiveStatusCounters"] == {"Succeeded": 5, "Pending": 0, "Failed": 0}
    all_children = children(world)
    assert [c["TrainingJobName"][:8] for c in all_children] == [f"tune-00{i}" for i in range(1, 6)]
    values = [c["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for c in all_children]
    best = got["BestTrainingJob"]
    assert best["FinalHyperParameterTuningJobObjectiveMetric"] == {
        "Type": "Maximize", "MetricName": "validation:auc", "Value": max(values)}
    assert best["ObjectiveStatus"] == "Succeeded" and best["TuningJobName"] == "tune"
    assert got["HyperParameterTuningEndTime"] == max(c["TrainingEndTime"] for c in all_children)
    # The child's own metric agrees with the summary.
    desc = jobs.training_job_description(world, best["TrainingJobName"])
    assert {"MetricName": "validation:auc", "Value": max(values), "Timestamp": desc["FinalMetricDataList"][0][
        "Timestamp"]} in desc["FinalMetricDataList"]


def test_minimize_picks_the_lowest(world: World) -> None:
    call(world, "CreateHyperParameterTuningJob", **request(total=4, parallel=4, objective="Minimize"))
    run_to_end(world)
    values = [c["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for c in children(world)]
    assert describe(world)["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == min(values)


def test_same_seed_same_search(world: World) -> None:
    call(world, "CreateHyperParameterTuningJob", **request("a", RandomSeed=42))
    call(world, "CreateHyperParameterTuningJob", **request("b", RandomSeed=42))
    call(world, "CreateHyperParameterTuningJob", **request("c", RandomSeed=43))
    tuned = {n: [c["TunedHyperParameters"] for c in children(world, n)] for n in "abc"}
    assert tuned["a"] == tuned["b"] != tuned["c"]


def test_list_children_filters_sorting_and_paging(world: World) -> None:
    call(world, "CreateHyperParameterTuningJob", **request(total=6, parallel=6, tags={
        tuning.FAILED_CHILDREN_TAG: "2 5"}))
    run_to_end(world)
    got = describe(world)
    assert got["TrainingJobStatusCounters"]["NonRetryableError"] == 2
    assert got["TrainingJobStatusCounters"]["Completed"] == 4
    assert got["ObjectiveStatusCounters"] == {"Succeeded": 4, "Pending": 0, "Failed": 2}
    failed = children(world, StatusEquals="Failed")
    assert [c["TrainingJobName"][:8] for c in failed] == ["tune-002", "tune-005"]
    assert all(c["FailureReason"] and c["ObjectiveStatus"] == "Failed" for c in failed)
    by_metric = children(world, SortBy="FinalObjectiveMetricValue", SortOrder="Descending")
    values = [c["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for c in by_metric]
    assert len(values) == 4 and values == sorted(values, reverse=True)  # jobs without a metric are not listed
    assert by_metric[0]["TrainingJobName"] == got["BestTrainingJob"]["TrainingJobName"]
    page = call(world, "ListTrainingJobsForHyperParameterTuningJob", HyperParameterTuningJobName="tune", MaxResults=4)
    rest = call(world, "ListTrainingJobsForHyperParameterTuningJob", HyperParameterTuningJobName="tune", MaxResults=4,
                NextToken=page["NextToken"])
    names = [c["TrainingJobName"] for c in page["TrainingJobSummaries"] + rest["TrainingJobSummaries"]]
    assert names == sorted(names) and len(names) == 6 and "NextToken" not in rest


def test_all_children_failing_fails_the_tuning_job(world: World) -> None:
    call(world, "CreateHyperParameterTuningJob", **request(total=2, tags={tuning.CHILD_OUTCOME_TAG: "Failed"}))
    run_to_end(world)
    got = describe(world)
    assert got["HyperParameterTuningJobStatus"] == "Failed"
    assert got["FailureReason"] == tuning.ALL_CHILDREN_FAILED and "BestTrainingJob" not in got


def test_outcome_tag_fails_the_tuning_job(world: World) -> None:
    call(world, "CreateHyperParameterTuningJob", **request(total=4, parallel=2, tags={
        tuning.OUTCOME_TAG: "Failed", tuning.FAILURE_REASON_TAG: "ClientError: bad objective"}))
    later(world, 5_000)
    got = describe(world)
    assert got["HyperParameterTuningJobStatus"] == "Failed"
    assert got["FailureReason"] == "ClientError: bad objective"
    assert len(children(world)) == 2  # no more children after the failure
    # Emulator tags are not propagated to children, other tags are.
    child = children(world)[0]["TrainingJobArn"]
    keys = {t["Key"] for t in world.sagemaker.tags.tags(child)}
    assert tuning.OUTCOME_TAG not in keys and tuning.FAILURE_REASON_TAG not in keys


def test_outcome_tag_with_duration_fails_at_that_time(world: World) -> None:
    call(world, "CreateHyperParameterTuningJob", **request(tags={
        tuning.OUTCOME_TAG: "Failed", tuning.DURATION_TAG: "50"}))
    later(world, 49)
    assert describe(world)["HyperParameterTuningJobStatus"] == "InProgress"
    later(world, 1)
    got = describe(world)
    assert got["HyperParameterTuningJobStatus"] == "Failed"
    assert got["FailureReason"] == tuning.DEFAULT_FAILURE_REASON
    assert got["HyperParameterTuningEndTime"] == got["CreationTime"] + 50
    later(world, 100)
    assert describe(world)["TrainingJobStatusCounters"]["Stopped"] == 2


def test_stop_stops_children(world: World) -> None:
    call(world, "CreateHyperParameterTuningJob", **request(total=6, parallel=3))
    later(world, 10)
    assert call(world, "StopHyperParameterTuningJob", HyperParameterTuningJobName="tune") == {}
    assert describe(world)["HyperParameterTuningJobStatus"] == "Stopping"
    assert {c["TrainingJobStatus"] for c in children(world)} == {"Stopping"}
    later(world, 1_000)
    got = describe(world)
    assert got["HyperParameterTuningJobStatus"] == "Stopped"
    assert got["TrainingJobStatusCounters"]["Stopped"] == 3 and len(children(world)) == 3
    err = error_of(world, "StopHyperParameterTuningJob", HyperParameterTuningJobName="tune")
    assert err.code == "ValidationException"


def test_target_objective_value_completes_early(world: World) -> None:
    call(world, "CreateHyperParameterTuningJob", **request(
        total=10, parallel=2, TuningJobCompletionCriteria={"TargetObjectiveMetricValue": 0.0}))
    run_to_end(world)
    got = describe(world)
    assert got["HyperParameterTuningJobStatus"] == "Completed"
    assert len(children(world)) == 2  # the first child reached the target


def test_grid_strategy_enumerates_categoricals(world: World) -> None:
    req = request(total=10, parallel=10)
    config = req["HyperParameterTuningJobConfig"]
    config["Strategy"] = "Grid"
    config["ParameterRanges"] = {"CategoricalParameterRanges": [{"Name": "booster", "Values": ["gbtree", "dart"]},
                                                                {"Name": "depth", "Values": ["3", "6"]}]}
    del config["ResourceLimits"]["MaxNumberOfTrainingJobs"]
    call(world, "CreateHyperParameterTuningJob", **req)
    tuned = [c["TunedHyperParameters"] for c in children(world)]
    assert sorted(tuple(sorted(t.items())) for t in tuned) == sorted(
        tuple(sorted({"booster": b, "depth": d}.items())) for b in ("gbtree", "dart") for d in ("3", "6"))


def test_multiple_definitions(world: World) -> None:
    req = request(total=4, parallel=4)
    objective = req["HyperParameterTuningJobConfig"].pop("HyperParameterTuningJobObjective")
    ranges = req["HyperParameterTuningJobConfig"].pop("ParameterRanges")
    del req["TrainingJobDefinition"]
    req["TrainingJobDefinitions"] = [
        {**DEFINITION, "DefinitionName": name, "TuningObjective": objective, "HyperParameterRanges": ranges}
        for name in ("def-a", "def-b")]
    call(world, "CreateHyperParameterTuningJob", **req)
    assert [c["TrainingJobDefinitionName"] for c in children(world)] == ["def-a", "def-b", "def-a", "def-b"]
    run_to_end(world)
    assert describe(world)["BestTrainingJob"]["TrainingJobDefinitionName"] in ("def-a", "def-b")


def test_warm_start_and_early_stopping_are_accepted(world: World) -> None:
    call(world, "CreateHyperParameterTuningJob", **request("parent", total=1, parallel=1))
    warm = {"ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "parent"}],
            "WarmStartType": "IdenticalDataAndAlgorithm"}
    call(world, "CreateHyperParameterTuningJob", **request(TrainingJobEarlyStoppingType="Auto"), WarmStartConfig=warm)
    got = describe(world)
    assert got["WarmStartConfig"] == warm
    assert got["HyperParameterTuningJobConfig"]["TrainingJobEarlyStoppingType"] == "Auto"
    err = error_of(world, "CreateHyperParameterTuningJob", **request("orphan"), WarmStartConfig={
        **warm, "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "ghost"}]})
    assert err.code == "ResourceNotFound"


def test_not_found_and_duplicate(world: World) -> None:
    for op in ("DescribeHyperParameterTuningJob", "StopHyperParameterTuningJob",
               "ListTrainingJobsForHyperParameterTuningJob"):
        err = error_of(world, op, HyperParameterTuningJobName="ghost")
        assert (err.code, err.status, err.message) == (
            "ResourceNotFound", 400, "Amazon SageMaker can't find a tuning job with name ghost")
    call(world, "CreateHyperParameterTuningJob", **request())
    err = error_of(world, "CreateHyperParameterTuningJob", **request("TUNE"))
    assert err.code == "ResourceInUse"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda r: r["HyperParameterTuningJobConfig"]["ParameterRanges"].update(
            IntegerParameterRanges=[{"Name": "max_depth", "MinValue": "9", "MaxValue": "2"}]),
        lambda r: r["HyperParameterTuningJobConfig"]["ParameterRanges"].update(
            ContinuousParameterRanges=[{"Name": "eta", "MinValue": "0", "MaxValue": "1",
                                        "ScalingType": "Logarithmic"}]),
        lambda r: r["HyperParameterTuningJobConfig"]["ParameterRanges"].update(
            CategoricalParameterRanges=[{"Name": "num_round", "Values": ["1"]}]),
        lambda r: r["HyperParameterTuningJobConfig"].update(
            HyperParameterTuningJobObjective={"Type": "Maximize", "MetricName": "not:defined"}),
        lambda r: r["HyperParameterTuningJobConfig"]["ResourceLimits"].pop("MaxNumberOfTrainingJobs"),
        lambda r: r.update(TrainingJobDefinitions=[DEFINITION]),
    ],
)
def test_invalid_requests(world: World, mutate: Any) -> None:
    req = request()
    req["HyperParameterTuningJobConfig"]["ParameterRanges"] = {k: [dict(r) for r in v] for k, v in RANGES.items()}
    mutate(req)
    assert error_of(world, "CreateHyperParameterTuningJob", **req).code == "ValidationException"
    assert world.sagemaker.tuning.jobs == {}


def test_quotas(world: World) -> None:
    world.quotas.set("parallel-training-jobs-per-tuning-job", 2)
    assert error_of(world, "CreateHyperParameterTuningJob", **request(parallel=3)).code == "ResourceLimitExceeded"
    world.quotas.set("tuning-jobs-running", 1)
    call(world, "CreateHyperParameterTuningJob", **request("one"))
    assert error_of(world, "CreateHyperParameterTuningJob", **request("two")).code == "ResourceLimitExceeded"


def test_children_wait_for_the_training_job_quota(world: World) -> None:
    world.quotas.set("training-jobs-running", 1)
    call(world, "CreateHyperParameterTuningJob", **request(total=3, parallel=3))
    assert len(children(world)) == 1
    for _ in range(100):  # look now and then: a child launched by a lifecycle step starts when somebody looks
        later(world, 50)
    got = describe(world)
    assert got["HyperParameterTuningJobStatus"] == "Completed"
    assert got["TrainingJobStatusCounters"]["Completed"] == 3


def test_list_tuning_jobs(world: World) -> None:
    for name in ("b-tune", "a-tune", "c-other"):
        call(world, "CreateHyperParameterTuningJob", **request(name, total=1, parallel=1))
        later(world, 1)
    call(world, "StopHyperParameterTuningJob", HyperParameterTuningJobName="c-other")
    listed = call(world, "ListHyperParameterTuningJobs")["HyperParameterTuningJobSummaries"]
    assert [s["HyperParameterTuningJobName"] for s in listed] == ["a-tune", "b-tune", "c-other"]  # Name Ascending
    assert listed[0]["Strategy"] == "Random" and listed[0]["ResourceLimits"]["MaxParallelTrainingJobs"] == 1
    assert listed[0]["TrainingJobStatusCounters"]["InProgress"] == 1
    stopping = call(world, "ListHyperParameterTuningJobs", StatusEquals="Stopping")["HyperParameterTuningJobSummaries"]
    assert [s["HyperParameterTuningJobName"] for s in stopping] == ["c-other"]
    named = call(world, "ListHyperParameterTuningJobs", NameContains="tune", SortBy="CreationTime",
                 SortOrder="Descending")["HyperParameterTuningJobSummaries"]
    assert [s["HyperParameterTuningJobName"] for s in named] == ["a-tune", "b-tune"]
