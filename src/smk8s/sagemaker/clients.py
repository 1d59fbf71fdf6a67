"""AWS clients for the manager: one aiobotocore client per (service, region, endpoint), kept for the manager's life.

Credentials come from the standard AWS chain of one :class:`aiobotocore.session.AioSession` (environment, shared
files, web identity -- so IRSA's ``AWS_ROLE_ARN`` + ``AWS_WEB_IDENTITY_TOKEN_FILE`` work --, container and instance
metadata); every client shares the session's refreshable credentials, so the web identity is assumed once, not per
client.

Retries are aiobotocore's own (``standard`` by default, ``adaptive`` on request), configured once in the
:class:`botocore.config.Config` every client is created with. ``standard`` is the default: ``adaptive`` adds a
client-side token bucket that sleeps *inside* calls once throttled, holding reconcile workers while the workqueue
could be doing other objects; the operator already spaces its calls (the poller, per-object back-off with
:class:`~smk8s.sagemaker.errors.ThrottledError`'s ``suggested_delay``).

Endpoint precedence, for the ``sagemaker`` service only (as the original operator): ``spec.sageMakerEndpoint`` >
manager flag ``--sagemaker-endpoint`` > environment ``AWS_DEFAULT_SAGEMAKER_ENDPOINT`` > the SDK's default (which
itself honours ``AWS_ENDPOINT_URL_SAGEMAKER`` / ``AWS_ENDPOINT_URL``). Other services (``logs``,
``application-autoscaling``, ``sts``) always use the SDK's default resolution.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

from aiobotocore.session import AioSession
from botocore.config import Config

from smk8s import __version__

SAGEMAKER = "sagemaker"
ENDPOINT_ENV = "AWS_DEFAULT_SAGEMAKER_ENDPOINT"
USER_AGENT_EXTRA = f"sagemaker-on-kubernetes smk8s/{__version__}"
RetryMode = Literal["standard", "adaptive"]


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def resolve_endpoint(
    service: str,
    spec_endpoint: str | None = None,
    flag_endpoint: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> str | None:
    """The endpoint URL a client for ``service`` uses; None means the SDK's default (module docstring)."""
    if service != SAGEMAKER:
        return None
    env = os.environ if environ is None else environ
    for candidate in (spec_endpoint, flag_endpoint, env.get(ENDPOINT_ENV)):
        cleaned = _clean(candidate)
        if cleaned is not None:
            return cleaned
    return None


@dataclass(frozen=True)
class ClientSettings:
    """How every client is configured (once, for the manager's life)."""

    retry_mode: RetryMode = "standard"
    max_attempts: int = 3  # total attempts, the first included (botocore's ``total_max_attempts``)
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_pool_connections: int = 32

    def botocore_config(self) -> Config:
        if self.retry_mode not in ("standard", "adaptive"):
            raise ValueError(f"retry mode must be 'standard' or 'adaptive', not {self.retry_mode!r}")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        return Config(
            retries={"mode": self.retry_mode, "total_max_attempts": self.max_attempts},
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            max_pool_connections=self.max_pool_connections,
            user_agent_extra=USER_AGENT_EXTRA,
        )


ClientKey = tuple[str, str | None, str | None]


class ClientFactory:
    """Creates and caches clients; close it (``async with`` or :meth:`close`) when the manager stops.

    ``default_endpoint`` is the manager's ``--sagemaker-endpoint``; ``environ`` is read for
    ``AWS_DEFAULT_SAGEMAKER_ENDPOINT`` (default: the process environment, read when a client is asked for).
    ``region`` None means the chain's default region (``AWS_REGION`` / ``AWS_DEFAULT_REGION`` / config file).
    """

    def __init__(
        self,
        session: AioSession | None = None,
        *,
        default_endpoint: str | None = None,
        environ: Mapping[str, str] | None = None,
        settings: ClientSettings | None = None,
    ) -> None:
        self.session = session if session is not None else AioSession()
        self.default_endpoint = _clean(default_endpoint)
        self._environ = environ
        self.settings = settings or ClientSettings()
        self._config = self.settings.botocore_config()
        self._stack = AsyncExitStack()
        self._clients: dict[ClientKey, Any] = {}
        self._lock = asyncio.Lock()
        self._closed = False

    def endpoint_for(self, service: str, spec_endpoint: str | None = None) -> str | None:
        return resolve_endpoint(service, spec_endpoint, self.default_endpoint, self._environ)

    def key(self, service: str, region: str | None, spec_endpoint: str | None = None) -> ClientKey:
        return (service, region, self.endpoint_for(service, spec_endpoint))

    async def client(self, service: str, region: str | None, spec_endpoint: str | None = None) -> Any:
        """The cached client for ``service`` in ``region`` at the resolved endpoint (created on first use)."""
        key = self.key(service, region, spec_endpoint)
        client = self._clients.get(key)
        if client is not None:
            return client
        async with self._lock:
            if self._closed:
                raise RuntimeError("the client factory is closed")
            client = self._clients.get(key)
            if client is None:
                _, region_name, endpoint_url = key
                kwargs: dict[str, Any] = {"config": self._config}
                if region_name is not None:
                    kwargs["region_name"] = region_name
                if endpoint_url is not None:
                    kwargs["endpoint_url"] = endpoint_url
                client = await self._stack.enter_async_context(self.session.create_client(service, **kwargs))
                self._clients[key] = client
            return client

    @property
    def cached(self) -> frozenset[ClientKey]:
        return frozenset(self._clients)

    async def close(self) -> None:
        async with self._lock:
            self._closed = True
            self._clients.clear()
            await self._stack.aclose()

    async def __aenter__(self) -> ClientFactory:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
