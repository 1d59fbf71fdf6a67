"""Wiring the four job controllers into a manager: informers, the poller's changes into each workqueue, flags.

Each kind gets a :class:`JobController`: a :class:`~smk8s.manager.Controller` over the kind's informer (updates that
change neither generation nor metadata -- our own status writes -- are not reconciled, as the original's
``GenerationChangedPredicate``) that also runs its own :class:`~smk8s.sagemaker.Poller` and turns each reported
job change into a request for the object it belongs to. All four share one SageMaker client factory and one Event
recorder, closed when the last controller stops.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from smk8s.api.v1.common import GROUP, VERSION
from smk8s.controllers.jobs.adapters import ADAPTERS, TRAINING, JobAdapter
from smk8s.controllers.jobs.reconciler import JobDeps, JobReconciler
from smk8s.kube import CustomResourceClient, EventRecorder
from smk8s.manager import Controller, ControllerMetrics, Manager
from smk8s.manager.controller import EventSource, Registration
from smk8s.sagemaker import ClientFactory, Poller, PollPolicy, SageMaker

REPORTING_CONTROLLER = "sagemaker.aws.amazon.com/smk8s"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The job controllers' ``smk8s manager`` flags (``--namespace`` is the manager's)."""
    parser.add_argument("--poll-interval", type=float, default=30.0, metavar="SECONDS",
                        help="base interval of the SageMaker change polling (adapted to each job's state)")
    parser.add_argument("--sagemaker-endpoint", default=None,
                        help="default SageMaker endpoint URL (spec.sageMakerEndpoint wins; "
                             "else AWS_DEFAULT_SAGEMAKER_ENDPOINT)")
    parser.add_argument("--deletion-policy", choices=("delete", "retain"), default="delete",
                        help="what deleting an object does to a running job (the annotation "
                             "sagemaker.aws.amazon.com/deletion-policy wins)")
    parser.add_argument("--watch-selector", default="",
                        help="label selector: reconcile only the objects it selects (sharding)")


class GenerationChanged:
    """An event source passing on updates only when generation or metadata changed (not status-only writes)."""

    def __init__(self, source: EventSource) -> None:
        self.source = source

    def add_event_handler(
        self,
        on_add: Callable[[Any], None] | None = None,
        on_update: Callable[[Any, Any], None] | None = None,
        on_delete: Callable[[Any], None] | None = None,
    ) -> Registration:
        def update(old: Any, new: Any) -> None:
            if on_update is not None and _interesting(old) != _interesting(new):
                on_update(old, new)

        return self.source.add_event_handler(on_add, update, on_delete)

    def has_synced(self) -> bool:
        return self.source.has_synced()

    async def wait_for_sync(self) -> bool:
        return await self.source.wait_for_sync()


def _interesting(obj: Any) -> tuple[Any, ...]:
    meta = obj.get("metadata") or {} if isinstance(obj, dict) else {}
    return (meta.get("generation"), meta.get("deletionTimestamp"), meta.get("finalizers"), meta.get("annotations"),
            meta.get("labels"))


class JobController(Controller):
    """A controller that also pumps its poller's job changes into its workqueue."""

    def __init__(self, name: str, reconciler: JobReconciler, *, on_stop: Callable[[], Any], **kwargs: Any) -> None:
        super().__init__(name, reconciler, **kwargs)
        self.reconciler = reconciler
        self._on_stop = on_stop

    async def run(self, *, metrics: ControllerMetrics | None = None) -> None:
        pump = asyncio.create_task(self._pump(), name=f"{self.name}-poller")
        try:
            await super().run(metrics=metrics)
        finally:
            pump.cancel()
            await asyncio.gather(pump, return_exceptions=True)
            await self._on_stop()

    async def _pump(self) -> None:
        # Jobs are tracked only by reconciles, so changes arrive once the queue exists.
        async for batch in self.reconciler.poller.changes():
            for change in batch:
                request = self.reconciler.requests.get(change.ref)
                if request is not None:
                    if change.reason == "changed" and change.summary is not None:
                        self.reconciler.report(request, change.summary)
                    self.queue.add(request)


@dataclass
class _Shared:
    """Closes the shared clients once every controller using them has stopped."""

    sagemaker: SageMaker
    events: EventRecorder
    users: int = 0

    async def release(self) -> None:
        self.users -= 1
        if self.users == 0:
            await self.events.close()
            await self.sagemaker.clients.close()


def build_job_controllers(
    manager: Manager,
    sagemaker: SageMaker,
    *,
    poll_interval: float = 30.0,
    deletion_policy: str = "delete",
    watch_selector: str = "",
    max_concurrent_reconciles: int = 1,
    kinds: Sequence[str] = tuple(ADAPTERS),
    events: EventRecorder | None = None,
) -> list[JobController]:
    """The job controllers of ``kinds``, added to ``manager`` (tests pass their own ``sagemaker``)."""
    recorder = events or EventRecorder(manager.api, reporting_controller=REPORTING_CONTROLLER,
                                       reporting_instance=socket.gethostname(), clock=manager.clock)
    shared = _Shared(sagemaker, recorder)
    deps = JobDeps(sagemaker, recorder, deletion_policy)
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
            adapter.plural, reconciler, on_stop=shared.release, informer=GenerationChanged(informers[kind]),
            max_concurrent_reconciles=max_concurrent_reconciles, clock=manager.clock,
        )
        shared.users += 1
        manager.add_controller(controller)
        controllers.append(controller)
    return controllers


def setup_job_controllers(manager: Manager, args: argparse.Namespace) -> None:
    """The ``smk8s manager`` setup function of the four job controllers."""
    sagemaker = SageMaker(ClientFactory(default_endpoint=args.sagemaker_endpoint), manager.registry,
                          clock=manager.clock)
    build_job_controllers(
        manager, sagemaker, poll_interval=args.poll_interval, deletion_policy=args.deletion_policy,
        watch_selector=args.watch_selector, max_concurrent_reconciles=args.max_concurrent_reconciles,
    )
