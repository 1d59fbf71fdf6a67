"""An emulated SageMaker, CloudWatch Logs, Application Auto Scaling and STS on one port (see docs/emulators.md)."""
