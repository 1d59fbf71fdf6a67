"""The original operator's printer columns and status field names, pinned (../shared/reference/original-operator.md
section 1): users' scripts read ``kubectl get`` columns and ``.status`` paths, so neither may be renamed or moved.

Checked on the checked-in CRDs (what an API server serves; test_crds.py keeps them equal to a regeneration). Our own
columns may come after or among the original's; the original's must keep their names, JSONPaths and relative order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from smk8s.api.v1 import crds
from smk8s.api.v1.registry import INFO

CRD_DIR = Path(__file__).resolve().parents[4] / "config" / "crd"
CREATED = ("Creation-Time", ".metadata.creationTimestamp")

# kind -> the original's `kubectl get` columns, in its order: (name, JSONPath)
ORIGINAL_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "TrainingJob": [
        ("Status", ".status.trainingJobStatus"),
        ("Secondary-Status", ".status.secondaryStatus"),
        CREATED,
        ("Sagemaker-Job-Name", ".status.sageMakerTrainingJobName"),
    ],
    "HyperparameterTuningJob": [
        ("Status", ".status.hyperParameterTuningJobStatus"),
        CREATED,
        ("Completed", ".status.trainingJobStatusCounters.completed"),
        ("InProgress", ".status.trainingJobStatusCounters.inProgress"),
        ("Errors", ".status.trainingJobStatusCounters.totalError"),
        ("Stopped", ".status.trainingJobStatusCounters.stopped"),
        ("Best-Training-Job", ".status.bestTrainingJob.trainingJobName"),
        ("Sagemaker-Job-Name", ".status.sageMakerHyperParameterTuningJobName"),
    ],
    "ProcessingJob": [
        ("Status", ".status.processingJobStatus"),
        CREATED,
        ("Sagemaker-Job-Name", ".status.sageMakerProcessingJobName"),
    ],
    "BatchTransformJob": [
        ("Status", ".status.transformJobStatus"),
        CREATED,
        ("Sagemaker-Job-Name", ".status.sageMakerTransformJobName"),
    ],
    "HostingDeployment": [
        ("Status", ".status.endpointStatus"),
        ("Sagemaker-endpoint-name", ".status.endpointName"),
    ],
    "Model": [
        ("Status", ".status.status"),
        ("Sage-Maker-Model-Name", ".status.sageMakerModelName"),
    ],
    "EndpointConfig": [
        ("Status", ".status.status"),
        ("Sage-Maker-EndpointConfig-Name", ".status.sageMakerEndpointConfigName"),
    ],
    "HostingAutoscalingPolicy": [
        ("Status", ".status.hostingAutoscalingPolicyStatus"),
        CREATED,
    ],
}

# kind -> every status field of the original (paths under .status; [] for a list's items)
_BEST_TRAINING_JOB = [
    "bestTrainingJob", "bestTrainingJob.trainingJobName", "bestTrainingJob.trainingJobArn",
    "bestTrainingJob.trainingJobStatus", "bestTrainingJob.tunedHyperParameters",
    "bestTrainingJob.tunedHyperParameters[].name", "bestTrainingJob.tunedHyperParameters[].value",
    "bestTrainingJob.finalHyperParameterTuningJobObjectiveMetric",
    "bestTrainingJob.finalHyperParameterTuningJobObjectiveMetric.metricName",
    "bestTrainingJob.finalHyperParameterTuningJobObjectiveMetric.type",
    "bestTrainingJob.finalHyperParameterTuningJobObjectiveMetric.value", "bestTrainingJob.objectiveStatus",
    "bestTrainingJob.creationTime", "bestTrainingJob.trainingStartTime", "bestTrainingJob.trainingEndTime",
    "bestTrainingJob.failureReason", "bestTrainingJob.tuningJobName",
]
_COUNTERS = [
    "trainingJobStatusCounters", *(f"trainingJobStatusCounters.{c}" for c in (
        "completed", "inProgress", "retryableError", "nonRetryableError", "totalError", "stopped")),
]
_VARIANTS = [
    "productionVariants", "productionVariants[].variantName", "productionVariants[].currentInstanceCount",
    "productionVariants[].desiredInstanceCount", "productionVariants[].currentWeight",
    "productionVariants[].desiredWeight", "productionVariants[].deployedImages",
    "productionVariants[].deployedImages[].specifiedImage", "productionVariants[].deployedImages[].resolvedImage",
    "productionVariants[].deployedImages[].resolutionTime",
]
ORIGINAL_STATUS: dict[str, list[str]] = {
    "TrainingJob": [
        "trainingJobStatus", "secondaryStatus", "additional", "lastCheckTime", "cloudWatchLogUrl",
        "sageMakerTrainingJobName", "modelPath", "debugRuleEvaluationStatuses",
        "debugRuleEvaluationStatuses[].ruleConfigurationName", "debugRuleEvaluationStatuses[].ruleEvaluationJobArn",
        "debugRuleEvaluationStatuses[].ruleEvaluationStatus", "debugRuleEvaluationStatuses[].statusDetail",
        "debugRuleEvaluationStatuses[].lastModifiedTime",
    ],
    "HyperparameterTuningJob": [
        "hyperParameterTuningJobStatus", "additional", *_BEST_TRAINING_JOB, *_COUNTERS,
        "sageMakerHyperParameterTuningJobName", "lastCheckTime",
    ],
    "ProcessingJob": [
        "processingJobStatus", "additional", "lastCheckTime", "cloudWatchLogUrl", "sageMakerProcessingJobName",
    ],
    "BatchTransformJob": ["transformJobStatus", "additional", "lastCheckTime", "sageMakerTransformJobName"],
    "HostingDeployment": [
        "endpointStatus", "endpointName", "endpointConfigName", "endpointUrl", "endpointArn", "creationTime",
        "lastModifiedTime", "failureReason", "additional", "lastCheckTime", *_VARIANTS, "modelNames",
        "modelNames[].name", "modelNames[].value",
    ],
    "Model": ["status", "sageMakerModelName", "modelArn", "additional", "lastUpdateTime"],
    "EndpointConfig": ["status", "sageMakerEndpointConfigName", "endpointConfigArn", "additional", "lastUpdateTime"],
    "HostingAutoscalingPolicy": ["hostingAutoscalingPolicyStatus", "policyName", "resourceIDList", "additional",
                                 "lastCheckTime"],
}
# Status fields the original typed as numbers (counters, instance counts): integers here too
ORIGINAL_INTEGERS = {
    "HyperparameterTuningJob": _COUNTERS[1:],
    "HostingDeployment": ["productionVariants[].currentInstanceCount", "productionVariants[].desiredInstanceCount"],
}


def _crd(kind: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((CRD_DIR / crds.crd_file_name(INFO[kind])).read_text())
    return doc


def test_the_tables_cover_every_kind() -> None:
    assert set(ORIGINAL_COLUMNS) == set(ORIGINAL_STATUS) == set(INFO)


@pytest.mark.parametrize("kind", sorted(ORIGINAL_COLUMNS))
def test_the_original_printer_columns_keep_their_names_paths_and_order(kind: str) -> None:
    (version,) = _crd(kind)["spec"]["versions"]
    columns = [(c["name"], c["jsonPath"]) for c in version["additionalPrinterColumns"]]
    positions = []
    for column in ORIGINAL_COLUMNS[kind]:
        assert column in columns, (kind, column, columns)
        positions.append(columns.index(column))
    assert positions == sorted(positions), (kind, columns)  # the original's relative order
    by_name = {c["name"]: c for c in version["additionalPrinterColumns"]}
    for name, _ in ORIGINAL_COLUMNS[kind]:
        assert by_name[name].get("priority", 0) == 0, name  # shown by a plain `kubectl get`, as before
    if CREATED in ORIGINAL_COLUMNS[kind]:
        assert by_name["Creation-Time"]["type"] == "date"
    # the registry (what tests and docs read) says the same as the file
    assert [(c.name, c.json_path) for c in INFO[kind].printer_columns] == columns


@pytest.mark.parametrize("kind", sorted(ORIGINAL_STATUS))
def test_the_original_status_fields_exist_under_their_names(kind: str) -> None:
    status = _crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]
    nodes: dict[str, dict[str, Any]] = {}
    crds.walk(status, lambda path, node: nodes.__setitem__(path, node))
    missing = [p for p in ORIGINAL_STATUS[kind] if p not in nodes]
    assert missing == [], kind
    for path in ORIGINAL_INTEGERS.get(kind, ()):
        assert nodes[path]["type"] == "integer", (kind, path)
    # a status field is never a required one (the controller writes them one by one)
    assert "required" not in status
