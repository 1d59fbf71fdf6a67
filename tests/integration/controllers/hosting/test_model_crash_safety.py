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
import random
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from smk8s.api.v1 import convert
from smk8s.api.v1.common import GROUP, VERSION
from smk8s.api.v1.model import ModelSpec
from smk8s.controllers.hosting import resources_core as rc
from smk8s.controllers.jobs import core
from smk8s.kube import CustomResourceClient
from tests.integration.controllers.hosting.resources_env import sample
from tests.support.crash import Cluster, ManagerLives, running_cluster

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
    created = 0
    async with ManagerLives(cluster, "models") as lives:
        for life in range(LIVES):
            await lives.begin()
            await asyncio.gather(*(models.create(model(i)) for i in range(created, created + NEW_PER_LIFE)))
            created += NEW_PER_LIFE
            await lives.ready()
            for index in rng.sample(range(created), min(EDITS_PER_LIFE, created)):
                image = f"246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:{life}-{index}"
                await models.patch("default", f"crash-model-{index:02d}", {"spec": {"primaryContainer": {
                    "image": image}}})
            await lives.kill(rng, KILL_DELAY)
        # The last life runs until every object is Ready for its latest spec.
        objects = await lives.last(lambda items: len(items) == created and all(
            (o.get("status") or {}).get("observedGeneration") == o["metadata"]["generation"]
            and (o.get("status") or {}).get("sageMakerModelName") == expected_name(o) for o in items))

    state = cluster.aws.state()["sagemaker"]
    in_sagemaker: dict[str, Obj] = state["hosting"]["models"]
    tags: dict[str, dict[str, str]] = state["tags"]
    wanted = {expected_name(o): o["metadata"]["uid"] for o in objects}
    assert set(in_sagemaker) == set(wanted), "models missing, or left behind by interrupted replacements"
    for name, uid in wanted.items():
        assert tags[in_sagemaker[name]["arn"]][core.TAG_UID] == uid
    assert all(core.FINALIZER in o["metadata"]["finalizers"] for o in objects)
