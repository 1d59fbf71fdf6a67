"""Wiring the four job controllers into a manager: informers, and the poller's changes into each workqueue.

Each kind gets a :class:`JobController`: a :class:`~smk8s.manager.Controller` over the kind's informer (updates that
change neither generation nor metadata -- our own status writes -- are not reconciled, as the original's
``GenerationChangedPredicate``) that also runs its own :class:`~smk8s.sagemaker.Poller` and turns each reported
job change into a request for the object it belongs to. All share the manager's
:class:`~smk8s.controllers.services.Services` (one SageMaker access, one Event recorder).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from smk8s.api.v1.common import GROUP, VERSION
from smk8s.controllers.jobs.adapters import ADAPTERS, TRAINING, JobAdapter
from smk8s.controllers.jobs.reconciler import JobReconciler
from smk8s.controllers.object_pass import ReconcilerDeps
from smk8s.controllers.predicates import GenerationChanged
from smk8s.controllers.services import Services, ServicesController
from smk8s.kube import CustomResourceClient
from smk8s.manager import ControllerMetrics, Manager
from smk8s.sagemaker import Poller, PollPolicy


class JobController(ServicesController):
    """A controller that also pumps its poller's job changes into its workqueue."""

    reconciler: JobReconciler

    async def run(self, *, metrics: ControllerMetrics | None = None) -> None:
        pump = asyncio.create_task(self._pump(), name=f"{self.name}-poller")
        try:
            await super().run(metrics=metrics)
        finally:
            pump.cancel()
            await asyncio.gather(pump, return_exceptions=True)

    async def _pump(self) -> None:
        # Jobs are tracked only by reconciles, so changes arrive once the queue exists.
        async for batch in self.reconciler.poller.changes():
            for change in batch:
                request = self.reconciler.requests.get(change.ref)
                if request is not None:
                    if change.reason == "changed" and change.summary is not None:
                        self.reconciler.report(request, change.summary)
                    self.queue.add(request)


def build_job_controllers(
    manager: Manager,
    services: Services,
    *,
    poll_interval: float = 30.0,
    deletion_policy: str = "delete",
    watch_selector: str = "",
    max_concurrent_reconciles: int = 1,
    kinds: Sequence[str] = tuple(ADAPTERS),
) -> list[JobController]:
    """The job controllers of ``kinds``, added to ``manager`` (tests pass :class:`Services` of their own)."""
    sagemaker = services.sagemaker
    deps = ReconcilerDeps(sagemaker, services.events, deletion_policy=deletion_policy, poll_interval=poll_interval)
    watched = {*kinds, TRAINING.kind} if "HyperparameterTuningJob" in kinds else set(kinds)  # children are TrainingJobs
    informers = {kind: manager.informers.informer(GROUP, VERSION, ADAPTERS[kind].plural,
                                                  label_selector=watch_selector or None) for kind in watched}
    training = informers.get(TRAINING.kind)

    def cached(adapter: JobAdapter) -> Callable[[str, str], Any]:
        store = informers[adapter.kind].store
        return lambda namespace, name: store.get(f"{namespace}/{name}")

    controllers: list[JobController] = []
    for kind in kinds:
        adapter = ADAPTERS[kind]
        reconciler = JobReconciler(
            adapter, deps, CustomResourceClient(manager.api, GROUP, VERSION, adapter.plural), cached(adapter),
            Poller(sagemaker, manager.clock, PollPolicy(interval=poll_interval)),
            training_jobs=CustomResourceClient(manager.api, GROUP, VERSION, TRAINING.plural),
            cached_training_job=cached(TRAINING) if training is not None else None,
        )
        controller = JobController(
            adapter.plural, reconciler, services=services, informer=GenerationChanged(informers[kind]),
            max_concurrent_reconciles=max_concurrent_reconciles, clock=manager.clock,
        )
        manager.add_controller(controller)
        controllers.append(controller)
    return controllers
