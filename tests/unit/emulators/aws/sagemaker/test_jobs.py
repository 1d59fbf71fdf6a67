"""Training, processing and transform jobs: handlers called directly on a world with a frozen virtual clock."""

from __future__ import annotations

import itertools
import json
from typing import Any

import botocore.parsers
import botocore.session
import pytest

from smk8s.emulators.aws.clock import VirtualClock
from smk8s.emulators.aws.errors import AwsError
from smk8s.emulators.aws.sagemaker import jobs
from smk8s.emulators.aws.sagemaker.jobs import (
    DURATION_TAG,
    FAILURE_REASON_TAG,
    FINAL_METRICS_TAG,
    OUTCOME_TAG,
    RULE_EVALUATION_TAG,
    ContainersDown,
    Durations,
    Finish,
    Transition,
    metric_log_line,
    outcome_from_tags,
    plan_training,
)
from smk8s.emulators.aws.world import World, new_world
from tests.support.aws_shapes import service_model, shape_errors

T0 = 1_700_000_000.0
ROLE = "arn:aws:iam::123456789012:role/sm"
D = Durations()
# Default timeline of a training job (module docstring): Starting 150 s, Downloading 30 s, Training 600 s,
# Uploading 20 s.
UP = D.launching + D.preparing
TRAINING_AT = UP + D.downloading
UPLOADING_AT = TRAINING_AT + D.training
DONE_AT = UPLOADING_AT + D.uploading


# ------------------------------------------------------------------------------------------------ output shape check


def check_output(operation: str, response: dict[str, Any], *, allow_missing: tuple[str, ...] = ()) -> dict[str, Any]:
    """Assert ``response`` fits ``operation``'s output shape and that botocore's JSON parser reads it back."""
    shape = service_model("sagemaker").operation_model(operation).output_shape
    if shape is None:
        assert response == {}
        return response
    assert shape_errors(shape, response, allow_missing=allow_missing) == []
    parsed = botocore.parsers.create_parser("json").parse(
        {"body": json.dumps(response).encode(), "headers": {}, "status_code": 200}, shape)
    assert set(parsed) - {"ResponseMetadata"} == set(response)
    return response


# ------------------------------------------------------------------------------------------------ helpers


@pytest.fixture
def world() -> World:
    return new_world(clock=VirtualClock(start=T0, scale=1e-12))


def at(world: World, offset: float) -> None:
    """Move the virtual clock to ``T0 + offset`` and run the due lifecycle steps (what the server does)."""
    world.clock.advance(max(T0 + offset - world.clock.now(), 0.0))
    world.advance()


def call(world: World, operation: str, **request: Any) -> dict[str, Any]:
    world.advance()
    return jobs.OPERATIONS[operation](world, request)


def error(world: World, operation: str, **request: Any) -> AwsError:
    with pytest.raises(AwsError) as err:
        call(world, operation, **request)
    return err.value


def training_request(name: str = "job1", **extra: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "TrainingJobName": name,
        "RoleArn": ROLE,
        "AlgorithmSpecification": {"TrainingImage": "123456789012.dkr.ecr.us-west-2.amazonaws.com/algo:1",
                                   "TrainingInputMode": "File"},
        "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": "s3://bucket/train"}}}],
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/output/"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "HyperParameters": {"epochs": "3"},
    }
    request.update(extra)
    return request


def tags(**values: str) -> list[dict[str, str]]:
    keys = {"outcome": OUTCOME_TAG, "duration": DURATION_TAG, "reason": FAILURE_REASON_TAG,
            "metrics": FINAL_METRICS_TAG, "rules": RULE_EVALUATION_TAG}
    return [{"Key": keys[k], "Value": v} for k, v in values.items()]


def describe(world: World, name: str = "job1") -> dict[str, Any]:
    return check_output("DescribeTrainingJob", call(world, "DescribeTrainingJob", TrainingJobName=name),
                        allow_missing=("ModelArtifacts",))


def statuses(desc: dict[str, Any]) -> tuple[str, str]:
    return desc["TrainingJobStatus"], desc["SecondaryStatus"]


def log_events(world: World, group: str) -> dict[str, list[tuple[int, str]]]:
    found = world.logs.groups.get(group)
    if found is None:
        return {}
    return {name: [(e.timestamp, e.message) for e in stream.events] for name, stream in found.streams.items()}


# ------------------------------------------------------------------------------------------------ training lifecycle


def test_create_answers_the_lower_cased_arn(world: World) -> None:
    response = check_output("CreateTrainingJob", call(world, "CreateTrainingJob", **training_request("My-Job")))
    assert response == {"TrainingJobArn": "arn:aws:sagemaker:us-west-2:123456789012:training-job/my-job"}


def test_new_job_is_starting_with_every_member_in_shape(world: World) -> None:
    call(world, "CreateTrainingJob", **training_request(), Tags=[{"Key": "team", "Value": "ml"}])
    desc = describe(world)
    assert statuses(desc) == ("InProgress", "Starting")
    assert desc["CreationTime"] == desc["LastModifiedTime"] == T0
    assert desc["SecondaryStatusTransitions"] == [
        {"Status": "Starting", "StartTime": T0, "StatusMessage": "Launching requested ML instances"}]
    assert desc["HyperParameters"] == {"epochs": "3"}
    assert desc["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}
    assert (desc["EnableNetworkIsolation"], desc["EnableManagedSpotTraining"]) == (False, False)
    for absent in ("ModelArtifacts", "TrainingStartTime", "TrainingEndTime", "FinalMetricDataList", "FailureReason",
                   "TrainingTimeInSeconds", "BillableTimeInSeconds", "TuningJobArn", "WarmPoolStatus"):
        assert absent not in desc
    assert world.sagemaker.tags.tags(desc["TrainingJobArn"]) == [{"Key": "team", "Value": "ml"}]


def test_default_max_runtime_is_one_day(world: World) -> None:
    request = training_request()
    del request["StoppingCondition"]
    call(world, "CreateTrainingJob", **request)
    assert describe(world)["StoppingCondition"] == {"MaxRuntimeInSeconds": 86400}


def test_secondary_statuses_follow_the_default_timeline(world: World) -> None:
    call(world, "CreateTrainingJob", **training_request())
    seen = []
    for offset in (UP - 1, UP, TRAINING_AT + 1, TRAINING_AT + 30, UPLOADING_AT, DONE_AT - 1):
        at(world, offset)
        desc = describe(world)
        seen.append((*statuses(desc), desc["SecondaryStatusTransitions"][-1]["StatusMessage"]))
    assert seen == [
        ("InProgress", "Starting", "Preparing the instances for training"),
        ("InProgress", "Downloading", "Downloading input data"),
        ("InProgress", "Training", "Downloading the training image..."),
        ("InProgress", "Training", "Training image download completed. Training in progress."),
        ("InProgress", "Uploading", "Uploading generated training model"),
        ("InProgress", "Uploading", "Uploading generated training model"),
    ]


def test_completed_job_members(world: World) -> None:
    call(world, "CreateTrainingJob", **training_request())
    at(world, DONE_AT)
    desc = describe(world)
    assert statuses(desc) == ("Completed", "Completed")
    assert desc["ModelArtifacts"] == {"S3ModelArtifacts": "s3://bucket/output/job1/output/model.tar.gz"}
    assert desc["TrainingStartTime"] == T0 + UP
    assert desc["TrainingEndTime"] == desc["LastModifiedTime"] == T0 + DONE_AT
    assert desc["TrainingTimeInSeconds"] == desc["BillableTimeInSeconds"] == int(DONE_AT - UP)
    assert [(t["Status"], t["StartTime"] - T0, t["EndTime"] - T0) for t in desc["SecondaryStatusTransitions"]] == [
        ("Starting", 0, UP), ("Downloading", UP, TRAINING_AT), ("Training", TRAINING_AT, UPLOADING_AT),
        ("Uploading", UPLOADING_AT, DONE_AT), ("Completed", DONE_AT, DONE_AT)]
    assert desc["SecondaryStatusTransitions"][-1]["StatusMessage"] == "Training job completed"
    [metric] = desc["FinalMetricDataList"]
    assert metric["MetricName"] == "train:loss"
    assert 0.05 <= metric["Value"] <= 0.5
    assert metric["Timestamp"] == T0 + UPLOADING_AT


def test_model_artifacts_path_without_trailing_slash(world: World) -> None:
    call(world, "CreateTrainingJob", **training_request(OutputDataConfig={"S3OutputPath": "s3://b/prefix"}))
    at(world, DONE_AT)
    assert describe(world)["ModelArtifacts"]["S3ModelArtifacts"] == "s3://b/prefix/job1/output/model.tar.gz"


def test_lifecycle_steps_use_their_own_instants_when_run_late(world: World) -> None:
    call(world, "CreateTrainingJob", **training_request())
    at(world, DONE_AT + 5000)  # nobody looked for a long time
    desc = describe(world)
    assert desc["TrainingEndTime"] == T0 + DONE_AT
    assert desc["SecondaryStatusTransitions"][1]["StartTime"] == T0 + UP


def test_duration_tag_sets_the_training_phase(world: World) -> None:
    call(world, "CreateTrainingJob", **training_request(Tags=tags(duration="60")))
    at(world, TRAINING_AT + 60)
    assert statuses(describe(world)) == ("InProgress", "Uploading")
    at(world, TRAINING_AT + 60 + D.uploading)
    assert statuses(describe(world)) == ("Completed", "Completed")


def test_failed_outcome(world: World) -> None:
    call(world, "CreateTrainingJob", **training_request(Tags=tags(outcome="Failed")))
    at(world, UPLOADING_AT)
    desc = describe(world)
    assert statuses(desc) == ("Failed", "Failed")
    assert desc["FailureReason"] == "AlgorithmError: See job logs for more information"
    assert desc["TrainingEndTime"] == T0 + UPLOADING_AT
    assert "ModelArtifacts" not in desc and "FinalMetricDataList" not in desc
    assert [t["Status"] for t in desc["SecondaryStatusTransitions"]][-2:] == ["Training", "Failed"]


def test_failure_reason_tag(world: World) -> None:
    reason = "ClientError: Please ensure the training data exists"
    call(world, "CreateTrainingJob", **training_request(Tags=tags(outcome="Failed", reason=reason, duration="10")))
    at(world, TRAINING_AT + 10)
    assert describe(world)["FailureReason"] == reason


def test_final_metrics_tag_and_metric_definitions(world: World) -> None:
    spec = {"TrainingImage": "img", "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": "validation:auc", "Regex": "validation-auc=([0-9\\.]+)"}]}
    call(world, "CreateTrainingJob", **training_request(AlgorithmSpecification=spec))
    call(world, "CreateTrainingJob", **training_request("job2", Tags=tags(metrics="validation:auc=0.93 loss=0.1")))
    at(world, DONE_AT)
    [auc] = describe(world)["FinalMetricDataList"]
    assert auc["MetricName"] == "validation:auc" and 0.7 <= auc["Value"] <= 0.99
    assert [(m["MetricName"], m["Value"]) for m in describe(world, "job2")["FinalMetricDataList"]] == [
        ("validation:auc", 0.93), ("loss", 0.1)]


def test_stop_turns_stopping_then_stopped_with_artifacts(world: World) -> None:
    call(world, "CreateTrainingJob", **training_request())
    at(world, TRAINING_AT + 100)
    assert check_output("StopTrainingJob", call(world, "StopTrainingJob", TrainingJobName="job1")) == {}
    desc = describe(world)
    assert statuses(desc) == ("Stopping", "Stopping")
    assert desc["SecondaryStatusTransitions"][-1]["StatusMessage"] == "Stopping the training job"
    at(world, TRAINING_AT + 100 + D.stopping - 1)
    assert statuses(describe(world)) == ("Stopping", "Stopping")
    at(world, TRAINING_AT + 100 + D.stopping)
    desc = describe(world)
    assert statuses(desc) == ("Stopped", "Stopped")
    assert desc["ModelArtifacts"]["S3ModelArtifacts"].endswith("/job1/output/model.tar.gz")
    assert desc["TrainingEndTime"] == T0 + TRAINING_AT + 100 + D.stopping
    at(world, DONE_AT + 100)  # the cancelled plan never runs
    assert statuses(describe(world)) == ("Stopped", "Stopped")


def test_stop_before_the_containers_start_leaves_no_artifacts(world: World) -> None:
    call(world, "CreateTrainingJob", **training_request())
    call(world, "StopTrainingJob", TrainingJobName="job1")
    at(world, DONE_AT)
    desc = describe(world)
    assert statuses(desc) == ("Stopped", "Stopped")
    for absent in ("ModelArtifacts", "TrainingStartTime", "TrainingTimeInSeconds"):
        assert absent not in desc


@pytest.mark.parametrize("status", ["Completed", "Stopping", "Stopped", "Failed"])
def test_stop_of_a_job_not_in_progress_is_rejected(world: World, status: str) -> None:
    outcome = "Failed" if status == "Failed" else "Completed"
    call(world, "CreateTrainingJob", **training_request(Tags=tags(outcome=outcome)))
    if status in ("Stopping", "Stopped"):
        call(world, "StopTrainingJob", TrainingJobName="job1")
    if status != "Stopping":
        at(world, DONE_AT)
    err = error(world, "StopTrainingJob", TrainingJobName="job1")
    assert (err.code, err.message) == (
        "ValidationException", f"The request was rejected because the training job is in status {status}.")


@pytest.mark.parametrize("operation", ["DescribeTrainingJob", "StopTrainingJob", "UpdateTrainingJob"])
def test_unknown_training_job(world: World, operation: str) -> None:
    err = error(world, operation, TrainingJobName="nope")
    assert (err.code, err.message, err.status) == ("ValidationException", "Requested resource not found.", 400)


def test_names_are_unique_for_ever_and_case_insensitively(world: World) -> None:
    call(world, "CreateTrainingJob", **training_request())
    at(world, DONE_AT)
    for name in ("job1", "JOB1"):
        err = error(world, "CreateTrainingJob", **training_request(name))
        assert (err.code, err.message) == (
            "ResourceInUse", "Training job names must be unique within an AWS account and region, and a training job "
            "with this name already exists (arn:aws:sagemaker:us-west-2:123456789012:training-job/job1)")
    assert describe(world, "JOB1")["TrainingJobName"] == "job1"


def test_spot_needs_max_wait_at_least_max_runtime(world: World) -> None:
    for stopping in ({"MaxRuntimeInSeconds": 3600}, {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 60}):
        err = error(world, "CreateTrainingJob", **training_request(EnableManagedSpotTraining=True,
                                                                   StoppingCondition=stopping))
        assert (err.code, err.message) == ("ValidationException", "Invalid MaxWaitTimeInSeconds. It must be present "
                                           "and be greater than or equal to MaxRuntimeInSeconds")
    err = error(world, "CreateTrainingJob", **training_request(
        StoppingCondition={"MaxRuntimeInSeconds": 60, "MaxWaitTimeInSeconds": 60}))
    assert err.code == "ValidationException"


def test_spot_interruption(world: World) -> None:
    call(world, "CreateTrainingJob", **training_request(
        EnableManagedSpotTraining=True, StoppingCondition={"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200},
        ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 10},
        Tags=tags(outcome="Interrupted", duration="600")))
    interrupted_at = TRAINING_AT + 300
    at(world, interrupted_at)
    assert statuses(describe(world)) == ("InProgress", "Interrupted")
    at(world, interrupted_at + D.interruption)
    assert statuses(describe(world)) == ("InProgress", "Starting")
    done = interrupted_at + D.interruption + UP + D.downloading + 300 + D.uploading
    at(world, done)
    desc = describe(world)
    assert statuses(desc) == ("Completed", "Completed")
    assert [t["Status"] for t in desc["SecondaryStatusTransitions"]] == [
        "Starting", "Downloading", "Training", "Interrupted", "Starting", "Downloading", "Training", "Uploading",
        "Completed"]
    assert desc["TrainingStartTime"] == T0 + UP
    assert desc["TrainingTimeInSeconds"] == int(done - UP)
    ran = (interrupted_at - UP) + (done - (interrupted_at + D.interruption + UP))
    assert desc["BillableTimeInSeconds"] == int(-(-ran * 0.3 // 1))  # 70 % spot saving
    streams = sorted(log_events(world, jobs.TRAINING_LOG_GROUP))
    restart = int(T0 + interrupted_at + D.interruption + UP)
    assert streams == sorted([f"job1/algo-1-{int(T0 + UP)}", f"job1/algo-2-{int(T0 + UP)}",
                              f"job1/algo-1-{restart}", f"job1/algo-2-{restart}"])


def test_interrupted_outcome_needs_spot(world: World) -> None:
    err = error(world, "CreateTrainingJob", **training_request(Tags=tags(outcome="Interrupted")))
    assert err.code == "ValidationException" and OUTCOME_TAG in err.message


def test_max_runtime_exceeded(world: World) -> None:
    call(world, "CreateTrainingJob", **training_request(StoppingCondition={"MaxRuntimeInSeconds": 100}))
    at(world, UP + 100)
    desc = describe(world)
    assert statuses(desc) == ("Stopped", "MaxRuntimeExceeded")
    assert desc["TrainingTimeInSeconds"] == 100
    assert "ModelArtifacts" in desc


def test_max_wait_time_exceeded(world: World) -> None:
    call(world, "CreateTrainingJob", **training_request(
        EnableManagedSpotTraining=True, StoppingCondition={"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 3600},
        Tags=tags(outcome="Interrupted", duration="7000")))
    at(world, 3600)
    assert statuses(describe(world)) == ("Stopped", "MaxWaitTimeExceeded")


@pytest.mark.parametrize(("tag", "value"), [(OUTCOME_TAG, "Exploded"), (DURATION_TAG, "soon"), (DURATION_TAG, "-1"),
                                            (FINAL_METRICS_TAG, "auc"), (RULE_EVALUATION_TAG, "Meh")])
def test_malformed_outcome_tags(world: World, tag: str, value: str) -> None:
    err = error(world, "CreateTrainingJob", **training_request(Tags=[{"Key": tag, "Value": value}]))
    assert err.code == "ValidationException" and tag in err.message
    assert world.sagemaker.jobs.get(jobs.TRAINING, "job1") is None


def test_outcome_from_tags_defaults() -> None:
    outcome = outcome_from_tags([], jobs.TRAINING)
    assert (outcome.result, outcome.duration, outcome.final_metrics) == ("Completed", None, None)
    with pytest.raises(AwsError):
        outcome_from_tags(tags(outcome="Interrupted"), jobs.PROCESSING)


# ------------------------------------------------------------------------------------------------ plans (pure)


def test_plan_of_a_completed_job_ends_at_the_sum_of_phases() -> None:
    plan = plan_training(D, training_seconds=600, outcome="Completed", spot=False, max_runtime=86400, max_wait=None)
    offset, finish = plan[-1]
    assert offset == DONE_AT and isinstance(finish, Finish) and finish.status == "Completed" and finish.artifacts
    assert [a.status for _, a in plan if isinstance(a, Transition)] == [
        "Starting", "Downloading", "Training", "Uploading"]
    assert offsets_sorted(plan)


def offsets_sorted(plan: list[tuple[float, Any]]) -> bool:
    return all(a[0] <= b[0] for a, b in itertools.pairwise(plan))


def test_plan_cut_by_max_runtime_counts_only_container_time() -> None:
    plan = plan_training(D, training_seconds=600, outcome="Interrupted", spot=True, max_runtime=400, max_wait=10_000)
    offset, finish = plan[-1]
    assert isinstance(finish, Finish) and finish.secondary == "MaxRuntimeExceeded"
    first_run = D.downloading + 300
    assert offset == UP + first_run + D.interruption + UP + (400 - first_run)
    assert any(isinstance(a, ContainersDown) for _, a in plan)
    assert offsets_sorted(plan)


def test_progress_lines_are_capped() -> None:
    plan = plan_training(D, training_seconds=10 * 24 * 3600, outcome="Completed", spot=False, max_runtime=10**7,
                         max_wait=None)
    assert sum(1 for _, a in plan if isinstance(a, jobs.Progress)) <= jobs.MAX_PROGRESS_LINES


def test_metric_log_line_matches_the_definition_regex() -> None:
    assert metric_log_line("validation:auc", 0.91, "validation-auc=([0-9\\.]+)") == "validation:auc=0.91"
    line = metric_log_line("loss", 0.25, "loss: ([0-9\\.]+)")
    assert line == "loss: 0.25"
    assert metric_log_line("x", 1.5, "#quality_metric: host=\\S+, epoch=\\S+, x <score>=(\\S+)").startswith("#quality")
    assert metric_log_line("x", 1.5, "([") == "x=1.5"  # not a Python regex: the default form


# ------------------------------------------------------------------------------------------------ logs


def test_training_logs_per_instance_with_virtual_timestamps(world: World) -> None:
    spec = {"TrainingImage": "img", "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": "validation:auc", "Regex": "validation:auc=([0-9\\.]+)"}]}
    call(world, "CreateTrainingJob", **training_request(
        AlgorithmSpecification=spec, Tags=tags(metrics="validation:auc=0.875"),
        ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 10}))
    at(world, UP - 1)
    assert log_events(world, jobs.TRAINING_LOG_GROUP) == {}
    at(world, TRAINING_AT + 200)
    streams = log_events(world, jobs.TRAINING_LOG_GROUP)
    epoch = int(T0 + UP)
    assert sorted(streams) == [f"job1/algo-1-{epoch}", f"job1/algo-2-{epoch}"]
    first = streams[f"job1/algo-1-{epoch}"]
    assert first[0][0] == int((T0 + UP) * 1000)
    progress = [ts for ts, message in first if "progress" in message]
    assert progress and all(int((T0 + TRAINING_AT) * 1000) < ts <= int((T0 + TRAINING_AT + 200) * 1000)
                            for ts in progress)
    at(world, DONE_AT)
    first = log_events(world, jobs.TRAINING_LOG_GROUP)[f"job1/algo-1-{epoch}"]
    assert (int((T0 + UPLOADING_AT) * 1000), "validation:auc=0.875") in first
    assert first[-1] == (int((T0 + DONE_AT) * 1000), "Reporting training SUCCESS")
    assert all("validation:auc" not in m for _, m in log_events(world, jobs.TRAINING_LOG_GROUP)[
        f"job1/algo-2-{epoch}"])


def test_failed_job_logs_the_failure(world: World) -> None:
    call(world, "CreateTrainingJob", **training_request(Tags=tags(outcome="Failed", reason="AlgorithmError: boom")))
    at(world, DONE_AT)
    [events] = log_events(world, jobs.TRAINING_LOG_GROUP).values()
    assert events[-1][1] == "Reporting training FAILURE: AlgorithmError: boom"


# ------------------------------------------------------------------------------------------------ rules, warm pools


def test_debug_and_profiler_rules(world: World) -> None:
    rule = {"RuleConfigurationName": "LossNotDecreasing", "RuleEvaluatorImage": "rules:latest"}
    call(world, "CreateTrainingJob", **training_request(DebugRuleConfigurations=[rule],
                                                        ProfilerRuleConfigurations=[
                                                            {**rule, "RuleConfigurationName": "ProfilerReport"}],
                                                        Tags=tags(rules="IssuesFound")))
    desc = describe(world)
    assert desc["ProfilingStatus"] == "Enabled"
    [debug] = desc["DebugRuleEvaluationStatuses"]
    assert debug["RuleEvaluationStatus"] == "InProgress"
    assert debug["RuleEvaluationJobArn"].startswith("arn:aws:sagemaker:us-west-2:123456789012:processing-job/job1-")
    at(world, DONE_AT + D.rule_evaluation - 1)
    assert describe(world)["DebugRuleEvaluationStatuses"][0]["RuleEvaluationStatus"] == "InProgress"
    at(world, DONE_AT + D.rule_evaluation)
    desc = describe(world)
    assert [r["RuleEvaluationStatus"] for r in
            desc["DebugRuleEvaluationStatuses"] + desc["ProfilerRuleEvaluationStatuses"]] == ["IssuesFound"] * 2
    assert desc["LastModifiedTime"] == T0 + DONE_AT + D.rule_evaluation


def test_rules_stop_with_the_job(world: World) -> None:
    rule = {"RuleConfigurationName": "Overfit", "RuleEvaluatorImage": "rules:latest"}
    call(world, "CreateTrainingJob", **training_request(DebugRuleConfigurations=[rule]))
    call(world, "StopTrainingJob", TrainingJobName="job1")
    at(world, D.stopping)
    assert describe(world)["DebugRuleEvaluationStatuses"][0]["RuleEvaluationStatus"] == "Stopped"


def warm_request(keep_alive: int = 600) -> dict[str, Any]:
    return training_request(ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10,
                                            "KeepAlivePeriodInSeconds": keep_alive})


def test_warm_pool_available_then_terminated(world: World) -> None:
    call(world, "CreateTrainingJob", **warm_request())
    at(world, DONE_AT - 1)
    assert "WarmPoolStatus" not in describe(world)
    at(world, DONE_AT)
    assert describe(world)["WarmPoolStatus"] == {"Status": "Available"}
    at(world, DONE_AT + 600)
    assert describe(world)["WarmPoolStatus"] == {"Status": "Terminated", "ResourceRetainedBillableTimeInSeconds": 600}


def test_update_keep_alive_extends_the_warm_pool(world: World) -> None:
    call(world, "CreateTrainingJob", **warm_request())
    at(world, DONE_AT + 100)
    response = call(world, "UpdateTrainingJob", TrainingJobName="job1",
                    ResourceConfig={"KeepAlivePeriodInSeconds": 1800})
    assert check_output("UpdateTrainingJob", response) == {"TrainingJobArn": describe(world)["TrainingJobArn"]}
    assert describe(world)["ResourceConfig"]["KeepAlivePeriodInSeconds"] == 1800
    at(world, DONE_AT + 600)
    assert describe(world)["WarmPoolStatus"] == {"Status": "Available"}
    at(world, DONE_AT + 1800)
    assert describe(world)["WarmPoolStatus"]["Status"] == "Terminated"
    err = error(world, "UpdateTrainingJob", TrainingJobName="job1", ResourceConfig={"KeepAlivePeriodInSeconds": 60})
    assert err.code == "ValidationException"


def test_update_keep_alive_to_zero_terminates_now(world: World) -> None:
    call(world, "CreateTrainingJob", **warm_request())
    at(world, DONE_AT + 100)
    call(world, "UpdateTrainingJob", TrainingJobName="job1", ResourceConfig={"KeepAlivePeriodInSeconds": 0})
    world.advance()
    assert describe(world)["WarmPoolStatus"] == {"Status": "Terminated", "ResourceRetainedBillableTimeInSeconds": 100}


def test_update_keep_alive_needs_a_warm_pool(world: World) -> None:
    call(world, "CreateTrainingJob", **training_request())
    err = error(world, "UpdateTrainingJob", TrainingJobName="job1", ResourceConfig={"KeepAlivePeriodInSeconds": 60})
    assert err.code == "ValidationException"


def test_update_profiler_while_in_progress(world: World) -> None:
    call(world, "CreateTrainingJob", **training_request())
    at(world, 10)
    call(world, "UpdateTrainingJob", TrainingJobName="job1",
         ProfilerConfig={"S3OutputPath": "s3://bucket/profiler", "ProfilingIntervalInMilliseconds": 500},
         ProfilerRuleConfigurations=[{"RuleConfigurationName": "CPUBottleneck", "RuleEvaluatorImage": "r"}])
    desc = describe(world)
    assert desc["ProfilerConfig"] == {"S3OutputPath": "s3://bucket/profiler", "ProfilingIntervalInMilliseconds": 500}
    assert desc["ProfilingStatus"] == "Enabled"
    assert [r["RuleConfigurationName"] for r in desc["ProfilerRuleEvaluationStatuses"]] == ["CPUBottleneck"]
    assert desc["LastModifiedTime"] == T0 + 10
    err = error(world, "UpdateTrainingJob", TrainingJobName="job1",
                ProfilerRuleConfigurations=[{"RuleConfigurationName": "CPUBottleneck", "RuleEvaluatorImage": "r"}])
    assert err.code == "ValidationException"
    call(world, "UpdateTrainingJob", TrainingJobName="job1", ProfilerConfig={"DisableProfiler": True})
    assert describe(world)["ProfilingStatus"] == "Disabled"


def test_update_profiler_after_the_job_ended_is_rejected(world: World) -> None:
    call(world, "CreateTrainingJob", **training_request())
    at(world, DONE_AT)
    err = error(world, "UpdateTrainingJob", TrainingJobName="job1", ProfilerConfig={"DisableProfiler": True})
    assert err.code == "ValidationException" and "Completed" in err.message
    assert error(world, "UpdateTrainingJob", TrainingJobName="job1").code == "ValidationException"


# ------------------------------------------------------------------------------------------------ quota


def test_concurrent_training_job_quota(world: World) -> None:
    world.quotas.set("training-jobs-running", 1)
    call(world, "CreateTrainingJob", **training_request())
    err = error(world, "CreateTrainingJob", **training_request("job2"))
    assert err.code == "ResourceLimitExceeded"
    assert "'Number of concurrent training jobs' is 1 Jobs, with current utilization of 1 Jobs" in err.message
    at(world, DONE_AT)
    call(world, "CreateTrainingJob", **training_request("job2"))


# ------------------------------------------------------------------------------------------------ list


def make_jobs(world: World, count: int) -> None:
    for i in range(count):
        at(world, i * 10)
        outcome = "Failed" if i % 3 == 0 else "Completed"
        call(world, "CreateTrainingJob", **training_request(f"job-{i}", Tags=tags(outcome=outcome)))


def test_list_training_jobs_summaries(world: World) -> None:
    make_jobs(world, 3)
    at(world, 10 + DONE_AT)
    response = check_output("ListTrainingJobs", call(world, "ListTrainingJobs"))
    assert [s["TrainingJobName"] for s in response["TrainingJobSummaries"]] == ["job-0", "job-1", "job-2"]
    summary = response["TrainingJobSummaries"][1]
    assert summary["TrainingJobStatus"] == "Completed" and summary["SecondaryStatus"] == "Completed"
    assert summary["TrainingEndTime"] == summary["LastModifiedTime"] == T0 + 10 + DONE_AT
    assert "NextToken" not in response


def test_list_training_jobs_paging_and_filters(world: World) -> None:
    make_jobs(world, 7)
    at(world, 100 + UPLOADING_AT)  # jobs 0, 3, 6 fail at the end of Training; the others are Uploading
    pages = []
    request: dict[str, Any] = {"MaxResults": 3, "StatusEquals": "Failed", "SortOrder": "Descending"}
    while True:
        response = check_output("ListTrainingJobs", call(world, "ListTrainingJobs", **request))
        pages.append([s["TrainingJobName"] for s in response["TrainingJobSummaries"]])
        if "NextToken" not in response:
            break
        request["NextToken"] = response["NextToken"]
    assert pages == [["job-6"], ["job-3"], ["job-0"]]
    by_name = call(world, "ListTrainingJobs", SortBy="Name", NameContains="JOB-1", CreationTimeBefore=T0 + 50)
    assert [s["TrainingJobName"] for s in by_name["TrainingJobSummaries"]] == ["job-1"]
    err = error(world, "ListTrainingJobs", NextToken="garbage")
    assert (err.code, err.message) == ("ValidationException", "Invalid pagination token")


def test_list_training_jobs_by_warm_pool_status(world: World) -> None:
    call(world, "CreateTrainingJob", **warm_request())
    call(world, "CreateTrainingJob", **training_request("cold"))
    at(world, DONE_AT)
    response = call(world, "ListTrainingJobs", WarmPoolStatusEquals="Available")
    assert [(s["TrainingJobName"], s["WarmPoolStatus"]) for s in response["TrainingJobSummaries"]] == [
        ("job1", {"Status": "Available"})]


# ------------------------------------------------------------------------------------------------ tuning support


def test_tuning_child_jobs_and_terminal_callbacks(world: World) -> None:
    tuning_arn = "arn:aws:sagemaker:us-west-2:123456789012:hyper-parameter-tuning-job/hpo"
    seen: list[tuple[str, str]] = []
    jobs.create_training_job(world, training_request("hpo-001"), tuning_job_arn=tuning_arn,
                             final_metrics={"validation:auc": 0.5})
    jobs.create_training_job(world, training_request("hpo-002", Tags=tags(outcome="Failed")),
                             tuning_job_arn=tuning_arn)
    call(world, "CreateTrainingJob", **training_request("other"))
    for name in ("hpo-001", "hpo-002"):
        jobs.on_training_job_terminal(world, name, lambda d: seen.append((d["TrainingJobName"],
                                                                          d["TrainingJobStatus"])))
    at(world, UPLOADING_AT)
    assert seen == [("hpo-002", "Failed")]
    at(world, DONE_AT)
    assert seen == [("hpo-002", "Failed"), ("hpo-001", "Completed")]
    children = jobs.training_jobs_of_tuning_job(world, tuning_arn)
    assert [c["TrainingJobName"] for c in children] == ["hpo-001", "hpo-002"]
    assert children[0]["TuningJobArn"] == tuning_arn
    assert children[0]["FinalMetricDataList"][0]["Value"] == 0.5
    late: list[str] = []
    jobs.on_training_job_terminal(world, "hpo-001", lambda d: late.append(d["TrainingJobStatus"]))
    assert late == ["Completed"]  # already ended: called at once
    assert jobs.training_job_description(world, "other")["TrainingJobStatus"] == "Completed"
    with pytest.raises(AwsError, match="Requested resource not found"):
        jobs.on_training_job_terminal(world, "nope", lambda d: None)


# ------------------------------------------------------------------------------------------------ processing


def processing_request(name: str = "proc1", **extra: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "ProcessingJobName": name,
        "RoleArn": ROLE,
        "AppSpecification": {"ImageUri": "123456789012.dkr.ecr.us-west-2.amazonaws.com/proc:1"},
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": 2, "InstanceType": "ml.m5.xlarge",
                                                  "VolumeSizeInGB": 30}},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }
    request.update(extra)
    return request


def describe_processing(world: World, name: str = "proc1") -> dict[str, Any]:
    return check_output("DescribeProcessingJob", call(world, "DescribeProcessingJob", ProcessingJobName=name))


def test_processing_lifecycle_and_logs(world: World) -> None:
    response = call(world, "CreateProcessingJob", **processing_request())
    assert check_output("CreateProcessingJob", response) == {
        "ProcessingJobArn": "arn:aws:sagemaker:us-west-2:123456789012:processing-job/proc1"}
    desc = describe_processing(world)
    assert desc["ProcessingJobStatus"] == "InProgress" and "ProcessingStartTime" not in desc
    at(world, D.processing_starting)
    assert describe_processing(world)["ProcessingStartTime"] == T0 + D.processing_starting
    at(world, D.processing_starting + D.processing)
    desc = describe_processing(world)
    assert desc["ProcessingJobStatus"] == "Completed"
    assert desc["ProcessingEndTime"] == desc["LastModifiedTime"] == T0 + D.processing_starting + D.processing
    epoch = int(T0 + D.processing_starting)
    assert sorted(log_events(world, jobs.PROCESSING_LOG_GROUP)) == [f"proc1/algo-1-{epoch}", f"proc1/algo-2-{epoch}"]


def test_processing_failure_stop_and_errors(world: World) -> None:
    call(world, "CreateProcessingJob", **processing_request(Tags=tags(outcome="Failed", duration="10")))
    at(world, D.processing_starting + 10)
    desc = describe_processing(world)
    assert (desc["ProcessingJobStatus"], desc["FailureReason"]) == (
        "Failed", "AlgorithmError: See job logs for more information")
    summary = check_output("ListProcessingJobs", call(world, "ListProcessingJobs"))["ProcessingJobSummaries"][0]
    assert summary["FailureReason"] == desc["FailureReason"]
    err = error(world, "StopProcessingJob", ProcessingJobName="proc1")
    assert err.message == "The request was rejected because the processing job is in status Failed."
    call(world, "CreateProcessingJob", **processing_request("proc2"))
    call(world, "StopProcessingJob", ProcessingJobName="proc2")
    assert describe_processing(world, "proc2")["ProcessingJobStatus"] == "Stopping"
    at(world, D.processing_starting + 10 + D.processing_stopping)
    assert describe_processing(world, "proc2")["ProcessingJobStatus"] == "Stopped"
    err = error(world, "DescribeProcessingJob", ProcessingJobName="nope")
    assert (err.code, err.message) == ("ValidationException", "Could not find requested job with name nope")
    err = error(world, "CreateProcessingJob", **processing_request("PROC2"))
    assert err.code == "ResourceInUse" and "processing-job/proc2" in err.message


# ------------------------------------------------------------------------------------------------ transform


def transform_request(name: str = "tr1", **extra: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "TransformJobName": name,
        "ModelName": "model1",
        "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in"}}},
        "TransformOutput": {"S3OutputPath": "s3://b/out"},
        "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
    }
    request.update(extra)
    return request


def describe_transform(world: World, name: str = "tr1") -> dict[str, Any]:
    return check_output("DescribeTransformJob", call(world, "DescribeTransformJob", TransformJobName=name))


def test_transform_needs_its_model(world: World) -> None:
    err = error(world, "CreateTransformJob", **transform_request())
    assert (err.code, err.message) == (
        "ValidationException", 'Could not find model "arn:aws:sagemaker:us-west-2:123456789012:model/model1".')


def test_transform_lifecycle_logs_and_list(world: World) -> None:
    world.sagemaker.tags.register(world.arn("sagemaker", "model/model1"))
    call(world, "CreateTransformJob", **transform_request(MaxPayloadInMB=6, BatchStrategy="MultiRecord"))
    desc = describe_transform(world)
    assert desc["TransformJobStatus"] == "InProgress" and "LastModifiedTime" not in desc
    at(world, D.transform_starting + D.transform)
    desc = describe_transform(world)
    assert desc["TransformJobStatus"] == "Completed"
    assert desc["TransformStartTime"] == T0 + D.transform_starting
    assert desc["TransformEndTime"] == T0 + D.transform_starting + D.transform
    streams = log_events(world, jobs.TRANSFORM_LOG_GROUP)
    epoch = int(T0 + D.transform_starting)
    [main] = [s for s in streams if not s.endswith("/data-log")]
    assert main.startswith("tr1/i-0") and main.endswith(f"-{epoch}")
    assert streams[f"{main}/data-log"][0][1] == (
        "[sagemaker logs]: MaxConcurrentTransforms=1, MaxPayloadInMB=6, BatchStrategy=MULTIRECORD")
    summary = check_output("ListTransformJobs", call(world, "ListTransformJobs"))["TransformJobSummaries"][0]
    assert summary["LastModifiedTime"] == desc["TransformEndTime"]
    err = error(world, "DescribeTransformJob", TransformJobName="nope")
    assert (err.code, err.message) == ("ValidationException", "Could not find requested job with name nope")


def test_transform_stop_and_list_default_descending(world: World) -> None:
    world.sagemaker.tags.register(world.arn("sagemaker", "model/model1"))
    call(world, "CreateTransformJob", **transform_request())
    at(world, 5)
    call(world, "CreateTransformJob", **transform_request("tr2"))
    names = [s["TransformJobName"] for s in call(world, "ListTransformJobs")["TransformJobSummaries"]]
    assert names == ["tr2", "tr1"]
    check_output("StopTransformJob", call(world, "StopTransformJob", TransformJobName="tr1"))
    assert describe_transform(world)["TransformJobStatus"] == "Stopping"
    at(world, 5 + D.transform_stopping)
    assert describe_transform(world)["TransformJobStatus"] == "Stopped"
    stopped = call(world, "ListTransformJobs", StatusEquals="Stopped")["TransformJobSummaries"]
    assert [s["TransformJobName"] for s in stopped] == ["tr1"]


def test_a_lifecycle_step_can_create_a_job_at_its_own_instant(world: World) -> None:
    """Steps run lazily: a job launched by a step due at +1000 starts its life at +1000 even when the step only runs
    once the clock is far past it, so the whole child lifecycle completes within the same advance."""
    ended: list[float] = []

    def launch() -> None:
        jobs.create_training_job(world, training_request("child"), at=T0 + 1000)
        jobs.on_training_job_terminal(world, "child", lambda d: ended.append(d["TrainingEndTime"]))

    world.scheduler.at(T0 + 1000, launch)
    at(world, 100_000)
    assert ended == [T0 + 1000 + DONE_AT]
    assert describe(world, "child")["CreationTime"] == T0 + 1000


def test_a_job_whose_execution_role_cannot_be_assumed_is_refused(world: World) -> None:
    """SageMaker's ValidationException for a role it cannot assume, as users report it
    (github.com/awslabs/predictive-maintenance-using-machine-learning/issues/3); nothing is created."""
    role = "arn:aws:iam::123456789012:role/missing"
    world.unassumable_roles.add(role)
    refused = error(world, "CreateTrainingJob", **training_request("no-role", RoleArn=role))
    assert refused.code == "ValidationException"
    assert refused.message == (f"Could not assume role {role}. Please ensure that the role exists and allows "
                               "principal 'sagemaker.amazonaws.com' to assume the role.")
    assert error(world, "DescribeTrainingJob", TrainingJobName="no-role").code == "ValidationException"
