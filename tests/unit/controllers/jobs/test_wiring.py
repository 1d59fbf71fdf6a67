"""The tuning children's objects and the generation-changed event filter, without servers."""

from __future__ import annotations

import argparse
from typing import Any

from smk8s.controllers.jobs import core
from smk8s.controllers.jobs.tuning_children import TUNING_JOB_LABEL, child_object
from smk8s.controllers.predicates import GenerationChanged
from smk8s.controllers.setup import add_arguments

TUNING = {
    "metadata": {"name": "hpo", "namespace": "ns", "uid": "u-1", "labels": {"shard": "a"}},
    "spec": {"region": "us-west-2", "sageMakerEndpoint": "https://sm.example",
             "trainingJobDefinition": {"roleArn": "arn:role", "outputDataConfig": {"s3OutputPath": "s3://o"}}},
}


def test_a_child_object_is_owned_labelled_and_observe_only() -> None:
    child = child_object(TUNING, "hpo-001-abc")
    meta = child["metadata"]
    assert (meta["name"], meta["namespace"]) == ("hpo-001-abc", "ns")
    assert meta["labels"] == {"shard": "a", TUNING_JOB_LABEL: "hpo"}
    assert meta["annotations"] == {core.OBSERVE_ONLY_ANNOTATION: "true"}
    assert meta["ownerReferences"][0]["uid"] == "u-1" and meta["ownerReferences"][0]["controller"] is True
    assert "finalizers" not in meta
    assert child["spec"] == {"region": "us-west-2", "trainingJobName": "hpo-001-abc", "roleArn": "arn:role",
                             "outputDataConfig": {"s3OutputPath": "s3://o"}, "sageMakerEndpoint": "https://sm.example"}


class _Source:
    def __init__(self) -> None:
        self.update: Any = None

    def add_event_handler(self, on_add: Any = None, on_update: Any = None, on_delete: Any = None) -> Any:
        self.update = on_update
        return None

    def has_synced(self) -> bool:
        return True

    async def wait_for_sync(self) -> bool:
        return True


def test_status_only_updates_are_not_reconciled() -> None:
    source = _Source()
    seen: list[Any] = []
    GenerationChanged(source).add_event_handler(None, lambda old, new: seen.append(new))
    old = {"metadata": {"generation": 1, "resourceVersion": "1"}, "status": {}}
    source.update(old, {"metadata": {"generation": 1, "resourceVersion": "2"}, "status": {"x": 1}})
    assert seen == []
    for changed in ({"generation": 2}, {"generation": 1, "deletionTimestamp": "t"},
                    {"generation": 1, "annotations": {"a": "b"}}, {"generation": 1, "finalizers": ["f"]}):
        source.update(old, {"metadata": changed})
    assert len(seen) == 4


def test_flags() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--poll-interval", "5", "--sagemaker-endpoint", "http://x", "--deletion-policy",
                              "retain", "--watch-selector", "shard=a"])
    assert (args.poll_interval, args.sagemaker_endpoint, args.deletion_policy, args.watch_selector) == (
        5.0, "http://x", "retain", "shard=a")
