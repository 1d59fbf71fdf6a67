"""``kubectl smlogs`` run through kubectl, as a subprocess, against both emulators started in-process.

Both emulators serve from this test's event loop while the plugin runs as ``.venv/bin/kubectl smlogs ...`` (kubectl
finds ``kubectl-smlogs`` on PATH, as it would for a user). The AWS emulator's clock runs at real speed: tests move
it with ``advance`` (lifecycle steps and their log lines happen then), and wait on the plugin's output lines, never
on sleeps. Objects are created with their status written through the status subresource, as the operator would;
SageMaker jobs are created in the AWS emulator with aiobotocore (no operator runs).
"""

from __future__ import annotations

import asyncio
import copy
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiobotocore.session import AioSession

from smk8s.api.v1.common import GROUP, VERSION
from smk8s.api.v1.registry import INFO
from smk8s.emulators.aws.server import AwsEmulator
from smk8s.emulators.kube.server import KubeEmulator
from smk8s.kube import load_api_client, request_json
from tests.support.controllers import install_crds, sample

__all__ = ["DEADLINE", "JOB_KINDS", "KUBECTL", "NS", "Env", "Result", "install_crd", "install_crds", "sample"]

BIN = Path(sys.executable).parent
KUBECTL = str(BIN / "kubectl")
NS = "default"
DEADLINE = 60.0
JOB_KINDS = ("TrainingJob", "ProcessingJob", "BatchTransformJob", "HyperparameterTuningJob")
Obj = dict[str, Any]


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()


@dataclass
class Follower:
    """A running plugin: its stdout lines as they come."""

    process: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)

    async def wait_for(self, predicate: Callable[[list[str]], bool]) -> list[str]:
        """Read lines until ``predicate(all lines so far)`` holds (fails at EOF or after DEADLINE)."""
        assert self.process.stdout is not None
        async with asyncio.timeout(DEADLINE):
            while not predicate(self.lines):
                raw = await self.process.stdout.readline()
                if not raw:
                    stderr = await self._stderr()
                    raise AssertionError(f"the plugin ended before the expected output; lines={self.lines} "
                                         f"stderr={stderr}")
                self.lines.append(raw.decode().rstrip("\n"))
        return self.lines

    async def wait_for_stderr_line(self) -> str:
        """The next line the plugin writes to stderr (a notice)."""
        assert self.process.stderr is not None
        async with asyncio.timeout(DEADLINE):
            return (await self.process.stderr.readline()).decode()

    async def finish(self) -> Result:
        """Wait for the plugin to exit by itself; every line, and stderr."""
        assert self.process.stdout is not None
        async with asyncio.timeout(DEADLINE):
            rest, stderr = await self.process.communicate()
        self.lines.extend(rest.decode().splitlines())
        assert self.process.returncode is not None
        return Result(self.process.returncode, "\n".join(self.lines), stderr.decode())

    async def interrupt(self) -> Result:
        self.process.send_signal(signal.SIGINT)
        return await self.finish()

    async def _stderr(self) -> str:
        assert self.process.stderr is not None
        try:
            async with asyncio.timeout(DEADLINE):
                await self.process.wait()
                return (await self.process.stderr.read()).decode()
        except TimeoutError:
            return "(still running)"


class Env:
    """Both emulators, the job CRDs, a kubeconfig file, and helpers to run the plugin."""

    def __init__(self, kube: KubeEmulator, aws: AwsEmulator, api: Any, sagemaker: Any, home: Path) -> None:
        self.kube = kube
        self.aws = aws
        self.api = api
        self.sagemaker = sagemaker
        self.home = home
        self.kubeconfig = home / "kubeconfig"
        kube.write_kubeconfig(self.kubeconfig)

    # -- Kubernetes ------------------------------------------------------------------------------------------------

    async def create(self, obj: Obj, status: Obj | None = None, namespace: str = NS) -> Obj:
        """Create ``obj``, then write ``status`` through the status subresource (as the operator does)."""
        obj = copy.deepcopy(obj)
        obj["metadata"]["namespace"] = namespace
        plural = INFO[obj["kind"]].plural
        base = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{plural}"
        created: Obj = await request_json(self.api, "POST", base, body=obj)
        if status is not None:
            created["status"] = status
            created = await request_json(self.api, "PUT", f"{base}/{obj['metadata']['name']}/status", body=created)
        return created

    async def create_namespace(self, name: str) -> None:
        await request_json(self.api, "POST", "/api/v1/namespaces", body={
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    async def create_job_object(self, sample_name: str, name: str, job_name: str | None, *,
                                status: Obj | None = None, spec: Obj | None = None, namespace: str = NS) -> Obj:
        """A sample manifest named ``name`` whose status names the SageMaker job ``job_name`` (None: no status)."""
        obj = sample(sample_name)
        obj["metadata"] = {"name": name}
        obj["spec"].update(spec or {})
        if job_name is None:
            return await self.create(obj, status, namespace)
        info = {"TrainingJob": ("sageMakerTrainingJobName", "trainingJobStatus"),
                "ProcessingJob": ("sageMakerProcessingJobName", "processingJobStatus"),
                "BatchTransformJob": ("sageMakerTransformJobName", "transformJobStatus"),
                "HyperparameterTuningJob": ("sageMakerHyperParameterTuningJobName",
                                            "hyperParameterTuningJobStatus")}[obj["kind"]]
        full_status = {info[0]: job_name, info[1]: "InProgress", **(status or {})}
        return await self.create(obj, full_status, namespace)

    # -- AWS -------------------------------------------------------------------------------------------------------

    async def sm(self, operation: str, **params: Any) -> dict[str, Any]:
        method = getattr(self.sagemaker, "".join("_" + c.lower() if c.isupper() else c for c in operation)[1:])
        answer: dict[str, Any] = await method(**params)
        return answer

    def advance(self, seconds: float) -> None:
        self.aws.advance(seconds)

    def put_events(self, group: str, stream: str, events: list[tuple[int, str]]) -> None:
        self.aws.world.logs.put_log_events(group, stream, events)

    def now_ms(self) -> int:
        return int(self.aws.clock.now() * 1000)

    # -- the plugin ------------------------------------------------------------------------------------------------

    def environ(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "KUBECONFIG", "SMLOGS_"))}
        env.update({
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            "HOME": str(self.home),
            "KUBECONFIG": str(self.kubeconfig),
            "AWS_ACCESS_KEY_ID": "AKIDSMLOGS",
            "AWS_SECRET_ACCESS_KEY": "smlogs-secret",
            "AWS_EC2_METADATA_DISABLED": "true",
            "SMLOGS_POLL_INTERVAL": "0.05",
        })
        env.update(extra)
        return {k: v for k, v in env.items() if v != ""}

    async def start(self, *args: str, endpoint: bool = True, **extra_env: str) -> Follower:
        """Start ``kubectl smlogs ARGS`` (with ``--endpoint-url`` pointing at the AWS emulator unless told not)."""
        argv = [KUBECTL, "smlogs", *args]
        if endpoint:
            argv += ["--endpoint-url", self.aws.url]
        process = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=self.environ(**extra_env),
            cwd=str(self.home), limit=1 << 20)
        return Follower(process)

    async def smlogs(self, *args: str, endpoint: bool = True, **extra_env: str) -> Result:
        """Run ``kubectl smlogs ARGS`` to its end."""
        return await (await self.start(*args, endpoint=endpoint, **extra_env)).finish()


async def install_crd(api: Any, crd: Obj) -> None:
    """Create a CRD and wait until it is Established (the emulator's controller sets it as the CRD is stored)."""
    await request_json(api, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body=crd)
    name = crd["metadata"]["name"]
    path = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}"
    stored = await request_json(api, "GET", path)
    conditions = {c["type"]: c["status"] for c in (stored.get("status") or {}).get("conditions", [])}
    assert conditions.get("Established") == "True", conditions


@pytest.fixture
async def smlogs_env(tmp_path: Path) -> AsyncIterator[Env]:
    async with AsyncExitStack() as stack:
        kube = await stack.enter_async_context(KubeEmulator())
        aws = await stack.enter_async_context(AwsEmulator(time_scale=1.0, config={"rates": {"*": None}}))
        api = await load_api_client(kube.kubeconfig)
        stack.push_async_callback(api.close)
        await install_crds(api, JOB_KINDS)
        kwargs = aws.client_kwargs()
        sagemaker = await stack.enter_async_context(AioSession().create_client("sagemaker", **kwargs))
        yield Env(kube, aws, api, sagemaker, tmp_path)
