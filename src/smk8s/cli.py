"""The ``smk8s`` command.

- ``smk8s emulate kube ...``: the emulated Kubernetes API server;
- ``smk8s emulate aws ...``: the emulated SageMaker, CloudWatch Logs, Application Auto Scaling and STS;
- ``smk8s emulate all ...``: both, as ``make run`` uses them (a kubeconfig and an ``aws.env`` file for clients);
- ``smk8s manager ...``: the controller-manager (:mod:`smk8s.manager.cli`);
- ``smk8s dev ...``: both emulators, the CRDs and the manager together, as ``make run`` starts them
  (:mod:`smk8s.dev`).

Each command imports what it runs only when it runs (the manager's memory stays free of the emulators).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from smk8s.manager import cli as manager_cli
from smk8s.signals import stop_on_signals


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smk8s", description="Amazon SageMaker Operators for Kubernetes")
    commands = parser.add_subparsers(dest="command", required=True)
    emulate = commands.add_parser("emulate", help="run an emulated service for local runs and tests")
    services = emulate.add_subparsers(dest="service", required=True)
    kube = services.add_parser("kube", help="an emulated Kubernetes API server on 127.0.0.1")
    kube.add_argument("--port", type=int, default=0, help="port to listen on (0: any free port)")
    kube.add_argument(
        "--kubeconfig",
        type=Path,
        required=True,
        help="where to write a kubeconfig for the emulator (atomically, once it is ready)",
    )
    kube.add_argument("--tls", action="store_true", help="serve HTTPS with a self-signed CA (in the kubeconfig)")
    kube.add_argument("--rbac", action="store_true", help="authorize every request from stored RBAC objects")
    kube.add_argument(
        "--watch-history",
        type=int,
        default=10_000,
        help="events kept for watch resumption (older resourceVersions get 410 Expired)",
    )
    kube.add_argument(
        "--bookmark-interval",
        type=float,
        default=60.0,
        help="seconds between BOOKMARK events on watches that allow them",
    )
    aws = services.add_parser("aws", help="emulated SageMaker, CloudWatch Logs, Application Auto Scaling and STS")
    aws.add_argument("--port", type=int, default=0, help="port to listen on (0: any free port)")
    aws.add_argument(
        "--time-scale",
        type=float,
        default=None,
        help="virtual seconds per real second for job and endpoint lifecycles (default 1, or the config's)",
    )
    aws.add_argument(
        "--seed", type=int, default=None, help="seed for generated names, keys and faults (default 0, or the config's)"
    )
    aws.add_argument(
        "--config", type=Path, default=None, help="YAML/JSON file: time_scale, seed, quotas, rates, faults, ..."
    )
    aws.add_argument(
        "--verify-signatures", action="store_true", help="check SigV4 signatures against configured credentials"
    )
    both = services.add_parser("all", help="the Kubernetes and AWS emulators together (for make run)")
    both.add_argument("--dir", type=Path, required=True,
                      help="where to write the kubeconfig and aws.env (AWS_ENDPOINT_URL, credentials, region)")
    both.add_argument("--time-scale", type=float, default=1.0, help="virtual seconds per real second (AWS)")
    manager = commands.add_parser("manager", help="run the controller-manager")
    manager_cli.add_arguments(manager)
    from smk8s import dev

    dev.add_arguments(commands.add_parser(
        "dev", help="both emulators, the CRDs and the manager on this machine (make run)"))
    return parser


async def _run_all(args: argparse.Namespace) -> None:
    from smk8s.emulators.aws.server import AwsEmulator
    from smk8s.emulators.kube.kubeconfig import write_atomically
    from smk8s.emulators.kube.server import KubeEmulator

    stop = stop_on_signals()
    async with KubeEmulator() as kube, AwsEmulator(time_scale=args.time_scale) as aws:
        kube.write_kubeconfig(args.dir / "kubeconfig")
        env = {"AWS_ENDPOINT_URL": aws.url, "AWS_ACCESS_KEY_ID": "emulator", "AWS_SECRET_ACCESS_KEY": "emulator",
               "AWS_DEFAULT_REGION": aws.world.region}
        write_atomically(args.dir / "aws.env", "".join(f"export {k}={v}\n" for k, v in env.items()))
        print(f"ready kube {kube.url}", flush=True)
        print(f"ready aws {aws.url}", flush=True)
        await stop.wait()


async def _run_aws(args: argparse.Namespace) -> None:
    from smk8s.emulators.aws.server import AwsEmulator

    emulator = AwsEmulator(  # --time-scale/--seed not given (None): the --config file's values, else the defaults
        port=args.port,
        time_scale=args.time_scale,
        config=args.config,
        seed=args.seed,
        verify_signatures=args.verify_signatures,
    )
    stop = stop_on_signals()
    async with emulator:
        print(f"ready {emulator.url}", flush=True)
        await stop.wait()


async def _run_kube(args: argparse.Namespace) -> None:
    from smk8s.emulators.kube.server import KubeEmulator

    emulator = KubeEmulator(
        port=args.port,
        tls=args.tls,
        rbac_enabled=args.rbac,
        watch_history=args.watch_history,
        bookmark_interval=args.bookmark_interval,
    )
    stop = stop_on_signals()
    async with emulator:
        emulator.write_kubeconfig(args.kubeconfig)
        print(f"ready {emulator.url}", flush=True)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "manager":
        return manager_cli.main(args)
    if args.command == "dev":
        from smk8s import dev

        return dev.main(args)
    if args.command == "emulate" and args.service == "kube":
        asyncio.run(_run_kube(args))
        return 0
    if args.command == "emulate" and args.service == "aws":
        asyncio.run(_run_aws(args))
        return 0
    if args.command == "emulate" and args.service == "all":
        asyncio.run(_run_all(args))
        return 0
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
