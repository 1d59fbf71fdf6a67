"""Requests and wiring shared by the SageMaker-layer integration tests."""

from __future__ import annotations

from typing import Any

from aiobotocore.session import AioSession
from prometheus_client import CollectorRegistry

from smk8s.emulators.aws.server import AwsEmulator
from smk8s.sagemaker.api import SageMaker
from smk8s.sagemaker.clients import ClientFactory, ClientSettings

ROLE = "arn:aws:iam::123456789012:role/sm"
IMAGE = "123456789012.dkr.ecr.us-west-2.amazonaws.com/algo:1"
REGION = "us-west-2"


def training(name: str = "job1", **extra: Any) -> dict[str, Any]:
    return {
        "TrainingJobName": name,
        "RoleArn": ROLE,
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        **extra,
    }


def processing(name: str = "proc1") -> dict[str, Any]:
    return {"ProcessingJobName": name, "RoleArn": ROLE, "AppSpecification": {"ImageUri": IMAGE},
            "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge",
                                                      "VolumeSizeInGB": 30}}}


def transform(name: str, model: str = "model1") -> dict[str, Any]:
    return {"TransformJobName": name, "ModelName": model,
            "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in"}}},
            "TransformOutput": {"S3OutputPath": "s3://b/out"},
            "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1}}


def tuning(name: str = "tune") -> dict[str, Any]:
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "validation:rmse"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {"IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "2", "MaxValue": "8"}]},
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": {"num_round": "100"},
            "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
            "RoleArn": ROLE,
            "OutputDataConfig": {"S3OutputPath": "s3://bucket/tuning"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        },
    }


def static_session() -> AioSession:
    """A session whose credential chain ends at fixed keys (the emulator accepts any unless verifying)."""
    session = AioSession()
    session.set_credentials("AKIDEMULATOR", "emulator-secret")
    return session


def sagemaker_for(
    aws: AwsEmulator, registry: CollectorRegistry, *, settings: ClientSettings | None = None,
    session: AioSession | None = None,
) -> SageMaker:
    """The manager's SageMaker access with the emulator as ``--sagemaker-endpoint``."""
    factory = ClientFactory(session or static_session(), default_endpoint=aws.url, environ={}, settings=settings)
    return SageMaker(factory, registry)


def requests(registry: CollectorRegistry, operation: str, outcome: str) -> float:
    value = registry.get_sample_value("sagemaker_api_requests_total", {"operation": operation, "outcome": outcome})
    return value or 0.0
