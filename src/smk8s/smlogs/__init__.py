"""``kubectl smlogs``: stream the CloudWatch logs of SageMaker jobs named by our custom resources."""
