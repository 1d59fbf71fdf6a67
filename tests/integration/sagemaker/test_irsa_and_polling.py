"""IRSA through the client factory, and the poller's call budget with 1,000 running jobs, against the emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiobotocore.session import AioSession
from prometheus_client import CollectorRegistry

from smk8s.clock import FakeClock
from smk8s.emulators.aws.sagemaker.jobs import DURATION_TAG, Durations, create_training_job
from smk8s.emulators.aws.server import AwsEmulator
from smk8s.emulators.aws.sts import make_web_identity_token
from smk8s.sagemaker.api import JobKind, SageMaker
from smk8s.sagemaker.clients import ENDPOINT_ENV, ClientFactory
from smk8s.sagemaker.poller import Poller, PollPolicy
from tests.integration.sagemaker.helpers import REGION, sagemaker_for, training

ROLE_ARN = "arn:aws:iam::123456789012:role/smk8s-operator"
D = Durations()


@pytest.fixture
def irsa_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pod's environment as EKS injects it for IRSA, and no other credentials."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_DEFAULT_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SAGEMAKER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    token = tmp_path / "token"
    token.write_text(make_web_identity_token("system:serviceaccount:smk8s-system:controller"))
    monkeypatch.setenv("AWS_ROLE_ARN", ROLE_ARN)
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token))
    monkeypatch.setenv("AWS_ROLE_SESSION_NAME", "smk8s")


async def test_irsa_chain_signs_every_client_with_one_assumed_role(
    irsa_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with AwsEmulator(time_scale=1e-9, verify_signatures=True, config={"rates": {"*": None}}) as aws:
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", aws.url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", aws.url)
        monkeypatch.setenv(ENDPOINT_ENV, aws.url)  # the original's variable picks the SageMaker endpoint
        factory = ClientFactory(AioSession())  # nothing but the standard chain
        sm = SageMaker(factory, CollectorRegistry())
        async with factory:
            api = sm.at(REGION)
            assert await api.describe_training_job("job1") is None
            await api.create_training_job(training("job1"))
            assert await api.describe_training_job("job1") is not None
            logs = await factory.client("logs", REGION)
            await logs.describe_log_groups()
            other_region = sm.at("eu-west-1")
            assert await other_region.describe_training_job("nope") is None
    issued = [c for c in aws.credentials.keys.values() if c.session_token is not None]
    assert len(issued) == 1 and issued[0].role_arn == ROLE_ARN
    key = issued[0].access_key_id
    calls = [(c.service, c.operation, c.access_key_id) for c in aws.calls]
    assert calls == [
        ("sts", "AssumeRoleWithWebIdentity", None),  # once, for every client
        ("sagemaker", "DescribeTrainingJob", key),
        ("sagemaker", "CreateTrainingJob", key),
        ("sagemaker", "DescribeTrainingJob", key),
        ("logs", "DescribeLogGroups", key),
        ("sagemaker", "DescribeTrainingJob", key),
    ]
    assert all(c.outcome in ("ok", "ValidationException") for c in aws.calls)  # every signature verified


async def _stats(aws: AwsEmulator) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.get(f"{aws.url}/_emulator/stats") as response:
        body: dict[str, Any] = await response.json()
        return body


def _sagemaker_calls(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
    def flat(stats: dict[str, Any]) -> dict[str, int]:
        ops = stats["calls"].get("sagemaker", {})
        return {op: sum(outcomes.values()) for op, outcomes in ops.items()}

    a, b = flat(before), flat(after)
    return {op: b[op] - a.get(op, 0) for op in b if b[op] - a.get(op, 0)}


async def test_a_poll_cycle_for_1000_running_jobs_is_a_handful_of_list_calls() -> None:
    config = {"rates": {"*": None}, "quotas": {"training-jobs-running": 2000}}
    async with AwsEmulator(time_scale=1e-9, config=config) as aws:
        # 1,000 InProgress jobs; ten of them train for 200 s, the rest for a day
        short = {f"job-{i:04d}" for i in range(0, 1000, 100)}
        for i in range(1000):
            name = f"job-{i:04d}"
            duration = "200" if name in short else "86400"
            create_training_job(aws.world, training(name, Tags=[{"Key": DURATION_TAG, "Value": duration}]))
        training_starts = D.launching + D.preparing + D.downloading
        aws.advance(training_starts + 50)  # every job is Training now; none changes for the next 150 s

        registry = CollectorRegistry()
        sm = sagemaker_for(aws, registry)
        clock = FakeClock(start=0.0)
        poller = Poller(sm, clock, PollPolicy(interval=30.0, margin=60.0, resync=None))
        async with sm.clients:
            api = sm.at(REGION)
            # the controllers' own Describes after start-up, taken here from one List scan
            token: str | None = None
            while True:
                page = await api.list_jobs_page(JobKind.TRAINING, next_token=token)
                for summary in page.summaries:
                    poller.track(JobKind.TRAINING, REGION, None, {
                        "TrainingJobName": summary.name, "TrainingJobStatus": summary.status,
                        "LastModifiedTime": summary.last_modified})
                token = page.next_token
                if token is None:
                    break
            assert len(poller.core.tracked()) == 1000

            async def cycle() -> tuple[set[str], dict[str, int]]:
                before = await _stats(aws)
                clock.advance(30.0)
                changes = await poller.poll_once()
                after = await _stats(aws)
                return {c.ref.name for c in changes}, _sagemaker_calls(before, after)

            # first cycle: the window reaches back to the oldest observation, so every job is listed once
            changed, calls = await cycle()
            assert changed == set()
            assert calls == {"ListTrainingJobs": 10}  # 1,000 entries in pages of 100; not 1,000 Describes

            aws.advance(150 + D.uploading + 10)  # the ten short jobs complete
            changed, calls = await cycle()
            assert changed == short
            assert calls == {"ListTrainingJobs": 10}

            # steady state: only jobs modified within the margin of the newest change are listed again
            changed, calls = await cycle()
            assert changed == set()
            assert calls == {"ListTrainingJobs": 1}
