"""Rendering the installers as users do: kustomize overlays with kubectl's built-in kustomize, Helm charts with
helm-python-sdk (Helm's own Go code, no helm binary); and validating objects against Kubernetes' schemas.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import yaml

from tests.support.kube import KUBECTL

ROOT = Path(__file__).resolve().parents[3]
CONFIG = ROOT / "config"
CHARTS = ROOT / "hack" / "charts" / "installer"
VALUES = Path(__file__).resolve().parent / "values"
OVERLAYS = ("crd", "rbac", "manager", "default", "prometheus", "namespaced", "samples")
CHARTS_BY_NAME = {
    "rolebased": CHARTS / "rolebased",
    "operator_chart": CHARTS / "namespaced" / "operator_chart",
    "crd_chart": CHARTS / "namespaced" / "crd_chart",
}
OPERATOR_NAMESPACE = "sagemaker-k8s-operator-system"
# Two Kubernetes versions the project supports, whose schemas kubernetes-validate ships (strict: unknown fields fail).
KUBERNETES_VERSIONS = ("1.35.0", "1.37.0")
Obj = dict[str, Any]


def kustomize(directory: Path) -> list[Obj]:
    """``kubectl kustomize DIR``'s objects."""
    proc = subprocess.run([KUBECTL, "kustomize", str(directory)], capture_output=True, text=True, check=False,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


def values_files() -> dict[str, Obj]:
    return {path.stem: yaml.safe_load(path.read_text()) for path in sorted(VALUES.glob("*.yaml"))}


def render_chart(chart: Path, values: Obj, namespace: str = OPERATOR_NAMESPACE) -> tuple[list[Obj], str]:
    """The chart's objects and its NOTES.txt, rendered as ``helm install smk8s CHART -n NAMESPACE -f values``."""
    rendered = helm.Chart.load(chart).render(values, name="smk8s", namespace=namespace, is_install=True)
    objects: list[Obj] = []
    notes = ""
    for template, text in sorted(rendered.items()):
        if template.endswith("NOTES.txt"):
            notes = text
        elif template.endswith((".yaml", ".yml")):
            objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return objects, notes


def schema_errors(obj: Obj, version: str) -> str | None:
    """Why ``obj`` fails the Kubernetes ``version`` schema (strict), or None; raises SchemaNotFoundError."""
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return f"{obj['kind']}/{obj['metadata'].get('name')}: {exc.message} at {list(exc.path)}"
    return None


def pod_templates(objects: list[Obj]) -> list[Obj]:
    return [o for o in objects if o["kind"] == "Deployment"]
