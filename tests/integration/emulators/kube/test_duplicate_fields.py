"""Duplicate fields in request bodies, reported by fieldValidation as kube-apiserver's strict decoders do.

Upstream: kubernetes/kubernetes test/integration/apiserver/field_validation_test.go — JSON bodies get
``duplicate field "<path>"`` from sigs.k8s.io/json (typed kinds interleave them with the unknown fields in document
order and report a field both unknown and repeated as unknown only; custom resources and patches list the
duplicates first); YAML bodies get go-yaml's ``line N: key "k" already set in map`` (a ``yaml: unmarshal errors:``
error in Strict); JSON patches report ``json patch duplicate field "[1].path"``; apply patches fail Strict with
``error strict decoding YAML: error converting YAML to JSON: ...``. ``Warn`` sends each as a ``Warning: 299``
header, ``Ignore`` keeps the last value silently.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from kubernetes_asyncio import config as aconfig

from smk8s.emulators.kube.server import KubeEmulator
from tests.integration.emulators.kube.test_crds import WIDGETS, install

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
CM_PREFIX = 'ConfigMap in version "v1" cannot be handled as a ConfigMap: '
# A ConfigMap with a repeated metadata.name, an unknown field also repeated, and a repeated data key.
CONFIGMAP_WITH_DUPLICATES = """{
  "apiVersion": "v1",
  "kind": "ConfigMap",
  "metadata": {"name": "NAME", "name": "NAME", "colour": "red"},
  "bogus": 1,
  "bogus": 2,
  "data": {"k": "first", "k": "last"}
}"""


async def send(
    http: aiohttp.ClientSession, method: str, path: str, raw: str, content_type: str = "application/json"
) -> tuple[int, dict[str, Any], list[str]]:
    """(status, body, warning texts) of a request with a literal body."""
    async with http.request(method, path, data=raw.encode(), headers={"Content-Type": content_type}) as resp:
        warnings = [_warning_text(h) for h in resp.headers.getall("Warning", [])]
        return resp.status, json.loads(await resp.text()), warnings


def _warning_text(header: str) -> str:
    assert header.startswith('299 - "') and header.endswith('"'), header
    return header[len('299 - "') : -1].replace('\\"', '"')


async def test_json_duplicates_strict_warn_and_ignore_for_a_builtin(
    emulator: KubeEmulator, http: aiohttp.ClientSession
) -> None:
    strict_status, strict, _ = await send(
        http, "POST", CONFIGMAPS + "?fieldValidation=Strict", CONFIGMAP_WITH_DUPLICATES.replace("NAME", "strict")
    )
    assert (strict_status, strict["reason"]) == (400, "BadRequest")
    # Document order; "bogus" is unknown and repeated: reported as unknown only (typed decoding).
    assert strict["message"] == CM_PREFIX + (
        'strict decoding error: duplicate field "metadata.name", unknown field "metadata.colour", '
        'unknown field "bogus", duplicate field "data.k"'
    )

    warn_status, warned, warnings = await send(
        http, "POST", CONFIGMAPS + "?fieldValidation=Warn", CONFIGMAP_WITH_DUPLICATES.replace("NAME", "warned")
    )
    assert warn_status == 201, warned
    assert warnings == [
        'duplicate field "metadata.name"',
        'unknown field "metadata.colour"',
        'unknown field "bogus"',
        'duplicate field "data.k"',
    ]
    assert warned["data"] == {"k": "last"}

    ignore_status, ignored, warnings = await send(
        http, "POST", CONFIGMAPS + "?fieldValidation=Ignore", CONFIGMAP_WITH_DUPLICATES.replace("NAME", "ignored")
    )
    assert (ignore_status, warnings) == (201, [])
    assert ignored["data"] == {"k": "last"}  # the last value wins


async def test_put_reports_duplicates_too(emulator: KubeEmulator, http: aiohttp.ClientSession) -> None:
    status, created, _ = await send(http, "POST", CONFIGMAPS, '{"metadata": {"name": "put"}, "data": {"k": "v"}}')
    assert status == 201, created
    body = '{"metadata": {"name": "put"}, "data": {"k": "a", "k": "b"}}'
    status, err, _ = await send(http, "PUT", f"{CONFIGMAPS}/put?fieldValidation=Strict", body)
    assert status == 400 and err["message"] == CM_PREFIX + 'strict decoding error: duplicate field "data.k"'
    status, updated, warnings = await send(http, "PUT", f"{CONFIGMAPS}/put", body)  # the default is Warn
    assert (status, warnings, updated["data"]) == (200, ['duplicate field "data.k"'], {"k": "b"})


async def test_patches_report_the_patch_bodys_duplicates(emulator: KubeEmulator, http: aiohttp.ClientSession) -> None:
    status, created, _ = await send(http, "POST", CONFIGMAPS, '{"metadata": {"name": "p"}, "data": {"k": "v"}}')
    assert status == 201, created
    merge = '{"data": {"k": "a", "k": "b"}}'
    status, err, _ = await send(
        http, "PATCH", f"{CONFIGMAPS}/p?fieldValidation=Strict", merge, "application/merge-patch+json"
    )
    assert status in (400, 422) and err["message"].endswith('strict decoding error: duplicate field "data.k"'), err
    status, patched, warnings = await send(
        http, "PATCH", f"{CONFIGMAPS}/p?fieldValidation=Warn", merge, "application/merge-patch+json"
    )
    assert (status, warnings, patched["data"]) == (200, ['duplicate field "data.k"'], {"k": "b"})
    # A JSON patch: only its operations' own fields count ("value" contents are evanphx/json-patch's business).
    ops = '[{"op": "replace", "path": "/data/k", "path": "/data/k", "value": "c"}]'
    status, patched, warnings = await send(http, "PATCH", f"{CONFIGMAPS}/p", ops, "application/json-patch+json")
    assert (status, warnings, patched["data"]) == (200, ['json patch duplicate field "[0].path"'], {"k": "c"})


async def test_yaml_bodies_get_go_yamls_line_messages(emulator: KubeEmulator, http: aiohttp.ClientSession) -> None:
    manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: NAME\ndata:\n  k: a\n  k: b\nbogus: 1\n"
    status, err, _ = await send(
        http, "POST", CONFIGMAPS + "?fieldValidation=Strict", manifest.replace("NAME", "y1"), "application/yaml"
    )
    assert status == 400
    assert err["message"] == CM_PREFIX + (
        'strict decoding error: yaml: unmarshal errors:\n  line 7: key "k" already set in map, unknown field "bogus"'
    )
    status, created, warnings = await send(http, "POST", CONFIGMAPS, manifest.replace("NAME", "y2"), "application/yaml")
    assert (status, warnings) == (201, ['line 7: key "k" already set in map', 'unknown field "bogus"'])
    assert created["data"] == {"k": "b"}


async def test_server_side_apply_with_duplicate_keys(emulator: KubeEmulator, http: aiohttp.ClientSession) -> None:
    applied = (
        '{\n  "apiVersion": "v1",\n  "kind": "ConfigMap",\n  "metadata": {"name": "ssa"},\n  "data": {\n'
        '    "k": "a",\n    "k": "b"\n  }\n}'
    )
    path = f"{CONFIGMAPS}/ssa?fieldManager=test"
    strict = path + "&fieldValidation=Strict"
    status, err, _ = await send(http, "PATCH", strict, applied, "application/apply-patch+yaml")
    assert (status, err["reason"]) == (400, "BadRequest")
    assert err["message"] == (
        "error strict decoding YAML: error converting YAML to JSON: yaml: unmarshal errors:\n"
        '  line 7: key "k" already set in map'
    )
    status, created, warnings = await send(http, "PATCH", path, applied, "application/apply-patch+yaml")
    assert (status, warnings, created["data"]) == (201, ['line 7: key "k" already set in map'], {"k": "b"})


async def test_custom_resources_list_duplicates_before_unknown_fields(
    emulator: KubeEmulator, http: aiohttp.ClientSession
) -> None:
    api_client = await aconfig.new_client_from_config_dict(emulator.kubeconfig)
    async with api_client:
        await install(http, api_client)
    body = (
        '{"apiVersion": "smk8s.example.com/v1", "kind": "Widget", "metadata": {"name": "w", "name": "w"},'
        ' "spec": {"size": "S", "bogus": 1, "bogus": 2, "size": "M"}}'
    )
    status, err, _ = await send(http, "POST", WIDGETS + "?fieldValidation=Strict", body)
    assert status == 400
    assert err["message"] == (
        'Widget in version "v1" cannot be handled as a Widget: strict decoding error: duplicate field '
        '"metadata.name", duplicate field "spec.bogus", duplicate field "spec.size", unknown field "spec.bogus"'
    )
    status, created, warnings = await send(http, "POST", WIDGETS, body)
    assert status == 201, created
    assert warnings == [
        'duplicate field "metadata.name"',
        'duplicate field "spec.bogus"',
        'duplicate field "spec.size"',
        'unknown field "spec.bogus"',
    ]
    assert created["spec"]["size"] == "M"
