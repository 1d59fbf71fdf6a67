"""Behaviour 10 (issue 6): `smk8s manager` gets its AWS credentials from the standard chain, so IRSA works.

The manager runs as its own process with exactly the environment EKS injects into a pod for IRSA
(``AWS_ROLE_ARN``, ``AWS_WEB_IDENTITY_TOKEN_FILE``; no keys, no profile, no instance metadata). The AWS emulator
verifies every SigV4 signature, so a call signed with anything but the credentials its STS issued for that role
would fail; the test then checks that one AssumeRoleWithWebIdentity happened and every SageMaker call of the job's
lifecycle was signed with the key it issued.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from smk8s.api.v1.common import GROUP, VERSION
from smk8s.dev import crd_files, default_crd_dir, install_crds
from smk8s.emulators.aws.server import AwsEmulator
from smk8s.emulators.aws.sts import make_web_identity_token
from smk8s.emulators.kube.server import KubeEmulator
from smk8s.informers import SharedInformerFactory
from smk8s.kube import CustomResourceClient, load_api_client
from tests.integration.controllers.jobs.conftest import ROOT, sample

ROLE_ARN = "arn:aws:iam::123456789012:role/sagemaker-k8s-operator"
SERVICE_ACCOUNT = "system:serviceaccount:sagemaker-k8s-operator-system:sagemaker-k8s-operator-default"
DEADLINE = 60.0
_CHAIN = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
          "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_ENDPOINT_URL",
          "AWS_ENDPOINT_URL_SAGEMAKER")


def _pod_environment(tmp: Path, aws_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _CHAIN}
    token = tmp / "token"
    token.write_text(make_web_identity_token(SERVICE_ACCOUNT))
    env.update({
        "PYTHONPATH": str(ROOT), "AWS_CONFIG_FILE": str(tmp / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "no-credentials"), "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ROLE_ARN": ROLE_ARN, "AWS_WEB_IDENTITY_TOKEN_FILE": str(token), "AWS_ROLE_SESSION_NAME": "smk8s",
        "AWS_ENDPOINT_URL_STS": aws_url, "AWS_DEFAULT_SAGEMAKER_ENDPOINT": aws_url, "AWS_DEFAULT_REGION": "us-west-2",
    })
    return env


async def test_the_manager_process_uses_the_irsa_role_for_every_sagemaker_call(tmp_path: Path) -> None:
    config = {"rates": {"*": None}}
    async with KubeEmulator() as kube, AwsEmulator(time_scale=10_000.0, verify_signatures=True,
                                                   config=config) as aws:
        kubeconfig = tmp_path / "kubeconfig"
        kube.write_kubeconfig(kubeconfig)
        api = await load_api_client(str(kubeconfig))
        factory = SharedInformerFactory(api, namespaces=["default"])
        manager = None
        try:
            await install_crds(api, crd_files(default_crd_dir()))  # `smk8s manager` runs every controller
            informer = factory.informer(GROUP, VERSION, "trainingjobs")
            changed = asyncio.Event()
            informer.add_event_handler(lambda _o: changed.set(), lambda _o, _n: changed.set())
            factory.start()
            manager = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "smk8s", "manager", "--kubeconfig", str(kubeconfig), "--poll-interval", "0.05",
                "--metrics-bind-address", "0", "--health-probe-bind-address", "0", "--log-level", "warning",
                env=_pod_environment(tmp_path, aws.url), stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
            job = sample("trainingjob-xgboost-mnist")
            job["metadata"] = {"name": "irsa", "namespace": "default"}
            await CustomResourceClient(api, GROUP, VERSION, "trainingjobs").create(job)

            def completed() -> Any:
                obj = informer.store.get("default/irsa")
                return obj is not None and (obj.get("status") or {}).get("trainingJobStatus") == "Completed"

            async with asyncio.timeout(DEADLINE):
                while not completed():
                    changed.clear()
                    await changed.wait()
        finally:
            if manager is not None and manager.returncode is None:
                manager.terminate()
                await manager.wait()
            await factory.shutdown()
            await api.close()
    issued = [c for c in aws.credentials.keys.values() if c.session_token is not None]
    assert len(issued) == 1 and issued[0].role_arn == ROLE_ARN
    sagemaker = [c for c in aws.calls if c.service == "sagemaker"]
    assert {c.operation for c in sagemaker} >= {"CreateTrainingJob", "DescribeTrainingJob"}
    assert {c.access_key_id for c in sagemaker} == {issued[0].access_key_id}
    assert [c.operation for c in aws.calls if c.service == "sts"] == ["AssumeRoleWithWebIdentity"]
    assert all(c.outcome in ("ok", "ValidationException") for c in sagemaker)  # every signature verified
