"""A tuning job's child training jobs as TrainingJob objects (observe-only).

For every training job SageMaker runs for a tuning job, one TrainingJob object: in the tuning job's namespace,
named as the SageMaker job (``spec.trainingJobName`` too), with an ownerReference to the tuning job (garbage-collected
with it), the label :data:`TUNING_JOB_LABEL` naming the tuning job, the tuning job's other labels (so a
``--watch-selector`` shard that sees the parent sees the children), and the annotation
``sagemaker.aws.amazon.com/observe-only: "true"``.

Observe-only is how the training reconciler adopts children *by design*: it mirrors their status but never creates,
stops, tags or updates them and puts no finalizer on them (the tuning job owns their lifecycle in SageMaker, and its
ownerReference owns the objects). One ListTrainingJobsForHyperParameterTuningJob per tuning-job reconcile finds them;
objects already in the informer cache are not written again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from smk8s.api.v1.common import API_VERSION
from smk8s.controllers.jobs.core import OBSERVE_ONLY_ANNOTATION
from smk8s.kube import CustomResourceClient, is_already_exists

TUNING_JOB_LABEL = "sagemaker.aws.amazon.com/hyperparameter-tuning-job"


def child_object(tuning: Mapping[str, Any], child_name: str) -> dict[str, Any]:
    """The TrainingJob object of the tuning job's child ``child_name`` (pure)."""
    meta = tuning["metadata"]
    spec = tuning["spec"]
    definition = spec.get("trainingJobDefinition") or (spec.get("trainingJobDefinitions") or [{}])[0]
    child_spec: dict[str, Any] = {
        "region": spec["region"],
        "trainingJobName": child_name,
        "roleArn": definition.get("roleArn", ""),
        "outputDataConfig": definition.get("outputDataConfig", {"s3OutputPath": ""}),
    }
    if spec.get("sageMakerEndpoint"):
        child_spec["sageMakerEndpoint"] = spec["sageMakerEndpoint"]
    return {
        "apiVersion": API_VERSION,
        "kind": "TrainingJob",
        "metadata": {
            "name": child_name,
            "namespace": meta["namespace"],
            "labels": {**(meta.get("labels") or {}), TUNING_JOB_LABEL: meta["name"]},
            "annotations": {OBSERVE_ONLY_ANNOTATION: "true"},
            "ownerReferences": [{
                "apiVersion": API_VERSION, "kind": "HyperparameterTuningJob", "name": meta["name"],
                "uid": meta["uid"], "controller": True, "blockOwnerDeletion": True,
            }],
        },
        "spec": child_spec,
    }


async def sync_children(
    tuning: Mapping[str, Any],
    summaries: list[dict[str, Any]],
    training_jobs: CustomResourceClient,
    cached: Callable[[str, str], Any],
) -> list[str]:
    """Create the missing child objects; returns the names created. ``cached(namespace, name)``: the informer's."""
    namespace = tuning["metadata"]["namespace"]
    created: list[str] = []
    for summary in summaries:
        name = str(summary["TrainingJobName"])
        if cached(namespace, name) is not None:
            continue
        try:
            await training_jobs.create(child_object(tuning, name))
            created.append(name)
        except Exception as exc:
            if not is_already_exists(exc):
                raise
    return created
