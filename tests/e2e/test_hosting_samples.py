"""The HostingDeployment samples end to end, as a user runs them: ``smk8s dev`` in its own process, kubectl, and
the AWS API (and the emulator's ``/_emulator/stats``).

The AWS emulator runs ``FAST_TIME_SCALE`` x faster than real time (an endpoint's 420 virtual seconds of creation take
0.4 s); tests wait with ``kubectl wait``, never with sleeps.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smk8s.api.v1.hosting_deployment import HostingDeploymentSpec
from smk8s.controllers.hosting import deployment_core as dc
from smk8s.controllers.hosting.common import TAG_UID
from tests.e2e.support import WAIT, Dev, fast_dev, sample

NEW_IMAGE = "246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:1.7-2"
Obj = dict[str, Any]


def desired_config(obj: Obj) -> str:
    return dc.desired_state(HostingDeploymentSpec.model_validate(obj["spec"]), obj["metadata"]).config_name


def wait_in_service_at(dev: Dev, obj: Obj) -> Obj:
    """Wait until the object's endpoint serves the configuration its current spec maps to, and Ready."""
    name = obj["metadata"]["name"]
    dev.kubectl("wait", f"--for=jsonpath={{.status.endpointConfigName}}={desired_config(obj)}",
                f"hostingdeployment/{name}", WAIT, timeout=60)
    dev.kubectl("wait", "--for=condition=Ready", f"hostingdeployment/{name}", WAIT, timeout=60)
    current: Obj = dev.get("hostingdeployment", name)
    return current


def owned(dev: Dev, uid: str) -> dict[str, list[str]]:
    """Models, endpoint configurations and endpoints in SageMaker tagged with ``uid``."""
    sm = dev.sagemaker()
    found: dict[str, list[str]] = {}
    for kind, member, arn in (("models", "Models", "ModelArn"), ("configs", "EndpointConfigs", "EndpointConfigArn"),
                              ("endpoints", "Endpoints", "EndpointArn")):
        listed = getattr(sm, f"list_{kind if kind != 'configs' else 'endpoint_configs'}")(MaxResults=100)[member]
        found[kind] = sorted(item[arn] for item in listed
                             if any(t["Key"] == TAG_UID and t["Value"] == uid
                                    for t in sm.list_tags(ResourceArn=item[arn])["Tags"]))
    return found


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dev]:
    with fast_dev(tmp_path_factory.mktemp("e2e-hosting")) as running:
        yield running


def test_both_samples_reach_in_service_and_deleting_removes_everything(dev: Dev, tmp_path: Path) -> None:
    samples = [sample("hostingdeployment-xgboost-mnist"), sample("hostingdeployment-multi-model")]
    directory = dev.apply(tmp_path, *samples)
    dev.kubectl("wait", "--for=condition=Ready", "-f", str(directory), WAIT, timeout=60)
    sm = dev.sagemaker()
    uids = []
    for manifest in samples:
        obj = dev.get("hostingdeployment", manifest["metadata"]["name"])
        uids.append(obj["metadata"]["uid"])
        assert obj["status"]["endpointStatus"] == "InService"
        endpoint = sm.describe_endpoint(EndpointName=manifest["spec"]["endpointName"])
        assert endpoint["EndpointStatus"] == "InService"
        assert endpoint["EndpointConfigName"] == obj["status"]["endpointConfigName"]
    shown = dev.kubectl("get", "hostingdeployments", "-o", "wide").stdout
    assert "InService" in shown and "xgboost-multi-model" in shown
    dev.kubectl("delete", "-f", str(directory), WAIT, timeout=60)
    for uid in uids:
        assert owned(dev, uid) == {"models": [], "configs": [], "endpoints": []}


def test_an_image_edit_rolls_out_and_a_weight_edit_uses_update_endpoint_weights_and_capacities(
    dev: Dev, tmp_path: Path
) -> None:
    obj = sample("hostingdeployment-xgboost-mnist")
    obj["metadata"]["name"] = "e2e-rollout"
    obj["spec"]["endpointName"] = "e2e-rollout"
    dev.apply(tmp_path, obj)
    first = wait_in_service_at(dev, dev.get("hostingdeployment", "e2e-rollout"))
    uid = first["metadata"]["uid"]
    before = owned(dev, uid)
    models = copy.deepcopy(first["spec"]["models"])
    models[0]["containers"][0]["image"] = NEW_IMAGE
    dev.kubectl("patch", "hostingdeployment", "e2e-rollout", "--type=merge", "-p",
                json.dumps({"spec": {"models": models}}))
    rolled = wait_in_service_at(dev, dev.get("hostingdeployment", "e2e-rollout"))
    after = owned(dev, uid)
    assert after["endpoints"] == before["endpoints"]  # the same endpoint, updated in place
    assert not set(after["models"]) & set(before["models"]) and not set(after["configs"]) & set(before["configs"])
    assert len(after["models"]) == len(after["configs"]) == 1  # the old ones were deleted
    assert rolled["status"]["productionVariants"][0]["deployedImages"][0]["specifiedImage"] == NEW_IMAGE
    calls = dev.sagemaker_calls()
    assert calls["UpdateEndpoint"] == {"ok": 1}

    variants = copy.deepcopy(rolled["spec"]["productionVariants"])
    variants[0]["initialVariantWeight"] = 2
    dev.kubectl("patch", "hostingdeployment", "e2e-rollout", "--type=merge", "-p",
                json.dumps({"spec": {"productionVariants": variants}}))
    dev.kubectl("wait", "--for=jsonpath={.status.productionVariants[0].currentWeight}=2",
                "hostingdeployment/e2e-rollout", WAIT, timeout=60)
    weighted = wait_in_service_at(dev, dev.get("hostingdeployment", "e2e-rollout"))
    assert weighted["status"]["endpointConfigName"] == rolled["status"]["endpointConfigName"]
    calls = dev.sagemaker_calls()
    assert calls["UpdateEndpointWeightsAndCapacities"] == {"ok": 1} and calls["UpdateEndpoint"] == {"ok": 1}
    dev.kubectl("delete", "hostingdeployment", "e2e-rollout", WAIT, timeout=60)
    assert owned(dev, uid) == {"models": [], "configs": [], "endpoints": []}


def test_changing_the_endpoint_name_is_refused(dev: Dev, tmp_path: Path) -> None:
    obj = sample("hostingdeployment-xgboost-mnist")
    obj["metadata"]["name"] = "e2e-rename"
    obj["spec"]["endpointName"] = "e2e-rename"
    dev.apply(tmp_path, obj)
    refused = dev.kubectl("patch", "hostingdeployment", "e2e-rename", "--type=merge", "-p",
                          json.dumps({"spec": {"endpointName": "e2e-renamed"}}), check=False)
    assert refused.returncode != 0 and "endpointName cannot be changed" in refused.stderr
    dev.kubectl("delete", "hostingdeployment", "e2e-rename", WAIT, timeout=60)
