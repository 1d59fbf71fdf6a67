"""Conformance of the AWS emulator against issue 3's "Done when", over the wire through aiobotocore.

Each test names the behaviour it proves (issue 3, Behaviour N) and fails if that behaviour is removed. Time only
moves when a test advances the virtual clock (the emulator runs at a scale of 1e-9, so the clock stands still
otherwise); rate limits use an injected monotonic clock, faults a fixed seed: nothing depends on wall time.

Every answer the SageMaker, CloudWatch Logs and Application Auto Scaling handlers give during these tests is also
checked against botocore's output shape (the ``emulator`` fixture wraps the handlers; botocore's own parser would
silently drop unknown members and coerce some wrong types, so a wire test alone would not see them).

Retries are off in every client (``total_max_attempts=1``): note that botocore's ``max_attempts`` counts *retries*
(``max_attempts=1`` is two attempts), so it would hide the raw answer of the first call.
"""

from __future__ import annotations

import base64
import datetime
import itertools
import json
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import botocore.exceptions
import botocore.session
import pytest
from aiobotocore.session import get_session
from botocore.config import Config

from smk8s.emulators.aws.quotas import DEFAULT_READ_LIMIT, DEFAULT_WRITE_LIMIT
from smk8s.emulators.aws.sagemaker import hosting, tuning
from smk8s.emulators.aws.sagemaker.jobs import (
    DURATION_TAG,
    FAILURE_REASON_TAG,
    FINAL_METRICS_TAG,
    OUTCOME_TAG,
    RULE_EVALUATION_TAG,
    Durations,
)
from smk8s.emulators.aws.server import AwsEmulator
from smk8s.emulators.aws.world import World
from tests.support.aws_shapes import shape_errors

ROLE = "arn:aws:iam::123456789012:role/sm"
IMAGE = "123456789012.dkr.ecr.us-west-2.amazonaws.com/xgboost:1.7-1"
IMAGE2 = "123456789012.dkr.ecr.us-west-2.amazonaws.com/xgboost:2.0-1"
D = Durations()
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})
SERVER_SIDE = Config(parameter_validation=False, retries={"total_max_attempts": 1, "mode": "standard"})
# Members botocore's model marks required that SageMaker leaves out until they exist (ModelArtifacts of a job that
# has not produced any yet: real DescribeTrainingJob answers of InProgress/Failed jobs omit it).
ABSENT_UNTIL_SET = {("DescribeTrainingJob", ".ModelArtifacts: required")}


# ------------------------------------------------------------------------------------------------------ fixtures


def check_output_shapes(aws: AwsEmulator) -> list[str]:
    """Wrap every handler so each answer is checked against botocore's output shape; returns the violations."""
    violations: list[str] = []
    session = botocore.session.get_session()
    models = {service: session.get_service_model(service) for service in aws.operations}

    def checked(service: str, operation: str, handler: Callable[[World, dict[str, Any]], Any]) -> Any:
        shape = models[service].operation_model(operation).output_shape

        def wrapper(world: World, params: dict[str, Any]) -> Any:
            response = handler(world, params)
            if shape is None:
                if response:
                    violations.append(f"{operation}: answered {response} for an empty output")
            else:
                violations.extend(f"{operation}{e}" for e in shape_errors(shape, response)
                                  if (operation, e) not in ABSENT_UNTIL_SET)
            return response

        return wrapper

    for service, operations in aws.operations.items():
        for operation, handler in list(operations.items()):
            operations[operation] = checked(service, operation, handler)
    return violations


@pytest.fixture
async def emulator() -> AsyncIterator[AwsEmulator]:
    """A fresh emulator whose clock stands still unless advanced, rate limits off, output shapes checked."""
    async with AwsEmulator(time_scale=1e-9, config={"rates": {"*": None}}) as aws:
        violations = check_output_shapes(aws)
        yield aws
    assert violations == [], "answers that break botocore's output shapes"


@pytest.fixture
async def sm(emulator: AwsEmulator) -> AsyncIterator[Any]:
    async with get_session().create_client("sagemaker", config=NO_RETRIES, **emulator.client_kwargs()) as client:
        yield client


@pytest.fixture
async def raw_sm(emulator: AwsEmulator) -> AsyncIterator[Any]:
    """SageMaker with botocore's client-side validation off: what the server itself checks."""
    async with get_session().create_client("sagemaker", config=SERVER_SIDE, **emulator.client_kwargs()) as client:
        yield client


@pytest.fixture
async def logs(emulator: AwsEmulator) -> AsyncIterator[Any]:
    async with get_session().create_client("logs", config=NO_RETRIES, **emulator.client_kwargs()) as client:
        yield client


@pytest.fixture
async def aas(emulator: AwsEmulator) -> AsyncIterator[Any]:
    async with get_session().create_client("application-autoscaling", config=NO_RETRIES,
                                           **emulator.client_kwargs()) as client:
        yield client


# ------------------------------------------------------------------------------------------------------- helpers


async def error_of(awaitable: Any) -> dict[str, Any]:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        await awaitable
    response = caught.value.response
    return {**response["Error"], "Status": response["ResponseMetadata"]["HTTPStatusCode"],
            "RetryAttempts": response["ResponseMetadata"].get("RetryAttempts", 0)}


async def control(aws: AwsEmulator, method: str, name: str, body: Any = None) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.request(
        method, f"{aws.url}/_emulator/{name}", json=body
    ) as resp:
        return resp.status, await resp.json()


class Timeline:
    """Moves the emulator's virtual clock to instants relative to ``origin`` (a resource's creation)."""

    def __init__(self, aws: AwsEmulator) -> None:
        self.aws = aws
        self.origin = aws.clock.now()

    def mark(self) -> None:
        self.origin = self.aws.clock.now()

    def to(self, offset: float) -> None:
        self.aws.advance(max(self.origin + offset - self.aws.clock.now(), 0.0))


def tags(**values: str) -> list[dict[str, str]]:
    names = {"outcome": OUTCOME_TAG, "duration": DURATION_TAG, "reason": FAILURE_REASON_TAG,
             "metrics": FINAL_METRICS_TAG, "rules": RULE_EVALUATION_TAG,
             "child_outcome": tuning.CHILD_OUTCOME_TAG, "child_duration": tuning.CHILD_DURATION_TAG,
             "failed_children": tuning.FAILED_CHILDREN_TAG, "update_outcome": hosting.UPDATE_OUTCOME_TAG}
    return [{"Key": names[k], "Value": v} for k, v in values.items()]


def training(name: str = "job1", *, instances: int = 1, **extra: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "TrainingJobName": name,
        "RoleArn": ROLE,
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": instances, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }
    request.update(extra)
    return request


def processing(name: str = "proc1", **extra: Any) -> dict[str, Any]:
    return {"ProcessingJobName": name, "RoleArn": ROLE, "AppSpecification": {"ImageUri": IMAGE},
            "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge",
                                                      "VolumeSizeInGB": 30}}, **extra}


def transform(name: str, model: str = "model1", **extra: Any) -> dict[str, Any]:
    return {"TransformJobName": name, "ModelName": model,
            "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in"}}},
            "TransformOutput": {"S3OutputPath": "s3://b/out"},
            "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1}, **extra}


def tuning_job(name: str = "tune", *, total: int = 4, parallel: int = 2, seed: int = 7, **extra: Any) -> dict[str, Any]:
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "RandomSeed": seed,
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "validation:rmse"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": total, "MaxParallelTrainingJobs": parallel},
            "ParameterRanges": {
                "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "2", "MaxValue": "8"}],
                "ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.01", "MaxValue": "0.5",
                                               "ScalingType": "Logarithmic"}],
                "CategoricalParameterRanges": [{"Name": "booster", "Values": ["gbtree", "dart"]}],
            },
            "TrainingJobEarlyStoppingType": "Auto",
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": {"num_round": "100"},
            "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
            "RoleArn": ROLE,
            "OutputDataConfig": {"S3OutputPath": "s3://bucket/tuning"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        },
        **extra,
    }


# A tuning child with ``child_duration=100`` ends this long after its launch (Starting, Downloading, Training 100 s,
# Uploading).
CHILD_SECONDS = D.launching + D.preparing + D.downloading + 100 + D.uploading


async def create_model(sm: Any, name: str = "model1", image: str = IMAGE) -> None:
    await sm.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": image})


async def names(pages: Any, member: str, key: str) -> list[str]:
    return [item[key] async for page in pages for item in page[member]]


# --------------------------------------------------------------- Behaviour 2: operations not exercised elsewhere


async def test_stop_processing_job(sm: Any, logs: Any, emulator: AwsEmulator) -> None:
    clock = Timeline(emulator)
    await sm.create_processing_job(**processing())
    clock.to(D.processing_starting + 10)
    started = await sm.describe_processing_job(ProcessingJobName="proc1")
    assert started["ProcessingJobStatus"] == "InProgress" and "ProcessingStartTime" in started
    await sm.stop_processing_job(ProcessingJobName="proc1")
    stopping = await sm.describe_processing_job(ProcessingJobName="proc1")
    assert stopping["ProcessingJobStatus"] == "Stopping"
    assert stopping["LastModifiedTime"] > started["LastModifiedTime"] and "ProcessingEndTime" not in stopping
    clock.to(D.processing_starting + 10 + D.processing_stopping - 1)
    assert (await sm.describe_processing_job(ProcessingJobName="proc1"))["ProcessingJobStatus"] == "Stopping"
    clock.to(D.processing_starting + 10 + D.processing_stopping)
    stopped = await sm.describe_processing_job(ProcessingJobName="proc1")
    assert stopped["ProcessingJobStatus"] == "Stopped" and "ProcessingEndTime" in stopped
    clock.to(D.processing_starting + D.processing + 3600)  # the cancelled run never completes
    assert (await sm.describe_processing_job(ProcessingJobName="proc1"))["ProcessingJobStatus"] == "Stopped"
    events = (await logs.filter_log_events(logGroupName="/aws/sagemaker/ProcessingJobs",
                                           logStreamNamePrefix="proc1/"))["events"]
    assert events[-1]["message"] == "Processing job stopped"

    error = await error_of(sm.stop_processing_job(ProcessingJobName="proc1"))
    assert (error["Code"], error["Message"], error["Status"]) == (
        "ValidationException", "The request was rejected because the processing job is in status Stopped.", 400)
    error = await error_of(sm.stop_processing_job(ProcessingJobName="ghost"))
    assert (error["Code"], error["Message"]) == ("ValidationException", "Could not find requested job with name ghost")


async def test_list_transform_jobs(sm: Any, emulator: AwsEmulator) -> None:
    await create_model(sm)
    for i, outcome in enumerate(["Completed", "Failed", "Completed", "Failed"]):
        await sm.create_transform_job(**transform(f"batch-{i}", Tags=tags(outcome=outcome)))
        emulator.advance(10)
    emulator.advance(D.transform_starting + D.transform)
    listed = (await sm.list_transform_jobs())["TransformJobSummaries"]
    # ListTransformJobs sorts by CreationTime, Descending by default (API reference), unlike ListTrainingJobs.
    assert [s["TransformJobName"] for s in listed] == ["batch-3", "batch-2", "batch-1", "batch-0"]
    assert listed[0]["TransformJobStatus"] == "Failed" and listed[0]["FailureReason"]
    assert {"TransformJobArn", "CreationTime", "TransformEndTime", "LastModifiedTime"} <= set(listed[0])
    failed = (await sm.list_transform_jobs(StatusEquals="Failed", SortOrder="Ascending"))["TransformJobSummaries"]
    assert [s["TransformJobName"] for s in failed] == ["batch-1", "batch-3"]
    pages = sm.get_paginator("list_transform_jobs").paginate(SortBy="Name", SortOrder="Ascending",
                                                             PaginationConfig={"PageSize": 3})
    assert await names(pages, "TransformJobSummaries", "TransformJobName") == [f"batch-{i}" for i in range(4)]
    # Timestamps cross the wire as epoch seconds rounded to microseconds: compare away from the boundary.
    after_second = listed[2]["CreationTime"] + datetime.timedelta(seconds=1)
    after = (await sm.list_transform_jobs(CreationTimeAfter=after_second))["TransformJobSummaries"]
    assert [s["TransformJobName"] for s in after] == ["batch-3", "batch-2"]

    await sm.create_training_job(**training("t1"))
    await sm.create_training_job(**training("t2"))
    foreign = (await sm.list_training_jobs(MaxResults=1))["NextToken"]
    for token in (foreign, "bogus"):
        error = await error_of(sm.list_transform_jobs(NextToken=token))
        assert (error["Code"], error["Message"]) == ("ValidationException", "Invalid pagination token")


async def test_stop_hyper_parameter_tuning_job(sm: Any, emulator: AwsEmulator) -> None:
    clock = Timeline(emulator)
    await sm.create_hyper_parameter_tuning_job(**tuning_job(total=6, parallel=2, Tags=tags(child_duration="100")))
    clock.to(D.launching + D.preparing + 10)
    await sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="tune")
    got = await sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="tune")
    assert got["HyperParameterTuningJobStatus"] == "Stopping" and "HyperParameterTuningEndTime" not in got
    children = (await sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="tune"))["TrainingJobSummaries"]
    assert [c["TrainingJobStatus"] for c in children] == ["Stopping", "Stopping"]
    clock.to(D.launching + D.preparing + 10 + D.stopping)
    got = await sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="tune")
    assert got["HyperParameterTuningJobStatus"] == "Stopped"
    assert got["HyperParameterTuningEndTime"].timestamp() == pytest.approx(clock.origin + D.launching + D.preparing
                                                                           + 10 + D.stopping, abs=1e-3)
    assert got["TrainingJobStatusCounters"]["Stopped"] == 2 and got["TrainingJobStatusCounters"]["InProgress"] == 0
    clock.to(10_000)  # no child is launched after the stop
    children = (await sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="tune"))["TrainingJobSummaries"]
    assert len(children) == 2 and {c["TrainingJobStatus"] for c in children} == {"Stopped"}

    error = await error_of(sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="tune"))
    assert (error["Code"], error["Message"]) == (
        "ValidationException", "The request was rejected because the tuning job is in status Stopped.")
    with pytest.raises(sm.exceptions.ResourceNotFound) as missing:
        await sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="ghost")
    assert missing.value.response["Error"]["Message"] == "Amazon SageMaker can't find a tuning job with name ghost"


async def test_list_hyper_parameter_tuning_jobs(sm: Any, emulator: AwsEmulator) -> None:
    for name, duration in (("tune-b", "100"), ("tune-a", "100"), ("tune-c", "5000")):
        await sm.create_hyper_parameter_tuning_job(**tuning_job(name, total=2, parallel=2,
                                                                Tags=tags(child_duration=duration)))
        emulator.advance(1)
    emulator.advance(CHILD_SECONDS)
    listed = (await sm.list_hyper_parameter_tuning_jobs())["HyperParameterTuningJobSummaries"]
    assert [s["HyperParameterTuningJobName"] for s in listed] == ["tune-a", "tune-b", "tune-c"]  # Name, Ascending
    a = listed[0]
    assert (a["HyperParameterTuningJobStatus"], a["Strategy"]) == ("Completed", "Random")
    assert a["TrainingJobStatusCounters"]["Completed"] == 2 and a["ObjectiveStatusCounters"]["Succeeded"] == 2
    assert a["ResourceLimits"] == {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 2}
    assert "HyperParameterTuningEndTime" in a and "HyperParameterTuningEndTime" not in listed[2]
    assert listed[2]["TrainingJobStatusCounters"]["InProgress"] == 2
    running = (await sm.list_hyper_parameter_tuning_jobs(StatusEquals="InProgress"))[
        "HyperParameterTuningJobSummaries"]
    assert [s["HyperParameterTuningJobName"] for s in running] == ["tune-c"]
    pages = sm.get_paginator("list_hyper_parameter_tuning_jobs").paginate(
        SortBy="CreationTime", SortOrder="Descending", PaginationConfig={"PageSize": 2})
    assert await names(pages, "HyperParameterTuningJobSummaries", "HyperParameterTuningJobName") == [
        "tune-c", "tune-a", "tune-b"]
    first = await sm.list_hyper_parameter_tuning_jobs(MaxResults=1)
    assert [s["HyperParameterTuningJobName"] for s in first["HyperParameterTuningJobSummaries"]] == ["tune-a"]
    error = await error_of(sm.list_hyper_parameter_tuning_jobs(NextToken=first["NextToken"], SortOrder="Descending"))
    assert (error["Code"], error["Message"]) == ("ValidationException", "Invalid pagination token")


async def test_list_endpoint_configs(sm: Any, raw_sm: Any, emulator: AwsEmulator) -> None:
    await create_model(sm)
    for name in ("prod-b", "prod-a", "canary"):
        await sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": "model1", "InitialInstanceCount": 1,
             "InstanceType": "ml.m5.large"}])
        emulator.advance(60)
    listed = (await sm.list_endpoint_configs())["EndpointConfigs"]
    assert [c["EndpointConfigName"] for c in listed] == ["canary", "prod-a", "prod-b"]  # CreationTime, Descending
    assert listed[0]["EndpointConfigArn"] == "arn:aws:sagemaker:us-west-2:123456789012:endpoint-config/canary"
    prod = (await sm.list_endpoint_configs(NameContains="PROD", SortBy="Name", SortOrder="Ascending"))[
        "EndpointConfigs"]
    assert [c["EndpointConfigName"] for c in prod] == ["prod-a", "prod-b"]
    before_canary = listed[0]["CreationTime"] - datetime.timedelta(seconds=1)
    before = (await sm.list_endpoint_configs(CreationTimeBefore=before_canary))["EndpointConfigs"]
    assert [c["EndpointConfigName"] for c in before] == ["prod-a", "prod-b"]
    pages = sm.get_paginator("list_endpoint_configs").paginate(PaginationConfig={"PageSize": 2})
    assert await names(pages, "EndpointConfigs", "EndpointConfigName") == ["canary", "prod-a", "prod-b"]
    await sm.delete_endpoint_config(EndpointConfigName="prod-a")
    assert [c["EndpointConfigName"] for c in (await sm.list_endpoint_configs())["EndpointConfigs"]] == [
        "canary", "prod-b"]

    error = await error_of(raw_sm.list_endpoint_configs(SortBy="Status"))  # EndpointConfigSortKey: Name|CreationTime
    assert error["Code"] == "ValidationException"
    assert "Value 'Status' at 'sortBy' failed to satisfy constraint: Member must satisfy enum value set:" in (
        error["Message"])
    token = (await sm.list_models(MaxResults=1))
    assert "NextToken" not in token  # one model: no next page
    error = await error_of(sm.list_endpoint_configs(NextToken="bogus"))
    assert (error["Code"], error["Message"]) == ("ValidationException", "Invalid pagination token")


# ------------------------------------------------------------------------------ Behaviour 3: lifecycles on a clock


async def test_training_job_secondary_statuses_times_and_log_streams(sm: Any, logs: Any,
                                                                     emulator: AwsEmulator) -> None:
    """Starting -> Downloading -> Training -> Uploading -> Completed at the documented offsets (jobs.py)."""
    clock = Timeline(emulator)
    await sm.create_training_job(**training(instances=2, Tags=tags(duration="300")))
    up = D.launching + D.preparing  # containers start: Downloading
    expected = [
        (0, "Starting", "Launching requested ML instances"),
        (D.launching, "Starting", "Preparing the instances for training"),
        (up, "Downloading", "Downloading input data"),
        (up + D.downloading, "Training", "Downloading the training image..."),
        (up + D.downloading + D.image_download, "Training",
         "Training image download completed. Training in progress."),
        (up + D.downloading + 300, "Uploading", "Uploading generated training model"),
    ]
    for offset, secondary, message in expected:
        clock.to(offset)
        desc = await sm.describe_training_job(TrainingJobName="job1")
        assert (desc["TrainingJobStatus"], desc["SecondaryStatus"]) == ("InProgress", secondary), offset
        assert desc["SecondaryStatusTransitions"][-1]["StatusMessage"] == message
        assert "TrainingEndTime" not in desc and "ModelArtifacts" not in desc
        assert ("TrainingStartTime" in desc) == (offset >= up)
    end = up + D.downloading + 300 + D.uploading
    clock.to(end - 1)
    assert (await sm.describe_training_job(TrainingJobName="job1"))["SecondaryStatus"] == "Uploading"
    clock.to(end)
    desc = await sm.describe_training_job(TrainingJobName="job1")
    assert (desc["TrainingJobStatus"], desc["SecondaryStatus"]) == ("Completed", "Completed")
    transitions = desc["SecondaryStatusTransitions"]
    assert [t["Status"] for t in transitions] == ["Starting", "Downloading", "Training", "Uploading", "Completed"]
    starts = [t["StartTime"].timestamp() - clock.origin for t in transitions]
    assert starts == pytest.approx([0, up, up + D.downloading, up + D.downloading + 300, end], abs=1e-3)
    assert all(t["EndTime"] == n["StartTime"] for t, n in itertools.pairwise(transitions))
    assert transitions[-1]["EndTime"] == transitions[-1]["StartTime"]
    assert desc["TrainingStartTime"].timestamp() - clock.origin == pytest.approx(up, abs=1e-3)
    assert desc["TrainingEndTime"].timestamp() - clock.origin == pytest.approx(end, abs=1e-3)
    assert desc["TrainingTimeInSeconds"] == desc["BillableTimeInSeconds"] == int(end - up)
    assert desc["ModelArtifacts"] == {"S3ModelArtifacts": "s3://bucket/output/job1/output/model.tar.gz"}
    assert desc["LastModifiedTime"] == desc["TrainingEndTime"]

    # Behaviour 5: one stream per instance, <job>/algo-<n>-<epoch of the container start>.
    epoch = int(clock.origin + up)
    streams = (await logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs",
                                               logStreamNamePrefix="job1/"))["logStreams"]
    assert [s["logStreamName"] for s in streams] == [f"job1/algo-1-{epoch}", f"job1/algo-2-{epoch}"]
    for n in (1, 2):
        events = (await logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs",
                                            logStreamName=f"job1/algo-{n}-{epoch}", startFromHead=True))["events"]
        assert events[0]["message"].startswith(f"Starting training job job1 on algo-{n} ({n} of 2)")
        assert events[-1]["message"] == "Reporting training SUCCESS"
        assert events[0]["timestamp"] == round((clock.origin + up) * 1000)


async def test_spot_interruption_restarts_and_completes(sm: Any, logs: Any, emulator: AwsEmulator) -> None:
    clock = Timeline(emulator)
    spot = {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200}
    await sm.create_training_job(**training(EnableManagedSpotTraining=True, StoppingCondition=spot,
                                            Tags=tags(outcome="Interrupted", duration="600")))
    up = D.launching + D.preparing
    cut = up + D.downloading + 300  # half of the Training phase
    clock.to(cut)
    desc = await sm.describe_training_job(TrainingJobName="job1")
    assert (desc["TrainingJobStatus"], desc["SecondaryStatus"]) == ("InProgress", "Interrupted")
    assert desc["SecondaryStatusTransitions"][-1]["StatusMessage"].startswith("Training interrupted")
    restart = cut + D.interruption
    clock.to(restart - 1)
    assert (await sm.describe_training_job(TrainingJobName="job1"))["SecondaryStatus"] == "Interrupted"
    clock.to(restart)
    assert (await sm.describe_training_job(TrainingJobName="job1"))["SecondaryStatus"] == "Starting"
    up2 = restart + up
    end = up2 + D.downloading + 300 + D.uploading
    clock.to(end)
    desc = await sm.describe_training_job(TrainingJobName="job1")
    assert (desc["TrainingJobStatus"], desc["SecondaryStatus"]) == ("Completed", "Completed")
    assert [t["Status"] for t in desc["SecondaryStatusTransitions"]] == [
        "Starting", "Downloading", "Training", "Interrupted", "Starting", "Downloading", "Training", "Uploading",
        "Completed"]
    ran = (cut - up) + (end - up2)
    assert desc["BillableTimeInSeconds"] == -(-int(ran * 0.3) // 1)  # 70 % spot saving
    assert desc["TrainingStartTime"].timestamp() - clock.origin == pytest.approx(up, abs=1e-3)
    assert "ModelArtifacts" in desc
    streams = [s["logStreamName"] for s in (await logs.describe_log_streams(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix="job1/"))["logStreams"]]
    assert streams == [f"job1/algo-1-{int(clock.origin + up)}", f"job1/algo-1-{int(clock.origin + up2)}"]
    first = (await logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=streams[0]))
    assert first["events"][-1]["message"] == "Received SIGTERM: the Spot instance is being reclaimed"

    error = await error_of(sm.create_training_job(**training("job2", Tags=tags(outcome="Interrupted"))))
    assert (error["Code"], error["Message"]) == (
        "ValidationException", f"Tag {OUTCOME_TAG}=Interrupted needs EnableManagedSpotTraining")
    error = await error_of(sm.create_training_job(**training("job3", EnableManagedSpotTraining=True)))
    assert error["Message"] == ("Invalid MaxWaitTimeInSeconds. It must be present and be greater than or equal to "
                                "MaxRuntimeInSeconds")


async def test_max_runtime_and_max_wait_stop_the_job(sm: Any, emulator: AwsEmulator) -> None:
    clock = Timeline(emulator)
    await sm.create_training_job(**training("runtime", StoppingCondition={"MaxRuntimeInSeconds": 100}))
    await sm.create_training_job(**training("wait", EnableManagedSpotTraining=True, StoppingCondition={
        "MaxRuntimeInSeconds": 100, "MaxWaitTimeInSeconds": 200}))
    up = D.launching + D.preparing
    clock.to(up + 100)
    runtime = await sm.describe_training_job(TrainingJobName="runtime")
    assert (runtime["TrainingJobStatus"], runtime["SecondaryStatus"]) == ("Stopped", "MaxRuntimeExceeded")
    assert runtime["TrainingTimeInSeconds"] == 100 and "ModelArtifacts" in runtime
    wait = await sm.describe_training_job(TrainingJobName="wait")
    assert (wait["TrainingJobStatus"], wait["SecondaryStatus"]) == ("Stopped", "MaxWaitTimeExceeded")
    assert wait["TrainingEndTime"].timestamp() - clock.origin == pytest.approx(200, abs=1e-3)


async def test_processing_and_transform_lifecycles_and_log_streams(sm: Any, logs: Any,
                                                                   emulator: AwsEmulator) -> None:
    clock = Timeline(emulator)
    await create_model(sm)
    await sm.create_processing_job(**processing(Tags=tags(outcome="Failed", duration="50",
                                                          reason="ClientError: exit code 2")))
    await sm.create_transform_job(**transform("batch"))
    clock.to(D.processing_starting - 1)
    assert "ProcessingStartTime" not in await sm.describe_processing_job(ProcessingJobName="proc1")
    clock.to(D.processing_starting)
    assert "ProcessingStartTime" in await sm.describe_processing_job(ProcessingJobName="proc1")
    clock.to(D.processing_starting + 50)
    proc = await sm.describe_processing_job(ProcessingJobName="proc1")
    assert (proc["ProcessingJobStatus"], proc["FailureReason"]) == ("Failed", "ClientError: exit code 2")
    clock.to(D.transform_starting)
    batch = await sm.describe_transform_job(TransformJobName="batch")
    assert batch["TransformJobStatus"] == "InProgress" and "TransformStartTime" in batch
    assert "LastModifiedTime" not in batch  # DescribeTransformJob has no LastModifiedTime
    clock.to(D.transform_starting + D.transform)
    batch = await sm.describe_transform_job(TransformJobName="batch")
    assert batch["TransformJobStatus"] == "Completed" and "FailureReason" not in batch
    assert (batch["TransformEndTime"] - batch["TransformStartTime"]).total_seconds() == pytest.approx(D.transform)

    epoch = int(clock.origin + D.processing_starting)
    proc_streams = (await logs.describe_log_streams(logGroupName="/aws/sagemaker/ProcessingJobs"))["logStreams"]
    assert [s["logStreamName"] for s in proc_streams] == [f"proc1/algo-1-{epoch}"]
    tr = [s["logStreamName"] for s in (await logs.describe_log_streams(
        logGroupName="/aws/sagemaker/TransformJobs", logStreamNamePrefix="batch/"))["logStreams"]]
    assert len(tr) == 2 and re.fullmatch(rf"batch/i-0[0-9a-f]{{16}}-{int(clock.origin + D.transform_starting)}", tr[0])
    assert tr[1] == f"{tr[0]}/data-log"
    events = (await logs.filter_log_events(logGroupName="/aws/sagemaker/TransformJobs",
                                           logStreamNames=[tr[1]]))["events"]
    assert events[0]["message"].startswith("[sagemaker logs]: MaxConcurrentTransforms=")


async def test_tuning_children_parallelism_counters_and_best_job(sm: Any, emulator: AwsEmulator) -> None:
    clock = Timeline(emulator)
    await sm.create_hyper_parameter_tuning_job(**tuning_job(total=5, parallel=2, Tags=[
        {"Key": "team", "Value": "ml"}, *tags(child_duration="100", failed_children="2")]))
    seen: dict[str, dict[str, Any]] = {}
    for step in range(3):  # child 2 fails 20 s early (no Uploading): child 3 starts then
        clock.to(step * CHILD_SECONDS)
        children = (await sm.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="tune", SortBy="CreationTime", MaxResults=100))["TrainingJobSummaries"]
        seen.update({c["TrainingJobName"]: c for c in children})
        running = [c for c in children if c["TrainingJobStatus"] == "InProgress"]
        assert len(running) == min(2, 5 - 2 * step), step  # MaxParallelTrainingJobs at once
        assert len(children) == min(2 * (step + 1), 5)  # launched as slots free up
        got = await sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="tune")
        assert got["TrainingJobStatusCounters"]["InProgress"] == len(running)
    assert got["HyperParameterTuningJobStatus"] == "InProgress"
    clock.to(3 * CHILD_SECONDS)
    got = await sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="tune")
    assert got["HyperParameterTuningJobStatus"] == "Completed"  # MaxNumberOfTrainingJobs launched in all
    assert got["TrainingJobStatusCounters"] == {"Completed": 4, "InProgress": 0, "RetryableError": 0,
                                                "NonRetryableError": 1, "Stopped": 0}
    assert got["ObjectiveStatusCounters"] == {"Succeeded": 4, "Pending": 0, "Failed": 1}
    assert got["HyperParameterTuningJobConfig"]["TrainingJobEarlyStoppingType"] == "Auto"  # accepted, echoed

    children = (await sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="tune", MaxResults=100))["TrainingJobSummaries"]
    assert len(children) == 5
    for number, child in enumerate(sorted(children, key=lambda c: c["CreationTime"]), start=1):
        assert re.fullmatch(rf"tune-{number:03d}-[0-9a-f]{{8}}", child["TrainingJobName"])
        hp = child["TunedHyperParameters"]
        assert 2 <= int(hp["max_depth"]) <= 8 and 0.01 <= float(hp["eta"]) <= 0.5 and hp["booster"] in (
            "gbtree", "dart")
        assert (child["TrainingJobStatus"] == "Failed") == (number == 2)
    scored = [c for c in children if c["TrainingJobStatus"] == "Completed"]
    best = min(scored, key=lambda c: c["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])
    assert got["BestTrainingJob"]["TrainingJobName"] == best["TrainingJobName"]
    assert got["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"] == {
        "Type": "Minimize", "MetricName": "validation:rmse",
        "Value": best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]}

    child = await sm.describe_training_job(TrainingJobName=best["TrainingJobName"])
    assert child["TuningJobArn"] == got["HyperParameterTuningJobArn"]
    assert child["HyperParameters"] == {"num_round": "100", **best["TunedHyperParameters"],
                                        "_tuning_objective_metric": "validation:rmse"}
    assert {"Key": "team", "Value": "ml"} in (await sm.list_tags(ResourceArn=child["TrainingJobArn"]))["Tags"]


async def test_tuning_outcome_tags_and_warm_start(sm: Any, emulator: AwsEmulator) -> None:
    clock = Timeline(emulator)
    await sm.create_hyper_parameter_tuning_job(**tuning_job("fails", Tags=tags(
        outcome="Failed", reason="ClientError: bad objective", child_duration="100")))
    await sm.create_hyper_parameter_tuning_job(**tuning_job("fails-later", Tags=tags(
        outcome="Failed", duration="30", child_duration="100")))
    await sm.create_hyper_parameter_tuning_job(**tuning_job("all-children-fail", total=2, Tags=tags(
        child_outcome="Failed", child_duration="100")))
    clock.to(30)
    later = await sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="fails-later")
    assert (later["HyperParameterTuningJobStatus"], later["FailureReason"]) == (
        "Failed", tuning.DEFAULT_FAILURE_REASON)
    assert (await sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="fails"))[
        "HyperParameterTuningJobStatus"] == "InProgress"
    clock.to(CHILD_SECONDS)
    failed = await sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="fails")
    assert (failed["HyperParameterTuningJobStatus"], failed["FailureReason"]) == (
        "Failed", "ClientError: bad objective")
    all_failed = await sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="all-children-fail")
    assert (all_failed["HyperParameterTuningJobStatus"], all_failed["FailureReason"]) == (
        "Failed", tuning.ALL_CHILDREN_FAILED)
    assert "BestTrainingJob" not in all_failed

    warm = {"ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "fails"}],
            "WarmStartType": "IdenticalDataAndAlgorithm"}
    await sm.create_hyper_parameter_tuning_job(**tuning_job("warm", WarmStartConfig=warm))
    assert (await sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="warm"))[
        "WarmStartConfig"] == warm
    with pytest.raises(sm.exceptions.ResourceNotFound):
        await sm.create_hyper_parameter_tuning_job(**tuning_job("orphan", WarmStartConfig={
            **warm, "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "ghost"}]}))
    with pytest.raises(sm.exceptions.ResourceInUse):
        await sm.create_hyper_parameter_tuning_job(**tuning_job("WARM"))


async def test_describe_model_and_endpoint_config(sm: Any, emulator: AwsEmulator) -> None:
    """Successful DescribeModel and DescribeEndpointConfig answers (their shapes are checked by the fixture)."""
    container = {"Image": IMAGE, "ModelDataUrl": "s3://bucket/model.tar.gz", "Environment": {"LOG_LEVEL": "debug"}}
    created = await sm.create_model(ModelName="model1", ExecutionRoleArn=ROLE, PrimaryContainer=container)
    model = await sm.describe_model(ModelName="model1")
    assert model["ModelArn"] == created["ModelArn"] == "arn:aws:sagemaker:us-west-2:123456789012:model/model1"
    assert (model["ModelName"], model["ExecutionRoleArn"], model["EnableNetworkIsolation"]) == ("model1", ROLE, False)
    assert model["PrimaryContainer"] == container
    assert model["CreationTime"].timestamp() == pytest.approx(emulator.clock.now(), abs=1e-3)

    variant = {"VariantName": "AllTraffic", "ModelName": "model1", "InitialInstanceCount": 2,
               "InstanceType": "ml.m5.large"}
    capture = {"EnableCapture": True, "InitialSamplingPercentage": 50, "DestinationS3Uri": "s3://bucket/capture",
               "CaptureOptions": [{"CaptureMode": "Input"}]}
    arn = (await sm.create_endpoint_config(EndpointConfigName="cfg", ProductionVariants=[variant],
                                           DataCaptureConfig=capture))["EndpointConfigArn"]
    config = await sm.describe_endpoint_config(EndpointConfigName="cfg")
    assert (config["EndpointConfigName"], config["EndpointConfigArn"]) == ("cfg", arn)
    assert config["ProductionVariants"] == [{**variant, "InitialVariantWeight": 1.0}]  # the default weight is shown
    assert config["DataCaptureConfig"] == capture
    assert "CreationTime" in config and "KmsKeyId" not in config


async def deploy(sm: Any, *, endpoint_tags: list[dict[str, str]] | None = None, variants: int = 1) -> None:
    await create_model(sm, "m1")
    await create_model(sm, "m2", IMAGE2)
    await sm.create_endpoint_config(EndpointConfigName="c1", ProductionVariants=[
        {"VariantName": f"v{n}", "ModelName": "m1", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
        for n in range(1, variants + 1)])
    await sm.create_endpoint(EndpointName="ep", EndpointConfigName="c1", Tags=endpoint_tags or [])


async def test_endpoint_update_to_a_new_configuration(sm: Any, emulator: AwsEmulator) -> None:
    clock = Timeline(emulator)
    await deploy(sm)
    creating = await sm.describe_endpoint(EndpointName="ep")
    assert creating["EndpointStatus"] == "Creating" and "ProductionVariants" not in creating
    clock.to(hosting.CREATE_SECONDS - 1)
    assert (await sm.describe_endpoint(EndpointName="ep"))["EndpointStatus"] == "Creating"
    clock.to(hosting.CREATE_SECONDS)
    assert (await sm.describe_endpoint(EndpointName="ep"))["EndpointStatus"] == "InService"
    await sm.create_endpoint_config(EndpointConfigName="c2", ProductionVariants=[
        {"VariantName": "v1", "ModelName": "m2", "InitialInstanceCount": 2, "InstanceType": "ml.m5.xlarge"}],
        Tags=tags(duration="100"))
    clock.mark()
    await sm.update_endpoint(EndpointName="ep", EndpointConfigName="c2")
    updating = await sm.describe_endpoint(EndpointName="ep")
    assert (updating["EndpointStatus"], updating["EndpointConfigName"]) == ("Updating", "c1")
    assert updating["ProductionVariants"][0]["CurrentInstanceCount"] == 1  # the old fleet still serves
    pending = updating["PendingDeploymentSummary"]
    assert pending["EndpointConfigName"] == "c2"
    assert pending["ProductionVariants"][0]["DesiredInstanceCount"] == 2
    assert pending["ProductionVariants"][0]["InstanceType"] == "ml.m5.xlarge"
    clock.to(99)  # emulator.smk8s/duration-seconds on the new configuration: the update takes 100 s
    assert (await sm.describe_endpoint(EndpointName="ep"))["EndpointStatus"] == "Updating"
    clock.to(100)
    done = await sm.describe_endpoint(EndpointName="ep")
    assert (done["EndpointStatus"], done["EndpointConfigName"]) == ("InService", "c2")
    assert "PendingDeploymentSummary" not in done and "FailureReason" not in done
    [variant] = done["ProductionVariants"]
    assert (variant["CurrentInstanceCount"], variant["DeployedImages"][0]["SpecifiedImage"]) == (2, IMAGE2)
    assert variant["DeployedImages"][0]["ResolvedImage"].startswith(IMAGE2.rsplit(":", 1)[0] + "@sha256:")
    assert done["LastModifiedTime"].timestamp() - clock.origin == pytest.approx(100, abs=1e-3)

    await sm.delete_endpoint(EndpointName="ep")
    error = await error_of(sm.delete_endpoint(EndpointName="ep"))
    assert error["Message"] == (
        'Cannot update in-progress endpoint "arn:aws:sagemaker:us-west-2:123456789012:endpoint/ep".')
    emulator.advance(hosting.DELETE_SECONDS)
    error = await error_of(sm.describe_endpoint(EndpointName="ep"))
    assert error["Message"] == 'Could not find endpoint "arn:aws:sagemaker:us-west-2:123456789012:endpoint/ep".'


async def test_endpoint_weights_only_and_capacity_updates(sm: Any, emulator: AwsEmulator) -> None:
    await deploy(sm, variants=2)
    emulator.advance(hosting.CREATE_SECONDS)
    clock = Timeline(emulator)
    await sm.update_endpoint_weights_and_capacities(EndpointName="ep", DesiredWeightsAndCapacities=[
        {"VariantName": "v1", "DesiredWeight": 3.0}])
    got = await sm.describe_endpoint(EndpointName="ep")
    v1 = got["ProductionVariants"][0]
    assert (got["EndpointStatus"], v1["DesiredWeight"], v1["CurrentWeight"]) == ("Updating", 3.0, 1.0)
    clock.to(hosting.WEIGHTS_ONLY_SECONDS - 1)
    assert (await sm.describe_endpoint(EndpointName="ep"))["EndpointStatus"] == "Updating"
    clock.to(hosting.WEIGHTS_ONLY_SECONDS)  # weights alone are quick; capacity takes CAPACITY_SECONDS
    got = await sm.describe_endpoint(EndpointName="ep")
    assert got["EndpointStatus"] == "InService"
    assert [(v["VariantName"], v["CurrentWeight"]) for v in got["ProductionVariants"]] == [("v1", 3.0), ("v2", 1.0)]

    clock.mark()
    await sm.update_endpoint_weights_and_capacities(EndpointName="ep", DesiredWeightsAndCapacities=[
        {"VariantName": "v2", "DesiredInstanceCount": 4}])
    clock.to(hosting.WEIGHTS_ONLY_SECONDS)
    v2 = (await sm.describe_endpoint(EndpointName="ep"))["ProductionVariants"][1]
    assert (v2["DesiredInstanceCount"], v2["CurrentInstanceCount"]) == (4, 1)
    clock.to(hosting.CAPACITY_SECONDS)
    v2 = (await sm.describe_endpoint(EndpointName="ep"))["ProductionVariants"][1]
    assert v2["CurrentInstanceCount"] == 4

    error = await error_of(sm.update_endpoint_weights_and_capacities(EndpointName="ep", DesiredWeightsAndCapacities=[
        {"VariantName": "v9", "DesiredWeight": 1.0}]))
    assert error["Message"] == ('The variant(s) "[v9]" are not present in the endpoint '
                                '"arn:aws:sagemaker:us-west-2:123456789012:endpoint/ep".')


async def test_endpoint_outcome_tags(sm: Any, emulator: AwsEmulator) -> None:
    """emulator.smk8s/outcome=Failed, failure-reason and duration-seconds on an endpoint; update-outcome
    UpdateRollbackFailed on a configuration (RollingBack is in test_sagemaker_hosting)."""
    clock = Timeline(emulator)
    await deploy(sm, endpoint_tags=tags(outcome="Failed", duration="10", reason="Image not found"))
    clock.to(10)
    got = await sm.describe_endpoint(EndpointName="ep")
    assert (got["EndpointStatus"], got["FailureReason"]) == ("Failed", "Image not found")
    error = await error_of(sm.update_endpoint(EndpointName="ep", EndpointConfigName="c1"))
    assert error["Message"] == 'Cannot update failed endpoint "arn:aws:sagemaker:us-west-2:123456789012:endpoint/ep".'
    await sm.delete_endpoint(EndpointName="ep")  # a Failed endpoint can be deleted
    emulator.advance(hosting.DELETE_SECONDS)

    await sm.create_endpoint(EndpointName="ep2", EndpointConfigName="c1")
    await sm.create_endpoint_config(EndpointConfigName="broken", ProductionVariants=[
        {"VariantName": "v1", "ModelName": "m2", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}],
        Tags=tags(update_outcome="UpdateRollbackFailed"))
    emulator.advance(hosting.CREATE_SECONDS)
    clock.mark()
    await sm.update_endpoint(EndpointName="ep2", EndpointConfigName="broken")
    clock.to(hosting.UPDATE_SECONDS)
    assert (await sm.describe_endpoint(EndpointName="ep2"))["EndpointStatus"] == "RollingBack"
    clock.to(hosting.UPDATE_SECONDS + hosting.ROLLBACK_SECONDS)
    got = await sm.describe_endpoint(EndpointName="ep2")
    assert (got["EndpointStatus"], got["EndpointConfigName"]) == ("UpdateRollbackFailed", "c1")
    assert got["FailureReason"] == hosting.default_failure_reason("v1")


# ------------------------------------------------------------------------------------ Behaviour 4: outcome tags


async def test_training_outcome_tags_final_metrics_and_rule_evaluation(sm: Any, emulator: AwsEmulator) -> None:
    clock = Timeline(emulator)
    rules = [{"RuleConfigurationName": "LossNotDecreasing", "RuleEvaluatorImage": IMAGE}]
    await sm.create_training_job(**training("good", DebugRuleConfigurations=rules, Tags=tags(
        duration="60", metrics="validation:auc=0.91 train:loss=0.2", rules="IssuesFound")))
    await sm.create_training_job(**training("bad", DebugRuleConfigurations=rules, Tags=tags(outcome="Failed")))
    end = D.launching + D.preparing + D.downloading + 60 + D.uploading
    clock.to(end)
    good = await sm.describe_training_job(TrainingJobName="good")
    assert good["TrainingJobStatus"] == "Completed"
    assert {m["MetricName"]: m["Value"] for m in good["FinalMetricDataList"]} == {"validation:auc": 0.91,
                                                                                  "train:loss": 0.2}
    assert good["DebugRuleEvaluationStatuses"][0]["RuleEvaluationStatus"] == "InProgress"
    clock.to(end + D.rule_evaluation)
    good = await sm.describe_training_job(TrainingJobName="good")
    assert good["DebugRuleEvaluationStatuses"][0]["RuleEvaluationStatus"] == "IssuesFound"
    clock.to(D.launching + D.preparing + D.downloading + D.training)
    bad = await sm.describe_training_job(TrainingJobName="bad")
    assert (bad["TrainingJobStatus"], bad["SecondaryStatus"], bad["FailureReason"]) == (
        "Failed", "Failed", "AlgorithmError: See job logs for more information")
    assert "ModelArtifacts" not in bad and "FinalMetricDataList" not in bad
    assert bad["DebugRuleEvaluationStatuses"][0]["RuleEvaluationStatus"] == "Stopped"


@pytest.mark.parametrize(("tag", "value"), [
    (OUTCOME_TAG, "Exploded"), (DURATION_TAG, "-5"), (DURATION_TAG, "soon"), (FINAL_METRICS_TAG, "auc:0.9"),
    (RULE_EVALUATION_TAG, "Maybe"),
])
async def test_malformed_outcome_tags_are_validation_errors(sm: Any, tag: str, value: str) -> None:
    error = await error_of(sm.create_training_job(**training(Tags=[{"Key": tag, "Value": value}])))
    assert error["Code"] == "ValidationException" and error["Message"].startswith(f"Tag {tag} must ")
    assert f"'{value}'" in error["Message"]
    with pytest.raises(sm.exceptions.ClientError):  # nothing was created
        await sm.describe_training_job(TrainingJobName="job1")


async def test_processing_outcome_tag_is_checked_per_kind(sm: Any) -> None:
    error = await error_of(sm.create_processing_job(**processing(Tags=tags(outcome="Interrupted"))))
    assert error["Message"] == (f"Tag {OUTCOME_TAG} must be one of Completed, Failed for a processing job, "
                                "not 'Interrupted'")


# ------------------------------------------------------------------------ Behaviour 1: validation and name rules


async def test_server_side_validation_of_a_create_call(raw_sm: Any) -> None:
    request = training("bad_name!")
    del request["RoleArn"]
    request["ResourceConfig"] = {**request["ResourceConfig"], "InstanceType": "ml.nope"}
    request["StoppingCondition"] = {"MaxRuntimeInSeconds": 0}
    error = await error_of(raw_sm.create_training_job(**request))
    assert (error["Code"], error["Status"]) == ("ValidationException", 400)
    message = error["Message"]
    assert message.startswith("4 validation errors detected: ")
    for part in ("Value 'bad_name!' at 'trainingJobName' failed to satisfy constraint: Member must satisfy regular "
                 "expression pattern: ",
                 "Value null at 'roleArn' failed to satisfy constraint: Member must not be null",
                 "Value 'ml.nope' at 'resourceConfig.instanceType' failed to satisfy constraint: Member must satisfy "
                 "enum value set: [",
                 "Value '0' at 'stoppingCondition.maxRuntimeInSeconds' failed to satisfy constraint: Member must "
                 "have value greater than or equal to 1"):
        assert part in message, part
    error = await error_of(raw_sm.describe_training_job(TrainingJobName="x" * 64))
    assert "Member must have length less than or equal to 63" in error["Message"]


async def test_a_member_of_the_wrong_json_type_is_a_serialization_exception(raw_sm: Any,
                                                                            emulator: AwsEmulator) -> None:
    """AWS's JSON protocol deserializes before it validates: a string where the model wants an integer is
    ``SerializationException`` (HTTP 400), not a ``ValidationException``."""
    error = await error_of(raw_sm.list_training_jobs(MaxResults="abc"))
    assert (error["Code"], error["Message"], error["Status"]) == (
        "SerializationException", "STRING_VALUE can not be converted to an Integer", 400)
    error = await error_of(raw_sm.create_training_job(**training(ResourceConfig={
        "InstanceType": "ml.m5.xlarge", "InstanceCount": "two", "VolumeSizeInGB": 10})))
    assert (error["Code"], error["Status"]) == ("SerializationException", 400)
    assert (await raw_sm.list_training_jobs())["TrainingJobSummaries"] == []  # nothing was created
    assert emulator.stats()["calls"]["sagemaker"]["ListTrainingJobs"] == {"SerializationException": 1, "ok": 1}


@pytest.mark.parametrize(("kind", "create", "describe", "message"), [
    ("TrainingJob", "create_training_job", "describe_training_job", "Training job names must be unique"),
    ("ProcessingJob", "create_processing_job", "describe_processing_job", "Job name must be unique"),
])
async def test_job_names_are_unique_for_ever_case_insensitively(
    sm: Any, emulator: AwsEmulator, kind: str, create: str, describe: str, message: str
) -> None:
    request = training("Reused") if kind == "TrainingJob" else processing("Reused")
    await getattr(sm, create)(**request)
    emulator.advance(86_400)
    assert (await getattr(sm, describe)(**{f"{kind}Name": "Reused"}))[f"{kind}Status"] == "Completed"
    for name in ("Reused", "reused"):
        with pytest.raises(sm.exceptions.ResourceInUse) as caught:
            await getattr(sm, create)(**{**request, f"{kind}Name": name})
        assert caught.value.response["Error"]["Message"].startswith(message)
        assert f"{kind.replace('Job', '-job').lower()}/reused" in caught.value.response["Error"]["Message"]


async def test_transform_job_names_are_unique_for_ever(sm: Any, emulator: AwsEmulator) -> None:
    await create_model(sm)
    await sm.create_transform_job(**transform("batch"))
    emulator.advance(86_400)
    with pytest.raises(sm.exceptions.ResourceInUse):
        await sm.create_transform_job(**transform("batch"))
    error = await error_of(sm.stop_transform_job(TransformJobName="nothing"))
    assert error["Message"] == "Could not find requested job with name nothing"


# ------------------------------------------------------------------------------------- Behaviour 2: paging rules


async def test_next_token_with_records_added_between_pages(sm: Any, emulator: AwsEmulator) -> None:
    async def create(n: int) -> None:
        await sm.create_training_job(**training(f"job-{n}"))
        emulator.advance(1)

    for n in range(5):
        await create(n)
    page = await sm.list_training_jobs(MaxResults=2)  # CreationTime, Ascending
    seen = [s["TrainingJobName"] for s in page["TrainingJobSummaries"]]
    await create(5)
    await create(6)
    for _ in range(10):  # bounded: a token that never runs out must fail, not hang
        if "NextToken" not in page:
            break
        page = await sm.list_training_jobs(MaxResults=2, NextToken=page["NextToken"])
        seen += [s["TrainingJobName"] for s in page["TrainingJobSummaries"]]
        if len(seen) == 4:
            await create(7)
    assert seen == [f"job-{n}" for n in range(8)]  # later records come after the cursor, once each

    page = await sm.list_training_jobs(MaxResults=3, SortOrder="Descending")
    seen = [s["TrainingJobName"] for s in page["TrainingJobSummaries"]]
    await create(8)  # newer than the cursor: not in this descending pass
    await sm.stop_training_job(TrainingJobName="job-2")  # modified, same sort key: neither lost nor repeated
    for _ in range(10):
        if "NextToken" not in page:
            break
        page = await sm.list_training_jobs(MaxResults=3, SortOrder="Descending", NextToken=page["NextToken"])
        seen += [s["TrainingJobName"] for s in page["TrainingJobSummaries"]]
    assert seen == [f"job-{n}" for n in range(7, -1, -1)]


async def test_a_page_short_of_max_results_still_carries_the_token(sm: Any, emulator: AwsEmulator) -> None:
    """StatusEquals/NameContains filter after the page is cut (ListTrainingJobs API reference)."""
    for n in range(4):
        await sm.create_training_job(**training(f"job-{n}", Tags=tags(outcome="Failed" if n == 3 else "Completed")))
        emulator.advance(1)
    emulator.advance(86_400)
    first = await sm.list_training_jobs(MaxResults=2, StatusEquals="Failed")
    assert first["TrainingJobSummaries"] == [] and "NextToken" in first
    second = await sm.list_training_jobs(MaxResults=2, StatusEquals="Failed", NextToken=first["NextToken"])
    assert [s["TrainingJobName"] for s in second["TrainingJobSummaries"]] == ["job-3"]
    assert "NextToken" not in second


async def test_invalid_tokens(sm: Any, emulator: AwsEmulator) -> None:
    for n in range(3):
        await sm.create_training_job(**training(f"job-{n}"))
        emulator.advance(1)
    token = (await sm.list_training_jobs(MaxResults=1))["NextToken"]
    forged = base64.urlsafe_b64encode(json.dumps({"op": "ListTrainingJobs"}).encode()).decode()
    for call in (
        sm.list_training_jobs(NextToken="not a token"),
        sm.list_training_jobs(NextToken=forged),
        sm.list_training_jobs(NextToken=token, SortBy="Name"),  # issued for another sort
        sm.list_processing_jobs(NextToken=token),  # issued by another operation
        sm.list_endpoints(NextToken=token),
    ):
        error = await error_of(call)
        assert (error["Code"], error["Message"], error["Status"]) == (
            "ValidationException", "Invalid pagination token", 400)
    arn = (await sm.describe_training_job(TrainingJobName="job-0"))["TrainingJobArn"]
    error = await error_of(sm.list_tags(ResourceArn=arn, NextToken=token))  # ListTags pages by its own tokens
    assert error["Message"] == "Invalid pagination token"


async def test_list_training_jobs_by_last_modified_time(sm: Any, emulator: AwsEmulator) -> None:
    clock = Timeline(emulator)
    for n, name in enumerate(("a", "b", "c")):
        clock.to(n)
        await sm.create_training_job(**training(name))
    clock.to(10)  # all three still Starting: nothing modified since creation
    await sm.stop_training_job(TrainingJobName="b")  # LastModifiedTime moves to now
    stopped = (await sm.describe_training_job(TrainingJobName="b"))["LastModifiedTime"]
    assert stopped.timestamp() == pytest.approx(clock.origin + 10, abs=1e-3)
    # Timestamps cross the wire rounded to microseconds: compare half a second away from any record.
    cut = stopped - datetime.timedelta(seconds=5)
    after = (await sm.list_training_jobs(LastModifiedTimeAfter=cut))["TrainingJobSummaries"]
    assert [(s["TrainingJobName"], s["TrainingJobStatus"]) for s in after] == [("b", "Stopping")]
    before = (await sm.list_training_jobs(LastModifiedTimeBefore=cut))["TrainingJobSummaries"]
    assert [s["TrainingJobName"] for s in before] == ["a", "c"]
    window = (await sm.list_training_jobs(LastModifiedTimeAfter=cut - datetime.timedelta(seconds=4.5),
                                          LastModifiedTimeBefore=cut))["TrainingJobSummaries"]
    assert [s["TrainingJobName"] for s in window] == ["c"]  # a was last modified at 0, c at 2


async def test_list_training_jobs_sorted_by_status(sm: Any, emulator: AwsEmulator) -> None:
    """SortBy=Status orders by the status text (ties by name), in either SortOrder. Names, creation order and status
    order all differ, so neither of the other sort keys gives this order."""
    async def create(name: str, **extra: Any) -> None:
        await sm.create_training_job(**training(name, **extra))
        emulator.advance(1)

    await create("b-stopped")
    await create("m-running", Tags=tags(duration="5000"))
    await create("a-failed", Tags=tags(outcome="Failed", duration="60"))
    await create("z-completed", Tags=tags(duration="60"))
    await create("y-completed", Tags=tags(duration="60"))
    await sm.stop_training_job(TrainingJobName="b-stopped")
    emulator.advance(D.launching + D.preparing + D.downloading + 60 + D.uploading)
    ascending = ["y-completed", "z-completed", "a-failed", "m-running", "b-stopped"]
    listed = (await sm.list_training_jobs(SortBy="Status", SortOrder="Ascending"))["TrainingJobSummaries"]
    assert [s["TrainingJobName"] for s in listed] == ascending
    assert [s["TrainingJobStatus"] for s in listed] == ["Completed", "Completed", "Failed", "InProgress", "Stopped"]
    listed = (await sm.list_training_jobs(SortBy="Status", SortOrder="Descending"))["TrainingJobSummaries"]
    assert [s["TrainingJobName"] for s in listed] == ascending[::-1]
    pages = sm.get_paginator("list_training_jobs").paginate(SortBy="Status", SortOrder="Descending",
                                                            PaginationConfig={"PageSize": 2})
    assert await names(pages, "TrainingJobSummaries", "TrainingJobName") == ascending[::-1]


async def test_list_processing_jobs_default_order(sm: Any, emulator: AwsEmulator) -> None:
    """ListProcessingJobs: SortBy "The default is CreationTime", SortOrder "The default is Ascending" (API
    reference), so the oldest job comes first without any sort member."""
    for name in ("proc-b", "proc-c", "proc-a"):
        await sm.create_processing_job(**processing(name))
        emulator.advance(1)
    listed = (await sm.list_processing_jobs())["ProcessingJobSummaries"]
    assert [s["ProcessingJobName"] for s in listed] == ["proc-b", "proc-c", "proc-a"]
    first = await sm.list_processing_jobs(MaxResults=1)
    assert [s["ProcessingJobName"] for s in first["ProcessingJobSummaries"]] == ["proc-b"]
    rest = await sm.list_processing_jobs(NextToken=first["NextToken"])
    assert [s["ProcessingJobName"] for s in rest["ProcessingJobSummaries"]] == ["proc-c", "proc-a"]


async def test_list_tags_pages_and_max_results_range(sm: Any, raw_sm: Any) -> None:
    """ListTags' MaxResults is 50..100 in botocore's model and a resource holds at most 50 tags, so a real ListTags
    never needs a second page: a full resource comes back whole, in insertion order, with no NextToken; MaxResults
    below 50 is refused by the server (the token paging itself is unit-tested in test_listing/test_tags)."""
    own = [{"Key": f"k{n:02d}", "Value": f"v{n}"} for n in range(50)]
    arn = (await sm.create_training_job(**training(Tags=own[:30])))["TrainingJobArn"]
    await sm.add_tags(ResourceArn=arn, Tags=own[30:])
    page = await sm.list_tags(ResourceArn=arn, MaxResults=50)
    assert page["Tags"] == own and "NextToken" not in page
    with pytest.raises(sm.exceptions.ResourceLimitExceeded):  # a 51st tag
        await sm.add_tags(ResourceArn=arn, Tags=[{"Key": "one-more", "Value": "x"}])
    error = await error_of(raw_sm.list_tags(ResourceArn=arn, MaxResults=1))
    assert (error["Code"], error["Message"]) == ("ValidationException", (
        "1 validation error detected: Value '1' at 'maxResults' failed to satisfy constraint: Member must have value "
        "greater than or equal to 50"))


async def test_describe_scaling_policies_filtered_by_resource(sm: Any, aas: Any, emulator: AwsEmulator) -> None:
    await deploy(sm, variants=2)
    emulator.advance(hosting.CREATE_SECONDS)
    dimension = "sagemaker:variant:DesiredInstanceCount"
    for variant, target in (("v1", 70.0), ("v2", 30.0)):
        resource = f"endpoint/ep/variant/{variant}"
        await aas.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=resource,
                                           ScalableDimension=dimension, MinCapacity=1, MaxCapacity=4)
        await aas.put_scaling_policy(  # the same policy name on both variants
            PolicyName="invocations", PolicyType="TargetTrackingScaling", ServiceNamespace="sagemaker",
            ResourceId=resource, ScalableDimension=dimension,
            TargetTrackingScalingPolicyConfiguration={"TargetValue": target, "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}})
    everything = (await aas.describe_scaling_policies(ServiceNamespace="sagemaker"))["ScalingPolicies"]
    assert sorted(p["ResourceId"] for p in everything) == ["endpoint/ep/variant/v1", "endpoint/ep/variant/v2"]
    for variant, target in (("v1", 70.0), ("v2", 30.0)):
        resource = f"endpoint/ep/variant/{variant}"
        [policy] = (await aas.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=resource))[
            "ScalingPolicies"]
        assert (policy["ResourceId"], policy["TargetTrackingScalingPolicyConfiguration"]["TargetValue"]) == (
            resource, target)
    none = await aas.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId="endpoint/ep/variant/v3")
    assert none["ScalingPolicies"] == []


# -------------------------------------------------------------------------------------- Behaviour 6: autoscaling


async def test_autoscaling_errors_for_missing_endpoint_variant_and_target(sm: Any, aas: Any,
                                                                          emulator: AwsEmulator) -> None:
    dimension = "sagemaker:variant:DesiredInstanceCount"

    def target(resource: str) -> dict[str, Any]:
        return {"ServiceNamespace": "sagemaker", "ResourceId": resource, "ScalableDimension": dimension}

    error = await error_of(aas.register_scalable_target(**target("endpoint/ghost/variant/v1"), MinCapacity=1,
                                                        MaxCapacity=2))
    assert (error["Code"], error["Message"]) == ("ValidationException", "The endpoint 'ghost' does not exist.")
    await deploy(sm)
    emulator.advance(hosting.CREATE_SECONDS)
    error = await error_of(aas.register_scalable_target(**target("endpoint/ep/variant/v9"), MinCapacity=1,
                                                        MaxCapacity=2))
    assert error["Message"] == "The variant 'v9' does not exist for the endpoint 'ep'."
    with pytest.raises(aas.exceptions.ObjectNotFoundException) as caught:
        await aas.put_scaling_policy(PolicyName="p", PolicyType="TargetTrackingScaling",
                                     **target("endpoint/ep/variant/v1"),
                                     TargetTrackingScalingPolicyConfiguration={"TargetValue": 70.0})
    assert caught.value.response["Error"]["Message"].startswith("No scalable target registered for service namespace:")
    await aas.register_scalable_target(**target("endpoint/ep/variant/v1"), MinCapacity=1, MaxCapacity=2)
    with pytest.raises(aas.exceptions.ObjectNotFoundException):
        await aas.delete_scaling_policy(PolicyName="nope", **target("endpoint/ep/variant/v1"))
    with pytest.raises(aas.exceptions.InvalidNextTokenException):
        await aas.describe_scalable_targets(ServiceNamespace="sagemaker", NextToken="!!")


# ------------------------------------------------------------------------------------------ Behaviour 8: quotas


async def test_concurrent_training_job_quota_from_the_control_api(sm: Any, emulator: AwsEmulator) -> None:
    status, body = await control(emulator, "POST", "quotas", {"limits": {"training-jobs-running": 2}})
    assert status == 200 and body["limits"]["training-jobs-running"] == 2
    await sm.create_training_job(**training("a", Tags=tags(duration="60")))
    await sm.create_training_job(**training("b"))
    with pytest.raises(sm.exceptions.ResourceLimitExceeded) as caught:
        await sm.create_training_job(**training("c"))
    assert caught.value.response["Error"]["Message"] == (
        "The account-level service limit 'Number of concurrent training jobs' is 2 Jobs, with current utilization "
        "of 2 Jobs and a request delta of 1 Jobs. Please use AWS Service Quotas to request an increase for this "
        "quota. If AWS Service Quotas is not available, contact AWS support to request an increase for this quota.")
    await sm.stop_training_job(TrainingJobName="b")  # Stopping still counts
    with pytest.raises(sm.exceptions.ResourceLimitExceeded):
        await sm.create_training_job(**training("c"))
    emulator.advance(D.stopping)  # b is Stopped: a slot is free
    await sm.create_training_job(**training("c"))
    with pytest.raises(sm.exceptions.ResourceLimitExceeded):
        await sm.create_training_job(**training("d"))
    with pytest.raises(sm.exceptions.ClientError):  # the refused job was never created
        await sm.describe_training_job(TrainingJobName="d")
    assert emulator.stats()["calls"]["sagemaker"]["CreateTrainingJob"] == {"ok": 3, "ResourceLimitExceeded": 3}
    await control(emulator, "DELETE", "quotas")  # back to the default of 50
    await sm.create_training_job(**training("d"))


async def test_quotas_set_in_process_apply_to_processing_jobs_endpoints_and_tuning(sm: Any,
                                                                                    emulator: AwsEmulator) -> None:
    emulator.set_quotas({"processing-jobs-running": 1, "endpoints": 1, "training-jobs-running": 1})
    await sm.create_processing_job(**processing("p1"))
    with pytest.raises(sm.exceptions.ResourceLimitExceeded) as caught:
        await sm.create_processing_job(**processing("p2"))
    assert "'Number of concurrent processing jobs' is 1 Jobs" in caught.value.response["Error"]["Message"]
    await deploy(sm)
    with pytest.raises(sm.exceptions.ResourceLimitExceeded) as caught:
        await sm.create_endpoint(EndpointName="ep2", EndpointConfigName="c1")
    assert "'Number of endpoints' is 1 Endpoints" in caught.value.response["Error"]["Message"]

    # A tuning child refused by the training job quota is retried a minute later (tuning.py).
    clock = Timeline(emulator)
    await sm.create_training_job(**training("blocker", Tags=tags(duration="60")))
    await sm.create_hyper_parameter_tuning_job(**tuning_job(total=1, parallel=1, Tags=tags(child_duration="100")))
    got = await sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="tune")
    assert got["HyperParameterTuningJobStatus"] == "InProgress" and got["TrainingJobStatusCounters"]["InProgress"] == 0
    blocker_end = D.launching + D.preparing + D.downloading + 60 + D.uploading
    retry = tuning.RETRY_SECONDS * -(-blocker_end // tuning.RETRY_SECONDS)  # the first retry after the blocker ends
    clock.to(retry - 1)
    assert (await sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="tune"))[
        "TrainingJobStatusCounters"]["InProgress"] == 0
    clock.to(retry)
    [child] = (await sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName="tune"))[
        "TrainingJobSummaries"]
    assert child["CreationTime"].timestamp() - clock.origin == pytest.approx(retry, abs=1e-3)


async def test_transform_job_quota(sm: Any, emulator: AwsEmulator) -> None:
    emulator.set_quotas({"transform-jobs-running": 1})
    await create_model(sm)
    await sm.create_transform_job(**transform("batch-a"))
    with pytest.raises(sm.exceptions.ResourceLimitExceeded) as caught:
        await sm.create_transform_job(**transform("batch-b"))
    assert caught.value.response["Error"]["Message"].startswith(
        "The account-level service limit 'Number of concurrent transform jobs' is 1 Jobs, with current utilization "
        "of 1 Jobs and a request delta of 1 Jobs.")
    error = await error_of(sm.describe_transform_job(TransformJobName="batch-b"))  # nothing was created
    assert error["Message"] == "Could not find requested job with name batch-b"
    assert [s["TransformJobName"] for s in (await sm.list_transform_jobs())["TransformJobSummaries"]] == ["batch-a"]
    emulator.advance(D.transform_starting + D.transform)  # batch-a Completed: a slot is free
    await sm.create_transform_job(**transform("batch-b"))


async def test_training_jobs_per_tuning_job_quota(sm: Any, emulator: AwsEmulator) -> None:
    emulator.set_quotas({"training-jobs-per-tuning-job": 3})
    with pytest.raises(sm.exceptions.ResourceLimitExceeded) as caught:
        await sm.create_hyper_parameter_tuning_job(**tuning_job("too-many", total=4, parallel=1))
    assert caught.value.response["Error"]["Message"].startswith(
        "The account-level service limit 'Maximum number of training jobs per hyperparameter tuning job' is 3 Jobs, "
        "with current utilization of 0 Jobs and a request delta of 4 Jobs.")
    with pytest.raises(sm.exceptions.ResourceNotFound):  # nothing was created, no child launched
        await sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="too-many")
    assert (await sm.list_training_jobs())["TrainingJobSummaries"] == []
    await sm.create_hyper_parameter_tuning_job(**tuning_job("enough", total=3, parallel=1))  # at the limit: allowed


async def test_concurrent_tuning_job_quota(sm: Any, emulator: AwsEmulator) -> None:
    emulator.set_quotas({"tuning-jobs-running": 1})
    await sm.create_hyper_parameter_tuning_job(**tuning_job("first", total=1, parallel=1,
                                                            Tags=tags(child_duration="100")))
    with pytest.raises(sm.exceptions.ResourceLimitExceeded) as caught:
        await sm.create_hyper_parameter_tuning_job(**tuning_job("second", total=1, parallel=1))
    assert caught.value.response["Error"]["Message"].startswith(
        "The account-level service limit 'Number of concurrent hyperparameter tuning jobs' is 1 Jobs, with current "
        "utilization of 1 Jobs and a request delta of 1 Jobs.")
    with pytest.raises(sm.exceptions.ResourceNotFound):
        await sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="second")
    listed = (await sm.list_hyper_parameter_tuning_jobs())["HyperParameterTuningJobSummaries"]
    assert [s["HyperParameterTuningJobName"] for s in listed] == ["first"]
    emulator.advance(CHILD_SECONDS)  # "first" Completed: a slot is free
    await sm.create_hyper_parameter_tuning_job(**tuning_job("second", total=1, parallel=1))


async def test_instances_per_endpoint_quota(sm: Any, emulator: AwsEmulator) -> None:
    emulator.set_quotas({"instances-per-endpoint": 2})
    await create_model(sm, "m1")
    await sm.create_endpoint_config(EndpointConfigName="big", ProductionVariants=[
        {"VariantName": "v1", "ModelName": "m1", "InitialInstanceCount": 2, "InstanceType": "ml.m5.large"},
        {"VariantName": "v2", "ModelName": "m1", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    with pytest.raises(sm.exceptions.ResourceLimitExceeded) as caught:
        await sm.create_endpoint(EndpointName="ep", EndpointConfigName="big")
    assert caught.value.response["Error"]["Message"].startswith(
        "The account-level service limit 'Maximum total number of instances per endpoint' is 2 Instances, with "
        "current utilization of 0 Instances and a request delta of 3 Instances.")
    error = await error_of(sm.describe_endpoint(EndpointName="ep"))
    assert error["Message"] == 'Could not find endpoint "arn:aws:sagemaker:us-west-2:123456789012:endpoint/ep".'
    assert (await sm.list_endpoints())["Endpoints"] == []


# -------------------------------------------------------------------------------------- Behaviour 8: throttling


class FakeMonotonic:
    """The rate limiter's clock, moved by hand (token buckets refill per real second)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_throttling_burst_then_rate_exceeded_at_the_same_instant(sm: Any, emulator: AwsEmulator) -> None:
    tick = FakeMonotonic()
    emulator.rate_limiter.monotonic = tick
    status, body = await control(emulator, "POST", "quotas", {"rates": {
        "sagemaker:ListTrainingJobs": {"rate": 2, "burst": 3}, "sagemaker:*": {"rate": 1, "burst": 1}}})
    assert status == 200 and body["rates"]["overrides"]["sagemaker:ListTrainingJobs"] == {"rate": 2.0, "burst": 3.0}
    for _ in range(3):  # the burst
        await sm.list_training_jobs()
    error = await error_of(sm.list_training_jobs())  # the 4th call in the same instant
    assert (error["Code"], error["Message"], error["Status"], error["RetryAttempts"]) == (
        "ThrottlingException", "Rate exceeded", 400, 0)
    await sm.list_processing_jobs()  # its own bucket, from the "sagemaker:*" key
    assert (await error_of(sm.list_processing_jobs()))["Code"] == "ThrottlingException"
    tick.now += 0.49  # 2 tokens per second: not yet one token
    assert (await error_of(sm.list_training_jobs()))["Code"] == "ThrottlingException"
    tick.now += 0.01
    await sm.list_training_jobs()
    assert (await error_of(sm.list_training_jobs()))["Code"] == "ThrottlingException"
    tick.now += 10  # refills up to the burst, not beyond
    for _ in range(3):
        await sm.list_training_jobs()
    assert (await error_of(sm.list_training_jobs()))["Code"] == "ThrottlingException"
    assert emulator.stats()["calls"]["sagemaker"]["ListTrainingJobs"] == {"ok": 7, "ThrottlingException": 4}


async def test_default_rate_limits_are_documented_and_applied() -> None:
    tick = FakeMonotonic()
    async with AwsEmulator(time_scale=1e-9) as aws, get_session().create_client(
        "sagemaker", config=NO_RETRIES, **aws.client_kwargs()
    ) as sm:
        aws.rate_limiter.monotonic = tick
        status, body = await control(aws, "GET", "quotas")
        assert status == 200 and body["rates"]["defaults"] == {"read": DEFAULT_READ_LIMIT.to_dict(),
                                             "write": DEFAULT_WRITE_LIMIT.to_dict()}
        assert (DEFAULT_READ_LIMIT.burst, DEFAULT_WRITE_LIMIT.burst) == (100, 20)
        for _ in range(20):
            await error_of(sm.stop_training_job(TrainingJobName="ghost"))  # writes pass, to the not-found answer
        assert (await error_of(sm.stop_training_job(TrainingJobName="ghost")))["Code"] == "ThrottlingException"
        for _ in range(100):
            await sm.list_training_jobs()
        assert (await error_of(sm.list_training_jobs()))["Code"] == "ThrottlingException"


# ---------------------------------------------------------------------------------------- Behaviour 8: faults


async def test_faults_on_sagemaker_calls_with_retries_off(sm: Any, emulator: AwsEmulator) -> None:
    status, _ = await control(emulator, "POST", "faults", {"seed": 1, "rules": [
        {"operations": ["CreateTrainingJob"], "internal_failure": 1.0, "times": 1},
        {"operations": ["DescribeTrainingJob"], "service_unavailable": 1.0, "times": 1},
        {"operations": ["ListTrainingJobs"], "drop": 1.0, "times": 1},
        {"operations": ["ListModels"], "throttle": 1.0, "times": 1},
    ]})
    assert status == 200
    error = await error_of(sm.create_training_job(**training()))
    assert (error["Code"], error["Status"], error["RetryAttempts"]) == ("InternalFailure", 500, 0)
    error = await error_of(sm.describe_training_job(TrainingJobName="job1"))
    assert (error["Code"], error["Status"], error["RetryAttempts"]) == ("ServiceUnavailable", 503, 0)
    # The fault came before the handler: the job was not created, so the (unfaulted) Describe says not found.
    error = await error_of(sm.describe_training_job(TrainingJobName="job1"))
    assert error["Message"] == "Requested resource not found."
    with pytest.raises(botocore.exceptions.ConnectionClosedError):
        await sm.list_training_jobs()
    error = await error_of(sm.list_models())
    assert (error["Code"], error["Message"], error["Status"], error["RetryAttempts"]) == (
        "ThrottlingException", "Rate exceeded", 400, 0)
    await sm.create_training_job(**training())
    await sm.list_training_jobs()
    await sm.list_models()
    stats = (await control(emulator, "GET", "stats"))[1]["calls"]["sagemaker"]
    assert stats["CreateTrainingJob"] == {"InternalFailure": 1, "ok": 1}
    assert stats["DescribeTrainingJob"] == {"ServiceUnavailable": 1, "ValidationException": 1}
    assert stats["ListTrainingJobs"] == {"dropped": 1, "ok": 1}
    assert stats["ListModels"] == {"ThrottlingException": 1, "ok": 1}
    faults = (await control(emulator, "GET", "faults"))[1]
    assert faults["injected"] == {"internal_failure": 1, "service_unavailable": 1, "drop": 1, "throttle": 1}


async def test_mixed_faults_are_reproducible_from_the_seed(sm: Any, emulator: AwsEmulator) -> None:
    rule = {"services": ["sagemaker"], "internal_failure": 0.25, "service_unavailable": 0.25, "drop": 0.2}

    async def run(seed: int) -> list[str]:
        await control(emulator, "POST", "faults", {"seed": seed, "rules": [rule]})
        outcomes = []
        for _ in range(40):
            try:
                await sm.list_models()
                outcomes.append("ok")
            except botocore.exceptions.ConnectionClosedError:
                outcomes.append("dropped")
            except botocore.exceptions.ClientError as err:
                outcomes.append(err.response["Error"]["Code"])
        return outcomes

    first = await run(21)
    assert set(first) == {"ok", "InternalFailure", "ServiceUnavailable", "dropped"}
    assert await run(21) == first
    assert await run(22) != first


# ---------------------------------------------------------------------------------------------- the control API


async def test_control_api_clock_drives_lifecycles_and_state_shows_every_resource(sm: Any, logs: Any,
                                                                                  emulator: AwsEmulator) -> None:
    await create_model(sm)
    await sm.create_training_job(**training())
    await sm.create_processing_job(**processing())
    await sm.create_transform_job(**transform("batch"))
    await sm.create_hyper_parameter_tuning_job(**tuning_job(total=1, parallel=1))
    before = (await control(emulator, "GET", "clock"))[1]["now"]
    status, clock = await control(emulator, "POST", "clock", {"advance": 86_400})
    assert status == 200 and clock["now"] >= before + 86_400
    desc = await sm.describe_training_job(TrainingJobName="job1")
    assert desc["TrainingJobStatus"] == "Completed"

    status, state = await control(emulator, "GET", "state")
    assert status == 200
    jobs = state["sagemaker"]["jobs"]
    assert jobs["training"]["job1"]["TrainingJobStatus"] == "Completed"
    assert jobs["processing"]["proc1"]["ProcessingJobStatus"] == "Completed"
    assert jobs["transform"]["batch"]["TransformJobStatus"] == "Completed"
    assert len([name for name in jobs["training"] if name.startswith("tune-")]) == 1
    assert state["sagemaker"]["tuning"]["tune"]["status"] == "Completed"
    assert state["sagemaker"]["hosting"]["models"]["model1"]["arn"].endswith(":model/model1")
    assert state["sagemaker"]["tags"][desc["TrainingJobArn"]] == {}
    assert {g["logGroupName"] for g in state["logs"]["logGroups"]} == {
        "/aws/sagemaker/TrainingJobs", "/aws/sagemaker/ProcessingJobs", "/aws/sagemaker/TransformJobs"}

    status, clock = await control(emulator, "POST", "clock", {"scale": 1e-6})
    assert clock["scale"] == 1e-6 and emulator.clock.scale == 1e-6
    stats = (await control(emulator, "GET", "stats"))[1]
    assert stats["calls"]["sagemaker"]["DescribeTrainingJob"] == {"ok": 1}
    assert stats["calls"]["sagemaker"]["CreateTrainingJob"] == {"ok": 1}
    assert stats["total"] == sum(n for ops in stats["calls"].values() for outcomes in ops.values()
                                 for n in outcomes.values())


async def test_update_training_job_profiler(sm: Any, emulator: AwsEmulator) -> None:
    """UpdateTrainingJob's profiler half (the warm-pool half is in test_sagemaker_jobs)."""
    await sm.create_training_job(**training(ProfilerConfig={"S3OutputPath": "s3://bucket/profiler"}))
    assert (await sm.describe_training_job(TrainingJobName="job1"))["ProfilingStatus"] == "Enabled"
    rule = {"RuleConfigurationName": "CPUBottleneck", "RuleEvaluatorImage": IMAGE}
    await sm.update_training_job(TrainingJobName="job1", ProfilerConfig={"DisableProfiler": True},
                                 ProfilerRuleConfigurations=[rule])
    desc = await sm.describe_training_job(TrainingJobName="job1")
    assert desc["ProfilingStatus"] == "Disabled"
    assert desc["ProfilerConfig"] == {"S3OutputPath": "s3://bucket/profiler", "DisableProfiler": True}
    assert [r["RuleEvaluationStatus"] for r in desc["ProfilerRuleEvaluationStatuses"]] == ["InProgress"]
    error = await error_of(sm.update_training_job(TrainingJobName="job1", ProfilerRuleConfigurations=[rule]))
    assert error["Message"] == "Profiler rule configuration CPUBottleneck already exists for training job job1"
    error = await error_of(sm.update_training_job(TrainingJobName="job1"))
    assert error["Message"].startswith("Please provide at least one of ProfilerConfig")
    emulator.advance(86_400)
    error = await error_of(sm.update_training_job(TrainingJobName="job1", ProfilerConfig={"DisableProfiler": False}))
    assert error["Message"].startswith("The request was rejected because the training job is in status Completed.")
    error = await error_of(sm.update_training_job(TrainingJobName="ghost", ProfilerConfig={"DisableProfiler": True}))
    assert error["Message"] == "Requested resource not found."
