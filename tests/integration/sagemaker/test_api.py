"""The facade against the AWS emulator over HTTP: real calls, classified errors, metrics and logs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from botocore.retries.standard import ExponentialBackoff
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from smk8s.emulators.aws.errors import AwsError
from smk8s.emulators.aws.sagemaker.jobs import Durations
from smk8s.emulators.aws.server import AwsEmulator
from smk8s.sagemaker.api import JobKind, SageMaker, SageMakerApi
from smk8s.sagemaker.clients import ClientSettings
from smk8s.sagemaker.errors import (
    AccessDeniedError,
    AlreadyExistsError,
    NotFoundError,
    Principal,
    RetryableError,
    TerminalError,
    ThrottledError,
)
from tests.integration.sagemaker.helpers import (
    REGION,
    ROLE,
    processing,
    requests,
    sagemaker_for,
    training,
    transform,
    tuning,
)

D = Durations()


@pytest.fixture
async def emulator() -> AsyncIterator[AwsEmulator]:
    """The emulator with its clock standing still unless advanced, throttling off."""
    async with AwsEmulator(time_scale=1e-9, config={"rates": {"*": None}}) as aws:
        yield aws


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
async def sagemaker(emulator: AwsEmulator, registry: CollectorRegistry) -> AsyncIterator[SageMaker]:
    sm = sagemaker_for(emulator, registry)
    async with sm.clients:
        yield sm


@pytest.fixture
def api(sagemaker: SageMaker) -> SageMakerApi:
    return sagemaker.at(REGION)


@pytest.fixture
def no_backoff_sleep(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """aiobotocore's retries still run (the emulator counts every attempt); only their jittered waits are zero."""
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0.0)
    yield


async def test_training_lifecycle(emulator: AwsEmulator, api: SageMakerApi, registry: CollectorRegistry) -> None:
    assert await api.describe_training_job("job1") is None
    arn = await api.create_training_job(training("job1"))
    assert arn == "arn:aws:sagemaker:us-west-2:123456789012:training-job/job1"
    desc = await api.describe_training_job("job1")
    assert desc is not None and desc["TrainingJobStatus"] == "InProgress"
    with pytest.raises(AlreadyExistsError) as conflict:
        await api.create_training_job(training("job1"))
    assert conflict.value.code == "ResourceInUse" and not conflict.value.retryable
    emulator.advance(D.launching + D.preparing + D.downloading + 10)
    assert await api.stop_training_job("job1") is True
    assert await api.stop_training_job("job1") is False  # already Stopping
    emulator.advance(D.stopping)
    desc = await api.describe(JobKind.TRAINING, "job1")
    assert desc is not None and desc["TrainingJobStatus"] == "Stopped"
    assert await api.stop_training_job("job1") is False  # finished: nothing to stop
    assert requests(registry, "DescribeTrainingJob", "not_found") == 1
    assert requests(registry, "DescribeTrainingJob", "success") == 2
    assert requests(registry, "CreateTrainingJob", "success") == 1
    assert requests(registry, "CreateTrainingJob", "already_exists") == 1
    assert requests(registry, "StopTrainingJob", "success") == 1
    assert requests(registry, "StopTrainingJob", "terminal") == 2


async def test_every_kind_and_not_found_per_api(emulator: AwsEmulator, api: SageMakerApi) -> None:
    await api.call("CreateModel", "model1", ModelName="model1", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "i"})
    await api.create_processing_job(processing("p1"))
    await api.create_transform_job(transform("t1"))
    await api.create_hyper_parameter_tuning_job(tuning("h1"))
    for kind, name in ((JobKind.PROCESSING, "p1"), (JobKind.TRANSFORM, "t1"), (JobKind.TUNING, "h1")):
        desc = await api.describe(kind, name)
        assert desc is not None and desc[kind.status_member] == "InProgress"
    # each API says "absent" its own way; all of them become None / NotFoundError
    assert await api.describe_training_job("nope") is None
    assert await api.describe_processing_job("nope") is None
    assert await api.describe_transform_job("nope") is None
    assert await api.describe_hyper_parameter_tuning_job("nope") is None
    for stop in (api.stop_training_job, api.stop_processing_job, api.stop_transform_job,
                 api.stop_hyper_parameter_tuning_job):
        with pytest.raises(NotFoundError):
            await stop("nope")
    with pytest.raises(NotFoundError):
        await api.update_training_job({"TrainingJobName": "nope", "ResourceConfig": {"KeepAlivePeriodInSeconds": 60}})
    with pytest.raises(NotFoundError):
        await api.list_training_jobs_for_tuning_job("nope")
    with pytest.raises(NotFoundError):
        await api.list_tags("arn:aws:sagemaker:us-west-2:123456789012:training-job/nope")
    with pytest.raises(NotFoundError):
        await api.call("DescribeModel", "nope", ModelName="nope")
    # ...while a missing model named by a Create is a dependency that may still appear
    with pytest.raises(RetryableError) as dependency:
        await api.create_transform_job(transform("t2", model="not-yet"))
    assert dependency.value.message.startswith("Could not find model")
    assert await api.stop_processing_job("p1") and await api.stop_transform_job("t1")
    assert await api.stop_hyper_parameter_tuning_job("h1")


async def test_tuning_children_are_listed_in_one_paged_call_chain(emulator: AwsEmulator, api: SageMakerApi) -> None:
    await api.create_hyper_parameter_tuning_job(tuning("h1"))
    emulator.advance(1)
    children = await api.list_training_jobs_for_tuning_job("h1")
    assert len(children) == 2 and all(c["TrainingJobName"].startswith("h1-") for c in children)


async def test_tags_and_update(emulator: AwsEmulator, api: SageMakerApi) -> None:
    arn = await api.create_training_job(training("job1", ResourceConfig={
        "InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10, "KeepAlivePeriodInSeconds": 60}))
    await api.add_tags(arn, {"a": "1", "b": "2"})
    assert await api.list_tags(arn) == {"a": "1", "b": "2"}
    await api.delete_tags(arn, ["a"])
    await api.add_tags(arn, {})
    await api.delete_tags(arn, [])
    assert await api.list_tags(arn) == {"b": "2"}
    with pytest.raises(TerminalError):
        await api.add_tags(arn, {f"k{i}": "v" for i in range(60)})  # the 50-tag limit never clears
    emulator.advance(D.launching + D.preparing + D.downloading + 10)
    assert await api.update_training_job({"TrainingJobName": "job1",
                                          "ResourceConfig": {"KeepAlivePeriodInSeconds": 120}}) == arn


async def test_concurrency_quota_is_retryable(emulator: AwsEmulator, api: SageMakerApi) -> None:
    emulator.world.quotas.set("training-jobs-running", 1)
    await api.create_training_job(training("a"))
    with pytest.raises(RetryableError) as caught:
        await api.create_training_job(training("b"))
    assert caught.value.code == "ResourceLimitExceeded" and caught.value.suggested_delay == 60.0
    emulator.world.quotas.set("training-jobs-per-tuning-job", 1)
    with pytest.raises(TerminalError):
        await api.create_hyper_parameter_tuning_job(tuning("h"))  # asks 2 where 1 is the most: never clears


async def test_throttling_surfaces_after_aiobotocores_retries(
    emulator: AwsEmulator, sagemaker: SageMaker, registry: CollectorRegistry, no_backoff_sleep: None
) -> None:
    api = sagemaker.at(REGION)
    emulator.set_quotas(rates={"sagemaker:DescribeTrainingJob": {"rate": 0, "burst": 1}})
    assert await api.describe_training_job("a") is None  # the only token
    with pytest.raises(ThrottledError) as caught:
        await api.describe_training_job("a")
    # standard mode: 3 attempts, i.e. 2 retries, then the error with a delay that grew with them
    assert caught.value.retry_attempts == 2 and caught.value.suggested_delay == 8.0
    outcomes = emulator.stats()["calls"]["sagemaker"]["DescribeTrainingJob"]
    assert outcomes == {"ThrottlingException": 3, "ValidationException": 1}  # 1 not-found, then 3 throttled tries
    assert requests(registry, "DescribeTrainingJob", "throttled") == 1


async def test_retry_attempts_follow_the_configured_setting(
    emulator: AwsEmulator, registry: CollectorRegistry, no_backoff_sleep: None
) -> None:
    sm = sagemaker_for(emulator, registry, settings=ClientSettings(max_attempts=5))
    async with sm.clients:
        emulator.set_faults([{"services": ["sagemaker"], "operations": ["DescribeTrainingJob"], "throttle": 1.0}])
        with pytest.raises(ThrottledError) as caught:
            await sm.at(REGION).describe_training_job("a")
    assert caught.value.retry_attempts == 4
    assert emulator.stats()["calls"]["sagemaker"]["DescribeTrainingJob"] == {"ThrottlingException": 5}


async def test_5xx_and_dropped_connections_are_retryable(
    emulator: AwsEmulator, api: SageMakerApi, registry: CollectorRegistry, no_backoff_sleep: None
) -> None:
    emulator.set_faults([{"services": ["sagemaker"], "operations": ["DescribeTrainingJob"], "internal_failure": 1.0}])
    with pytest.raises(RetryableError) as caught:
        await api.describe_training_job("a")
    assert type(caught.value) is RetryableError and caught.value.http_status == 500
    assert emulator.stats()["calls"]["sagemaker"]["DescribeTrainingJob"] == {"InternalFailure": 3}
    emulator.set_faults([{"services": ["sagemaker"], "operations": ["ListTrainingJobs"], "drop": 1.0}])
    with pytest.raises(RetryableError):
        await api.list_jobs_page(JobKind.TRAINING)
    emulator.set_faults([{"services": ["sagemaker"], "operations": ["DescribeTrainingJob"],
                          "service_unavailable": 1.0, "times": 2}])
    assert await api.describe_training_job("a") is None  # two 503s absorbed by aiobotocore's retries
    assert emulator.stats()["calls"]["sagemaker"]["DescribeTrainingJob"]["ServiceUnavailable"] == 2
    assert requests(registry, "DescribeTrainingJob", "retryable") == 1
    assert requests(registry, "ListTrainingJobs", "retryable") == 1


def _raising(code: str, message: str) -> Any:
    def handler(world: Any, params: Any) -> Any:
        raise AwsError(code, message)
    return handler


async def test_access_denied_names_whose_role(emulator: AwsEmulator, api: SageMakerApi) -> None:
    ops = emulator.operations["sagemaker"]
    ops["CreateTrainingJob"] = _raising(
        "AccessDeniedException",
        "User: arn:aws:sts::123456789012:assumed-role/smk8s/s is not authorized to perform: "
        "sagemaker:CreateTrainingJob on resource: arn:aws:sagemaker:us-west-2:123456789012:training-job/a")
    with pytest.raises(AccessDeniedError) as operator:
        await api.create_training_job(training("a"))
    assert operator.value.principal is Principal.OPERATOR
    ops["CreateTrainingJob"] = _raising(
        "ValidationException",
        f"Could not assume role {ROLE}. Please ensure that the role exists and allows principal "
        "'sagemaker.amazonaws.com' to assume the role.")
    with pytest.raises(AccessDeniedError) as job_role:
        await api.create_training_job(training("a"))
    assert (job_role.value.principal, job_role.value.role_arn) == (Principal.JOB_ROLE, ROLE)


async def test_every_call_is_logged(emulator: AwsEmulator, api: SageMakerApi) -> None:
    with capture_logs() as logs:
        await api.create_training_job(training("job1"))
        await api.describe_training_job("missing")
        with pytest.raises(AlreadyExistsError):
            await api.create_training_job(training("job1"))
    calls = [entry for entry in logs if entry["event"] == "sagemaker call"]
    assert [(c["operation"], c["job"], c["region"], c["endpoint"], c["outcome"]) for c in calls] == [
        ("CreateTrainingJob", "job1", REGION, emulator.url, "success"),
        ("DescribeTrainingJob", "missing", REGION, emulator.url, "not_found"),
        ("CreateTrainingJob", "job1", REGION, emulator.url, "already_exists"),
    ]
    assert all(c["latency_seconds"] >= 0 for c in calls)
    assert calls[2]["code"] == "ResourceInUse" and calls[2]["log_level"] == "warning"


async def test_spec_endpoint_wins_over_the_flag(
    emulator: AwsEmulator, sagemaker: SageMaker, no_backoff_sleep: None
) -> None:
    api = sagemaker.at(REGION, "http://127.0.0.1:9")  # nothing listens there
    assert api.resolved_endpoint == "http://127.0.0.1:9"
    with pytest.raises(RetryableError):
        await api.describe_training_job("a")
    assert emulator.stats()["total"] == 0
