"""The API client every component shares: configuration loading, 429/503 retries and request metrics.

:func:`load_api_client` resolves a configuration as controller-runtime's ``GetConfig`` does (an explicit kubeconfig,
then ``$KUBECONFIG``, then the in-cluster service account unless a context was asked for, then
``~/.kube/config``) and returns a :class:`RetryingApiClient`: a kubernetes_asyncio ``ApiClient`` that

- retries a request the server answered 429 or 503, after the ``Retry-After`` delay it gave (whole seconds, as
  client-go reads it; 1 s when absent or unreadable), capped at ``RetryPolicy.max_delay``, at most
  ``RetryPolicy.max_retries`` times (client-go: 10), then hands the last answer to the caller as usual;
- counts every attempt in ``rest_client_requests_total{code,method,host}`` (``code`` is the HTTP status, or
  ``<error>`` when no answer came, as client-go labels it).

The retry waits on the injected :class:`~smk8s.clock.Clock`. Any verb is retried: a 429/503 with ``Retry-After``
means the server did not process the request (client-go retries every verb on such answers).

:func:`request_json` is the raw-dict request helper the rest of :mod:`smk8s.kube` and the lease lock use, so that
no generated model ever parses (and chokes on) an object.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from kubernetes_asyncio import client as _k8s_client
from kubernetes_asyncio import config as _k8s_config
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.config.incluster_config import InClusterConfigLoader
from prometheus_client import CollectorRegistry, Counter

from smk8s.clock import Clock, RealClock

k8s_client: Any = _k8s_client  # kubernetes_asyncio is untyped
k8s_config: Any = _k8s_config

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
DEFAULT_KUBECONFIG = Path("~/.kube/config")
USER_AGENT = "smk8s-manager"
RETRIED_STATUSES = frozenset({429, 503})


class ConfigError(Exception):
    """No usable configuration: no kubeconfig was found and the process is not running in a cluster."""


@dataclass(frozen=True)
class RetryPolicy:
    """How throttled (429) and unavailable (503) answers are retried."""

    max_retries: int = 10
    max_delay: float = 10.0
    """Cap on one wait, whatever ``Retry-After`` says."""
    default_delay: float = 1.0
    """The wait when the answer carries no readable ``Retry-After``."""

    def delay(self, retry_after: str | None) -> float:
        seconds = self.default_delay
        if retry_after is not None:
            try:
                seconds = float(int(retry_after.strip()))
            except ValueError:
                seconds = self.default_delay
        return min(max(seconds, 0.0), self.max_delay)


class RestClientMetrics:
    """``rest_client_requests_total{code,method,host}``, registered in ``registry`` (none: kept unregistered)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.requests = Counter(
            "rest_client_requests_total",
            "Number of HTTP requests, partitioned by status code, method, and host.",
            ["code", "method", "host"],
            registry=registry,
        )

    def observe(self, code: int | None, method: str, url: str) -> None:
        self.requests.labels(code="<error>" if code is None else str(code), method=method, host=_host(url)).inc()


def _host(url: str) -> str:
    return urlsplit(url).netloc


class RetryingApiClient(k8s_client.ApiClient):  # type: ignore[misc]
    """A kubernetes_asyncio ``ApiClient`` that retries 429/503 answers and counts requests (module docstring).

    Every generated API class and :func:`request_json` go through :meth:`request`, so all of them get both.
    """

    def __init__(
        self,
        configuration: Any,
        *,
        clock: Clock | None = None,
        metrics: RestClientMetrics | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(configuration)
        self.clock: Clock = clock or RealClock()
        self.metrics = metrics or RestClientMetrics()
        self.retry = retry or RetryPolicy()
        self.user_agent = USER_AGENT

    async def request(
        self,
        method: str,
        url: str,
        query_params: Any = None,
        headers: Any = None,
        post_params: Any = None,
        body: Any = None,
        _preload_content: bool = True,
        _request_timeout: Any = None,
    ) -> Any:
        attempt = 0
        while True:
            try:
                response = await super().request(
                    method,
                    url,
                    query_params=query_params,
                    headers=dict(headers or {}),  # the REST client adds Content-Type to the dict it is given
                    post_params=post_params,
                    body=body,
                    _preload_content=_preload_content,
                    _request_timeout=_request_timeout,
                )
            except ApiException as exc:
                self.metrics.observe(exc.status, method, url)
                if exc.status not in RETRIED_STATUSES or attempt >= self.retry.max_retries:
                    raise
                answer_headers: Any = exc.headers or {}
                retry_after = answer_headers.get("Retry-After")
            except (aiohttp.ClientError, TimeoutError):
                self.metrics.observe(None, method, url)
                raise
            else:
                status = int(response.status)
                self.metrics.observe(status, method, url)
                # Unpreloaded (streaming) answers are not checked by the REST client: retry them here as well.
                if _preload_content or status not in RETRIED_STATUSES or attempt >= self.retry.max_retries:
                    return response
                retry_after = response.headers.get("Retry-After")
                response.release()
            attempt += 1
            await self.clock.sleep(self.retry.delay(retry_after))


async def load_api_client(
    kubeconfig: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    context: str | None = None,
    *,
    clock: Clock | None = None,
    registry: CollectorRegistry | None = None,
    retry: RetryPolicy | None = None,
    service_account_dir: Path = SERVICE_ACCOUNT_DIR,
    environ: Mapping[str, str] | None = None,
) -> RetryingApiClient:
    """A :class:`RetryingApiClient` for the first configuration found (module docstring for the order).

    ``kubeconfig`` is a path (``$KUBECONFIG`` may list several, joined by ``:``) or an already parsed kubeconfig.
    ``registry`` receives ``rest_client_requests_total``. ``service_account_dir`` and ``environ`` (default
    ``os.environ``) say where the in-cluster token, CA and ``KUBERNETES_SERVICE_HOST/PORT`` come from.
    Raises :class:`ConfigError` when nothing applies. The caller closes the client (``await api.close()``).
    """
    env = os.environ if environ is None else environ
    configuration = k8s_client.Configuration()
    if isinstance(kubeconfig, Mapping):
        await k8s_config.load_kube_config_from_dict(
            dict(kubeconfig), context=context, client_configuration=configuration
        )
    elif kubeconfig is not None or env.get("KUBECONFIG"):
        path = os.fspath(kubeconfig) if kubeconfig is not None else env["KUBECONFIG"]
        await _load_kubeconfig_file(path, context, configuration)
    elif context is None and _in_cluster_available(env):
        load_in_cluster_config(configuration, service_account_dir=service_account_dir, environ=env)
    elif (home_config := _default_kubeconfig()) is not None:
        await _load_kubeconfig_file(home_config, context, configuration)
    else:
        raise ConfigError(
            "no configuration: pass --kubeconfig, set KUBECONFIG, run in a cluster, or create ~/.kube/config"
        )
    return RetryingApiClient(configuration, clock=clock, metrics=RestClientMetrics(registry), retry=retry)


async def _load_kubeconfig_file(path: str, context: str | None, configuration: Any) -> None:
    await k8s_config.load_kube_config(
        config_file=path, context=context, client_configuration=configuration, persist_config=False
    )


def _default_kubeconfig() -> str | None:
    path = DEFAULT_KUBECONFIG.expanduser()
    return str(path) if path.is_file() else None


def _in_cluster_available(env: Mapping[str, str]) -> bool:
    return bool(env.get("KUBERNETES_SERVICE_HOST")) and bool(env.get("KUBERNETES_SERVICE_PORT"))


def load_in_cluster_config(
    configuration: Any, *, service_account_dir: Path = SERVICE_ACCOUNT_DIR, environ: Mapping[str, str] | None = None
) -> None:
    """Fill ``configuration`` from the pod's service account (the token is re-read once a minute, as it rotates)."""
    loader = InClusterConfigLoader(
        token_filename=str(service_account_dir / "token"),
        cert_filename=str(service_account_dir / "ca.crt"),
        environ=dict(os.environ if environ is None else environ),
    )
    try:
        loader.load_and_set(configuration)
    except k8s_config.ConfigException as exc:
        raise ConfigError(f"in-cluster configuration: {exc}") from exc


def in_cluster_namespace(service_account_dir: Path = SERVICE_ACCOUNT_DIR) -> str | None:
    """The pod's namespace from the service account, or ``None`` outside a cluster (the leader-election default)."""
    try:
        return (service_account_dir / "namespace").read_text().strip() or None
    except OSError:
        return None


_RESPONSE_TYPES = {code: "object" for code in (200, 201, 202)}


async def request_json(
    api: Any,
    method: str,
    path: str,
    *,
    body: Any = None,
    query: Sequence[tuple[str, str]] | Mapping[str, str] = (),
    content_type: str = "application/json",
    request_timeout: float | None = None,
) -> Any:
    """Send one request through ``api`` (any kubernetes_asyncio ``ApiClient``) and return the decoded JSON answer.

    Errors raise kubernetes_asyncio's ``ApiException`` (``.status``, ``.body`` with the Status JSON); see
    :mod:`smk8s.kube.resources` for ``is_conflict`` and friends.
    """
    params = list(query.items()) if isinstance(query, Mapping) else list(query)
    return await api.call_api(
        path,
        method,
        query_params=params,
        header_params={"Content-Type": content_type, "Accept": "application/json"},
        body=body,
        auth_settings=["BearerToken"],
        response_types_map=_RESPONSE_TYPES,
        _return_http_data_only=True,
        _request_timeout=request_timeout,
    )
