"""Crash safety: the manager SIGKILLed at seeded moments while HostingDeployments are created and edited.

As the jobs' crash test (:mod:`tests.integration.controllers.jobs.test_crash_safety`): both emulators in this
process, each manager a real ``smk8s manager`` process forked by :class:`~tests.support.manager_forkserver.ForkServer`
and killed with SIGKILL (no graceful shutdown, requests cut mid-flight). Each life starts with new objects and image
edits of existing ones (new models, a new configuration, UpdateEndpoint, clean-up); the kill lands at a seeded moment
of start-up or work. A last life runs until every object is InService at its current generation. Then: every
model, endpoint configuration and endpoint in SageMaker is one an object's status accounts for (nothing orphaned),
and every object's endpoint is InService with exactly the models and configuration its spec maps to.
"""

from __future__ import annotations

import random
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from smk8s.api.v1.common import GROUP, VERSION
from smk8s.api.v1.hosting_deployment import HostingDeploymentSpec
from smk8s.controllers.hosting import deployment_core as dc
from smk8s.controllers.hosting.common import TAG_UID
from smk8s.kube import CustomResourceClient
from tests.integration.controllers.hosting.conftest import sample
from tests.support.crash import Cluster, ManagerLives, running_cluster

Obj = dict[str, Any]
SEED = 20261128
LIVES = 12
NEW_PER_LIFE = 1  # objects created at the start of each life
EDITS_PER_LIFE = 2  # image edits of existing objects at the start of each life
EARLY_KILLS = 0.2
KILL_DELAY = (0.0, 0.4)
IMAGE = "246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:1.7-{}"


def hosting(index: int) -> Obj:
    obj = sample("hostingdeployment-xgboost-mnist")
    obj["metadata"] = {"name": f"crash-{index:02d}", "namespace": "default"}
    obj["spec"]["endpointName"] = f"crash-{index:02d}"
    return obj


def with_image(obj: Obj, version: int) -> Obj:
    models = [dict(m) for m in obj["spec"]["models"]]
    models[0]["containers"] = [{**models[0]["containers"][0], "image": IMAGE.format(version)}]
    return {"spec": {"models": models}}


def settled(obj: Obj) -> bool:
    ready = next((c for c in (obj.get("status") or {}).get("conditions") or () if c["type"] == "Ready"), None)
    return (ready is not None and ready["status"] == "True"
            and ready.get("observedGeneration") == obj["metadata"]["generation"])


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    async with running_cluster(tmp_path) as running:
        yield running


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork server and SIGKILL semantics: Linux")
async def test_sigkilled_during_creates_and_updates_nothing_is_orphaned_and_every_endpoint_is_in_service(
    cluster: Cluster,
) -> None:
    rng = random.Random(SEED)
    objects_api = CustomResourceClient(cluster.api, GROUP, VERSION, "hostingdeployments")
    created = 0
    version = 2
    async with ManagerLives(cluster, "hostingdeployments") as lives:
        for _life in range(LIVES):
            await lives.begin()
            for _ in range(NEW_PER_LIFE):
                await objects_api.create(hosting(created))
                created += 1
            for index in rng.sample(range(created), min(EDITS_PER_LIFE, created)):
                version += 1  # a new image: new models, a new configuration, an UpdateEndpoint
                current = await objects_api.get("default", f"crash-{index:02d}")
                await objects_api.patch("default", f"crash-{index:02d}", with_image(current, version))
            await lives.kill(rng, KILL_DELAY, early=EARLY_KILLS)
        objects = await lives.last(lambda items: len(items) == created and all(settled(o) for o in items))

    state = cluster.aws.state()["sagemaker"]
    tags: dict[str, dict[str, str]] = state["tags"]
    hosting_state = state["hosting"]
    expected: dict[str, set[str]] = {"models": set(), "endpoint_configs": set(), "endpoints": set()}
    for obj in objects:
        desired = dc.desired_state(HostingDeploymentSpec.model_validate(obj["spec"]), obj["metadata"])
        status = obj["status"]
        assert status["endpointStatus"] == "InService" and status["endpointConfigName"] == desired.config_name
        assert {e["name"]: e["value"] for e in status["modelNames"]} == desired.model_names
        expected["models"] |= {m.name for m in desired.models}
        expected["endpoint_configs"].add(desired.config_name)
        expected["endpoints"].add(desired.endpoint_name)
    uids = {o["metadata"]["uid"] for o in objects}
    for kind, wanted in expected.items():
        present = hosting_state[kind]
        assert set(present) == wanted, f"{kind}: orphaned {set(present) - wanted}, missing {wanted - set(present)}"
        assert all(tags.get(item["arn"], {}).get(TAG_UID) in uids for item in present.values())
    assert all(e["status"] == "InService" for e in hosting_state["endpoints"].values())
    # One endpoint per object, ever: a crash never made the manager create a second or delete one.
    creates = cluster.aws.stats()["calls"]["sagemaker"]["CreateEndpoint"]
    assert creates.get("ok") == created and "DeleteEndpoint" not in cluster.aws.stats()["calls"]["sagemaker"]
