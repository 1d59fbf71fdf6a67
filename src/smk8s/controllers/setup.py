"""The product's controllers in one ``smk8s manager`` setup function, and the flags they share.

:func:`setup_controllers` builds the manager's :class:`~smk8s.controllers.services.Services` (one SageMaker access
for every controller: clients, ``sagemaker_api_requests_total``; one Event recorder) and adds every controller.
"""

from __future__ import annotations

import argparse

from smk8s.controllers.hosting.deployment_setup import build_hosting_deployment_controller
from smk8s.controllers.hosting.setup_resources import build_resource_controllers
from smk8s.controllers.jobs.setup import build_job_controllers
from smk8s.controllers.services import Services
from smk8s.manager import Manager
from smk8s.sagemaker import ClientFactory, SageMaker


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The controllers' ``smk8s manager`` flags (``--namespace`` and ``--max-concurrent-reconciles`` are the
    manager's)."""
    parser.add_argument("--poll-interval", type=float, default=30.0, metavar="SECONDS",
                        help="base interval of the SageMaker change polling (adapted to each resource's state)")
    parser.add_argument("--sagemaker-endpoint", default=None,
                        help="default SageMaker endpoint URL (spec.sageMakerEndpoint wins; "
                             "else AWS_DEFAULT_SAGEMAKER_ENDPOINT)")
    parser.add_argument("--deletion-policy", choices=("delete", "retain"), default="delete",
                        help="what deleting an object does to its SageMaker resource (the annotation "
                             "sagemaker.aws.amazon.com/deletion-policy wins)")
    parser.add_argument("--watch-selector", default="",
                        help="label selector: reconcile only the objects it selects (sharding)")


def setup_controllers(manager: Manager, args: argparse.Namespace) -> None:
    """The ``smk8s manager`` setup function of every controller of the product."""
    sagemaker = SageMaker(ClientFactory(default_endpoint=args.sagemaker_endpoint), manager.registry,
                          clock=manager.clock)
    services = Services.for_manager(manager, sagemaker)
    for build in (
        build_job_controllers,  # TrainingJob, ProcessingJob, BatchTransformJob, HyperparameterTuningJob
        build_hosting_deployment_controller,  # HostingDeployment
        build_resource_controllers,  # Model, EndpointConfig, HostingAutoscalingPolicy
    ):
        build(manager, services, poll_interval=args.poll_interval, deletion_policy=args.deletion_policy,
              watch_selector=args.watch_selector, max_concurrent_reconciles=args.max_concurrent_reconciles)
