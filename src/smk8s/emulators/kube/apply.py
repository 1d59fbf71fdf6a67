"""Server-side apply and ``metadata.managedFields``, modelled on sigs.k8s.io/structured-merge-diff (SMD) and
k8s.io/apimachinery/pkg/util/managedfields/internal (the apiserver's field manager).

Field sets are sets of paths; a path is a tuple of ``FieldsV1`` path elements: ``f:<field>``,
``k:<json object of the list-map keys>``, ``v:<json scalar>`` (set items) or ``i:<index>``.
:func:`fields_to_set` and :func:`set_to_fields` convert to and from the wire form, where a node that is itself
a member and has children carries ``".": {}``.

* :func:`server_side_apply` -- an ``application/apply-patch+yaml`` request (SMD ``Updater.Apply``): merge the
  applied configuration into the live object, take ownership of its fields, report conflicts (409) or force
  them, and remove fields the manager applied before and no longer applies unless another manager owns them.
* :func:`record_update` -- any other write (SMD ``Updater.Update``): the fields it changed move to its
  manager.
* :func:`default_manager_name` -- the manager of a request without ``fieldManager``.

List semantics come from the CRD schema (``x-kubernetes-list-type``/``-list-map-keys``/``-map-type``; lists
are atomic unless marked ``set`` or ``map``) or, for built-ins, from :data:`patch.BUILTIN_FIELD_META`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from smk8s.emulators.kube.errors import APIError, Cause, bad_request
from smk8s.emulators.kube.patch import field_meta

Path = tuple[str, ...]

FIELDS_TYPE = "FieldsV1"
CONFLICT_CAUSE = "FieldManagerConflict"
BEFORE_FIRST_APPLY_MANAGER = "before-first-apply"
ANCIENT_CHANGES_MANAGER = "ancient-changes"
MAX_UPDATE_MANAGERS = 10
FIELD_MANAGER_MAX_LENGTH = 128

# internal/stripmeta.go: server-managed fields nobody owns (exact paths: children stay owned).
_STRIPPED: frozenset[Path] = frozenset(
    [("f:apiVersion",), ("f:kind",), ("f:metadata",)]
    + [("f:metadata", f"f:{name}") for name in (
        "name", "namespace", "creationTimestamp", "selfLink", "uid", "clusterName", "generation",
        "managedFields", "resourceVersion",
    )]
)


class _Missing:
    """Marks an absent value (distinct from JSON ``null``)."""


_MISSING: Any = _Missing()


# ----------------------------------------------------------------------------------------------------
# FieldsV1 wire format
# ----------------------------------------------------------------------------------------------------


def fields_to_set(fields: Mapping[str, Any]) -> set[Path]:
    """The member paths of a ``fieldsV1`` object."""
    out: set[Path] = set()

    def walk(node: Mapping[str, Any], prefix: Path) -> None:
        for key, child in node.items():
            if key == ".":
                out.add(prefix)
            elif isinstance(child, Mapping) and child:
                walk(child, (*prefix, key))
            else:
                out.add((*prefix, key))

    walk(fields, ())
    return out


def set_to_fields(paths: Iterable[Path]) -> dict[str, Any]:
    """The ``fieldsV1`` object of a set of paths (keys sorted as SMD serializes them, ``.`` first)."""
    root: dict[str, Any] = {}
    members: set[Path] = set()
    for path in paths:
        if not path:
            continue
        members.add(path)
        node = root
        for element in path:
            node = node.setdefault(element, {})
    def finish(node: dict[str, Any], prefix: Path) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if prefix in members and node:
            out["."] = {}
        for key in sorted(node, key=_element_sort_key):
            out[key] = finish(node[key], (*prefix, key))
        return out

    return finish(root, ())


def _element_sort_key(element: str) -> tuple[int, str]:
    """SMD ``PathElement`` order: field names, then keys, then values, then indexes."""
    return ({"f": 0, "k": 1, "v": 2, "i": 3}.get(element[:1], 4), element[2:])


def _go_value(value: Any) -> str:
    """SMD ``value.ToString``: strings quoted, other scalars bare, composites as JSON."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return _json(value)


def path_string(path: Path) -> str:
    """SMD ``Path.String``: ``.spec.ports[name="http",protocol="TCP"].port``, set items as ``[="value"]``."""
    parts = []
    for element in path:
        kind, body = element[:1], element[2:]
        if kind == "f":
            parts.append("." + body)
        elif kind == "k":
            keys = json.loads(body)
            parts.append("[" + ",".join(f"{k}={_go_value(keys[k])}" for k in sorted(keys)) + "]")
        elif kind == "v":
            parts.append(f"[={_go_value(json.loads(body))}]")
        else:
            parts.append(f"[{body}]")
    return "".join(parts)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# ----------------------------------------------------------------------------------------------------
# Schema views: what SMD's typed schema says at one point of an object
# ----------------------------------------------------------------------------------------------------


class _Type:
    """A deduced (untyped) value: maps are granular with undeclared keys, lists are atomic."""

    map_atomic = False

    def field(self, name: str) -> tuple[_Type, bool]:
        """The type of map key ``name`` and whether it is a declared struct field (not a map entry)."""
        return _DEDUCED, False

    def list_kind(self) -> tuple[str, tuple[str, ...]]:
        """``atomic``, ``set`` or ``map`` with the map keys."""
        return "atomic", ()

    def item(self) -> _Type:
        return _DEDUCED


_DEDUCED = _Type()


class _AtomicStruct(_Type):
    """A ``+structType=atomic`` value, owned as a whole."""

    map_atomic = True


class _SchemaType(_Type):
    """A node of a CRD ``openAPIV3Schema``."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self._schema = schema
        self.map_atomic = schema.get("x-kubernetes-map-type") == "atomic"

    def field(self, name: str) -> tuple[_Type, bool]:
        properties = self._schema.get("properties") or {}
        if name in properties:
            return _SchemaType(properties[name]), True
        additional = self._schema.get("additionalProperties")
        if isinstance(additional, Mapping):
            return _SchemaType(additional), False
        return _DEDUCED, False  # unknown fields (preserved or to be pruned) are deduced

    def list_kind(self) -> tuple[str, tuple[str, ...]]:
        list_type = self._schema.get("x-kubernetes-list-type", "atomic")
        if list_type == "map":
            return "map", tuple(self._schema.get("x-kubernetes-list-map-keys") or ())
        return ("set", ()) if list_type == "set" else ("atomic", ())

    def item(self) -> _Type:
        items = self._schema.get("items")
        return _SchemaType(items) if isinstance(items, Mapping) else _DEDUCED


class _CustomResourceRoot(_SchemaType):
    """The root of a custom resource: ``metadata`` is ObjectMeta whatever the schema says."""

    def __init__(self, schema: Mapping[str, Any], group: str, kind: str) -> None:
        super().__init__(schema)
        self._metadata = _BuiltinType(group, kind, ("metadata",))

    def field(self, name: str) -> tuple[_Type, bool]:
        if name == "metadata":
            return self._metadata, True
        if name in ("apiVersion", "kind"):
            return _DEDUCED, True
        return super().field(name)


class _BuiltinType(_Type):
    """A field of a built-in kind, described by :func:`patch.field_meta`; every map key is a struct field
    except those of ``map[string]X`` fields."""

    def __init__(self, group: str, kind: str, path: tuple[str, ...]) -> None:
        self._group, self._kind, self._path = group, kind, path
        self._meta = field_meta(group, kind, path)

    def field(self, name: str) -> tuple[_Type, bool]:
        return _BuiltinType(self._group, self._kind, (*self._path, name)), not self._meta.map_valued

    def list_kind(self) -> tuple[str, tuple[str, ...]]:
        return self._meta.list_type, self._meta.list_map_keys

    def item(self) -> _Type:
        return _AtomicStruct() if self._meta.atomic_items else self


def _root_type(schema: Mapping[str, Any] | None, api_version: str, kind: str) -> _Type:
    group = api_version.rpartition("/")[0]
    if schema is None:
        return _BuiltinType(group, kind, ())
    return _CustomResourceRoot(schema, group, kind)


def _child_type(parent: _Type, element: str) -> _Type:
    return parent.field(element[2:])[0] if element.startswith("f:") else parent.item()


# ----------------------------------------------------------------------------------------------------
# Typed walks over JSON values (SMD typed/tofieldset.go, compare.go, merge.go, remove.go)
# ----------------------------------------------------------------------------------------------------


class _TypedError(Exception):
    """A value that does not fit its schema (SMD ``ValidationErrors``)."""


def _item_element(item: Any, kind: str, keys: tuple[str, ...], index: int, path: Path) -> str:
    if kind == "set":
        return "v:" + _json(item)
    if not isinstance(item, dict):
        raise _TypedError(f"{path_string(path)}: element {index}: expected map, got {_json(item)}")
    for key in keys:
        if key not in item:
            raise _TypedError(
                f"{path_string(path)}: element {index}: associative list with keys has an element that omits "
                f'key field "{key}" (and doesn\'t have default value)'
            )
    return "k:" + _json({key: item[key] for key in keys})


def _list_items(value: list[Any], typ: _Type, path: Path, strict: bool) -> list[tuple[str, Any]]:
    """The (path element, item) pairs of a non-atomic list, first occurrence of each element only.

    ``strict`` (an applied configuration) rejects duplicates and items missing keys; otherwise such items are
    skipped (SMD ``AllowDuplicates`` for live objects).
    """
    kind, keys = typ.list_kind()
    seen: dict[str, Any] = {}
    for index, item in enumerate(value):
        try:
            element = _item_element(item, kind, keys, index, path)
        except _TypedError:
            if strict:
                raise
            continue
        if element in seen:
            if strict:
                raise _TypedError(f"{path_string(path)}: duplicate entries for key {path_string((element,))}")
            continue
        seen[element] = item
    return list(seen.items())


def _to_field_set(value: Any, typ: _Type, path: Path, out: set[Path], strict: bool) -> None:
    """SMD ``ToFieldSet``: scalars, list items and map entries (not struct fields) are members; so are empty
    maps and nulls; atomic values are members as a whole."""
    if isinstance(value, dict):
        if typ.map_atomic:
            out.add(path)
            return
        for key, child in value.items():
            child_type, declared = typ.field(key)
            child_path = (*path, f"f:{key}")
            _to_field_set(child, child_type, child_path, out, strict)
            if child is None or child == {} or not declared:
                out.add(child_path)
    elif isinstance(value, list):
        if typ.list_kind()[0] == "atomic":
            out.add(path)
            return
        for element, item in _list_items(value, typ, path, strict):
            item_path = (*path, element)
            _to_field_set(item, typ.item(), item_path, out, strict)
            out.add(item_path)
    else:
        out.add(path)


@dataclass
class _Comparison:
    added: set[Path] = field(default_factory=set)
    modified: set[Path] = field(default_factory=set)
    removed: set[Path] = field(default_factory=set)

    def without(self, ignored: tuple[str, ...]) -> _Comparison:
        return _Comparison(_filter(self.added, ignored), _filter(self.modified, ignored),
                           _filter(self.removed, ignored))


def _is_empty(value: Any) -> bool:
    return value is _MISSING or value is None or value == {} or value == []


def _compare(lhs: Any, rhs: Any, typ: _Type, path: Path, result: _Comparison) -> None:
    """SMD ``Compare``: leaves (scalars, atomic values, empty maps/lists) are added, removed or modified; any
    node present on one side only is added or removed too."""
    leaf = True
    if isinstance(lhs, dict | _Missing | None) and isinstance(rhs, dict | _Missing | None) and not (
        typ.map_atomic or (_is_empty(lhs) and _is_empty(rhs))
    ):
        leaf = False
        left = lhs if isinstance(lhs, dict) else {}
        right = rhs if isinstance(rhs, dict) else {}
        for key in {**left, **right}:
            before, after = left.get(key, _MISSING), right.get(key, _MISSING)
            _compare(before, after, typ.field(key)[0], (*path, f"f:{key}"), result)
    elif isinstance(lhs, list | _Missing | None) and isinstance(rhs, list | _Missing | None) and not (
        typ.list_kind()[0] == "atomic" or (_is_empty(lhs) and _is_empty(rhs))
    ):
        leaf = False
        left_items = dict(_list_items(lhs, typ, path, False)) if isinstance(lhs, list) else {}
        right_items = _list_items(rhs, typ, path, False) if isinstance(rhs, list) else []
        for element, item in right_items:
            _compare(left_items.get(element, _MISSING), item, typ.item(), (*path, element), result)
        right_elements = {element for element, _ in right_items}
        for element, item in left_items.items():
            if element not in right_elements:
                _compare(item, _MISSING, typ.item(), (*path, element), result)
    if lhs is _MISSING:
        result.added.add(path)
    elif rhs is _MISSING:
        result.removed.add(path)
    elif leaf and lhs != rhs:
        result.modified.add(path)


def _merge(lhs: Any, rhs: Any, typ: _Type, path: Path) -> Any:
    """SMD ``Merge`` of an applied configuration (``rhs``) into a live value (``lhs``)."""
    if rhs is _MISSING:
        return lhs
    if lhs is _MISSING:
        return copy.deepcopy(rhs)
    if isinstance(lhs, dict) and isinstance(rhs, dict) and not typ.map_atomic and (lhs or rhs):
        out: dict[str, Any] = {}
        for key in {**lhs, **rhs}:
            out[key] = _merge(lhs.get(key, _MISSING), rhs.get(key, _MISSING), typ.field(key)[0],
                              (*path, f"f:{key}"))
        return out
    if isinstance(lhs, list) and isinstance(rhs, list) and typ.list_kind()[0] != "atomic" and (lhs or rhs):
        return _merge_list_items(lhs, rhs, typ, path)
    return copy.deepcopy(rhs)


def _merge_list_items(lhs: list[Any], rhs: list[Any], typ: _Type, path: Path) -> list[Any]:
    """Merge associative/set lists keeping the applied order for applied items and live order around them
    (SMD typed/merge.go ``visitListItems``)."""
    left = _list_items(lhs, typ, path, False)
    right = _list_items(rhs, typ, path, True)
    left_map, right_map = dict(left), dict(right)
    shared = [element for element, _ in right if element in left_map]
    next_shared = 0
    merged_right: set[str] = set()
    out: list[Any] = []
    li = ri = 0
    while li < len(left) or ri < len(right):
        if li < len(left) and ri < len(right):
            element = left[li][0]
            if element == right[ri][0]:
                out.append(_merge(left_map[element], right_map[element], typ.item(), (*path, element)))
                merged_right.add(element)
                li, ri, next_shared = li + 1, ri + 1, next_shared + 1
                continue
            if element in right_map and next_shared < len(shared) and shared[next_shared] != element:
                li += 1
                continue
        if li < len(left):
            element = left[li][0]
            if element not in right_map:
                out.append(left_map[element])
                li += 1
                continue
            if element in merged_right:
                li += 1
                continue
        if ri < len(right):
            element = right[ri][0]
            merged_right.add(element)
            live_item = left_map.get(element, _MISSING)
            out.append(_merge(live_item, right_map[element], typ.item(), (*path, element)))
            ri += 1
            if next_shared < len(shared) and shared[next_shared] == element:
                next_shared += 1
    return out


def _remove(value: Any, doomed: set[Path], prefixes: set[Path], typ: _Type, path: Path) -> Any:
    """SMD ``RemoveItems``: drop the values at ``doomed`` paths (with their subtrees)."""
    if isinstance(value, dict) and not typ.map_atomic:
        out: dict[str, Any] = {}
        for key, child in value.items():
            child_path = (*path, f"f:{key}")
            if child_path in doomed:
                continue
            out[key] = _remove(child, doomed, prefixes, typ.field(key)[0], child_path) \
                if child_path in prefixes else child
        return out
    if isinstance(value, list) and typ.list_kind()[0] != "atomic":
        kind, keys = typ.list_kind()
        items = []
        for index, item in enumerate(value):
            try:
                element = _item_element(item, kind, keys, index, path)
            except _TypedError:
                items.append(item)
                continue
            item_path = (*path, element)
            if item_path in doomed:
                continue
            if item_path in prefixes:
                item = _remove(item, doomed, prefixes, typ.item(), item_path)
            items.append(item)
        return items
    return value


def _with_named_parents(paths: Iterable[Path], root: _Type) -> set[Path]:
    """SMD ``EnsureNamedFieldsAreMembers``: add every ancestor that is a declared struct field."""
    out = set(paths)
    declared_cache: dict[Path, tuple[_Type, bool]] = {(): (root, False)}

    def resolve(prefix: Path) -> tuple[_Type, bool]:
        if prefix not in declared_cache:
            parent, _ = resolve(prefix[:-1])
            element = prefix[-1]
            if element.startswith("f:"):
                declared_cache[prefix] = parent.field(element[2:])
            else:
                declared_cache[prefix] = (parent.item(), False)
        return declared_cache[prefix]

    for path in list(out):
        for end in range(1, len(path)):
            prefix = path[:end]
            if prefix not in out and resolve(prefix)[1]:
                out.add(prefix)
    return out


def _filter(paths: Iterable[Path], ignored: tuple[str, ...]) -> set[Path]:
    """Drop paths under the ignored top-level fields (the strategy's reset fields)."""
    heads = {f"f:{name}" for name in ignored}
    return {p for p in paths if not (p and p[0] in heads)}


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


# ----------------------------------------------------------------------------------------------------
# managedFields entries
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ManagerKey:
    """A manager's identity (internal/managedfields.go ``BuildManagerIdentifier``): appliers are one entry
    whatever apiVersion they apply with."""

    manager: str
    operation: str
    api_version: str
    subresource: str

    @staticmethod
    def of(manager: str, operation: str, api_version: str, subresource: str) -> _ManagerKey:
        return _ManagerKey(manager, operation, "" if operation == "Apply" else api_version, subresource)

    def identifier(self) -> str:
        """The JSON identifier upstream sorts conflicting managers by."""
        out: dict[str, str] = {"manager": self.manager, "operation": self.operation}
        if self.api_version:
            out["apiVersion"] = self.api_version
        if self.subresource:
            out["subresource"] = self.subresource
        return json.dumps(out, separators=(",", ":"), ensure_ascii=False)

    def describe(self) -> str:
        """internal/conflict.go ``printManager``."""
        text = json.dumps(self.manager, ensure_ascii=False)
        if self.subresource:
            text += f" with subresource {json.dumps(self.subresource, ensure_ascii=False)}"
        if self.operation == "Update":
            text += f" using {self.api_version}"
        return text


@dataclass
class _Entry:
    api_version: str
    fields: set[Path]
    time: str | None


_Managers = dict[_ManagerKey, _Entry]


def _decode_managed_fields(entries: Any) -> _Managers | None:
    """The managers of a ``metadata.managedFields`` list, or None when it is malformed."""
    if not isinstance(entries, list):
        return None
    managers: _Managers = {}
    for entry in entries:
        if not isinstance(entry, dict):
            return None
        operation, api_version = entry.get("operation"), entry.get("apiVersion")
        fields = entry.get("fieldsV1") or {}
        if operation not in ("Apply", "Update") or not isinstance(api_version, str) or not api_version:
            return None
        if entry.get("fieldsType") != FIELDS_TYPE or not isinstance(fields, dict):
            return None
        manager, subresource = str(entry.get("manager", "")), str(entry.get("subresource", ""))
        key = _ManagerKey.of(manager, operation, api_version, subresource)
        time = entry.get("time")
        managers[key] = _Entry(api_version, fields_to_set(fields), time if isinstance(time, str) else None)
    return managers


def _epoch_seconds(time: str | None) -> int:
    if not time:
        return 0
    try:
        return int(datetime.fromisoformat(time.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return 0


def _encode_managed_fields(managers: _Managers) -> list[dict[str, Any]]:
    """Wire entries in upstream order (``sortEncodedManagedFields``): Apply before Update, then by time,
    manager, apiVersion and subresource."""
    ordered = sorted(
        managers.items(),
        key=lambda kv: (kv[0].operation, _epoch_seconds(kv[1].time), kv[0].manager, kv[1].api_version,
                        kv[0].subresource),
    )
    out = []
    for key, entry in ordered:
        wire: dict[str, Any] = {"manager": key.manager, "operation": key.operation}
        wire["apiVersion"] = entry.api_version
        if entry.time is not None:
            wire["time"] = entry.time
        wire["fieldsType"] = FIELDS_TYPE
        wire["fieldsV1"] = set_to_fields(entry.fields)
        if key.subresource:
            wire["subresource"] = key.subresource
        out.append(wire)
    return out


def _store_managed_fields(obj: dict[str, Any], managers: _Managers) -> None:
    metadata = obj.setdefault("metadata", {})
    managers = _cap_update_managers(managers)
    if managers:
        metadata["managedFields"] = _encode_managed_fields(managers)
    else:
        metadata.pop("managedFields", None)


def _cap_update_managers(managers: _Managers) -> _Managers:
    """internal/capmanagers.go: beyond 10 Update entries, fold the oldest into ``ancient-changes``."""
    updaters = [k for k in managers if k.operation == "Update"]
    if len(updaters) <= MAX_UPDATE_MANAGERS:
        return managers
    managers = dict(managers)
    updaters.sort(key=lambda k: (_epoch_seconds(managers[k].time), k.identifier()))
    first_of_version: dict[str, _ManagerKey] = {}
    remaining = len(updaters)
    for key in updaters:
        if remaining <= MAX_UPDATE_MANAGERS:
            break
        entry = managers[key]
        bucket = _ManagerKey.of(ANCIENT_CHANGES_MANAGER, "Update", entry.api_version, "")
        first = first_of_version.get(entry.api_version)
        if first is None:
            first_of_version[entry.api_version] = key
            continue
        if bucket not in managers:
            managers[bucket] = managers.pop(first)
        managers[bucket] = _Entry(entry.api_version, entry.fields | managers[bucket].fields, entry.time)
        del managers[key]
        remaining -= 1
    return managers


def _without_managed_fields(obj: Mapping[str, Any] | None) -> dict[str, Any]:
    out = copy.deepcopy(dict(obj)) if obj else {}
    metadata = out.get("metadata")
    if isinstance(metadata, dict):
        metadata.pop("managedFields", None)
    return out


def _managed_of(obj: Mapping[str, Any] | None) -> _Managers:
    metadata = (obj or {}).get("metadata")
    entries = metadata.get("managedFields") if isinstance(metadata, Mapping) else None
    if entries is None:
        return {}
    return _decode_managed_fields(entries) or {}


# ----------------------------------------------------------------------------------------------------
# Update (non-apply writes)
# ----------------------------------------------------------------------------------------------------


def _update_managers(
    managers: _Managers,
    old: dict[str, Any],
    new: dict[str, Any],
    key: _ManagerKey,
    api_version: str,
    now: str,
    root: _Type,
    ignored: tuple[str, ...],
) -> _Managers:
    """A write by ``key`` changed ``old`` into ``new``: every manager loses the changed and removed fields and
    ``key`` gains the changed ones (SMD ``Updater.Update`` as ``current-operation``, then
    ``managedFieldsUpdater`` and ``stripMetaManager``)."""
    comparison = _Comparison()
    _compare(old, new, root, (), comparison)
    comparison = comparison.without(ignored)
    changed = comparison.added | comparison.modified
    result: _Managers = {}
    for other, entry in managers.items():
        remaining = entry.fields - changed - comparison.removed
        if remaining:
            result[other] = _Entry(entry.api_version, remaining, entry.time)
    current = changed - _STRIPPED
    if current:
        previous = result.get(key)
        result[key] = _Entry(api_version, current | (previous.fields if previous else set()), now)
    return result


def record_update(
    old: dict[str, Any] | None,
    new: dict[str, Any],
    manager: str,
    api_version: str,
    now: str,
    subresource: str = "",
    *,
    schema: Mapping[str, Any] | None = None,
    ignored_fields: tuple[str, ...] = (),
) -> None:
    """Record a create/update/patch (not apply) by ``manager`` in ``new["metadata"]["managedFields"]``.

    ``old`` is the stored object (None on create), ``new`` the object about to be stored; ``api_version``
    the request's group/version; ``now`` an RFC 3339 time; ``schema`` the CRD version's ``openAPIV3Schema``
    (None for built-ins); ``ignored_fields`` the top-level fields the write's strategy resets (``status`` for
    the main resource of a kind with a status subresource, ``spec`` for ``/status``), which nobody gains.

    The managedFields of ``new`` are the starting point when the request carried a valid non-empty list (a
    request can rewrite ownership); ``[]`` or ``[{}]`` resets them; otherwise, and always for a subresource,
    those of ``old`` are. On a malformed object the entries are dropped, as ``UpdateNoErrors`` does.
    """
    metadata = new.get("metadata")
    if not isinstance(metadata, dict):
        return
    managers = _starting_managers(old, metadata, subresource)
    root = _root_type(schema, api_version, str(new.get("kind", "")))
    key = _ManagerKey.of(manager, "Update", api_version, subresource)
    try:
        managers = _update_managers(managers, _without_managed_fields(old), _without_managed_fields(new), key,
                                    api_version, now, root, ignored_fields)
    except _TypedError:
        metadata.pop("managedFields", None)
        return
    _store_managed_fields(new, managers)


def _starting_managers(
    old: Mapping[str, Any] | None, metadata: Mapping[str, Any], subresource: str
) -> _Managers:
    """internal/fieldmanager.go ``decodeLiveOrNew``."""
    if subresource or "managedFields" not in metadata or metadata["managedFields"] is None:
        return _managed_of(old)
    requested = metadata["managedFields"]
    if isinstance(requested, list) and (not requested or (len(requested) == 1 and requested[0] == {})):
        return {}
    decoded = _decode_managed_fields(requested)
    return decoded if decoded else _managed_of(old)


# ----------------------------------------------------------------------------------------------------
# Apply
# ----------------------------------------------------------------------------------------------------


def _gvk_string(obj: Mapping[str, Any]) -> str:
    """``schema.GroupVersionKind.String()``: ``apps/v1, Kind=Deployment``, ``/v1, Kind=ConfigMap``."""
    api_version = str(obj.get("apiVersion", ""))
    group, _, version = api_version.rpartition("/")
    return f"{group}/{version}, Kind={obj.get('kind', '')}"


def server_side_apply(
    live: dict[str, Any] | None,
    applied: dict[str, Any],
    manager: str,
    force: bool,
    schema: dict[str, Any] | None,
    api_version: str,
    now: str,
    subresource: str = "",
    *,
    ignored_fields: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Apply the configuration ``applied`` as ``manager`` to ``live`` (None: create); return the new object.

    The result is ``live`` merged with ``applied`` (associative lists by key, sets by value, atomic values
    replaced), minus the fields ``manager`` applied last time and no longer applies unless another manager
    owns them, with ``metadata.managedFields`` updated: ``manager`` owns exactly the fields of ``applied``
    (operation ``Apply``), other managers lose the fields this apply changed (only with ``force``) or removed.
    ``ignored_fields`` are the top-level fields the strategy resets (see :func:`record_update`): they are not
    owned, never conflict and keep their live value. Nulls are dropped from the result.

    Raises 409 Conflict (causes ``FieldManagerConflict``) when, without ``force``, ``applied`` changes a field
    another manager owns; 400 when ``applied`` carries ``metadata.managedFields`` or a different apiVersion
    than ``api_version``; 500 (reason unknown) when ``applied`` does not fit the schema (duplicate or key-less
    items of an associative list), as ``failed to create typed patch object``.
    """
    _check_applied(applied, api_version)
    root = _root_type(schema, api_version, str(applied.get("kind", "")))
    live_obj = _without_managed_fields(live)
    managers = _managed_of(live)
    if live is not None and not managers:
        # internal/skipnonapplied.go: every field of an untracked object is first owned by before-first-apply.
        first = _ManagerKey.of(BEFORE_FIRST_APPLY_MANAGER, "Update", api_version, subresource)
        managers = _update_managers({}, {}, live_obj, first, api_version, now, root, ignored_fields)
    try:
        applied_set: set[Path] = set()
        _to_field_set(applied, root, (), applied_set, strict=True)
        merged = _merge(live_obj, applied, root, ())
    except _TypedError as error:
        name = (applied.get("metadata") or {}).get("name", "")
        namespace = (applied.get("metadata") or {}).get("namespace", "")
        raise APIError(500, "", f"failed to create typed patch object ({namespace}/{name}; "
                                f"{_gvk_string(applied)}): {error}") from None
    applied_set = _filter(applied_set, ignored_fields)

    applier = _ManagerKey.of(manager, "Apply", api_version, subresource)
    last = managers.get(applier)
    managers[applier] = _Entry(api_version, applied_set, now)
    if last is not None and last.fields:
        merged = _prune(merged, managers, last.fields, root)

    comparison = _Comparison()
    _compare(live_obj, merged, root, (), comparison)
    comparison = comparison.without(ignored_fields)
    changed = comparison.added | comparison.modified
    conflicts = {key: entry.fields & changed for key, entry in managers.items()
                 if key != applier and entry.fields & changed}
    if conflicts and not force:
        raise _conflict_error(conflicts)
    result: _Managers = {}
    for key, entry in managers.items():
        remaining = entry.fields if key == applier else entry.fields - changed - comparison.removed
        remaining = remaining - _STRIPPED if key == applier else remaining
        if remaining:
            result[key] = _Entry(entry.api_version, remaining, entry.time)

    for name in ignored_fields:
        merged.pop(name, None)
        if name in live_obj:
            merged[name] = copy.deepcopy(live_obj[name])
    final: dict[str, Any] = _drop_nulls(merged)
    _store_managed_fields(final, result)
    return final


def _check_applied(applied: Any, api_version: str) -> None:
    if not isinstance(applied, dict):
        raise bad_request("error decoding YAML: the applied configuration is not an object")
    if applied.get("apiVersion") != api_version:
        raise bad_request(f"invalid object type: {_gvk_string(applied)}")
    metadata = applied.get("metadata")
    if isinstance(metadata, dict) and metadata.get("managedFields") is not None:
        raise bad_request("metadata.managedFields must be nil")


def _prune(merged: Any, managers: _Managers, last: set[Path], root: _Type) -> Any:
    """SMD ``Updater.prune``: remove what the applier owned last time unless some manager (the applier's new
    configuration included) still owns it or something under it."""
    owned = set().union(*(entry.fields for entry in managers.values()))
    doomed = _with_named_parents(last, root) - _with_named_parents(owned, root)
    if not doomed:
        return merged
    prefixes = {path[:end] for path in doomed for end in range(len(path))}
    return _remove(merged, doomed, prefixes, root, ())


def _ordered_paths(paths: set[Path]) -> list[Path]:
    """SMD ``Set.Iterate`` order: at each level members first, then subtrees, each in path element order."""
    out: list[Path] = []

    def walk(prefix: Path, candidates: list[Path]) -> None:
        depth = len(prefix)
        members = sorted({p[depth] for p in candidates if len(p) == depth + 1}, key=_element_sort_key)
        out.extend((*prefix, m) for m in members)
        children = sorted({p[depth] for p in candidates if len(p) > depth + 1}, key=_element_sort_key)
        for child in children:
            walk((*prefix, child), [p for p in candidates if len(p) > depth + 1 and p[depth] == child])

    walk((), list(paths))
    return out


def _conflict_error(conflicts: Mapping[_ManagerKey, set[Path]]) -> APIError:
    """internal/conflict.go ``NewConflictError``."""
    ordered = sorted(conflicts, key=lambda k: k.identifier())
    pairs = [(key, path) for key in ordered for path in _ordered_paths(conflicts[key])]
    causes = [Cause(CONFLICT_CAUSE, f"conflict with {k.describe()}", path_string(p)) for k, p in pairs]
    if len(pairs) == 1:
        key, path = pairs[0]
        message = f"Apply failed with 1 conflict: conflict with {key.describe()}: {path_string(path)}"
    else:
        lines = []
        for key in ordered:
            lines.append(f"conflicts with {key.describe()}:")
            lines.extend(f"- {path_string(path)}" for path in _ordered_paths(conflicts[key]))
        message = f"Apply failed with {len(pairs)} conflicts: " + "\n".join(lines)
    return APIError(409, "Conflict", message, causes=causes)


# ----------------------------------------------------------------------------------------------------
# Manager names
# ----------------------------------------------------------------------------------------------------


def default_manager_name(user_agent: str) -> str:
    """The manager of a write without ``fieldManager`` (handlers/rest.go ``prefixFromUserAgent``): the
    User-Agent up to the first ``/``, without unprintable characters, at most 128 bytes."""
    out = ""
    size = 0
    for char in user_agent.split("/", 1)[0]:
        if not char.isprintable():  # Go unicode.IsPrint: ASCII space is the only printable space
            continue
        width = len(char.encode())
        if size + width > FIELD_MANAGER_MAX_LENGTH:
            break
        out += char
        size += width
    return out
