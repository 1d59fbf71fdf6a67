"""Every job sample end to end, as a user runs it: ``smk8s dev`` in its own process, kubectl, and the AWS API.

``smk8s dev`` runs both emulators and the manager; the AWS emulator runs ``FAST_TIME_SCALE`` x faster than real time (a
default training job's 800 virtual seconds take under a second) with its rate limits off (they follow the wall
clock), and the manager polls every ``FAST_POLL`` seconds. Tests wait with ``kubectl wait``, never with sleeps.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.support import SAMPLES, WAIT, Dev, fast_dev
from tests.support.controllers import condition

JOB_KINDS = ("TrainingJob", "ProcessingJob", "BatchTransformJob", "HyperparameterTuningJob")
TUNING_LABEL = "sagemaker.aws.amazon.com/hyperparameter-tuning-job"
OUTCOME_TAG = "emulator.smk8s/outcome"
Obj = dict[str, Any]


def job_samples() -> dict[str, Obj]:
    """The job samples of ``config/samples`` by file stem (hosting and model kinds left out)."""
    found: dict[str, Obj] = {}
    for path in sorted(SAMPLES.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        if isinstance(doc, dict) and doc.get("kind") in JOB_KINDS:
            found[path.stem] = doc
    return found


def training(name: str, *tags: tuple[str, str]) -> Obj:
    """The plain training sample under another name, with extra ``tags``."""
    obj = copy.deepcopy(job_samples()["trainingjob-xgboost-mnist"])
    obj["metadata"] = {"name": name}
    obj["spec"]["tags"] = [*obj["spec"].get("tags", []), *({"key": k, "value": v} for k, v in tags)]
    return obj


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dev]:
    with fast_dev(tmp_path_factory.mktemp("e2e")) as running:
        yield running


def test_every_job_sample_completes_and_tuning_children_are_collected(dev: Dev, tmp_path: Path) -> None:
    samples = job_samples()
    assert {s["kind"] for s in samples.values()} == set(JOB_KINDS)
    # The custom-endpoint sample's endpoint (a VPC endpoint) is the emulator here: spec.sageMakerEndpoint wins.
    samples["trainingjob-custom-endpoint"]["spec"]["sageMakerEndpoint"] = dev.aws_env()["AWS_ENDPOINT_URL"]
    # The batch transform sample names an existing SageMaker model, which the emulator checks.
    transform = samples["batchtransformjob-xgboost-mnist"]["spec"]
    dev.sagemaker().create_model(
        ModelName=transform["modelName"],
        ExecutionRoleArn="arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole",
        PrimaryContainer={"Image": "246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:1.7-1",
                          "ModelDataUrl": "s3://my-bucket/xgboost-mnist/output/model.tar.gz"},
    )
    directory = dev.apply(tmp_path, *samples.values())
    dev.kubectl("wait", "--for=condition=Complete", "-f", str(directory), WAIT, timeout=60)

    sagemaker = dev.sagemaker()
    trained = dev.get("trainingjob", "xgboost-mnist")
    assert trained["status"]["trainingJobStatus"] == "Completed"
    assert trained["status"]["modelPath"].startswith("s3://my-bucket/xgboost-mnist/output/")
    described = sagemaker.describe_training_job(TrainingJobName=trained["status"]["sageMakerTrainingJobName"])
    assert described["TrainingJobStatus"] == "Completed"
    custom = dev.get("trainingjob", "xgboost-mnist-custom-endpoint")
    assert custom["status"]["sageMakerTrainingJobName"] == "xgboost-mnist-custom-endpoint"

    for sample in ("hyperparametertuningjob-xgboost-mnist", "hyperparametertuningjob-spot"):
        name = samples[sample]["metadata"]["name"]
        tuning = dev.get("hyperparametertuningjob", name)
        sm_name = tuning["status"]["sageMakerHyperParameterTuningJobName"]
        summaries = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=sm_name, MaxResults=100)["TrainingJobSummaries"]
        children = sorted(s["TrainingJobName"] for s in summaries)
        limit = samples[sample]["spec"]["hyperParameterTuningJobConfig"]["resourceLimits"]["maxNumberOfTrainingJobs"]
        assert len(children) == limit
        # One TrainingJob object per child, named as the SageMaker job, owned by the tuning job; all complete.
        refs = [f"trainingjob/{child}" for child in children]
        dev.kubectl("wait", "--for=create", *refs, WAIT, timeout=60)
        dev.kubectl("wait", "--for=condition=Complete", *refs, WAIT, timeout=60)
        listed = dev.get("trainingjobs", "-l", f"{TUNING_LABEL}={name}")["items"]
        assert sorted(o["metadata"]["name"] for o in listed) == children
        for obj in listed:
            assert [o["uid"] for o in obj["metadata"]["ownerReferences"]] == [tuning["metadata"]["uid"]]
        # Deleting the tuning job garbage-collects its children (the jobs themselves stay in SageMaker).
        dev.kubectl("delete", "hyperparametertuningjob", name, WAIT, timeout=60)
        assert dev.get("trainingjobs", "-l", f"{TUNING_LABEL}={name}")["items"] == []


def test_a_failing_job_shows_the_emulators_failure_reason(dev: Dev, tmp_path: Path) -> None:
    reason = "AlgorithmError: the e2e test asked for this failure"
    directory = dev.apply(tmp_path, training("e2e-failing", (OUTCOME_TAG, "Failed"),
                                              ("emulator.smk8s/failure-reason", reason)))
    dev.kubectl("wait", "--for=condition=Failed", "-f", str(directory), WAIT, timeout=60)
    failed = dev.get("trainingjob", "e2e-failing")
    assert failed["status"]["trainingJobStatus"] == "Failed"
    assert reason in failed["status"]["additional"]
    assert reason in condition(failed, "Failed")["message"]
    assert condition(failed, "Complete")["status"] == "False"
    described = dev.sagemaker().describe_training_job(TrainingJobName=failed["status"]["sageMakerTrainingJobName"])
    assert described["FailureReason"] == reason
    # The Warning Event carries the reason, and `kubectl describe` shows it (the emulated API server serves the
    # manager's events.k8s.io Events as the core Events kubectl reads, as kube-apiserver does).
    note = dev.first_line("get", "events", "--watch", "--field-selector",
                          "involvedObject.name=e2e-failing,reason=Failed,type=Warning",
                          "-o", "jsonpath={.message}{\"\\n\"}")
    assert reason in note
    assert reason in dev.kubectl("describe", "trainingjob", "e2e-failing").stdout


def test_deleting_an_in_progress_job_stops_it_in_sagemaker(dev: Dev, tmp_path: Path) -> None:
    # Ten million virtual seconds of training: InProgress for hours of real time at this time scale.
    dev.apply(tmp_path, training("e2e-long", ("emulator.smk8s/duration-seconds", "10000000")))
    dev.kubectl("wait", "--for=jsonpath={.status.trainingJobStatus}=InProgress", "trainingjob/e2e-long", WAIT,
                timeout=60)
    job_name = dev.get("trainingjob", "e2e-long")["status"]["sageMakerTrainingJobName"]
    sagemaker = dev.sagemaker()
    assert sagemaker.describe_training_job(TrainingJobName=job_name)["TrainingJobStatus"] == "InProgress"
    # kubectl delete waits until the object is gone: the finalizer is released once SageMaker says Stopped.
    dev.kubectl("delete", "trainingjob", "e2e-long", WAIT, timeout=60)
    assert sagemaker.describe_training_job(TrainingJobName=job_name)["TrainingJobStatus"] == "Stopped"


def test_an_edit_of_an_immutable_field_is_refused(dev: Dev, tmp_path: Path) -> None:
    directory = dev.apply(tmp_path, training("e2e-immutable"))
    edited = dev.kubectl("patch", "trainingjob", "e2e-immutable", "--type=merge", "-p",
                         json.dumps({"spec": {"roleArn": "arn:aws:iam::123456789012:role/another"}}), check=False)
    assert edited.returncode != 0
    assert "roleArn of a TrainingJob cannot be changed after creation" in edited.stderr
    changed = training("e2e-immutable")
    changed["spec"]["resourceConfig"]["instanceType"] = "ml.m5.2xlarge"
    (directory / "changed.yaml").write_text(yaml.safe_dump(changed))
    applied = dev.kubectl("apply", "-f", str(directory / "changed.yaml"), check=False)
    assert applied.returncode != 0
    assert "resourceConfig.instanceType of a TrainingJob cannot be changed" in applied.stderr
    dev.kubectl("wait", "--for=condition=Complete", "trainingjob/e2e-immutable", WAIT, timeout=60)
    assert dev.get("trainingjob", "e2e-immutable")["spec"]["roleArn"].endswith("AmazonSageMaker-ExecutionRole")
