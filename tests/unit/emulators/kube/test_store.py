"""Store: one revision counter, bounded history, snapshots and watch fan-out (etcd3 semantics)."""

from __future__ import annotations

from typing import Any

import pytest

from smk8s.emulators.kube.errors import APIError
from smk8s.emulators.kube.store import Store

CM = ("", "configmaps")
SECRETS = ("", "secrets")


def obj(name: str, ns: str = "default", **data: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns}, "data": data}


def test_every_write_takes_the_next_cluster_wide_revision() -> None:
    store = Store()
    a = store.put(CM, obj("a"))
    b = store.put(SECRETS, obj("b"))
    a2 = store.put(CM, obj("a", v="2"))
    assert [
        a["metadata"]["resourceVersion"],
        b["metadata"]["resourceVersion"],
        a2["metadata"]["resourceVersion"],
    ] == ["1", "2", "3"]
    assert store.revision == 3


def test_delete_event_carries_a_new_revision_and_the_last_state() -> None:
    store = Store()
    store.put(CM, obj("a", v="1"))
    gone = store.remove(CM, "default", "a")
    assert gone is not None and gone["metadata"]["resourceVersion"] == "2"
    events = store.events_after(CM, 0)
    assert [(e.type, e.revision) for e in events] == [("ADDED", 1), ("DELETED", 2)]
    assert store.get(CM, "default", "a") is None


def test_list_is_ordered_by_namespace_then_name_and_filters_namespace() -> None:
    store = Store()
    for ns, name in [("b", "x"), ("a", "z"), ("a", "y")]:
        store.put(CM, obj(name, ns))
    assert [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in store.objects(CM)] == [
        ("a", "y"),
        ("a", "z"),
        ("b", "x"),
    ]
    assert [o["metadata"]["name"] for o in store.objects(CM, "b")] == ["x"]


def test_snapshot_rebuilds_past_state_from_history() -> None:
    store = Store()
    store.put(CM, obj("a", v="1"))  # rv 1
    store.put(CM, obj("b"))  # rv 2
    store.put(CM, obj("a", v="2"))  # rv 3
    store.remove(CM, "default", "b")  # rv 4
    store.put(CM, obj("c"))  # rv 5
    at2 = store.snapshot(CM, 2)
    assert [(o["metadata"]["name"], o["data"]) for o in at2] == [("a", {"v": "1"}), ("b", {})]
    assert [o["metadata"]["name"] for o in store.snapshot(CM, 4)] == ["a"]


def test_history_is_bounded_and_older_revisions_are_gone() -> None:
    store = Store(history_size=3)
    for i in range(6):
        store.put(CM, obj(f"o{i}"))
    # Events 4, 5, 6 are kept: resuming after 3 works, after 2 would miss event 3.
    assert [e.revision for e in store.events_after(CM, 3)] == [4, 5, 6]
    with pytest.raises(APIError) as err:
        store.events_after(CM, 2)
    assert err.value.code == 410 and err.value.reason == "Expired"


def test_compact_expires_all_earlier_revisions() -> None:
    store = Store()
    store.put(CM, obj("a"))
    store.put(CM, obj("b"))
    store.compact()
    with pytest.raises(APIError):
        store.events_after(CM, 1)
    with pytest.raises(APIError):
        store.snapshot(CM, 1)
    assert store.events_after(CM, 2) == []


async def test_watchers_get_events_of_their_resource_and_end_when_closed() -> None:
    store = Store()
    watcher = store.watch(CM)
    store.put(SECRETS, obj("s"))
    store.put(CM, obj("a"))
    event = watcher.queue.get_nowait()
    assert event is not None and event.type == "ADDED" and event.obj["metadata"]["name"] == "a"
    assert watcher.queue.empty()
    assert store.close_watchers() == 1
    assert watcher.queue.get_nowait() is None
    store.put(CM, obj("b"))
    assert watcher.queue.empty()


def test_listeners_see_every_write() -> None:
    store = Store()
    seen: list[str] = []
    store.add_listener(lambda e: seen.append(f"{e.type}:{e.obj['metadata']['name']}"))
    store.put(CM, obj("a"))
    store.remove(CM, "default", "a")
    assert seen == ["ADDED:a", "DELETED:a"]
