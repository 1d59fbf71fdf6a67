"""``make run``'s command, ``smk8s dev``: it starts everything, prints the hint, and stops every child it started."""

from __future__ import annotations

import json
import shlex
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from tests.e2e.support import ROOT, running_dev, wait_for_exit


def make_run_command(dev_dir: Path) -> list[str]:
    """The command ``make run`` runs (``make -n``: printed, not run), with ``DEV_DIR`` pointed at ``dev_dir``."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    printed = subprocess.run(["make", "-n", "-s", "run", f"DEV_DIR={dev_dir}"], cwd=ROOT, capture_output=True,
                             text=True, check=True, timeout=30).stdout
    line = next(line for line in printed.splitlines() if " dev " in f"{line} ")
    argv = shlex.split(line)
    argv[0] = str(ROOT / argv[0]) if not Path(argv[0]).is_absolute() else argv[0]
    return argv


def test_make_run_starts_the_emulators_crds_and_manager_and_prints_the_hint(tmp_path: Path) -> None:
    command = make_run_command(tmp_path / "dev")
    assert command[1:2] == ["dev"] and "--time-scale" in command
    with running_dev(tmp_path, command) as dev:
        text = "\n".join(dev.printed)
        assert f"export KUBECONFIG={dev.kubeconfig}" in text
        assert "kubectl apply -f config/samples/trainingjob-xgboost-mnist.yaml" in text  # relative to the checkout
        assert (ROOT / "config/samples/trainingjob-xgboost-mnist.yaml").exists()
        assert "kubectl get trainingjobs -w" in text
        env = dev.aws_env()
        assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:") and env["AWS_ACCESS_KEY_ID"]

        crds = json.loads(dev.kubectl("get", "crd", "-o", "json").stdout)["items"]
        names = {c["metadata"]["name"] for c in crds}
        assert names == {f"{p.name.split('_', 1)[1].removesuffix('.yaml')}.{p.name.split('_', 1)[0]}"
                         for p in (ROOT / "config" / "crd" / "bases").glob("*.yaml")}
        for crd in crds:
            assert {"type": "Established", "status": "True"}.items() <= next(
                c for c in crd["status"]["conditions"] if c["type"] == "Established").items()
        manager = dev.manager_pid
        code, rest = dev.stop(signal.SIGINT)
        assert code == 0, rest
        assert "stopped" in rest
        assert wait_for_exit(manager, 5)


def test_sigterm_stops_the_manager_gracefully(tmp_path: Path) -> None:
    with running_dev(tmp_path) as dev:
        manager = dev.manager_pid
        code, rest = dev.stop(signal.SIGTERM)
        assert code == 0, rest
        assert wait_for_exit(manager, 5)
        assert "Manager stopped" in dev.manager_log_tail()


def test_the_manager_does_not_outlive_a_killed_dev(tmp_path: Path) -> None:
    with running_dev(tmp_path) as dev:
        manager = dev.manager_pid
        dev.proc.kill()
        dev.proc.wait(timeout=10)
        assert wait_for_exit(manager, 30)
