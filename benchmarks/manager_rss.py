"""Idle memory of a manager process watching an empty cluster (target: under 80 MB resident).

The emulated API server runs as its own process; the manager is a separate process measured from
``/proc/<pid>/status`` (VmRSS) once it is ready (``/readyz`` ok), leads its lease and has idled a few seconds:

- ``smk8s manager`` as shipped (every controller, metrics, probes, leader election), our CRDs installed, no objects;
- a manager with one controller (an informer with 2 workers on ConfigMaps, of which there are none).

kubernetes-asyncio's generated packages are imported lazily (:mod:`smk8s.lazy_kubernetes`); without that the
shipped manager would sit about 37 MB higher.

``python -m benchmarks.manager_rss --child [flags]`` is the second kind of manager (the benchmark starts it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path

import aiohttp

IDLE_SECONDS = 3.0
TARGET_BYTES = 80 * 1000 * 1000


async def _kube_emulator(kubeconfig: Path) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "smk8s", "emulate", "kube", "--port", "0", "--kubeconfig", str(kubeconfig),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    await process.stdout.readline()  # "ready URL": the kubeconfig is written
    return process


async def _idle_rss(command: list[str], kubeconfig: Path) -> int:
    process = await asyncio.create_subprocess_exec(
        *command, "--kubeconfig", str(kubeconfig), "--leader-elect", "--leader-election-namespace", "default",
        "--metrics-bind-address", "127.0.0.1:0", "--health-probe-bind-address", "127.0.0.1:0",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    probes = ""
    try:
        async with asyncio.timeout(60):
            async for raw in process.stderr:
                line = json.loads(raw)
                if line.get("event") == "Starting health probe server":
                    probes = f"http://{line['address']}"
                if line.get("event") == "Successfully acquired lease":
                    break
            async with aiohttp.ClientSession() as http, http.get(f"{probes}/readyz") as response:
                assert response.status == 200, await response.text()
        drain = asyncio.create_task(_drain(process.stderr))
        await asyncio.sleep(IDLE_SECONDS)
        drain.cancel()
        return _rss(process.pid)
    finally:
        process.terminate()
        await process.wait()


async def _install_crds(kubeconfig: Path) -> None:
    from smk8s.dev import crd_files, default_crd_dir, install_crds
    from smk8s.kube import load_api_client

    api = await load_api_client(str(kubeconfig))
    try:
        await install_crds(api, crd_files(default_crd_dir()))
    finally:
        await api.close()


def _rss(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")) * 1024


async def _drain(stream: asyncio.StreamReader) -> None:
    async for _ in stream:
        pass


def _report(label: str, rss: int) -> None:
    verdict = "ok" if rss < TARGET_BYTES else "OVER TARGET"
    print(f"manager idle RSS: {label:40s} {rss / 1e6:6.1f} MB ({rss / 2**20:.1f} MiB; target < 80 MB: {verdict})")


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = Path(tmp, "kubeconfig")
        emulator = await _kube_emulator(kubeconfig)
        try:
            await _install_crds(kubeconfig)
            shipped = await _idle_rss([sys.executable, "-m", "smk8s", "manager"], kubeconfig)
            _report("smk8s manager (all controllers)", shipped)
            one = await _idle_rss([sys.executable, "-m", "benchmarks.manager_rss", "--child"], kubeconfig)
            _report("one ConfigMap controller, 0 objects", one)
        finally:
            emulator.terminate()
            await emulator.wait()


def _child(argv: list[str]) -> int:
    from smk8s.manager import Controller, Manager, Request, Result
    from smk8s.manager import cli as manager_cli

    def setup(manager: Manager, args: argparse.Namespace) -> None:
        informer = manager.informers.informer("", "v1", "configmaps")

        async def reconcile(request: Request) -> Result:
            return Result()

        manager.add_controller(Controller("configmap", reconcile, informer=informer, max_concurrent_reconciles=2))

    parser = argparse.ArgumentParser(prog="manager_rss --child")
    manager_cli.add_arguments(parser)
    return manager_cli.main(parser.parse_args(argv), [setup])


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        sys.exit(_child(sys.argv[2:]))
    asyncio.run(main())
