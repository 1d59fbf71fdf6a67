"""Everything the AWS emulator knows: the virtual clock, the scheduled lifecycle steps and each service's state.

One :class:`World` per emulator. Request handlers get it as their first argument, call :meth:`World.advance`
(the server does before every request) so every transition due by the virtual now has happened, then read and
change the service states. Lifecycle steps are scheduled callbacks on the virtual clock (:class:`Scheduler`), run in
due-time order; a step may schedule further steps (a training job's next secondary status, a tuning job's next
child). Nothing here runs on its own: time passes only when somebody looks, which makes tests deterministic.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from smk8s.emulators.aws.autoscaling import AutoScalingState
from smk8s.emulators.aws.clock import VirtualClock
from smk8s.emulators.aws.errors import validation
from smk8s.emulators.aws.logs import LogStore
from smk8s.emulators.aws.quotas import Quotas
from smk8s.emulators.aws.sagemaker.state import SageMakerState

Step = Callable[[], None]
# An operation handler: (world, request members as botocore sends them) -> response members. Timestamps in
# responses are epoch seconds (floats), as the JSON 1.1 protocol carries them.
Handler = Callable[["World", dict[str, Any]], dict[str, Any]]


class Scheduler:
    """Callbacks due at virtual instants; :meth:`run_due` runs those due by ``now`` in (time, insertion) order."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Step]] = []
        self._seq = itertools.count()

    def at(self, when: float, step: Step) -> None:
        heapq.heappush(self._heap, (when, next(self._seq), step))

    def next_due(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def run_due(self, now: float) -> int:
        """Run every step due by ``now`` (including ones scheduled by steps run here); returns how many ran."""
        ran = 0
        while self._heap and self._heap[0][0] <= now:
            _, _, step = heapq.heappop(self._heap)
            step()
            ran += 1
        return ran

    def __len__(self) -> int:
        return len(self._heap)


@dataclass
class World:
    """The emulated account in one region (see module docstring)."""

    clock: VirtualClock
    rand: random.Random
    sagemaker: SageMakerState
    logs: LogStore
    autoscaling: AutoScalingState
    account_id: str = "123456789012"
    region: str = "us-west-2"
    partition: str = "aws"
    scheduler: Scheduler = field(default_factory=Scheduler)
    # Account quotas (``world.quotas.limit("training-jobs-running")``; see quotas.py), set by config/control API.
    quotas: Quotas = field(default_factory=Quotas)
    # Execution roles SageMaker cannot assume (missing, or not trusting sagemaker.amazonaws.com): config key
    # ``unassumable_roles``. A Create naming one fails as SageMaker's does (:meth:`check_execution_role`).
    unassumable_roles: set[str] = field(default_factory=set)

    def check_execution_role(self, role_arn: object) -> None:
        """Raise SageMaker's ValidationException for a job or model whose execution role cannot be assumed.

        The text as users report it from CreateTransformJob (github.com/awslabs/
        predictive-maintenance-using-machine-learning/issues/3); the operator's error classification tells this
        job-role refusal from an AccessDenied on its own role."""
        if isinstance(role_arn, str) and role_arn in self.unassumable_roles:
            raise validation(f"Could not assume role {role_arn}. Please ensure that the role exists and allows "
                             "principal 'sagemaker.amazonaws.com' to assume the role.")

    def advance(self) -> None:
        """Bring every lifecycle up to the clock's now."""
        self.scheduler.run_due(self.clock.now())

    def arn(self, service: str, resource: str) -> str:
        """``arn:aws:SERVICE:REGION:ACCOUNT:RESOURCE`` (resource like ``training-job/name``)."""
        return f"arn:{self.partition}:{service}:{self.region}:{self.account_id}:{resource}"


def new_world(*, clock: VirtualClock | None = None, seed: int = 0, region: str = "us-west-2",
              account_id: str = "123456789012") -> World:
    """A fresh, empty world."""
    clock = clock or VirtualClock()
    return World(
        clock=clock,
        rand=random.Random(seed),
        sagemaker=SageMakerState(),
        logs=LogStore(now=clock.now),
        autoscaling=AutoScalingState(),
        account_id=account_id,
        region=region,
    )
