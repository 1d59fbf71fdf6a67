"""Wiring the HostingDeployment controller into a manager.

:func:`build_hosting_deployment_controller` adds one controller over the ``hostingdeployments`` informer (filtered by
the ``GenerationChanged`` predicate: our own status writes are not reconciled; annotation and finalizer changes
are). Polling needs no extra machinery: each reconcile asks for the next one itself, after ``poll_interval`` while
the endpoint changes and five times that when it is stable (:mod:`.deployment_reconciler`). It shares the manager's
:class:`~smk8s.controllers.services.Services` (one SageMaker access, one Event recorder).
"""

from __future__ import annotations

import functools

from smk8s.controllers.hosting.deployment_reconciler import HostingDeploymentReconciler
from smk8s.controllers.object_pass import ReconcilerDeps
from smk8s.controllers.services import Services, ServicesController, add_object_controller
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
    deps = ReconcilerDeps(services.sagemaker, services.events, deletion_policy=deletion_policy,
                          poll_interval=poll_interval)
    return add_object_controller(manager, services, PLURAL, functools.partial(HostingDeploymentReconciler, deps),
                                 watch_selector=watch_selector, max_concurrent_reconciles=max_concurrent_reconciles)
