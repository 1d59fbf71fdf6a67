"""ProcessingJob, BatchTransformJob and HyperparameterTuningJob (with its child TrainingJobs) end to end."""

from __future__ import annotations

from typing import Any

from smk8s.controllers.jobs import core
from smk8s.controllers.jobs.naming import generated_name
from smk8s.controllers.jobs.tuning_children import TUNING_JOB_LABEL
from tests.integration.controllers.jobs.conftest import NS, Harness, condition, sample, status_is
from tests.integration.sagemaker.helpers import IMAGE, ROLE

Obj = dict[str, Any]


async def test_a_processing_job_sample_completes_under_a_generated_name(env: Harness) -> None:
    created = await env.create(sample("processingjob-kmeans-mnist"))
    done = await env.wait("ProcessingJob", "kmeans-mnist-processing", status_is("processingJobStatus", "Completed"))
    assert done["status"]["sageMakerProcessingJobName"] == generated_name(created["metadata"]["uid"],
                                                                         "kmeans-mnist-processing")
    assert "processingJobName" not in done["spec"]  # the original wrote no name back for this kind
    assert condition(done, "Complete")["status"] == "True"
    assert env.calls("CreateProcessingJob") == 1


async def test_a_batch_transform_job_sample_completes(env: Harness) -> None:
    await env.sm("CreateModel", ModelName="xgboost-mnist-model", ExecutionRoleArn=ROLE,
                 PrimaryContainer={"Image": IMAGE, "ModelDataUrl": "s3://b/model.tar.gz"})
    await env.create(sample("batchtransformjob-xgboost-mnist"))
    done = await env.wait("BatchTransformJob", "xgboost-mnist-batch", status_is("transformJobStatus", "Completed"))
    assert done["spec"]["transformJobName"] == done["status"]["sageMakerTransformJobName"]
    assert env.calls("CreateTransformJob") == 1


async def test_a_tuning_job_gets_one_observe_only_training_job_per_child_garbage_collected_with_it(
    env: Harness,
) -> None:
    tuning = sample("hyperparametertuningjob-xgboost-mnist")
    tuning["spec"]["hyperParameterTuningJobConfig"]["resourceLimits"] = {"maxNumberOfTrainingJobs": 3,
                                                                         "maxParallelTrainingJobs": 3}
    created = await env.create(tuning)
    uid = created["metadata"]["uid"]
    name = tuning["metadata"]["name"]
    done = await env.wait("HyperparameterTuningJob", name, lambda o: (
        o.get("status", {}).get("hyperParameterTuningJobStatus") == "Completed"
        and o["status"].get("trainingJobStatusCounters", {}).get("completed") == 3))
    assert done["status"]["sageMakerHyperParameterTuningJobName"] == uid.replace("-", "")
    assert done["status"]["bestTrainingJob"]["trainingJobName"]
    children = await env.sm("ListTrainingJobsForHyperParameterTuningJob",
                            HyperParameterTuningJobName=uid.replace("-", ""))
    names = sorted(s["TrainingJobName"] for s in children["TrainingJobSummaries"])
    assert len(names) == 3
    for child in names:
        obj = await env.wait("TrainingJob", child, status_is("trainingJobStatus", "Completed"))
        meta = obj["metadata"]
        assert meta["labels"][TUNING_JOB_LABEL] == name
        assert meta["annotations"][core.OBSERVE_ONLY_ANNOTATION] == "true"
        assert meta["ownerReferences"][0]["uid"] == uid
        assert not meta.get("finalizers")  # observe-only: the tuning job owns it
        assert obj["spec"]["trainingJobName"] == child
    assert env.calls("CreateTrainingJob") == 0  # children are never created again
    assert env.calls("CreateHyperParameterTuningJob") == 1
    await env.delete("HyperparameterTuningJob", name)
    await env.wait_gone("HyperparameterTuningJob", name)
    for child in names:
        await env.wait_gone("TrainingJob", child)
    assert await env.clients["TrainingJob"].list(NS) == []


async def test_a_deleted_processing_job_is_stopped_and_no_longer_polled(env: Harness) -> None:
    obj = sample("processingjob-kmeans-mnist")
    obj["spec"].pop("stoppingCondition")  # runs for ever, as far as the test can tell
    obj["spec"]["tags"] = [{"key": "emulator.smk8s/duration-seconds", "value": "100000000"}]
    await env.create(obj)
    await env.wait("ProcessingJob", "kmeans-mnist-processing", status_is("processingJobStatus", "InProgress"))
    reconciler = env.controllers[1].reconciler
    assert len(reconciler.requests) == 1 and reconciler.poller.core.tracked()
    await env.delete("ProcessingJob", "kmeans-mnist-processing")
    await env.wait_gone("ProcessingJob", "kmeans-mnist-processing")
    assert env.calls("StopProcessingJob") == 1
    assert reconciler.requests == {} and reconciler.poller.core.tracked() == {}
