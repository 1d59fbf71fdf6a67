"""The Kubernetes client layer: configuration and a retrying, instrumented API client, typed-ish access to our
custom resources, an Events recorder and structured logging.

- :mod:`smk8s.kube.client`: :func:`load_api_client`, :class:`RetryingApiClient` (429/503 + ``Retry-After``,
  ``rest_client_requests_total``), :func:`request_json`.
- :mod:`smk8s.kube.resources`: :class:`CustomResourceClient`, :func:`retry_on_conflict`.
- :mod:`smk8s.kube.events`: :class:`EventRecorder` (client-go's correlator: dedup into series, spam filter).
- :mod:`smk8s.kube.logging`: :func:`configure_logging`, reconcile-scoped log context.
"""

from smk8s.kube.client import (
    ConfigError,
    RestClientMetrics,
    RetryingApiClient,
    RetryPolicy,
    in_cluster_namespace,
    load_api_client,
    request_json,
)
from smk8s.kube.events import NORMAL, WARNING, EventCorrelator, EventRecorder
from smk8s.kube.logging import configure_logging, reconcile_context, reconcile_logger
from smk8s.kube.resources import (
    CustomResourceClient,
    is_already_exists,
    is_conflict,
    is_not_found,
    retry_on_conflict,
)

__all__ = [
    "NORMAL",
    "WARNING",
    "ConfigError",
    "CustomResourceClient",
    "EventCorrelator",
    "EventRecorder",
    "RestClientMetrics",
    "RetryPolicy",
    "RetryingApiClient",
    "configure_logging",
    "in_cluster_namespace",
    "is_already_exists",
    "is_conflict",
    "is_not_found",
    "load_api_client",
    "reconcile_context",
    "reconcile_logger",
    "request_json",
    "retry_on_conflict",
]
