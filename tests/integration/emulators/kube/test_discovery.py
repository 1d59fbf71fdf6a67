"""Conformance: discovery, OpenAPI, probes and the built-in resources, as kubectl and the Python clients see them.

Upstream references (kubernetes/kubernetes, staging/src/k8s.io):
- apiserver/pkg/endpoints/discovery/aggregated/handler.go: aggregated discovery is served with the Content-Type
  ``application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`` (responsewriters.generateMediaTypeWithGVK)
  and an ETag; apiserver/pkg/endpoints/installer.go ConvertGroupVersionIntoToDiscovery gives built-in resources a
  ``responseKind`` with empty group/version, while apiextensions-apiserver's customresource_discovery_controller.go
  fills in the CRD's group and version (and ``autoscaling/v1 Scale`` for ``/scale``).
- apiserver/pkg/server/healthz: ``?verbose`` lists ``[+]<check> ok`` lines and ends with ``<name> check passed``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from kubernetes import client as k8s
from kubernetes_asyncio import client as aclient
from kubernetes_asyncio import config as aconfig
from kubernetes_asyncio.dynamic import DynamicClient

from smk8s.emulators.kube.server import KubeEmulator
from tests.support.kube import RunningKube

MANIFESTS = Path(__file__).parents[3] / "support" / "manifests"
CRD = yaml.safe_load((MANIFESTS / "trainingjob-crd.yaml").read_text())
JOB = yaml.safe_load((MANIFESTS / "trainingjob.yaml").read_text())
GROUP = "sagemaker.aws.amazon.com"
AGGREGATED_ACCEPT = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
)
AGGREGATED_CONTENT_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


# -- fixtures --------------------------------------------------------------------------------------------------


async def get_json(http: aiohttp.ClientSession, path: str, **headers: str) -> tuple[aiohttp.ClientResponse, Any]:
    async with http.get(path, headers=headers) as resp:
        return resp, json.loads(await resp.read())


async def create_crd(http: aiohttp.ClientSession, crd: dict[str, Any] = CRD) -> dict[str, Any]:
    async with http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=crd) as resp:
        assert resp.status == 201, await resp.text()
        created: dict[str, Any] = await resp.json()
        return created


# -- legacy discovery --------------------------------------------------------------------------------------------


async def test_version_and_core_discovery_documents(http: aiohttp.ClientSession) -> None:
    _, version = await get_json(http, "/version")
    assert version["major"] == "1" and version["gitVersion"].startswith("v1.")
    assert {"minor", "platform", "goVersion", "buildDate", "compiler"} <= version.keys()

    _, api = await get_json(http, "/api")
    assert api["kind"] == "APIVersions" and api["versions"] == ["v1"]
    assert api["serverAddressByClientCIDRs"][0]["clientCIDR"] == "0.0.0.0/0"

    _, core = await get_json(http, "/api/v1")
    assert core["kind"] == "APIResourceList" and core["groupVersion"] == "v1"
    by_name = {r["name"]: r for r in core["resources"]}
    assert {"namespaces", "events", "configmaps", "secrets", "serviceaccounts"} <= by_name.keys()
    assert by_name["configmaps"] == {
        "name": "configmaps",
        "singularName": "configmap",
        "namespaced": True,
        "kind": "ConfigMap",
        "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
        "shortNames": ["cm"],
    }
    # Namespaces have no deletecollection (pkg/registry/core/namespace/storage), and a status subresource.
    assert "deletecollection" not in by_name["namespaces"]["verbs"] and not by_name["namespaces"]["namespaced"]
    assert by_name["namespaces/status"]["verbs"] == ["get", "patch", "update"]


async def test_group_list_group_and_group_version_documents(http: aiohttp.ClientSession) -> None:
    _, groups = await get_json(http, "/apis")
    assert groups["kind"] == "APIGroupList"
    names = [g["name"] for g in groups["groups"]]
    for group in (
        "apiextensions.k8s.io",
        "authentication.k8s.io",
        "authorization.k8s.io",
        "coordination.k8s.io",
        "events.k8s.io",
        "rbac.authorization.k8s.io",
    ):
        assert group in names
    assert GROUP not in names

    _, coordination = await get_json(http, "/apis/coordination.k8s.io")
    assert coordination == {
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": "coordination.k8s.io",
        "versions": [{"groupVersion": "coordination.k8s.io/v1", "version": "v1"}],
        "preferredVersion": {"groupVersion": "coordination.k8s.io/v1", "version": "v1"},
    }
    _, authz = await get_json(http, "/apis/authorization.k8s.io/v1")
    sar = next(r for r in authz["resources"] if r["name"] == "subjectaccessreviews")
    assert sar["verbs"] == ["create"] and sar["namespaced"] is False
    local = next(r for r in authz["resources"] if r["name"] == "localsubjectaccessreviews")
    assert local["namespaced"] is True

    resp, _ = await get_json(http, f"/apis/{GROUP}")
    assert resp.status == 404
    resp, _ = await get_json(http, f"/apis/{GROUP}/v1")
    assert resp.status == 404


async def test_crd_group_version_resource_list_has_every_discovery_field(http: aiohttp.ClientSession) -> None:
    await create_crd(http)
    _, group = await get_json(http, f"/apis/{GROUP}")
    assert group["preferredVersion"] == {"groupVersion": f"{GROUP}/v1", "version": "v1"}
    _, doc = await get_json(http, f"/apis/{GROUP}/v1")
    assert doc["kind"] == "APIResourceList" and doc["groupVersion"] == f"{GROUP}/v1"
    by_name = {r["name"]: r for r in doc["resources"]}
    main = by_name["trainingjobs"]
    assert main["singularName"] == "trainingjob" and main["namespaced"] is True and main["kind"] == "TrainingJob"
    assert main["verbs"] == ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
    assert main["shortNames"] == ["tj"] and main["categories"] == ["all", "sagemaker"]
    assert main["storageVersionHash"]
    assert by_name["trainingjobs/status"] == {
        "name": "trainingjobs/status",
        "singularName": "",
        "namespaced": True,
        "kind": "TrainingJob",
        "verbs": ["get", "patch", "update"],
    }
    _, groups = await get_json(http, "/apis")
    assert GROUP in [g["name"] for g in groups["groups"]]


# -- aggregated discovery ----------------------------------------------------------------------------------------


async def test_aggregated_discovery_shape_and_content_type(http: aiohttp.ClientSession) -> None:
    await create_crd(http)
    resp, core = await get_json(http, "/api", Accept=AGGREGATED_ACCEPT)
    assert resp.headers["Content-Type"] == AGGREGATED_CONTENT_TYPE
    assert resp.headers.get("ETag") and "Accept" in resp.headers.get("Vary", "")
    assert core["kind"] == "APIGroupDiscoveryList" and core["apiVersion"] == "apidiscovery.k8s.io/v2"
    [legacy] = core["items"]
    assert legacy["metadata"] == {"creationTimestamp": None}  # the legacy group's name "" is omitted
    [v1] = legacy["versions"]
    assert v1["version"] == "v1" and v1["freshness"] == "Current"
    configmaps = next(r for r in v1["resources"] if r["resource"] == "configmaps")
    assert configmaps == {
        "resource": "configmaps",
        "responseKind": {"group": "", "version": "", "kind": "ConfigMap"},
        "scope": "Namespaced",
        "singularResource": "configmap",
        "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
        "shortNames": ["cm"],
    }
    namespaces = next(r for r in v1["resources"] if r["resource"] == "namespaces")
    assert namespaces["scope"] == "Cluster"
    assert namespaces["subresources"] == [
        {"subresource": "status", "responseKind": {"group": "", "version": "", "kind": "Namespace"},
         "verbs": ["get", "patch", "update"]}
    ]  # fmt: skip

    resp, apis = await get_json(http, "/apis", Accept=AGGREGATED_ACCEPT)
    assert resp.headers["Content-Type"] == AGGREGATED_CONTENT_TYPE
    by_group = {item["metadata"]["name"]: item for item in apis["items"]}
    assert "" not in by_group and "coordination.k8s.io" in by_group
    leases = by_group["coordination.k8s.io"]["versions"][0]["resources"][0]
    assert leases["resource"] == "leases" and leases["responseKind"] == {"group": "", "version": "", "kind": "Lease"}
    [crd_version] = by_group[GROUP]["versions"]
    [tj] = crd_version["resources"]
    assert tj == {
        "resource": "trainingjobs",
        "responseKind": {"group": GROUP, "version": "v1", "kind": "TrainingJob"},
        "scope": "Namespaced",
        "singularResource": "trainingjob",
        "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
        "shortNames": ["tj"],
        "categories": ["all", "sagemaker"],
        "subresources": [
            {
                "subresource": "status",
                "responseKind": {"group": GROUP, "version": "v1", "kind": "TrainingJob"},
                "verbs": ["get", "patch", "update"],
            }
        ],
    }
    # Without the aggregated Accept, the legacy documents are served as plain JSON.
    resp, legacy_list = await get_json(http, "/apis", Accept="application/json")
    assert resp.headers["Content-Type"].startswith("application/json") and legacy_list["kind"] == "APIGroupList"


async def test_aggregated_discovery_etag_is_revalidated_and_changes_with_a_crd(http: aiohttp.ClientSession) -> None:
    resp, _ = await get_json(http, "/apis", Accept=AGGREGATED_ACCEPT)
    etag = resp.headers["ETag"]
    async with http.get("/apis", headers={"Accept": AGGREGATED_ACCEPT, "If-None-Match": etag}) as cached:
        assert cached.status == 304
    await create_crd(http)
    async with http.get("/apis", headers={"Accept": AGGREGATED_ACCEPT, "If-None-Match": etag}) as fresh:
        assert fresh.status == 200 and fresh.headers["ETag"] != etag
        assert GROUP in [i["metadata"]["name"] for i in (await fresh.json(content_type=None))["items"]]


# -- OpenAPI -----------------------------------------------------------------------------------------------------


async def test_openapi_v2_describes_builtins_and_crds(http: aiohttp.ClientSession) -> None:
    _, before = await get_json(http, "/openapi/v2", Accept="application/json")
    assert before["swagger"] == "2.0"
    cm = before["definitions"]["io.k8s.api.core.v1.ConfigMap"]
    assert cm["x-kubernetes-group-version-kind"] == [{"group": "", "version": "v1", "kind": "ConfigMap"}]
    assert "com.amazon.aws.sagemaker.v1.TrainingJob" not in before["definitions"]
    await create_crd(http)
    _, after = await get_json(http, "/openapi/v2", Accept="application/json")
    tj = after["definitions"]["com.amazon.aws.sagemaker.v1.TrainingJob"]
    assert tj["x-kubernetes-group-version-kind"] == [{"group": GROUP, "version": "v1", "kind": "TrainingJob"}]
    assert tj["properties"]["spec"]["properties"]["deletionPolicy"]["enum"] == ["Delete", "Retain"]
    assert "/apis/sagemaker.aws.amazon.com/v1/namespaces/{namespace}/trainingjobs/{name}" in after["paths"]


async def test_openapi_v3_index_and_group_version_document_follow_crds(http: aiohttp.ClientSession) -> None:
    _, index = await get_json(http, "/openapi/v3")
    paths = index["paths"]
    assert {"api/v1", "apis/coordination.k8s.io/v1", "apis/apiextensions.k8s.io/v1"} <= paths.keys()
    assert f"apis/{GROUP}/v1" not in paths
    async with http.get(paths["api/v1"]["serverRelativeURL"]) as resp:
        assert resp.status == 200
        assert resp.headers.get("Cache-Control") == "public, immutable"  # hashed URLs are immutable
        core = await resp.json()
    assert core["openapi"].startswith("3.") and "io.k8s.api.core.v1.ConfigMap" in core["components"]["schemas"]

    await create_crd(http)
    _, index = await get_json(http, "/openapi/v3")
    url = index["paths"][f"apis/{GROUP}/v1"]["serverRelativeURL"]
    assert url.startswith(f"/openapi/v3/apis/{GROUP}/v1?hash=")
    _, doc = await get_json(http, url)
    schema = doc["components"]["schemas"]["com.amazon.aws.sagemaker.v1.TrainingJob"]
    assert schema["x-kubernetes-group-version-kind"] == [{"group": GROUP, "version": "v1", "kind": "TrainingJob"}]
    resource_config = schema["properties"]["spec"]["properties"]["resourceConfig"]
    assert resource_config["description"] == "The resources, including the ML compute instances, to use for training."
    assert f"/apis/{GROUP}/v1/namespaces/{{namespace}}/trainingjobs" in doc["paths"]
    resp, _ = await get_json(http, "/openapi/v3/apis/nosuch.example.com/v1")
    assert resp.status == 404


# -- probes ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("probe", ["healthz", "readyz", "livez"])
async def test_health_probes(http: aiohttp.ClientSession, probe: str) -> None:
    async with http.get(f"/{probe}") as resp:
        assert resp.status == 200 and await resp.text() == "ok"
        assert resp.headers["Content-Type"].startswith("text/plain")
    async with http.get(f"/{probe}?verbose") as resp:
        lines = (await resp.text()).splitlines()
    assert resp.status == 200
    assert "[+]ping ok" in lines and all(line.startswith("[+]") for line in lines[:-1])
    assert lines[-1] == f"{probe} check passed"
    async with http.get(f"/{probe}/ping") as resp:
        assert resp.status == 200 and await resp.text() == "ok"


def test_probes_through_kubectl_raw(kube: RunningKube) -> None:
    assert kube.kubectl("get", "--raw", "/readyz").stdout == "ok"
    assert kube.kubectl("get", "--raw", "/livez?verbose").stdout.rstrip().endswith("livez check passed")
    version = json.loads(kube.kubectl("version", "-o", "json").stdout)
    assert version["serverVersion"]["major"] == "1"
    assert version["serverVersion"]["gitVersion"].startswith("v1.")


# -- kubectl -----------------------------------------------------------------------------------------------------


def _install_crd(kube: RunningKube) -> None:
    kube.kubectl("apply", "-f", str(MANIFESTS / "trainingjob-crd.yaml"))
    kube.kubectl("wait", "--for=condition=Established", "--timeout=10s", f"crd/trainingjobs.{GROUP}")


def test_kubectl_api_resources_scope_filter_and_wide_verbs(kube: RunningKube) -> None:
    _install_crd(kube)
    cluster = kube.kubectl("api-resources", "--namespaced=false", "--no-headers", "-o", "name").stdout.split()
    assert {"namespaces", "customresourcedefinitions.apiextensions.k8s.io"} <= set(cluster)
    assert "clusterroles.rbac.authorization.k8s.io" in cluster and "configmaps" not in cluster
    assert "trainingjobs.sagemaker.aws.amazon.com" not in cluster
    namespaced = kube.kubectl("api-resources", "--namespaced=true", "--no-headers", "-o", "name").stdout.split()
    assert {"configmaps", "leases.coordination.k8s.io", "trainingjobs.sagemaker.aws.amazon.com"} <= set(namespaced)
    assert "namespaces" not in namespaced

    wide = kube.kubectl("api-resources", "-o", "wide").stdout.splitlines()
    assert wide[0].split() == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND", "VERBS", "CATEGORIES"]
    tj = next(line for line in wide if line.startswith("trainingjobs "))
    assert tj.split() == [
        "trainingjobs",
        "tj",
        "sagemaker.aws.amazon.com/v1",
        "true",
        "TrainingJob",
        "create,delete,deletecollection,get,list,patch,update,watch",
        "all,sagemaker",
    ]
    tokenreviews = next(line for line in wide if line.startswith("tokenreviews "))
    assert tokenreviews.split()[-1] == "create"
    by_verb = kube.kubectl("api-resources", "--verbs=create", "--no-headers", "-o", "name").stdout.split()
    by_list = kube.kubectl("api-resources", "--verbs=list", "--no-headers", "-o", "name").stdout.split()
    assert "tokenreviews.authentication.k8s.io" in by_verb and "tokenreviews.authentication.k8s.io" not in by_list


def test_kubectl_explain_uses_openapi_v3_for_crds_and_builtins(kube: RunningKube) -> None:
    _install_crd(kube)
    top = kube.kubectl("explain", "trainingjobs").stdout
    assert "GROUP:      sagemaker.aws.amazon.com" in top and "KIND:       TrainingJob" in top
    assert "TrainingJob is the Schema for the trainingjobs API." in top
    field = kube.kubectl("explain", "tj.spec.deletionPolicy").stdout
    assert "FIELD: deletionPolicy <string>" in field and "Delete" in field and "Retain" in field
    required = kube.kubectl("explain", "trainingjob.spec").stdout
    assert "region\t<string> -required-" in required
    recursive = kube.kubectl("explain", "trainingjob.spec.resourceConfig", "--recursive").stdout
    assert "instanceCount\t<integer>" in recursive and "volumeSizeInGB\t<integer>" in recursive
    lease = kube.kubectl("explain", "lease.spec.holderIdentity").stdout
    assert "GROUP:      coordination.k8s.io" in lease and "holderIdentity <string>" in lease
    missing = kube.kubectl("explain", "trainingjob.spec.nosuchfield", check=False)
    assert missing.returncode != 0 and 'field "nosuchfield" does not exist' in missing.stderr


# -- the Python clients ------------------------------------------------------------------------------------------


def test_official_client_discovery_calls(kube: RunningKube, official: k8s.ApiClient) -> None:
    code = k8s.VersionApi(official).get_code()
    assert code.major == "1" and code.git_version.startswith("v1.")
    assert k8s.CoreApi(official).get_api_versions().versions == ["v1"]
    groups: dict[str, Any] = {g.name: g for g in k8s.ApisApi(official).get_api_versions().groups}
    assert groups["rbac.authorization.k8s.io"].preferred_version.group_version == "rbac.authorization.k8s.io/v1"
    core = {r.name: r for r in k8s.CoreV1Api(official).get_api_resources().resources}
    assert core["secrets"].kind == "Secret" and core["secrets"].namespaced
    leases = k8s.CoordinationV1Api(official).get_api_resources()
    assert leases.group_version == "coordination.k8s.io/v1" and leases.resources[0].name == "leases"
    crd_group = k8s.ApiextensionsApi(official).get_api_group()
    assert crd_group.name == "apiextensions.k8s.io"


async def test_asyncio_dynamic_client_resolves_a_crd_kind(emulator: KubeEmulator, tmp_path: Path) -> None:
    api_client = await aconfig.new_client_from_config_dict(emulator.kubeconfig)
    async with api_client:
        ext = aclient.ApiextensionsV1Api(api_client)
        await ext.create_custom_resource_definition(CRD)
        dyn = await DynamicClient(api_client, cache_file=str(tmp_path / "discovery.json"))
        trainingjobs = await dyn.resources.get(api_version=f"{GROUP}/v1", kind="TrainingJob")
        assert trainingjobs.name == "trainingjobs" and trainingjobs.namespaced
        assert "status" in trainingjobs.subresources  # discovered from trainingjobs/status
        assert trainingjobs.categories == ["all", "sagemaker"]
        created = await dyn.create(trainingjobs, body=JOB, namespace="default")
        assert created.spec.resourceConfig.instanceCount == 1  # the CRD's default, applied by the server
        fetched = await dyn.get(trainingjobs, name="xgboost-mnist", namespace="default")
        assert fetched.metadata.uid == created.metadata.uid
        listed = await dyn.get(trainingjobs, namespace="default")
        assert [i.metadata.name for i in listed.items] == ["xgboost-mnist"]


# -- built-in resources: CRUD through the official client -----------------------------------------------------

_RBAC = "rbac.authorization.k8s.io"
_RULES = [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]
_ROLE_REF = {"apiGroup": _RBAC, "kind": "ClusterRole", "name": "view"}
_SUBJECTS = [{"kind": "User", "apiGroup": _RBAC, "name": "alice"}]
_INVOLVED = {"kind": "ConfigMap", "namespace": "default", "name": "cm", "apiVersion": "v1"}
_LABEL = {"metadata": {"labels": {"patched": "yes"}}}

# (API class, method suffix, apiVersion, kind, namespaced, body, merge patch, (attribute, value) after the patch)
CRUD_CASES: list[tuple[str, str, str, str, bool, dict[str, Any], dict[str, Any], tuple[str, Any]]] = [
    ("CoreV1Api", "namespace", "v1", "Namespace", False, {}, _LABEL, ("metadata.labels", {"patched": "yes"})),
    (
        "CoreV1Api",
        "config_map",
        "v1",
        "ConfigMap",
        True,
        {"data": {"a": "1"}},
        {"data": {"a": "2"}},
        ("data", {"a": "2"}),
    ),
    (
        "CoreV1Api",
        "secret",
        "v1",
        "Secret",
        True,
        {"stringData": {"a": "1"}},
        {"data": {"b": "Mg=="}},
        ("data", {"a": "MQ==", "b": "Mg=="}),
    ),
    (
        "CoreV1Api",
        "service_account",
        "v1",
        "ServiceAccount",
        True,
        {},
        {"automountServiceAccountToken": False},
        ("automount_service_account_token", False),
    ),
    (
        "CoreV1Api",
        "event",
        "v1",
        "Event",
        True,
        {"involvedObject": _INVOLVED, "reason": "Tested", "message": "m", "type": "Normal"},
        {"message": "m2"},
        ("message", "m2"),
    ),
    (
        "EventsV1Api",
        "event",
        "events.k8s.io/v1",
        "Event",
        True,
        {
            "eventTime": "2026-01-01T00:00:00.000000Z",
            "reportingController": "smk8s.io/test",
            "reportingInstance": "i-1",
            "action": "Test",
            "reason": "Tested",
            "type": "Normal",
            "regarding": _INVOLVED,
        },
        {"note": "n2"},
        ("note", "n2"),
    ),
    (
        "CoordinationV1Api",
        "lease",
        "coordination.k8s.io/v1",
        "Lease",
        True,
        {"spec": {"holderIdentity": "a"}},
        {"spec": {"holderIdentity": "b"}},
        ("spec.holder_identity", "b"),
    ),
    (
        "ApiextensionsV1Api",
        "custom_resource_definition",
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        False,
        {"spec": CRD["spec"]},
        _LABEL,
        ("metadata.labels", {"patched": "yes"}),
    ),
    (
        "RbacAuthorizationV1Api",
        "role",
        f"{_RBAC}/v1",
        "Role",
        True,
        {"rules": _RULES},
        _LABEL,
        ("metadata.labels", {"patched": "yes"}),
    ),
    (
        "RbacAuthorizationV1Api",
        "cluster_role",
        f"{_RBAC}/v1",
        "ClusterRole",
        False,
        {"rules": _RULES},
        _LABEL,
        ("metadata.labels", {"patched": "yes"}),
    ),
    (
        "RbacAuthorizationV1Api",
        "role_binding",
        f"{_RBAC}/v1",
        "RoleBinding",
        True,
        {"roleRef": _ROLE_REF, "subjects": _SUBJECTS},
        _LABEL,
        ("metadata.labels", {"patched": "yes"}),
    ),
    (
        "RbacAuthorizationV1Api",
        "cluster_role_binding",
        f"{_RBAC}/v1",
        "ClusterRoleBinding",
        False,
        {"roleRef": _ROLE_REF, "subjects": _SUBJECTS},
        _LABEL,
        ("metadata.labels", {"patched": "yes"}),
    ),
]


def _attr(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize(
    ("api_class", "suffix", "api_version", "kind", "namespaced", "body", "patch", "after_patch"),
    CRUD_CASES,
    ids=[f"{c[2]}-{c[3]}" for c in CRUD_CASES],
)
def test_builtin_crud_through_the_official_client(
    official: k8s.ApiClient,
    api_class: str,
    suffix: str,
    api_version: str,
    kind: str,
    namespaced: bool,
    body: dict[str, Any],
    patch: dict[str, Any],
    after_patch: tuple[str, Any],
) -> None:
    """create/read/list/replace/patch/delete with the generated typed API; answers deserialize into its models."""
    api = getattr(k8s, api_class)(official)
    name = f"trainingjobs.{GROUP}" if kind == "CustomResourceDefinition" else "crud-test"
    scope = "namespaced_" if namespaced else ""
    ns: tuple[str, ...] = ("default",) if namespaced else ()

    def op(verb: str, *args: Any, **kwargs: Any) -> Any:
        return getattr(api, f"{verb}_{scope}{suffix}")(*args, **kwargs)

    obj = {"apiVersion": api_version, "kind": kind, "metadata": {"name": name}, **body}
    created = op("create", *ns, obj)
    assert created.metadata.name == name and created.metadata.uid and created.metadata.resource_version
    fetched = op("read", name, *ns)
    assert fetched.metadata.uid == created.metadata.uid and fetched.metadata.creation_timestamp is not None
    listed = op("list", *ns)
    assert name in [item.metadata.name for item in listed.items] and listed.metadata.resource_version
    fetched.metadata.annotations = {"smk8s.io/updated": "yes"}
    replaced = op("replace", name, *ns, fetched)
    assert replaced.metadata.annotations == {"smk8s.io/updated": "yes"}
    assert int(replaced.metadata.resource_version) > int(created.metadata.resource_version)
    patched = op("patch", name, *ns, patch, _content_type="application/merge-patch+json")
    for seen in (patched, op("read", name, *ns)):
        value, expected = _attr(seen, after_patch[0]), after_patch[1]
        assert value.items() >= expected.items() if isinstance(expected, dict) else value == expected
    op("delete", name, *ns)
    if kind == "Namespace":  # the namespace controller removes the (empty) namespace at once
        assert name not in [item.metadata.name for item in op("list").items]
        return
    with pytest.raises(k8s.ApiException) as missing:
        op("read", name, *ns)
    assert missing.value.status == 404


def test_review_resources_through_the_official_client(kube: RunningKube, official: k8s.ApiClient) -> None:
    authn: Any = k8s.AuthenticationV1Api(official)
    authz: Any = k8s.AuthorizationV1Api(official)
    review = authn.create_token_review(k8s.V1TokenReview(spec=k8s.V1TokenReviewSpec(token=kube.emulator.admin_token)))
    assert review.status.authenticated is True and review.status.user.username
    bad = authn.create_token_review(k8s.V1TokenReview(spec=k8s.V1TokenReviewSpec(token="not-a-token")))
    assert not bad.status.authenticated
    sar = authz.create_subject_access_review(
        k8s.V1SubjectAccessReview(
            spec=k8s.V1SubjectAccessReviewSpec(
                user=review.status.user.username,
                groups=review.status.user.groups,
                resource_attributes=k8s.V1ResourceAttributes(verb="list", resource="configmaps", namespace="default"),
            )
        )
    )
    assert sar.status.allowed is True
