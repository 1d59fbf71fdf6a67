"""Every way ``kubectl smlogs`` can fail, as one exception carrying the message the user sees (pure).

The plugin prints ``error: <message>`` on stderr and exits 1 for any :class:`PluginError`. AWS failures are first
classified by :func:`smk8s.sagemaker.errors.classify` (the project classifies them once, there), then worded here by
:func:`from_aws`: a missing permission names the IAM action (``logs:GetLogEvents``) and says that the credentials
are those of the user running the plugin -- not the operator's role, which never reads logs.
"""

from __future__ import annotations

from smk8s.sagemaker.errors import AccessDeniedError, NotFoundError, classify
from smk8s.smlogs.kinds import JobKind, is_terminal


class PluginError(Exception):
    """A failure to report to the user; ``str()`` is the whole message."""


class NoLogsError(PluginError):
    """The job exists but has written no logs (yet)."""


def object_not_found(kind: JobKind, name: str, namespace: str) -> PluginError:
    # kubectl's own wording for a missing object (`kubectl get trainingjob x`), plus the namespace searched.
    return PluginError(f'{kind.crd_name} "{name}" not found in namespace "{namespace}"')


def resource_type_missing(kind: JobKind) -> PluginError:
    return PluginError(f'the server doesn\'t have a resource type "{kind.plural}": are the SageMaker operator\'s '
                       f"CRDs installed (kubectl get crd {kind.crd_name})?")


def job_not_created(kind: JobKind, name: str, namespace: str, status: str | None) -> PluginError:
    state = f" (status: {status})" if status else ""
    return PluginError(
        f"{kind.kind} {namespace}/{name} has no SageMaker {kind.noun} yet{state}: status.{kind.name_field} is empty "
        f"until the operator has created the job; see kubectl describe {kind.singular} {name}")


def missing_region(kind: JobKind, name: str, namespace: str) -> PluginError:
    return PluginError(f"{kind.kind} {namespace}/{name} has no spec.region: cannot tell which AWS region its logs "
                       f"are in")


def no_logs(kind: JobKind, job_name: str, stream_prefix: str, status: str | None) -> NoLogsError:
    state = f"; the job's status is {status}" if status else ""
    if not is_terminal((status or "").split("/")[0]):
        state += " (kubectl smlogs -f waits for them)"
    return NoLogsError(f'no logs yet for SageMaker {kind.noun} "{job_name}" (no log stream named {stream_prefix}*)'
                       f"{state}")


def no_children(job_name: str, status: str | None) -> NoLogsError:
    state = f"; the tuning job's status is {status}" if status else ""
    return NoLogsError(f'no logs yet: hyperparameter tuning job "{job_name}" has launched no training job{state}')


def sagemaker_job_not_found(kind: JobKind, job_name: str, region: str) -> PluginError:
    return PluginError(f'SageMaker has no {kind.noun} named "{job_name}" in region {region}')


def from_aws(exc: BaseException, service: str, operation: str) -> PluginError | None:
    """The user's message for a failed AWS call, or None when ``exc`` is no AWS failure (a bug: re-raise it).

    ``service`` is the IAM prefix (``logs``, ``sagemaker``). Callers check :func:`is_not_found` first: only they
    know what a "not found" answer means (no logs yet, no such job).
    """
    classified = classify(exc, operation)
    if classified is None:
        return None
    action = f"{service}:{operation}"
    if isinstance(classified, AccessDeniedError):
        return PluginError(
            f"access denied: the AWS credentials of the user running kubectl smlogs are not allowed {action} "
            f"(grant {action} to that user or role, or pick other credentials with AWS_PROFILE / --profile). "
            f"AWS said: {classified.code}: {classified.message}")
    return PluginError(f"{action} failed: {classified}")


def is_not_found(exc: BaseException, operation: str) -> bool:
    """Whether an AWS failure means the named resource (job, log group, stream) does not exist."""
    return isinstance(classify(exc, operation), NotFoundError)
