"""An emulated SageMaker, CloudWatch Logs, Application Auto Scaling and STS on one port (see docs/emulators.md).

``AwsEmulator`` (from :mod:`.server`) is imported lazily, so importing a service module (``.sagemaker.jobs``,
``.logs`` ...) does not pull in the HTTP server and its imports cannot become circular.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from smk8s.emulators.aws.server import AwsEmulator

__all__ = ["AwsEmulator"]


def __getattr__(name: str) -> Any:
    if name == "AwsEmulator":
        from smk8s.emulators.aws.server import AwsEmulator

        return AwsEmulator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
