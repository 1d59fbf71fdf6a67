"""Convergence under SageMaker faults: 30 % of calls throttled and 5 % failing with 5xx (seeded emulator faults).

All jobs still complete, SageMaker accepts exactly one CreateTrainingJob per object (one job per name and per uid
tag), and a spec SageMaker rejects is sent at most once per generation, however often the object is reconciled
meanwhile and whatever the faults do to those reconciles.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from smk8s.api.v1.common import GROUP, VERSION
from smk8s.controllers.jobs import core
from smk8s.informers import object_key
from smk8s.sagemaker import ClientSettings
from tests.integration.controllers.jobs.conftest import DEADLINE, Harness, harness, status_is
from tests.integration.controllers.jobs.test_training_job import OUTCOME, ready, training

Obj = dict[str, Any]
FAULTS: list[Mapping[str, Any]] = [
    {"services": ["sagemaker"], "throttle": 0.30, "internal_failure": 0.025, "service_unavailable": 0.025},
]
SEED = 31
FAULTY_DEADLINE = DEADLINE * 2
"""Safety net of each wait: at one attempt per call, a pass fails on any of its calls' faults and backs off 2-5 s, so
a run of failed passes can take tens of seconds (the convergence, not its speed, is under test)."""
JOBS = 20
POKES = 6


def faulted(env: Harness) -> None:
    env.aws.set_faults(FAULTS, seed=SEED)


def outcomes(env: Harness, operation: str) -> dict[str, int]:
    calls: dict[str, int] = env.aws.stats()["calls"].get("sagemaker", {}).get(operation, {})
    return calls


async def wait_all(env: Harness, names: set[str], predicate: Callable[[Obj], bool]) -> list[Obj]:
    """Wait on the TrainingJob informer until every object of ``names`` satisfies ``predicate``."""
    informer = env.manager.informers.informer(GROUP, VERSION, "trainingjobs")
    changed = asyncio.Event()
    registration = informer.add_event_handler(lambda _o: changed.set(), lambda _o, _n: changed.set())
    try:
        async with asyncio.timeout(FAULTY_DEADLINE):
            while True:
                changed.clear()
                items = [o for o in informer.store.list() if object_key(o).partition("/")[2] in names]
                if len(items) == len(names) and all(predicate(o) for o in items):
                    return items
                await changed.wait()
    finally:
        registration.remove()


async def test_with_throttling_and_5xx_every_job_completes_and_is_created_exactly_once() -> None:
    async with harness(max_concurrent_reconciles=4) as env:
        faulted(env)
        names = {f"faulty-{i:02d}" for i in range(JOBS)}
        await asyncio.gather(*(env.create(training(name)) for name in sorted(names)))
        done = await wait_all(env, names, status_is("trainingJobStatus", "Completed"))

        creates = outcomes(env, "CreateTrainingJob")
        assert creates.get("ok") == JOBS, creates  # one accepted Create per object: zero duplicates
        jobs = env.aws.state()["sagemaker"]
        tags = jobs["tags"]
        per_uid = Counter(tags[job["TrainingJobArn"]][core.TAG_UID] for job in jobs["jobs"]["training"].values())
        assert per_uid == Counter({o["metadata"]["uid"]: 1 for o in done})
        # The faults really happened, to Creates too, and were retried (by aiobotocore, then by the reconciler).
        every = env.aws.stats()["calls"]["sagemaker"]
        throttled = sum(ops.get("ThrottlingException", 0) for ops in every.values())
        failed = sum(ops.get("InternalFailure", 0) + ops.get("ServiceUnavailable", 0) for ops in every.values())
        total = sum(sum(ops.values()) for ops in every.values())
        assert 0.2 * total < throttled < 0.4 * total and 0 < failed < 0.1 * total
        assert sum(creates.values()) > JOBS


async def test_with_faults_a_rejected_spec_is_sent_once_per_generation() -> None:
    # One attempt per call: every injected fault reaches the reconciler (no aiobotocore retry hides it), one worker.
    async with harness(settings=ClientSettings(max_attempts=1)) as env:
        faulted(env)
        await env.create(training("invalid", (OUTCOME, "Bogus")))
        blocked = await env.wait("TrainingJob", "invalid", ready("InvalidSpec"), deadline=FAULTY_DEADLINE)
        generation = blocked["metadata"]["generation"]
        assert outcomes(env, "CreateTrainingJob").get("ValidationException") == 1
        # The same generation reconciled again and again (label edits), each pass's SageMaker calls as faulty as
        # the rest. One worker: witness i is reconciled after poke i, and shows its job only after more passes.
        for i in range(POKES):
            await env.clients["TrainingJob"].patch("default", "invalid", {"metadata": {"labels": {"poke": str(i)}}})
            await env.create(training(f"witness-{i}"))
            await env.wait("TrainingJob", f"witness-{i}", status_is("trainingJobStatus", "InProgress", "Completed"),
                           deadline=FAULTY_DEADLINE)
        assert outcomes(env, "CreateTrainingJob").get("ValidationException") == 1
        still = await env.get("TrainingJob", "invalid")
        assert ready("InvalidSpec")(still) and still["metadata"]["generation"] == generation
        # A new generation (the tag fixed) is sent again, once, and runs. (Waiting for InProgress, not Completed:
        # with every call at one attempt, a completion waits for a List the faults may keep backing off, which
        # the first test covers; this one is about Creates.)
        await env.clients["TrainingJob"].patch("default", "invalid", {"spec": {"tags": [{"key": OUTCOME,
                                                                                        "value": "Completed"}]}})
        await env.wait("TrainingJob", "invalid", status_is("trainingJobStatus", "InProgress", "Completed"),
                       deadline=FAULTY_DEADLINE)
        creates = outcomes(env, "CreateTrainingJob")
        assert creates.get("ValidationException") == 1 and creates.get("ok") == POKES + 1
        every = env.aws.stats()["calls"]["sagemaker"]
        assert sum(ops.get("ThrottlingException", 0) for ops in every.values()) > 0
