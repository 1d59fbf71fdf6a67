"""``python -m tests.support.manager_forkserver``: start ``smk8s manager`` processes quickly, to kill them.

Crash tests restart the manager dozens of times; paying Python's start-up and imports (most of a second) each
time would dominate them. This server imports the manager and the job controllers once, then forks one child per
request; each child runs :func:`smk8s.cli.main` with ``["manager", *argv]``, exactly as ``smk8s manager`` does
(the product's controllers, flags, signal handling). The server runs no event loop and starts no thread, so
forking is safe. Children are real processes: a test SIGKILLs them by pid.

Protocol, one JSON object per line on stdin, one answer per line on stdout:

- ``{"spawn": [argv...], "log": "/path"}`` → ``{"pid": n}`` (the child's stdout and stderr go to ``log``);
- ``{"wait": pid}`` → ``{"status": s}`` (reaps the child; ``s`` is ``waitpid``'s status);
- end of input: the server exits.

:class:`ForkServer` is the asyncio client tests use.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Mapping
from typing import Any


def _serve() -> int:
    import smk8s.cli
    import smk8s.controllers.setup  # preloaded (every controller): the children start without importing them
    import smk8s.manager.manager

    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        if "spawn" in request:
            pid = os.fork()
            if pid == 0:
                _child(smk8s.cli.main, [str(a) for a in request["spawn"]], str(request["log"]))
            answer: dict[str, Any] = {"pid": pid}
        else:
            _, status = os.waitpid(int(request["wait"]), 0)
            answer = {"status": status}
        print(json.dumps(answer), flush=True)
    return 0


def _child(main: Any, argv: list[str], log: str) -> None:  # never returns
    code = 1
    try:
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(out, 1)
        os.dup2(out, 2)
        sys.stdin = open(0)  # noqa: SIM115
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        code = int(main(["manager", *argv]))
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


class ForkServer:
    """The asyncio side: ``async with ForkServer(env) as server: pid = await server.spawn(argv, log)``."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = dict(env)
        self._process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> ForkServer:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.support.manager_forkserver",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=self.env,
        )  # fmt: skip
        assert (await self._read()).get("ready") is True
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._process is not None and self._process.stdin is not None
        self._process.stdin.close()
        await self._process.wait()

    async def spawn(self, argv: list[str], log: str) -> int:
        """Start a manager with ``smk8s manager`` flags ``argv``; its pid."""
        return int((await self._ask({"spawn": argv, "log": log}))["pid"])

    async def reap(self, pid: int) -> int:
        """Wait for a child (killed or stopped) to end; its ``waitpid`` status."""
        return int((await self._ask({"wait": pid}))["status"])

    async def _ask(self, request: Mapping[str, Any]) -> dict[str, Any]:
        assert self._process is not None and self._process.stdin is not None
        self._process.stdin.write(json.dumps(request).encode() + b"\n")
        await self._process.stdin.drain()
        return await self._read()

    async def _read(self) -> dict[str, Any]:
        assert self._process is not None and self._process.stdout is not None
        line = await self._process.stdout.readline()
        if not line:
            raise RuntimeError("the manager fork server exited")
        answer: dict[str, Any] = json.loads(line)
        return answer


if __name__ == "__main__":
    sys.exit(_serve())
