"""``smk8s emulate aws`` as a user runs it: its own process, one ``ready URL`` line, botocore pointed at it, and a
clean exit on SIGINT/SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import botocore.session
import pytest
from botocore.config import Config

SMK8S = str(Path(sys.executable).with_name("smk8s"))


@contextmanager
def emulator(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = subprocess.Popen(
        [SMK8S, "emulate", "aws", "--port", "0", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("ready http://127.0.0.1:"), (line, proc.stderr.read() if proc.stderr else "")
        yield proc, line.split()[1]
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def get(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=10) as resp:
        loaded: dict[str, object] = json.loads(resp.read())
        return loaded


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_ready_line_serves_botocore_and_exits_cleanly(tmp_path: Path, sig: int) -> None:
    config = tmp_path / "aws.yaml"
    config.write_text("seed: 5\nquotas: {training-jobs-running: 3}\nrates: {'*': null}\n")
    with emulator("--time-scale", "100", "--config", str(config)) as (proc, url):
        client = botocore.session.get_session().create_client(
            "sts",
            endpoint_url=url,
            region_name="us-west-2",
            aws_access_key_id="AKIDCLI",
            aws_secret_access_key="secret",
            config=Config(retries={"total_max_attempts": 1}),
        )
        assert client.get_caller_identity()["Account"] == "123456789012"
        assert get(url + "/_emulator/clock")["scale"] == 100
        assert get(url + "/_emulator/quotas")["limits"]["training-jobs-running"] == 3  # type: ignore[index]
        proc.send_signal(sig)
        assert proc.wait(timeout=10) == 0


def test_bad_config_fails_before_ready(tmp_path: Path) -> None:
    config = tmp_path / "aws.yaml"
    config.write_text("unknown_key: 1\n")
    proc = subprocess.run(
        [SMK8S, "emulate", "aws", "--config", str(config)], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode != 0 and "ready" not in proc.stdout
    assert "unknown_key" in proc.stderr


def test_time_scale_and_seed_flags_override_the_config_file(tmp_path: Path) -> None:
    """``--time-scale 1`` and ``--seed 0`` are the defaults' values, yet given on the command line they still win."""
    config = tmp_path / "aws.yaml"
    config.write_text("time_scale: 500\nseed: 3\n")
    with emulator("--config", str(config)) as (proc, url):
        assert get(url + "/_emulator/clock")["scale"] == 500
        assert get(url + "/_emulator/faults")["seed"] == 3
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    with emulator("--time-scale", "1", "--seed", "0", "--config", str(config)) as (proc, url):
        assert get(url + "/_emulator/clock")["scale"] == 1
        assert get(url + "/_emulator/faults")["seed"] == 0
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_right_after_the_ready_line_exits_cleanly(sig: int) -> None:
    """The handlers are installed before ``ready`` is printed: no KeyboardInterrupt, no traceback, exit 0."""
    with emulator() as (proc, _):
        proc.send_signal(sig)
        assert proc.wait(timeout=10) == 0
        assert proc.stderr is not None and "Traceback" not in proc.stderr.read()
