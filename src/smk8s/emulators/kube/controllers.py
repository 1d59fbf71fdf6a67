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
from smk8s.emulators.kube.store import StoredEvent

_MAX_PASSES = 100


class ClusterControllers:
    """See the module docstring. Owned by the server; not for use by clients."""

    def __init__(self, api: ObjectAPI) -> None:
        self.api = api
        self._dirty = False
        api.store.add_listener(self._on_event)

    def _on_event(self, event: StoredEvent) -> None:
        self._dirty = True
        if event.group_resource == CRDS:
            name = event.obj["metadata"]["name"]
            if event.type == "DELETED":
                self.api.registry.set_crd(name, None)
                spec = event.obj.get("spec", {})
                self.api.store.drop_resource((spec.get("group", ""), spec.get("names", {}).get("plural", "")))

    def run_pending(self) -> None:
        """Run controller passes until they converge (no pass made a write)."""
        for _ in range(_MAX_PASSES):
            if not self._dirty:
                return
            self._dirty = False
            self._establish_crds()
            self._finalize_crds()
            self._finalize_namespaces()
            self._collect_garbage()

    # -- CRDs ------------------------------------------------------------------------------------------------

    def _establish_crds(self) -> None:
        for crd in self.api.store.objects(CRDS):
            if crd["metadata"].get("deletionTimestamp"):
                continue
            name = crd["metadata"]["name"]
            names = crd.get("spec", {}).get("names", {})
            accepted = {k: v for k, v in names.items()}
            accepted.setdefault("singular", names.get("kind", "").lower())
            accepted.setdefault("listKind", names.get("kind", "") + "List")
            status = crd.get("status") or {}
            conds = {c["type"]: c for c in status.get("conditions") or []}
            up_to_date = (
                status.get("acceptedNames") == accepted
                and conds.get("Established", {}).get("status") == "True"
                and conds.get("NamesAccepted", {}).get("status") == "True"
                and status.get("observedGeneration", crd["metadata"].get("generation")) is not None
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
                for obj in self.api.store.objects(rt.group_resource, name):
                    left += 1
                    if not obj["metadata"].get("deletionTimestamp"):
                        self._delete(rt, obj, "Background")
            if left and any(self.api.store.objects(rt.group_resource, name) for rt in self._namespaced_types()):
                continue
            if (ns.get("spec") or {}).get("finalizers"):
                updated = copy.deepcopy(ns)
                updated["spec"]["finalizers"] = []
                self.api.system_update(NAMESPACES, updated)

    def _namespaced_types(self) -> list[Any]:
        seen: dict[tuple[str, str], Any] = {}
        for rt in self.api.registry.all():
            if rt.namespaced and rt.verbs != ("create",):
                seen.setdefault(rt.group_resource, rt)
        return list(seen.values())

    # -- garbage collection ----------------------------------------------------------------------------------

    def _collect_garbage(self) -> None:
        by_uid: dict[str, tuple[tuple[str, str], dict[str, Any]]] = {}
        dependents: dict[str, list[tuple[tuple[str, str], dict[str, Any], dict[str, Any]]]] = {}
        for gr, obj in self.api.store.all_objects():
            by_uid[obj["metadata"].get("uid", "")] = (gr, obj)
            for ref in obj["metadata"].get("ownerReferences") or []:
                dependents.setdefault(ref.get("uid", ""), []).append((gr, obj, ref))
        for gr, obj in list(by_uid.values()):
            self._collect_dependent(gr, obj, by_uid)
        for gr, owner in list(by_uid.values()):
            meta = owner["metadata"]
            if not meta.get("deletionTimestamp"):
                continue
            finalizers = meta.get("finalizers") or []
            if FOREGROUND_FINALIZER in finalizers:
                self._foreground(gr, owner, dependents.get(meta["uid"], []))
            if ORPHAN_FINALIZER in finalizers:
                self._orphan(gr, owner, dependents.get(meta["uid"], []))

    def _collect_dependent(
        self,
        gr: tuple[str, str],
        obj: dict[str, Any],
        by_uid: dict[str, tuple[tuple[str, str], dict[str, Any]]],
    ) -> None:
        meta = obj["metadata"]
        refs = meta.get("ownerReferences") or []
        if not refs or meta.get("deletionTimestamp"):
            return
        live = [r for r in refs if r.get("uid") in by_uid and self._owner_visible(obj, by_uid[r["uid"]][1])]
        if not live:
            self._delete_stored(gr, obj, "Background")
            return
        if len(live) < len(refs):
            updated = copy.deepcopy(obj)
            updated["metadata"]["ownerReferences"] = live
            self.api.system_update(gr, updated)
            return
        owners = [by_uid[r["uid"]][1] for r in live]
        if all(
            o["metadata"].get("deletionTimestamp") and FOREGROUND_FINALIZER in (o["metadata"].get("finalizers") or [])
            for o in owners
        ):
            self._delete_stored(gr, obj, "Foreground")

    @staticmethod
    def _owner_visible(dependent: dict[str, Any], owner: dict[str, Any]) -> bool:
        """A namespaced dependent can only have owners in its own namespace or cluster-scoped ones."""
        owner_ns = owner["metadata"].get("namespace", "")
        return owner_ns in ("", dependent["metadata"].get("namespace", ""))

    def _foreground(
        self,
        gr: tuple[str, str],
        owner: dict[str, Any],
        deps: list[tuple[tuple[str, str], dict[str, Any], dict[str, Any]]],
    ) -> None:
        blocking = [
            d for d in deps if d[2].get("blockOwnerDeletion") and self.api.store.get(d[0], *(_key(d[1]))) is not None
        ]
        if blocking:
            return
        self._drop_finalizer(gr, owner, FOREGROUND_FINALIZER)

    def _orphan(
        self,
        gr: tuple[str, str],
        owner: dict[str, Any],
        deps: list[tuple[tuple[str, str], dict[str, Any], dict[str, Any]]],
    ) -> None:
        uid = owner["metadata"]["uid"]
        for dep_gr, dep, _ in deps:
            current = self.api.store.get(dep_gr, *_key(dep))
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


def _key(obj: dict[str, Any]) -> tuple[str, str]:
    return (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
