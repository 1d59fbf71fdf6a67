"""``smk8s dev`` as a user runs it, in its own process, and kubectl and an AWS client pointed at it."""

from __future__ import annotations

import json
import os
import queue
import select
import shlex
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.session
import yaml

from tests.support.kube import KUBECTL

SMK8S = str(Path(sys.executable).with_name("smk8s"))
ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "config" / "samples"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 40.0
FAST_TIME_SCALE = 1000  # SageMaker's lifecycles in `fast_dev`: a default training job's 800 s take under a second
FAST_POLL = 0.1  # the manager's poll interval in `fast_dev`, seconds
WAIT = "--timeout=45s"  # for `kubectl wait`
Obj = dict[str, Any]


def sample(stem: str) -> Obj:
    """The sample manifest ``config/samples/<stem>.yaml``."""
    doc: Obj = yaml.safe_load((SAMPLES / f"{stem}.yaml").read_text())
    return doc


@dataclass
class Dev:
    """A running ``smk8s dev``: its process, what it printed up to the hint, and its files."""

    proc: subprocess.Popen[str]
    dir: Path
    home: Path
    printed: list[str]
    lines: queue.Queue[str | None]

    @property
    def kubeconfig(self) -> Path:
        return self.dir / "kubeconfig"

    @property
    def manager_pid(self) -> int:
        return int(next(line for line in self.printed if line.startswith("ready manager pid ")).split()[-1])

    def aws_env(self) -> dict[str, str]:
        """The ``export K=V`` lines of ``DIR/aws.env``."""
        env: dict[str, str] = {}
        for line in (self.dir / "aws.env").read_text().splitlines():
            key, _, value = line.removeprefix("export ").partition("=")
            env[key] = shlex.split(value)[0] if value else ""
        return env

    def client(self, service: str) -> Any:
        """A (sync) botocore client of ``service`` for the emulated AWS, configured from ``aws.env``."""
        env = self.aws_env()
        return botocore.session.get_session().create_client(
            service, endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_DEFAULT_REGION"],
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )

    def sagemaker(self) -> Any:
        return self.client("sagemaker")

    def sagemaker_calls(self) -> dict[str, dict[str, int]]:
        """The AWS emulator's SageMaker call counts (``/_emulator/stats``): operation -> outcome -> count."""
        with urllib.request.urlopen(f"{self.aws_env()['AWS_ENDPOINT_URL']}/_emulator/stats") as response:
            calls: dict[str, dict[str, int]] = json.load(response)["calls"]["sagemaker"]
            return calls

    def apply(self, tmp_path: Path, *objects: Obj) -> Path:
        """Write ``objects`` into ``tmp_path/manifests/<first object's name>/`` (one file per object, replacing an
        earlier version) and ``kubectl apply -f`` that directory; the directory (for ``kubectl wait -f``)."""
        directory: Path = tmp_path / "manifests" / str(objects[0]["metadata"]["name"])
        directory.mkdir(parents=True, exist_ok=True)
        for obj in objects:
            (directory / f"{obj['kind'].lower()}-{obj['metadata']['name']}.yaml").write_text(yaml.safe_dump(obj))
        self.kubectl("apply", "-f", str(directory))
        return directory

    def get(self, *args: str) -> Any:
        """``kubectl get ARGS -o json``, parsed."""
        return json.loads(self.kubectl("get", *args, "-o", "json").stdout)

    def kubectl(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig), "HOME": str(self.home)}
        proc = subprocess.run([KUBECTL, "--cache-dir", str(self.home / "cache"), *args], capture_output=True,
                              text=True, env=env, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}{proc.stdout}"
                                 f"\n--- manager log (tail) ---\n{self.manager_log_tail()}")
        return proc

    def first_line(self, *args: str, timeout: float = 60) -> str:
        """The first line a streaming kubectl command (``get --watch``) prints; the command is then stopped."""
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig), "HOME": str(self.home)}
        with subprocess.Popen([KUBECTL, "--cache-dir", str(self.home / "cache"), *args], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True, env=env) as proc:
            assert proc.stdout is not None
            try:
                ready, _, _ = select.select([proc.stdout], [], [], timeout)
                if not ready:
                    raise AssertionError(f"kubectl {' '.join(args)} printed nothing in {timeout} s\n"
                                         f"--- manager log (tail) ---\n{self.manager_log_tail()}")
                return proc.stdout.readline().rstrip("\n")
            finally:
                proc.kill()

    def manager_log_tail(self, lines: int = 40) -> str:
        path = self.dir / "manager.log"
        return "\n".join(path.read_text().splitlines()[-lines:]) if path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str]:
        """Send ``sig``; the exit status and what it printed after the hint."""
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=STOP_TIMEOUT)
        rest = []
        while (line := self.lines.get(timeout=10)) is not None:
            rest.append(line)
        return code, "".join(rest)


def wait_for_exit(pid: int, timeout: float) -> bool:
    """Wait until process ``pid`` (not necessarily our child) has exited; False on timeout."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([fd], [], [], timeout)
        return bool(readable)
    finally:
        os.close(fd)


@contextmanager
def fast_dev(tmp_path: Path) -> Iterator[Dev]:
    """``smk8s dev`` with SageMaker at ``FAST_TIME_SCALE`` x real time and its rate limits off (they follow the
    wall clock), and the manager polling every ``FAST_POLL`` seconds."""
    config = tmp_path / "aws.json"
    config.write_text(json.dumps({"rates": {"*": None}}))
    with running_dev(tmp_path, extra=["--time-scale", str(FAST_TIME_SCALE), "--poll-interval", str(FAST_POLL),
                                      "--aws-config", str(config)]) as dev:
        yield dev


@contextmanager
def running_dev(tmp_path: Path, command: Sequence[str] | None = None, *, cwd: Path = ROOT,
                extra: Sequence[str] = ()) -> Iterator[Dev]:
    """Start ``smk8s dev --dir tmp_path/dev`` (or ``command``) and yield once it printed its hint."""
    directory = tmp_path / "dev"
    argv = list(command) if command is not None else [SMK8S, "dev", "--dir", str(directory), *extra]
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    stderr_path = tmp_path / "dev-stderr.txt"
    stderr = stderr_path.open("w")
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=cwd)
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    printed: list[str] = []
    try:
        while not printed or not printed[-1].startswith("Manager logs:"):
            line = lines.get(timeout=START_TIMEOUT)
            if line is None:
                stderr.flush()
                raise AssertionError(f"smk8s dev exited early:\n{''.join(printed)}\n{stderr_path.read_text()}")
            printed.append(line.rstrip("\n"))
        yield Dev(proc, directory, home, printed, lines)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        stderr.close()
