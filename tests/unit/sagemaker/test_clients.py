"""Endpoint precedence and the client cache (no server: creating a client makes no calls)."""

from __future__ import annotations

import asyncio

import pytest
from aiobotocore.session import AioSession

from smk8s.sagemaker.clients import ENDPOINT_ENV, USER_AGENT_EXTRA, ClientFactory, ClientSettings, resolve_endpoint

SPEC = "https://spec.example.com"
FLAG = "https://flag.example.com"
ENV = "https://env.example.com"


@pytest.fixture(autouse=True)
def _no_endpoint_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK's own endpoint variables would change "the SDK default"; none may leak in from the environment."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SAGEMAKER", "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", ENDPOINT_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/smk8s-config")


@pytest.mark.parametrize(
    ("spec", "flag", "env", "expected"),
    [
        (SPEC, FLAG, ENV, SPEC),
        (None, FLAG, ENV, FLAG),
        ("", FLAG, ENV, FLAG),
        ("  ", None, ENV, ENV),
        (None, None, ENV, ENV),
        (None, None, None, None),
        (None, None, "", None),
    ],
)
def test_sagemaker_endpoint_precedence(
    spec: str | None, flag: str | None, env: str | None, expected: str | None
) -> None:
    environ = {} if env is None else {ENDPOINT_ENV: env}
    assert resolve_endpoint("sagemaker", spec, flag, environ) == expected


@pytest.mark.parametrize("service", ["logs", "application-autoscaling", "sts"])
def test_other_services_use_the_sdk_default(service: str) -> None:
    assert resolve_endpoint(service, SPEC, FLAG, {ENDPOINT_ENV: ENV}) is None


def _session() -> AioSession:
    session = AioSession()
    session.set_credentials("AKIDEXAMPLE", "secret")
    return session


async def test_clients_are_cached_per_service_region_and_resolved_endpoint() -> None:
    async with ClientFactory(_session(), default_endpoint=FLAG, environ={ENDPOINT_ENV: ENV}) as factory:
        a = await factory.client("sagemaker", "us-west-2")
        assert a.meta.endpoint_url == FLAG
        assert await factory.client("sagemaker", "us-west-2", None) is a
        assert await factory.client("sagemaker", "us-west-2", FLAG) is a  # same resolved endpoint: same client
        b = await factory.client("sagemaker", "us-west-2", SPEC)
        assert b is not a and b.meta.endpoint_url == SPEC
        c = await factory.client("sagemaker", "eu-west-1")
        assert c is not a and c.meta.region_name == "eu-west-1"
        logs = await factory.client("logs", "us-west-2", SPEC)
        assert logs.meta.endpoint_url == "https://logs.us-west-2.amazonaws.com"
        assert factory.cached == {
            ("sagemaker", "us-west-2", FLAG), ("sagemaker", "us-west-2", SPEC), ("sagemaker", "eu-west-1", FLAG),
            ("logs", "us-west-2", None),
        }
    with pytest.raises(RuntimeError):
        await factory.client("sagemaker", "us-west-2")


async def test_environment_endpoint_and_sdk_default() -> None:
    async with ClientFactory(_session(), environ={ENDPOINT_ENV: ENV}) as factory:
        assert (await factory.client("sagemaker", "us-west-2")).meta.endpoint_url == ENV
    async with ClientFactory(_session(), environ={}) as factory:
        client = await factory.client("sagemaker", "us-east-1")
        assert client.meta.endpoint_url == "https://api.sagemaker.us-east-1.amazonaws.com"


async def test_concurrent_first_use_creates_one_client() -> None:
    async with ClientFactory(_session(), environ={}) as factory:
        clients = await asyncio.gather(*(factory.client("sagemaker", "us-west-2") for _ in range(10)))
        assert len({id(c) for c in clients}) == 1


@pytest.mark.parametrize("mode", ["standard", "adaptive"])
async def test_retry_mode_and_user_agent_are_configured_once(mode: str) -> None:
    settings = ClientSettings(retry_mode=mode, max_attempts=5)  # type: ignore[arg-type]
    async with ClientFactory(_session(), environ={}, settings=settings) as factory:
        client = await factory.client("sagemaker", "us-west-2")
        assert client.meta.config.retries == {"mode": mode, "total_max_attempts": 5}
        assert client.meta.config.user_agent_extra == USER_AGENT_EXTRA


def test_invalid_settings() -> None:
    with pytest.raises(ValueError, match="retry mode"):
        ClientSettings(retry_mode="legacy").botocore_config()  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_attempts"):
        ClientSettings(max_attempts=0).botocore_config()
