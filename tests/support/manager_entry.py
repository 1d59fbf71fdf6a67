"""``python -m tests.support.manager_entry [smk8s manager flags]``: the manager with a test controller.

The test controller reconciles ConfigMaps and logs one ``reconciled`` line per reconcile (JSON, with the key and
the resourceVersion its cache held), so tests can tell which replica reconciled what. It exists only for tests:
the product's manager runs the SageMaker controllers.
"""

from __future__ import annotations

import argparse
import sys

import structlog

from smk8s.manager import Controller, Manager, Request, Result
from smk8s.manager import cli as manager_cli


def setup_configmap_controller(manager: Manager, args: argparse.Namespace) -> None:
    informer = manager.informers.informer("", "v1", "configmaps")
    log = structlog.get_logger("test-controller")

    async def reconcile(request: Request) -> Result:
        obj = informer.store.get(str(request))
        version = obj["metadata"].get("resourceVersion") if obj is not None else None
        log.info("reconciled", key=str(request), resourceVersion=version)
        return Result()

    manager.add_controller(
        Controller("configmap", reconcile, informer=informer, max_concurrent_reconciles=args.max_concurrent_reconciles)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="manager_entry")
    manager_cli.add_arguments(parser)
    return manager_cli.main(parser.parse_args(argv), [setup_configmap_controller])


if __name__ == "__main__":
    sys.exit(main())
