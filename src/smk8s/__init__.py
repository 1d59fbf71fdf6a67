"""smk8s: Amazon SageMaker Operators for Kubernetes, in Python."""

__version__ = "0.1.0"
