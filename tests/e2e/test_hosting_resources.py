"""Model, EndpointConfig and HostingAutoscalingPolicy samples end to end, as a user runs them: ``smk8s dev`` in its
own process, kubectl, and the AWS API (botocore).

The AWS emulator runs ``FAST_TIME_SCALE`` x faster than real time with its rate limits off; the manager polls every
``FAST_POLL`` seconds. Tests wait with ``kubectl wait``, never with sleeps.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.support import WAIT, Dev, fast_dev, sample

ROLE = "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole"
IMAGE = "246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:1.7-1"
Obj = dict[str, Any]


def wait_ready(dev: Dev, ref: str, generation: int) -> Obj:
    """``kubectl wait`` until ``ref`` observed ``generation`` and is Ready; the object."""
    dev.kubectl("wait", f"--for=jsonpath={{.status.observedGeneration}}={generation}", ref, WAIT, timeout=60)
    dev.kubectl("wait", "--for=condition=Ready", ref, WAIT, timeout=60)
    obj: Obj = dev.get(ref)
    return obj


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dev]:
    with fast_dev(tmp_path_factory.mktemp("e2e-hosting-resources")) as running:
        yield running


def test_a_model_and_an_endpoint_config_are_created_replaced_on_edit_and_deleted(dev: Dev, tmp_path: Path) -> None:
    sagemaker = dev.sagemaker()
    dev.apply(tmp_path, sample("model-xgboost-mnist"))
    model = wait_ready(dev, "model/xgboost-mnist-model", 1)
    first = model["status"]["sageMakerModelName"]
    assert model["status"]["status"] == "Created"
    assert sagemaker.describe_model(ModelName=first)["PrimaryContainer"]["Image"] == IMAGE
    tags = {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=model["status"]["modelArn"])["Tags"]}
    assert tags["sagemaker.aws.amazon.com/kubernetes-uid"] == model["metadata"]["uid"]

    # An endpoint configuration of that model (its SageMaker name, from the Model's status).
    config = sample("endpointconfig-xgboost-mnist")
    config["spec"]["productionVariants"][0]["modelName"] = first
    dev.apply(tmp_path, config)
    created = wait_ready(dev, "endpointconfig/xgboost-mnist-endpointconfig", 1)
    config_name = created["status"]["sageMakerEndpointConfigName"]
    described = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
    assert described["ProductionVariants"][0]["ModelName"] == first

    # SageMaker cannot update a model: an edit creates a replacement under a new name and deletes the old one.
    dev.kubectl("patch", "model", "xgboost-mnist-model", "--type=merge", "-p",
                json.dumps({"spec": {"primaryContainer": {"image": IMAGE.replace("1.7-1", "1.7-2")}}}))
    edited = wait_ready(dev, "model/xgboost-mnist-model", 2)
    second = edited["status"]["sageMakerModelName"]
    assert second != first
    names = {m["ModelName"] for m in sagemaker.list_models(MaxResults=100)["Models"]}
    assert names == {second}

    dev.kubectl("delete", "endpointconfig", "xgboost-mnist-endpointconfig", WAIT, timeout=60)
    assert sagemaker.list_endpoint_configs(MaxResults=100)["EndpointConfigs"] == []
    dev.kubectl("delete", "model", "xgboost-mnist-model", WAIT, timeout=60)
    assert sagemaker.list_models(MaxResults=100)["Models"] == []


def test_a_policy_on_two_variants_registers_updates_and_deregisters(dev: Dev, tmp_path: Path) -> None:
    hap = sample("hostingautoscalingpolicy-predefined-metric")
    endpoints = [r["endpointName"] for r in hap["spec"]["resourceId"]]
    sagemaker = dev.sagemaker()
    for endpoint in endpoints:  # the endpoints the sample scales, made directly in SageMaker
        sagemaker.create_model(ModelName=f"{endpoint}-model", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
        sagemaker.create_endpoint_config(EndpointConfigName=f"{endpoint}-config", ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": f"{endpoint}-model", "InitialInstanceCount": 1,
             "InstanceType": "ml.m5.large"}])
        sagemaker.create_endpoint(EndpointName=endpoint, EndpointConfigName=f"{endpoint}-config")
    dev.apply(tmp_path, hap)  # the policy waits for the endpoints to be InService
    ids = [f"endpoint/{e}/variant/AllTraffic" for e in endpoints]
    created = wait_ready(dev, "hap/hap-predefined", 1)
    assert created["status"]["hostingAutoscalingPolicyStatus"] == "Created"
    assert created["status"]["resourceIDList"] == ids
    assert created["spec"]["policyName"] == "SageMakerEndpointInvocationScalingPolicy"  # the CRD's default
    scaling = dev.client("application-autoscaling")

    def targets() -> dict[str, Obj]:
        found = scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
        return {t["ResourceId"]: t for t in found}

    assert {rid: t["MaxCapacity"] for rid, t in targets().items()} == {ids[0]: 2, ids[1]: 2}
    policies = scaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
    assert sorted(p["ResourceId"] for p in policies) == sorted(ids)

    dev.kubectl("patch", "hap", "hap-predefined", "--type=merge", "-p", json.dumps({"spec": {"maxCapacity": 3}}))
    wait_ready(dev, "hap/hap-predefined", 2)
    assert {rid: t["MaxCapacity"] for rid, t in targets().items()} == {ids[0]: 3, ids[1]: 3}

    dev.kubectl("patch", "hap", "hap-predefined", "--type=merge", "-p", json.dumps(
        {"spec": {"resourceId": hap["spec"]["resourceId"][:1]}}))
    dropped = wait_ready(dev, "hap/hap-predefined", 3)
    assert dropped["status"]["resourceIDList"] == ids[:1] and set(targets()) == {ids[0]}

    dev.kubectl("delete", "hap", "hap-predefined", WAIT, timeout=60)
    assert targets() == {}
    assert scaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"] == []
