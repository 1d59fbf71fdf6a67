"""The SageMaker controllers. :mod:`smk8s.controllers.jobs`: TrainingJob, ProcessingJob, BatchTransformJob and
HyperparameterTuningJob, one reconciler core with an adapter per kind."""
