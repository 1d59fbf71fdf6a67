"""Crash safety of the Model controller: the manager SIGKILLed at 12 seeded moments while 24 Models are created and
edited (every edit replaces the SageMaker model under a new name), restarted each time.

As the job controllers' crash test: the emulators run in this process and outlive every manager; each manager is a
real ``smk8s manager`` process (forked from :mod:`tests.support.manager_forkserver`) killed with SIGKILL, requests
cut mid-flight. Inputs are seeded (objects created and edited per life, the delay before each kill); everything
waited for is observed (``/readyz``, informer watch events). Afterwards every object is Ready for its latest
spec and SageMaker holds exactly the models the objects' current specs name: none missing, none left behind by an
interrupted replacement, each tagged with its object's uid.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from smk8s.api.v1 import convert
from smk8s.api.v1.common import GROUP, VERSION
from smk8s.api.v1.model import ModelSpec
from smk8s.controllers.hosting import resources_core as rc
from smk8s.controllers.jobs import core
from smk8s.informers import SharedInformerFactory
from smk8s.kube import CustomResourceClient
from tests.integration.controllers.hosting.resources_env import sample
from tests.integration.controllers.jobs.test_crash_safety import Cluster, running_cluster, wait_ready, wait_until
from tests.support.manager_forkserver import ForkServer

Obj = dict[str, Any]
SEED = 20261128
LIVES = 12
NEW_PER_LIFE = 2
EDITS_PER_LIFE = 4
KILL_DELAY = (0.0, 0.25)  # seconds after /readyz, uniform


def model(index: int) -> Obj:
    obj = sample("model-xgboost-mnist")
    obj["metadata"] = {"name": f"crash-model-{index:02d}", "namespace": "default"}
    return obj


def expected_name(obj: Obj) -> str:
    request = convert.model_request(ModelSpec.model_validate(obj["spec"]), "-")
    return rc.resource_name(obj["metadata"]["name"], obj["metadata"]["uid"], request)


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    async with running_cluster(tmp_path) as running:
        yield running


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork server and SIGKILL semantics: Linux")
async def test_sigkilled_while_models_are_created_and_replaced_sagemaker_holds_exactly_the_current_models(
    cluster: Cluster,
) -> None:
    rng = random.Random(SEED)
    models = CustomResourceClient(cluster.api, GROUP, VERSION, "models")
    factory = SharedInformerFactory(cluster.api, namespaces=["default"])
    informer = factory.informer(GROUP, VERSION, "models")
    factory.start()
    log = str(cluster.tmp / "manager.log")
    created = 0
    try:
        async with ForkServer(cluster.env) as server, aiohttp.ClientSession() as http:
            for life in range(LIVES):
                pid = await server.spawn(cluster.argv, log)
                await asyncio.gather(*(models.create(model(i)) for i in range(created, created + NEW_PER_LIFE)))
                created += NEW_PER_LIFE
                await wait_ready(http, cluster.readyz)
                for index in rng.sample(range(created), min(EDITS_PER_LIFE, created)):
                    image = f"246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:{life}-{index}"
                    await models.patch("default", f"crash-model-{index:02d}", {"spec": {"primaryContainer": {
                        "image": image}}})
                await asyncio.sleep(rng.uniform(*KILL_DELAY))  # the test's input: a moment of work
                os.kill(pid, signal.SIGKILL)
                status = await server.reap(pid)
                assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
            pid = await server.spawn(cluster.argv, log)  # the last life runs until every object is Ready
            try:
                objects = await wait_until(informer, lambda items: len(items) == created and all(
                    (o.get("status") or {}).get("observedGeneration") == o["metadata"]["generation"]
                    and (o.get("status") or {}).get("sageMakerModelName") == expected_name(o) for o in items))
            finally:
                os.kill(pid, signal.SIGTERM)
                await server.reap(pid)
    finally:
        await factory.shutdown()

    state = cluster.aws.state()["sagemaker"]
    in_sagemaker: dict[str, Obj] = state["hosting"]["models"]
    tags: dict[str, dict[str, str]] = state["tags"]
    wanted = {expected_name(o): o["metadata"]["uid"] for o in objects}
    assert set(in_sagemaker) == set(wanted), "models missing, or left behind by interrupted replacements"
    for name, uid in wanted.items():
        assert tags[in_sagemaker[name]["arn"]][core.TAG_UID] == uid
    assert all(core.FINALIZER in o["metadata"]["finalizers"] for o in objects)
