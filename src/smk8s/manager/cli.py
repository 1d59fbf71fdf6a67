"""``smk8s manager``: run the controller-manager (flags named as kubebuilder's scaffolded ``main.go`` names them).

Controllers join through *setup functions* — ``setup(manager, args)`` gets an informer from ``manager.informers``
and calls ``manager.add_controller``. :data:`CONTROLLERS` lists the product's (the job controllers of
:mod:`smk8s.controllers.jobs`). Tests and benchmarks call :func:`main` with their own.

Process behaviour: the first SIGTERM or SIGINT starts a graceful shutdown (exit 0 once done); a second one exits
at once with status 1; a lost lease exits with status 1 at once, without graceful shutdown (nothing may keep
reconciling once another replica may lead); a start-up failure (no configuration, caches never synced) exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import prometheus_client
import structlog

from smk8s.kube.logging import FORMATS, LEVELS, configure_logging

if TYPE_CHECKING:
    from smk8s.manager.manager import Manager

SetupFunc = Callable[["Manager", argparse.Namespace], None]


def _setup_controllers(manager: Manager, args: argparse.Namespace) -> None:
    from smk8s.controllers.setup import setup_controllers

    setup_controllers(manager, args)


CONTROLLERS: tuple[SetupFunc, ...] = (_setup_controllers,)
"""The product's controllers (:func:`smk8s.controllers.setup.setup_controllers`)."""

DEFAULT_LEADER_ELECTION_ID = "smk8s-controller-manager.sagemaker.aws.amazon.com"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``smk8s manager`` flags."""
    parser.add_argument("--kubeconfig", default=None,
                        help="kubeconfig to use (default: $KUBECONFIG, then in-cluster, then ~/.kube/config)")
    parser.add_argument("--metrics-bind-address", default="127.0.0.1:8080",
                        help="address the metrics endpoint binds to ('0' disables it)")
    parser.add_argument("--health-probe-bind-address", default=":8081",
                        help="address the probe endpoint binds to ('0' disables it)")
    parser.add_argument("--leader-elect", action="store_true",
                        help="enable leader election, ensuring there is only one active controller manager")
    parser.add_argument("--leader-election-id", default=DEFAULT_LEADER_ELECTION_ID,
                        help="name of the Lease used for leader election")
    parser.add_argument("--leader-election-namespace", default=None,
                        help="namespace of the Lease (default: the pod's namespace when running in a cluster)")
    parser.add_argument("--leader-election-lease-duration", type=int, default=15, metavar="SECONDS",
                        help="how long standbys wait before taking over a lease that was not renewed")
    parser.add_argument("--leader-election-renew-deadline", type=float, default=10.0, metavar="SECONDS",
                        help="how long the leader keeps retrying to renew before giving up")
    parser.add_argument("--leader-election-retry-period", type=float, default=2.0, metavar="SECONDS",
                        help="how long candidates wait between tries")
    parser.add_argument("--namespace", action="append", dest="namespaces", default=None, metavar="NAMESPACE",
                        help="watch only this namespace (repeatable; default: all namespaces)")
    parser.add_argument("--max-concurrent-reconciles", type=int, default=1,
                        help="reconciles each controller runs at once")
    parser.add_argument("--graceful-shutdown-timeout", type=float, default=30.0, metavar="SECONDS",
                        help="how long in-flight reconciles may take to finish on shutdown (negative: no limit)")
    parser.add_argument("--log-level", choices=LEVELS, default="info", help="lowest level logged")
    parser.add_argument("--log-format", choices=FORMATS, default="json", help="log line format")
    from smk8s.controllers.setup import add_arguments as add_controller_arguments

    add_controller_arguments(parser)


def main(args: argparse.Namespace, setups: Sequence[SetupFunc] = CONTROLLERS) -> int:
    """Run the manager for parsed ``args`` until it stops; the process exit status."""
    configure_logging(args.log_level, args.log_format)
    prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]  # no ``*_created`` series: controller-runtime exports none
    return asyncio.run(_run(args, setups))


async def _run(args: argparse.Namespace, setups: Sequence[SetupFunc]) -> int:
    from smk8s.kube import in_cluster_namespace, load_api_client
    from smk8s.manager.manager import LeaderElectionLost, LeaderElectionOptions, Manager, new_registry

    log = structlog.get_logger("smk8s.setup")
    registry = new_registry()
    leader_election = None
    if args.leader_elect:
        namespace = args.leader_election_namespace or in_cluster_namespace()
        if namespace is None:
            log.error("unable to find leader election namespace: not running in-cluster, "
                      "please specify --leader-election-namespace")
            return 1
        leader_election = LeaderElectionOptions(
            id=args.leader_election_id,
            namespace=namespace,
            lease_duration=args.leader_election_lease_duration,
            renew_deadline=args.leader_election_renew_deadline,
            retry_period=args.leader_election_retry_period,
        )
    try:
        api = await load_api_client(args.kubeconfig, registry=registry)
    except Exception as exc:
        log.error("unable to load a Kubernetes configuration", error=str(exc))
        return 1
    try:
        manager = Manager(
            api,
            metrics_bind_address=args.metrics_bind_address,
            health_probe_bind_address=args.health_probe_bind_address,
            leader_election=leader_election,
            namespaces=args.namespaces,
            registry=registry,
            graceful_shutdown_timeout=args.graceful_shutdown_timeout,
        )
        for setup in setups:
            setup(manager, args)
        _handle_signals(manager)
        log.info("starting manager")
        try:
            await manager.run()
        except LeaderElectionLost as exc:
            log.error("problem running manager", error=str(exc))
            _flush()
            os._exit(1)  # at once: no graceful shutdown, no cleanup that could still touch the cluster
        except Exception as exc:
            log.error("problem running manager", error=f"{type(exc).__name__}: {exc}", exc_info=True)
            return 1
        return 0
    finally:
        await api.close()


def _handle_signals(manager: Manager) -> None:
    """First SIGTERM/SIGINT: graceful stop; second: exit 1 at once (controller-runtime's ``SetupSignalHandler``)."""
    loop = asyncio.get_running_loop()
    received = 0

    def on_signal(signum: int) -> None:
        nonlocal received
        received += 1
        if received > 1:
            _flush()
            os._exit(1)
        structlog.get_logger("smk8s.setup").info("received signal, stopping", signal=signal.Signals(signum).name)
        manager.stop()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
