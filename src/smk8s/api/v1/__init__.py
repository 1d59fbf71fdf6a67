"""sagemaker.aws.amazon.com/v1: the eight kinds, their specs and statuses.

Models are pydantic v2; wire names (lowerCamelCase) are aliases: ``TrainingJob.model_validate(manifest)`` reads a
manifest, ``obj.model_dump(by_alias=True, exclude_none=True)`` writes one. ``registry`` has CRD facts per kind,
``convert`` turns specs into SageMaker requests and Describe* responses into statuses.
"""

from smk8s.api.v1.batch_transform_job import BatchTransformJob, BatchTransformJobSpec, BatchTransformJobStatus
from smk8s.api.v1.common import API_VERSION, GROUP, VERSION, Condition
from smk8s.api.v1.endpoint_config import EndpointConfig, EndpointConfigSpec, EndpointConfigStatus
from smk8s.api.v1.hosting_autoscaling_policy import (
    HostingAutoscalingPolicy,
    HostingAutoscalingPolicySpec,
    HostingAutoscalingPolicyStatus,
)
from smk8s.api.v1.hosting_deployment import HostingDeployment, HostingDeploymentSpec, HostingDeploymentStatus
from smk8s.api.v1.hyperparameter_tuning_job import (
    HyperparameterTuningJob,
    HyperparameterTuningJobSpec,
    HyperparameterTuningJobStatus,
)
from smk8s.api.v1.model import Model, ModelSpec, ModelStatus
from smk8s.api.v1.processing_job import ProcessingJob, ProcessingJobSpec, ProcessingJobStatus
from smk8s.api.v1.training_job import TrainingJob, TrainingJobSpec, TrainingJobStatus

__all__ = [
    "API_VERSION",
    "GROUP",
    "VERSION",
    "BatchTransformJob",
    "BatchTransformJobSpec",
    "BatchTransformJobStatus",
    "Condition",
    "EndpointConfig",
    "EndpointConfigSpec",
    "EndpointConfigStatus",
    "HostingAutoscalingPolicy",
    "HostingAutoscalingPolicySpec",
    "HostingAutoscalingPolicyStatus",
    "HostingDeployment",
    "HostingDeploymentSpec",
    "HostingDeploymentStatus",
    "HyperparameterTuningJob",
    "HyperparameterTuningJobSpec",
    "HyperparameterTuningJobStatus",
    "Model",
    "ModelSpec",
    "ModelStatus",
    "ProcessingJob",
    "ProcessingJobSpec",
    "ProcessingJobStatus",
    "TrainingJob",
    "TrainingJobSpec",
    "TrainingJobStatus",
]
