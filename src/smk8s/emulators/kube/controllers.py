"""The controllers that run inside kube-apiserver and kube-controller-manager, as far as the operator sees them.

- CRD establishing (apiextensions' naming and establishing controllers): a created or changed CRD gets
  ``NamesAccepted`` and ``Established`` conditions and its versions are served; a deleted one stops being served.
- CRD cleanup (apiextensions' finalizer controller): a terminating CRD's objects are deleted, then its
  ``customresourcecleanup.apiextensions.k8s.io`` finalizer is removed.
- Namespace lifecycle (the namespace controller): a terminating namespace's content is deleted, then the
  namespace is removed.
- Garbage collection (the garbage collector): dependents whose owners are all gone are deleted; ``foregroundDeletion``
  owners wait for their blocking dependents; ``orphan`` owners have their dependents released first.

:class:`ClusterControllers` reacts to every store write; a pass does only the writes needed to converge, so passes
repeat until nothing changes. ``run_pending()`` runs passes synchronously (the server calls it after every write
request, which makes cascades visible at once, as fast as a healthy cluster's controllers).
"""

from __future__ import annotations

import copy
from typing import Any

from smk8s.emulators.kube import errors
from smk8s.emulators.kube.api import (
    CRD_CLEANUP_FINALIZER,
    CRDS,
    FOREGROUND_FINALIZER,
    NAMESPACES,
    ORPHAN_FINALIZER,
    DeleteOptions,
    ObjectAPI,
    rfc3339,
    set_condition,
)
from smk8s.emulators.kube.store import GroupResource, ObjectKey, StoredEvent, object_key

_MAX_PASSES = 100


class ClusterControllers:
    """See the module docstring. Owned by the server; not for use by clients."""

    def __init__(self, api: ObjectAPI) -> None:
        self.api = api
        self._crds_dirty = False
        self._namespaces_dirty = False
        # Garbage-collector graph, kept up to date from every store event: uid -> object, owner uid -> dependents.
        self._uids: dict[str, tuple[GroupResource, ObjectKey]] = {}
        self._dependents: dict[str, set[tuple[GroupResource, ObjectKey]]] = {}
        self._dependents_to_check: set[tuple[GroupResource, ObjectKey]] = set()
        self._owners_to_check: set[tuple[GroupResource, ObjectKey]] = set()
        api.store.add_listener(self._on_event)

    def _on_event(self, event: StoredEvent) -> None:
        gr, obj = event.group_resource, event.obj
        meta = obj["metadata"]
        node = (gr, object_key(obj))
        uid = meta.get("uid", "")
        old_owners = _owner_uids(event.old)
        new_owners = set() if event.type == "DELETED" else _owner_uids(obj)
        for owner in old_owners - new_owners:
            self._dependents.get(owner, set()).discard(node)
        for owner in new_owners:
            self._dependents.setdefault(owner, set()).add(node)
        if event.type == "DELETED":
            self._uids.pop(uid, None)
            self._dependents_to_check |= self._dependents.pop(uid, set())
            self._owners_to_check |= {self._uids[o] for o in old_owners if o in self._uids}
            self._namespaces_dirty = True
            self._crds_dirty = True
        else:
            self._uids[uid] = node
            if new_owners:
                self._dependents_to_check.add(node)
            if meta.get("deletionTimestamp") and {FOREGROUND_FINALIZER, ORPHAN_FINALIZER} & set(
                meta.get("finalizers") or []
            ):
                self._owners_to_check.add(node)
                self._dependents_to_check |= self._dependents.get(uid, set())
        if gr == NAMESPACES:
            self._namespaces_dirty = True
        if gr == CRDS:
            self._crds_dirty = True
            if event.type == "DELETED":
                self.api.registry.set_crd(meta["name"], None)
                spec = obj.get("spec", {})
                self.api.store.drop_resource((spec.get("group", ""), spec.get("names", {}).get("plural", "")))

    def run_pending(self) -> None:
        """Run the controllers until they converge: nothing they watch changed since their last pass."""
        for _ in range(_MAX_PASSES):
            if self._crds_dirty:
                self._crds_dirty = False
                self._establish_crds()
                self._finalize_crds()
            elif self._namespaces_dirty:
                self._namespaces_dirty = False
                self._finalize_namespaces()
            elif self._dependents_to_check:
                self._check_dependent(*self._dependents_to_check.pop())
            elif self._owners_to_check:
                self._check_owner(*self._owners_to_check.pop())
            else:
                return

    # -- CRDs ------------------------------------------------------------------------------------------------

    def _establish_crds(self) -> None:
        for crd in self.api.store.objects(CRDS):
            if crd["metadata"].get("deletionTimestamp"):
                continue
            name = crd["metadata"]["name"]
            names = crd.get("spec", {}).get("names", {})
            accepted = dict(names)
            accepted.setdefault("singular", names.get("kind", "").lower())
            accepted.setdefault("listKind", names.get("kind", "") + "List")
            status = crd.get("status") or {}
            conds = {c["type"]: c for c in status.get("conditions") or []}
            up_to_date = (
                status.get("acceptedNames") == accepted
                and conds.get("Established", {}).get("status") == "True"
                and conds.get("NamesAccepted", {}).get("status") == "True"
            )
            self.api.registry.set_crd(name, crd)
            if up_to_date:
                continue
            updated = copy.deepcopy(crd)
            now = rfc3339(self.api.clock())
            updated.setdefault("status", {})["acceptedNames"] = accepted
            set_condition(updated, "NamesAccepted", "True", "NoConflicts", "no conflicts found", now)
            set_condition(
                updated,
                "Established",
                "True",
                "InitialNamesAccepted",
                "the initial names have been accepted",
                now,
            )
            stored = set(updated["status"].get("storedVersions") or [])
            stored |= {v["name"] for v in updated.get("spec", {}).get("versions", []) if v.get("storage")}
            updated["status"]["storedVersions"] = sorted(stored)
            self.api.system_update(CRDS, updated)

    def _finalize_crds(self) -> None:
        for crd in self.api.store.objects(CRDS):
            meta = crd["metadata"]
            if not meta.get("deletionTimestamp") or CRD_CLEANUP_FINALIZER not in (meta.get("finalizers") or []):
                continue
            spec = crd.get("spec", {})
            gr = (spec.get("group", ""), spec.get("names", {}).get("plural", ""))
            types = self.api.registry.by_group_resource(*gr)
            remaining = self.api.store.objects(gr)
            if types:
                for obj in remaining:
                    if not obj["metadata"].get("deletionTimestamp"):
                        self._delete(types[0], obj, "Background")
                remaining = self.api.store.objects(gr)
            if remaining:
                continue
            updated = copy.deepcopy(crd)
            updated["metadata"]["finalizers"] = [f for f in meta.get("finalizers") or [] if f != CRD_CLEANUP_FINALIZER]
            self.api.system_update(CRDS, updated)

    # -- namespaces ------------------------------------------------------------------------------------------

    def _finalize_namespaces(self) -> None:
        for ns in self.api.store.objects(NAMESPACES):
            if not ns["metadata"].get("deletionTimestamp"):
                continue
            name = ns["metadata"]["name"]
            left = 0
            for rt in self._namespaced_types():
                for obj in self.api.store.objects(rt.storage, name):
                    left += 1
                    if not obj["metadata"].get("deletionTimestamp"):
                        self._delete(rt, obj, "Background")
            if left and any(self.api.store.objects(rt.storage, name) for rt in self._namespaced_types()):
                continue
            if (ns.get("spec") or {}).get("finalizers"):
                updated = copy.deepcopy(ns)
                updated["spec"]["finalizers"] = []
                self.api.system_update(NAMESPACES, updated)

    def _namespaced_types(self) -> list[Any]:
        seen: dict[tuple[str, str], Any] = {}
        for rt in self.api.registry.all():
            if rt.namespaced and rt.verbs != ("create",):
                seen.setdefault(rt.storage, rt)  # one type per storage (events.k8s.io Events are core Events)
        return list(seen.values())

    # -- garbage collection ----------------------------------------------------------------------------------

    def _owner(self, uid: str) -> dict[str, Any] | None:
        node = self._uids.get(uid)
        return None if node is None else self.api.store.get(node[0], *node[1])

    def _check_dependent(self, gr: GroupResource, key: ObjectKey) -> None:
        """Delete a dependent whose owners are all gone (or all deleting in the foreground); drop dangling refs."""
        obj = self.api.store.get(gr, *key)
        if obj is None:
            return
        meta = obj["metadata"]
        refs = meta.get("ownerReferences") or []
        if not refs or meta.get("deletionTimestamp"):
            return
        owners = {r.get("uid", ""): self._owner(r.get("uid", "")) for r in refs}
        live = [r for r in refs if (o := owners[r.get("uid", "")]) is not None and self._owner_visible(obj, o)]
        if not live:
            self._delete_stored(gr, obj, "Background")
            return
        if len(live) < len(refs):
            updated = copy.deepcopy(obj)
            updated["metadata"]["ownerReferences"] = live
            self.api.system_update(gr, updated)
            return
        if all(_deleting_with(owners[r.get("uid", "")], FOREGROUND_FINALIZER) for r in live):
            self._delete_stored(gr, obj, "Foreground")

    def _check_owner(self, gr: GroupResource, key: ObjectKey) -> None:
        """Release an owner's ``foregroundDeletion`` or ``orphan`` finalizer once its dependents allow it."""
        owner = self.api.store.get(gr, *key)
        if owner is None or not owner["metadata"].get("deletionTimestamp"):
            return
        uid = owner["metadata"]["uid"]
        dependents = sorted(self._dependents.get(uid, set()))
        if _deleting_with(owner, ORPHAN_FINALIZER):
            self._orphan(gr, owner, dependents)
        elif _deleting_with(owner, FOREGROUND_FINALIZER):
            self._foreground(gr, owner, dependents)

    @staticmethod
    def _owner_visible(dependent: dict[str, Any], owner: dict[str, Any]) -> bool:
        """A namespaced dependent can only have owners in its own namespace or cluster-scoped ones."""
        owner_ns = owner["metadata"].get("namespace", "")
        return owner_ns in ("", dependent["metadata"].get("namespace", ""))

    def _foreground(
        self, gr: GroupResource, owner: dict[str, Any], dependents: list[tuple[GroupResource, ObjectKey]]
    ) -> None:
        uid = owner["metadata"]["uid"]
        for dep_gr, dep_key in dependents:
            dep = self.api.store.get(dep_gr, *dep_key)
            refs = (dep or {}).get("metadata", {}).get("ownerReferences") or []
            if any(r.get("uid") == uid and r.get("blockOwnerDeletion") for r in refs):
                return  # a blocking dependent is still there
        self._drop_finalizer(gr, owner, FOREGROUND_FINALIZER)

    def _orphan(
        self, gr: GroupResource, owner: dict[str, Any], dependents: list[tuple[GroupResource, ObjectKey]]
    ) -> None:
        uid = owner["metadata"]["uid"]
        for dep_gr, dep_key in dependents:
            current = self.api.store.get(dep_gr, *dep_key)
            if current is None:
                continue
            updated = copy.deepcopy(current)
            refs = [r for r in updated["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
            if refs:
                updated["metadata"]["ownerReferences"] = refs
            else:
                updated["metadata"].pop("ownerReferences", None)
            self.api.system_update(dep_gr, updated)
        self._drop_finalizer(gr, owner, ORPHAN_FINALIZER)

    def _drop_finalizer(self, gr: tuple[str, str], obj: dict[str, Any], finalizer: str) -> None:
        current = self.api.store.get(gr, *_key(obj))
        if current is None:
            return
        updated = copy.deepcopy(current)
        updated["metadata"]["finalizers"] = [f for f in current["metadata"].get("finalizers") or [] if f != finalizer]
        if not updated["metadata"]["finalizers"]:
            del updated["metadata"]["finalizers"]
        self.api.system_update(gr, updated)

    # -- helpers ---------------------------------------------------------------------------------------------

    def _delete_stored(self, gr: tuple[str, str], obj: dict[str, Any], policy: str) -> None:
        types = self.api.registry.by_group_resource(*gr)
        if types:
            self._delete(types[0], obj, policy)

    def _delete(self, rt: Any, obj: dict[str, Any], policy: str) -> None:
        meta = obj["metadata"]
        try:
            self.api.delete(
                rt,
                meta.get("namespace", ""),
                meta["name"],
                DeleteOptions(propagation_policy=policy, precondition_uid=meta.get("uid", "")),
            )
        except errors.APIError as exc:
            if exc.code not in (404, 409):
                raise


def _owner_uids(obj: dict[str, Any] | None) -> set[str]:
    if obj is None:
        return set()
    return {r.get("uid", "") for r in obj["metadata"].get("ownerReferences") or []}


def _deleting_with(obj: dict[str, Any] | None, finalizer: str) -> bool:
    if obj is None:
        return False
    meta = obj["metadata"]
    return bool(meta.get("deletionTimestamp")) and finalizer in (meta.get("finalizers") or [])


def _key(obj: dict[str, Any]) -> tuple[str, str]:
    return (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
