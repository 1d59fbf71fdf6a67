"""TrainingJob end to end: the job controllers in a manager, the kube and AWS emulators in-process."""

from __future__ import annotations

from typing import Any

from smk8s.controllers.jobs import core
from smk8s.controllers.jobs.naming import generated_name
from smk8s.sagemaker import ClientSettings
from tests.integration.controllers.jobs.conftest import Harness, condition, harness, sample, status_is
from tests.integration.sagemaker.helpers import training as training_request

Obj = dict[str, Any]
OUTCOME = "emulator.smk8s/outcome"
DURATION = "emulator.smk8s/duration-seconds"
MAX_RUNTIME = 28 * 86400


def training(name: str, *tags: tuple[str, str], **spec: Any) -> Obj:
    obj = sample("trainingjob-xgboost-mnist")
    obj["metadata"] = {"name": name}
    obj["spec"]["tags"] = [{"key": k, "value": v} for k, v in (("project", "mnist"), *tags)]
    obj["spec"].update(spec)
    return obj


def long_running(name: str, **spec: Any) -> Obj:
    """Runs for ever, as far as a test can tell (28 virtual days are 4 real minutes)."""
    return training(name, (DURATION, "100000000"), stoppingCondition={"maxRuntimeInSeconds": MAX_RUNTIME}, **spec)


async def test_a_training_job_is_created_once_tagged_and_mirrored_until_completed(env: Harness) -> None:
    created = await env.create(training("mnist"))
    uid = created["metadata"]["uid"]
    done = await env.wait("TrainingJob", "mnist", status_is("trainingJobStatus", "Completed"))
    name = generated_name(uid, "mnist")
    status = done["status"]
    assert done["spec"]["trainingJobName"] == name  # written back, as the original did
    assert core.FINALIZER in done["metadata"]["finalizers"]
    assert status["sageMakerTrainingJobName"] == name
    assert status["modelPath"] == f"s3://my-bucket/xgboost-mnist/output/{name}/output/model.tar.gz"
    assert status["cloudWatchLogUrl"].endswith(f"prefix={name};streamFilter=typeLogStreamPrefix")
    assert status["observedGeneration"] == done["metadata"]["generation"]
    assert status["lastCheckTime"]
    assert condition(done, "Complete")["status"] == "True" and condition(done, "Ready")["status"] == "True"
    assert env.calls("CreateTrainingJob") == 1
    tags = await env.sagemaker.at("us-west-2").list_tags(status["trainingJobArn"])
    assert tags[core.TAG_UID] == uid and tags[core.TAG_NAME] == "mnist" and tags[core.TAG_NAMESPACE] == "default"
    assert tags["project"] == "mnist"
    reasons = [e["reason"] for e in await env.events("mnist")]
    assert "Created" in reasons and "Completed" in reasons


async def test_a_failed_job_shows_the_failure_reason_in_additional_and_its_condition(env: Harness) -> None:
    await env.create(training("broken", (OUTCOME, "Failed"), ("emulator.smk8s/failure-reason", "AlgorithmError: boom")))
    failed = await env.wait("TrainingJob", "broken", status_is("trainingJobStatus", "Failed"))
    assert failed["status"]["additional"] == "AlgorithmError: boom"
    assert failed["status"]["failureReason"] == "AlgorithmError: boom"
    assert condition(failed, "Failed") == {**condition(failed, "Failed"), "status": "True",
                                           "message": "AlgorithmError: boom"}
    assert any(e["type"] == "Warning" and e["reason"] == "Failed" for e in await env.events("broken"))


async def test_deleting_an_in_progress_job_stops_it_and_releases_the_object_once_stopped(env: Harness) -> None:
    await env.create(long_running("stopme"))
    running = await env.wait("TrainingJob", "stopme", status_is("trainingJobStatus", "InProgress"))
    name = running["status"]["sageMakerTrainingJobName"]
    await env.delete("TrainingJob", "stopme")
    await env.wait_gone("TrainingJob", "stopme")
    assert env.calls("StopTrainingJob") == 1
    described = await env.sagemaker.at("us-west-2").describe_training_job(name)
    assert described is not None and described["TrainingJobStatus"] == "Stopped"


async def test_the_retain_policy_leaves_the_job_running() -> None:
    async with harness(deletion_policy="retain") as env:
        await env.create(long_running("kept"))
        running = await env.wait("TrainingJob", "kept", status_is("trainingJobStatus", "InProgress"))
        await env.delete("TrainingJob", "kept")
        await env.wait_gone("TrainingJob", "kept")
        assert env.calls("StopTrainingJob") == 0
        described = await env.sagemaker.at("us-west-2").describe_training_job(
            running["status"]["sageMakerTrainingJobName"])
        assert described is not None and described["TrainingJobStatus"] == "InProgress"

def ready(reason: str) -> Any:
    def check(obj: Obj) -> bool:
        conditions = (obj.get("status") or {}).get("conditions", ())
        return any(c["type"] == "Ready" and c["reason"] == reason for c in conditions)

    return check


async def test_a_terminal_error_is_shown_and_not_retried_until_the_spec_changes(env: Harness) -> None:
    await env.create(training("invalid", (OUTCOME, "Bogus")))
    blocked = await env.wait("TrainingJob", "invalid", ready("InvalidSpec"))
    assert "emulator.smk8s/outcome must be one of" in blocked["status"]["additional"]
    assert condition(blocked, "Ready")["observedGeneration"] == blocked["metadata"]["generation"]
    assert "trainingJobStatus" not in blocked["status"]
    assert any(e["type"] == "Warning" and e["reason"] == "InvalidSpec" for e in await env.events("invalid"))
    # Another reconcile of the same generation (a label change) creates nothing. One worker: the label change is
    # reconciled before the next object, so once that one runs, the blocked one was looked at again.
    await env.clients["TrainingJob"].patch("default", "invalid", {"metadata": {"labels": {"poke": "1"}}})
    await env.create(training("witness"))
    await env.wait("TrainingJob", "witness", status_is("trainingJobStatus", "InProgress", "Completed"))
    assert env.calls("CreateTrainingJob", "ValidationException") == 1
    # A new generation (the tag fixed) is tried again, once.
    await env.clients["TrainingJob"].patch("default", "invalid", {"spec": {"tags": [{"key": OUTCOME,
                                                                                    "value": "Completed"}]}})
    await env.wait("TrainingJob", "invalid", status_is("trainingJobStatus", "Completed"))
    assert env.calls("CreateTrainingJob", "ValidationException") == 1
    assert env.calls("CreateTrainingJob", "ok") == 2


async def test_a_job_of_our_name_without_our_uid_is_a_conflict_never_adopted_nor_stopped(env: Harness) -> None:
    await env.sm("CreateTrainingJob", **sm_training("taken-name", (DURATION, "100000000")))
    await env.create(training("late", trainingJobName="taken-name"))
    conflict = await env.wait("TrainingJob", "late", ready("NameConflict"))
    assert "taken-name" in conflict["status"]["additional"]
    assert "trainingJobStatus" not in conflict["status"]
    assert any(e["type"] == "Warning" and e["reason"] == "NameConflict" for e in await env.events("late"))
    await env.delete("TrainingJob", "late")
    await env.wait_gone("TrainingJob", "late")
    assert env.calls("StopTrainingJob") == 0 and env.calls("CreateTrainingJob") == 1
    described = await env.sagemaker.at("us-west-2").describe_training_job("taken-name")
    assert described is not None and described["TrainingJobStatus"] == "InProgress"


async def test_a_job_created_just_before_a_crash_is_found_by_name_and_uid_tag_and_adopted() -> None:
    async with harness(start=False) as env:
        created = await env.create(training("crashed"))
        uid = created["metadata"]["uid"]
        name = generated_name(uid, "crashed")
        await env.sm("CreateTrainingJob", **sm_training(name, *core.our_tags("default", "crashed", uid).items()))
        env.start()
        done = await env.wait("TrainingJob", "crashed", status_is("trainingJobStatus", "Completed"))
        assert done["status"]["sageMakerTrainingJobName"] == name
        assert env.calls("CreateTrainingJob") == 1  # the one before the "crash"; none by the operator
        # A pass reads the job's tags once: the ownership check's read serves the tag update too. (Each pass begins
        # with a Describe; a later pass may read them again while the cache lacks the recorded ARN.)
        passes = " ".join(c.operation for c in env.aws.calls).split("DescribeTrainingJob")
        assert all(calls.split().count("ListTags") <= 1 for calls in passes), passes


async def test_spec_tag_keep_alive_and_remote_debug_edits_are_applied_to_the_running_job(env: Harness) -> None:
    obj = long_running("edited")
    obj["spec"]["resourceConfig"]["keepAlivePeriodInSeconds"] = 300
    await env.create(obj)
    running = await env.wait("TrainingJob", "edited", status_is("trainingJobStatus", "InProgress"))
    arn = running["status"]["trainingJobArn"]
    patched = await env.clients["TrainingJob"].patch("default", "edited", {"spec": {
        "tags": [{"key": DURATION, "value": "100000000"}, {"key": "team", "value": "ml"}],
        "resourceConfig": {"keepAlivePeriodInSeconds": 600},
        "remoteDebugConfig": {"enableRemoteDebug": True},
    }})
    generation = patched["metadata"]["generation"]
    await env.wait("TrainingJob", "edited", lambda o: o["status"].get("observedGeneration") == generation)
    tags = await env.sagemaker.at("us-west-2").list_tags(arn)
    assert tags["team"] == "ml" and "project" not in tags and tags[core.TAG_UID] == running["metadata"]["uid"]
    assert env.calls("AddTags") == 1 and env.calls("DeleteTags") == 1 and env.calls("UpdateTrainingJob", "ok") == 1
    described = await env.sagemaker.at("us-west-2").describe_training_job(running["status"]["sageMakerTrainingJobName"])
    assert described is not None and described["ResourceConfig"]["KeepAlivePeriodInSeconds"] == 600
    assert described["RemoteDebugConfig"] == {"EnableRemoteDebug": True}


async def test_throttling_is_shown_as_a_condition_backed_off_and_never_fails_the_job() -> None:
    async with harness(settings=ClientSettings(max_attempts=1)) as env:
        env.aws.set_faults([{"operations": ["CreateTrainingJob"], "throttle": 1.0, "times": 1}])
        await env.create(training("throttled"))
        shown = await env.wait("TrainingJob", "throttled", ready("Throttled"))
        assert "trainingJobStatus" not in shown["status"]
        done = await env.wait("TrainingJob", "throttled", status_is("trainingJobStatus", "Completed"))
        assert condition(done, "Ready")["status"] == "True"
        assert env.calls("CreateTrainingJob", "ok") == 1


def sm_training(name: str, *tags: tuple[str, str]) -> dict[str, Any]:
    return training_request(name, Tags=[{"Key": k, "Value": v} for k, v in tags],
                            StoppingCondition={"MaxRuntimeInSeconds": MAX_RUNTIME})
