"""Workqueue throughput: add/get/done cycles per second beside a bare ``asyncio.Queue`` doing the same work.

Each round a producer adds ``BATCH`` distinct items and waits until ``WORKERS`` workers have taken and released all
of them (``get`` then ``done``; for the bare queue ``get`` then ``task_done``). The target is the workqueue within
3x of the bare queue; the metered line (prometheus counters and histograms on every cycle) is for information.
"""

from __future__ import annotations

import asyncio
import time

from prometheus_client import CollectorRegistry

from smk8s.workqueue import RateLimitingQueue, ShutDown, WorkqueueMetrics, WorkqueueMetricsProvider

BATCH = 1000
ROUNDS = 200
WORKERS = 8


async def bare_queue_cycles() -> float:
    queue: asyncio.Queue[int] = asyncio.Queue()
    finished = 0
    round_done = asyncio.Event()

    async def worker() -> None:
        nonlocal finished
        while True:
            item = await queue.get()
            if item < 0:
                return
            queue.task_done()
            finished += 1
            if finished == BATCH:
                round_done.set()

    workers = [asyncio.create_task(worker()) for _ in range(WORKERS)]
    start = time.perf_counter()
    for _ in range(ROUNDS):
        finished = 0
        round_done.clear()
        for item in range(BATCH):
            queue.put_nowait(item)
        await round_done.wait()
    elapsed = time.perf_counter() - start
    for _ in workers:
        queue.put_nowait(-1)
    await asyncio.gather(*workers)
    return BATCH * ROUNDS / elapsed


async def workqueue_cycles(metered: bool) -> float:
    metrics = WorkqueueMetrics(WorkqueueMetricsProvider(CollectorRegistry()), "bench") if metered else None
    queue: RateLimitingQueue[int] = RateLimitingQueue("bench", metrics=metrics)
    finished = 0
    round_done = asyncio.Event()

    async def worker() -> None:
        nonlocal finished
        while True:
            try:
                item = await queue.get()
            except ShutDown:
                return
            queue.done(item)
            finished += 1
            if finished == BATCH:
                round_done.set()

    workers = [asyncio.create_task(worker()) for _ in range(WORKERS)]
    start = time.perf_counter()
    for _ in range(ROUNDS):
        finished = 0
        round_done.clear()
        for item in range(BATCH):
            queue.add(item)
        await round_done.wait()
    elapsed = time.perf_counter() - start
    queue.shutdown()
    await asyncio.gather(*workers)
    return BATCH * ROUNDS / elapsed


async def main() -> None:
    bare = await bare_queue_cycles()
    plain = await workqueue_cycles(metered=False)
    metered = await workqueue_cycles(metered=True)
    ratio = bare / plain
    verdict = "ok" if ratio <= 3 else "OVER TARGET"
    note = f"bare/this {ratio:.2f}, target 3: {verdict}"
    print(f"workqueue: bare asyncio.Queue add/get/done  {bare:10.0f} cycles/s ({WORKERS} workers)")
    print(f"workqueue: RateLimitingQueue add/get/done   {plain:10.0f} cycles/s ({note})")
    print(f"workqueue: same, with prometheus metrics    {metered:10.0f} cycles/s (bare/this {bare / metered:.2f})")


if __name__ == "__main__":
    asyncio.run(main())
