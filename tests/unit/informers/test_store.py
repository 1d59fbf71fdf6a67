"""The informer store: keys, the namespace index and custom indexes kept right through add, update and delete."""

from __future__ import annotations

from typing import Any

import pytest

from smk8s.informers import NAMESPACE_INDEX, DeletedFinalStateUnknown, Store, object_key
from tests.unit.informers.fakes import obj


def owner_uids(o: dict[str, Any]) -> list[str]:
    return [ref["uid"] for ref in o["metadata"].get("ownerReferences", [])]


def owned(name: str, rv: int, *uids: str, namespace: str = "ns") -> dict[str, Any]:
    return obj(name, rv, namespace, metadata={"ownerReferences": [{"uid": u} for u in uids]})


def test_keys_are_namespace_slash_name_or_name_and_tombstones_keep_theirs() -> None:
    assert object_key(obj("a", 1, "ns")) == "ns/a"
    assert object_key(obj("node-1", 1, None)) == "node-1"
    assert object_key(DeletedFinalStateUnknown("ns/gone", obj("other", 1))) == "ns/gone"


def test_add_update_delete_by_key() -> None:
    store = Store()
    store.add(obj("a", 1))
    store.add(obj("b", 2, "other"))
    store.update(obj("a", 3))
    assert store.get("ns/a") == obj("a", 3)
    assert sorted(store.keys()) == ["ns/a", "other/b"]
    assert len(store) == 2 and "ns/a" in store
    assert store.delete("ns/a") == obj("a", 3)
    assert store.delete("ns/a") is None
    assert store.get("ns/a") is None
    assert store.list() == [obj("b", 2, "other")]


def test_namespace_index_is_always_there() -> None:
    store = Store()
    store.add(obj("a", 1, "x"))
    store.add(obj("b", 1, "x"))
    store.add(obj("c", 1, "y"))
    store.add(obj("cluster", 1, None))
    assert sorted(o["metadata"]["name"] for o in store.by_index(NAMESPACE_INDEX, "x")) == ["a", "b"]
    assert store.index_keys(NAMESPACE_INDEX, "") == ["cluster"]
    store.delete("x/a")
    store.delete("x/b")
    assert store.by_index(NAMESPACE_INDEX, "x") == []
    assert sorted(store.index_values(NAMESPACE_INDEX)) == ["", "y"]  # empty values are dropped


def test_custom_index_follows_updates_and_deletes() -> None:
    store = Store({"owner": owner_uids})
    store.add(owned("a", 1, "u1"))
    store.add(owned("b", 1, "u1", "u2"))
    assert sorted(store.index_keys("owner", "u1")) == ["ns/a", "ns/b"]
    store.update(owned("b", 2, "u2"))  # b no longer owned by u1
    assert store.index_keys("owner", "u1") == ["ns/a"]
    assert store.by_index("owner", "u2") == [owned("b", 2, "u2")]
    store.delete("ns/b")
    assert store.index_keys("owner", "u2") == []
    assert store.index_values("owner") == ["u1"]


def test_indexers_added_later_index_existing_objects_and_names_are_unique() -> None:
    store = Store()
    store.add(owned("a", 1, "u1"))
    store.add_indexers({"owner": owner_uids})
    assert store.index_keys("owner", "u1") == ["ns/a"]
    with pytest.raises(ValueError, match="indexer conflict"):
        store.add_indexers({"owner": owner_uids})
    with pytest.raises(ValueError):
        store.add_indexers({NAMESPACE_INDEX: owner_uids})
    with pytest.raises(KeyError):
        store.by_index("missing", "x")
