"""What every controller of one manager shares: one SageMaker access and one Event recorder.

One :class:`~smk8s.sagemaker.SageMaker` per manager, because its metrics (``sagemaker_api_requests_total`` ...) are
registered once in the manager's registry and its clients are cached per (service, region, endpoint); one
:class:`~smk8s.kube.EventRecorder`, so Events are deduplicated and rate-limited across controllers as client-go's
broadcaster does. Each controller calls :meth:`Services.use` when built and awaits the returned release when it
stops (:class:`ServicesController` does both); the last release closes the clients and flushes the recorder.
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from smk8s.api.v1.common import GROUP, VERSION
from smk8s.controllers.predicates import GenerationChanged
from smk8s.kube import CustomResourceClient, EventRecorder
from smk8s.manager import Controller, ControllerMetrics, Manager
from smk8s.sagemaker import SageMaker

CachedReader = Callable[[str, str], Any]
"""``cached(namespace, name)``: the object in an informer's cache, or None."""

REPORTING_CONTROLLER = "sagemaker.aws.amazon.com/smk8s"
"""``reportingController`` of our Events."""


@dataclass
class Services:
    sagemaker: SageMaker
    events: EventRecorder
    users: int = 0

    @classmethod
    def for_manager(cls, manager: Manager, sagemaker: SageMaker, events: EventRecorder | None = None) -> Services:
        """Services around ``sagemaker`` with an Event recorder on the manager's API client (unless given)."""
        recorder = events or EventRecorder(manager.api, reporting_controller=REPORTING_CONTROLLER,
                                           reporting_instance=socket.gethostname(), clock=manager.clock)
        return cls(sagemaker, recorder)

    def use(self) -> Callable[[], Awaitable[None]]:
        """Register one more user; await the returned function once, when that user stops."""
        self.users += 1
        return self.release

    async def release(self) -> None:
        self.users -= 1
        if self.users == 0:
            await self.events.close()
            await self.sagemaker.clients.close()


class ServicesController(Controller):
    """A controller that holds a use of the manager's :class:`Services` from its construction and releases it when
    it stops (so the last controller to stop closes the shared clients)."""

    def __init__(self, name: str, reconciler: Any, *, services: Services, **kwargs: Any) -> None:
        super().__init__(name, reconciler, **kwargs)
        self.reconciler = reconciler
        self._release = services.use()

    async def run(self, *, metrics: ControllerMetrics | None = None) -> None:
        try:
            await super().run(metrics=metrics)
        finally:
            await self._release()


ControllerT = TypeVar("ControllerT", bound=ServicesController)


def cached_reader(manager: Manager, plural: str, watch_selector: str = "") -> CachedReader:
    """Reads ``plural`` objects (``sagemaker.aws.amazon.com/v1``) from the manager's shared informer of them."""
    store = manager.informers.informer(GROUP, VERSION, plural, label_selector=watch_selector or None).store
    return lambda namespace, name: store.get(f"{namespace}/{name}")


def add_object_controller(
    manager: Manager,
    services: Services,
    plural: str,
    make_reconciler: Callable[[CustomResourceClient, CachedReader], Any],
    *,
    watch_selector: str = "",
    max_concurrent_reconciles: int = 1,
    controller_type: type[ControllerT] = ServicesController,  # type: ignore[assignment]  # the default is the bound
) -> ControllerT:
    """The controller of the ``plural`` objects, added to ``manager``; what every controller of ours is wired from.

    It watches the kind through the manager's shared informer (``watch_selector``: only labelled objects), filtered
    by :class:`~smk8s.controllers.predicates.GenerationChanged` (as the original's ``GenerationChangedPredicate``:
    our own status writes are not reconciled), holds a use of ``services``, and reconciles with
    ``make_reconciler(client of the kind, reader of its cache)``.
    """
    informer = manager.informers.informer(GROUP, VERSION, plural, label_selector=watch_selector or None)
    reconciler = make_reconciler(CustomResourceClient(manager.api, GROUP, VERSION, plural),
                                 cached_reader(manager, plural, watch_selector))
    controller = controller_type(plural, reconciler, services=services, informer=GenerationChanged(informer),
                                 max_concurrent_reconciles=max_concurrent_reconciles, clock=manager.clock)
    manager.add_controller(controller)
    return controller
