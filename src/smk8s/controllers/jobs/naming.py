"""SageMaker job names, as the original operator generates them (so migrated objects map to the same jobs).

The user's name (``spec.trainingJobName`` and the like) wins; otherwise ``<k8s name>-<uid without dashes>``, the
Kubernetes name cut from its end so the whole fits in ``max_length`` (63: at most 30 characters of it survive);
when not even the uid fits, the uid is cut to ``max_length`` (tuning jobs, 32: the uid alone).
"""

from __future__ import annotations

JOB_NAME_MAX = 63
TUNING_JOB_NAME_MAX = 32


def generated_name(uid: str, k8s_name: str, max_length: int = JOB_NAME_MAX) -> str:
    """The original's ``GetGeneratedJobName``."""
    required = uid.replace("-", "")
    if len(required) >= max_length:
        return required[:max_length]
    room = max_length - len(required) - 1
    if room <= 0:
        return required
    return f"{k8s_name[:room]}-{required}"


def job_name(user_name: str | None, uid: str, k8s_name: str, max_length: int = JOB_NAME_MAX) -> str:
    """The SageMaker name of a job: the user's, else the generated one."""
    return user_name or generated_name(uid, k8s_name, max_length)
