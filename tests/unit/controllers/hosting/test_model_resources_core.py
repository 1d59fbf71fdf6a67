"""The pure core shared by the Model and EndpointConfig controllers: names, the decision table, in-use, status."""

from __future__ import annotations

import pytest

from smk8s.api.v1 import convert
from smk8s.api.v1.model import ModelSpec
from smk8s.controllers.hosting import resources_core as rc
from smk8s.controllers.hosting.resources_core import Observed, Step

UID = "0b7e8f6a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
ROLE = "arn:aws:iam::123456789012:role/sm"


def model_request(image: str = "img:1", tags: list[dict[str, str]] | None = None) -> dict[str, object]:
    spec = ModelSpec.model_validate({"region": "us-west-2", "executionRoleArn": ROLE,
                                     "primaryContainer": {"image": image}, "tags": tags})
    return convert.model_request(spec, "ignored")


def test_the_name_is_derived_from_content_so_a_revert_maps_back_and_tags_do_not_count() -> None:
    first = rc.resource_name("my.model", UID, model_request("img:1"))
    assert rc.resource_name("my.model", UID, model_request("img:1", [{"key": "a", "value": "b"}])) == first
    second = rc.resource_name("my.model", UID, model_request("img:2"))
    assert second != first
    assert rc.resource_name("my.model", UID, model_request("img:1")) == first  # reverting gives the old name
    assert first.startswith("my-model-0b7e8f6a1c2d-") and len(first) <= 63  # SageMaker refuses dots
    assert rc.is_ours_by_name(first, "my.model", UID) and rc.is_ours_by_name(second.upper(), "my.model", UID)
    assert not rc.is_ours_by_name(first, "my.model", "ffffffff-1c2d-4e5f-8a9b-0c1d2e3f4a5b")
    assert not rc.is_ours_by_name(first + "x", "my.model", UID)


def test_a_long_kubernetes_name_is_cut_to_fit_63_characters() -> None:
    name = rc.resource_name("m" * 253, UID, model_request())
    assert len(name) == 63 and rc.is_ours_by_name(name, "m" * 253, UID)


def observed(**kw: bool) -> Observed:
    base = dict(deleting=False, has_finalizer=True, retain=False, exists=True, ours=True, blocked=False,
                spec_changed=False, others=False)
    return Observed(**{**base, **kw})


@pytest.mark.parametrize(("kw", "steps"), [
    ({"deleting": True, "has_finalizer": False}, ()),
    ({"deleting": True, "retain": True}, (Step.RELEASE,)),
    ({"deleting": True}, (Step.SWEEP, Step.RELEASE)),
    ({"has_finalizer": False, "exists": False, "spec_changed": True, "others": True},
     (Step.PREPARE, Step.CREATE, Step.SWEEP, Step.MIRROR)),
    ({"exists": False}, (Step.CREATE, Step.MIRROR)),
    ({"exists": False, "blocked": True}, ()),
    ({"ours": False}, (Step.CONFLICT,)),
    ({"ours": False, "blocked": True}, ()),
    ({}, (Step.MIRROR,)),
    ({"spec_changed": True, "others": True}, (Step.TAG, Step.SWEEP, Step.MIRROR)),
    ({"others": True}, (Step.SWEEP, Step.MIRROR)),
])
def test_decide(kw: dict[str, bool], steps: tuple[Step, ...]) -> None:
    assert rc.decide(observed(**kw)) == steps


def test_the_sweep_runs_before_status_records_the_new_name() -> None:
    # A crash between the two must leave the old name recorded, so the next pass sweeps it.
    steps = rc.decide(observed(exists=False, others=True))
    assert steps.index(Step.SWEEP) < steps.index(Step.MIRROR)


def test_in_use_reads_serving_and_pending_configurations_and_every_variants_model() -> None:
    endpoint = {"EndpointConfigName": "c1", "PendingDeploymentSummary": {"EndpointConfigName": "c2"}}
    assert rc.config_names_of_endpoint(endpoint) == {"c1", "c2"}
    assert rc.config_names_of_endpoint({"EndpointConfigName": "c1"}) == {"c1"}
    config = {"ProductionVariants": [{"ModelName": "m1"}, {"ModelName": "m2"}],
              "ShadowProductionVariants": [{"ModelName": "m3"}]}
    assert rc.model_names_of_config(config) == {"m1", "m2", "m3"}


def test_created_status_moves_last_update_time_only_when_the_resource_changes() -> None:
    fields = {"status": "Created", "sageMakerModelName": "a", "modelArn": "arn:a"}
    first = rc.created_status({}, fields, replaced=False, generation=1, now="2026-01-01T00:00:00Z",
                              name_field="sageMakerModelName")
    assert first["lastUpdateTime"] == "2026-01-01T00:00:00Z" and first["observedGeneration"] == 1
    assert first["conditions"][0]["type"] == "Ready" and first["conditions"][0]["status"] == "True"
    same = rc.created_status(first, fields, replaced=False, generation=2, now="2026-01-02T00:00:00Z",
                             name_field="sageMakerModelName")
    assert same["lastUpdateTime"] == "2026-01-01T00:00:00Z"
    assert same["conditions"][0]["lastTransitionTime"] == "2026-01-01T00:00:00Z"
    other = rc.created_status(first, {**fields, "sageMakerModelName": "b"}, replaced=True, generation=2,
                              now="2026-01-02T00:00:00Z", name_field="sageMakerModelName")
    assert other["lastUpdateTime"] == "2026-01-02T00:00:00Z"


def test_an_error_text_is_cleared_once_created() -> None:
    previous = {"additional": "throttled", "conditions": []}
    status = rc.created_status(previous, {"sageMakerModelName": "a"}, replaced=False, generation=1,
                               now="2026-01-01T00:00:00Z", name_field="sageMakerModelName")
    assert "additional" not in status
