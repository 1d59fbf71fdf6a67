"""The job reconciler core's pure decisions, without servers."""

from __future__ import annotations

import datetime
from dataclasses import replace

import pytest

from smk8s.controllers.jobs import core
from smk8s.controllers.jobs.core import Observed, Step
from smk8s.controllers.jobs.naming import generated_name, job_name

LIVE = Observed(deleting=False, has_finalizer=True, name_recorded=True, retain=False, observe_only=False,
                job_status=None, ours=False, blocked=False, spec_changed=False)
DELETING = replace(LIVE, deleting=True)
NOW = datetime.datetime(2026, 1, 1, 12, 0, 0, tzinfo=datetime.UTC)


# -- naming -------------------------------------------------------------------------------------------------------

UID = "6118bbe1-3821-4c52-b4bd-976c24c0ba2b"


def test_generated_names_keep_30_characters_of_the_k8s_name_and_the_whole_uid() -> None:
    assert generated_name(UID, "mnist") == "mnist-6118bbe138214c52b4bd976c24c0ba2b"
    long = generated_name(UID, "x" * 80)
    assert long == "x" * 30 + "-6118bbe138214c52b4bd976c24c0ba2b" and len(long) == 63


def test_tuning_job_names_are_the_uid_alone_and_the_users_name_wins() -> None:
    assert generated_name(UID, "hpo", 32) == "6118bbe138214c52b4bd976c24c0ba2b"
    assert job_name("mine", UID, "hpo") == "mine"
    assert job_name(None, UID, "hpo", 32) == "6118bbe138214c52b4bd976c24c0ba2b"


# -- the decision table -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("observed", "steps"), [
    (replace(LIVE, has_finalizer=False), (Step.PREPARE, Step.CREATE)),
    (replace(LIVE, name_recorded=False), (Step.PREPARE, Step.CREATE)),
    (LIVE, (Step.CREATE,)),
    (replace(LIVE, blocked=True), ()),
    (replace(LIVE, has_finalizer=False, blocked=True), (Step.PREPARE,)),
    (replace(LIVE, job_status="InProgress"), (Step.CONFLICT,)),
    (replace(LIVE, job_status="InProgress", blocked=True), ()),
    (replace(LIVE, job_status="InProgress", ours=True), (Step.MIRROR,)),
    (replace(LIVE, job_status="Completed", ours=True, spec_changed=True), (Step.UPDATE, Step.MIRROR)),
    (replace(LIVE, observe_only=True, has_finalizer=False, job_status="InProgress", ours=True), (Step.MIRROR,)),
    (replace(LIVE, observe_only=True, has_finalizer=False), (Step.MISSING,)),
    (replace(DELETING, has_finalizer=False, job_status="InProgress", ours=True), ()),
    (replace(DELETING, job_status="InProgress", ours=True), (Step.MIRROR, Step.STOP)),
    (replace(DELETING, job_status="Stopping", ours=True), (Step.MIRROR,)),
    (replace(DELETING, job_status="Stopped", ours=True), (Step.RELEASE,)),
    (replace(DELETING, job_status="Completed", ours=True), (Step.RELEASE,)),
    (DELETING, (Step.RELEASE,)),
    (replace(DELETING, job_status="InProgress", ours=False), (Step.RELEASE,)),
    (replace(DELETING, job_status="InProgress", ours=True, retain=True), (Step.RELEASE,)),
    (replace(DELETING, job_status="InProgress", ours=True, observe_only=True), (Step.RELEASE,)),
])
def test_decide(observed: Observed, steps: tuple[Step, ...]) -> None:
    assert core.decide(observed) == steps


def test_the_finalizer_is_always_in_place_before_a_create() -> None:
    for has_finalizer in (False, True):
        for name_recorded in (False, True):
            steps = core.decide(replace(LIVE, has_finalizer=has_finalizer, name_recorded=name_recorded))
            assert Step.CREATE in steps
            assert (steps.index(Step.CREATE) > steps.index(Step.PREPARE)) if Step.PREPARE in steps \
                else has_finalizer and name_recorded


def test_retain_annotation_wins_over_the_manager_policy() -> None:
    assert core.retain({core.DELETION_POLICY_ANNOTATION: "retain"}, "delete")
    assert not core.retain({core.DELETION_POLICY_ANNOTATION: "delete"}, "retain")
    assert core.retain({}, "retain") and not core.retain({}, "delete")


def test_blocked_only_for_the_generation_the_terminal_error_was_recorded_for() -> None:
    status = core.error_status({}, core.INVALID_SPEC, "bad", 3, "2026-01-01T00:00:00Z", terminal=True)
    assert core.is_blocked(status, 3) and not core.is_blocked(status, 4)
    retrying = core.error_status({}, "Throttled", "slow down", 3, "2026-01-01T00:00:00Z", terminal=False)
    assert not core.is_blocked(retrying, 3)


def test_a_recoverable_error_keeps_the_job_status_and_never_says_failed() -> None:
    previous = {"trainingJobStatus": "InProgress", "observedGeneration": 2, "lastCheckTime": "2026-01-01T00:00:00Z"}
    status = core.error_status(previous, "Throttled", "Rate exceeded", 3, "2026-01-01T00:01:00Z", terminal=False)
    assert status["trainingJobStatus"] == "InProgress" and status["observedGeneration"] == 2
    assert status["additional"] == "Rate exceeded"
    ready = status["conditions"][0]
    assert (ready["type"], ready["status"], ready["reason"]) == ("Ready", "False", "Throttled")


def test_settled_waits_for_rules_still_evaluating() -> None:
    assert core.settled("Completed", {})
    assert not core.settled("InProgress", {})
    assert not core.settled("Completed", {"DebugRuleEvaluationStatuses": [{"RuleEvaluationStatus": "InProgress"}]})


# -- tags and updates ---------------------------------------------------------------------------------------------


def test_create_requests_carry_our_tags_with_the_specs() -> None:
    ours = core.our_tags("ns", "obj", "u-1")
    request = core.with_tags({"Tags": [{"Key": "team", "Value": "ml"}]}, ours)
    assert {t["Key"]: t["Value"] for t in request["Tags"]} == {"team": "ml", core.TAG_NAMESPACE: "ns",
                                                              core.TAG_NAME: "obj", core.TAG_UID: "u-1"}


def test_training_update_sends_only_what_differs() -> None:
    desc = {"TrainingJobName": "j", "ResourceConfig": {"KeepAlivePeriodInSeconds": 300},
            "ProfilerConfig": {"S3OutputPath": "s3://p"},
            "ProfilerRuleConfigurations": [{"RuleConfigurationName": "a"}],
            "RemoteDebugConfig": {"EnableRemoteDebug": False}}
    same = {"ResourceConfig": {"KeepAlivePeriodInSeconds": 300}, "ProfilerConfig": {"S3OutputPath": "s3://p"},
            "ProfilerRuleConfigurations": [{"RuleConfigurationName": "a"}],
            "RemoteDebugConfig": {"EnableRemoteDebug": False}}
    assert core.training_update(same, desc) is None
    changed = {"ResourceConfig": {"KeepAlivePeriodInSeconds": 600},
               "ProfilerRuleConfigurations": [{"RuleConfigurationName": "a"}, {"RuleConfigurationName": "b"}],
               "RemoteDebugConfig": {"EnableRemoteDebug": True}}
    assert core.training_update(changed, desc) == {
        "TrainingJobName": "j", "ResourceConfig": {"KeepAlivePeriodInSeconds": 600},
        "ProfilerRuleConfigurations": [{"RuleConfigurationName": "b"}],
        "RemoteDebugConfig": {"EnableRemoteDebug": True}}


# -- status writes ------------------------------------------------------------------------------------------------


def test_status_is_written_only_when_something_visible_changed_or_last_check_is_a_minute_old() -> None:
    old = {"trainingJobStatus": "InProgress", "lastCheckTime": "2026-01-01T11:59:30Z"}
    assert core.status_patch(old, {"trainingJobStatus": "InProgress"}, NOW) is None
    assert core.status_patch(old, {"trainingJobStatus": "InProgress"}, NOW + datetime.timedelta(seconds=30)) == {
        "lastCheckTime": "2026-01-01T12:00:30Z"}
    assert core.status_patch(old, {"trainingJobStatus": "Completed"}, NOW) == {
        "trainingJobStatus": "Completed", "lastCheckTime": "2026-01-01T12:00:00Z"}


def test_fields_gone_from_the_new_status_are_removed() -> None:
    old = {"trainingJobStatus": "InProgress", "secondaryStatus": "Training"}
    assert core.status_patch(old, {"trainingJobStatus": "Stopping"}, NOW) == {
        "secondaryStatus": None, "trainingJobStatus": "Stopping", "lastCheckTime": "2026-01-01T12:00:00Z"}


def test_mirrored_status_sets_conditions_and_observed_generation_keeping_transition_times() -> None:
    first = core.mirrored_status({"trainingJobStatus": "InProgress"}, "InProgress", {}, 2, "2026-01-01T00:00:00Z")
    again = core.mirrored_status({"trainingJobStatus": "InProgress"}, "InProgress", first, 2, "2026-01-01T00:05:00Z")
    assert first == again and first["observedGeneration"] == 2
    failed = core.mirrored_status({"failureReason": "boom"}, "Failed", first, 2, "2026-01-01T00:06:00Z")
    by_type = {c["type"]: c for c in failed["conditions"]}
    assert by_type["Failed"]["status"] == "True" and by_type["Failed"]["message"] == "boom"


def test_events_for_transitions() -> None:
    assert core.transition_event("TrainingJob", "InProgress", "InProgress", None) is None
    assert core.transition_event("TrainingJob", None, "InProgress", None) == (
        "Normal", "InProgress", "The TrainingJob is InProgress")
    assert core.transition_event("TrainingJob", "InProgress", "Failed", "boom") == (
        "Warning", "Failed", "The TrainingJob failed: boom")


def test_a_listed_status_is_written_before_the_describe_keeping_the_mirrored_details() -> None:
    running = {**core.mirrored_status({"trainingJobStatus": "InProgress", "trainingJobArn": "arn:x",
                                       "secondaryStatus": "Training"}, "InProgress", {}, 2, "2026-01-01T00:00:00Z"),
               "lastCheckTime": "2026-01-01T00:00:00Z"}
    done = core.listed_status(running, "trainingJobStatus", "Completed", 2, "2026-01-01T01:00:00Z")
    assert done["trainingJobStatus"] == "Completed" and done["secondaryStatus"] == "Training"
    assert done["trainingJobArn"] == "arn:x" and done["observedGeneration"] == 2 and "lastCheckTime" not in done
    # Complete waits for the Describe: `kubectl wait --for=condition=Complete` then reading modelPath must work.
    listed = {c["type"]: (c["status"], c["reason"]) for c in done["conditions"]}
    assert listed == {"Ready": ("False", "RecordingResults"), "Complete": ("False", "RecordingResults"),
                      "Failed": ("False", "RecordingResults")}
    described = core.mirrored_status({"trainingJobStatus": "Completed", "trainingJobArn": "arn:x"}, "Completed",
                                     done, 2, "2026-01-01T01:00:05Z")
    assert {c["type"]: c["status"] for c in described["conditions"]} == {
        "Ready": "True", "Complete": "True", "Failed": "False"}
    stopping = core.listed_status(running, "trainingJobStatus", "Stopping", 2, "2026-01-01T01:00:00Z")
    assert {c["type"]: c["reason"] for c in stopping["conditions"]}["Ready"] == "Stopping"

    def applies(status: dict[str, object], state: str, *, deleting: bool = False, generation: int = 2) -> bool:
        return core.listed_transition_applies(status, "trainingJobStatus", "trainingJobArn", state,
                                              deleting=deleting, generation=generation)

    assert applies(running, "Completed") and applies(running, "Stopping")
    assert not applies(running, "InProgress")  # nothing visible in the summary changed: Describe as usual
    assert not applies(running, "Failed")  # the user must see the failure reason, which a summary may lack
    assert not applies(running, "Completed", deleting=True)
    assert not applies(running, "Completed", generation=3)  # a spec change to apply first
    assert not applies({}, "Completed")  # not yet known to be ours


def test_recoverable_errors_back_off_per_object_growing_from_the_errors_own_suggestion() -> None:
    # client-go's default per-item limiter: 5 ms doubling to 1000 s (reference/controller-runtime.md)
    delays = [core.recoverable_delay(0.0, n) for n in range(1, 25)]
    assert delays[:3] == [0.005, 0.01, 0.02] and delays[-1] == 1000.0
    assert core.recoverable_delay(0.5, 1) == 0.5  # a throttle's suggestion wins while the streak is short
    assert core.recoverable_delay(0.5, 12) == 0.005 * 2 ** 11  # a long streak grows past it
    assert core.recoverable_delay(120.0, 1) == 120.0  # AccessDenied's long suggestion
    assert core.recoverable_delay(0.0, 0) > 0
