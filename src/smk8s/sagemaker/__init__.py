"""The SageMaker layer the job controllers use: clients, error classification, a typed facade and the poller.

- :mod:`.clients`: one aiobotocore client per (service, region, endpoint), standard credential chain (IRSA),
  aiobotocore's retry modes, endpoint precedence ``spec.sageMakerEndpoint`` > ``--sagemaker-endpoint`` >
  ``AWS_DEFAULT_SAGEMAKER_ENDPOINT`` > SDK default.
- :mod:`.errors`: every failure classified once (Terminal, AlreadyExists, Retryable, Throttled, NotFound,
  AccessDenied).
- :mod:`.api`: :class:`SageMaker` / :class:`SageMakerApi`, logged and counted calls.
- :mod:`.poller`: List-based change detection (:class:`PollerCore` pure, :class:`Poller` async).
"""

from smk8s.sagemaker.api import TERMINAL_STATUSES, JobKind, JobSummary, ListPage, SageMaker, SageMakerApi
from smk8s.sagemaker.clients import ClientFactory, ClientSettings, resolve_endpoint
from smk8s.sagemaker.errors import (
    AccessDeniedError,
    AlreadyExistsError,
    DependencyNotReadyError,
    NotFoundError,
    Principal,
    RetryableError,
    SageMakerError,
    TerminalError,
    ThrottledError,
    classify,
)
from smk8s.sagemaker.poller import JobChange, JobRef, Partition, Poller, PollerCore, PollPolicy

__all__ = [
    "TERMINAL_STATUSES",
    "AccessDeniedError",
    "AlreadyExistsError",
    "ClientFactory",
    "ClientSettings",
    "DependencyNotReadyError",
    "JobChange",
    "JobKind",
    "JobRef",
    "JobSummary",
    "ListPage",
    "NotFoundError",
    "Partition",
    "PollPolicy",
    "Poller",
    "PollerCore",
    "Principal",
    "RetryableError",
    "SageMaker",
    "SageMakerApi",
    "SageMakerError",
    "TerminalError",
    "ThrottledError",
    "classify",
    "resolve_endpoint",
]
