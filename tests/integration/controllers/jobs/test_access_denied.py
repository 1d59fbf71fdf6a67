"""Behaviour 5 (issue 6): AccessDenied says whose permission is missing -- the operator's role or the job's roleArn --
is shown as a condition and an Event, never fails the job, and is retried (here: once IAM is fixed and the object
touched, instead of waiting the long back-off)."""

from __future__ import annotations

from typing import Any

from smk8s.sagemaker import ClientSettings
from tests.integration.controllers.jobs.conftest import condition, harness, sample, status_is

Obj = dict[str, Any]


def _ready_reason(reason: str) -> Any:
    def check(obj: Obj) -> bool:
        return any(c["type"] == "Ready" and c["reason"] == reason for c in (obj.get("status") or {}).get(
            "conditions", ()))

    return check


def _job(name: str) -> Obj:
    obj = sample("trainingjob-xgboost-mnist")
    obj["metadata"] = {"name": name}
    return obj


async def test_the_operators_missing_permission_is_named_and_retried_without_failing_the_job() -> None:
    async with harness(settings=ClientSettings(max_attempts=1)) as env:
        env.aws.set_faults([{"operations": ["CreateTrainingJob"], "access_denied": 1.0}])
        await env.create(_job("denied"))
        shown = await env.wait("TrainingJob", "denied", _ready_reason("AccessDenied"))
        message = condition(shown, "Ready")["message"]
        assert "sagemaker:CreateTrainingJob" in message and "the operator's IAM role" in message
        assert "trainingJobStatus" not in shown["status"]  # not Failed: nothing happened to any job
        events = await env.events("denied")
        assert any(e["type"] == "Warning" and e["reason"] == "AccessDenied" for e in events)
        # The admin fixes the operator's policy; any reconcile (a label here, else the back-off) creates the job once.
        env.aws.clear_faults()
        await env.clients["TrainingJob"].patch("default", "denied", {"metadata": {"labels": {"iam": "fixed"}}})
        done = await env.wait("TrainingJob", "denied", status_is("trainingJobStatus", "Completed"))
        assert condition(done, "Ready")["status"] == "True"
        assert env.calls("CreateTrainingJob", "ok") == 1


async def test_a_job_role_sagemaker_cannot_assume_is_named_as_the_jobs_role() -> None:
    async with harness() as env:
        job = _job("bad-role")
        role = job["spec"]["roleArn"]
        env.aws.world.unassumable_roles.add(role)
        await env.create(job)
        shown = await env.wait("TrainingJob", "bad-role", _ready_reason("AccessDenied"))
        message = condition(shown, "Ready")["message"]
        assert f"the job's roleArn {role}" in message and "Could not assume role" in message
        assert "trainingJobStatus" not in shown["status"]
        env.aws.world.unassumable_roles.clear()  # the trust policy fixed
        await env.clients["TrainingJob"].patch("default", "bad-role", {"metadata": {"labels": {"trust": "fixed"}}})
        await env.wait("TrainingJob", "bad-role", status_is("trainingJobStatus", "Completed"))
        assert env.calls("CreateTrainingJob", "ok") == 1
