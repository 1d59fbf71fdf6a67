"""The PATCH content types kube-apiserver accepts, as pure functions on JSON-decoded values.

* ``application/merge-patch+json`` -- :func:`apply_merge_patch` (RFC 7386).
* ``application/json-patch+json`` -- :func:`apply_json_patch` (RFC 6902, via the ``jsonpatch`` library),
  failing with the statuses k8s.io/apiserver/pkg/endpoints/handlers/patch.go (``applyJSPatch``) returns.
* ``application/strategic-merge-patch+json`` -- :func:`apply_strategic_merge_patch`, modelled on
  k8s.io/apimachinery/pkg/util/strategicpatch/patch.go (``StrategicMergeMapPatch`` with ``MergeParallelList``
  and ``IgnoreUnmatchedNulls``), for the built-in kinds the emulator serves. Custom resources do not accept
  it: the server answers :func:`unsupported_patch_type_error` (415).

The patch metadata of built-in fields (``patchStrategy``/``patchMergeKey`` and ``listType``/``listMapKey``
tags of k8s.io/api) lives in one table, :data:`BUILTIN_FIELD_META`, which server-side apply (``apply.py``)
reads too.
All functions return new values and never mutate their inputs.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import jsonpatch

from smk8s.emulators.kube.errors import (
    APIError,
    bad_request,
    request_entity_too_large,
    unsupported_media_type,
)

# ----------------------------------------------------------------------------------------------------
# Patch metadata of built-in fields
# ----------------------------------------------------------------------------------------------------

ANY = "*"
"""Wildcard group/kind in :data:`BUILTIN_FIELD_META`: ObjectMeta fields apply to every kind."""


@dataclass(frozen=True)
class FieldMeta:
    """What the k8s.io/api struct tags say of one field.

    ``patch_strategy``/``patch_merge_key`` drive strategic merge patch (``""`` strategy: lists are replaced,
    maps merged). ``list_type``/``list_map_keys`` drive server-side apply (``atomic``, ``set`` or ``map``).
    ``atomic_items`` is ``+structType=atomic`` on the list's item type (an item is owned as a whole).
    ``map_valued`` marks a ``map[string]X`` field: its keys are map entries, not struct fields.
    """

    patch_strategy: str = ""
    patch_merge_key: str = ""
    list_type: str = "atomic"
    list_map_keys: tuple[str, ...] = ()
    atomic_items: bool = False
    map_valued: bool = False


_ATOMIC = FieldMeta()
_STRING_MAP = FieldMeta(map_valued=True)

BUILTIN_FIELD_META: Mapping[tuple[str, str, tuple[str, ...]], FieldMeta] = MappingProxyType(
    {
        # k8s.io/apimachinery/pkg/apis/meta/v1/types.go, ObjectMeta.
        (ANY, ANY, ("metadata", "finalizers")): FieldMeta(patch_strategy="merge", list_type="set"),
        (ANY, ANY, ("metadata", "ownerReferences")): FieldMeta(
            patch_strategy="merge", patch_merge_key="uid", list_type="map", list_map_keys=("uid",),
            atomic_items=True,  # OwnerReference is +structType=atomic
        ),
        (ANY, ANY, ("metadata", "managedFields")): _ATOMIC,
        (ANY, ANY, ("metadata", "labels")): _STRING_MAP,
        (ANY, ANY, ("metadata", "annotations")): _STRING_MAP,
        # k8s.io/api/core/v1/types.go.
        ("", "ConfigMap", ("data",)): _STRING_MAP,
        ("", "ConfigMap", ("binaryData",)): _STRING_MAP,
        ("", "Secret", ("data",)): _STRING_MAP,
        ("", "Secret", ("stringData",)): _STRING_MAP,
        ("", "ServiceAccount", ("secrets",)): FieldMeta(
            patch_strategy="merge", patch_merge_key="name", list_type="map", list_map_keys=("name",),
            atomic_items=True,  # ObjectReference is +structType=atomic
        ),
        ("", "ServiceAccount", ("imagePullSecrets",)): _ATOMIC,  # no patchStrategy: replaced as a whole
        ("", "Namespace", ("spec", "finalizers")): _ATOMIC,
        ("", "Namespace", ("status", "conditions")): FieldMeta(
            patch_strategy="merge", patch_merge_key="type", list_type="map", list_map_keys=("type",)
        ),
        # k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1/types.go: +listType=map, no patchStrategy.
        ("apiextensions.k8s.io", "CustomResourceDefinition", ("status", "conditions")): FieldMeta(
            list_type="map", list_map_keys=("type",)
        ),
        # k8s.io/api/rbac/v1/types.go: every list is +listType=atomic.
        ("rbac.authorization.k8s.io", "Role", ("rules",)): _ATOMIC,
        ("rbac.authorization.k8s.io", "ClusterRole", ("rules",)): _ATOMIC,
        ("rbac.authorization.k8s.io", "RoleBinding", ("subjects",)): _ATOMIC,
        ("rbac.authorization.k8s.io", "ClusterRoleBinding", ("subjects",)): _ATOMIC,
    }
)


def field_meta(group: str, kind: str, path: tuple[str, ...]) -> FieldMeta:
    """The metadata of the field at ``path`` (struct field names; list items add none) of a built-in kind.

    Fields missing from :data:`BUILTIN_FIELD_META` have no patch strategy and are atomic lists or granular
    maps.
    """
    return (
        BUILTIN_FIELD_META.get((group, kind, path))
        or BUILTIN_FIELD_META.get((ANY, ANY, path))
        or _ATOMIC
    )


# ----------------------------------------------------------------------------------------------------
# JSON merge patch
# ----------------------------------------------------------------------------------------------------


def apply_merge_patch(original: Any, patch: Any) -> Any:
    """RFC 7386: an object patch merges recursively (``null`` deletes a key); any other patch replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result: dict[str, Any] = copy.deepcopy(original) if isinstance(original, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result


# ----------------------------------------------------------------------------------------------------
# JSON patch
# ----------------------------------------------------------------------------------------------------

MAX_JSON_PATCH_OPERATIONS = 10000
"""handlers/patch.go ``maxJSONPatchOperations``."""


def apply_json_patch(original: Any, ops: Any) -> Any:
    """Apply RFC 6902 ``ops`` to a copy of ``original``.

    Errors as kube-apiserver (handlers/patch.go ``applyJSPatch``): a body that is not a list of operation
    objects is 400 BadRequest (``jsonpatch.DecodePatch`` failed); more than 10000 operations is 413; any
    operation that does not apply (missing path, failed ``test``, unknown ``op``) is 422 Invalid with the
    generic message of ``errors.NewGenericServerResponse``.
    """
    if not isinstance(ops, list):
        raise bad_request(f"json: cannot unmarshal {_json_kind(ops)} into Go value of type jsonpatch.Patch")
    for op in ops:
        if not isinstance(op, dict):
            kind = _json_kind(op)
            raise bad_request(f"json: cannot unmarshal {kind} into Go value of type jsonpatch.Operation")
    if len(ops) > MAX_JSON_PATCH_OPERATIONS:
        raise request_entity_too_large(
            f"The allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPERATIONS}, got {len(ops)}"
        )
    try:
        return jsonpatch.JsonPatch(ops).apply(original, in_place=False)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, KeyError, IndexError, TypeError,
            ValueError):
        raise _generic_invalid() from None


def _generic_invalid() -> APIError:
    """``errors.NewGenericServerResponse(422, ...)``: reason Invalid, the server's own text is dropped."""
    return APIError(422, "Invalid", "the server rejected our request due to an error in our request")


def _json_kind(value: Any) -> str:
    """The JSON type name encoding/json uses in ``cannot unmarshal X into ...``."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "null"


# ----------------------------------------------------------------------------------------------------
# Strategic merge patch
# ----------------------------------------------------------------------------------------------------

CUSTOM_RESOURCE_PATCH_TYPES = (
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/apply-patch+yaml",
)
"""The patch media types apiextensions-apiserver accepts for custom resources (no strategic merge patch)."""

_DIRECTIVE = "$patch"
_RETAIN_KEYS = "$retainKeys"
_DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList"
_SET_ELEMENT_ORDER = "$setElementOrder"

# k8s.io/apimachinery/pkg/util/mergepatch/errors.go messages and the status each maps to in
# handlers/patch.go interpretStrategicMergePatchError (other errors surface as 500).
_ERR_BAD_PRIMITIVE_LIST = "invalid patch format of primitive list"
_ERR_BAD_RETAIN_KEYS = "invalid patch format of retainKeys"
_ERR_BAD_SET_ELEMENT_ORDER = "invalid patch format of setElementOrder list"
_ERR_NO_LIST_OF_LISTS = "lists of lists are not supported"


def unsupported_patch_type_error(accepted: tuple[str, ...] = CUSTOM_RESOURCE_PATCH_TYPES) -> APIError:
    """415 for a patch type the resource does not accept (strategic merge patch on a custom resource)."""
    return unsupported_media_type("application/strategic-merge-patch+json", list(accepted))


def apply_strategic_merge_patch(
    original: dict[str, Any], patch: dict[str, Any], group: str, kind: str
) -> dict[str, Any]:
    """Apply a strategic merge patch to a built-in object of ``group``/``kind``; returns a new object.

    Lists whose field has ``patchStrategy: merge`` (see :data:`BUILTIN_FIELD_META`) merge by their merge key
    (or as a set of primitives); other lists are replaced and maps merged. ``null`` deletes a key. Directives:
    ``$patch: replace|delete`` in a map or as a list element (``delete`` needs the merge key),
    ``$deleteFromPrimitiveList/<field>``, ``$setElementOrder/<field>`` and ``$retainKeys``.

    Raises :class:`APIError` like kube-apiserver: 400 for malformed directive lists, 422 for lists of lists,
    500 (reason unknown, as for any error that is not an ``APIStatus``) for other failures such as an unknown
    ``$patch`` value or a merge-list element missing its merge key.
    """
    if not isinstance(patch, dict):
        raise bad_request("invalid JSON document")
    merger = _StrategicMerger(group, kind)
    return merger.merge_map(copy.deepcopy(original), copy.deepcopy(patch), ())


def _smp_internal_error(message: str) -> APIError:
    return APIError(500, "", message)


def _go_format(value: Any) -> str:
    """Go's ``%v`` rendering of a decoded JSON value, for error messages."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go_format(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_go_format(v) for v in value) + "]"
    return str(value)


def _go_type(value: Any) -> str:
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    return "<nil>"


def _bad_arg_type(expected: str, actual: Any) -> APIError:
    return _smp_internal_error(f"expected a {expected}, but received a {_go_type(actual)}")


def _extract_key(key: str, prefix: str) -> str:
    head, sep, rest = key.partition("/")
    if not sep or head != prefix:
        raise bad_request(_ERR_BAD_PRIMITIVE_LIST if prefix == _DELETE_FROM_PRIMITIVE_LIST
                          else _ERR_BAD_SET_ELEMENT_ORDER)
    return rest


def _same_json_type(a: Any, b: Any) -> bool:
    def kind(v: Any) -> str:
        if isinstance(v, bool):
            return "bool"
        if isinstance(v, int | float):
            return "number"
        return type(v).__name__

    return kind(a) == kind(b)


class _StrategicMerger:
    """One strategic merge of a built-in kind; ``path`` arguments are struct field names from the root."""

    def __init__(self, group: str, kind: str) -> None:
        self._group = group
        self._kind = kind

    def _meta(self, path: tuple[str, ...]) -> FieldMeta:
        return field_meta(self._group, self._kind, path)

    # -- maps -----------------------------------------------------------------------------------------------

    def merge_map(
        self, original: dict[str, Any], patch: dict[str, Any], path: tuple[str, ...]
    ) -> dict[str, Any]:
        if _DIRECTIVE in patch:
            directive = patch[_DIRECTIVE]
            if directive == "replace":
                del patch[_DIRECTIVE]
                return self.merge_map({}, patch, path)
            if directive == "delete":
                return {}
            raise _smp_internal_error(f"unknown patch type: {directive} in map: {_go_format(patch)}")
        self._apply_retain_keys(original, patch)
        self._merge_set_element_order_lists(original, patch, path)
        for key, patch_value in list(patch.items()):
            field = key
            is_delete_list = False
            if key.startswith(_DELETE_FROM_PRIMITIVE_LIST):
                field = _extract_key(key, _DELETE_FROM_PRIMITIVE_LIST)
                is_delete_list = True
            if patch_value is None:
                original.pop(field, None)
                continue
            child_path = (*path, field)
            if field not in original or not _same_json_type(original[field], patch_value):
                if not is_delete_list:
                    original[field] = self._fresh(patch_value, child_path)
                continue
            current = original[field]
            if isinstance(current, dict):
                original[field] = self.merge_map(current, patch_value, child_path)
            elif isinstance(current, list):
                original[field] = self._merge_list_field(current, patch_value, child_path, is_delete_list)
            else:
                original[field] = patch_value
        return original

    def _fresh(self, value: Any, path: tuple[str, ...]) -> Any:
        """A patch value with no counterpart in the original: merged into an empty value to drop directives
        and nulls (upstream keeps them verbatim and lets typed decoding drop them)."""
        if isinstance(value, dict):
            return self.merge_map({}, value, path)
        if isinstance(value, list) and self._meta(path).patch_strategy == "merge":
            return self._merge_list([], value, path, is_delete_list=False)
        return value

    def _apply_retain_keys(self, original: dict[str, Any], patch: dict[str, Any]) -> None:
        if _RETAIN_KEYS not in patch:
            return
        retain = patch.pop(_RETAIN_KEYS)
        if not isinstance(retain, list):
            raise bad_request(_ERR_BAD_RETAIN_KEYS)
        for key, value in patch.items():
            if value is None or key.startswith((_DELETE_FROM_PRIMITIVE_LIST, _SET_ELEMENT_ORDER)):
                continue
            if key not in retain:
                raise bad_request(_ERR_BAD_RETAIN_KEYS)
        for key in list(original):
            if key not in retain:
                del original[key]

    # -- lists ----------------------------------------------------------------------------------------------

    def _merge_list_field(
        self, original: list[Any], patch: Any, path: tuple[str, ...], is_delete_list: bool
    ) -> list[Any]:
        if not isinstance(patch, list):
            raise _bad_arg_type("[]interface {}", patch)
        if self._meta(path).patch_strategy != "merge":
            return patch  # upstream replaces, even with a $deleteFromPrimitiveList list
        return self._merge_list(original, patch, path, is_delete_list)

    def _merge_list(
        self, original: list[Any], patch: list[Any], path: tuple[str, ...], is_delete_list: bool
    ) -> list[Any]:
        if not original and not patch:
            return original
        element_kind = _element_kind(original, patch)
        merge_key = self._meta(path).patch_merge_key
        if element_kind != "map":
            if is_delete_list:
                return [v for v in original if v not in patch]
            merged = _dedupe([*original, *patch])
        else:
            if not merge_key:
                raise _smp_internal_error("cannot merge lists without merge key for type map")
            original, patch = self._apply_list_directives(original, patch, merge_key)
            merged = self._merge_maps_by_key(original, patch, merge_key, path)
        patch_items, server_only = _partition(merged, patch, merge_key if element_kind == "map" else "")
        return _normalize_element_order(patch_items, server_only, patch, original,
                                        merge_key if element_kind == "map" else "")

    def _apply_list_directives(
        self, original: list[Any], patch: list[Any], merge_key: str
    ) -> tuple[list[Any], list[Any]]:
        """Handle ``$patch`` list items: ``delete`` removes matching items, ``replace`` drops the original."""
        plain: list[Any] = []
        replace = False
        for item in patch:
            if _DIRECTIVE not in item:
                plain.append(item)
                continue
            directive = item[_DIRECTIVE]
            if directive == "delete":
                if merge_key not in item:
                    raise _no_merge_key(item, merge_key)
                doomed = item[merge_key]
                original = [o for o in original if not (isinstance(o, dict) and o.get(merge_key) == doomed)]
            elif directive == "replace":
                replace = True
            elif directive == "merge":
                raise _smp_internal_error("merging lists cannot yet be specified in the patch")
            else:
                raise _smp_internal_error(f"unknown patch type: {directive} in map: {_go_format(item)}")
        if replace:
            return plain, []
        return original, plain

    def _merge_maps_by_key(
        self, original: list[Any], patch: list[Any], merge_key: str, path: tuple[str, ...]
    ) -> list[Any]:
        merged = list(original)
        for item in patch:
            if merge_key not in item:
                raise _no_merge_key(item, merge_key)
            index = _find_by_key(merged, merge_key, item[merge_key])
            if index is None:
                merged.append(self.merge_map({}, item, path))
            else:
                merged[index] = self.merge_map(merged[index], item, path)
        return merged

    def _merge_set_element_order_lists(
        self, original: dict[str, Any], patch: dict[str, Any], path: tuple[str, ...]
    ) -> None:
        """Process every ``$setElementOrder/<field>`` with its patch list; both leave ``patch``."""
        for key in [k for k in patch if k.startswith(_SET_ELEMENT_ORDER)]:
            order = patch.pop(key)
            if not isinstance(order, list):
                raise _bad_arg_type("[]interface {}", order)
            field = _extract_key(key, _SET_ELEMENT_ORDER)
            child_path = (*path, field)
            meta = self._meta(child_path)
            merge_key = meta.patch_merge_key
            original_list = original.get(field)
            patch_list = patch.get(field)
            if original_list is not None and not isinstance(original_list, list):
                raise _bad_arg_type("[]interface {}", original_list)
            if patch_list is not None and not isinstance(patch_list, list):
                raise _bad_arg_type("[]interface {}", patch_list)
            _validate_against_order(patch_list or [], order, merge_key)
            if original_list is None and patch_list is None:
                continue
            if patch_list is None:
                merged = list(original_list or [])
            elif original_list is None:
                merged = self._fresh(patch_list, child_path)
            else:
                merged = self._merge_list_field(original_list, patch_list, child_path, is_delete_list=False)
            kind_key = merge_key if _element_kind(original_list or [], patch_list or []) == "map" else ""
            patch_items, server_only = _partition(merged, order, kind_key)
            original[field] = _normalize_element_order(patch_items, server_only, order, original_list or [],
                                                       kind_key)
            patch.pop(field, None)


def _no_merge_key(item: Any, merge_key: str) -> APIError:
    return _smp_internal_error(f"map: {_go_format(item)} does not contain declared merge key: {merge_key}")


def _element_kind(*lists: list[Any]) -> str:
    """``map`` or ``scalar`` for the elements of the lists (upstream ``sliceElementType``)."""
    kinds = set()
    for items in lists:
        for item in items:
            if isinstance(item, list):
                raise _generic_invalid()
            kinds.add("map" if isinstance(item, dict) else "scalar")
    if len(kinds) > 1:
        raise _smp_internal_error(f"list element types are not identical: {_go_format(list(lists))}")
    return kinds.pop() if kinds else "scalar"


def _dedupe(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def _find_by_key(items: list[Any], merge_key: str, value: Any) -> int | None:
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise _smp_internal_error(f"value for key {index} is not a map.")
        if merge_key in item and item[merge_key] == value:
            return index
    return None


def _identity(item: Any, merge_key: str) -> Any:
    if merge_key:
        return item.get(merge_key) if isinstance(item, dict) else None
    return item


def _index_in(items: list[Any], item: Any, merge_key: str) -> int:
    wanted = _identity(item, merge_key)
    for index, candidate in enumerate(items):
        if _identity(candidate, merge_key) == wanted:
            return index
    return -1


def _partition(merged: list[Any], by: list[Any], merge_key: str) -> tuple[list[Any], list[Any]]:
    """Split ``merged`` into items present in ``by`` and server-only items (order kept)."""
    in_patch: list[Any] = []
    server_only: list[Any] = []
    for item in merged:
        if merge_key and (not isinstance(item, dict) or merge_key not in item):
            raise _no_merge_key(item, merge_key)
        (in_patch if _index_in(by, item, merge_key) >= 0 else server_only).append(item)
    return in_patch, server_only


def _sorted_by(items: list[Any], order: list[Any], merge_key: str) -> list[Any]:
    """Stable sort of ``items`` by position in ``order``, ``$patch: delete`` items last (upstream
    ``normalizeSliceOrder``)."""
    deletes = [i for i in items if isinstance(i, dict) and i.get(_DIRECTIVE) == "delete"] if merge_key else []
    rest = [i for i in items if not any(i is d for d in deletes)]
    rest.sort(key=lambda item: _index_in(order, item, merge_key))
    return rest + deletes


def _normalize_element_order(
    patch_items: list[Any],
    server_only: list[Any],
    patch_order: list[Any],
    server_order: list[Any],
    merge_key: str,
) -> list[Any]:
    """Interleave patch items (in patch order) and server-only items (in live order), as upstream
    ``normalizeElementOrder``: a server-only item goes before a patch item when both appear in the live list
    and it comes first there."""
    left = _sorted_by(server_only, server_order, merge_key)
    right = _sorted_by(patch_items, patch_order, merge_key)
    out: list[Any] = []
    i = j = 0
    while i < len(left) or j < len(right):
        if i >= len(left):
            out.append(right[j])
            j += 1
        elif j >= len(right):
            out.append(left[i])
            i += 1
        else:
            li, ri = _index_in(server_order, left[i], merge_key), _index_in(server_order, right[j], merge_key)
            if li >= 0 and ri >= 0 and li < ri:
                out.append(left[i])
                i += 1
            else:
                out.append(right[j])
                j += 1
    return out


def _validate_against_order(patch_list: list[Any], order: list[Any], merge_key: str) -> None:
    """The non-deleting items of the patch list must appear in ``$setElementOrder`` in the same order."""
    if not order or not patch_list:
        return
    items = patch_list
    if merge_key:
        items = [i for i in patch_list if not (isinstance(i, dict) and _DIRECTIVE in i)]
    p = s = 0
    while p < len(items) and s < len(order):
        if _identity(items[p], merge_key) == _identity(order[s], merge_key):
            p += 1
        s += 1
    if p < len(items):
        raise _smp_internal_error(
            f"The order in patch list:\n{_go_format(patch_list)}\n doesn't match {_SET_ELEMENT_ORDER} list:\n"
            f"{_go_format(order)}\n"
        )

