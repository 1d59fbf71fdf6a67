"""Configuration and namespace choices, as kubectl makes them."""

from __future__ import annotations

import os
from pathlib import Path

from smk8s.smlogs.kube import ConfigChoice, choose_config, context_namespace, resolve_namespace

HOME_CONFIG = Path("/home/u/.kube/config")


def test_config_precedence() -> None:
    env = {"KUBECONFIG": os.pathsep.join(["/a", "", "/b"])}
    assert choose_config("/flag", env, HOME_CONFIG) == ConfigChoice(("/flag",))
    assert choose_config(None, env, HOME_CONFIG) == ConfigChoice(("/a", "/b"))
    assert choose_config(None, {}, HOME_CONFIG) == ConfigChoice((str(HOME_CONFIG),))
    in_cluster = choose_config(None, {"KUBECONFIG": ""}, None)
    assert in_cluster.in_cluster and not choose_config(None, {}, HOME_CONFIG).in_cluster


FIRST = {"current-context": "dev", "contexts": [
    {"name": "dev", "context": {"cluster": "c", "namespace": "team-a"}},
    {"name": "bare", "context": {"cluster": "c"}},
]}
SECOND = {"current-context": "prod", "contexts": [
    {"name": "dev", "context": {"cluster": "c", "namespace": "shadowed"}},
    {"name": "prod", "context": {"cluster": "c", "namespace": "team-p"}},
]}


def test_context_namespace_merges_like_client_go() -> None:
    assert context_namespace([FIRST, SECOND], None) == "team-a"  # the first current-context wins
    assert context_namespace([SECOND, FIRST], None) == "team-p"
    assert context_namespace([SECOND, FIRST], "dev") == "shadowed"  # the first definition of a context wins
    assert context_namespace([FIRST], "bare") is None
    assert context_namespace([FIRST], "nope") is None
    assert context_namespace([{}], None) is None


def test_namespace_precedence() -> None:
    files = ConfigChoice(("/k",))
    cluster = ConfigChoice(())
    assert resolve_namespace("flag", files, [FIRST], None, {}, None) == "flag"
    assert resolve_namespace(None, files, [FIRST], None, {}, None) == "team-a"
    assert resolve_namespace(None, files, [FIRST], "bare", {}, None) == "default"
    # In a pod: POD_NAMESPACE, then the service account's namespace file (client-go's inClusterClientConfig).
    assert resolve_namespace(None, cluster, [], None, {"POD_NAMESPACE": "env-ns"}, "sa-ns") == "env-ns"
    assert resolve_namespace(None, cluster, [], None, {}, "sa-ns") == "sa-ns"
    assert resolve_namespace(None, cluster, [], None, {}, None) == "default"
