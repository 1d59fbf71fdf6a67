"""The HostingDeployment decisions without servers: desired state from content, the decision table, capacities."""

from __future__ import annotations

import copy
import datetime
from typing import Any

import pytest

from smk8s.api.v1.hosting_deployment import HostingDeploymentSpec
from smk8s.controllers.hosting import common
from smk8s.controllers.hosting import deployment_core as dc
from smk8s.controllers.hosting.deployment_core import Capacity, EndpointView, Observed, Step

UID = "6f1c2b8e-1d2a-4c5b-9e8f-0a1b2c3d4e5f"
META = {"namespace": "default", "name": "mnist.hosting", "uid": UID}
ROLE = "arn:aws:iam::123456789012:role/sm"


def spec(image: str = "img:1", weight: float = 1, count: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "region": "us-west-2",
        "productionVariants": [{"variantName": "AllTraffic", "modelName": "m", "initialInstanceCount": count,
                                "instanceType": "ml.m5.large", "initialVariantWeight": weight}],
        "models": [{"name": "m", "executionRoleArn": ROLE,
                    "containers": [{"containerHostname": "c", "image": image, "modelDataUrl": "s3://b/m.tgz"}]}],
        **extra,
    }


def desired(raw: dict[str, Any]) -> dc.Desired:
    return dc.desired_state(HostingDeploymentSpec.model_validate(raw), META)


# -- desired state ------------------------------------------------------------------------------------------------


def test_names_derive_from_content_and_stay_within_sagemaker_limits() -> None:
    first = desired(spec())
    prefix = common.owner_prefix("mnist.hosting", UID)
    assert prefix == "mnist-hosting-6f1c2b8e1d2a"  # a dot is not allowed in SageMaker names
    [model] = first.models
    assert model.name.startswith(prefix + "-") and first.config_name.startswith(prefix + "-")
    assert len(model.name) <= 63 and len(first.config_name) <= 63
    assert desired(spec()) == first  # the same content, the same names (no update on revert)
    second = desired(spec(image="img:2"))
    assert second.models[0].name != model.name and second.config_name != first.config_name
    assert second.endpoint_name == first.endpoint_name == f"mnist.hosting-{UID.replace('-', '')}"[:63]


def test_a_weight_or_count_change_keeps_the_configuration_name_and_changes_capacities() -> None:
    first, second = desired(spec()), desired(spec(weight=3, count=2))
    assert second.config_name == first.config_name
    assert second.capacities == {"AllTraffic": Capacity(3.0, 2)}
    assert second.config_request["ProductionVariants"][0]["InitialVariantWeight"] == 3


def test_tags_do_not_change_names_and_every_request_carries_the_owner_tags() -> None:
    tagged = desired(spec(tags=[{"key": "team", "value": "ml"}]))
    assert tagged.config_name == desired(spec()).config_name
    for request in (tagged.models[0].request, tagged.config_request, tagged.create_endpoint):
        tags = {t["Key"]: t["Value"] for t in request["Tags"]}
        assert tags[common.TAG_UID] == UID and tags[common.TAG_NAME] == "mnist.hosting" and tags["team"] == "ml"


def test_a_long_kubernetes_name_is_cut_so_every_name_fits_63_characters() -> None:
    long = dc.desired_state(HostingDeploymentSpec.model_validate(spec()), {**META, "name": "x" * 253})
    assert all(len(n) <= 63 for n in (long.config_name, long.models[0].name, long.endpoint_name))
    assert long.models[0].name.startswith(long.prefix)


def test_the_variant_refers_to_the_generated_model_name_and_update_carries_retain_flags() -> None:
    raw = spec(retainAllVariantProperties=True,
               excludeRetainedVariantProperties=[{"variantPropertyType": "DesiredWeight"}])
    state = desired(raw)
    assert state.config_request["ProductionVariants"][0]["ModelName"] == state.models[0].name
    assert state.update_endpoint["RetainAllVariantProperties"] is True
    assert state.update_endpoint["ExcludeRetainedVariantProperties"] == [{"VariantPropertyType": "DesiredWeight"}]
    assert state.update_endpoint["EndpointConfigName"] == state.config_name


def test_equal_models_under_two_names_stay_two_sagemaker_models() -> None:
    raw = spec()
    raw["models"].append({**copy.deepcopy(raw["models"][0]), "name": "n"})
    names = [m.name for m in desired(raw).models]
    assert len(set(names)) == 2


@pytest.mark.parametrize(("change", "message"), [
    (lambda r: r["productionVariants"][0].update(modelName="missing"), "missing"),
    (lambda r: r["models"].append(copy.deepcopy(r["models"][0])), "unique"),
    (lambda r: r["models"][0]["containers"].append(copy.deepcopy(r["models"][0]["containers"][0])), "unique"),
])
def test_invalid_specs_are_refused_with_a_message(change: Any, message: str) -> None:
    raw = spec()
    change(raw)
    with pytest.raises(dc.InvalidSpec, match=message):
        desired(raw)


# -- the decision table ---------------------------------------------------------------------------------------------

D, S = "desired-config", "serving-config"


def ep(status: str = "InService", config: str = D, *, ours: bool = True, failure: str | None = None) -> EndpointView:
    return EndpointView(status=status, config_name=config, failure_reason=failure, ours=ours)


def observed(endpoint: EndpointView | None = None, **kw: Any) -> Observed:
    base: dict[str, Any] = {"deleting": False, "has_finalizer": True, "retain": False, "desired_config": D}
    return Observed(endpoint=endpoint, **{**base, **kw})


@pytest.mark.parametrize(("obs", "steps"), [
    # deletion
    (observed(ep(), deleting=True, has_finalizer=False), ()),
    (observed(ep(), deleting=True, retain=True), (Step.RELEASE,)),
    (observed(None, deleting=True), (Step.DELETE_RESOURCES, Step.RELEASE)),
    (observed(ep(ours=False), deleting=True), (Step.DELETE_RESOURCES, Step.RELEASE)),
    (observed(ep("Updating"), deleting=True), (Step.MIRROR,)),
    (observed(ep("Deleting"), deleting=True), (Step.MIRROR,)),
    (observed(ep("InService"), deleting=True), (Step.MIRROR, Step.DELETE_ENDPOINT)),
    (observed(ep("Failed"), deleting=True), (Step.MIRROR, Step.DELETE_ENDPOINT)),
    # creation
    (observed(None, has_finalizer=False), (Step.PREPARE, Step.ENSURE_RESOURCES, Step.CREATE_ENDPOINT)),
    (observed(None), (Step.ENSURE_RESOURCES, Step.CREATE_ENDPOINT)),
    (observed(None, blocked=True), ()),
    (observed(ep(ours=False)), (Step.CONFLICT,)),
    (observed(ep(ours=False), blocked=True), ()),
    (observed(ep(), renamed=True), (Step.RENAME_REFUSED,)),
    # changing endpoints: wait (edits arriving now wait too)
    (observed(ep("Creating")), (Step.MIRROR,)),
    (observed(ep("Updating", S)), (Step.MIRROR,)),
    (observed(ep("RollingBack", S), rolling_out=True), (Step.MIRROR,)),
    (observed(ep("SystemUpdating")), (Step.MIRROR,)),
    # failed endpoints
    (observed(ep("Failed", D, failure="boom")), (Step.ENDPOINT_FAILED,)),
    (observed(ep("Failed", D, failure="boom"), blocked=True), (Step.MIRROR,)),
    (observed(ep("Failed", D, failure="boom"), earlier_failure=True), (Step.MIRROR, Step.DELETE_ENDPOINT)),
    (observed(ep("Failed", S, failure="boom")), (Step.MIRROR, Step.DELETE_ENDPOINT)),
    # updates
    (observed(ep("InService", S)), (Step.MARK_ROLLOUT, Step.ENSURE_RESOURCES, Step.UPDATE_ENDPOINT, Step.MIRROR)),
    (observed(ep("InService", S), rolling_out=True), (Step.ENSURE_RESOURCES, Step.UPDATE_ENDPOINT, Step.MIRROR)),
    (observed(ep("InService", S, failure="rolled back"), rolling_out=True), (Step.UPDATE_FAILED,)),
    # a crash between MARK_ROLLOUT and UPDATE_ENDPOINT: the failure is an earlier update's, not this roll-out's
    (observed(ep("InService", S, failure="an older failure"), rolling_out=True, failure_predates_rollout=True),
     (Step.ENSURE_RESOURCES, Step.UPDATE_ENDPOINT, Step.MIRROR)),
    (observed(ep("InService", S, failure="an older failure")),
     (Step.MARK_ROLLOUT, Step.ENSURE_RESOURCES, Step.UPDATE_ENDPOINT, Step.MIRROR)),
    (observed(ep("InService", S), blocked=True), (Step.MIRROR,)),
    # at the desired configuration
    (observed(ep(), capacity_changes=({"VariantName": "v", "DesiredWeight": 2.0},)),
     (Step.UPDATE_CAPACITIES, Step.MIRROR)),
    (observed(ep(), capacities_recorded=False, clean=True), (Step.RECORD_CAPACITIES, Step.MIRROR)),
    (observed(ep()), (Step.CLEANUP, Step.MIRROR)),
    (observed(ep(), clean=True), (Step.MIRROR,)),
    (observed(ep("OutOfService")), (Step.MIRROR,)),
])
def test_decide(obs: Observed, steps: tuple[Step, ...]) -> None:
    assert dc.decide(obs) == steps


# -- capacities ------------------------------------------------------------------------------------------------------


def test_only_what_the_spec_changed_and_the_endpoint_lacks_is_sent() -> None:
    live = {"a": Capacity(1.0, 2), "b": Capacity(1.0, 1)}
    # An autoscaling policy moved a's count to 2; the spec's count did not change: not fought.
    assert dc.capacity_updates({"a": Capacity(1.0, 1), "b": Capacity(1.0, 1)},
                               {"a": Capacity(1.0, 1), "b": Capacity(1.0, 1)}, live) == ()
    # The spec's weight of b changed: only that goes out.
    assert dc.capacity_updates({"a": Capacity(1.0, 1), "b": Capacity(3.0, 1)},
                               {"a": Capacity(1.0, 1), "b": Capacity(1.0, 1)}, live) == (
        {"VariantName": "b", "DesiredWeight": 3.0},)
    # Nothing recorded: every spec value that the endpoint lacks.
    assert dc.capacity_updates({"a": Capacity(1.0, 1)}, None, live) == (
        {"VariantName": "a", "DesiredInstanceCount": 1},)
    # Already running what the spec says: nothing to send.
    assert dc.capacity_updates({"a": Capacity(1.0, 2)}, {"a": Capacity(5.0, 5)}, live) == ()


def test_capacities_round_trip_through_the_annotation() -> None:
    caps = {"b": Capacity(0.5, None), "a": Capacity(2.0, 3)}
    assert dc.decode_capacities(dc.encode_capacities(caps)) == caps
    assert dc.decode_capacities(None) is None and dc.decode_capacities("{not json") is None


# -- status ----------------------------------------------------------------------------------------------------------


def ready(reason: str, status: str = "False", generation: int = 2) -> dict[str, Any]:
    return {"conditions": [{"type": "Ready", "status": status, "reason": reason, "message": "m",
                            "lastTransitionTime": "2024-01-01T00:00:00Z", "observedGeneration": generation}],
            "endpointConfigName": D}


def test_blocking_rolling_out_and_clean_are_per_generation() -> None:
    assert dc.is_blocked(ready(dc.UPDATE_FAILED), 2) and not dc.is_blocked(ready(dc.UPDATE_FAILED), 3)
    assert dc.is_rolling_out(ready(dc.ROLLING_OUT), 2) and not dc.is_rolling_out(ready(dc.ROLLING_OUT), 3)
    assert dc.is_clean(ready(dc.IN_SERVICE, "True"), 2, D) and not dc.is_clean(ready(dc.IN_SERVICE, "True"), 2, S)
    assert dc.failure_recorded_earlier(ready(dc.ENDPOINT_FAILED), 3)
    assert not dc.failure_recorded_earlier(ready(dc.ENDPOINT_FAILED), 2)


def test_a_failure_predates_the_roll_out_when_the_endpoint_is_as_status_last_mirrored_it() -> None:
    at = datetime.datetime(2026, 11, 28, 12, 0, 0, 400_000, tzinfo=datetime.UTC)
    mirrored = {"lastModifiedTime": "2026-11-28T12:00:00Z"}  # as status writes times: seconds
    assert dc.failure_predates_rollout(mirrored, {"LastModifiedTime": at})
    assert not dc.failure_predates_rollout(mirrored, {"LastModifiedTime": at + datetime.timedelta(minutes=4)})
    assert not dc.failure_predates_rollout({}, {"LastModifiedTime": at})  # never mirrored: assume it is ours
    assert not dc.failure_predates_rollout(mirrored, {})


def test_ready_is_true_only_in_service_at_the_desired_configuration() -> None:
    assert dc.readiness(ep(), D, rolling_out=False, capacities_pending=False)[:2] == (True, dc.IN_SERVICE)
    assert dc.readiness(ep(), D, rolling_out=False, capacities_pending=True) == (
        False, "Updating", "Applying the spec's weights and instance counts")
    assert dc.readiness(ep("InService", S), D, rolling_out=False, capacities_pending=False)[:2] == (False, "Updating")
    assert dc.readiness(ep("Updating", S), D, rolling_out=True, capacities_pending=False)[1] == dc.ROLLING_OUT
    assert dc.readiness(ep("Creating"), D, rolling_out=False, capacities_pending=False)[:2] == (False, "Creating")
    assert dc.readiness(None, D, rolling_out=False, capacities_pending=False)[:2] == (False, dc.PENDING)
    failed = dc.readiness(ep("Failed", D, failure="ping failed"), D, rolling_out=False, capacities_pending=False)
    assert failed == (False, "Failed", "ping failed")


def test_polling_is_fast_while_the_endpoint_changes_and_slow_when_stable() -> None:
    assert dc.requeue_after("Updating", 2.0) == 2.0 and dc.requeue_after(None, 2.0) == 2.0
    assert dc.requeue_after("InService", 2.0) == 10.0 and dc.requeue_after("Failed", 2.0) == 10.0


def test_content_names_match_sagemakers_pattern() -> None:
    import re
    pattern = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
    for k8s in ("a", "a.b_c", "-x-", "x" * 300, "...."):
        name = common.content_name(common.owner_prefix(k8s, UID), {"k": k8s})
        assert pattern.match(name), name
