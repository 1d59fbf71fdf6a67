"""Manager processes with leader election against the emulated API server.

Each replica is a subprocess running ``tests.support.manager_entry`` (the ``smk8s manager`` command with a test
ConfigMap controller that logs every reconcile) with short lease timings passed as flags. The test reads their JSON
logs as they come and proves: exactly one replica reconciles; probes and ``/metrics`` are served on every replica;
SIGTERM on the leader hands over within 2 s (the lease is released, exit 0); SIGKILL of the leader lets a standby
lead within the lease duration plus two (jittered) retry periods; a leader that can no longer renew exits 1 at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from smk8s.emulators.kube.faults import FaultPlan
from smk8s.emulators.kube.server import KubeEmulator
from smk8s.kube import load_api_client, request_json
from smk8s.leaderelection.elector import JITTER_FACTOR

ROOT = Path(__file__).resolve().parents[3]
LEASE, RENEW, RETRY = 2, 1.5, 0.5
LEASE_ID = "test-lease"
WAIT = 15.0
Line = dict[str, Any]


class Replica:
    """One manager process and the JSON log lines it has written so far."""

    def __init__(self, name: str, process: asyncio.subprocess.Process) -> None:
        self.name = name
        self.process = process
        self.lines: list[Line] = []
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stderr is not None
        async for raw in self.process.stderr:
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            async with self._changed:
                self.lines.append(line)
                self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[Line], bool]) -> Line:
        """The first line matching ``predicate``, waiting for it (15 s at most, a safety net)."""
        try:
            async with asyncio.timeout(WAIT), self._changed:
                while True:
                    for line in self.lines:
                        if predicate(line):
                            return line
                    await self._changed.wait()
        except TimeoutError:
            tail = "\n".join(json.dumps(line) for line in self.lines[-15:])
            raise AssertionError(f"replica {self.name}: no such log line in {WAIT} s; last lines:\n{tail}") from None

    async def wait_event(self, event: str) -> Line:
        return await self.wait_for(lambda line: line.get("event") == event)

    def events(self, event: str) -> list[Line]:
        return [line for line in self.lines if line.get("event") == event]

    def reconciled(self) -> set[str]:
        return {line["key"] for line in self.events("reconciled")}

    def address(self, server: str) -> str:
        (line,) = self.events(f"Starting {server} server")
        return f"http://{line['address']}"

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        self._reader.cancel()


@asynccontextmanager
async def replicas(kubeconfig: Path) -> AsyncIterator[Callable[[str], Any]]:
    started: list[Replica] = []

    async def start(name: str) -> Replica:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.support.manager_entry",
            "--kubeconfig", str(kubeconfig),
            "--leader-elect", "--leader-election-id", LEASE_ID, "--leader-election-namespace", "default",
            "--leader-election-lease-duration", str(LEASE), "--leader-election-renew-deadline", str(RENEW),
            "--leader-election-retry-period", str(RETRY),
            "--metrics-bind-address", "127.0.0.1:0", "--health-probe-bind-address", "127.0.0.1:0",
            cwd=ROOT, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        replica = Replica(name, process)
        started.append(replica)
        return replica

    try:
        yield start
    finally:
        for replica in started:
            await replica.stop()


def _reconciled(name: str) -> Callable[[Line], bool]:
    return lambda line: line.get("event") == "reconciled" and line.get("key") == f"default/{name}"


def _ts(line: Line) -> float:
    return dt.datetime.fromisoformat(line["ts"].replace("Z", "+00:00")).timestamp()


async def _create(api: Any, name: str) -> None:
    await request_json(api, "POST", "/api/v1/namespaces/default/configmaps", body={"metadata": {"name": name}})


async def _get(http: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with http.get(url) as response:
        return response.status, await response.text()


async def test_one_leader_reconciles_and_hands_over_on_sigterm_and_sigkill(tmp_path: Path) -> None:
    async with KubeEmulator() as kube, replicas(tmp_path / "kubeconfig") as start:
        kube.write_kubeconfig(tmp_path / "kubeconfig")
        api = await load_api_client(kube.kubeconfig)
        http = aiohttp.ClientSession()
        try:
            a, b = await asyncio.gather(start("a"), start("b"))
            first = await asyncio.wait_for(_first_leader(a, b), timeout=15)
            leader, standby = (a, b) if first is a else (b, a)
            await standby.wait_event("Attempting to acquire leader lease")

            # Exactly one replica reconciles.
            names = [f"cm-{i}" for i in range(5)]
            for name in names:
                await _create(api, name)
            for name in names:
                await leader.wait_for(_reconciled(name))
            assert standby.reconciled() == set()

            # Probes and metrics on both replicas; the leader gauge tells them apart.
            for replica, leading in ((leader, 1.0), (standby, 0.0)):
                probes, metrics = replica.address("health probe"), replica.address("metrics")
                assert await _get(http, f"{probes}/healthz") == (200, "ok")
                assert await _get(http, f"{probes}/readyz") == (200, "ok")
                status, text = await _get(http, f"{metrics}/metrics")
                assert status == 200
                assert f'leader_election_master_status{{name="{LEASE_ID}"}} {leading}' in text
                # controllers (and so their series) start only on the leader, as controller-runtime's
                assert ('controller_runtime_reconcile_total{controller="configmap",result="error"} 0.0' in text) == (
                    replica is leader
                )

            # SIGTERM: graceful stop, lease released, the standby leads within 2 s; the old leader exits 0.
            terminated_at = time.time()
            leader.process.send_signal(signal.SIGTERM)
            acquired = await standby.wait_event("Successfully acquired lease")
            assert _ts(acquired) - terminated_at < 2.0
            assert await asyncio.wait_for(leader.process.wait(), timeout=10) == 0
            assert leader.events("released lease")
            await _create(api, "after-sigterm")
            await standby.wait_for(_reconciled("after-sigterm"))
            assert "default/after-sigterm" not in leader.reconciled()

            # SIGKILL: nothing is released; a new standby takes over once the lease expires on its own clock.
            leader, standby = standby, await start("c")
            await standby.wait_event("Attempting to acquire leader lease")
            killed_at = time.time()
            os.kill(leader.process.pid, signal.SIGKILL)
            acquired = await standby.wait_event("Successfully acquired lease")
            # Lease duration plus two retry periods; a retry period is jittered up to (1 + 1.2) x RETRY.
            assert _ts(acquired) - killed_at < LEASE + 2 * RETRY * (1 + JITTER_FACTOR)
            await _create(api, "after-sigkill")
            await standby.wait_for(_reconciled("after-sigkill"))

            # A leader that cannot renew exits 1 at once (no graceful shutdown) once its renew deadline passes.
            kube.set_faults(FaultPlan(error_rate=1.0, error_code=500, resources=("leases",)))
            failing_at = time.time()
            assert await asyncio.wait_for(standby.process.wait(), timeout=10) == 1
            assert time.time() - failing_at < RETRY + RENEW + 1.0
            assert standby.events("problem running manager")
            assert not standby.events("Stopping and waiting for controllers")
        finally:
            await http.close()
            await api.close()


async def _first_leader(*candidates: Replica) -> Replica:
    waits = {asyncio.ensure_future(c.wait_event("Successfully acquired lease")): c for c in candidates}
    done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    return waits[done.pop()]
