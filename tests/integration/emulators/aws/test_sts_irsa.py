"""The web-identity (IRSA) credential chain end to end: botocore reads ``AWS_ROLE_ARN`` and
``AWS_WEB_IDENTITY_TOKEN_FILE``, calls AssumeRoleWithWebIdentity on the emulator (found through
``AWS_ENDPOINT_URL_STS`` or ``AWS_ENDPOINT_URL``) and signs every later call with the temporary key, which the
emulator verifies (``verify_signatures``) and records."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiobotocore.session import AioSession
from botocore.config import Config

from smk8s.emulators.aws.server import AwsEmulator
from smk8s.emulators.aws.sts import make_web_identity_token

ROLE_ARN = "arn:aws:iam::123456789012:role/sagemaker-operator"
SUBJECT = "system:serviceaccount:sagemaker-operator-system:controller"


@pytest.fixture
def irsa_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A pod's environment as EKS injects it, and nothing else botocore could take credentials from."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_STS",
        "AWS_ENDPOINT_URL_SAGEMAKER",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    token = tmp_path / "token"
    token.write_text(make_web_identity_token(SUBJECT))
    monkeypatch.setenv("AWS_ROLE_ARN", ROLE_ARN)
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token))
    monkeypatch.setenv("AWS_ROLE_SESSION_NAME", "smk8s-controller")
    return token


@pytest.mark.parametrize("endpoint_variable", ["AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"])
async def test_calls_are_signed_with_the_temporary_credentials(
    irsa_env: Path, monkeypatch: pytest.MonkeyPatch, endpoint_variable: str
) -> None:
    config = Config(retries={"total_max_attempts": 1}, parameter_validation=False)
    async with AwsEmulator(verify_signatures=True, config={"rates": {"*": None}}) as aws:
        monkeypatch.setenv(endpoint_variable, aws.url)
        session = AioSession()
        async with session.create_client("sts", region_name="us-west-2", config=config) as sts:
            identity = await sts.get_caller_identity()
        assert identity["Arn"] == "arn:aws:sts::123456789012:assumed-role/sagemaker-operator/smk8s-controller"

        async with session.create_client(
            "sagemaker", endpoint_url=aws.url, region_name="us-west-2", config=config
        ) as sm:
            listed = await sm.list_training_jobs()  # signed with the temporary key, verified, answered
        assert listed["TrainingJobSummaries"] == []

    issued = [c for c in aws.credentials.keys.values() if c.session_token is not None]
    assert len(issued) == 1 and issued[0].access_key_id.startswith("ASIA")
    assert issued[0].role_arn == ROLE_ARN
    calls = [(c.service, c.operation, c.access_key_id, c.outcome) for c in aws.calls]
    assert calls[0] == ("sts", "AssumeRoleWithWebIdentity", None, "ok")  # unsigned, as the model says
    assert calls[1:] == [
        ("sts", "GetCallerIdentity", issued[0].access_key_id, "ok"),
        ("sagemaker", "ListTrainingJobs", issued[0].access_key_id, "ok"),
    ]


async def test_a_token_that_is_not_a_jwt_fails_the_chain(irsa_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    await asyncio.to_thread(irsa_env.write_text, "opaque-access-token")
    async with AwsEmulator() as aws:
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", aws.url)
        async with AioSession().create_client("sts", region_name="us-west-2") as sts:
            with pytest.raises(Exception, match="InvalidIdentityToken"):
                await sts.get_caller_identity()
