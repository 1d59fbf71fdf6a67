"""Crash safety: the manager SIGKILLed at 50 seeded moments while 200 TrainingJobs are created, restarted each time.

The kube and AWS emulators run in this process (they outlive every manager); each manager is a real process
running ``smk8s manager`` (forked from :mod:`tests.support.manager_forkserver`, so restarts skip Python's start-up)
and killed with SIGKILL: no graceful shutdown, requests cut mid-flight. The test's input is the seeded schedule
(objects created per life, wall-clock delay before each kill); everything it waits for is observed (``/readyz``,
the informer's watch events). Afterwards every object has exactly one SageMaker job (by the uid tag), none has
two, no SageMaker job lacks an object, and SageMaker accepted exactly one CreateTrainingJob per object.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from smk8s.api.v1.common import GROUP, VERSION
from smk8s.controllers.jobs import core
from smk8s.emulators.aws.server import AwsEmulator
from smk8s.emulators.kube.server import KubeEmulator
from smk8s.informers import SharedInformer, SharedInformerFactory
from smk8s.kube import CustomResourceClient, load_api_client
from tests.integration.controllers.jobs.conftest import ROOT, install_crds, sample
from tests.support.manager_forkserver import ForkServer

Obj = dict[str, Any]
SEED = 20240611
OBJECTS = 200
KILLS = 50
PER_LIFE = OBJECTS // KILLS  # objects created at the start of each manager life
EARLY_KILLS = 0.2  # fraction of lives killed at a random moment of start-up, before /readyz answers
KILL_DELAY = (0.0, 0.3)  # else: seconds after /readyz, uniform
AWS_TIME_SCALE = 10_000.0
POLL = "0.05"
DEADLINE = 60.0


def training(index: int) -> Obj:
    obj = sample("trainingjob-xgboost-mnist")
    obj["metadata"] = {"name": f"crash-{index:03d}", "namespace": "default"}
    return obj


async def wait_until(informer: SharedInformer, done: Callable[[list[Obj]], bool]) -> list[Obj]:
    """Wait on the informer's events until ``done(all cached objects)``."""
    changed = asyncio.Event()
    registration = informer.add_event_handler(lambda _o: changed.set(), lambda _o, _n: changed.set(),
                                              lambda _o: changed.set())
    try:
        async with asyncio.timeout(DEADLINE):
            while True:
                changed.clear()
                items: list[Obj] = list(informer.store.list())
                if done(items):
                    return items
                await changed.wait()
    finally:
        registration.remove()


async def wait_ready(http: aiohttp.ClientSession, url: str) -> None:
    """Poll ``/readyz`` (connection refused until the probe server listens) until it answers 200."""
    async with asyncio.timeout(DEADLINE):
        while True:
            try:
                async with http.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.01)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Cluster:
    def __init__(self, kube: KubeEmulator, aws: AwsEmulator, api: Any, tmp: Path) -> None:
        self.kube, self.aws, self.api, self.tmp = kube, aws, api, tmp
        self.kubeconfig = tmp / "kubeconfig"
        kube.write_kubeconfig(self.kubeconfig)
        self.port = free_port()
        self.readyz = f"http://127.0.0.1:{self.port}/readyz"
        self.argv = ["--kubeconfig", str(self.kubeconfig), "--sagemaker-endpoint", aws.url, "--poll-interval", POLL,
                     "--max-concurrent-reconciles", "4", "--metrics-bind-address", "0",
                     "--health-probe-bind-address", f"127.0.0.1:{self.port}", "--log-level", "warning"]
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), "AWS_ACCESS_KEY_ID": "AKIDEMULATOR",
                    "AWS_SECRET_ACCESS_KEY": "emulator-secret", "AWS_DEFAULT_REGION": "us-west-2"}


@asynccontextmanager
async def running_cluster(tmp: Path, aws_config: Obj | None = None) -> AsyncIterator[Cluster]:
    """Both emulators in-process with every kind's CRD (a manager process runs every controller); ``aws_config``:
    the AWS emulator's, besides rate limits off. The crash tests of every controller share it."""
    config = {"rates": {"*": None}, **(aws_config or {})}
    async with KubeEmulator() as kube, AwsEmulator(time_scale=AWS_TIME_SCALE, config=config) as aws:
        cluster = Cluster(kube, aws, None, tmp)
        cluster.api = await load_api_client(str(cluster.kubeconfig))
        try:
            await install_crds(cluster.api)
            yield cluster
        finally:
            await cluster.api.close()


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    async with running_cluster(tmp_path, {"quotas": {"training-jobs-running": 10_000}}) as running:
        yield running


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork server and SIGKILL semantics: Linux")
async def test_sigkilled_at_50_moments_while_200_jobs_are_created_each_object_has_exactly_one_job(
    cluster: Cluster,
) -> None:
    rng = random.Random(SEED)
    jobs = CustomResourceClient(cluster.api, GROUP, VERSION, "trainingjobs")
    factory = SharedInformerFactory(cluster.api, namespaces=["default"])
    informer = factory.informer(GROUP, VERSION, "trainingjobs")
    factory.start()
    log = str(cluster.tmp / "manager.log")
    killed = 0
    try:
        async with ForkServer(cluster.env) as server, aiohttp.ClientSession() as http:
            for life in range(KILLS):
                pid = await server.spawn(cluster.argv, log)
                await asyncio.gather(*(jobs.create(training(i)) for i in range(life * PER_LIFE,
                                                                                 (life + 1) * PER_LIFE)))
                if rng.random() < EARLY_KILLS:
                    await asyncio.sleep(rng.uniform(0.0, 0.6))  # the test's input: a moment of start-up
                else:
                    await wait_ready(http, cluster.readyz)
                    await asyncio.sleep(rng.uniform(*KILL_DELAY))  # the test's input: a moment of work
                os.kill(pid, signal.SIGKILL)
                status = await server.reap(pid)
                killed += os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
            assert killed == KILLS  # no life ended by itself before its kill
            # The last life: it runs until every object shows its job Completed.
            pid = await server.spawn(cluster.argv, log)
            try:
                objects = await wait_until(informer, lambda items: len(items) == OBJECTS and all(
                    (o.get("status") or {}).get("trainingJobStatus") == "Completed" for o in items))
            finally:
                os.kill(pid, signal.SIGTERM)
                await server.reap(pid)
    finally:
        await factory.shutdown()

    state = cluster.aws.state()["sagemaker"]
    training_jobs: dict[str, Obj] = state["jobs"]["training"]
    tags: dict[str, dict[str, str]] = state["tags"]
    uid_of_job = {name: tags.get(job["TrainingJobArn"], {}).get(core.TAG_UID) for name, job in training_jobs.items()}
    uids = {o["metadata"]["uid"]: o for o in objects}
    per_uid = Counter(uid_of_job.values())
    assert len(uids) == OBJECTS
    assert not [uid for uid in uids if per_uid[uid] != 1], "objects without exactly one SageMaker job"
    assert not [name for name, uid in uid_of_job.items() if uid not in uids], "SageMaker jobs without an object"
    for uid, obj in uids.items():  # and each object mirrors its own job
        name = obj["status"]["sageMakerTrainingJobName"]
        assert uid_of_job[name] == uid and core.FINALIZER in obj["metadata"]["finalizers"]
    creates = cluster.aws.stats()["calls"]["sagemaker"]["CreateTrainingJob"]
    assert creates.get("ok") == OBJECTS  # SageMaker accepted one Create per object, never a second
