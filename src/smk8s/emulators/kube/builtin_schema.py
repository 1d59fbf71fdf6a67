"""Decoding a built-in kind's JSON body the way kube-apiserver's typed decoding does.

kube-apiserver decodes built-in kinds into Go structs with sigs.k8s.io/json (a fork of encoding/json):

* a field the struct does not declare is dropped; in strict mode it is reported as ``unknown field "<path>"``
  where the path joins struct field and map key names with ``.`` and list indices as ``[i]``
  (``spec.template.spec.containers[0].unknownNested``, test/integration/apiserver/field_validation_test.go),
  in the order the decoder meets them;
* a JSON value of the wrong type fails the whole decoding with the first ``*json.UnmarshalTypeError``:
  ``json: cannot unmarshal number into Go struct field ConfigMap.data of type string`` - the innermost struct,
  the JSON field names from the root (map keys and indices are not part of it) and the Go type. Types with
  their own ``UnmarshalJSON`` (``metav1.Time``, ``MicroTime``) report encoding/json's plain form, ``json:
  cannot unmarshal number into Go value of type string``. ``null`` is accepted anywhere.

The schema used is the one ``/openapi/v3`` publishes (:mod:`~smk8s.emulators.kube.openapi`), with ``$ref``\\ s
inlined; a reference back to a definition being inlined (``JSONSchemaProps`` in CRDs) stays a ``$ref`` that is
resolved lazily while walking. Everything is computed once per group-version-kind (``functools.cache``).
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
from collections.abc import Mapping
from typing import Any

from smk8s.emulators.kube import errors, openapi, validation
from smk8s.emulators.kube.resources import ResourceType, builtin_resources
from smk8s.emulators.kube.schema import child, index

Schema = dict[str, Any]

# Annotation this module adds to inlined definitions: the Go type name (``v1.LeaseSpec``).
GO_TYPE = "x-smk8s-go-type"

# Integer fields whose Go type is int64 (the published schemas carry no ``format``); every other is int32.
_INT64_FIELDS = frozenset({
    ("ObjectMeta", "generation"), ("ObjectMeta", "deletionGracePeriodSeconds"),
    ("Condition", "observedGeneration"), ("DeleteOptions", "gracePeriodSeconds"),
    ("JSONSchemaProps", "maxLength"), ("JSONSchemaProps", "minLength"), ("JSONSchemaProps", "maxItems"),
    ("JSONSchemaProps", "minItems"), ("JSONSchemaProps", "maxProperties"), ("JSONSchemaProps", "minProperties"),
})
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_BASE64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\r\n")


# ---------------------------------------------------------------------------------------------------------
# Resolved schemas


@functools.cache
def _definitions(group: str, version: str) -> Mapping[str, Schema]:
    """``components.schemas`` of the group-version's ``/openapi/v3`` document (built-ins only)."""
    types = [rt for rt in builtin_resources() if (rt.group, rt.version) == (group, version)]
    document = openapi.openapi_v3_document(types, openapi.group_version_path(group, version))
    return document["components"]["schemas"] if document else {}


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _go_type(definition: str) -> str:
    """``io.k8s.api.coordination.v1.LeaseSpec`` -> ``v1.LeaseSpec`` (Go's ``reflect.Type.String()``)."""
    package, short = definition.rsplit(".", 2)[-2:]
    return f"{package}.{short}"


def _inline(node: Any, defs: Mapping[str, Schema], stack: tuple[str, ...]) -> Any:
    if isinstance(node, list):
        return [_inline(item, defs, stack) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        name = _ref_name(ref)
        if name in stack or name not in defs:
            return {"$ref": name}  # recursive: resolved lazily by the walkers
        return _definition_node(name, defs, stack)
    out = dict(node)
    if isinstance(node.get("properties"), dict):
        out["properties"] = {name: _inline(prop, defs, stack) for name, prop in node["properties"].items()}
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            out[key] = _inline(node[key], defs, stack)
    return out


def _definition_node(name: str, defs: Mapping[str, Schema], stack: tuple[str, ...]) -> Schema:
    definition = defs[name]
    out: Schema = _inline(definition, defs, (*stack, name))
    if "properties" in out:
        out[GO_TYPE] = _go_type(name)
    return out


@functools.cache
def _resolved(group: str, version: str, definition: str) -> Schema:
    defs = _definitions(group, version)
    if definition not in defs:
        return {}
    return _definition_node(definition, defs, ())


def resolved_schema(rt: ResourceType) -> Schema:
    """The schema of a built-in kind with its ``$ref``\\ s inlined (recursive ones left as ``{"$ref": name}``).
    Cached and shared: never mutate it."""
    return _resolved(rt.group, rt.version, openapi.definition_name(rt))


def _deref(s: Schema, rt: ResourceType) -> Schema:
    ref = s.get("$ref")
    return _resolved(rt.group, rt.version, ref) if isinstance(ref, str) else s


# ---------------------------------------------------------------------------------------------------------
# Unknown fields


def unknown_fields(obj: dict[str, Any], rt: ResourceType) -> list[str]:
    """Remove, in place, every field the kind's Go structs do not declare, as decoding drops them; returns
    their paths in the order the decoder meets them (``dataa``, ``metadata.foo``, ``subjects[0].bogus``)."""
    found: list[str] = []
    _drop_unknown(obj, resolved_schema(rt), "", rt, found)
    return found


def _is_struct(s: Schema) -> bool:
    return GO_TYPE in s


def _drop_unknown(value: Any, s: Schema, path: str, rt: ResourceType, found: list[str]) -> None:
    s = _deref(s, rt)
    if isinstance(value, dict):
        if _is_struct(s):
            props = s["properties"]
            for key in list(value):
                name = str(key)
                if name in props:
                    _drop_unknown(value[key], props[name], child(path, name), rt, found)
                else:
                    found.append(child(path, name))
                    del value[key]
        elif isinstance(s.get("additionalProperties"), dict):
            for key, item in value.items():
                _drop_unknown(item, s["additionalProperties"], child(path, str(key)), rt, found)
    elif isinstance(value, list) and isinstance(s.get("items"), dict):
        for i, item in enumerate(value):
            _drop_unknown(item, s["items"], index(path, i), rt, found)


# ---------------------------------------------------------------------------------------------------------
# Type mismatches


def _json_kind(value: Any) -> str:
    """The JSON value's name in ``UnmarshalTypeError.Value``."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, (str, _dt.date)):  # YAML timestamps are strings on the wire
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _type_name(s: Schema, struct: str, field: str, rt: ResourceType) -> str:
    """Go's name of the type a schema node decodes into (``map[string]string``, ``[]v1.Subject``)."""
    s = _deref(s, rt)
    if _is_struct(s):
        return str(s[GO_TYPE])
    type_ = s.get("type")
    if isinstance(s.get("additionalProperties"), dict):
        return f"map[string]{_type_name(s['additionalProperties'], struct, field, rt)}"
    if type_ == "array" and isinstance(s.get("items"), dict):
        return f"[]{_type_name(s['items'], struct, field, rt)}"
    if type_ == "string":
        return "[]uint8" if s.get("format") == "byte" else "string"
    if type_ == "integer":
        return "int64" if (struct, field) in _INT64_FIELDS else "int32"
    if type_ == "number":
        return "float64"
    if type_ == "boolean":
        return "bool"
    return "interface {}"


def decode_errors(obj: dict[str, Any], rt: ResourceType) -> list[str] | None:
    """The decoding errors of ``obj`` as the kind's Go structs, in document order (the decoder reports the
    first), or ``None`` when it decodes. ``obj`` is not changed."""
    found: list[str] = []
    _check(obj, resolved_schema(rt), "", (), rt, found)
    return found or None


def _check(value: Any, s: Schema, struct: str, fields: tuple[str, ...], rt: ResourceType, found: list[str]) -> None:
    if value is None:
        return
    s = _deref(s, rt)
    kind = _json_kind(value)

    def mismatch(value_text: str = kind) -> None:
        go_type = _type_name(s, struct, fields[-1] if fields else "", rt)
        where = f"Go struct field {struct}.{'.'.join(fields)}" if struct else "Go value"
        found.append(f"json: cannot unmarshal {value_text} into {where} of type {go_type}")

    if _is_struct(s):
        if kind != "object":
            mismatch()
            return
        name = str(s[GO_TYPE]).split(".", 1)[1]
        props = s["properties"]
        for key, item in value.items():
            if str(key) in props:
                _check(item, props[str(key)], name, (*fields, str(key)), rt, found)
        return
    type_ = s.get("type")
    fmt = s.get("format")
    if fmt in ("date-time", "date"):
        # metav1.Time / MicroTime unmarshal a JSON string themselves, with encoding/json: no field context.
        if kind != "string":
            found.append(f"json: cannot unmarshal {kind} into Go value of type string")
        return
    if isinstance(s.get("additionalProperties"), dict):
        if kind != "object":
            mismatch()
            return
        for item in value.values():
            _check(item, s["additionalProperties"], struct, fields, rt, found)
    elif type_ == "array" and isinstance(s.get("items"), dict):
        if kind != "array":
            mismatch()
            return
        for item in value:
            _check(item, s["items"], struct, fields, rt, found)
    elif type_ == "string":
        if kind != "string":
            mismatch()
        elif fmt == "byte" and isinstance(value, str):
            _check_base64(value, found)
    elif type_ == "boolean":
        if kind != "bool":
            mismatch()
    elif type_ == "integer":
        if kind != "number":
            mismatch()
            return
        low, high = _INT_RANGES[_type_name(s, struct, fields[-1] if fields else "", rt)]
        if isinstance(value, float) or not low <= value <= high:
            mismatch(f"number {value}")
    elif type_ == "number" and kind != "number":
        mismatch()


def _check_base64(text: str, found: list[str]) -> None:
    """``[]byte`` fields are base64 (``StdEncoding``): a character outside the alphabet is reported at its offset."""
    for offset, char in enumerate(text):
        if char not in _BASE64_ALPHABET:
            found.append(f"illegal base64 data at input byte {offset}")
            return


# ---------------------------------------------------------------------------------------------------------
# Errors


class DecodingError(errors.APIError):
    """A body that does not decode into the kind (handlers' ``transformDecodeError``): 400 BadRequest,
    ``<Kind> in version "<v>" cannot be handled as a <Kind>: <detail>``. A PATCH turns it into 422 on the
    ``patch`` field (see :func:`patch_error`)."""

    def __init__(self, rt: ResourceType, detail: str) -> None:
        super().__init__(400, "BadRequest", f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
                                            f"{detail}")
        self.detail = detail


def patch_error(exc: DecodingError, patched: Mapping[str, Any]) -> errors.APIError:
    """handlers/patch.go: the patched object does not decode: ``errors.NewInvalid(schema.GroupKind{}, "",
    field.Invalid(field.NewPath("patch"), <patched object>, <decoding error>))``."""
    text = validation.go_quote(_compact_json(patched))
    return errors.invalid("", "", "", [errors.Cause(errors.FIELD_INVALID, f"Invalid value: {text}: {exc.detail}",
                                                    "patch")])


def _compact_json(value: Mapping[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)
