"""Informer memory per cached object: 10,000 ConfigMaps of about 2 KB each, cached by one informer.

The API server is the emulator in its own process (``smk8s emulate kube``), so only the informer's memory is traced
(tracemalloc, in this process). The figure printed is the memory the informer keeps per object beyond the object's
own JSON size (compact JSON of the cached, transformed object): parsed dicts and strings, the store and its
namespace index. Target (issue 4): under 4 KB.
"""

from __future__ import annotations

import asyncio
import gc
import json
import time
import tracemalloc
from typing import Any

import aiohttp
from kubernetes_asyncio import config

from benchmarks.kube_emulator import CONCURRENCY, emulator_process
from smk8s.informers import SharedInformerFactory

OBJECTS = 10_000
TARGET_BYTES = 4096


def configmap(i: int) -> dict[str, Any]:
    """About 2 KB of JSON as served (metadata with labels and annotations, 16 data keys), managedFields apart."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": f"training-job-config-{i:05d}",
            "labels": {
                "app.kubernetes.io/name": "trainer",
                "app.kubernetes.io/instance": f"job-{i}",
                "shard": str(i % 8),
            },
            "annotations": {"sagemaker.aws.amazon.com/job-name": f"training-job-{i:05d}-3f9a2c"},
        },
        "data": {f"hyperparameter-{k:02d}": f"{k * 0.001 + i:.6f}-" + "v" * 70 for k in range(16)},
    }


async def create_all(url: str, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(OBJECTS):
        queue.put_nowait(i)
    async with aiohttp.ClientSession(headers=headers, connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as session:

        async def worker() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                async with session.post(f"{url}/api/v1/namespaces/default/configmaps", json=configmap(i)) as resp:
                    assert resp.status == 201, await resp.text()

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))


async def main() -> None:
    async with emulator_process() as (url, token):
        await create_all(url, token)
        kubeconfig = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "e", "cluster": {"server": url}}],
            "users": [{"name": "e", "user": {"token": token}}],
            "contexts": [{"name": "e", "context": {"cluster": "e", "user": "e"}}],
            "current-context": "e",
        }
        api = await config.new_client_from_config_dict(kubeconfig)
        async with api:
            gc.collect()
            tracemalloc.start()
            baseline = tracemalloc.get_traced_memory()[0]
            factory = SharedInformerFactory(api, namespaces=["default"])
            informer = factory.informer("", "v1", "configmaps")
            started = time.perf_counter()
            factory.start()
            assert await factory.wait_for_cache_sync()
            sync_seconds = time.perf_counter() - started
            gc.collect()
            cached = tracemalloc.get_traced_memory()[0] - baseline
            tracemalloc.stop()
            objects = informer.store.list()
            assert len(objects) == OBJECTS
            json_bytes = sum(len(json.dumps(o, separators=(",", ":"))) for o in objects)
            overhead = (cached - json_bytes) / OBJECTS
            await factory.shutdown()
    verdict = "ok" if overhead < TARGET_BYTES else "OVER TARGET"
    print(
        f"informer: {OBJECTS} objects of {json_bytes / OBJECTS / 1024:.1f} KB JSON cached in {sync_seconds:.1f} s; "
        f"{cached / OBJECTS / 1024:.1f} KB each, {overhead / 1024:.2f} KB beyond JSON "
        f"(target < {TARGET_BYTES // 1024} KB: {verdict})"
    )


if __name__ == "__main__":
    asyncio.run(main())
