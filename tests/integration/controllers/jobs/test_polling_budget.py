"""Behaviour 4 (issue 6): with many jobs running, the poller stays within the API budget and reports completions fast.

Both emulators in-process; the AWS emulator's virtual clock is frozen (a time scale of 1e-9) and moved only by the
test (``aws.advance``), so every job changes exactly when the test says and the real instant of each completion in
SageMaker is known. The manager's clock is real: its poll interval ``POLL`` and every rate below are in real seconds.

1. N jobs are created and reach InProgress, then the clock is advanced past their launch (each job's secondary
   status moves to Training) and the poller settles.
2. Steady state: every ``PACE`` real seconds the clock is advanced so that exactly one job completes. Each completion
   must show as ``Completed`` in Kubernetes within 2 poll intervals of the advance; the SageMaker calls of the window
   (emulator stats, by operation) must average at most 2 per real second.
3. Tail: after the last completion was described, several poll intervals pass: no further Describe (a settled
   terminal job is never reported again, though the look-back margin lists it again), only the List per interval
   of the jobs still running.

N is 200 by default (``SMK8S_POLL_BUDGET_JOBS`` overrides it): setting up 1,000 objects through the manager takes
about 65 s here, beyond this test's budget; with 1,000 it passes the same way (about 90 s). The steady-state cost
does not depend on N: each List chain is filtered by the cursor, so it reads only the jobs modified within the
60 s look-back margin of the newest change (one page here, whatever N), and only jobs that changed are described.
The one N-dependent term, the hourly resync Describe per tracked job (N / 3600 per second, 0.28/s for 1,000), is
beyond this window; ``tests/unit/sagemaker/test_poller.py`` simulates 1,000 jobs for two hours on the pure core,
resyncs included (about 1.2 calls/s at a 1 s interval).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from smk8s.emulators.aws.server import AwsEmulator
from smk8s.emulators.kube.server import KubeEmulator
from smk8s.kube import load_api_client
from tests.integration.controllers.jobs.conftest import Harness, install_crds, sample

N = int(os.environ.get("SMK8S_POLL_BUDGET_JOBS", "200"))  # 1,000 takes ~90 s to set up: see the docstring
POLL = 1.0  # real seconds (--poll-interval)
PACE = 1.5 * POLL  # real seconds between completions in the steady-state window
COMPLETIONS = 8
BURST = 6  # jobs ending at the same instant after the window
GAP = 1_000.0  # virtual seconds between consecutive jobs' ends (> the poller's 60 s look-back margin)
FIRST_END = 5_000_000.0  # virtual seconds after creation: the first completing job's end (progress lines, which
# move LastModifiedTime, then come every FIRST_END / MAX_PROGRESS_LINES: at most one per job in the window)
FOREVER = 10_000_000_000  # virtual seconds: the other jobs' duration (their progress lines come every 5e7 s)
DURATION_TAG = "emulator.smk8s/duration-seconds"
Obj = dict[str, Any]


def _job(index: int) -> Obj:
    obj = sample("trainingjob-xgboost-mnist")
    obj["metadata"] = {"name": f"job-{index:04d}"}
    if index <= COMPLETIONS:
        duration = FIRST_END + index * GAP
    elif index <= COMPLETIONS + BURST:
        duration = FIRST_END + (COMPLETIONS + 1) * GAP
    else:
        duration = FOREVER
    obj["spec"]["tags"] = [{"key": DURATION_TAG, "value": str(int(duration))}]
    obj["spec"]["stoppingCondition"] = {"maxRuntimeInSeconds": 2 * FOREVER}
    return obj


@asynccontextmanager
async def _frozen_harness() -> AsyncIterator[Harness]:
    config = {"rates": {"*": None}, "quotas": {"training-jobs-running": 10 * N, "ml.m5.large-training": 10 * N}}
    async with KubeEmulator() as kube, AwsEmulator(time_scale=1e-9, config=config) as aws:
        api = await load_api_client(kube.kubeconfig)
        try:
            await install_crds(api)
            env = Harness(kube, aws, api, poll_interval=POLL, max_concurrent_reconciles=16, kinds=("TrainingJob",))
            env.start()
            try:
                yield env
            finally:
                await env.stop()
        finally:
            await api.close()


class _Watch:
    """Counts, from the informer, objects per status and the first real instant each showed ``Completed``."""

    def __init__(self, env: Harness) -> None:
        from smk8s.api.v1.common import GROUP, VERSION

        self.informer = env.manager.informers.informer(GROUP, VERSION, "trainingjobs")
        self.completed_at: dict[str, float] = {}
        self.changed = asyncio.Event()
        self.informer.add_event_handler(self._seen, lambda _old, new: self._seen(new))

    def _seen(self, obj: Obj) -> None:
        status = obj.get("status") or {}
        name = obj["metadata"]["name"]
        if status.get("trainingJobStatus") == "Completed" and name not in self.completed_at:
            self.completed_at[name] = time.monotonic()
        self.changed.set()

    def count(self, field: str, value: str) -> int:
        return sum(1 for o in self.informer.store.list() if (o.get("status") or {}).get(field) == value)

    async def until(self, predicate: Any, deadline: float = 30.0 + N / 10) -> None:
        async with asyncio.timeout(deadline):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()


def _calls(env: Harness) -> dict[str, int]:
    stats = env.aws.stats()["calls"].get("sagemaker", {})
    return {op: sum(outcomes.values()) for op, outcomes in stats.items()}


def _diff(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {op: n - before.get(op, 0) for op, n in after.items() if n != before.get(op, 0)}


async def _quiet(env: Harness, polls: int) -> dict[str, int]:
    """The calls made while ``polls`` poll intervals pass (a workload pause, not a wait for a condition)."""
    before = _calls(env)
    await asyncio.sleep(polls * POLL)
    return _diff(_calls(env), before)


async def test_many_running_jobs_stay_within_the_call_budget_and_completions_show_within_two_polls() -> None:
    async with _frozen_harness() as env:
        watch = _Watch(env)
        for start in range(0, N, 100):
            await asyncio.gather(*(env.create(_job(i)) for i in range(start, min(start + 100, N))))
        t0 = time.monotonic()
        await watch.until(lambda: watch.count("trainingJobStatus", "InProgress") == N)
        t1 = time.monotonic()
        env.aws.advance(600)  # every job: Starting -> Downloading -> Training
        await watch.until(lambda: watch.count("secondaryStatus", "Training") == N)
        print(f"\nsetup: all InProgress {t1 - t0:.1f}s, all Training {time.monotonic() - t1:.1f}s")

        # The first completion moves the List cursor past the launch burst; the window starts after it.
        env.aws.advance(FIRST_END)
        await watch.until(lambda: "job-0000" in watch.completed_at)
        await _quiet(env, 2)

        before, started = _calls(env), time.monotonic()
        latencies: list[float] = []
        for k in range(1, COMPLETIONS + 1):
            advanced = time.monotonic()
            env.aws.advance(GAP)  # exactly job k ends
            name = f"job-{k:04d}"
            await watch.until(lambda name=name: name in watch.completed_at)
            latencies.append(watch.completed_at[name] - advanced)
            await asyncio.sleep(max(0.0, advanced + PACE - time.monotonic()))  # the workload's pace
        window = time.monotonic() - started
        calls = _diff(_calls(env), before)
        rate = sum(calls.values()) / window
        print(f"\nN={N} window={window:.1f}s calls={calls} rate={rate:.2f}/s latencies="
              f"{[round(x, 2) for x in latencies]}")

        assert max(latencies) <= 2 * POLL, latencies
        assert rate <= 2.0, (rate, calls, window)
        assert watch.count("trainingJobStatus", "Completed") == COMPLETIONS + 1
        # Every completion was described once for its details (model path), and nothing else was.
        assert calls.get("DescribeTrainingJob", 0) <= COMPLETIONS, calls
        done = await env.get("TrainingJob", f"job-{COMPLETIONS:04d}")
        await watch.until(lambda: all((o.get("status") or {}).get("modelPath") for o in watch.informer.store.list()
                                      if (o.get("status") or {}).get("trainingJobStatus") == "Completed"))
        assert done["status"]["trainingJobStatus"] == "Completed"

        tail = await _quiet(env, 5)
        print(f"tail (5 polls): {tail}")
        assert tail.get("DescribeTrainingJob", 0) == 0, tail  # settled terminal jobs are not re-reported
        assert tail.get("ListTrainingJobs", 0) <= 6, tail

        # A burst: BURST jobs end at once. All show Completed within 2 polls, from the List summaries (not one
        # Describe each first); the Describes with the details follow at the reconciler's follow-up rate.
        before = _calls(env)
        advanced = time.monotonic()
        env.aws.advance(GAP)
        burst = [f"job-{k:04d}" for k in range(COMPLETIONS + 1, COMPLETIONS + BURST + 1)]
        await watch.until(lambda: all(name in watch.completed_at for name in burst))
        shown = _diff(_calls(env), before)
        burst_latency = max(watch.completed_at[name] for name in burst) - advanced
        print(f"burst of {BURST}: all Completed after {burst_latency:.2f}s, calls until then {shown}")
        assert burst_latency <= 2 * POLL
        assert shown.get("DescribeTrainingJob", 0) < BURST, shown
        await watch.until(lambda: all((watch.informer.store.get(f"default/{name}") or {}).get("status", {}).get(
            "modelPath") for name in burst))
        assert _diff(_calls(env), before).get("DescribeTrainingJob", 0) == BURST  # one each, no more
