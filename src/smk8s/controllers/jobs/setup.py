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

from smk8s.api.v1.common import GROUP, VERSION
from smk8s.controllers.jobs.adapters import ADAPTERS, TRAINING, JobAdapter
from smk8s.controllers.jobs.reconciler import JobReconciler
from smk8s.controllers.object_pass import ReconcilerDeps
from smk8s.controllers.services import CachedReader, Services, ServicesController, add_object_controller, cached_reader
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
    training_jobs = CustomResourceClient(manager.api, GROUP, VERSION, TRAINING.plural)
    # A tuning job's children are TrainingJobs: with HyperparameterTuningJob, read them from the TrainingJob cache.
    cached_training_job = (cached_reader(manager, TRAINING.plural, watch_selector)
                           if "HyperparameterTuningJob" in kinds else None)

    def reconciler_of(adapter: JobAdapter) -> Callable[[CustomResourceClient, CachedReader], JobReconciler]:
        return lambda objects, cached: JobReconciler(
            adapter, deps, objects, cached, Poller(sagemaker, manager.clock, PollPolicy(interval=poll_interval)),
            training_jobs=training_jobs, cached_training_job=cached_training_job,
        )

    return [add_object_controller(manager, services, ADAPTERS[kind].plural, reconciler_of(ADAPTERS[kind]),
                                  watch_selector=watch_selector, max_concurrent_reconciles=max_concurrent_reconciles,
                                  controller_type=JobController) for kind in kinds]
