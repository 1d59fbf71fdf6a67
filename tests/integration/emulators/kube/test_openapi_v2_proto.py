"""``/openapi/v2`` as protobuf: kubectl's client-side validation (client-go discovery ``OpenAPISchema()``,
which asks only for ``application/com.github.proto-openapi.spec.v2@v1.0+protobuf``) works against
the emulator.

kubectl validates the items of a ``kind: List`` itself with the v2 document (single objects go to the server
with ``fieldValidation=Strict`` instead), so Lists are what exercise it. Serving follows kube-openapi
``pkg/handler/handler.go``: Content-Type ``application/com.github.proto-openapi.spec.v2.v1.0+protobuf`` for
either protobuf Accept name, the JSON document's ETag, ``Vary: Accept``.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import yaml
from kubernetes import config as k8s_config

from smk8s.emulators.kube import openapi
from smk8s.emulators.kube.openapi_proto import (
    PROTOBUF_CONTENT_TYPE,
    PROTOBUF_CONTENT_TYPE_DEPRECATED,
    encode_openapi_v2,
)
from tests.support.kube import RunningKube

MANIFESTS = Path(__file__).parents[3] / "support" / "manifests"
CRD = MANIFESTS / "trainingjob-crd.yaml"
JOB = MANIFESTS / "trainingjob.yaml"


def as_list(*items: dict[str, Any]) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": list(items)})


def config_map(name: str, **fields: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, **fields}


def install_crd(kube: RunningKube) -> None:
    kube.kubectl("apply", "-f", str(CRD))
    kube.kubectl("wait", "--for=condition=Established", "--timeout=10s",
                 "crd/trainingjobs.sagemaker.aws.amazon.com")


def get_openapi_v2(kube: RunningKube, accept: str) -> tuple[dict[str, str], bytes]:
    request = urllib.request.Request(kube.url + "/openapi/v2", headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=10) as response:  # the kube fixture needs no authentication
        return dict(response.headers), response.read()


def test_apply_of_a_list_of_config_map_and_secret_creates_both(kube: RunningKube) -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
              "stringData": {"password": "pw"}}
    out = kube.kubectl("apply", "-f", "-", input=as_list(config_map("c", data={"k": "v"}), secret)).stdout
    assert out.splitlines() == ["configmap/c created", "secret/s created"]
    assert kube.kubectl_json("get", "configmap", "c")["data"] == {"k": "v"}
    assert kube.kubectl_json("get", "secret", "s")["data"] == {"password": "cHc="}


def test_unknown_field_in_a_list_item_is_rejected_before_anything_is_sent(kube: RunningKube) -> None:
    proc = kube.kubectl("apply", "-f", "-", input=as_list(config_map("ok"), config_map("bad", dataa={})),
                        check=False)
    assert proc.returncode == 1
    assert proc.stderr == (
        'error: error validating "STDIN": error validating data: ValidationError(ConfigMap): unknown field '
        '"dataa" in io.k8s.api.core.v1.ConfigMap; if you choose to ignore these errors, turn validation off '
        "with --validate=false\n"
    )
    names = {item["metadata"]["name"] for item in kube.kubectl_json("get", "configmaps")["items"]}
    assert not names & {"ok", "bad"}


def test_wrong_type_and_nested_unknown_fields_in_list_items_are_rejected(kube: RunningKube) -> None:
    wrong_type = kube.kubectl("apply", "-f", "-", input=as_list(config_map("c", data=5)), check=False)
    assert wrong_type.returncode == 1
    assert ("ValidationError(ConfigMap.data): invalid type for io.k8s.api.core.v1.ConfigMap.data: "
            'got "integer", expected "map"') in wrong_type.stderr
    nested = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "labelz": {}}}
    unknown = kube.kubectl("apply", "-f", "-", input=as_list(nested), check=False)
    assert unknown.returncode == 1
    assert ('ValidationError(Secret.metadata): unknown field "labelz" in '
            "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta") in unknown.stderr


def test_custom_resources_validate_against_the_crd_schema_once_it_is_established(kube: RunningKube) -> None:
    install_crd(kube)
    created = kube.kubectl("apply", "-f", str(JOB)).stdout
    assert created == "trainingjob.sagemaker.aws.amazon.com/xgboost-mnist created\n"
    job = yaml.safe_load(JOB.read_text())
    second = {**job, "metadata": {"name": "second"}}
    assert kube.kubectl("apply", "-f", "-", input=as_list(second)).stdout == (
        "trainingjob.sagemaker.aws.amazon.com/second created\n"
    )
    bad = {**job, "metadata": {"name": "bad"}, "spec": {**job["spec"], "regionn": "x"}}
    proc = kube.kubectl("apply", "-f", "-", input=as_list(bad), check=False)
    assert proc.returncode == 1
    assert ('ValidationError(TrainingJob.spec): unknown field "regionn" in '
            "com.amazon.aws.sagemaker.v1.TrainingJob.spec") in proc.stderr


def test_protobuf_response_is_the_encoded_json_document_with_kube_openapi_headers(kube: RunningKube) -> None:
    json_headers, json_body = get_openapi_v2(kube, "application/json")
    assert json_headers["Content-Type"].startswith("application/json")
    document = json.loads(json_body)
    for accept in (PROTOBUF_CONTENT_TYPE_DEPRECATED, PROTOBUF_CONTENT_TYPE):
        headers, body = get_openapi_v2(kube, accept)
        assert headers["Content-Type"] == PROTOBUF_CONTENT_TYPE
        assert headers["Vary"] == "Accept"
        assert headers["Etag"] == f'"{openapi.document_hash(document)}"'  # the JSON content's sha512
        assert body == encode_openapi_v2(document)


def test_protobuf_document_follows_crd_changes(kube: RunningKube) -> None:
    _, before = get_openapi_v2(kube, PROTOBUF_CONTENT_TYPE_DEPRECATED)
    assert b"com.amazon.aws.sagemaker.v1.TrainingJob" not in before
    install_crd(kube)
    _, after = get_openapi_v2(kube, PROTOBUF_CONTENT_TYPE_DEPRECATED)
    assert b"com.amazon.aws.sagemaker.v1.TrainingJob" in after


def test_unacceptable_types_still_get_406(kube: RunningKube) -> None:
    request = urllib.request.Request(kube.url + "/openapi/v2", headers={"Accept": "text/html"})
    try:
        urllib.request.urlopen(request, timeout=10)
    except urllib.error.HTTPError as exc:
        assert exc.code == 406
    else:
        raise AssertionError("expected 406 Not Acceptable")


def test_the_official_python_client_still_gets_json(kube: RunningKube) -> None:
    api_client = k8s_config.new_client_from_config(str(kube.kubeconfig_path))  # type: ignore[no-untyped-call]
    try:
        serialized = api_client.param_serialize(
            "GET", "/openapi/v2", header_params={"Accept": "application/json"}, auth_settings=["BearerToken"]
        )
        response = api_client.call_api(*serialized)
        status, content_type, document = response.status, response.getheader("Content-Type"), response.read()
    finally:
        api_client.close()
    assert status == 200 and content_type.startswith("application/json")
    decoded = json.loads(document)
    assert decoded["swagger"] == "2.0" and "io.k8s.api.core.v1.ConfigMap" in decoded["definitions"]
