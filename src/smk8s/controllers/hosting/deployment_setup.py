"""Wiring the HostingDeployment controller into a manager.

:func:`build_hosting_deployment_controller` adds one controller over the ``hostingdeployments`` informer (filtered by
the ``GenerationChanged`` predicate: our own status writes are not reconciled; annotation and finalizer changes
are). Polling needs no extra machinery: each reconcile asks for the next one itself, after ``poll_interval`` while
the endpoint changes and five times that when it is stable (:mod:`.deployment_reconciler`). It shares the manager's
:class:`~smk8s.controllers.services.Services` (one SageMaker access, one Event recorder).
"""

from __future__ import annotations

from typing import Any

from smk8s.api.v1.common import GROUP, VERSION
from smk8s.controllers.hosting.deployment_reconciler import HostingDeploymentReconciler
from smk8s.controllers.object_pass import ReconcilerDeps
from smk8s.controllers.predicates import GenerationChanged
from smk8s.controllers.services import Services, ServicesController
from smk8s.kube import CustomResourceClient
from smk8s.manager import Manager

PLURAL = "hostingdeployments"


def build_hosting_deployment_controller(
    manager: Manager,
    services: Services,
    *,
    poll_interval: float = 30.0,
    deletion_policy: str = "delete",
    watch_selector: str = "",
    max_concurrent_reconciles: int = 1,
) -> ServicesController:
    """The HostingDeployment controller, added to ``manager``."""
    informer = manager.informers.informer(GROUP, VERSION, PLURAL, label_selector=watch_selector or None)
    store = informer.store

    def cached(namespace: str, name: str) -> Any:
        return store.get(f"{namespace}/{name}")

    deps = ReconcilerDeps(services.sagemaker, services.events, deletion_policy=deletion_policy,
                          poll_interval=poll_interval)
    reconciler = HostingDeploymentReconciler(deps, CustomResourceClient(manager.api, GROUP, VERSION, PLURAL), cached)
    controller = ServicesController(
        PLURAL, reconciler, services=services, informer=GenerationChanged(informer),
        max_concurrent_reconciles=max_concurrent_reconciles, clock=manager.clock,
    )
    manager.add_controller(controller)
    return controller
