"""Object semantics of kube-apiserver's generic registry, independent of HTTP.

:class:`ObjectAPI` implements create, get, list, update, patch, delete and deletecollection for every resource the
:class:`~smk8s.emulators.kube.registry.Registry` serves, on top of the :class:`~smk8s.emulators.kube.store.Store`:
server-set metadata, optimistic concurrency, the status subresource, generation, CRD schema pruning, defaulting and
validation, finalizers and graceful deletion, dry run and field validation. The HTTP layer parses requests into
calls here and renders the results; the in-server controllers (garbage collector, namespace and CRD lifecycle)
call it too, as the system user.

Everything here is synchronous, so each call is atomic on the event loop.
"""

from __future__ import annotations

import base64
import copy
import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import yaml

from smk8s.emulators.kube import apply as ssa
from smk8s.emulators.kube import builtin_schema, cel, conversion, decoding, errors, patch, schema, validation
from smk8s.emulators.kube.registry import Registry
from smk8s.emulators.kube.resources import ResourceType
from smk8s.emulators.kube.selectors import FieldSelector, LabelSelector, check_field_labels, object_fields
from smk8s.emulators.kube.store import Store
from smk8s.emulators.kube.strategies import strategy_for

NAMESPACES = ("", "namespaces")
SECRETS = ("", "secrets")
CRDS = ("apiextensions.k8s.io", "customresourcedefinitions")
DEPLOYMENTS = ("apps", "deployments")
# NamespaceLifecycle admission's immortalNamespaces (k8s.io/apiserver/pkg/admission/plugin/namespace/lifecycle).
IMMORTAL_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})
CRD_CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"
FOREGROUND_FINALIZER = "foregroundDeletion"
ORPHAN_FINALIZER = "orphan"

PATCH_JSON = "application/json-patch+json"
PATCH_MERGE = "application/merge-patch+json"
PATCH_STRATEGIC = "application/strategic-merge-patch+json"
PATCH_APPLY = "application/apply-patch+yaml"
PATCH_APPLY_CBOR = "application/apply-patch+cbor"

# Fields of ObjectMeta only the server sets; a client's values are ignored on create and kept from the old
# object on update.
_SERVER_SET_ON_CREATE = (
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "selfLink",
    "resourceVersion",
)
_IMMUTABLE_ON_UPDATE = (
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "selfLink",
    "name",
    "namespace",
)
_OBJECT_META_FIELDS = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    }
)


def rfc3339(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class WriteContext:
    """Who writes and how: the request's user, field manager, dry run and field validation directive."""

    username: str = "system:admin"
    field_manager: str = ""
    user_agent: str = ""
    dry_run: bool = False
    field_validation: str = "Warn"  # Strict | Warn | Ignore
    warnings: list[str] = field(default_factory=list)
    # Duplicate keys of the request body (set by whoever decoded it), reported with the unknown fields.
    duplicates: decoding.Duplicates = decoding.NONE

    @property
    def manager(self) -> str:
        return self.field_manager or ssa.default_manager_name(self.user_agent)


@dataclass
class ListOptions:
    label_selector: str = ""
    field_selector: str = ""
    resource_version: str = ""
    resource_version_match: str = ""
    limit: int = 0
    continue_token: str = ""


@dataclass
class DeleteOptions:
    propagation_policy: str = ""
    grace_period_seconds: int | None = None
    precondition_uid: str = ""
    precondition_resource_version: str = ""
    dry_run: bool = False

    @classmethod
    def from_body(cls, body: dict[str, Any] | None, query: dict[str, str]) -> DeleteOptions:
        body = body or {}
        pre = body.get("preconditions") or {}
        policy = body.get("propagationPolicy") or query.get("propagationPolicy", "")
        if not policy and body.get("orphanDependents") is not None:
            policy = "Orphan" if body["orphanDependents"] else "Background"
        if not policy and query.get("orphanDependents"):
            policy = "Orphan" if query["orphanDependents"] == "true" else "Background"
        grace = body.get("gracePeriodSeconds", query.get("gracePeriodSeconds"))
        dry = body.get("dryRun") or ([query["dryRun"]] if "dryRun" in query else [])
        if policy and policy not in ("Orphan", "Foreground", "Background"):
            raise errors.invalid(
                "",
                "DeleteOptions",
                "",
                [
                    errors.Cause(
                        errors.FIELD_NOT_SUPPORTED,
                        f'Unsupported value: "{policy}": supported values: "Foreground", "Background", "Orphan"',
                        "propagationPolicy",
                    )
                ],
            )
        return cls(
            propagation_policy=policy,
            grace_period_seconds=int(grace) if grace is not None else None,
            precondition_uid=pre.get("uid") or "",
            precondition_resource_version=pre.get("resourceVersion") or "",
            dry_run=_dry_run(dry),
        )


def _dry_run(values: list[str] | str | None) -> bool:
    if not values:
        return False
    vals = [values] if isinstance(values, str) else list(values)
    for v in vals:
        if v != "All":
            raise errors.bad_request(f'unsupported dry run option "{v}", only "All" is supported')
    return True


def dry_run_from_query(value: str | None) -> bool:
    return _dry_run(value)


class ObjectAPI:
    """The generic registry: see the module docstring. ``clock`` returns the current time (UTC)."""

    def __init__(
        self,
        store: Store,
        registry: Registry,
        clock: Callable[[], datetime] | None = None,
        rand: random.Random | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.clock = clock or (lambda: datetime.now(UTC))
        self.rand = rand or random.Random()
        # Compiled CEL rules per schema object; the schema is kept as the key's owner so ids are never reused.
        self._rule_sets: dict[int, tuple[dict[str, Any], cel.RuleSet]] = {}

    # -- reads -----------------------------------------------------------------------------------------------

    def get(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        obj = self.store.get(rt.storage, namespace if rt.namespaced else "", name)
        if obj is None:
            raise errors.not_found(rt.group, rt.plural, name)
        return self.present(rt, obj)

    def present(self, rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        """The stored object as served through ``rt``'s version (CRD conversion ``None`` only changes apiVersion;
        a resource stored as another API group's is converted, :mod:`.conversion`)."""
        if rt.stored_as is not None:
            return conversion.from_storage(rt.group, rt.version, rt.kind, obj)
        if obj.get("apiVersion") == rt.api_version:
            return obj
        return {**obj, "apiVersion": rt.api_version}

    @staticmethod
    def _to_storage(rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        """An object in ``rt``'s form as it is stored (the inverse of :meth:`present`)."""
        return obj if rt.stored_as is None else conversion.to_storage(rt.group, obj)

    def list_collection(self, rt: ResourceType, namespace: str | None, opts: ListOptions) -> dict[str, Any]:
        labels = LabelSelector.parse(opts.label_selector)
        fields = FieldSelector.parse(opts.field_selector)
        check_field_labels(fields, rt)
        ns = namespace if rt.namespaced else None
        revision, items, start = self._list_source(rt, ns, opts)
        matched = [
            o
            for o in items
            if labels.matches(o["metadata"].get("labels") or {})
            and fields.matches(object_fields(self.present(rt, o), rt.namespaced, rt.selectable_fields))
        ]
        meta: dict[str, Any] = {"resourceVersion": str(revision)}
        if start:
            matched = [o for o in matched if _key_str(o) > start]
        if opts.limit and len(matched) > opts.limit:
            page = matched[: opts.limit]
            meta["continue"] = _encode_continue(revision, _key_str(page[-1]))
            if labels.empty and fields.empty:
                meta["remainingItemCount"] = len(matched) - opts.limit
            matched = page
        return {
            "kind": rt.list_kind,
            "apiVersion": rt.api_version,
            "metadata": meta,
            "items": [self.present(rt, o) for o in matched],
        }

    def _list_source(
        self, rt: ResourceType, namespace: str | None, opts: ListOptions
    ) -> tuple[int, list[dict[str, Any]], str]:
        """(revision, objects, start key) the list reads from, per resourceVersion/resourceVersionMatch rules."""
        gr = rt.storage
        if opts.continue_token:
            if opts.resource_version not in ("", "0") or opts.resource_version_match:
                raise errors.bad_request("specifying resource version is not allowed when using continue")
            revision, start = _decode_continue(opts.continue_token)
            if revision == -1:  # the token a 410 hands out: continue (inconsistently) at the latest revision
                return self.store.revision, self.store.objects(gr, namespace), start
            if revision < self.store.oldest_revision:
                raise errors.APIError(
                    410,
                    "Expired",
                    "The provided continue parameter is too old to display a consistent list result. You can "
                    "start a new list without the continue parameter, or use the continue token in this "
                    "response to retrieve the remainder of the results. Continuing with the provided token "
                    "results in an inconsistent list - objects that were created, modified, or deleted "
                    "between the time the first chunk was returned and now may show up in the list.",
                    continue_token=_encode_continue(-1, start),
                )
            return revision, self.store.snapshot(gr, revision, namespace), start
        # Option combinations were validated by the caller (server.validate_list_query, as ValidateListOptions).
        match = opts.resource_version_match
        rv = _parse_rv(opts.resource_version) if opts.resource_version else None
        exact = match == "Exact" or (rv not in (None, 0) and not match and opts.limit > 0)
        if rv is not None and rv > self.store.revision:
            raise errors.too_large_resource_version(rv, self.store.revision)
        if exact and rv is not None:
            return rv, self.store.snapshot(gr, rv, namespace), ""
        return self.store.revision, self.store.objects(gr, namespace), ""

    # -- create ----------------------------------------------------------------------------------------------

    def create(
        self,
        rt: ResourceType,
        namespace: str,
        body: Any,
        ctx: WriteContext,
        *,
        managed: bool = True,
        reject_resource_version: bool = False,
    ) -> dict[str, Any]:
        """Create; ``reject_resource_version`` for a POST, whose object may not carry a resourceVersion."""
        obj = self._decode(rt, body)
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise errors.bad_request("metadata must be an object")
        client_rv = str(meta.get("resourceVersion") or "")
        validation.apply_request_namespace(obj, namespace, namespaced=rt.namespaced)
        if rt.namespaced:
            self._require_namespace_open(meta["namespace"])
        if self._crd_terminating(rt):
            raise errors.method_not_allowed("create not allowed while custom resource definition is terminating")
        for key in _SERVER_SET_ON_CREATE:
            meta.pop(key, None)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = self._generate_name(rt, namespace, meta["generateName"])
        strategy = strategy_for(rt)
        meta["uid"] = str(uuid.UUID(int=self.rand.getrandbits(128), version=4))
        meta["creationTimestamp"] = rfc3339(self.clock())
        if strategy.tracks_generation:
            meta["generation"] = 1
        self._prepare_for_create(rt, obj)
        self._admit(rt, obj, None, ctx, subresource="")
        if reject_resource_version and not ctx.dry_run and client_rv.isdigit() and int(client_rv) != 0:
            # etcd3 store.Create returns storage.ErrResourceVersionSetOnCreate, a plain error: 500, reason unknown.
            # (A value that does not parse as a revision slips through, as upstream; dry run never checks.)
            raise errors.APIError(500, "", "resourceVersion should not be set on objects to be created")
        if self.store.get(rt.storage, meta.get("namespace", ""), meta["name"]) is not None:
            raise errors.already_exists(rt.group, rt.plural, meta["name"])
        if managed:
            ssa.record_update(
                None,
                obj,
                ctx.manager,
                rt.api_version,
                rfc3339(self.clock()),
                schema=rt.schema,
                ignored_fields=_ignored_fields(rt, ""),
            )
        if ctx.dry_run:
            return obj
        stored = self.store.put(rt.storage, self._to_storage(rt, obj))
        return self.present(rt, stored)

    def _generate_name(self, rt: ResourceType, namespace: str, prefix: str) -> str:
        for _ in range(8):
            name = validation.generate_name(prefix, self.rand)
            if self.store.get(rt.storage, namespace if rt.namespaced else "", name) is None:
                return name
        return validation.generate_name(prefix, self.rand)

    def _require_namespace_open(self, namespace: str) -> None:
        ns = self.store.get(NAMESPACES, "", namespace)
        if ns is None:
            raise errors.not_found("", "namespaces", namespace)
        if ns["metadata"].get("deletionTimestamp"):
            raise errors.APIError(
                403,
                "Forbidden",
                f"unable to create new content in namespace {namespace} because it is being terminated",
                causes=[
                    errors.Cause(
                        "NamespaceTerminating",
                        f"namespace {namespace} is being terminated",
                        "metadata.namespace",
                    )
                ],
            )

    def _crd_terminating(self, rt: ResourceType) -> bool:
        if not rt.is_custom:
            return False
        crd = self.store.get(CRDS, "", rt.qualified)
        return crd is None or bool(crd["metadata"].get("deletionTimestamp"))

    def _prepare_for_create(self, rt: ResourceType, obj: dict[str, Any]) -> None:
        if rt.has_status and rt.group_resource not in (NAMESPACES,):
            # The status subresource makes status read-only through the main endpoint, creation included.
            obj.pop("status", None)
        if rt.group_resource == NAMESPACES:
            obj.setdefault("spec", {})["finalizers"] = ["kubernetes"]
            obj["status"] = {"phase": "Active"}
            labels = obj["metadata"].setdefault("labels", {})
            labels["kubernetes.io/metadata.name"] = obj["metadata"].get("name", "")
        if rt.group_resource == CRDS:
            # CustomResourceDefinitionNames.plural/kind are not omitempty: a fresh CRD shows them empty.
            obj["status"] = {
                "acceptedNames": {"plural": "", "kind": ""},
                "storedVersions": [v["name"] for v in obj.get("spec", {}).get("versions", []) if v.get("storage")],
            }

    # -- update ----------------------------------------------------------------------------------------------

    def update(
        self, rt: ResourceType, namespace: str, name: str, body: Any, ctx: WriteContext, subresource: str = ""
    ) -> tuple[dict[str, Any], bool]:
        """PUT; returns (object, created)."""
        new = self._decode(rt, body)
        meta = new.setdefault("metadata", {})
        if meta.get("name") and meta["name"] != name:
            raise errors.bad_request(
                f"the name of the object ({meta['name']}) does not match the name on the URL ({name})"
            )
        meta["name"] = name
        if rt.namespaced and meta.get("namespace") and meta["namespace"] != namespace:
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        ns = namespace if rt.namespaced else ""
        old = self.store.get(rt.storage, ns, name)
        strategy = strategy_for(rt)
        if old is None:
            if strategy.allow_create_on_update and not subresource:
                return self.create(rt, namespace, new, ctx), True
            raise errors.not_found(rt.group, rt.plural, name)
        uid = meta.get("uid")
        if uid and uid != old["metadata"].get("uid"):
            # rest.DefaultUpdatedObjectInfo makes a PUT's metadata.uid a storage precondition, checked first.
            raise _precondition_failed(
                rt, ns, name, f"UID in precondition: {uid}, UID in object meta: {old['metadata'].get('uid')}"
            )
        rv = meta.get("resourceVersion")
        if not rv:
            if not strategy.allow_unconditional_update:
                raise errors.invalid(
                    rt.group,
                    rt.kind,
                    name,
                    [
                        errors.Cause(
                            errors.FIELD_INVALID,
                            "Invalid value: 0: must be specified for an update",
                            "metadata.resourceVersion",
                        )
                    ],
                )
        elif rv != old["metadata"]["resourceVersion"]:
            raise errors.stale_resource_version(rt.group, rt.plural, name)
        merged = self._merge_for_subresource(rt, old, new, subresource)
        return self._write_update(rt, old, merged, ctx, subresource), False

    def _merge_for_subresource(
        self, rt: ResourceType, old: dict[str, Any], new: dict[str, Any], subresource: str
    ) -> dict[str, Any]:
        """Apply the status subresource's split: the main endpoint ignores status, /status ignores the rest."""
        if subresource == "status":
            merged = copy.deepcopy(old)
            if "status" in new:
                merged["status"] = new["status"]
            else:
                merged.pop("status", None)
            if "managedFields" in new.get("metadata", {}):
                merged["metadata"]["managedFields"] = new["metadata"]["managedFields"]
            return merged
        if subresource:
            raise errors.APIError(404, "NotFound", "the server could not find the requested resource")
        if rt.has_status and rt.group_resource != NAMESPACES:
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)
        if rt.group_resource == NAMESPACES:
            new["spec"] = copy.deepcopy(old.get("spec", {}))
            new["status"] = copy.deepcopy(old.get("status", {}))
        return new

    def _write_update(
        self,
        rt: ResourceType,
        old: dict[str, Any],
        new: dict[str, Any],
        ctx: WriteContext,
        subresource: str,
        *,
        managed: bool = True,
    ) -> dict[str, Any]:
        if rt.stored_as is not None:
            old = self.present(rt, old)  # compared, admitted and recorded in the form the client wrote
        meta = new.setdefault("metadata", {})
        old_meta = old["metadata"]
        for key in _IMMUTABLE_ON_UPDATE:
            if key in old_meta:
                meta[key] = old_meta[key]
            else:
                meta.pop(key, None)
        if old_meta.get("deletionTimestamp"):
            added = set(meta.get("finalizers") or []) - set(old_meta.get("finalizers") or [])
            if added:
                raise errors.invalid(
                    rt.group,
                    rt.kind,
                    meta["name"],
                    [
                        errors.Cause(
                            errors.FIELD_FORBIDDEN,
                            # ValidateNoNewFinalizers formats the sorted set with %#v: []string{"a", "b"}.
                            "Forbidden: no new finalizers can be added if the object is being deleted, found new "
                            f"finalizers []string{{{', '.join(validation.go_quote(f) for f in sorted(added))}}}",
                            "metadata.finalizers",
                        )
                    ],
                )
        if strategy_for(rt).tracks_generation and _generation_changed(rt, old, new):
            meta["generation"] = int(old_meta.get("generation", 1)) + 1
        self._admit(rt, new, old, ctx, subresource)
        if managed:
            ssa.record_update(
                old,
                new,
                ctx.manager,
                rt.api_version,
                rfc3339(self.clock()),
                subresource,
                schema=rt.schema,
                ignored_fields=_ignored_fields(rt, subresource),
            )
        meta["resourceVersion"] = old_meta["resourceVersion"]
        if _without_volatile(new) == _without_volatile(old):
            # kube-apiserver skips no-op writes: no new resourceVersion, no watch event.
            return old if rt.stored_as is not None else self.present(rt, old)
        if ctx.dry_run:
            return new
        stored = self._to_storage(rt, new)
        if meta.get("deletionTimestamp") and not meta.get("finalizers") and not _namespace_finalizers(rt, new):
            self.store.put(rt.storage, stored)
            gone = self.store.remove(rt.storage, meta.get("namespace", ""), meta["name"])
            return self.present(rt, gone or stored)
        return self.present(rt, self.store.put(rt.storage, stored))

    # -- patch -----------------------------------------------------------------------------------------------

    def patch(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        content_type: str,
        raw: bytes,
        ctx: WriteContext,
        subresource: str = "",
        force: bool = False,
    ) -> tuple[dict[str, Any], bool]:
        """PATCH with any of the four patch types; returns (object, created) — only apply can create."""
        ns = namespace if rt.namespaced else ""
        old = self.store.get(rt.storage, ns, name)
        if content_type in (PATCH_APPLY, PATCH_APPLY_CBOR):
            return self._apply(rt, namespace, name, old, raw, ctx, subresource, force)
        if force:
            raise errors.bad_request("force is only allowed for apply patches")
        try:
            body, duplicates = decoding.loads_json(raw or b"null")
        except ValueError as exc:
            raise errors.bad_request(f"error decoding patch: {exc}") from exc
        ctx.duplicates = decoding.json_patch_duplicates(duplicates) if content_type == PATCH_JSON else duplicates
        if old is None:
            raise errors.not_found(rt.group, rt.plural, name)
        original = self.present(rt, old)
        if content_type == PATCH_JSON:
            patched = patch.apply_json_patch(original, body)
        elif content_type == PATCH_MERGE:
            if not isinstance(body, dict):
                raise errors.bad_request("json: cannot unmarshal into Go value of type map[string]interface {}")
            patched = patch.apply_merge_patch(original, body)
        elif content_type == PATCH_STRATEGIC:
            if rt.is_custom:
                raise errors.unsupported_media_type(content_type, [PATCH_JSON, PATCH_MERGE, PATCH_APPLY])
            if not isinstance(body, dict):
                raise errors.bad_request("json: cannot unmarshal into Go value of type map[string]interface {}")
            patched = patch.apply_strategic_merge_patch(original, body, rt.group, rt.kind)
        else:
            raise errors.unsupported_media_type(
                content_type,
                [PATCH_JSON, PATCH_MERGE, PATCH_APPLY] + ([] if rt.is_custom else [PATCH_STRATEGIC]),
            )
        if not isinstance(patched, dict):
            raise errors.bad_request("the patched object is not a JSON object")
        pmeta = patched.setdefault("metadata", {})
        if pmeta.get("name", name) != name:
            raise errors.bad_request(
                f"the name of the object ({pmeta.get('name')}) does not match the name on the URL ({name})"
            )
        pmeta["name"] = name
        rv = pmeta.get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise errors.stale_resource_version(rt.group, rt.plural, name)
        if pmeta.get("uid") and pmeta["uid"] != old["metadata"].get("uid"):
            # A patch carries no precondition: ValidateObjectMetaUpdate finds the uid changed.
            raise errors.invalid(
                rt.group, rt.kind, name, [validation.invalid_cause("metadata.uid", pmeta["uid"], "field is immutable")]
            )
        merged = self._merge_for_subresource(rt, old, patched, subresource)
        try:
            return self._write_update(rt, old, merged, ctx, subresource), False
        except builtin_schema.DecodingError as exc:
            raise builtin_schema.patch_error(exc, patched) from None

    def _apply(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        old: dict[str, Any] | None,
        raw: bytes,
        ctx: WriteContext,
        subresource: str,
        force: bool,
    ) -> tuple[dict[str, Any], bool]:
        if not ctx.field_manager:
            raise errors.invalid(
                "meta.k8s.io",
                "PatchOptions",
                "",
                [errors.Cause(errors.FIELD_REQUIRED, "Required value: is required for apply patch", "fieldManager")],
            )
        try:
            applied, duplicates = decoding.loads_yaml(raw or b"")
        except yaml.YAMLError as exc:
            raise errors.bad_request(f"error decoding YAML: {exc}") from exc
        if duplicates and ctx.field_validation == "Strict":
            raise decoding.apply_yaml_error(duplicates)
        if duplicates and ctx.field_validation == "Warn":
            ctx.warnings.extend(duplicates.yaml_lines)
        if not isinstance(applied, dict):
            raise errors.bad_request("the apply configuration must be an object")
        self._check_type_meta(rt, applied, required=True)
        ameta = applied.get("metadata") or {}
        if ameta.get("name", name) != name:
            raise errors.bad_request(
                f"the name of the object ({ameta.get('name')}) does not match the name on the URL ({name})"
            )
        if old is None and subresource:
            raise errors.not_found(rt.group, rt.plural, name)
        new = ssa.server_side_apply(
            None if old is None else self.present(rt, old),
            applied,
            ctx.field_manager,
            force,
            rt.schema,
            rt.api_version,
            rfc3339(self.clock()),
            subresource,
            ignored_fields=_ignored_fields(rt, subresource),
        )
        if old is None:
            new.setdefault("metadata", {})["name"] = name
            return self.create(rt, namespace, new, ctx, managed=False), True
        merged = self._merge_for_subresource(rt, old, new, subresource)
        return self._write_update(rt, old, merged, ctx, subresource, managed=False), False

    # -- delete ----------------------------------------------------------------------------------------------

    def delete(self, rt: ResourceType, namespace: str, name: str, opts: DeleteOptions) -> tuple[dict[str, Any], bool]:
        """DELETE; returns (object, deleted_now). Not deleted now means finalizers hold it (HTTP 202)."""
        if rt.group_resource == NAMESPACES and name in IMMORTAL_NAMESPACES:
            # NamespaceLifecycle's Admit runs before the registry looks the object up (handlers/delete.go).
            raise errors.forbidden("", "namespaces", name, f'namespaces "{name}" is forbidden: this namespace may '
                                                           "not be deleted")
        ns = namespace if rt.namespaced else ""
        old = self.store.get(rt.storage, ns, name)
        if old is None:
            raise errors.not_found(rt.group, rt.plural, name)
        meta = old["metadata"]
        if opts.precondition_uid and opts.precondition_uid != meta.get("uid"):
            raise _precondition_failed(
                rt,
                ns,
                name,
                f"UID in precondition: {opts.precondition_uid}, UID in object meta: {meta.get('uid')}",
            )
        if opts.precondition_resource_version and opts.precondition_resource_version != meta["resourceVersion"]:
            raise _precondition_failed(
                rt,
                ns,
                name,
                f"ResourceVersion in precondition: {opts.precondition_resource_version}, "
                f"ResourceVersion in object meta: {meta['resourceVersion']}",
            )
        finalizers = list(meta.get("finalizers") or [])
        policy = opts.propagation_policy or "Background"
        if policy == "Foreground" and FOREGROUND_FINALIZER not in finalizers:
            finalizers.append(FOREGROUND_FINALIZER)
        if policy == "Orphan" and ORPHAN_FINALIZER not in finalizers:
            finalizers.append(ORPHAN_FINALIZER)
        if rt.group_resource == CRDS and CRD_CLEANUP_FINALIZER not in finalizers:
            finalizers.append(CRD_CLEANUP_FINALIZER)
        if meta.get("deletionTimestamp"):
            if finalizers == list(meta.get("finalizers") or []) or opts.dry_run:
                return self.present(rt, old), False
            updated = copy.deepcopy(old)
            updated["metadata"]["finalizers"] = finalizers
            return self.present(rt, self.store.put(rt.storage, updated)), False
        if finalizers or _namespace_finalizers(rt, old):
            updated = copy.deepcopy(old)
            umeta = updated["metadata"]
            umeta["deletionTimestamp"] = rfc3339(self.clock())
            umeta["deletionGracePeriodSeconds"] = 0
            if finalizers:
                umeta["finalizers"] = finalizers
            if rt.group_resource == NAMESPACES:
                updated["status"] = {**updated.get("status", {}), "phase": "Terminating"}
            if rt.group_resource == CRDS:
                _set_condition(
                    updated,
                    "Terminating",
                    "True",
                    "InstanceDeletionPending",
                    "CustomResourceDefinition marked for deletion; instance deletion pending",
                    rfc3339(self.clock()),
                )
            if opts.dry_run:
                return self.present(rt, updated), False
            return self.present(rt, self.store.put(rt.storage, updated)), False
        if opts.dry_run:
            return self.present(rt, old), True
        gone = self.store.remove(rt.storage, ns, name)
        assert gone is not None
        return self.present(rt, gone), True

    def delete_collection(
        self, rt: ResourceType, namespace: str | None, list_opts: ListOptions, opts: DeleteOptions
    ) -> dict[str, Any]:
        listed = self.list_collection(rt, namespace, ListOptions(list_opts.label_selector, list_opts.field_selector))
        deleted = []
        for item in listed["items"]:
            meta = item["metadata"]
            try:
                obj, _ = self.delete(rt, meta.get("namespace", ""), meta["name"], opts)
            except errors.APIError as exc:
                if exc.code == 404:
                    continue
                raise
            deleted.append(obj)
        return {**listed, "items": deleted}

    # -- system writes (in-server controllers) ---------------------------------------------------------------

    def system_update(self, group_resource: tuple[str, str], obj: dict[str, Any]) -> None:
        """Store a controller's change (finalizer removal, status) without admission; deletes once released."""
        meta = obj["metadata"]
        if (
            meta.get("deletionTimestamp")
            and not meta.get("finalizers")
            and not (group_resource == NAMESPACES and (obj.get("spec") or {}).get("finalizers"))
        ):
            self.store.put(group_resource, obj)
            self.store.remove(group_resource, meta.get("namespace", ""), meta["name"])
            return
        self.store.put(group_resource, obj)

    # -- admission: decoding, pruning, defaulting, validation ------------------------------------------------

    def _decode(self, rt: ResourceType, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request must be a JSON object")
        obj = copy.deepcopy(body)
        self._check_type_meta(rt, obj, required=False)
        obj["apiVersion"] = rt.api_version
        obj["kind"] = rt.kind
        return obj

    @staticmethod
    def _check_type_meta(rt: ResourceType, obj: dict[str, Any], *, required: bool) -> None:
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if required and (not api_version or not kind):
            raise errors.bad_request(
                "Object 'Kind' is missing in the apply configuration"
                if not kind
                else "Object 'apiVersion' is missing in the apply configuration"
            )
        if api_version and api_version != rt.api_version:
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version "
                f"({rt.api_version})"
            )
        if kind and kind != rt.kind:
            raise errors.bad_request(f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})")

    def _admit(
        self,
        rt: ResourceType,
        obj: dict[str, Any],
        old: dict[str, Any] | None,
        ctx: WriteContext,
        subresource: str,
    ) -> None:
        """Normalize and validate an object about to be written; raises 400/422 as kube-apiserver does."""
        meta = obj["metadata"]
        decoded_unknown: list[str] = []
        if not rt.is_custom:
            # Built-ins decode into Go structs: a wrong JSON type fails whatever fieldValidation says; unknown
            # fields (metadata's too, in document order) are dropped and reported below.
            type_errors = builtin_schema.decode_errors(obj, rt)
            if type_errors:
                raise builtin_schema.DecodingError(rt, type_errors[0])
            decoded_unknown = builtin_schema.unknown_fields(obj, rt)
        if rt.group_resource == SECRETS:
            _fold_string_data(obj)
        unknown_meta = sorted(k for k in meta if k not in _OBJECT_META_FIELDS)
        for key in unknown_meta:
            del meta[key]
        unknown = decoded_unknown + [f"metadata.{k}" for k in unknown_meta]
        causes: list[errors.Cause] = []
        if rt.schema is not None and rt.is_custom:
            if not rt.preserve_unknown_fields:
                unknown += schema.prune(obj, rt.schema)
            schema.apply_defaults(obj, rt.schema)
            causes += schema.validate(obj, rt.schema, old_obj=old)
            if not causes:
                causes += self._rules(rt.schema).check(obj, old)
        self._report_unknown_fields(unknown, ctx, rt)
        policy = validation.meta_policy_for(rt.group, rt.plural, is_custom=rt.is_custom)
        if policy is not None:
            causes += validation.validate_object_meta(
                obj,
                namespaced=rt.namespaced,
                name_rule=policy.name_rule,
                is_create=old is None,
                old=old,
                revalidate_on_update=policy.revalidate_on_update,
            )
        if rt.group_resource == CRDS:
            _default_crd(obj)
            causes += self._validate_crd(obj, old)
        ctx.warnings.extend(validation.finalizer_warnings(obj))
        if causes:
            raise errors.invalid(rt.group, rt.kind, meta.get("name", ""), causes)

    def _report_unknown_fields(self, unknown: list[str], ctx: WriteContext, rt: ResourceType) -> None:
        """fieldValidation of the body's unknown fields and duplicate keys (:func:`decoding.strict_problems`)."""
        if not unknown and not ctx.duplicates:
            return
        warnings, strict_detail = decoding.strict_problems(ctx.duplicates, unknown, typed=not rt.is_custom)
        if ctx.field_validation == "Strict":
            # Built-ins and custom resources alike: transformDecodeError's "<Kind> in version ..." prefix
            # (e.g. kubeplus issue 1381: 'HelloWorldService in version "v1alpha1" cannot be handled as a ...').
            raise builtin_schema.DecodingError(rt, strict_detail)
        if ctx.field_validation == "Warn":
            ctx.warnings.extend(warnings)

    def _validate_crd(self, crd: dict[str, Any], old: dict[str, Any] | None) -> list[errors.Cause]:
        causes = validation.validate_crd(crd, old) + validation.schemas_required(crd, old)
        for i, version in enumerate(crd.get("spec", {}).get("versions") or []):
            s = (version.get("schema") or {}).get("openAPIV3Schema")
            if s is None:
                continue
            path = validation.crd_schema_path(crd, i)
            schema_causes = schema.validate_crd_schema(s, path)
            # As upstream, CEL rules are compiled only once the schema itself is valid.
            causes += schema_causes or cel.RuleSet(s).compile_errors(path)
        return causes

    def _rules(self, schema_obj: dict[str, Any]) -> cel.RuleSet:
        hit = self._rule_sets.get(id(schema_obj))
        if hit is None or hit[0] is not schema_obj:
            hit = (schema_obj, cel.RuleSet(schema_obj))
            self._rule_sets[id(schema_obj)] = hit
        return hit[1]


def _ignored_fields(rt: ResourceType, subresource: str) -> tuple[str, ...]:
    """What a write through this endpoint cannot change, so managers never own it there (status split)."""
    if not rt.has_status:
        return ()
    return ("spec",) if subresource == "status" else ("status",)


def _default_crd(crd: dict[str, Any]) -> None:
    """apiextensions/v1 defaulting: names.singular, names.listKind and conversion.strategy."""
    spec = crd.setdefault("spec", {})
    names = spec.setdefault("names", {})
    if names.get("kind"):
        names.setdefault("singular", names["kind"].lower())
        names.setdefault("listKind", names["kind"] + "List")
    spec.setdefault("conversion", {"strategy": "None"})


def _set_condition(obj: dict[str, Any], ctype: str, status: str, reason: str, message: str, now: str) -> None:
    conds = obj.setdefault("status", {}).setdefault("conditions", [])
    for c in conds:
        if c["type"] == ctype:
            if c["status"] != status:
                c["lastTransitionTime"] = now
            c.update(status=status, reason=reason, message=message)
            return
    conds.append({"type": ctype, "status": status, "reason": reason, "message": message, "lastTransitionTime": now})


def set_condition(obj: dict[str, Any], ctype: str, status: str, reason: str, message: str, now: str) -> None:
    """Set a status condition the Kubernetes way (lastTransitionTime only moves when the status flips)."""
    _set_condition(obj, ctype, status, reason, message, now)


def _precondition_failed(rt: ResourceType, namespace: str, name: str, detail: str) -> errors.APIError:
    """409 as InterpretDeleteError/InterpretUpdateError make it of the etcd3 store's invalid-object StorageError,
    whose text names the etcd key (``/registry/<resource>/...`` for built-ins, ``/registry/<group>/<resource>/...``
    for custom resources and CRDs)."""
    prefix = f"{rt.group}/{rt.plural}" if rt.is_custom or rt.group_resource == CRDS else rt.plural
    key = "/".join(p for p in ("/registry", prefix, namespace, name) if p)
    return errors.conflict(
        rt.group,
        rt.plural,
        name,
        f"StorageError: invalid object, Code: 4, Key: {key}, ResourceVersion: 0, AdditionalErrorMsg: "
        f"Precondition failed: {detail}",
    )


def _fold_string_data(secret: dict[str, Any]) -> None:
    """core/v1 Secret conversion and defaulting: ``stringData`` overwrites ``data`` keys (base64 on the wire) and
    is never stored or returned; ``type`` defaults to ``Opaque``."""
    string_data = secret.pop("stringData", None)
    if isinstance(string_data, dict) and string_data:
        data = secret.get("data")
        if not isinstance(data, dict):
            data = {}
        secret["data"] = {
            **data,
            **{k: base64.b64encode(str(v).encode()).decode() for k, v in string_data.items()},
        }
    secret.setdefault("type", "Opaque")


def _namespace_finalizers(rt: ResourceType, obj: dict[str, Any]) -> bool:
    return rt.group_resource == NAMESPACES and bool((obj.get("spec") or {}).get("finalizers"))


def _generation_changed(rt: ResourceType, old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether an update bumps metadata.generation, per the resource's strategy's PrepareForUpdate.

    Custom resources (apiextensions-apiserver customResourceStrategy.PrepareForUpdate): with the status
    subresource, anything but metadata and status; without it, anything but metadata — a change to ``status`` is
    then an ordinary change and bumps the generation. CRDs: the spec (their status is a subresource).
    apps/v1 Deployments (pkg/registry/apps/deployment/strategy.go): the spec or ``metadata.annotations``, which
    the deployment controller copies to ReplicaSets.
    """
    ignored = {"metadata", "apiVersion", "kind"}
    if rt.has_status or not rt.is_custom:
        ignored.add("status")
    keys = (set(old) | set(new)) - ignored
    if any(old.get(k) != new.get(k) for k in keys):
        return True
    if rt.group_resource == DEPLOYMENTS:
        return (old["metadata"].get("annotations") or {}) != (new["metadata"].get("annotations") or {})
    return False


def _without_volatile(obj: dict[str, Any]) -> dict[str, Any]:
    meta = {k: v for k, v in obj.get("metadata", {}).items() if k not in ("resourceVersion", "managedFields")}
    return {**{k: v for k, v in obj.items() if k not in ("metadata", "apiVersion")}, "metadata": meta}


def _key_str(obj: dict[str, Any]) -> str:
    meta = obj["metadata"]
    return f"{meta.get('namespace', '')}/{meta['name']}"


def _parse_rv(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise errors.bad_request(f"invalid resource version: {text}") from None
    if value < 0:
        raise errors.bad_request(f"invalid resource version: {text}")
    return value


def _encode_continue(revision: int, start: str) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": revision, "start": start + "\x00"}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_continue(token: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        return int(data["rv"]), str(data["start"]).rstrip("\x00")
    except (ValueError, KeyError, TypeError):
        raise errors.bad_request("continue key is not valid: incorrect encoded start resourceVersion") from None
