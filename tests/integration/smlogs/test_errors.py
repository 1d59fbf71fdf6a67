"""Every failure the plugin reports: a clear message on stderr, nothing on stdout, exit status 1."""

from __future__ import annotations

import pytest

from smk8s.kube import request_json
from tests.integration.sagemaker.helpers import training
from tests.integration.smlogs.conftest import Env, Result, install_crd

TRAINING_GROUP = "/aws/sagemaker/TrainingJobs"


def _failed(result: Result) -> str:
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert result.stdout == ""
    assert result.stderr.startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr


async def test_object_not_found(smlogs_env: Env) -> None:
    stderr = _failed(await smlogs_env.smlogs("trainingjob", "missing"))
    assert 'trainingjobs.sagemaker.aws.amazon.com "missing" not found in namespace "default"' in stderr


async def test_crd_not_installed(smlogs_env: Env) -> None:
    await request_json(smlogs_env.api, "DELETE",
                       "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/processingjobs.sagemaker.aws.amazon.com")
    stderr = _failed(await smlogs_env.smlogs("processingjob", "any"))
    assert 'the server doesn\'t have a resource type "processingjobs"' in stderr


async def test_job_not_yet_created(smlogs_env: Env) -> None:
    await smlogs_env.create_job_object("trainingjob-xgboost-mnist", "fresh", None)
    stderr = _failed(await smlogs_env.smlogs("trainingjob", "fresh"))
    assert "TrainingJob default/fresh has no SageMaker training job yet" in stderr
    assert "status.sageMakerTrainingJobName is empty" in stderr


async def test_no_logs_yet_names_the_jobs_status(smlogs_env: Env) -> None:
    env = smlogs_env
    await env.sm("CreateTrainingJob", **training("sm-starting"))  # Starting: no container, no log stream yet
    await env.create_job_object("trainingjob-xgboost-mnist", "starting", "sm-starting",
                                status={"secondaryStatus": "Starting"})
    stderr = _failed(await env.smlogs("trainingjob", "starting"))
    assert 'no logs yet for SageMaker training job "sm-starting"' in stderr
    assert "the job's status is InProgress/Starting" in stderr


async def test_follow_ends_with_no_logs_when_the_job_ended_without_any(smlogs_env: Env) -> None:
    env = smlogs_env
    await env.sm("CreateTrainingJob", **training("sm-stopped"))
    await env.sm("StopTrainingJob", TrainingJobName="sm-stopped")  # before any container started
    env.advance(120)
    await env.create_job_object("trainingjob-xgboost-mnist", "stopped", "sm-stopped")
    stderr = _failed(await env.smlogs("trainingjob", "stopped", "-f"))
    assert 'no logs yet for SageMaker training job "sm-stopped"' in stderr
    assert "the job's status is Stopped" in stderr


async def test_tuning_job_without_training_jobs_has_no_logs(smlogs_env: Env) -> None:
    env = smlogs_env
    await env.create_job_object("hyperparametertuningjob-xgboost-mnist", "tune", "sm-no-such-tuning")
    stderr = _failed(await env.smlogs("hpo", "tune"))
    assert 'SageMaker has no hyperparameter tuning job named "sm-no-such-tuning" in region us-west-2' in stderr


async def test_missing_region(smlogs_env: Env) -> None:
    """An object from before ``region`` was required (a hand-made or older CRD): the plugin cannot pick a region."""
    env = smlogs_env
    crd_path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/trainingjobs.sagemaker.aws.amazon.com"
    await request_json(env.api, "DELETE", crd_path)
    await install_crd(env.api, {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "trainingjobs.sagemaker.aws.amazon.com"},
        "spec": {"group": "sagemaker.aws.amazon.com", "scope": "Namespaced",
                 "names": {"kind": "TrainingJob", "plural": "trainingjobs", "singular": "trainingjob",
                           "listKind": "TrainingJobList"},
                 "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                               "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                                   "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                                   "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}}}]},
    })
    await env.create({"apiVersion": "sagemaker.aws.amazon.com/v1", "kind": "TrainingJob",
                      "metadata": {"name": "regionless"}, "spec": {"roleArn": "arn:aws:iam::123456789012:role/x"}},
                     status={"sageMakerTrainingJobName": "sm-regionless", "trainingJobStatus": "InProgress"})
    stderr = _failed(await env.smlogs("trainingjob", "regionless"))
    assert "TrainingJob default/regionless has no spec.region" in stderr


@pytest.mark.parametrize(("operation", "follow"), [
    ("GetLogEvents", False),
    ("DescribeLogStreams", False),
    ("DescribeTrainingJob", True),
])
async def test_access_denied_names_the_permission_and_whose_credentials(
        smlogs_env: Env, operation: str, follow: bool) -> None:
    env = smlogs_env
    await env.sm("CreateTrainingJob", **training("sm-denied"))
    env.advance(10_000)
    await env.create_job_object("trainingjob-xgboost-mnist", "denied", "sm-denied")
    env.aws.set_faults([{"operations": [operation], "access_denied": 1.0}])
    stderr = _failed(await env.smlogs("trainingjob", "denied", *(["-f"] if follow else [])))
    service = "sagemaker" if operation.startswith("Describe") and "Training" in operation else "logs"
    assert f"the AWS credentials of the user running kubectl smlogs are not allowed {service}:{operation}" in stderr
    assert f"is not authorized to perform: {service}:{operation}" in stderr  # what AWS said


async def test_wrong_command_lines_exit_2(smlogs_env: Env) -> None:
    unknown = await smlogs_env.smlogs("endpoint", "x")
    assert unknown.returncode == 2
    assert 'unknown job type "endpoint"' in unknown.stderr
    both = await smlogs_env.smlogs("trainingjob", "x", "--since", "5m", "--since-time", "2024-01-01T00:00:00Z")
    assert both.returncode == 2
    assert "at most one of --since or --since-time" in both.stderr
