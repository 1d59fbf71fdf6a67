"""The RBAC source of truth (smk8s.rbac) and the roles generated from it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import yaml

from smk8s import rbac
from smk8s.api.v1.registry import INFO
from smk8s.kube import events

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_roles_equal_a_regeneration() -> None:
    spec = importlib.util.spec_from_file_location("generate_rbac", ROOT / "hack" / "generate_rbac.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("generate_rbac", module)
    spec.loader.exec_module(module)
    stale = [path for path, text in module.render().items() if (ROOT / path).read_text() != text]
    assert not stale, f"run `make manifests`: {stale}"


def test_every_kind_has_its_resource_and_status_and_nothing_is_a_wildcard() -> None:
    granted = rbac.grants([r.to_dict() for r in rbac.manager_rules()])
    resources = {resource for _, resource, _ in granted}
    for info in INFO.values():
        assert info.plural in resources and f"{info.plural}/status" in resources
    assert not any("*" in part for grant in granted for part in grant)
    assert {group for group, _, _ in granted} == {"sagemaker.aws.amazon.com", "events.k8s.io"}  # no core resources
    # Events go where the recorder writes them (events.k8s.io/v1), with the verbs it uses (create, series patch).
    assert events._events_path("ns").startswith("/apis/events.k8s.io/v1/")
    assert {(g, r, v) for g, r, v in granted if r == "events"} == {("events.k8s.io", "events", "create"),
                                                                   ("events.k8s.io", "events", "patch")}
    assert [(g, r, v) for g, r, v in rbac.grants([r.to_dict() for r in rbac.leader_election_rules()])] == [
        ("coordination.k8s.io", "leases", "get"), ("coordination.k8s.io", "leases", "create"),
        ("coordination.k8s.io", "leases", "update")]


def test_only_tuning_jobs_need_their_finalizers_subresource_and_only_training_jobs_are_created() -> None:
    granted = rbac.grants([r.to_dict() for r in rbac.manager_rules()])
    assert [r for _, r, _ in granted if r.endswith("/finalizers")] == ["hyperparametertuningjobs/finalizers"]
    assert [r for g, r, v in granted if v == "create" and g == "sagemaker.aws.amazon.com"] == ["trainingjobs"]
    assert not [(r, v) for _, r, v in granted if v in ("delete", "deletecollection", "update") and "/" not in r]


def test_the_proxy_and_metrics_reader_rules() -> None:
    assert rbac.grants([r.to_dict() for r in rbac.proxy_rules()]) == [
        ("authentication.k8s.io", "tokenreviews", "create"), ("authorization.k8s.io", "subjectaccessreviews", "create")]
    assert rbac.metrics_reader_rules()[0].to_dict() == {"nonResourceURLs": ["/metrics"], "verbs": ["get"]}


def test_without_grant_takes_away_exactly_one_verb_of_one_resource() -> None:
    rules = [{"apiGroups": ["g"], "resources": ["a", "b"], "verbs": ["get", "list"]},
             {"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]
    for grant in rbac.grants(rules):
        left = rbac.without_grant(rules, grant)
        assert sorted(rbac.grants(left)) == sorted(g for g in rbac.grants(rules) if g != grant)
    assert rbac.without_grant(rules, ("", "/metrics", "get")) == rules[:1]


def test_the_generated_cluster_role_is_the_module_s_rules() -> None:
    role = yaml.safe_load((ROOT / "config" / "rbac" / "role.yaml").read_text())
    assert role["kind"] == "ClusterRole" and role["rules"] == [r.to_dict() for r in rbac.manager_rules()]
