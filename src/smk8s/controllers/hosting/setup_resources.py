"""Wiring the Model, EndpointConfig and HostingAutoscalingPolicy controllers into a manager.

Each kind gets a :class:`~smk8s.manager.Controller` over its informer, filtered like the original's
``GenerationChangedPredicate`` (our own status writes are not reconciled), sharing the manager's
:class:`~smk8s.controllers.services.Services`. None of these kinds changes in SageMaker by itself, so there is no
List poller: a settled object is re-read every :data:`RESYNC_FACTOR` poll intervals (to repair what someone changed
behind our back), a waiting HostingAutoscalingPolicy every poll interval.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from smk8s.controllers.hosting.autoscaling import AutoscalingReconciler
from smk8s.controllers.hosting.endpoint_config import ENDPOINT_CONFIG
from smk8s.controllers.hosting.model import MODEL
from smk8s.controllers.hosting.resources_reconciler import ResourceReconciler
from smk8s.controllers.object_pass import ReconcilerDeps
from smk8s.controllers.services import CachedReader, Services, add_object_controller
from smk8s.kube import CustomResourceClient
from smk8s.manager import Controller, Manager

RESYNC_FACTOR = 20
"""A settled Model, EndpointConfig or HostingAutoscalingPolicy is re-read every 20 poll intervals (10 minutes at
the default 30 s)."""


def build_resource_controllers(
    manager: Manager,
    services: Services,
    *,
    poll_interval: float = 30.0,
    deletion_policy: str = "delete",
    watch_selector: str = "",
    max_concurrent_reconciles: int = 1,
) -> list[Controller]:
    """The Model, EndpointConfig and HostingAutoscalingPolicy controllers, added to ``manager``."""
    deps = ReconcilerDeps(services.sagemaker, services.events, deletion_policy=deletion_policy,
                          poll_interval=poll_interval, resync=poll_interval * RESYNC_FACTOR)
    reconcilers: list[tuple[str, Callable[[CustomResourceClient, CachedReader], Any]]] = [
        (MODEL.plural, functools.partial(ResourceReconciler, MODEL, deps)),
        (ENDPOINT_CONFIG.plural, functools.partial(ResourceReconciler, ENDPOINT_CONFIG, deps)),
        (AutoscalingReconciler.plural, functools.partial(AutoscalingReconciler, deps)),
    ]
    return [add_object_controller(manager, services, plural, make, watch_selector=watch_selector,
                                  max_concurrent_reconciles=max_concurrent_reconciles) for plural, make in reconcilers]
