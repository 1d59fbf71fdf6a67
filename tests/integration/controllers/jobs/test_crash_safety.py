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
import random
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from smk8s.api.v1.common import GROUP, VERSION
from smk8s.controllers.jobs import core
from smk8s.kube import CustomResourceClient
from tests.support.controllers import sample
from tests.support.crash import Cluster, ManagerLives, running_cluster

Obj = dict[str, Any]
SEED = 20240611
OBJECTS = 200
KILLS = 50
PER_LIFE = OBJECTS // KILLS  # objects created at the start of each manager life
EARLY_KILLS = 0.2  # fraction of lives killed at a random moment of start-up, before /readyz answers
KILL_DELAY = (0.0, 0.3)  # else: seconds after /readyz, uniform


def training(index: int) -> Obj:
    obj = sample("trainingjob-xgboost-mnist")
    obj["metadata"] = {"name": f"crash-{index:03d}", "namespace": "default"}
    return obj


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
    async with ManagerLives(cluster, "trainingjobs") as lives:
        for life in range(KILLS):
            await lives.begin()
            await asyncio.gather(*(jobs.create(training(i)) for i in range(life * PER_LIFE, (life + 1) * PER_LIFE)))
            await lives.kill(rng, KILL_DELAY, early=EARLY_KILLS)
        # The last life: it runs until every object shows its job Completed.
        objects = await lives.last(lambda items: len(items) == OBJECTS and all(
            (o.get("status") or {}).get("trainingJobStatus") == "Completed" for o in items))

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
