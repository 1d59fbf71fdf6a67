"""In a pod (a notebook) there is no kubeconfig: the object is read with the pod's service account, from the pod's
namespace, as client-go's in-cluster configuration does."""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from smk8s.emulators.kube.server import KubeEmulator
from smk8s.kube import load_api_client, request_json
from smk8s.smlogs.errors import PluginError
from smk8s.smlogs.kinds import TRAINING
from smk8s.smlogs.kube import read_job_object
from tests.integration.smlogs.conftest import install_crds, sample


async def test_without_a_kubeconfig_the_service_account_and_its_namespace_are_used(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.kube/config
    async with KubeEmulator(tls=True) as kube:
        api = await load_api_client(kube.kubeconfig)
        try:
            await install_crds(api, ("TrainingJob",))
            await request_json(api, "POST", "/api/v1/namespaces",
                               body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "notebooks"}})
            obj = sample("trainingjob-xgboost-mnist")
            obj["metadata"] = {"name": "in-pod", "namespace": "notebooks"}
            await request_json(api, "POST", "/apis/sagemaker.aws.amazon.com/v1/namespaces/notebooks/trainingjobs",
                               body=obj)
        finally:
            await api.close()
        config = kube.kubeconfig
        account = tmp_path / "serviceaccount"
        account.mkdir()
        (account / "token").write_text(config["users"][0]["user"]["token"])
        (account / "ca.crt").write_bytes(base64.b64decode(config["clusters"][0]["cluster"]
                                                          ["certificate-authority-data"]))
        (account / "namespace").write_text("notebooks")
        server = urlsplit(kube.url)
        environ = {"KUBERNETES_SERVICE_HOST": str(server.hostname), "KUBERNETES_SERVICE_PORT": str(server.port)}

        namespace, found = await read_job_object(TRAINING, "in-pod", namespace_flag=None, kubeconfig=None,
                                                 context=None, environ=environ, service_account_dir=account)
        assert namespace == "notebooks"
        assert found["metadata"]["name"] == "in-pod"

        # Outside a cluster and without any kubeconfig: kubectl's advice.
        with pytest.raises(PluginError, match="no configuration"):
            await read_job_object(TRAINING, "in-pod", namespace_flag=None, kubeconfig=None, context=None,
                                  environ={}, service_account_dir=account)
