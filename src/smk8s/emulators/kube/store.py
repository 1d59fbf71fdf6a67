"""In-memory object storage with etcd's versioning: one cluster-wide revision, a bounded history, watch fan-out.

Contract:
- Stored objects are never mutated after :meth:`Store.put`; every change stores a new dict. Readers may share them
  but must copy before changing anything.
- Every write takes the next value of one cluster-wide counter as the object's ``metadata.resourceVersion`` and is
  recorded in a bounded history (``history_size`` events, oldest dropped first, like etcd compaction).
- Watchers get every event after the revision they started from, in revision order, through their own unbounded
  queue; :meth:`Store.close_watchers` ends them all (a fault the emulator can inject).
- All methods are synchronous: callers running on the event loop get atomic read-modify-write for free.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from smk8s.emulators.kube import errors

GroupResource = tuple[str, str]
ObjectKey = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped objects


@dataclass(frozen=True)
class StoredEvent:
    """One change: ``type`` ADDED, MODIFIED or DELETED; ``old`` is the object before the change (None on ADDED)."""

    revision: int
    type: str
    group_resource: GroupResource
    obj: dict[str, Any]
    old: dict[str, Any] | None


def object_key(obj: dict[str, Any]) -> ObjectKey:
    meta = obj["metadata"]
    return (meta.get("namespace", ""), meta["name"])


def etcd_key_order(key: ObjectKey) -> str:
    """The sort key etcd gives an object: its key ``<namespace>/<name>`` compared bytewise (so ``a-b/x`` sorts
    before ``a/y``), the order lists and their continue tokens follow."""
    return f"{key[0]}/{key[1]}"


@dataclass(eq=False)
class Watcher:
    """A subscription to one group/resource's events; the server filters and encodes them.

    ``queue`` receives :class:`StoredEvent` objects, or ``None`` once the watcher is closed by the store.
    """

    group_resource: GroupResource
    queue: asyncio.Queue[StoredEvent | None] = field(default_factory=asyncio.Queue)
    closed: bool = False


class Store:
    """All objects of all resources, with revisions, history and watchers (see the module contract)."""

    def __init__(self, history_size: int = 10_000) -> None:
        self._objects: dict[GroupResource, dict[ObjectKey, dict[str, Any]]] = {}
        self._history: deque[StoredEvent] = deque(maxlen=history_size)
        self._revision = 0
        # The oldest revision a watch or an exact list may start from: anything older was compacted away.
        self._compacted = 0
        self._watchers: set[Watcher] = set()
        self._listeners: list[Callable[[StoredEvent], None]] = []

    # -- revisions and history -------------------------------------------------------------------------------

    @property
    def revision(self) -> int:
        """The latest revision (the resourceVersion of the last write)."""
        return self._revision

    @property
    def oldest_revision(self) -> int:
        """The oldest revision from which history can still be replayed (events after it are all kept)."""
        if self._history and len(self._history) == self._history.maxlen:
            return max(self._compacted, self._history[0].revision - 1)
        return self._compacted

    def compact(self) -> None:
        """Forget all history: watches and exact lists from any earlier revision now get 410 Expired."""
        self._history.clear()
        self._compacted = self._revision

    def next_revision(self) -> int:
        self._revision += 1
        return self._revision

    def events_after(self, group_resource: GroupResource, revision: int) -> list[StoredEvent]:
        """Events of one resource after ``revision``; 410 Expired when that part of history was compacted."""
        if revision < self.oldest_revision:
            raise errors.gone(f"too old resource version: {revision} ({self.oldest_revision})")
        return [e for e in self._history if e.revision > revision and e.group_resource == group_resource]

    # -- reads -----------------------------------------------------------------------------------------------

    def get(self, group_resource: GroupResource, namespace: str, name: str) -> dict[str, Any] | None:
        return self._objects.get(group_resource, {}).get((namespace, name))

    def objects(self, group_resource: GroupResource, namespace: str | None = None) -> list[dict[str, Any]]:
        """Objects of one resource (in one namespace when given), in etcd key order (:func:`etcd_key_order`)."""
        objs = self._objects.get(group_resource, {})
        keys = sorted((k for k in objs if namespace is None or k[0] == namespace), key=etcd_key_order)
        return [objs[k] for k in keys]

    def snapshot(
        self, group_resource: GroupResource, revision: int, namespace: str | None = None
    ) -> list[dict[str, Any]]:
        """The objects of one resource as they were at ``revision`` (an etcd read at a past revision).

        Rebuilt from the current state by undoing later events; 410 Expired when the history no longer reaches.
        """
        if revision >= self._revision:
            return self.objects(group_resource, namespace)
        if revision < self.oldest_revision:
            raise errors.gone("The resourceVersion for the provided list is too old.")
        state = dict(self._objects.get(group_resource, {}))
        for event in reversed(self._history):
            if event.revision <= revision:
                break
            if event.group_resource != group_resource:
                continue
            key = object_key(event.obj)
            if event.old is None:
                state.pop(key, None)
            else:
                state[key] = event.old
        keys = sorted((k for k in state if namespace is None or k[0] == namespace), key=etcd_key_order)
        return [state[k] for k in keys]

    def resources(self) -> Iterator[GroupResource]:
        return iter(list(self._objects))

    def all_objects(self) -> Iterator[tuple[GroupResource, dict[str, Any]]]:
        for gr, objs in list(self._objects.items()):
            for obj in list(objs.values()):
                yield gr, obj

    def count(self, group_resource: GroupResource) -> int:
        return len(self._objects.get(group_resource, {}))

    # -- writes ----------------------------------------------------------------------------------------------

    def put(self, group_resource: GroupResource, obj: dict[str, Any]) -> dict[str, Any]:
        """Store ``obj`` (created or replaced) at the next revision, which is written into it; returns it."""
        key = object_key(obj)
        objs = self._objects.setdefault(group_resource, {})
        old = objs.get(key)
        rev = self.next_revision()
        obj["metadata"]["resourceVersion"] = str(rev)
        objs[key] = obj
        self._record(StoredEvent(rev, "ADDED" if old is None else "MODIFIED", group_resource, obj, old))
        return obj

    def remove(self, group_resource: GroupResource, namespace: str, name: str) -> dict[str, Any] | None:
        """Delete an object; the DELETED event carries it with a new resourceVersion, as etcd3 watch does."""
        objs = self._objects.get(group_resource, {})
        old = objs.pop((namespace, name), None)
        if old is None:
            return None
        rev = self.next_revision()
        gone = {**old, "metadata": {**old["metadata"], "resourceVersion": str(rev)}}
        self._record(StoredEvent(rev, "DELETED", group_resource, gone, old))
        return gone

    def drop_resource(self, group_resource: GroupResource) -> None:
        """Forget a resource's (already emptied) bucket, once its CRD is gone."""
        if not self._objects.get(group_resource):
            self._objects.pop(group_resource, None)

    def _record(self, event: StoredEvent) -> None:
        self._history.append(event)
        for watcher in self._watchers:
            if watcher.group_resource == event.group_resource:
                watcher.queue.put_nowait(event)
        for listener in self._listeners:
            listener(event)

    # -- watchers and listeners ------------------------------------------------------------------------------

    def add_listener(self, listener: Callable[[StoredEvent], None]) -> None:
        """Call ``listener`` synchronously after every write (used by the server's controllers, e.g. GC)."""
        self._listeners.append(listener)

    def watch(self, group_resource: GroupResource) -> Watcher:
        watcher = Watcher(group_resource)
        self._watchers.add(watcher)
        return watcher

    def stop_watch(self, watcher: Watcher) -> None:
        self._watchers.discard(watcher)

    def close_watchers(self) -> int:
        """End every open watch (their streams finish normally); returns how many were closed."""
        closed = list(self._watchers)
        self._watchers.clear()
        for w in closed:
            w.closed = True
            w.queue.put_nowait(None)
        return len(closed)

    @property
    def watcher_count(self) -> int:
        return len(self._watchers)
