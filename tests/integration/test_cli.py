"""The ``smk8s`` command as a user runs it: ``smk8s emulate kube`` in its own process, used through kubectl."""

from __future__ import annotations

import base64
import json
import os
import queue
import re
import signal
import ssl
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.kube import KUBECTL

SMK8S = str(Path(sys.executable).with_name("smk8s"))


@dataclass
class Emulator:
    proc: subprocess.Popen[str]
    url: str
    kubeconfig: Path
    lines: queue.Queue[str | None]

    def kubectl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig), "HOME": str(self.kubeconfig.parent)}
        cache = str(self.kubeconfig.parent / "cache")
        proc = subprocess.run(
            [KUBECTL, "--cache-dir", cache, *args], capture_output=True, text=True, env=env, timeout=60
        )
        if check:
            assert proc.returncode == 0, proc.stderr
        return proc

    def config(self) -> dict[str, Any]:
        loaded: dict[str, Any] = yaml.safe_load(self.kubeconfig.read_text())
        return loaded

    def request(self, method: str, path: str, body: Any = None, token: str | None = "admin") -> tuple[int, Any]:
        """An HTTP request to the emulator (TLS verified with the kubeconfig's CA); ``token=None``: anonymous."""
        cfg = self.config()
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {cfg['users'][0]['user']['token'] if token == 'admin' else token}"
        ca = cfg["clusters"][0]["cluster"].get("certificate-authority-data")
        context = ssl.create_default_context(cadata=base64.b64decode(ca).decode()) if ca else None
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, context=context, timeout=30) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def stop(self, sig: int) -> tuple[int, str]:
        """Send ``sig``; the exit code (it must exit within 10 s) and anything printed after the ready line."""
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=10)
        rest = []
        while (line := self.lines.get(timeout=10)) is not None:
            rest.append(line)
        return code, "".join(rest)


@contextmanager
def emulate_kube(tmp_path: Path, *options: str) -> Iterator[Emulator]:
    kubeconfig = tmp_path / "conf" / "kubeconfig"  # in a directory that does not exist yet
    proc = subprocess.Popen(
        [SMK8S, "emulate", "kube", "--port", "0", "--kubeconfig", str(kubeconfig), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    try:
        first = lines.get(timeout=30)
        assert first is not None, proc.stderr.read() if proc.stderr else ""
        match = re.fullmatch(r"ready (https?://127\.0\.0\.1:(\d+))\n", first)
        assert match, first
        yield Emulator(proc, match.group(1), kubeconfig, lines)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_emulate_kube_prints_ready_and_writes_a_working_kubeconfig(tmp_path: Path) -> None:
    with emulate_kube(tmp_path) as kube:
        assert kube.url.startswith("http://")
        # Written before "ready", atomically (no temporary file left beside it), readable by its owner only.
        assert kube.kubeconfig.exists()
        assert [p.name for p in kube.kubeconfig.parent.iterdir()] == ["kubeconfig"]
        assert stat.S_IMODE(kube.kubeconfig.stat().st_mode) == 0o600
        cfg = kube.config()
        assert cfg["clusters"][0]["cluster"] == {"server": kube.url}
        assert cfg["users"][0]["user"]["token"]

        names = kube.kubectl("get", "namespaces", "-o", "name").stdout.split()
        assert {"namespace/default", "namespace/kube-system"} <= set(names)

        # An open watch does not hold the server up: SIGTERM ends it promptly, and cleanly.
        env = {**os.environ, "KUBECONFIG": str(kube.kubeconfig), "HOME": str(tmp_path)}
        watch = subprocess.Popen(
            [KUBECTL, "get", "namespaces", "--watch", "-o", "name"], stdout=subprocess.PIPE, text=True, env=env
        )
        try:
            assert watch.stdout is not None
            assert watch.stdout.readline().startswith("namespace/")
            started = time.monotonic()
            code, rest = kube.stop(signal.SIGTERM)
            assert time.monotonic() - started < 5
            assert watch.wait(timeout=10) is not None
        finally:
            watch.kill()
            watch.wait()
            if watch.stdout is not None:
                watch.stdout.close()
    assert code == 0
    assert rest == ""  # exactly one line on stdout


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_right_after_the_ready_line_exits_cleanly(tmp_path: Path, sig: int) -> None:
    """The handlers are installed before ``ready`` is printed: no KeyboardInterrupt, no traceback, exit 0."""
    with emulate_kube(tmp_path) as kube:
        code, rest = kube.stop(sig)
        assert (code, rest) == (0, "")
        assert kube.proc.stderr is not None and "Traceback" not in kube.proc.stderr.read()


def test_tls_serves_https_with_the_ca_in_the_kubeconfig_and_rbac_authorizes(tmp_path: Path) -> None:
    with emulate_kube(tmp_path, "--tls", "--rbac") as kube:
        assert kube.url.startswith("https://127.0.0.1:")
        cluster = kube.config()["clusters"][0]["cluster"]
        assert cluster["server"] == kube.url
        assert base64.b64decode(cluster["certificate-authority-data"]).startswith(b"-----BEGIN CERTIFICATE-----")
        # kubectl verifies the server against that CA (no insecure-skip-tls-verify) and the admin may do anything.
        assert "insecure-skip-tls-verify" not in cluster
        assert "namespace/kube-system" in kube.kubectl("get", "namespaces", "-o", "name").stdout
        kube.kubectl("auth", "can-i", "delete", "namespaces")
        # --rbac: anonymous requests are authorized by the bootstrap policy (health yes, namespaces no).
        assert kube.request("GET", "/healthz", token=None) == (200, b"ok")
        code, body = kube.request("GET", "/api/v1/namespaces", token=None)
        assert code == 403
        assert json.loads(body)["message"].startswith('namespaces is forbidden: User "system:anonymous"')

        code, rest = kube.stop(signal.SIGINT)
    assert code == 0
    assert rest == ""


def test_without_rbac_anonymous_is_allowed_but_unknown_tokens_are_401(tmp_path: Path) -> None:
    with emulate_kube(tmp_path) as kube:
        assert kube.request("GET", "/api/v1/namespaces", token=None)[0] == 200  # AlwaysAllow authorization
        assert kube.request("GET", "/api/v1/namespaces", token="bogus")[0] == 401
        code, _ = kube.stop(signal.SIGINT)
    assert code == 0


@pytest.mark.parametrize(("history", "expired"), [(3, True), (100, False)])
def test_watch_history_bounds_watch_resumption(tmp_path: Path, history: int, expired: bool) -> None:
    with emulate_kube(tmp_path, "--watch-history", str(history)) as kube:
        path = "/api/v1/namespaces/default/configmaps"
        code, body = kube.request("POST", path, {"metadata": {"name": "c"}, "data": {"n": "0"}})
        assert code == 201
        start = json.loads(body)["metadata"]["resourceVersion"]
        for n in range(1, 6):
            code, _ = kube.request("PUT", f"{path}/c", {"metadata": {"name": "c"}, "data": {"n": str(n)}})
            assert code == 200
        code, body = kube.request("GET", f"{path}?watch=1&resourceVersion={start}&timeoutSeconds=1")
        first = json.loads(body.splitlines()[0])
        if expired:
            assert first["type"] == "ERROR"
            assert (first["object"]["code"], first["object"]["reason"]) == (410, "Expired")
        else:
            assert first["type"] == "MODIFIED" and first["object"]["data"] == {"n": "1"}
        assert kube.stop(signal.SIGTERM)[0] == 0
