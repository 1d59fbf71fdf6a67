"""smk8s: Amazon SageMaker Operators for Kubernetes, in Python."""

from smk8s import lazy_kubernetes

lazy_kubernetes.install()  # before anything imports kubernetes_asyncio: ~37 MB less resident (see the module)

__version__ = "0.1.0"
