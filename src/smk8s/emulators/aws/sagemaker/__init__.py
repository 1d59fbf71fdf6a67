"""The emulated SageMaker API: jobs, tuning, hosting and tags.

``OPERATIONS`` maps every implemented operation name (as in botocore's model) to its handler; each concept's
module contributes its own mapping, and no two modules implement the same operation.
"""

from __future__ import annotations

from collections.abc import Mapping

from smk8s.emulators.aws.sagemaker import hosting, jobs, tags, tuning
from smk8s.emulators.aws.world import Handler


def _merge(*parts: Mapping[str, Handler]) -> dict[str, Handler]:
    merged: dict[str, Handler] = {}
    for part in parts:
        overlap = merged.keys() & part.keys()
        if overlap:
            raise RuntimeError(f"SageMaker operations implemented twice: {sorted(overlap)}")
        merged.update(part)
    return merged


OPERATIONS: Mapping[str, Handler] = _merge(jobs.OPERATIONS, tuning.OPERATIONS, hosting.OPERATIONS, tags.OPERATIONS)
