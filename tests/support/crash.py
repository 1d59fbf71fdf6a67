"""Crash tests' cluster and manager lives: real ``smk8s manager`` processes SIGKILLed at seeded moments.

The kube and AWS emulators run in the test's process (:func:`running_cluster`) and outlive every manager. Each
manager is a real process running ``smk8s manager`` (forked from :mod:`tests.support.manager_forkserver`, so
restarts skip Python's start-up) and is killed with SIGKILL: no graceful shutdown, requests cut mid-flight.
:class:`ManagerLives` runs those lives: the test does its work between :meth:`ManagerLives.begin` and
:meth:`ManagerLives.kill`, whose moment comes from the test's seeded random generator, and ends with
:meth:`ManagerLives.last`, a life that runs until the watched objects satisfy the test's predicate. Everything
waited for is observed (``/readyz``, the informer's watch events); only the kill moments are sleeps, as inputs.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from smk8s.api.v1.common import GROUP, VERSION
from smk8s.emulators.aws.server import AwsEmulator
from smk8s.emulators.kube.server import KubeEmulator
from smk8s.informers import SharedInformer, SharedInformerFactory
from smk8s.kube import load_api_client
from tests.support.controllers import AWS_TIME_SCALE, ROOT, install_crds
from tests.support.manager_forkserver import ForkServer

Obj = dict[str, Any]
POLL = "0.05"
DEADLINE = 60.0


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
    """Both emulators, an API client, and the ``smk8s manager`` command line and environment to run against them."""

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


class ManagerLives:
    """Manager processes over ``cluster``, one at a time, and an informer on the ``plural`` objects under test.

    Use as an async context manager; per life: :meth:`begin`, the test's work, :meth:`kill`; then :meth:`last`.
    """

    def __init__(self, cluster: Cluster, plural: str) -> None:
        self.cluster = cluster
        self.log = str(cluster.tmp / "manager.log")
        self._factory = SharedInformerFactory(cluster.api, namespaces=["default"])
        self.informer = self._factory.informer(GROUP, VERSION, plural)
        self._stack = AsyncExitStack()
        self._pid: int | None = None
        self.kills = 0

    async def __aenter__(self) -> ManagerLives:
        self._factory.start()
        self._stack.push_async_callback(self._factory.shutdown)
        self._server = await self._stack.enter_async_context(ForkServer(self.cluster.env))
        self._http = await self._stack.enter_async_context(aiohttp.ClientSession())
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            if self._pid is not None:  # a life the test did not end (it failed): end it
                os.kill(self._pid, signal.SIGKILL)
                await self._server.reap(self._pid)
        finally:
            await self._stack.aclose()

    async def begin(self) -> None:
        """Start a manager process (not waiting for it to be ready)."""
        assert self._pid is None, "the previous life was not ended"
        self._pid = await self._server.spawn(self.cluster.argv, self.log)

    async def ready(self) -> None:
        """Wait until the running manager's ``/readyz`` answers 200."""
        await wait_ready(self._http, self.cluster.readyz)

    async def kill(self, rng: random.Random, delay: tuple[float, float], early: float = 0.0) -> None:
        """SIGKILL the running manager: with probability ``early`` at a random moment of its start-up (within
        0.6 s), else ``uniform(*delay)`` seconds after ``/readyz`` answers. Asserts that the kill ended it (it had
        not exited by itself)."""
        assert self._pid is not None
        if early and rng.random() < early:
            await asyncio.sleep(rng.uniform(0.0, 0.6))  # the test's input: a moment of start-up
        else:
            await wait_ready(self._http, self.cluster.readyz)
            await asyncio.sleep(rng.uniform(*delay))  # the test's input: a moment of work
        pid, self._pid = self._pid, None
        os.kill(pid, signal.SIGKILL)
        status = await self._server.reap(pid)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, f"life ended by itself: {status}"
        self.kills += 1

    async def last(self, done: Callable[[list[Obj]], bool]) -> list[Obj]:
        """A last life that runs until ``done(every watched object)``, then stops gracefully; the objects."""
        await self.begin()
        assert self._pid is not None
        try:
            return await wait_until(self.informer, done)
        finally:
            pid, self._pid = self._pid, None
            os.kill(pid, signal.SIGTERM)
            await self._server.reap(pid)
