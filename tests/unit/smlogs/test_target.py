"""What the plugin takes from the object: job name, region, endpoints, status; stream prefixes."""

from __future__ import annotations

from typing import Any

import pytest

from smk8s.smlogs.errors import PluginError
from smk8s.smlogs.kinds import PROCESSING, TRAINING, TUNING
from smk8s.smlogs.target import job_target, logs_endpoint, sagemaker_endpoint, stream_prefix


def training_object(spec: dict[str, Any] | None = None, status: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": "tj"}, "spec": {"region": "eu-west-1", **(spec or {})}, "status": status or {}}


def test_target_of_a_created_job() -> None:
    target = job_target(TRAINING, "ns", training_object(
        {"sageMakerEndpoint": "https://vpce.example"},
        {"sageMakerTrainingJobName": "tj-abc", "trainingJobStatus": "InProgress", "secondaryStatus": "Training"}))
    assert (target.job_name, target.region, target.spec_endpoint, target.status) == (
        "tj-abc", "eu-west-1", "https://vpce.example", "InProgress/Training")
    assert (target.namespace, target.object_name) == ("ns", "tj")


def test_status_text_without_a_secondary_status() -> None:
    obj = {"metadata": {"name": "p"}, "spec": {"region": "r"},
           "status": {"sageMakerProcessingJobName": "p-1", "processingJobStatus": "Completed"}}
    assert job_target(PROCESSING, "ns", obj).status == "Completed"


def test_job_not_created_yet() -> None:
    with pytest.raises(PluginError, match="TrainingJob ns/tj has no SageMaker training job yet"):
        job_target(TRAINING, "ns", training_object())


def test_missing_region_is_reported_first() -> None:
    obj = training_object(status={"sageMakerTrainingJobName": "tj-abc"})
    obj["spec"]["region"] = " "
    with pytest.raises(PluginError, match=r"has no spec\.region"):
        job_target(TRAINING, "ns", obj)
    del obj["spec"]["region"]
    with pytest.raises(PluginError, match=r"has no spec\.region"):
        job_target(TRAINING, "ns", obj)


def test_tuning_job_name_field() -> None:
    obj = {"metadata": {"name": "h"}, "spec": {"region": "r"},
           "status": {"sageMakerHyperParameterTuningJobName": "h-1", "hyperParameterTuningJobStatus": "InProgress"}}
    assert job_target(TUNING, "ns", obj).job_name == "h-1"


def test_stream_prefixes() -> None:
    assert stream_prefix("job", None) == "job/"  # not "job": job-2's streams are not job's
    assert stream_prefix("job", "algo-2") == "job/algo-2"


def test_sagemaker_endpoint_precedence() -> None:
    env = {"AWS_DEFAULT_SAGEMAKER_ENDPOINT": "https://env"}
    assert sagemaker_endpoint("https://flag", "https://spec", env) == "https://flag"
    assert sagemaker_endpoint(None, "https://spec", env) == "https://spec"
    assert sagemaker_endpoint(None, None, env) == "https://env"
    assert sagemaker_endpoint(None, None, {}) is None  # the SDK's resolution: AWS_ENDPOINT_URL_SAGEMAKER, ...


def test_logs_endpoint() -> None:
    assert logs_endpoint("https://flag ") == "https://flag"
    assert logs_endpoint(None) is None
    assert logs_endpoint(" ") is None
