"""Training, processing and transform jobs and tags through aiobotocore, as the operator sees them over the wire.

Lifecycles are driven by advancing the emulator's virtual clock (``aws.advance``), except the time-scale test, which
shows a default-length training job completing in well under a second of wall time.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from smk8s.emulators.aws.sagemaker.jobs import FAILURE_REASON_TAG, OUTCOME_TAG, Durations
from smk8s.emulators.aws.server import AwsEmulator

ROLE = "arn:aws:iam::123456789012:role/sm"
D = Durations()
# A default training job ends this long after its creation (module docstring of jobs.py).
DONE_AT_DEFAULT_SECONDS = D.launching + D.preparing + D.downloading + D.training + D.uploading


@pytest.fixture
async def emulator() -> AsyncIterator[AwsEmulator]:
    """An emulator whose clock stands still unless advanced (a tiny scale), throttling off."""
    async with AwsEmulator(time_scale=1e-9, config={"rates": {"*": None}}) as aws:
        yield aws


@pytest.fixture
async def sm(emulator: AwsEmulator) -> AsyncIterator[Any]:
    async with get_session().create_client("sagemaker", **emulator.client_kwargs()) as client:
        yield client


def training(name: str = "job1", **extra: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "TrainingJobName": name,
        "RoleArn": ROLE,
        "AlgorithmSpecification": {"TrainingImage": "123456789012.dkr.ecr.us-west-2.amazonaws.com/algo:1",
                                   "TrainingInputMode": "File"},
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }
    request.update(extra)
    return request


async def error_of(awaitable: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        await awaitable
    return {**caught.value.response["Error"], "Status": caught.value.response["ResponseMetadata"]["HTTPStatusCode"]}


async def test_training_job_completes_in_under_a_second_with_its_logs_readable() -> None:
    async with AwsEmulator(time_scale=10_000.0, config={"rates": {"*": None}}) as aws:
        session = get_session()
        async with session.create_client("sagemaker", **aws.client_kwargs()) as sm, \
                session.create_client("logs", **aws.client_kwargs()) as logs:
            started = time.monotonic()
            await sm.create_training_job(**training())
            seen = []
            while (desc := await sm.describe_training_job(TrainingJobName="job1"))["TrainingJobStatus"] != "Completed":
                seen.append(desc["TrainingJobStatus"])
                assert time.monotonic() - started < 1.0
            assert seen and set(seen) == {"InProgress"}
            assert desc["ModelArtifacts"]["S3ModelArtifacts"] == "s3://bucket/output/job1/output/model.tar.gz"
            assert [m["MetricName"] for m in desc["FinalMetricDataList"]] == ["train:loss"]
            paginator = logs.get_paginator("filter_log_events")
            messages = [e["message"] async for page in paginator.paginate(
                logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix="job1/")
                for e in page["events"]]
            assert messages[0].startswith("Starting training job job1 on algo-1")
            assert messages[-1] == "Reporting training SUCCESS"


async def test_stop_turns_stopping_then_stopped(emulator: AwsEmulator, sm: Any) -> None:
    await sm.create_training_job(**training())
    emulator.advance(D.launching + D.preparing + D.downloading + 60)
    await sm.stop_training_job(TrainingJobName="job1")
    desc = await sm.describe_training_job(TrainingJobName="job1")
    assert (desc["TrainingJobStatus"], desc["SecondaryStatus"]) == ("Stopping", "Stopping")
    emulator.advance(D.stopping)
    desc = await sm.describe_training_job(TrainingJobName="job1")
    assert (desc["TrainingJobStatus"], desc["SecondaryStatus"]) == ("Stopped", "Stopped")
    assert "ModelArtifacts" in desc
    error = await error_of(sm.stop_training_job(TrainingJobName="job1"))
    assert (error["Code"], error["Message"], error["Status"]) == (
        "ValidationException", "The request was rejected because the training job is in status Stopped.", 400)


async def test_errors_are_the_modelled_exceptions(emulator: AwsEmulator, sm: Any) -> None:
    await sm.create_training_job(**training())
    with pytest.raises(sm.exceptions.ResourceInUse) as in_use:
        await sm.create_training_job(**training())
    assert in_use.value.response["Error"]["Message"].startswith("Training job names must be unique")
    error = await error_of(sm.describe_training_job(TrainingJobName="missing"))
    assert (error["Code"], error["Message"]) == ("ValidationException", "Requested resource not found.")
    error = await error_of(sm.describe_processing_job(ProcessingJobName="missing"))
    assert (error["Code"], error["Message"]) == (
        "ValidationException", "Could not find requested job with name missing")
    emulator.world.quotas.set("training-jobs-running", 1)
    with pytest.raises(sm.exceptions.ResourceLimitExceeded):
        await sm.create_training_job(**training("job2"))


async def test_failed_outcome_tag(emulator: AwsEmulator, sm: Any) -> None:
    tags = [{"Key": OUTCOME_TAG, "Value": "Failed"}, {"Key": FAILURE_REASON_TAG, "Value": "AlgorithmError: OOM"}]
    await sm.create_training_job(**training(Tags=tags))
    emulator.advance(DONE_AT_DEFAULT_SECONDS)
    desc = await sm.describe_training_job(TrainingJobName="job1")
    assert (desc["TrainingJobStatus"], desc["FailureReason"]) == ("Failed", "AlgorithmError: OOM")
    listed = await sm.list_tags(ResourceArn=desc["TrainingJobArn"])
    assert listed["Tags"] == tags


async def test_list_paging_with_the_botocore_paginator(emulator: AwsEmulator, sm: Any) -> None:
    for i in range(7):
        outcome = "Failed" if i % 2 else "Completed"
        await sm.create_training_job(**training(f"job-{i}", Tags=[{"Key": OUTCOME_TAG, "Value": outcome}]))
        emulator.advance(1)
    emulator.advance(DONE_AT_DEFAULT_SECONDS)
    paginator = sm.get_paginator("list_training_jobs")
    pages = [page async for page in paginator.paginate(StatusEquals="Failed", SortOrder="Descending",
                                                       PaginationConfig={"PageSize": 2})]
    assert [[s["TrainingJobName"] for s in p["TrainingJobSummaries"]] for p in pages] == [
        ["job-5"], ["job-3"], ["job-1"], []]
    every = [s["TrainingJobName"] async for page in paginator.paginate(PaginationConfig={"PageSize": 3})
             for s in page["TrainingJobSummaries"]]
    assert every == [f"job-{i}" for i in range(7)]
    error = await error_of(sm.list_training_jobs(NextToken="bogus"))
    assert (error["Code"], error["Message"]) == ("ValidationException", "Invalid pagination token")


async def test_update_training_job_warm_pool(emulator: AwsEmulator, sm: Any) -> None:
    resources = {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10,
                 "KeepAlivePeriodInSeconds": 300}
    await sm.create_training_job(**training(ResourceConfig=resources))
    emulator.advance(DONE_AT_DEFAULT_SECONDS)
    assert (await sm.describe_training_job(TrainingJobName="job1"))["WarmPoolStatus"] == {"Status": "Available"}
    await sm.update_training_job(TrainingJobName="job1", ResourceConfig={"KeepAlivePeriodInSeconds": 900})
    emulator.advance(600)
    warm = (await sm.list_training_jobs(WarmPoolStatusEquals="Available"))["TrainingJobSummaries"]
    assert [s["TrainingJobName"] for s in warm] == ["job1"]
    emulator.advance(300)
    desc = await sm.describe_training_job(TrainingJobName="job1")
    assert desc["WarmPoolStatus"] == {"Status": "Terminated", "ResourceRetainedBillableTimeInSeconds": 900}


async def test_processing_job_round_trip(emulator: AwsEmulator, sm: Any) -> None:
    await sm.create_processing_job(
        ProcessingJobName="proc1", RoleArn=ROLE, AppSpecification={"ImageUri": "img:1"},
        ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge",
                                               "VolumeSizeInGB": 30}})
    assert (await sm.describe_processing_job(ProcessingJobName="proc1"))["ProcessingJobStatus"] == "InProgress"
    emulator.advance(D.processing_starting + D.processing)
    desc = await sm.describe_processing_job(ProcessingJobName="proc1")
    assert desc["ProcessingJobStatus"] == "Completed" and "ProcessingEndTime" in desc
    summaries = (await sm.list_processing_jobs(StatusEquals="Completed"))["ProcessingJobSummaries"]
    assert [s["ProcessingJobName"] for s in summaries] == ["proc1"]


async def test_transform_job_round_trip(emulator: AwsEmulator, sm: Any) -> None:
    await sm.create_model(ModelName="model1", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "img:1"})
    request = {"TransformJobName": "tr1", "ModelName": "model1",
               "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in"}}},
               "TransformOutput": {"S3OutputPath": "s3://b/out"},
               "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1}}
    await sm.create_transform_job(**request)
    await sm.stop_transform_job(TransformJobName="tr1")
    assert (await sm.describe_transform_job(TransformJobName="tr1"))["TransformJobStatus"] == "Stopping"
    emulator.advance(D.transform_stopping)
    assert (await sm.describe_transform_job(TransformJobName="tr1"))["TransformJobStatus"] == "Stopped"
    error = await error_of(sm.create_transform_job(**{**request, "TransformJobName": "tr2", "ModelName": "nope"}))
    assert error["Message"].startswith('Could not find model "arn:aws:sagemaker:us-west-2:123456789012:model/nope"')


async def test_tags_on_any_known_arn(emulator: AwsEmulator, sm: Any) -> None:
    arn = (await sm.create_training_job(**training()))["TrainingJobArn"]
    await sm.add_tags(ResourceArn=arn, Tags=[{"Key": "team", "Value": "ml"}])
    await sm.delete_tags(ResourceArn=arn, TagKeys=["nope"])
    assert (await sm.list_tags(ResourceArn=arn))["Tags"] == [{"Key": "team", "Value": "ml"}]
    await sm.delete_tags(ResourceArn=arn, TagKeys=["team"])
    assert (await sm.list_tags(ResourceArn=arn))["Tags"] == []
    unknown = arn.replace("job1", "ghost")
    error = await error_of(sm.list_tags(ResourceArn=unknown))
    assert error["Code"] == "ValidationException" and unknown in error["Message"]
