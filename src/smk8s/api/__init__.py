"""The Kubernetes API of smk8s: custom resources, one package per API version."""
