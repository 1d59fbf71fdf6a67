"""The emulated API server under load: creates per second, listing 10,000 objects, fan-out to 50 watchers.

The emulator runs as its own process (``smk8s emulate kube``), as it does under ``make run``; the load comes from
this process over HTTP with aiohttp, so client and server do not share an event loop. :func:`main`'s arguments
default to what ``make bench`` runs. It prints three lines::

    kube emulator: create ConfigMap        <rate> objects/s (<n> clients)
    kube emulator: list <n> ConfigMaps  <ms> ms median (<size> MB)
    kube emulator: fan-out to <n> watchers  p50 <ms> ms, max <ms> ms (write response to ..., <n> events)
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import yaml

OBJECTS = 10_000
WATCHERS = 50
FANOUT_EVENTS = 20
CONCURRENCY = 32


@asynccontextmanager
async def emulator_process(watch_history: int = OBJECTS * 2) -> AsyncIterator[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = Path(tmp, "kubeconfig")
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "smk8s",
            "emulate",
            "kube",
            "--port",
            "0",
            "--kubeconfig",
            str(kubeconfig),
            "--watch-history",
            str(watch_history),
            stdout=asyncio.subprocess.PIPE,
        )
        assert proc.stdout is not None
        line = (await proc.stdout.readline()).decode().split()
        url = line[1]
        token = read_token(kubeconfig)
        try:
            yield url, token
        finally:
            proc.terminate()
            await proc.wait()


def read_token(kubeconfig: Path) -> str:
    token: str = yaml.safe_load(kubeconfig.read_text())["users"][0]["user"]["token"]
    return token


def configmap(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"cm-{i:05d}", "labels": {"bench": "true", "shard": str(i % 10)}},
        "data": {"payload": "x" * 200},
    }


async def bench_creates(
    session: aiohttp.ClientSession, url: str, objects: int = OBJECTS, concurrency: int = CONCURRENCY
) -> float:
    """ConfigMaps created per second by ``concurrency`` clients creating ``objects`` in all."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(objects):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            async with session.post(f"{url}/api/v1/namespaces/default/configmaps", json=configmap(i)) as resp:
                assert resp.status == 201, await resp.text()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return objects / (time.perf_counter() - started)


async def bench_list(session: aiohttp.ClientSession, url: str, objects: int = OBJECTS) -> tuple[float, int]:
    """Median seconds to list the ``objects`` ConfigMaps (of 5 lists), and the list's size in bytes."""
    timings = []
    size = 0
    for _ in range(5):
        started = time.perf_counter()
        async with session.get(f"{url}/api/v1/namespaces/default/configmaps") as resp:
            body = await resp.read()
        timings.append(time.perf_counter() - started)
        size = len(body)
        assert len(json.loads(body)["items"]) == objects
    return statistics.median(timings), size


async def bench_fanout(
    session: aiohttp.ClientSession, url: str, watchers: int = WATCHERS, events: int = FANOUT_EVENTS
) -> list[float]:
    """Latency from a write's response to each of ``watchers`` watchers receiving its event, per event."""
    received: list[list[float]] = [[] for _ in range(events)]
    ready = asyncio.Event()
    connected = 0

    async def watcher() -> None:
        nonlocal connected
        params = {"watch": "true", "fieldSelector": "metadata.name=fanout", "resourceVersion": "0"}
        async with session.get(f"{url}/api/v1/namespaces/default/configmaps", params=params) as resp:
            connected += 1
            if connected == watchers:
                ready.set()
            async for raw in resp.content:
                event = json.loads(raw)
                seq = int(event["object"]["data"]["seq"])
                received[seq].append(time.perf_counter())
                if seq == events - 1:
                    return

    tasks = [asyncio.create_task(watcher()) for _ in range(watchers)]
    await ready.wait()
    await asyncio.sleep(0.2)  # let every watch reach its live phase (a benchmark, not a test)
    sent: list[float] = []
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fanout"}, "data": {"seq": "0"}}
    async with session.post(f"{url}/api/v1/namespaces/default/configmaps", json=body) as resp:
        sent.append(time.perf_counter())
        assert resp.status == 201
    for seq in range(1, events):
        patch = {"data": {"seq": str(seq)}}
        async with session.patch(
            f"{url}/api/v1/namespaces/default/configmaps/fanout",
            json=patch,
            headers={"Content-Type": "application/merge-patch+json"},
        ) as resp:
            sent.append(time.perf_counter())
            assert resp.status == 200
        await asyncio.sleep(0.01)
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
    return [max(times) - sent[seq] for seq, times in enumerate(received)]


async def main(
    objects: int = OBJECTS,
    watchers: int = WATCHERS,
    fanout_events: int = FANOUT_EVENTS,
    concurrency: int = CONCURRENCY,
) -> None:
    """Run the three measurements and print their figures (see the module docstring)."""
    async with emulator_process(watch_history=objects * 2) as (url, token):
        headers = {"Authorization": f"Bearer {token}"}
        connector = aiohttp.TCPConnector(limit=concurrency + watchers + 4)
        async with aiohttp.ClientSession(headers=headers, connector=connector) as session:
            creates = await bench_creates(session, url, objects, concurrency)
            print(f"kube emulator: create ConfigMap        {creates:8.0f} objects/s ({concurrency} clients)")
            list_seconds, size = await bench_list(session, url, objects)
            print(
                f"kube emulator: list {objects} ConfigMaps  {list_seconds * 1000:8.1f} ms median ({size / 1e6:.1f} MB)"
            )
            lat = await bench_fanout(session, url, watchers, fanout_events)
            print(
                f"kube emulator: fan-out to {watchers} watchers  "
                f"p50 {statistics.median(lat) * 1000:.1f} ms, max {max(lat) * 1000:.1f} ms "
                f"(write response to the last watcher's receipt, {fanout_events} events)"
            )
