"""CustomResourceClient against the emulated API server: status writes that cannot clobber, finalizers, conflicts."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from kubernetes_asyncio.client.exceptions import ApiException

from smk8s.emulators.kube.server import KubeEmulator
from smk8s.kube import CustomResourceClient, RetryingApiClient, is_conflict, retry_on_conflict
from tests.integration.kube.conftest import RecordingClock, trainingjob

GROUP, VERSION, PLURAL = "sagemaker.aws.amazon.com", "v1", "trainingjobs"
FINALIZER = "sagemaker.aws.amazon.com/trainingjob"


@pytest.fixture
async def jobs(api: RetryingApiClient, trainingjob_crd: dict[str, Any]) -> CustomResourceClient:
    return CustomResourceClient(api, GROUP, VERSION, PLURAL)


def patches(kube: KubeEmulator) -> int:
    return int(kube.stats_dict()["requests"].get("patch", {}).get(PLURAL, 0))


async def test_get_list_and_patch(jobs: CustomResourceClient) -> None:
    created = await jobs.create(trainingjob("a"))
    await jobs.create({**trainingjob("b"), "metadata": {"name": "b", "namespace": "default", "labels": {"x": "1"}}})
    assert (await jobs.get("default", "a"))["metadata"]["uid"] == created["metadata"]["uid"]
    assert sorted(o["metadata"]["name"] for o in await jobs.list("default")) == ["a", "b"]
    assert [o["metadata"]["name"] for o in await jobs.list(label_selector="x=1")] == ["b"]
    patched = await jobs.patch("default", "a", {"metadata": {"labels": {"y": "2"}}})
    assert patched["metadata"]["labels"]["y"] == "2"
    with pytest.raises(ApiException) as err:
        stale_rv = created["metadata"]["resourceVersion"]
        await jobs.patch("default", "a", {"metadata": {"labels": {"z": "3"}}}, resource_version=stale_rv)
    assert is_conflict(err.value)


async def test_a_status_patch_cannot_change_spec(jobs: CustomResourceClient) -> None:
    created = await jobs.create(trainingjob())
    tampered = {**created, "spec": {**created["spec"], "region": "eu-west-1", "roleArn": "x"}}
    updated = await jobs.patch_status(tampered, {"trainingJobStatus": "InProgress"})
    assert updated["status"]["trainingJobStatus"] == "InProgress"
    stored = await jobs.get("default", "xgboost-mnist")
    assert stored["spec"] == created["spec"] and stored["metadata"]["generation"] == created["metadata"]["generation"]


async def test_a_status_patch_from_a_stale_read_conflicts(jobs: CustomResourceClient) -> None:
    stale = await jobs.create(trainingjob())
    await jobs.patch("default", "xgboost-mnist", {"spec": {"hyperParameters": [{"name": "eta", "value": "0.1"}]}})
    with pytest.raises(ApiException) as err:
        await jobs.patch_status(stale, {"trainingJobStatus": "Completed"})
    assert is_conflict(err.value)
    stored = await jobs.get("default", "xgboost-mnist")
    assert (stored.get("status") or {}).get("trainingJobStatus") is None


async def test_retry_on_conflict_rereads_and_succeeds(jobs: CustomResourceClient, clock: RecordingClock) -> None:
    first = await jobs.create(trainingjob())
    reads: list[str] = []

    async def set_status() -> dict[str, Any]:
        obj = first if not reads else await jobs.get("default", "xgboost-mnist")  # first try uses a stale copy
        reads.append(obj["metadata"]["resourceVersion"])
        if len(reads) == 1:
            await jobs.patch("default", "xgboost-mnist", {"metadata": {"labels": {"touched": "yes"}}})
        return await jobs.patch_status(obj, {"trainingJobStatus": "InProgress"})

    call = asyncio.ensure_future(retry_on_conflict(set_status, clock=clock))
    await clock.next_sleep()
    clock.advance(1)
    result = await asyncio.wait_for(call, 10)
    assert result["status"]["trainingJobStatus"] == "InProgress" and len(reads) == 2
    assert 0.010 <= clock.requested[0] <= 0.011


async def test_retry_on_conflict_gives_up_after_its_steps(clock: RecordingClock) -> None:
    calls = 0

    async def always_conflicts() -> None:
        nonlocal calls
        calls += 1
        raise ApiException(status=409, reason="Conflict")

    call = asyncio.ensure_future(retry_on_conflict(always_conflicts, clock=clock, steps=3))
    for _ in range(2):
        await clock.next_sleep()
        clock.advance(1)
    with pytest.raises(ApiException):
        await asyncio.wait_for(call, 10)
    assert calls == 3


async def test_finalizers_are_added_and_removed_without_losing_others(
    kube: KubeEmulator, jobs: CustomResourceClient
) -> None:
    obj = await jobs.create(trainingjob())
    obj = await jobs.add_finalizer(obj, FINALIZER)
    assert obj["metadata"]["finalizers"] == [FINALIZER]
    before = patches(kube)
    assert await jobs.add_finalizer(obj, FINALIZER) == obj and patches(kube) == before  # already there: no request

    # Someone else adds theirs; our stale copy must not drop it.
    other = await jobs.add_finalizer(await jobs.get("default", "xgboost-mnist"), "example.com/other")
    assert other["metadata"]["finalizers"] == [FINALIZER, "example.com/other"]
    with pytest.raises(ApiException) as err:
        await jobs.remove_finalizer(obj, FINALIZER)
    assert is_conflict(err.value)
    fresh = await jobs.remove_finalizer(await jobs.get("default", "xgboost-mnist"), FINALIZER)
    assert fresh["metadata"]["finalizers"] == ["example.com/other"]
    gone = await jobs.remove_finalizer(fresh, "example.com/other")
    assert not gone["metadata"].get("finalizers")


async def test_status_and_finalizer_writes_need_a_read_object(jobs: CustomResourceClient) -> None:
    with pytest.raises(ValueError):
        await jobs.patch_status(trainingjob(), {"trainingJobStatus": "InProgress"})
