"""1,000 TrainingJobs through the operator: the job controllers against both emulators, the manager a subprocess.

The kube and AWS emulators run in this process (the AWS one with no rate limits and quotas raised for 1,000
running jobs); ``smk8s manager`` runs as its own process, so its peak RSS (``VmHWM`` of ``/proc/<pid>/status``) is
the manager's alone. Jobs are held InProgress (a duration tag of many virtual days) until every object shows
InProgress; the clock is advanced past their launch (secondary status Training) and, once the poller's look-back
margin has run out, SageMaker calls per second are measured over a window with all 1,000 running (steady state);
then the emulator's clock is advanced past their end and the time until every object shows Completed is
measured. Prints both times, SageMaker calls by operation and outcome (emulator stats), Kubernetes API requests
(kube emulator stats) and the manager's peak RSS.
"""

from __future__ import annotations

import asyncio
import copy
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from smk8s.api.v1.common import GROUP, VERSION
from smk8s.informers import SharedInformer, SharedInformerFactory
from smk8s.kube import CustomResourceClient, load_api_client

ROOT = Path(__file__).resolve().parents[1]
JOBS = 1_000
POLL_INTERVAL = 1.0
CONCURRENT_RECONCILES = 8
DURATION = 10 * 86400  # virtual seconds of training: nothing completes until the clock is advanced
DEADLINE = 150.0
STEADY_WINDOW = 20.0  # real seconds of "1,000 jobs running" over which SageMaker calls per second are measured
SETTLE = 65.0  # real seconds after the launch transitions: the poller's 60 s look-back margin runs out
Obj = dict[str, Any]


def _training(index: int) -> Obj:
    doc: Obj = yaml.safe_load((ROOT / "config" / "samples" / "trainingjob-xgboost-mnist.yaml").read_text())
    obj = copy.deepcopy(doc)
    obj["metadata"] = {"name": f"bench-{index:04d}", "namespace": "default"}
    obj["spec"]["tags"] = [{"key": "emulator.smk8s/duration-seconds", "value": str(DURATION)}]
    obj["spec"]["stoppingCondition"] = {"maxRuntimeInSeconds": 28 * 86400}
    return obj


async def _install_crds(api: Any) -> None:
    """Every kind's CRD (the manager runs every controller; it is ready once all their caches synced)."""
    from smk8s.dev import crd_files, default_crd_dir, install_crds

    await install_crds(api, crd_files(default_crd_dir()))


async def _all(informer: SharedInformer, status: str, field: str = "trainingJobStatus") -> float:
    """Wait on the informer until all JOBS objects show ``status`` in ``field``; the monotonic time it happened."""
    changed = asyncio.Event()
    registration = informer.add_event_handler(lambda _o: changed.set(), lambda _o, _n: changed.set())
    done: Callable[[], bool] = lambda: sum(  # noqa: E731
        1 for o in informer.store.list() if (o.get("status") or {}).get(field) == status) == JOBS
    try:
        async with asyncio.timeout(DEADLINE):
            while not done():
                changed.clear()
                await changed.wait()
        return time.monotonic()
    finally:
        registration.remove()


def _peak_rss(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")) * 1024


async def _ready(url: str) -> None:
    async with aiohttp.ClientSession() as http, asyncio.timeout(60):
        while True:
            try:
                async with http.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.05)


async def main() -> None:
    from smk8s.emulators.aws.server import AwsEmulator
    from smk8s.emulators.kube.server import KubeEmulator

    config = {"rates": {"*": None}, "quotas": {"training-jobs-running": 10 * JOBS}}
    with tempfile.TemporaryDirectory() as tmp:
        async with KubeEmulator() as kube, AwsEmulator(time_scale=1.0, config=config) as aws:
            kubeconfig = Path(tmp, "kubeconfig")
            kube.write_kubeconfig(kubeconfig)
            api = await load_api_client(str(kubeconfig))
            await _install_crds(api)
            probe_port = 18000 + os.getpid() % 20000
            env = {**os.environ, "AWS_ACCESS_KEY_ID": "AKIDEMULATOR", "AWS_SECRET_ACCESS_KEY": "emulator-secret",
                   "AWS_DEFAULT_REGION": "us-west-2"}
            manager = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "smk8s", "manager", "--kubeconfig", str(kubeconfig),
                "--sagemaker-endpoint", aws.url, "--poll-interval", str(POLL_INTERVAL),
                "--max-concurrent-reconciles", str(CONCURRENT_RECONCILES), "--metrics-bind-address", "0",
                "--health-probe-bind-address", f"127.0.0.1:{probe_port}", "--log-level", "warning",
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, env=env,
            )  # fmt: skip
            factory = SharedInformerFactory(api, namespaces=["default"])
            informer = factory.informer(GROUP, VERSION, "trainingjobs")
            factory.start()
            try:
                await _ready(f"http://127.0.0.1:{probe_port}/readyz")
                kube_before = _kube_requests(await _kube_stats(kube.url))
                jobs = CustomResourceClient(api, GROUP, VERSION, "trainingjobs")
                start = time.monotonic()
                for batch in range(0, JOBS, 50):
                    await asyncio.gather(*(jobs.create(_training(i)) for i in range(batch, min(batch + 50, JOBS))))
                created = time.monotonic()
                in_progress = await _all(informer, "InProgress")
                aws.advance(600)  # every job through Starting and Downloading to Training
                await _all(informer, "Training", "secondaryStatus")
                await asyncio.sleep(SETTLE)  # time passing, not a condition: the look-back margin runs out
                steady_before = _sagemaker_calls(aws)
                await asyncio.sleep(STEADY_WINDOW)  # a measurement window
                steady = _diff(_sagemaker_calls(aws), steady_before)
                aws.advance(DURATION + 3600)  # every job has finished in SageMaker from now on
                finished = time.monotonic()
                completed = await _all(informer, "Completed")
                peak = _peak_rss(manager.pid)
                kube_after = _kube_requests(await _kube_stats(kube.url))
            finally:
                manager.terminate()
                await manager.wait()
                await factory.shutdown()
                await api.close()
            stats = aws.stats()["calls"].get("sagemaker", {})
    print(f"operator jobs: {JOBS} TrainingJobs, poll interval {POLL_INTERVAL:g} s, "
          f"{CONCURRENT_RECONCILES} concurrent reconciles, manager as a subprocess")
    print(f"  created all objects in           {created - start:7.2f} s")
    print(f"  all InProgress after             {in_progress - start:7.2f} s (from the first create)")
    print(f"  all Completed after              {completed - finished:7.2f} s (from the emulator finishing them)")
    print(f"  steady state, {JOBS} InProgress, {STEADY_WINDOW:g} s: "
          f"{sum(steady.values()) / STEADY_WINDOW:.2f} SageMaker calls/s "
          f"({', '.join(f'{k}={v}' for k, v in sorted(steady.items())) or 'none'})")
    print(f"  SageMaker calls (total {sum(sum(o.values()) for o in stats.values())}):")
    for operation, outcomes in sorted(stats.items()):
        print(f"    {operation:40s} " + ", ".join(f"{k}={v}" for k, v in sorted(outcomes.items())))
    print(f"  Kubernetes API requests from the manager's readiness to the end: {kube_after - kube_before} "
          f"(this benchmark's own {JOBS} creates and informer included)")
    print(f"  manager peak RSS (VmHWM)         {peak / 1e6:7.1f} MB")


def _sagemaker_calls(aws: Any) -> dict[str, int]:
    stats = aws.stats()["calls"].get("sagemaker", {})
    return {op: sum(outcomes.values()) for op, outcomes in stats.items()}


def _diff(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {op: n - before.get(op, 0) for op, n in after.items() if n != before.get(op, 0)}


async def _kube_stats(url: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.get(f"{url}/_emulator/stats") as response:
        stats: dict[str, Any] = await response.json()
        return stats


def _kube_requests(stats: dict[str, Any]) -> int:
    return int(stats.get("total", 0)) if "total" in stats else sum(_ints(stats.get("requests", {})))


def _ints(tree: Any) -> list[int]:
    if isinstance(tree, int):
        return [tree]
    if isinstance(tree, dict):
        return [n for v in tree.values() for n in _ints(v)]
    return []


if __name__ == "__main__":
    asyncio.run(main())
