"""``smk8s dev``: the whole operator on one machine, as ``make run`` starts it.

One process runs both emulators (the Kubernetes API server and the AWS services) on 127.0.0.1, installs the CRDs of
``config/crd/bases/`` into the emulated API server (and waits until each is Established), then runs the
controller-manager (``smk8s manager``) as a supervised child process pointed at them:

- ``DIR/kubeconfig``: the emulated cluster (for kubectl and the manager's ``--kubeconfig``);
- ``DIR/aws.env``: ``export`` lines with the emulated AWS endpoint, dummy credentials and the region (the manager
  gets the same variables, so its clients reach the emulator through the standard ``AWS_ENDPOINT_URL``);
- ``DIR/manager.log``: the manager's log lines.

Once the manager's caches have synced it prints ``ready`` lines and a hint (``export KUBECONFIG=...; kubectl apply
-f ...``). The first SIGINT or SIGTERM stops the manager (SIGTERM: its graceful shutdown; killed after
``STOP_TIMEOUT``), then the emulators, and exits 0; if the manager exits on its own, everything stops and the exit
status is 1.

``--time-scale`` compresses SageMaker's lifecycles (:func:`time_scale`): at the default 30, a default training job
(about 800 virtual seconds) completes in under 30 real seconds; ``--poll-interval`` (default 2 s) is the manager's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shlex
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smk8s.signals import stop_on_signals

DEFAULT_DIR = Path(".smk8s")
DEFAULT_TIME_SCALE = 30.0
DEFAULT_POLL_INTERVAL = 2.0
STOP_TIMEOUT = 30.0
"""Seconds the manager gets to shut down gracefully before it is killed."""
ESTABLISHED_TIMEOUT = 30.0
CRD_DIR = Path("config") / "crd" / "bases"
SAMPLE = Path("config") / "samples" / "trainingjob-xgboost-mnist.yaml"
FIELD_MANAGER = "smk8s-dev"
READY_LINE = b"Caches synced"
"""What the manager logs once its informers have synced (controller-runtime's words): it reconciles from then on."""
DUMMY_CREDENTIALS = "emulator"


def time_scale(flag: float | None, aws_config: Mapping[str, Any]) -> float:
    """SageMaker's time scale: ``--time-scale`` if given, else the ``--aws-config`` file's ``time_scale``, else
    :data:`DEFAULT_TIME_SCALE`."""
    if flag is not None:
        return flag
    return float(aws_config.get("time_scale", DEFAULT_TIME_SCALE))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``smk8s dev`` flags."""
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR,
                        help="where to write kubeconfig, aws.env and manager.log (default: .smk8s)")
    parser.add_argument("--time-scale", type=float, default=None,
                        help="virtual seconds per real second of the SageMaker lifecycles (default: the "
                             "--aws-config file's time_scale, else 30)")
    parser.add_argument("--poll-interval", type=float, default=DEFAULT_POLL_INTERVAL, metavar="SECONDS",
                        help="the manager's --poll-interval (default: 2)")
    parser.add_argument("--crds", type=Path, default=None,
                        help="directory of CRD manifests to install (default: config/crd/bases of this checkout)")
    parser.add_argument("--aws-config", type=Path, default=None,
                        help="YAML/JSON configuration of the AWS emulator (rates, quotas, faults, seed, ...)")
    parser.add_argument("--manager-arg", action="append", default=[], metavar="ARG",
                        help="an extra flag for the manager (repeatable), e.g. --manager-arg=--log-level=debug")


def main(args: argparse.Namespace) -> int:
    """Run ``smk8s dev`` for parsed ``args`` until signalled; the process exit status."""
    try:
        return asyncio.run(run(args))
    except FileNotFoundError as exc:
        print(f"smk8s dev: {exc} (give --crds DIR)", file=sys.stderr)
        return 2


@dataclass(frozen=True)
class Paths:
    """The files ``smk8s dev`` writes into its directory."""

    dir: Path

    @property
    def kubeconfig(self) -> Path:
        return self.dir / "kubeconfig"

    @property
    def aws_env(self) -> Path:
        return self.dir / "aws.env"

    @property
    def manager_log(self) -> Path:
        return self.dir / "manager.log"


def project_root() -> Path:
    """The checkout this module runs from (``src/smk8s/dev.py`` -> the directory holding ``config/``)."""
    return Path(__file__).resolve().parents[2]


def default_crd_dir() -> Path:
    """``config/crd/bases`` of this checkout (an editable install), else of the current directory."""
    for root in (project_root(), Path.cwd()):
        if (root / CRD_DIR).is_dir():
            return root / CRD_DIR
    return Path.cwd() / CRD_DIR


def crd_files(directory: Path) -> list[Path]:
    """The CRD manifests of ``directory``, sorted by name."""
    files = sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml", ".json")) \
        if directory.is_dir() else []
    if not files:
        raise FileNotFoundError(f"no CRD manifests in {directory}")
    return files


def aws_environment(endpoint: str, region: str) -> dict[str, str]:
    """What an AWS SDK needs to reach the emulator: endpoint URL, dummy credentials, region."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": DUMMY_CREDENTIALS,
        "AWS_SECRET_ACCESS_KEY": DUMMY_CREDENTIALS,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def manager_command(paths: Paths, poll_interval: float, extra: Sequence[str] = ()) -> list[str]:
    """``smk8s manager`` against the emulators (no metrics or probe port, so several dev runs can coexist)."""
    return [
        sys.executable, "-m", "smk8s", "manager",
        "--kubeconfig", str(paths.kubeconfig),
        "--metrics-bind-address", "0",
        "--health-probe-bind-address", "0",
        "--poll-interval", f"{poll_interval:g}",
        "--max-concurrent-reconciles", "4",
        "--log-format", "console",
        *extra,
    ]


def manager_environment(base: Mapping[str, str], aws_env: Mapping[str, str], paths: Paths) -> dict[str, str]:
    """The manager's environment: ours, minus settings that would send it elsewhere, plus the emulators'."""
    env = {k: v for k, v in base.items()
           if not k.startswith(("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
                                "AWS_SESSION_TOKEN", "AWS_DEFAULT_SAGEMAKER_ENDPOINT"))}
    env.update(aws_env)
    env["KUBECONFIG"] = str(paths.kubeconfig)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def hint(paths: Paths, root: Path) -> str:
    """What to type in another shell."""
    kubeconfig = paths.kubeconfig.resolve()
    sample = root / SAMPLE
    try:
        shown = sample.relative_to(Path.cwd())
    except ValueError:
        shown = sample
    return (
        "In another shell:\n"
        f"  export KUBECONFIG={shlex.quote(str(kubeconfig))}; . {shlex.quote(str(paths.aws_env.resolve()))}\n"
        f"  kubectl apply -f {shlex.quote(str(shown))}\n"
        "  kubectl get trainingjobs -w\n"
        f"Manager logs: {paths.manager_log}. Stop with Ctrl-C."
    )


async def install_crds(api: Any, files: Sequence[Path]) -> list[str]:
    """Server-side apply each CRD of ``files``, then wait until every one is Established; their names."""
    import yaml

    from smk8s.kube import request_json

    names: list[str] = []
    for path in files:
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            name = doc["metadata"]["name"]
            await request_json(
                api, "PATCH", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}",
                body=doc, content_type="application/apply-patch+yaml",
                query={"fieldManager": FIELD_MANAGER, "force": "true"},
            )
            names.append(name)
    async with asyncio.timeout(ESTABLISHED_TIMEOUT):
        await _established(api, set(names))
    return names


async def _established(api: Any, names: set[str]) -> None:
    """Re-list CRDs until each of ``names`` has the condition Established=True (the emulator sets it at once)."""
    from smk8s.kube import request_json

    def established(crd: Mapping[str, Any]) -> bool:
        conditions = (crd.get("status") or {}).get("conditions") or []
        return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)

    while True:
        listed = await request_json(api, "GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
        if names <= {c["metadata"]["name"] for c in listed["items"] if established(c)}:
            return
        await asyncio.sleep(0.05)


def _die_with_parent() -> None:
    """In the manager's child process (Linux): get SIGTERM when ``smk8s dev`` dies, even by SIGKILL."""
    if sys.platform == "linux":
        import ctypes

        pr_set_pdeathsig = 1
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGTERM))


async def _first(*waits: Any) -> None:
    """Wait until the first of the awaitables ``waits`` is done (the others are cancelled)."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def copy_log(stream: asyncio.StreamReader, path: Path, ready: asyncio.Event) -> None:
    """Append the manager's output to ``path`` until it closes; set ``ready`` once its caches have synced."""
    with path.open("ab") as log:
        async for line in stream:
            log.write(line)
            log.flush()
            if not ready.is_set() and READY_LINE in line:
                ready.set()


async def stop_process(proc: asyncio.subprocess.Process, grace: float = STOP_TIMEOUT) -> int:
    """SIGTERM ``proc`` (a graceful stop), SIGKILL it after ``grace`` seconds; its exit status."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), grace)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode


async def run(args: argparse.Namespace) -> int:
    from smk8s.emulators.aws.server import AwsEmulator, load_config
    from smk8s.emulators.kube.kubeconfig import write_atomically
    from smk8s.emulators.kube.server import KubeEmulator
    from smk8s.kube import load_api_client

    root = project_root()
    paths = Paths(args.dir)
    files = crd_files(args.crds if args.crds is not None else default_crd_dir())
    paths.dir.mkdir(parents=True, exist_ok=True)

    stop = stop_on_signals()

    aws_config = load_config(args.aws_config)
    async with KubeEmulator() as kube, AwsEmulator(time_scale=time_scale(args.time_scale, aws_config),
                                                   config=aws_config) as aws:
        kube.write_kubeconfig(paths.kubeconfig)
        aws_env = aws_environment(aws.url, aws.world.region)
        write_atomically(paths.aws_env, "".join(f"export {k}={shlex.quote(v)}\n" for k, v in aws_env.items()))
        api = await load_api_client(kube.kubeconfig)
        try:
            names = await install_crds(api, files)
        finally:
            await api.close()
        print(f"ready kube {kube.url}", flush=True)
        print(f"ready aws {aws.url}", flush=True)
        print(f"installed {len(names)} CRDs", flush=True)
        if stop.is_set():
            return 0
        manager = await asyncio.create_subprocess_exec(
            *manager_command(paths, args.poll_interval, args.manager_arg),
            env=manager_environment(os.environ, aws_env, paths),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            # Its own process group: a terminal's Ctrl-C reaches only us, and we stop it once (a second signal
            # would make it exit at once, without its graceful shutdown).
            start_new_session=True, preexec_fn=_die_with_parent,
        )
        assert manager.stdout is not None
        ready = asyncio.Event()
        copying = asyncio.create_task(copy_log(manager.stdout, paths.manager_log, ready))
        try:
            await _first(ready.wait(), stop.wait(), manager.wait())
            if ready.is_set() and not stop.is_set() and manager.returncode is None:
                print(f"ready manager pid {manager.pid}", flush=True)
                print(hint(paths, root), flush=True)
                await _first(stop.wait(), manager.wait())
        finally:
            code = await stop_process(manager)
            await copying
        if not stop.is_set():
            print(f"the manager exited with status {code}; see {paths.manager_log}", file=sys.stderr, flush=True)
            return 1
        print("stopped", flush=True)
        return 0
