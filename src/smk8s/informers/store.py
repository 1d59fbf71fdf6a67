"""The informer cache: objects by key, plus indexes (client-go ``cache.Indexer`` / ``threadSafeMap``).

Objects are plain dicts as the API server serves them (after the informer's transform). Keys are
``namespace/name``, or ``name`` for cluster-scoped objects (:func:`object_key`, client-go's
``MetaNamespaceKeyFunc``). Every store keeps the ``namespace`` index (:data:`NAMESPACE_INDEX`); callers add their
own (:meth:`Store.add_indexers`), e.g. by owner UID or by SageMaker job name.

Contract:
- Single-threaded: the store belongs to one event loop and is never awaited inside, so every method is atomic with
  respect to other tasks. Only the informer that owns a store writes to it; everyone else reads.
- Readers get the stored dicts themselves, not copies: they must not mutate them.
- An index function returns the values an object is indexed under (possibly none); ``by_index(name, value)``
  returns the objects having ``value`` among theirs, in no particular order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

Object = dict[str, Any]
IndexFunc = Callable[[Object], list[str]]
Keys = list[str]  # aliases: inside Store, ``list`` names the method
Objects = list[Object]

NAMESPACE_INDEX = "namespace"


@dataclass(frozen=True)
class DeletedFinalStateUnknown:
    """A delete the informer inferred rather than saw (client-go's tombstone of the same name).

    Handed to ``on_delete`` when a relist no longer contains an object the cache held: it was deleted while the
    watch was down. ``obj`` is the last state the cache knew, which may be stale.
    """

    key: str
    obj: Object


def object_key(obj: Object | DeletedFinalStateUnknown) -> str:
    """``namespace/name``, or ``name`` when the object has no namespace; a tombstone's own key."""
    if isinstance(obj, DeletedFinalStateUnknown):
        return obj.key
    meta = obj["metadata"]
    namespace = meta.get("namespace")
    return f"{namespace}/{meta['name']}" if namespace else str(meta["name"])


def namespace_index(obj: Object) -> list[str]:
    """The object's namespace (``""`` for cluster-scoped objects): client-go's ``MetaNamespaceIndexFunc``."""
    return [obj["metadata"].get("namespace") or ""]


class Store:
    """Objects by key with secondary indexes (see the module contract)."""

    def __init__(self, indexers: Mapping[str, IndexFunc] | None = None) -> None:
        self._items: dict[str, Object] = {}
        self._indexers: dict[str, IndexFunc] = {NAMESPACE_INDEX: namespace_index}
        # index name -> indexed value -> keys; an object's values are recomputed from its stored version on change.
        self._indices: dict[str, dict[str, set[str]]] = {NAMESPACE_INDEX: {}}
        if indexers:
            self.add_indexers(indexers)

    # -- reads -----------------------------------------------------------------------------------------------

    def get(self, key: str) -> Object | None:
        return self._items.get(key)

    def list(self) -> Objects:
        return list(self._items.values())

    def keys(self) -> Keys:
        return list(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._items))

    def by_index(self, index_name: str, value: str) -> Objects:
        """Objects indexed under ``value`` by ``index_name``; ``KeyError`` for an unknown index."""
        return [self._items[k] for k in self.index_keys(index_name, value)]

    def index_keys(self, index_name: str, value: str) -> Keys:
        """Keys of the objects indexed under ``value`` by ``index_name``; ``KeyError`` for an unknown index."""
        return list(self._indices[index_name].get(value, ()))

    def index_values(self, index_name: str) -> Keys:
        """Every value ``index_name`` currently holds objects under (client-go's ``ListIndexFuncValues``)."""
        return list(self._indices[index_name])

    def indexers(self) -> dict[str, IndexFunc]:
        return dict(self._indexers)

    # -- writes (the owning informer only) -----------------------------------------------------------------

    def add_indexers(self, indexers: Mapping[str, IndexFunc]) -> None:
        """Add indexes; they are built at once for the objects already stored. ``ValueError`` if a name exists."""
        clash = set(indexers) & set(self._indexers)
        if clash:
            raise ValueError(f"indexer conflict: {sorted(clash)}")
        for name, fn in indexers.items():
            self._indexers[name] = fn
            index: dict[str, set[str]] = {}
            self._indices[name] = index
            for key, obj in self._items.items():
                for value in fn(obj):
                    index.setdefault(value, set()).add(key)

    def add(self, obj: Object) -> None:
        """Store ``obj`` under its key, replacing any previous version (add and update are the same)."""
        key = object_key(obj)
        old = self._items.get(key)
        self._items[key] = obj
        self._reindex(key, old, obj)

    update = add

    def delete(self, key: str) -> Object | None:
        """Remove the object under ``key``; returns it, or ``None`` if there was none."""
        old = self._items.pop(key, None)
        if old is not None:
            self._reindex(key, old, None)
        return old

    def _reindex(self, key: str, old: Object | None, new: Object | None) -> None:
        for name, fn in self._indexers.items():
            before = fn(old) if old is not None else []
            after = fn(new) if new is not None else []
            if before == after:
                continue
            index = self._indices[name]
            for value in before:
                keys = index.get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del index[value]
            for value in after:
                index.setdefault(value, set()).add(key)
