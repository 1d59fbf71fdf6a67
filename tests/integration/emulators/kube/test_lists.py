"""Lists against the emulator, as kube-apiserver serves them: selectors, paging, resourceVersion semantics.

References (kubernetes/kubernetes): apimachinery labels/selector.go and fields/selector.go (selector syntax and
matching); apiserver storage/etcd3/store.go ``GetList`` (paging, ``remainingItemCount`` only without a selector,
``handleCompactedErrorForPaging``); apimachinery meta/internalversion/validation ``ValidateListOptions`` (422
Invalid); storage/errors.go ``NewTooLargeResourceVersionError``; docs "API concepts: resource versions" and
"Retrieving large results sets in chunks".
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException

from smk8s.emulators.kube.server import KubeEmulator
from tests.support.kube import RunningKube
from tests.support.kube import failure_status as status_of

NS = "lists"


@pytest.fixture
async def core(emulator: KubeEmulator) -> AsyncIterator[client.CoreV1Api]:
    api_client = await config.new_client_from_config_dict(emulator.kubeconfig)
    async with api_client:
        api = client.CoreV1Api(api_client)
        await api.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NS)))
        yield api


async def make_cm(core: client.CoreV1Api, name: str, labels: dict[str, str] | None = None, ns: str = NS) -> Any:
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels=labels or {}), data={"v": "1"})
    return await core.create_namespaced_config_map(ns, body)


async def names(core: client.CoreV1Api, **kwargs: Any) -> list[str]:
    result = await core.list_namespaced_config_map(NS, **kwargs)
    return [item.metadata.name for item in result.items]


async def raw_get(emulator: KubeEmulator, path: str, **params: str) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {emulator.admin_token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(emulator.url + path, params=params, headers=headers) as r,
    ):
        return r.status, await r.json()


async def test_label_selector_operators_match_as_upstream(core: client.CoreV1Api) -> None:
    await make_cm(core, "a", {"app": "web", "tier": "front"})
    await make_cm(core, "b", {"app": "web", "tier": "back"})
    await make_cm(core, "c", {"app": "db"})
    await make_cm(core, "d")
    cases = {
        "app=web": ["a", "b"],
        "app==web": ["a", "b"],
        # !=, notin and ! hold for objects without the key (labels.Requirement.Matches).
        "app!=web": ["c", "d"],
        "tier in (front,cache)": ["a"],
        "tier notin (front)": ["b", "c", "d"],
        "tier": ["a", "b"],
        "!tier": ["c", "d"],
        "app=web,tier!=front": ["b"],
        "app in (web,db),!tier": ["c"],
    }
    for selector, expected in cases.items():
        assert await names(core, label_selector=selector) == expected, selector
    with pytest.raises(ApiException) as bad:
        await names(core, label_selector="tier in (front")
    assert bad.value.status == 400 and status_of(bad.value)["reason"] == "BadRequest"


async def test_field_selectors_on_name_and_namespace_and_unsupported_label_is_400(
    core: client.CoreV1Api,
) -> None:
    await core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="other")))
    await make_cm(core, "x")
    await make_cm(core, "y")
    await make_cm(core, "x", ns="other")
    everywhere = await core.list_config_map_for_all_namespaces(field_selector="metadata.name=x")
    assert sorted((i.metadata.namespace, i.metadata.name) for i in everywhere.items) == [("lists", "x"), ("other", "x")]
    in_other = await core.list_config_map_for_all_namespaces(field_selector="metadata.namespace=other")
    assert [(i.metadata.namespace, i.metadata.name) for i in in_other.items] == [("other", "x")]
    assert await names(core, field_selector="metadata.name!=x") == ["y"]
    assert await names(core, field_selector="metadata.name==y,metadata.namespace=lists") == ["y"]
    # ConfigMap has no field-label conversion of its own: DefaultMetaV1FieldSelectorConversion's error, a 400.
    with pytest.raises(ApiException) as bad:
        await names(core, field_selector="data.v=1")
    status = status_of(bad.value)
    assert (bad.value.status, status["reason"]) == (400, "BadRequest")
    assert status["message"] == '"data.v" is not a known field selector: only "metadata.name", "metadata.namespace"'
    # Namespace registers a conversion function: "field label not supported".
    with pytest.raises(ApiException) as bad:
        await core.list_namespace(field_selector="metadata.namespace=x")
    assert (bad.value.status, status_of(bad.value)["message"]) == (400, "field label not supported: metadata.namespace")


async def test_limit_and_continue_pages_stay_consistent_with_the_first_pages_resource_version(
    core: client.CoreV1Api,
) -> None:
    for i in range(5):
        await make_cm(core, f"p{i}")
    first = await core.list_namespaced_config_map(NS, limit=2)
    rv = first.metadata.resource_version
    assert [i.metadata.name for i in first.items] == ["p0", "p1"]
    assert first.metadata.remaining_item_count == 3 and first.metadata._continue
    # Change the collection between pages: the rest of the list still shows the state at the first page's RV.
    await core.delete_namespaced_config_map("p2", NS)
    await core.patch_namespaced_config_map("p3", NS, {"data": {"v": "2"}})
    await make_cm(core, "p5")
    second = await core.list_namespaced_config_map(NS, limit=2, _continue=first.metadata._continue)
    assert [i.metadata.name for i in second.items] == ["p2", "p3"]
    assert second.items[1].data == {"v": "1"}
    assert second.metadata.resource_version == rv and second.metadata.remaining_item_count == 1
    third = await core.list_namespaced_config_map(NS, limit=2, _continue=second.metadata._continue)
    assert [i.metadata.name for i in third.items] == ["p4"]
    assert third.metadata._continue is None and third.metadata.remaining_item_count is None
    assert third.metadata.resource_version == rv
    # A new list sees the present.
    assert await names(core) == ["p0", "p1", "p3", "p4", "p5"]
    # With a selector, etcd cannot count what remains: no remainingItemCount, but a continue token.
    selected = await core.list_namespaced_config_map(NS, limit=1, field_selector="metadata.name!=p0")
    assert selected.metadata._continue and selected.metadata.remaining_item_count is None


async def test_paging_across_namespaces_follows_etcd_key_order(core: client.CoreV1Api) -> None:
    # etcd orders keys bytewise: "lists-a/..." sorts before "lists/..." ('-' < '/'); a page boundary between
    # the two namespaces must neither skip nor repeat objects.
    await core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="lists-a")))
    await make_cm(core, "m")
    await make_cm(core, "n", ns="lists-a")
    seen: list[tuple[str, str]] = []
    token = None
    while True:
        if token:
            page = await core.list_config_map_for_all_namespaces(limit=1, _continue=token)
        else:
            page = await core.list_config_map_for_all_namespaces(limit=1)
        seen += [(i.metadata.namespace, i.metadata.name) for i in page.items]
        token = page.metadata._continue
        if not token:
            break
    assert seen == [("lists-a", "n"), ("lists", "m")]


async def test_continue_token_older_than_history_is_410_expired_with_a_token_to_go_on(
    emulator: KubeEmulator, core: client.CoreV1Api
) -> None:
    for i in range(3):
        await make_cm(core, f"c{i}")
    first = await core.list_namespaced_config_map(NS, limit=1)
    await make_cm(core, "c3")
    async with aiohttp.ClientSession() as session, session.post(emulator.url + "/_emulator/compact") as r:
        assert r.status == 200
    with pytest.raises(ApiException) as gone:
        await core.list_namespaced_config_map(NS, limit=1, _continue=first.metadata._continue)
    status = status_of(gone.value)
    assert (gone.value.status, status["reason"]) == (410, "Expired")
    assert status["message"].startswith("The provided continue parameter is too old to display a consistent list")
    # etcd3 store handleCompactedErrorForPaging: the Status carries a token continuing at the latest revision.
    rest = await core.list_namespaced_config_map(NS, _continue=status["metadata"]["continue"])
    assert [i.metadata.name for i in rest.items] == ["c1", "c2", "c3"]
    # In-process control: compact() does the same to an Exact list.
    emulator.compact()
    with pytest.raises(ApiException) as old:
        await core.list_namespaced_config_map(
            NS, resource_version=first.metadata.resource_version, resource_version_match="Exact"
        )
    assert old.value.status == 410
    assert status_of(old.value)["message"] == "The resourceVersion for the provided list is too old."


async def test_resource_version_and_match_semantics(emulator: KubeEmulator, core: client.CoreV1Api) -> None:
    await make_cm(core, "r1")
    at_r1 = (await core.list_namespaced_config_map(NS)).metadata.resource_version
    await make_cm(core, "r2")
    await core.patch_namespaced_config_map("r1", NS, {"data": {"v": "2"}})
    latest = await core.list_namespaced_config_map(NS)  # unset: most recent
    assert int(latest.metadata.resource_version) > int(at_r1)
    assert [(i.metadata.name, i.data["v"]) for i in latest.items] == [("r1", "2"), ("r2", "1")]
    any_rv = await core.list_namespaced_config_map(NS, resource_version="0")  # "0": any (here: the latest)
    assert int(any_rv.metadata.resource_version) >= int(at_r1)
    not_older = await core.list_namespaced_config_map(NS, resource_version=at_r1, resource_version_match="NotOlderThan")
    assert int(not_older.metadata.resource_version) >= int(at_r1) and len(not_older.items) == 2
    exact = await core.list_namespaced_config_map(NS, resource_version=at_r1, resource_version_match="Exact")
    assert exact.metadata.resource_version == at_r1
    assert [(i.metadata.name, i.data["v"]) for i in exact.items] == [("r1", "1")]
    # resourceVersion=N with a limit and no match is an exact read too (legacy semantics).
    legacy = await core.list_namespaced_config_map(NS, resource_version=at_r1, limit=5)
    assert legacy.metadata.resource_version == at_r1 and [i.metadata.name for i in legacy.items] == ["r1"]
    # Too large: NewTooLargeResourceVersionError, a 504 Timeout with a ResourceVersionTooLarge cause.
    future = str(emulator.store.revision + 100)
    for match in ("NotOlderThan", "Exact"):
        with pytest.raises(ApiException) as large:
            await core.list_namespaced_config_map(NS, resource_version=future, resource_version_match=match)
        status = status_of(large.value)
        assert (large.value.status, status["reason"]) == (504, "Timeout")
        assert status["message"] == f"Timeout: Too large resource version: {future}, current: {emulator.store.revision}"
        assert status["details"]["causes"] == [
            {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
        ]
        assert status["details"]["retryAfterSeconds"] == 1


async def test_invalid_list_option_combinations_are_422_like_validate_list_options(
    emulator: KubeEmulator, core: client.CoreV1Api
) -> None:
    path = f"/api/v1/namespaces/{NS}/configmaps"
    cases = [
        (
            {"resourceVersionMatch": "NotOlderThan"},
            "resourceVersionMatch is forbidden unless resourceVersion is provided",
        ),
        (
            {"resourceVersion": "0", "resourceVersionMatch": "Exact"},
            'resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
        ),
        ({"sendInitialEvents": "true"}, "sendInitialEvents is forbidden for list"),
    ]
    for params, detail in cases:
        code, status = await raw_get(emulator, path, **params)
        assert (code, status["reason"]) == (422, "Invalid"), params
        assert status["details"]["group"] == "meta.k8s.io" and status["details"]["kind"] == "ListOptions"
        assert detail in status["message"], status["message"]
    code, status = await raw_get(emulator, path, resourceVersion="1", resourceVersionMatch="Newest")
    assert code == 422
    assert status["message"] == (
        'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Unsupported value: "Newest": '
        'supported values: "Exact", "NotOlderThan", ""'
    )
    # A resourceVersion with a continue token is a storage-level 400 (etcd3 store GetList).
    await make_cm(core, "k0")
    await make_cm(core, "k1")
    token = (await core.list_namespaced_config_map(NS, limit=1)).metadata._continue
    code, status = await raw_get(emulator, path, resourceVersion="5", **{"continue": token})
    assert (code, status["message"]) == (400, "specifying resource version is not allowed when using continue")


def test_kubectl_chunk_size_pages_through_the_whole_list(kube: RunningKube) -> None:
    kube.kubectl("create", "namespace", NS)
    for i in range(7):
        kube.kubectl("create", "configmap", f"k{i}", "-n", NS, "--from-literal=v=1")
    before = kube.emulator.stats[("list", "configmaps")]
    out = kube.kubectl("get", "configmaps", "-n", NS, "--chunk-size=2", "-o", "name").stdout.split()
    assert out == [f"configmap/k{i}" for i in range(7)]
    # 7 objects in chunks of 2: kubectl followed the continue tokens over 4 requests.
    assert kube.emulator.stats[("list", "configmaps")] - before == 4
    table = kube.kubectl("get", "configmaps", "-n", NS, "--chunk-size=3").stdout.splitlines()
    assert table[0].split()[0] == "NAME" and [r.split()[0] for r in table[1:8]] == [f"k{i}" for i in range(7)]
