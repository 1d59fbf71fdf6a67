"""The emulated SageMaker API: jobs, tuning, hosting and tags (``OPERATIONS`` maps operation names to handlers)."""
