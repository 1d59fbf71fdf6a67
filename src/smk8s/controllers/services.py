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
from typing import Any

from smk8s.kube import EventRecorder
from smk8s.manager import Controller, ControllerMetrics, Manager
from smk8s.sagemaker import SageMaker

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
