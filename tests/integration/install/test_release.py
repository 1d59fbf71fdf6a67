"""The committed installers are what ``make manifests`` generates, and ``kubectl apply -f release/installer.yaml``
works against the emulated API server."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from tests.integration.install.rendering import OPERATOR_NAMESPACE, ROOT
from tests.support.kube import RunningKube, running_kube

INSTALLER = ROOT / "release" / "installer.yaml"
NAMESPACED = ROOT / "release" / "namespaced"


def hack(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "hack" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


def test_the_committed_release_files_and_chart_parts_equal_a_regeneration() -> None:
    files: dict[str, str] = hack("generate_release").render(ROOT)
    assert {"release/installer.yaml", "release/namespaced/crd.yaml", "release/namespaced/operator.yaml"} <= set(files)
    stale = [path for path, text in files.items()
             if not (ROOT / path).exists() or (ROOT / path).read_text() != text]
    assert not stale, f"stale generated files (run `make manifests`): {stale}"


@pytest.fixture
def kube_tls(tmp_path: Path) -> Iterator[RunningKube]:
    with running_kube(tmp_path, tls=True, rbac_enabled=True) as running:
        yield running


def served_kinds(kube: RunningKube) -> set[str]:
    """The kinds the server's discovery lists (``kubectl api-resources``' KIND column)."""
    lines = kube.kubectl("api-resources", "--no-headers").stdout.splitlines()
    return {line.split()[-1] for line in lines if line.strip()}


def objects(path: Path, namespace: str | None = None) -> list[dict[str, Any]]:
    text = path.read_text()
    if namespace is not None:
        text = text.replace("PLACEHOLDER-NAMESPACE", namespace)
    return [doc for doc in yaml.safe_load_all(text) if doc]


def assert_created(kube: RunningKube, docs: list[dict[str, Any]], served: set[str]) -> None:
    for doc in docs:
        if doc["kind"] not in served:
            continue
        meta = doc["metadata"]
        ns = ["-n", meta["namespace"]] if "namespace" in meta else []
        got = kube.kubectl_json("get", doc["kind"].lower(), meta["name"], *ns)
        assert got["metadata"].get("labels", {}).get("app.kubernetes.io/name") == "sagemaker-k8s-operator", meta
        for field in ("rules", "roleRef", "subjects"):
            assert got.get(field) == doc.get(field), (doc["kind"], meta["name"], field)


def test_kubectl_apply_installer_succeeds_and_creates_every_object(kube_tls: RunningKube) -> None:
    """`kubectl apply -f release/installer.yaml`, as the user guide says, exits 0 and creates every object; a second
    apply (an upgrade with nothing changed) configures nothing."""
    proc = kube_tls.kubectl("apply", "-f", str(INSTALLER), check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr
    docs = objects(INSTALLER)
    assert {doc["kind"] for doc in docs} <= served_kinds(kube_tls)
    assert_created(kube_tls, docs, served_kinds(kube_tls))
    crds = kube_tls.kubectl_json("get", "crds")["items"]
    assert len([c for c in crds if c["spec"]["group"] == "sagemaker.aws.amazon.com"]) == 8
    sa = kube_tls.kubectl_json("get", "serviceaccount", "sagemaker-k8s-operator-default", "-n", OPERATOR_NAMESPACE)
    assert "eks.amazonaws.com/role-arn" in sa["metadata"]["annotations"]
    deployment = kube_tls.kubectl_json("get", "deployment", "-n", OPERATOR_NAMESPACE)["items"]
    assert [d["metadata"]["name"] for d in deployment] == ["sagemaker-k8s-operator-controller-manager"]
    again = kube_tls.kubectl("apply", "-f", str(INSTALLER), timeout=120)
    assert "configured" not in again.stdout and "created" not in again.stdout, again.stdout


def test_the_namespaced_pair_applies_once_the_placeholder_is_replaced(kube_tls: RunningKube) -> None:
    served = served_kinds(kube_tls)
    kube_tls.kubectl("apply", "-f", str(NAMESPACED / "crd.yaml"), timeout=120)
    kube_tls.kubectl("create", "namespace", "ml-team")
    docs = objects(NAMESPACED / "operator.yaml", "ml-team")
    kube_tls.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(docs), timeout=120)  # raises unless it exits 0
    assert {doc["kind"] for doc in docs} <= served
    assert_created(kube_tls, docs, served)
    sa = "system:serviceaccount:ml-team:sagemaker-k8s-operator-default"
    # The manager may work on its namespace's objects and nowhere else.
    assert kube_tls.kubectl("auth", "can-i", "patch", "trainingjobs.sagemaker.aws.amazon.com", "-n", "ml-team",
                            "--as", sa).stdout.strip() == "yes"
    assert kube_tls.kubectl("auth", "can-i", "list", "trainingjobs.sagemaker.aws.amazon.com", "-n", "default",
                            "--as", sa, check=False).stdout.strip() == "no"
    assert kube_tls.kubectl("auth", "can-i", "create", "tokenreviews.authentication.k8s.io", "--as", sa,
                            ).stdout.strip() == "yes"
