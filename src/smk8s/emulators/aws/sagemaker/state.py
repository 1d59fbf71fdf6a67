"""SageMaker's state in one account and region, composed of one store per concept.

Owners: ``jobs`` (training, processing, transform jobs) lives in ``jobs.py``; ``tuning`` in ``tuning.py``;
``hosting`` (models, endpoint configs, endpoints) in ``hosting.py``; ``tags`` in ``tags.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from smk8s.emulators.aws.sagemaker.hosting import HostingStore
from smk8s.emulators.aws.sagemaker.jobs import JobStore
from smk8s.emulators.aws.sagemaker.tags import TagStore
from smk8s.emulators.aws.sagemaker.tuning import TuningStore


@dataclass
class SageMakerState:
    jobs: JobStore = field(default_factory=JobStore)
    tuning: TuningStore = field(default_factory=TuningStore)
    hosting: HostingStore = field(default_factory=HostingStore)
    tags: TagStore = field(default_factory=TagStore)
