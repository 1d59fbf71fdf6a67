"""Shared fixtures: emulators running in the background, with kubectl and clients pointed at them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.kube import RunningKube, running_kube


@pytest.fixture
def kube(tmp_path: Path) -> Iterator[RunningKube]:
    """A fresh emulated API server (no RBAC) on a background thread, with a kubeconfig for it."""
    with running_kube(tmp_path) as running:
        yield running


@pytest.fixture
def kube_rbac(tmp_path: Path) -> Iterator[RunningKube]:
    """A fresh emulated API server that authorizes every request with RBAC.

    It serves HTTPS: client-go (so kubectl) sends bearer tokens only over TLS, as a real cluster requires.
    """
    with running_kube(tmp_path, rbac_enabled=True, tls=True) as running:
        yield running
