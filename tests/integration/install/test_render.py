"""Every installer renders with the real tools, validates against two Kubernetes versions' schemas, and yields a
pod that passes the restricted Pod Security Standard with the settings issue 9 asks for."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest

from smk8s import rbac
from smk8s.api.v1.registry import INFO
from tests.integration.install import pod_security
from tests.integration.install.rendering import (
    CHARTS_BY_NAME,
    CONFIG,
    KUBERNETES_VERSIONS,
    OPERATOR_NAMESPACE,
    OVERLAYS,
    Obj,
    kustomize,
    pod_templates,
    render_chart,
    schema_errors,
    values_files,
)

PROXY_IMAGE = "quay.io/brancz/kube-rbac-proxy:"
# kube-rbac-proxy's deprecated flags (klog's, removed upstream, and the insecure listener):
# https://github.com/kubernetes/enhancements/tree/master/keps/sig-instrumentation/2845-deprecate-klog-specific-flags-in-k8s-components
# https://github.com/brancz/kube-rbac-proxy/issues/187
DEPRECATED_PROXY_FLAGS = ("--logtostderr", "--alsologtostderr", "--log-dir", "--log-file", "--insecure-listen-address",
                          "--tls-reload-interval")
NO_SCHEMA_KINDS = {"ServiceMonitor", *(info.kind for info in INFO.values())}  # CRs: validated by their CRDs


@pytest.fixture(scope="module")
def overlays() -> dict[str, list[Obj]]:
    return {name: kustomize(CONFIG / name) for name in OVERLAYS}


@pytest.fixture(scope="module")
def charts() -> dict[str, tuple[list[Obj], str]]:
    """``chart/values-file`` → rendered objects and NOTES.txt, for every chart and values file."""
    return {f"{chart}/{name}": render_chart(path, values)
            for chart, path in CHARTS_BY_NAME.items() for name, values in values_files().items()}


def all_rendered(overlays: dict[str, list[Obj]], charts: dict[str, tuple[list[Obj], str]]) -> dict[str, list[Obj]]:
    return {**{f"kustomize {k}": v for k, v in overlays.items()}, **{f"helm {k}": v[0] for k, v in charts.items()}}


def containers(deployment: Obj) -> dict[str, Obj]:
    return {c["name"]: c for c in deployment["spec"]["template"]["spec"]["containers"]}


def test_every_overlay_renders_the_objects_users_know(overlays: dict[str, list[Obj]]) -> None:
    default = {(o["kind"], o["metadata"]["name"]): o for o in overlays["default"]}
    assert ("Namespace", OPERATOR_NAMESPACE) in default
    assert sum(kind == "CustomResourceDefinition" for kind, _ in default) == len(INFO)
    sa = default[("ServiceAccount", "sagemaker-k8s-operator-default")]
    assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].startswith("arn:aws:iam::")
    deployment = default[("Deployment", "sagemaker-k8s-operator-controller-manager")]
    assert deployment["metadata"]["namespace"] == OPERATOR_NAMESPACE
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == "sagemaker-k8s-operator-default"
    service = default[("Service", "sagemaker-k8s-operator-controller-manager-metrics-service")]
    assert service["spec"]["ports"] == [{"name": "https", "port": 8443, "protocol": "TCP", "targetPort": "https"}]
    assert ("ClusterRole", "sagemaker-k8s-operator-manager-role") in default
    assert ("ClusterRole", "sagemaker-k8s-operator-metrics-reader") in default
    monitor = overlays["prometheus"][0]
    endpoint = monitor["spec"]["endpoints"][0]
    assert (monitor["kind"], endpoint["scheme"], endpoint["port"]) == ("ServiceMonitor", "https", "https")
    assert endpoint["bearerTokenFile"].endswith("/serviceaccount/token") and "tlsConfig" in endpoint
    assert {o["kind"] for o in overlays["samples"]} == {info.kind for info in INFO.values()}


def test_the_namespaced_overlay_uses_roles_and_watches_its_own_namespace(overlays: dict[str, list[Obj]]) -> None:
    objects = overlays["namespaced"]
    kinds = {(o["kind"], o["metadata"]["name"]) for o in objects}
    assert ("Role", "sagemaker-k8s-operator-manager-role") in kinds
    assert ("ClusterRole", "sagemaker-k8s-operator-manager-role") not in kinds
    assert not any(o["kind"] in ("Namespace", "CustomResourceDefinition") for o in objects)
    binding = next(o for o in objects if o["metadata"]["name"] == "sagemaker-k8s-operator-manager-rolebinding")
    assert binding["kind"] == "RoleBinding" and binding["roleRef"]["kind"] == "Role"
    # The proxy's reviews are cluster-scoped: still a ClusterRole, bound under a per-installation name.
    assert ("ClusterRole", "sagemaker-k8s-operator-proxy-role") in kinds
    assert ("ClusterRoleBinding", "sagemaker-k8s-operator-proxy-rolebinding-PLACEHOLDER-NAMESPACE") in kinds
    manager = containers(pod_templates(objects)[0])["manager"]
    assert "--namespace=PLACEHOLDER-NAMESPACE" in manager["args"]
    manager_role = next(o for o in objects if o["kind"] == "Role" and o["metadata"]["name"].endswith("manager-role"))
    assert manager_role["rules"] == [r.to_dict() for r in rbac.manager_rules()]


@pytest.mark.parametrize("values_name", sorted(values_files()))
@pytest.mark.parametrize("chart", sorted(CHARTS_BY_NAME))
def test_every_chart_lints_clean_with_every_values_file(chart: str, values_name: str) -> None:
    report = helm.lint(CHARTS_BY_NAME[chart], values_files()[values_name], strict=True,
                       namespace=OPERATOR_NAMESPACE, kube_version=f"v{KUBERNETES_VERSIONS[0]}")
    problems = [m for m in report["messages"] if m["severity"] >= 2]  # 2: warning, 3: error (strict: both fail)
    assert not problems and not report["errors"], report


def test_the_values_schema_refuses_what_the_manager_would_refuse() -> None:
    chart = helm.Chart.load(CHARTS_BY_NAME["rolebased"])
    good: dict[str, Any] = values_files()["defaults"]
    chart.validate_schema(good)
    for bad in ({"deletionPolicy": "keep"}, {"logLevel": "verbose"}, {"roleArn": "my-role"},
                {"maxConcurrentReconciles": 0}, {"watchNamespaces": ["Not_A_Namespace"]}, {"replica": 2},
                {"proxy": {"enabled": "yes"}}):
        with pytest.raises(helm.HelmValuesError):
            chart.validate_schema({**good, **bad})


def test_chart_values_reach_the_manager_and_the_rbac(charts: dict[str, tuple[list[Obj], str]]) -> None:
    objects, notes = charts["rolebased/watch-namespaces"]
    deployment = pod_templates(objects)[0]
    assert deployment["spec"]["replicas"] == 2
    args = containers(deployment)["manager"]["args"]
    for expected in ("--namespace=ml-team-a", "--namespace=ml-team-b", "--watch-selector=team in (a,b)",
                     "--log-level=debug", "--log-format=console", "--poll-interval=10",
                     "--max-concurrent-reconciles=4", "--deletion-policy=retain", "--leader-elect",
                     "--leader-election-lease-duration=30",
                     "--sagemaker-endpoint=https://api.sagemaker.us-west-2.amazonaws.com"):
        assert expected in args
    roles = [o for o in objects if o["kind"] == "Role" and o["metadata"]["name"].endswith("manager-role")]
    assert sorted(o["metadata"]["namespace"] for o in roles) == ["ml-team-a", "ml-team-b"]
    assert not any(o["kind"] == "ClusterRole" and o["metadata"]["name"].endswith("manager-role") for o in objects)
    assert "ml-team-a, ml-team-b" in notes

    objects, notes = charts["rolebased/no-proxy-monitor"]
    deployment = pod_templates(objects)[0]
    assert set(containers(deployment)) == {"manager"}
    assert "--metrics-bind-address=:8080" in containers(deployment)["manager"]["args"]
    assert "--leader-elect" not in containers(deployment)["manager"]["args"]
    assert not any(o["kind"] in ("CustomResourceDefinition", "Role") for o in objects)
    monitor = next(o for o in objects if o["kind"] == "ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["scheme"] == "http"
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert "READY 1/1" in notes

    objects, _ = charts["rolebased/tls-scheduling"]
    pod = pod_templates(objects)[0]["spec"]["template"]["spec"]
    proxy = {c["name"]: c for c in pod["containers"]}["kube-rbac-proxy"]
    assert "--tls-cert-file=/etc/kube-rbac-proxy/tls.crt" in proxy["args"]
    assert {"name": "proxy-tls", "secret": {"secretName": "smk8s-metrics-tls"}} in pod["volumes"]
    assert pod["nodeSelector"] == {"kubernetes.io/os": "linux"} and pod["tolerations"][0]["key"] == "dedicated"
    assert "nodeAffinity" in pod["affinity"] and pod["priorityClassName"] == "system-cluster-critical"
    monitor = next(o for o in objects if o["kind"] == "ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["tlsConfig"] == {
        "insecureSkipVerify": False,
        "serverName": "sagemaker-k8s-operator-controller-manager-metrics-service.sagemaker-k8s-operator-system.svc"}

    objects, notes = charts["operator_chart/defaults"]
    assert "--namespace=sagemaker-k8s-operator-system" in containers(pod_templates(objects)[0])["manager"]["args"]
    assert not any(o["kind"] in ("CustomResourceDefinition", "ClusterRoleBinding") and "manager" in
                   o["metadata"]["name"] for o in objects)
    assert {o["kind"] for o in charts["crd_chart/defaults"][0]} == {"CustomResourceDefinition"}
    crds = charts["rolebased/defaults"][0]
    assert all(o["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
               for o in crds if o["kind"] == "CustomResourceDefinition")


def test_every_rendered_object_is_valid_for_two_kubernetes_versions(
    overlays: dict[str, list[Obj]], charts: dict[str, tuple[list[Obj], str]],
) -> None:
    errors: list[str] = []
    checked = 0
    seen: set[str] = set()  # the same object rendered by several installers is validated once
    for source, objects in all_rendered(overlays, charts).items():
        for obj in objects:
            identity = json.dumps(obj, sort_keys=True)
            if identity in seen:
                continue
            seen.add(identity)
            for version in KUBERNETES_VERSIONS:
                try:
                    problem = schema_errors(obj, version)
                except kubernetes_validate.SchemaNotFoundError:
                    assert obj["kind"] in NO_SCHEMA_KINDS, f"{source}: no {version} schema for {obj['kind']}"
                    continue
                checked += 1
                if problem:
                    errors.append(f"{source} (Kubernetes {version}): {problem}")
    assert not errors, "\n".join(errors)
    assert checked > 50


def test_the_validator_catches_a_broken_deployment(overlays: dict[str, list[Obj]]) -> None:
    broken = copy.deepcopy(pod_templates(overlays["default"])[0])
    broken["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memroy"] = "1Gi"
    broken["spec"]["replicas"] = "one"
    assert schema_errors(broken, KUBERNETES_VERSIONS[0]) is not None


def test_every_rendered_pod_passes_the_restricted_pod_security_standard(
    overlays: dict[str, list[Obj]], charts: dict[str, tuple[list[Obj], str]],
) -> None:
    deployments = {source: d for source, objects in all_rendered(overlays, charts).items()
                   for d in pod_templates(objects)}
    assert len(deployments) >= 2 + 2 * len(values_files())
    for source, deployment in deployments.items():
        template = deployment["spec"]["template"]
        assert pod_security.violations(template["spec"], template["metadata"].get("annotations")) == [], source


def test_the_pod_security_check_fails_each_restricted_control(overlays: dict[str, list[Obj]]) -> None:
    good = pod_templates(overlays["default"])[0]["spec"]["template"]["spec"]
    breaks: dict[str, Callable[[Obj], object]] = {
        "Host Namespaces": lambda s: s.update(hostNetwork=True),
        "Privileged Containers": lambda s: s["containers"][0]["securityContext"].update(privileged=True),
        "HostPath Volumes": lambda s: s["volumes"].append({"name": "h", "hostPath": {"path": "/"}}),
        "Host Ports": lambda s: s["containers"][0].setdefault("ports", []).append({"containerPort": 1,
                                                                                   "hostPort": 1}),
        "Privilege Escalation": lambda s: s["containers"][0]["securityContext"].pop("allowPrivilegeEscalation"),
        "Running as Non-root:": lambda s: (s["securityContext"].pop("runAsNonRoot"),
                                           s["containers"][1]["securityContext"].pop("runAsNonRoot")),
        "Running as Non-root user": lambda s: s["containers"][0]["securityContext"].update(runAsUser=0),
        "Seccomp": lambda s: s["securityContext"].pop("seccompProfile"),
        "Capabilities": lambda s: s["containers"][0]["securityContext"]["capabilities"].update(drop=["NET_RAW"]),
        "Volume Types": lambda s: s["volumes"].append({"name": "n", "nfs": {"server": "x", "path": "/"}}),
        "Sysctls": lambda s: s["securityContext"].update(sysctls=[{"name": "kernel.msgmax", "value": "1"}]),
        "SELinux": lambda s: s["securityContext"].update(seLinuxOptions={"type": "spc_t"}),
        "/proc Mount Type": lambda s: s["containers"][0]["securityContext"].update(procMount="Unmasked"),
    }
    assert pod_security.violations(good) == []
    for control, mutate in breaks.items():
        spec = copy.deepcopy(good)
        mutate(spec)
        assert any(v.startswith(control) for v in pod_security.violations(spec)), control


def test_the_pods_are_configured_as_issue_9_asks(overlays: dict[str, list[Obj]]) -> None:
    deployment = pod_templates(overlays["default"])[0]
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] > 0
    assert pod["terminationGracePeriodSeconds"] > 30  # the manager's graceful shutdown takes up to 30 s
    by_name = containers(deployment)
    manager, proxy = by_name["manager"], by_name["kube-rbac-proxy"]
    assert "--metrics-bind-address=127.0.0.1:8080" in manager["args"] and "--leader-elect" in manager["args"]
    assert manager["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert manager["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert manager["resources"]["requests"]["memory"] == "128Mi"  # sized from make bench (114 MB peak)
    for container in (manager, proxy):
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True and context["capabilities"]["drop"] == ["ALL"]
        assert context["allowPrivilegeEscalation"] is False
    assert proxy["image"].startswith(PROXY_IMAGE) and "gcr.io" not in proxy["image"]
    assert "--secure-listen-address=0.0.0.0:8443" in proxy["args"]
    assert "--upstream=http://127.0.0.1:8080/" in proxy["args"]
    assert not [a for a in proxy["args"] if a.split("=")[0] in DEPRECATED_PROXY_FLAGS]


def test_the_dockerfile_builds_a_wheel_and_runs_it_as_a_numeric_non_root_user() -> None:
    root = Path(__file__).resolve().parents[3]
    lines = [line.strip() for line in (root / "Dockerfile").read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    stages = [line for line in lines if line.startswith("FROM ")]
    assert len(stages) >= 2  # multi-stage
    base = next(line for line in lines if line.startswith("ARG PYTHON_IMAGE="))
    assert base.startswith("ARG PYTHON_IMAGE=python:3.11.") and "-slim" in base  # pinned to a patch version
    assert any("pip wheel" in line for line in lines)
    final = lines[lines.index(stages[-1]):]
    assert not any(line.startswith("COPY") and "--from=" not in line for line in final)  # no source in the image
    user = next(line for line in final if line.startswith("USER "))
    uid = user.split()[1].split(":")[0]
    assert uid.isdigit() and int(uid) > 0
    assert final[-1] == 'ENTRYPOINT ["smk8s", "manager"]'
    assert "!src/" in (root / ".dockerignore").read_text()
