"""Test support: the kube emulator running on its own thread, and kubectl pointed at it.

Sync clients (kubectl subprocesses, the official ``kubernetes`` client) block the calling thread, so the emulator
runs on a background thread with its own event loop; tests talk to it over HTTP like any client would.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from smk8s.emulators.kube.server import KubeEmulator

T = TypeVar("T")

KUBECTL = str(Path(sys.executable).with_name("kubectl"))


@dataclass
class RunningKube:
    """A started :class:`KubeEmulator` on a background loop, its kubeconfig on disk, and kubectl helpers."""

    emulator: KubeEmulator
    loop: asyncio.AbstractEventLoop
    kubeconfig_path: Path
    cache_dir: Path

    @property
    def url(self) -> str:
        return self.emulator.url

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the emulator's loop (where its state lives) and return its result."""
        future: Future[T] = Future()

        def run() -> None:
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)

        self.loop.call_soon_threadsafe(run)
        return future.result(timeout=30)

    def run_async(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against the emulator; raises with kubectl's stderr when ``check`` and it fails."""
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig_path), "HOME": str(self.cache_dir)}
        proc = subprocess.run(
            [KUBECTL, "--cache-dir", str(self.cache_dir / "cache"), *args],
            input=input,
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}{proc.stdout}")
        return proc

    def kubectl_json(self, *args: str) -> Any:
        return json.loads(self.kubectl(*args, "-o", "json").stdout)

    def popen_kubectl(self, *args: str) -> subprocess.Popen[str]:
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig_path), "HOME": str(self.cache_dir)}
        return subprocess.Popen(
            [KUBECTL, "--cache-dir", str(self.cache_dir / "cache"), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )


@contextmanager
def running_kube(tmp_path: Path, **options: Any) -> Iterator[RunningKube]:
    """Start a :class:`KubeEmulator` with ``options`` on a background thread for the duration of the block."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="kube-emulator", daemon=True)
    thread.start()

    async def make() -> KubeEmulator:
        emulator = KubeEmulator(**options)
        await emulator.start()
        return emulator

    emulator = asyncio.run_coroutine_threadsafe(make(), loop).result(timeout=30)
    kubeconfig = tmp_path / "kubeconfig"
    emulator.write_kubeconfig(kubeconfig)
    try:
        yield RunningKube(emulator, loop, kubeconfig, tmp_path)
    finally:
        asyncio.run_coroutine_threadsafe(emulator.stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def failure_status(exc: Any) -> dict[str, Any]:
    """The ``Status`` body of a failed call (an ``ApiException`` of either Kubernetes client), checked for shape."""
    raw = exc.body or b"{}"
    body: dict[str, Any] = json.loads(raw)
    assert body["kind"] == "Status" and body["status"] == "Failure"
    assert body["code"] == exc.status
    return body
