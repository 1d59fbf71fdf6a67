"""What kube-apiserver's apiextensions does with a CRD version's structural ``openAPIV3Schema``.

Pure functions on plain JSON-decoded values (``dict``/``list``/``str``/``int``/``float``/``bool``/``None``),
the schema being the ``openAPIV3Schema`` dict exactly as it appears in the CRD:

* :func:`validate_crd_schema` -- the schema checks of CRD create/update: structurality
  (apiextensions-apiserver ``pkg/apiserver/schema/validation.go`` and ``complete.go``), the OpenAPI checks of
  ``pkg/apis/apiextensions/validation/validation.go`` (``ValidateCustomResourceDefinitionOpenAPISchema``,
  list/map types, ``x-kubernetes-validations`` fields) and that defaults validate and are pruned
  (``pkg/apiserver/schema/defaulting/validation.go``).
* :func:`prune` -- ``pkg/apiserver/schema/pruning/algorithm.go`` with unknown-field path tracking.
* :func:`apply_defaults` -- ``defaulting/prunenulls.go`` then ``defaulting/algorithm.go``.
* :func:`validate` -- kube-openapi's ``pkg/validation/validate`` schema validator as apiextensions drives it
  for custom resources, with the errors converted like ``apiserver/validation/validation.go``
  (``kubeOpenAPIResultToFieldErrors``), plus ``schema/listtype/validation.go`` (set/map duplicates).

Errors are :class:`~smk8s.emulators.kube.errors.Cause` values whose ``message`` is what
``field.Error.ErrorBody()`` renders (``Invalid value: "string": spec.replicas in body must be of type integer:
"string"``) and whose ``field`` is the ``field.Path`` string (``spec.items[0].name``,
``...properties[spec].type``). The ``field_*`` helpers build such causes and are shared with :mod:`.cel`.
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime
import decimal
import ipaddress
import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from smk8s.emulators.kube.errors import (
    FIELD_DUPLICATE,
    FIELD_FORBIDDEN,
    FIELD_INVALID,
    FIELD_NOT_SUPPORTED,
    FIELD_REQUIRED,
    FIELD_TOO_LONG,
    FIELD_TOO_MANY,
    FIELD_TYPE_INVALID,
    Cause,
)

Schema = dict[str, Any]

NIL_PATH: Final = "<nil>"
"""How ``field.Path`` renders a nil path: the field of kube-openapi errors that name no property."""

OMIT: Final = object()
"""A bad value that ``ErrorBody`` leaves out (``field.OmitValueType``): ``Invalid value: <detail>``."""

META_FIELDS: Final = frozenset({"apiVersion", "kind", "metadata"})
OPENAPI_V3_TYPES: Final = ("array", "boolean", "integer", "number", "object", "string")
RULE_REASONS: Final = (
    "FieldValueDuplicate",
    "FieldValueForbidden",
    "FieldValueInvalid",
    "FieldValueRequired",
)

# ----------------------------------------------------------------------------------------------------
# field.Path and field.Error rendering (k8s.io/apimachinery/pkg/util/validation/field)
# ----------------------------------------------------------------------------------------------------


def child(path: str, name: str) -> str:
    """``path.Child(name)``: ``spec`` + ``replicas`` -> ``spec.replicas`` (an empty path is the root)."""
    return f"{path}.{name}" if path else name


def key(path: str, k: str) -> str:
    """``path.Key(k)``: ``properties`` + ``spec`` -> ``properties[spec]``."""
    return f"{path}[{k}]"


def index(path: str, i: int) -> str:
    """``path.Index(i)``: ``items`` + 0 -> ``items[0]``."""
    return f"{path}[{i}]"


def go_float(value: float) -> str:
    """A float64 as Go's ``%v`` prints it (shortest digits, ``%e`` form when the exponent is < -4 or >= 6)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    sign = "-" if value < 0 else ""
    digits_tuple = decimal.Decimal(repr(abs(value))).normalize().as_tuple()
    digits = "".join(str(d) for d in digits_tuple.digits)
    exponent = int(digits_tuple.exponent) + len(digits) - 1
    if exponent < -4 or exponent >= 6:  # strconv 'g' with the shortest precision uses eprec 6
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    text = format(decimal.Decimal(repr(abs(value))), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return sign + text


def go_quote(text: str) -> str:
    """Go's ``%q`` of a string (close enough: JSON escaping, non-ASCII kept)."""
    return json.dumps(text, ensure_ascii=False)


@dataclass(frozen=True)
class GoLiteral:
    """A bad value rendered verbatim (what Go's ``%#v`` prints for a struct, e.g. a ValidationRule)."""

    text: str


def go_value(value: Any) -> str:
    """A bad value as ``field.Error.ErrorBody`` renders it: simple types ``%v``, strings ``%q``, else JSON."""
    if isinstance(value, GoLiteral):
        return value.text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, str):
        return go_quote(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False, default=str)


def _body(type_text: str, value: Any, detail: str) -> str:
    text = type_text if value is OMIT else f"{type_text}: {go_value(value)}"
    return f"{text}: {detail}" if detail else text


def field_invalid(path: str, value: Any, detail: str) -> Cause:
    """``field.Invalid``: ``Invalid value: <value>: <detail>``."""
    return Cause(FIELD_INVALID, _body("Invalid value", value, detail), path)


def field_type_invalid(path: str, value: Any, detail: str) -> Cause:
    """``field.TypeInvalid``: rendered like Invalid, reason ``FieldValueTypeInvalid``."""
    return Cause(FIELD_TYPE_INVALID, _body("Invalid value", value, detail), path)


def field_required(path: str, detail: str = "") -> Cause:
    """``field.Required``: ``Required value[: <detail>]``."""
    return Cause(FIELD_REQUIRED, f"Required value: {detail}" if detail else "Required value", path)


def field_forbidden(path: str, detail: str) -> Cause:
    """``field.Forbidden``: ``Forbidden: <detail>``."""
    return Cause(FIELD_FORBIDDEN, f"Forbidden: {detail}" if detail else "Forbidden", path)


def field_duplicate(path: str, value: Any) -> Cause:
    """``field.Duplicate``: ``Duplicate value: <value>``."""
    return Cause(FIELD_DUPLICATE, _body("Duplicate value", value, ""), path)


def field_not_supported(path: str, value: Any, supported: list[str]) -> Cause:
    """``field.NotSupported``: ``Unsupported value: <value>: supported values: "a", "b"``."""
    detail = "supported values: " + ", ".join(go_quote(s) for s in supported) if supported else ""
    return Cause(FIELD_NOT_SUPPORTED, _body("Unsupported value", value, detail), path)


def field_too_long(path: str, max_length: int) -> Cause:
    """``field.TooLong``: ``Too long: may not be more than N bytes``."""
    if max_length < 0:
        return Cause(FIELD_TOO_LONG, "Too long: value is too long", path)
    unit = "byte" if max_length == 1 else "bytes"
    return Cause(FIELD_TOO_LONG, f"Too long: may not be more than {max_length} {unit}", path)


def field_too_many(path: str, actual: int, maximum: int) -> Cause:
    """``field.TooMany``: ``Too many: <actual>: must have at most N items``."""
    unit = "item" if maximum == 1 else "items"
    detail = f"must have at most {maximum} {unit}" if maximum >= 0 else "has too many items"
    return Cause(FIELD_TOO_MANY, _body("Too many", actual if actual >= 0 else OMIT, detail), path)


def cause_text(cause: Cause) -> str:
    """``field.Error.Error()``: ``<field>: <body>``, the key upstream sorts structural errors by."""
    return f"{cause.field}: {cause.message}"


# ----------------------------------------------------------------------------------------------------
# Schema accessors
# ----------------------------------------------------------------------------------------------------


def _props(s: Schema | None) -> dict[str, Schema]:
    props = (s or {}).get("properties")
    return props if isinstance(props, dict) else {}


def _items(s: Schema | None) -> Schema | None:
    items = (s or {}).get("items")
    return items if isinstance(items, dict) else None


def _additional(s: Schema | None) -> Schema | None:
    """The additionalProperties schema (``None`` for ``true``/``false``/absent)."""
    ap = (s or {}).get("additionalProperties")
    return ap if isinstance(ap, dict) else None


def _has_additional(s: Schema | None) -> bool:
    """Whether additionalProperties is given at all (structural ``AdditionalProperties != nil``)."""
    return (s or {}).get("additionalProperties") is not None


def _flag(s: Schema | None, name: str) -> bool:
    return bool((s or {}).get(name))


def _types(s: Schema) -> list[str]:
    """The OpenAPI types kube-openapi checks: int-or-string is ``integer,string`` (ConvertJSONSchemaProps)."""
    if s.get("x-kubernetes-int-or-string"):
        return ["integer", "string"]
    return [s["type"]] if s.get("type") else []


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


# ----------------------------------------------------------------------------------------------------
# String formats (apiextensions validation/formats.go: only these are checked, others are stripped)
# ----------------------------------------------------------------------------------------------------

_RX_HOSTNAME = re.compile(
    r"^(?=.{1,255}$)[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?)*\.?$"
)
_RX_UUID = re.compile(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$")
_RX_UUID3 = re.compile(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$")
_RX_UUID4 = re.compile(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$")
_RX_UUID5 = re.compile(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$")
_RX_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")
_RX_TIME = re.compile(r"^([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$")
_RX_DURATION = re.compile(
    r"^(([+-]?(\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+|0)$"
    r"|^[1-9]\d*\s?(ns|us|µs|ms|s|m|h|d|w|nano(seconds?)?|micro(seconds?)?|milli(seconds?)?|"
    r"sec(onds?)?|min(utes?)?|hours?|days?|weeks?)$"
)
_RX_QUANTITY = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")
_RX_MAC = re.compile(r"^([0-9A-Fa-f]{2}[:-]){5}([0-9A-Fa-f]{2})$|^([0-9A-Fa-f]{4}\.){2}[0-9A-Fa-f]{4}$")
_RX_HEXCOLOR = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_RX_RGBCOLOR = re.compile(r"^rgb\(\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*\)$")
_RX_SSN = re.compile(r"^\d{3}[- ]?\d{2}[- ]?\d{4}$")
_RX_BSON = re.compile(r"^[0-9a-fA-F]{24}$")
_RX_SHORT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_RX_LONG_NAME_SEGMENT = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_RX_ISBN10 = re.compile(r"^(?:[0-9]{9}X|[0-9]{10})$")
_RX_ISBN13 = re.compile(r"^(?:[0-9]{13})$")
_RX_CREDITCARD = re.compile(
    r"^(?:4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|6(?:011|5[0-9][0-9])[0-9]{12}|3[47][0-9]{13}|"
    r"3(?:0[0-5]|[68][0-9])[0-9]{11}|(?:2131|1800|35\d{3})\d{11})$"
)


def _is_date(text: str) -> bool:
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def _is_datetime(text: str) -> bool:
    lowered = text.lower()
    if len(lowered) < 4 or "t" not in lowered:
        return False
    date_part, _, time_part = lowered.partition("t")
    return _is_date(date_part) and bool(_RX_TIME.match(time_part))


def _is_byte(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _is_ip(text: str, version: int) -> bool:
    try:
        return ipaddress.ip_address(text).version == version
    except ValueError:
        return False


def _is_cidr(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return "/" in text


def _is_uri(text: str) -> bool:
    # net/url.ParseRequestURI: an absolute URI (scheme:...) or an absolute path
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:\S*$", text) or re.match(r"^/\S*$", text))


def _is_isbn(text: str) -> bool:
    digits = re.sub(r"[\s-]", "", text)
    return bool(_RX_ISBN10.match(digits) or _RX_ISBN13.match(digits))


def _is_long_name(text: str) -> bool:
    return 0 < len(text) <= 253 and all(_RX_LONG_NAME_SEGMENT.match(seg) for seg in text.split("."))


_FORMAT_CHECKS: Final[dict[str, Callable[[str], bool]]] = {
    "bsonobjectid": lambda s: bool(_RX_BSON.match(s)),
    "uri": _is_uri,
    "email": lambda s: bool(_RX_EMAIL.match(s)),
    "hostname": lambda s: bool(_RX_HOSTNAME.match(s)),
    "ipv4": lambda s: _is_ip(s, 4),
    "ipv6": lambda s: _is_ip(s, 6),
    "cidr": _is_cidr,
    "mac": lambda s: bool(_RX_MAC.match(s)),
    "uuid": lambda s: bool(_RX_UUID.match(s)),
    "uuid3": lambda s: bool(_RX_UUID3.match(s)),
    "uuid4": lambda s: bool(_RX_UUID4.match(s)),
    "uuid5": lambda s: bool(_RX_UUID5.match(s)),
    "isbn": _is_isbn,
    "isbn10": lambda s: bool(_RX_ISBN10.match(re.sub(r"[\s-]", "", s))),
    "isbn13": lambda s: bool(_RX_ISBN13.match(re.sub(r"[\s-]", "", s))),
    "creditcard": lambda s: bool(_RX_CREDITCARD.match(re.sub(r"\D", "", s))),
    "ssn": lambda s: bool(_RX_SSN.match(s)),
    "hexcolor": lambda s: bool(_RX_HEXCOLOR.match(s)),
    "rgbcolor": lambda s: bool(_RX_RGBCOLOR.match(s)),
    "byte": _is_byte,
    "password": lambda s: True,
    "date": _is_date,
    "duration": lambda s: bool(_RX_DURATION.match(s)),
    "datetime": _is_datetime,
    "quantity": lambda s: bool(_RX_QUANTITY.match(s)),
    "k8sshortname": lambda s: len(s) <= 63 and bool(_RX_SHORT_NAME.match(s)),
    "k8slongname": _is_long_name,
}


def effective_format(s: Schema) -> str:
    """The format kube-openapi validates: unsupported formats are stripped (StripUnsupportedFormats...)."""
    fmt = s.get("format") or ""
    if not isinstance(fmt, str) or not fmt:
        return ""
    schema_type = "" if s.get("x-kubernetes-int-or-string") else (s.get("type") or "")
    if schema_type in ("", "string"):
        return fmt if fmt.replace("-", "") in _FORMAT_CHECKS else ""
    if schema_type == "integer":
        return fmt if fmt in ("int32", "int64") else ""
    if schema_type == "number":
        return fmt if fmt in ("float", "double") else ""
    return ""


# ----------------------------------------------------------------------------------------------------
# validate: kube-openapi SchemaValidator semantics
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Err:
    """One kube-openapi error before conversion; ``name`` is its body path (``""`` root, ``.x`` required)."""

    kind: (
        str  # "validation" (errors.Validation with a name) or "composite" (errors.New: reported at the base)
    )
    name: str
    cause: Callable[[str], Cause]  # builds the Cause given the converted field path


def _openapi_path(base: str, name: str) -> str:
    """``kubeOpenAPIResultToFieldErrors``: base path (nil for CRs) + the error name minus its first dot."""
    if name and name != ".":
        return child(base, name[1:] if name.startswith(".") else name)
    return base or NIL_PATH


class _Validator:
    """kube-openapi's SchemaValidator on a JSON value; ``errors`` are in validator order."""

    def __init__(self) -> None:
        self.errors: list[_Err] = []

    # -- error constructors mirroring kube-openapi errors/schema.go + the apiextensions conversion --

    def _type_error(self, name: str, type_name: str, value: str) -> None:
        message = f"{name} in body must be of type {type_name}: {go_quote(value)}"
        self.errors.append(_Err("validation", name, lambda p: field_type_invalid(p, value, message)))

    def _invalid(self, name: str, value: Any, message: str) -> None:
        self.errors.append(_Err("validation", name, lambda p: field_invalid(p, value, message)))

    def _composite(self, message: str) -> None:
        self.errors.append(_Err("composite", "", lambda p: field_invalid(p, "", message)))

    def run(self, value: Any, s: Schema, name: str) -> None:
        """Validate ``value`` against ``s``; ``name`` is the kube-openapi path (``spec.items[0]``)."""
        self._type(value, s, name)
        if value is None:
            self._enum(value, s, name)
            return
        self._schema_props(value, s, name)
        if isinstance(value, str):
            self._string(value, s, name)
            self._format(value, s, name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            self._number(value, s, name)
        if isinstance(value, list):
            self._slice(value, s, name)
        self._enum(value, s, name)
        if isinstance(value, dict):
            self._object(value, s, name)

    def _type(self, value: Any, s: Schema, name: str) -> None:
        types = _types(s)
        fmt = effective_format(s)
        if not types and not fmt:
            return
        if value is None:
            if types and "null" not in types and not s.get("nullable"):
                self._type_error(name, ",".join(types), "null")
            return
        sch_type = _json_type(value)
        data_format = {"integer": "int64", "number": "float64"}.get(sch_type, "")
        is_float_int = sch_type == "number" and float(value).is_integer() and "integer" in types
        is_int_float = sch_type == "integer" and "number" in types
        is_lower_int = fmt == "int64" and data_format == "int32"
        if (
            sch_type not in ("string", "array")
            and fmt
            and not (sch_type in types or data_format == fmt or is_float_int or is_int_float or is_lower_int)
        ):
            self._type_error(name, fmt, data_format)
            return
        if "number" not in types and "integer" not in types and fmt and sch_type in ("string", "array"):
            return
        if not (sch_type in types or is_float_int or is_int_float):
            self._type_error(name, ",".join(types), sch_type)

    def _schema_props(self, value: Any, s: Schema, name: str) -> None:
        any_of = s.get("anyOf") or []
        if any_of:
            results = [self._sub(value, branch, name) for branch in any_of]
            if not any(not r for r in results):
                self._composite(f"{go_quote(name)} must validate at least one schema (anyOf)")
                self.errors.extend(_fewest(results))
        one_of = s.get("oneOf") or []
        if one_of:
            results = [self._sub(value, branch, name) for branch in one_of]
            valid = sum(1 for r in results if not r)
            if valid != 1:
                extra = "Found none valid" if valid == 0 else f"Found {valid} valid alternatives"
                self._composite(f"{go_quote(name)} must validate one and only one schema (oneOf). {extra}")
                if valid == 0:
                    self.errors.extend(_fewest(results))
        all_of = s.get("allOf") or []
        if all_of:
            results = [self._sub(value, branch, name) for branch in all_of]
            for r in results:
                self.errors.extend(r)
            valid = sum(1 for r in results if not r)
            if valid != len(all_of):
                extra = ". None validated" if valid == 0 else ""
                self._composite(f"{go_quote(name)} must validate all the schemas (allOf){extra}")
        not_schema = s.get("not")
        if isinstance(not_schema, dict) and not self._sub(value, not_schema, name):
            self._composite(f"{go_quote(name)} must not validate the schema (not)")

    def _sub(self, value: Any, s: Schema, name: str) -> list[_Err]:
        sub = _Validator()
        sub.run(value, s, name)
        return sub.errors

    def _string(self, value: str, s: Schema, name: str) -> None:
        max_length, min_length, pattern = s.get("maxLength"), s.get("minLength"), s.get("pattern")
        if isinstance(max_length, int) and len(value) > max_length:
            self.errors.append(_Err("validation", name, lambda p: field_too_long(p, max_length)))
            return
        if isinstance(min_length, int) and len(value) < min_length:
            self._invalid(name, value, f"{name} in body should be at least {min_length} chars long")
            return
        if isinstance(pattern, str) and pattern:
            try:
                matched = re.search(pattern, value) is not None
            except re.error as exc:
                self._invalid(
                    name, value, f"{name} in body should match '{pattern}, but pattern is invalid: {exc}'"
                )
                return
            if not matched:
                self._invalid(name, value, f"{name} in body should match '{pattern}'")

    def _format(self, value: str, s: Schema, name: str) -> None:
        fmt = effective_format(s)
        check = _FORMAT_CHECKS.get(fmt.replace("-", "")) if fmt else None
        if check is not None and not check(value):
            self._type_error(name, fmt, value)

    def _number(self, value: float, s: Schema, name: str) -> None:
        def bound(limit: float) -> str:
            return str(int(limit)) if isinstance(value, int) else go_float(float(limit))

        multiple_of = s.get("multipleOf")
        if isinstance(multiple_of, (int, float)) and multiple_of > 0:
            ratio = value / multiple_of
            if not float(ratio).is_integer():
                self._invalid(name, value, f"{name} in body should be a multiple of {bound(multiple_of)}")
        minimum = s.get("minimum")
        if isinstance(minimum, (int, float)):
            exclusive = bool(s.get("exclusiveMinimum"))
            if value < minimum or (exclusive and value == minimum):
                op = "greater than" if exclusive else "greater than or equal to"
                self._invalid(name, value, f"{name} in body should be {op} {bound(minimum)}")
        maximum = s.get("maximum")
        if isinstance(maximum, (int, float)):
            exclusive = bool(s.get("exclusiveMaximum"))
            if value > maximum or (exclusive and value == maximum):
                op = "less than" if exclusive else "less than or equal to"
                self._invalid(name, value, f"{name} in body should be {op} {bound(maximum)}")

    def _slice(self, value: list[Any], s: Schema, name: str) -> None:
        items = _items(s)
        if items is not None:
            for i, item in enumerate(value):
                self.run(item, items, index(name, i))
        min_items, max_items = s.get("minItems"), s.get("maxItems")
        if isinstance(min_items, int) and len(value) < min_items:
            self._invalid(name, len(value), f"{name} in body should have at least {min_items} items")
        if isinstance(max_items, int) and len(value) > max_items:
            size = len(value)
            self.errors.append(_Err("validation", name, lambda p: field_too_many(p, size, max_items)))
        if s.get("uniqueItems"):
            seen: list[Any] = []
            for item in value:
                if any(_deep_equal(item, other) for other in seen):
                    self._invalid(name, "", f"{name} in body shouldn't contain duplicates")
                    break
                seen.append(item)

    def _enum(self, value: Any, s: Schema, name: str) -> None:
        enum = s.get("enum")
        if not isinstance(enum, list) or not enum:
            return
        if value is not None and any(_enum_equal(value, candidate) for candidate in enum):
            return
        supported = [c if isinstance(c, str) else json.dumps(c, separators=(",", ":")) for c in enum]
        self.errors.append(_Err("validation", name, lambda p: field_not_supported(p, value, supported)))

    def _object(self, value: dict[str, Any], s: Schema, name: str) -> None:
        count = len(value)
        min_props, max_props = s.get("minProperties"), s.get("maxProperties")
        if isinstance(min_props, int) and count < min_props:
            self._invalid(name, count, f"{name} in body should have at least {min_props} properties")
            return
        if isinstance(max_props, int) and count > max_props:
            self.errors.append(_Err("validation", name, lambda p: field_too_many(p, count, max_props)))
            return
        props = _props(s)
        ap = s.get("additionalProperties")
        if ap is False:
            for k in sorted(value):
                if k not in props:
                    self._invalid(name, k, f"{name}.{k} in body is a forbidden property")
        elif isinstance(ap, dict):
            for k in sorted(value):
                if k not in props:
                    self.run(value[k], ap, f"{name}.{k}")
        for k in sorted(props):
            if k in value:
                self.run(value[k], props[k], child(name, k))
        for k in s.get("required") or []:
            if k not in value:
                self.errors.append(_Err("validation", f"{name}.{k}", lambda p: field_required(p)))


def _fewest(results: list[list[_Err]]) -> list[_Err]:
    """The failing branch kube-openapi reports: most passing checks (approximated as fewest errors)."""
    best = results[0]
    for result in results[1:]:
        if len(result) < len(best):
            best = result
    return best


def _enum_equal(value: Any, candidate: Any) -> bool:
    if isinstance(value, bool) or isinstance(candidate, bool):
        return value is candidate
    if isinstance(value, (int, float)) and isinstance(candidate, (int, float)):
        return value == candidate
    return _deep_equal(value, candidate)


def _deep_equal(a: Any, b: Any) -> bool:
    """Go ``reflect.DeepEqual`` on JSON values: ``1`` (int64) differs from ``1.0`` (float64)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_deep_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_deep_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _list_type_errors(value: Any, s: Schema | None, path: str) -> Iterator[Cause]:
    """``listtype.ValidateListSetsAndMaps``: duplicates in x-kubernetes-list-type set and map lists."""
    if s is None:
        return
    if isinstance(value, dict):
        ap = _additional(s)
        props = _props(s)
        for k in sorted(value):
            if k in props:
                yield from _list_type_errors(value[k], props[k], child(path, k))
            elif ap is not None:
                yield from _list_type_errors(value[k], ap, key(path, k))
        return
    if not isinstance(value, list):
        return
    list_type = s.get("x-kubernetes-list-type")
    if list_type == "set":
        for i in _first_repeats([_identity(x) for x in value]):
            yield field_duplicate(index(path, i), value[i])
    elif list_type == "map":
        yield from _map_list_duplicates(value, s, path)
    items = _items(s)
    if items is not None:
        for i, item in enumerate(value):
            yield from _list_type_errors(item, items, index(path, i))


def _identity(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":")) + ":" + _json_type(value)


def _first_repeats(identities: list[str]) -> list[int]:
    """Indices of the second occurrence of each repeated identity (``validateListSet``)."""
    counts: dict[str, int] = {}
    repeats = []
    for i, ident in enumerate(identities):
        counts[ident] = counts.get(ident, 0) + 1
        if counts[ident] == 2:
            repeats.append(i)
    return repeats


def map_list_key(item: Any, keys: list[str]) -> dict[str, Any]:
    """The key of a map-list item: its values of ``x-kubernetes-list-map-keys`` that are set."""
    if not isinstance(item, dict):
        return {}
    return {k: item[k] for k in keys if k in item}


def _map_list_duplicates(value: list[Any], s: Schema, path: str) -> Iterator[Cause]:
    for i, item in enumerate(value):
        if item is not None and not isinstance(item, dict):
            yield field_invalid(index(path, i), item, "must be an object for an array of list-type map")
            return
    keys = [k for k in s.get("x-kubernetes-list-map-keys") or [] if isinstance(k, str)]
    item_keys = [map_list_key(item, keys) for item in value]
    for i in _first_repeats([_identity(k) for k in item_keys]):
        yield field_duplicate(index(path, i), item_keys[i])


def validate(obj: Any, schema: Schema, *, old_obj: Any = None, base_path: str = "") -> list[Cause]:
    """OpenAPI v3 validation of a custom resource (or any value) as kube-apiserver does it.

    ``base_path`` is the ``field.Path`` errors hang from: empty for custom resources (a nil path, so errors on
    the whole body have field ``<nil>`` like upstream), ``...properties[x].default`` for defaults.
    ``metadata`` at the root is not validated (the server validates ObjectMeta) except ``name`` and
    ``generateName`` against the constraints the schema gives them. With ``old_obj`` (an update), errors are
    ratcheted like CRDValidationRatcheting: subtrees equal to the old value at the same path are not
    validated.
    """
    root_schema = schema
    if isinstance(obj, dict):
        root_schema = _without_metadata(schema)
    if old_obj is not None:
        return _validate_ratcheting(obj, old_obj, root_schema, base_path)
    validator = _Validator()
    validator.run(obj, root_schema, "")
    causes = [
        e.cause(base_path or NIL_PATH if e.kind == "composite" else _openapi_path(base_path, e.name))
        for e in validator.errors
    ]
    causes.extend(_list_type_errors(obj, schema, base_path))
    return causes


def _without_metadata(schema: Schema) -> Schema:
    """The root schema with ``metadata`` restricted to what the schema may say of name and generateName."""
    props = _props(schema)
    meta = props.get("metadata")
    if not isinstance(meta, dict):
        return schema
    kept = {k: v for k, v in _props(meta).items() if k in ("name", "generateName")}
    new_meta: Schema = {"type": "object", "properties": kept} if kept else {}
    return {**schema, "properties": {**props, "metadata": new_meta}}


def _validate_ratcheting(obj: Any, old: Any, s: Schema, base_path: str) -> list[Cause]:
    """Validate ``obj`` but skip every property/item subtree whose correlated old value is unchanged."""
    trimmed = _ratchet_schema(obj, old, s)
    return validate(obj, trimmed, base_path=base_path)


def _ratchet_schema(obj: Any, old: Any, s: Schema) -> Schema:
    if _deep_equal(obj, old):
        return {"x-kubernetes-preserve-unknown-fields": True}
    if isinstance(obj, dict) and isinstance(old, dict) and _props(s):
        props = {
            k: (_ratchet_schema(obj[k], old.get(k), v) if k in obj and k in old else v)
            for k, v in _props(s).items()
        }
        return {**s, "properties": props}
    return s


# ----------------------------------------------------------------------------------------------------
# prune and defaulting
# ----------------------------------------------------------------------------------------------------


def prune(obj: dict[str, Any], schema: Schema) -> list[str]:
    """Remove, in place, every field of the custom resource ``obj`` that ``schema`` does not specify.

    The root and ``x-kubernetes-embedded-resource`` objects keep ``apiVersion``, ``kind`` and ``metadata``
    (ObjectMeta is the server's business). ``x-kubernetes-preserve-unknown-fields`` keeps unknown fields
    (while still pruning inside the properties it specifies), ``additionalProperties`` keeps every key.
    Returns the pruned fields' paths (``spec.foo``, ``spec.items[0].bar``) sorted as Go's ``sort.Strings``
    does, the form of fieldValidation's ``unknown field "spec.foo"``.
    """
    pruned: list[str] = []
    root = {**schema, "x-kubernetes-embedded-resource": True}
    _prune(obj, root, "", pruned)
    return sorted(pruned, key=lambda p: p.encode())


def _prune(value: Any, s: Schema | None, path: str, pruned: list[str]) -> None:
    if s is not None and s.get("x-kubernetes-preserve-unknown-fields"):
        _skip_prune(value, s, path, pruned)
        return
    if isinstance(value, dict):
        if s is None:
            pruned.extend(child(path, k) for k in value)
            value.clear()
            return
        props = _props(s)
        for k in list(value):
            if s.get("x-kubernetes-embedded-resource") and k in META_FIELDS:
                continue
            if k in props:
                _prune(value[k], props[k], child(path, k), pruned)
            elif _has_additional(s):
                _prune(value[k], _additional(s), child(path, k), pruned)
            else:
                if k not in META_FIELDS or path:
                    pruned.append(child(path, k))
                del value[k]
    elif isinstance(value, list):
        items = _items(s) if s is not None else None
        for i, item in enumerate(value):
            _prune(item, items, index(path, i), pruned)


def _skip_prune(value: Any, s: Schema, path: str, pruned: list[str]) -> None:
    if isinstance(value, dict):
        props = _props(s)
        for k in list(value):
            if s.get("x-kubernetes-embedded-resource") and k in META_FIELDS:
                continue
            if k in props:
                _prune(value[k], props[k], child(path, k), pruned)
            elif _has_additional(s):
                _prune(value[k], _additional(s), child(path, k), pruned)
    elif isinstance(value, list):
        items = _items(s)
        if items is not None:
            for i, item in enumerate(value):
                _skip_prune(item, items, index(path, i), pruned)


def apply_defaults(obj: Any, schema: Schema) -> None:
    """Structural defaulting in place, as the CR decoding path does it.

    First drops non-nullable nulls that have no default (``PruneNonNullableNullsWithoutDefaults``), then sets
    the ``default`` of every absent property -- and of every non-nullable property, additionalProperties value
    or array item that is ``null`` -- recursing into objects, additionalProperties and array items. Defaults
    are deep-copied.
    """
    _prune_nulls(obj, schema)
    _default(obj, schema)


def _is_non_nullable_null(value: Any, s: Schema | None) -> bool:
    return value is None and s is not None and not s.get("nullable")


def _schema_for_field(k: str, s: Schema | None) -> Schema | None:
    if s is None:
        return None
    props = _props(s)
    if k in props:
        return props[k]
    ap = s.get("additionalProperties")
    return ap if isinstance(ap, dict) else None


def _prune_nulls(value: Any, s: Schema | None) -> None:
    if isinstance(value, dict):
        for k in list(value):
            sub = _schema_for_field(k, s)
            if _is_non_nullable_null(value[k], sub) and sub is not None and sub.get("default") is None:
                del value[k]
            else:
                _prune_nulls(value[k], sub)
    elif isinstance(value, list):
        items = _items(s)
        for item in value:
            _prune_nulls(item, items)


def _default(value: Any, s: Schema | None) -> None:
    if s is None:
        return
    if isinstance(value, dict):
        props = _props(s)
        for k in sorted(props):
            prop = props[k]
            absent = k not in value or _is_non_nullable_null(value[k], prop)
            if prop.get("default") is not None and absent:
                value[k] = copy.deepcopy(prop["default"])
        ap = s.get("additionalProperties")
        for k in list(value):
            if k in props:
                _default(value[k], props[k])
            elif isinstance(ap, dict):
                if _is_non_nullable_null(value[k], ap):
                    value[k] = copy.deepcopy(ap.get("default"))
                _default(value[k], ap)
    elif isinstance(value, list):
        items = _items(s)
        for i in range(len(value)):
            if _is_non_nullable_null(value[i], items) and items is not None:
                value[i] = copy.deepcopy(items.get("default"))
            _default(value[i], items)


# ----------------------------------------------------------------------------------------------------
# validate_crd_schema
# ----------------------------------------------------------------------------------------------------

_NESTED_FORBIDDEN: Final = (
    ("additionalProperties", "must be undefined to be structural"),
    ("default", "must be undefined to be structural"),
    ("title", "must be empty to be structural"),
    ("description", "must be empty to be structural"),
    ("nullable", "must be false to be structural"),
    ("externalDocs", "must be undefined to be structural"),
    ("x-kubernetes-preserve-unknown-fields", "must be false to be structural"),
    ("x-kubernetes-embedded-resource", "must be false to be structural"),
    ("x-kubernetes-int-or-string", "must be false to be structural"),
    ("x-kubernetes-list-map-keys", "must be empty to be structural"),
    ("x-kubernetes-list-type", "must be undefined to be structural"),
    ("x-kubernetes-map-type", "must be undefined to be structural"),
    ("x-kubernetes-validations", "must be empty to be structural"),
)
_INT_OR_STRING_ANY_OF: Final = [{"type": "integer"}, {"type": "string"}]


def _is_set(s: Schema, name: str) -> bool:
    """Whether a schema field has a non-zero value (Go zero values count as unset)."""
    value = s.get(name)
    return value not in (None, False, "", [], {})


def validate_crd_schema(schema: Schema, path: str) -> list[Cause]:
    """The checks kube-apiserver makes of a CRD version's ``openAPIV3Schema`` on CRD create and update.

    ``path`` is where the schema sits, e.g. ``spec.versions[0].schema.openAPIV3Schema``. Returns structural
    errors (sorted like ``ValidateStructural``), else errors of defaults that do not validate or are not
    pruned, followed by the OpenAPI-level checks. CEL rules are compiled by
    :func:`smk8s.emulators.kube.cel.compile_rules`, which upstream only does when this returns nothing.
    """
    causes: list[Cause] = []
    if schema.get("nullable"):
        causes.append(field_forbidden(child(path, "nullable"), "nullable cannot be true at the root"))
    structural = _structural_invariants(schema, "root", path) + _completeness(schema, path)
    structural.sort(key=cause_text)
    causes.extend(structural)
    if not structural:
        causes.extend(_default_errors(schema, path, True))
    causes.extend(_OpenAPIChecker().check(schema, path, is_root=True))
    return causes


def _structural_invariants(s: Schema, level: str, path: str) -> list[Cause]:
    errs: list[Cause] = []
    schema_type = s.get("type") or ""
    if schema_type == "array" and not isinstance(s.get("items"), dict):
        errs.append(field_required(child(path, "items"), "must be specified"))
    items = _items(s)
    if items is not None:
        errs.extend(_structural_invariants(items, "item", child(path, "items")))
    for k in sorted(_props(s)):
        errs.extend(_structural_invariants(_props(s)[k], "field", key(child(path, "properties"), k)))
    if "additionalProperties" in s:
        if level == "root":
            errs.append(field_forbidden(child(path, "additionalProperties"), "must not be used at the root"))
        ap = s.get("additionalProperties")
        if isinstance(ap, dict):
            errs.extend(_structural_invariants(ap, "field", child(path, "additionalProperties")))
    int_or_string = _flag(s, "x-kubernetes-int-or-string")
    preserve = _flag(s, "x-kubernetes-preserve-unknown-fields")
    embedded = _flag(s, "x-kubernetes-embedded-resource")
    if int_or_string and preserve:
        errs.append(
            field_invalid(
                child(path, "x-kubernetes-preserve-unknown-fields"),
                True,
                "must be false if x-kubernetes-int-or-string is true",
            )
        )
    if int_or_string and embedded:
        errs.append(
            field_invalid(
                child(path, "x-kubernetes-embedded-resource"),
                True,
                "must be false if x-kubernetes-int-or-string is true",
            )
        )
    skip_any_of = s.get("anyOf") == _INT_OR_STRING_ANY_OF
    all_of = s.get("allOf") or []
    skip_first_all_of = (
        bool(all_of) and isinstance(all_of[0], dict) and all_of[0].get("anyOf") == _INT_OR_STRING_ANY_OF
    )
    errs.extend(_value_validation(s, skip_any_of, skip_first_all_of, path))
    if embedded and schema_type != "object":
        detail = "must be object if x-kubernetes-embedded-resource is true"
        errs.append(
            field_invalid(child(path, "type"), schema_type, detail)
            if schema_type
            else field_required(child(path, "type"), detail)
        )
    elif not schema_type and not int_or_string and not preserve:
        detail = {
            "root": "must not be empty at the root",
            "item": "must not be empty for specified array items",
            "field": "must not be empty for specified object fields",
        }[level]
        errs.append(field_required(child(path, "type"), detail))
    if embedded and "additionalProperties" in s:
        errs.append(
            field_forbidden(
                child(path, "additionalProperties"),
                "must not be used if x-kubernetes-embedded-resource is set",
            )
        )
    if level == "root" and schema_type and schema_type != "object":
        errs.append(field_invalid(child(path, "type"), schema_type, "must be object at the root"))
    check_metadata = level == "root" or embedded
    props = _props(s)
    for meta_field in ("kind", "apiVersion"):
        if meta_field in props and check_metadata and props[meta_field].get("type") != "string":
            errs.append(
                field_invalid(
                    child(key(child(path, "properties"), meta_field), "type"),
                    props[meta_field].get("type") or "",
                    "must be string",
                )
            )
    if "metadata" in props:
        errs.extend(
            _metadata_invariants(
                props["metadata"], check_metadata, level, key(child(path, "properties"), "metadata")
            )
        )
    if embedded and not preserve and not props:
        errs.append(
            field_required(
                child(path, "properties"),
                "must not be empty if x-kubernetes-embedded-resource "
                "is true without x-kubernetes-preserve-unknown-fields",
            )
        )
    return errs


def _metadata_invariants(s: Schema, check_metadata: bool, level: str, path: str) -> list[Cause]:
    errs: list[Cause] = []
    if check_metadata and s.get("type") != "object":
        errs.append(field_invalid(child(path, "type"), s.get("type") or "", "must be object"))
    if level == "root":
        rest = {
            k: v for k, v in s.items() if k not in ("type", "default") and v not in (None, False, "", [], {})
        }
        names = set(_props(s))
        if names and names <= {"name", "generateName"}:
            rest.pop("properties", None)
        if rest:
            errs.append(
                field_forbidden(
                    path,
                    "must not specify anything other than name and generateName, "
                    "but metadata is implicitly specified",
                )
            )
    return errs


def _value_validation(v: Schema, skip_any_of: bool, skip_first_all_of_any_of: bool, path: str) -> list[Cause]:
    errs: list[Cause] = []
    if not skip_any_of:
        for i, sub in enumerate(v.get("anyOf") or []):
            errs.extend(_nested(sub, False, index(child(path, "anyOf"), i)))
    for i, sub in enumerate(v.get("allOf") or []):
        errs.extend(_nested(sub, skip_first_all_of_any_of and i == 0, index(child(path, "allOf"), i)))
    for i, sub in enumerate(v.get("oneOf") or []):
        errs.extend(_nested(sub, False, index(child(path, "oneOf"), i)))
    if isinstance(v.get("not"), dict):
        errs.extend(_nested(v["not"], False, child(path, "not")))
    pattern = v.get("pattern")
    if isinstance(pattern, str) and pattern:
        try:
            re.compile(pattern)
        except re.error as exc:
            errs.append(
                field_invalid(
                    child(path, "pattern"), pattern, f"must be a valid regular expression, but isn't: {exc}"
                )
            )
    return errs


def _nested(v: Any, skip_any_of: bool, path: str) -> list[Cause]:
    if not isinstance(v, dict):
        return []
    errs = _value_validation(v, skip_any_of, False, path)
    if isinstance(v.get("items"), dict):
        errs.extend(_nested(v["items"], False, child(path, "items")))
    for k in sorted(_props(v)):
        errs.extend(_nested(_props(v)[k], False, key(child(path, "properties"), k)))
    if _is_set(v, "type"):
        errs.append(field_forbidden(child(path, "type"), "must be empty to be structural"))
    for name, detail in _NESTED_FORBIDDEN:
        present = name in v if name == "additionalProperties" else _is_set(v, name)
        if present:
            errs.append(field_forbidden(child(path, name), detail))
    if "metadata" in _props(v):
        errs.append(
            field_forbidden(
                key(child(path, "properties"), "metadata"), "must not be specified in a nested context"
            )
        )
    return errs


def _completeness(s: Schema, path: str) -> list[Cause]:
    """Every property or items a value validation (allOf/anyOf/oneOf/not) names must exist structurally."""
    return _vv_completeness(s, s, path, path)


def _vv_completeness(v: Schema, s: Schema | None, s_path: str, v_path: str) -> list[Cause]:
    errs: list[Cause] = []
    subs: list[tuple[Any, str]] = []
    if isinstance(v.get("not"), dict):
        subs.append((v["not"], child(v_path, "not")))
    for junctor in ("allOf", "anyOf", "oneOf"):
        subs.extend((sub, index(child(v_path, junctor), i)) for i, sub in enumerate(v.get(junctor) or []))
    for sub, sub_path in subs:
        errs.extend(_nested_completeness(sub, s, s_path, sub_path))
    return errs


def _nested_completeness(v: Any, s: Schema | None, s_path: str, v_path: str) -> list[Cause]:
    if not isinstance(v, dict):
        return []
    if s is None:
        return [field_required(s_path, f"because it is defined in {v_path}")]
    errs = _vv_completeness(v, s, s_path, v_path)
    if isinstance(v.get("items"), dict):
        errs.extend(
            _nested_completeness(v["items"], _items(s), child(s_path, "items"), child(v_path, "items"))
        )
    for k in sorted(_props(v)):
        sub_v_path = key(child(v_path, "properties"), k)
        if k not in _props(s):
            errs.append(
                field_required(key(child(s_path, "properties"), k), f"because it is defined in {sub_v_path}")
            )
        else:
            errs.extend(
                _nested_completeness(
                    _props(v)[k], _props(s)[k], key(child(s_path, "properties"), k), sub_v_path
                )
            )
    return errs


def _default_errors(s: Schema, path: str, is_resource_root: bool) -> list[Cause]:
    """``defaulting.ValidateDefaults``: every default must be pruned and validate against its schema."""
    errs: list[Cause] = []
    embedded = is_resource_root or _flag(s, "x-kubernetes-embedded-resource")
    if "default" in s and s["default"] is not None:
        default = s["default"]
        default_path = child(path, "default")
        pruned = copy.deepcopy(default)
        node = {**s, "x-kubernetes-embedded-resource": True} if embedded else s
        _prune(pruned, node, "", [])
        if not _deep_equal(pruned, default):
            errs.append(field_invalid(default_path, default, "must not have unknown fields"))
        validator = _Validator()
        validator.run(default, s, "")
        errs.extend(
            e.cause(default_path if e.kind == "composite" else _openapi_path(default_path, e.name))
            for e in validator.errors
        )
    items = _items(s)
    if items is not None:
        errs.extend(_default_errors(items, child(path, "items"), False))
    for k in sorted(_props(s)):
        errs.extend(_default_errors(_props(s)[k], key(child(path, "properties"), k), False))
    return errs


@dataclass(frozen=True)
class _Context:
    """What ``specStandardValidator`` carries down the schema."""

    allow_defaults: bool = True
    disallow_defaults_reason: str = ""
    inside_resource_meta: bool = False


class _OpenAPIChecker:
    """``ValidateCustomResourceDefinitionOpenAPISchema`` without the CEL compilation (see :mod:`.cel`)."""

    def check(self, s: Any, path: str, *, is_root: bool = False, ctx: _Context = _Context()) -> list[Cause]:
        if not isinstance(s, dict):
            return []
        errs = self._standard(s, path, ctx)
        if s.get("uniqueItems"):
            errs.append(
                field_forbidden(
                    child(path, "uniqueItems"),
                    "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
                )
            )
        ap = s.get("additionalProperties")
        if ap is not None:
            if _props(s) and (ap is False or isinstance(ap, dict)):
                errs.append(
                    field_forbidden(
                        child(path, "additionalProperties"),
                        "additionalProperties and properties are mutual exclusive",
                    )
                )
            sub_ctx = ctx
            if ctx.inside_resource_meta:
                sub_ctx = _Context(False, "inside additionalProperties applying to object metadata", True)
            errs.extend(self.check(ap, child(path, "additionalProperties"), ctx=sub_ctx))
        for k in sorted(_props(s)):
            sub_ctx = ctx
            if (is_root or _flag(s, "x-kubernetes-embedded-resource")) and k in META_FIELDS:
                sub_ctx = _Context(sub_ctx.allow_defaults, sub_ctx.disallow_defaults_reason, True)
                if is_root:
                    sub_ctx = _Context(False, f"in top-level {k}", True)
            errs.extend(self.check(_props(s)[k], key(child(path, "properties"), k), ctx=sub_ctx))
        errs.extend(self.check(s.get("not"), child(path, "not"), ctx=ctx))
        for junctor in ("allOf", "oneOf", "anyOf"):
            for i, sub in enumerate(s.get(junctor) or []):
                errs.extend(self.check(sub, index(child(path, junctor), i), ctx=ctx))
        errs.extend(self.check(s.get("items"), child(path, "items"), ctx=ctx))
        errs.extend(self._extensions(s, path))
        errs.extend(_rule_field_errors(s, path))
        return errs

    def _standard(self, s: Schema, path: str, ctx: _Context) -> list[Cause]:
        errs: list[Cause] = []
        schema_type = s.get("type")
        if schema_type and schema_type not in OPENAPI_V3_TYPES:
            errs.append(field_not_supported(child(path, "type"), schema_type, list(OPENAPI_V3_TYPES)))
        if "default" in s and not ctx.allow_defaults:
            detail = "must not be set" + (
                f" {ctx.disallow_defaults_reason}" if ctx.disallow_defaults_reason else ""
            )
            errs.append(field_forbidden(child(path, "default"), detail))
        for name, detail in (
            ("id", "id is not supported"),
            ("additionalItems", "additionalItems is not supported"),
            ("patternProperties", "patternProperties is not supported"),
            ("definitions", "definitions is not supported"),
            ("dependencies", "dependencies is not supported"),
            ("$ref", "$ref is not supported"),
        ):
            if _is_set(s, name) or (name in ("additionalItems", "dependencies") and name in s):
                errs.append(field_forbidden(child(path, name), detail))
        if schema_type == "null":
            errs.append(
                field_forbidden(
                    child(path, "type"), "type cannot be set to null, use nullable as an alternative"
                )
            )
        if isinstance(s.get("items"), list):
            errs.append(
                field_forbidden(child(path, "items"), "items must be a schema object and not an array")
            )
        if ctx.inside_resource_meta and _flag(s, "x-kubernetes-embedded-resource"):
            errs.append(
                field_forbidden(
                    child(path, "x-kubernetes-embedded-resource"), "must not be used inside of resource meta"
                )
            )
        return errs

    def _extensions(self, s: Schema, path: str) -> list[Cause]:
        errs: list[Cause] = []
        schema_type = s.get("type") or ""
        if s.get("x-kubernetes-preserve-unknown-fields") is False:
            errs.append(
                field_invalid(
                    child(path, "x-kubernetes-preserve-unknown-fields"), False, "must be true or undefined"
                )
            )
        map_type = s.get("x-kubernetes-map-type")
        if map_type is not None and schema_type != "object":
            detail = "must be object if x-kubernetes-map-type is specified"
            errs.append(
                field_invalid(child(path, "type"), schema_type, detail)
                if schema_type
                else field_required(child(path, "type"), detail)
            )
        if map_type is not None and map_type not in ("atomic", "granular"):
            errs.append(
                field_not_supported(child(path, "x-kubernetes-map-type"), map_type, ["atomic", "granular"])
            )
        list_type = s.get("x-kubernetes-list-type")
        items = _items(s)
        if list_type is not None and schema_type != "array":
            detail = "must be array if x-kubernetes-list-type is specified"
            errs.append(
                field_invalid(child(path, "type"), schema_type, detail)
                if schema_type
                else field_required(child(path, "type"), detail)
            )
        elif list_type == "set" and items is not None:
            if items.get("type") == "array" and items.get("x-kubernetes-list-type") not in (None, "atomic"):
                errs.append(
                    field_invalid(
                        child(child(path, "items"), "x-kubernetes-list-type"),
                        items.get("x-kubernetes-list-type"),
                        "must be atomic as item of a list with x-kubernetes-list-type=set",
                    )
                )
            if items.get("type") == "object" and items.get("x-kubernetes-map-type") != "atomic":
                errs.append(
                    field_invalid(
                        child(child(path, "items"), "x-kubernetes-map-type"),
                        list_type,
                        "must be atomic as item of a list with x-kubernetes-list-type=set",
                    )
                )
        if list_type is not None and list_type not in ("atomic", "set", "map"):
            errs.append(
                field_not_supported(
                    child(path, "x-kubernetes-list-type"), list_type, ["atomic", "set", "map"]
                )
            )
        map_keys = s.get("x-kubernetes-list-map-keys") or []
        if map_keys:
            if list_type is None:
                errs.append(
                    field_required(
                        child(path, "x-kubernetes-list-type"),
                        "must be map if x-kubernetes-list-map-keys is non-empty",
                    )
                )
            elif list_type != "map":
                errs.append(
                    field_invalid(
                        child(path, "x-kubernetes-list-type"),
                        list_type,
                        "must be map if x-kubernetes-list-map-keys is non-empty",
                    )
                )
        if list_type == "map":
            errs.extend(self._map_list(s, items, map_keys, path))
        if list_type in ("set", "map") and items is not None:
            errs.extend(_map_set_items(items, list_type, map_keys, path))
        return errs

    def _map_list(self, s: Schema, items: Schema | None, map_keys: list[str], path: str) -> list[Cause]:
        errs: list[Cause] = []
        if not map_keys:
            errs.append(
                field_required(
                    child(path, "x-kubernetes-list-map-keys"),
                    "must not be empty if x-kubernetes-list-type is map",
                )
            )
        if "items" not in s:
            errs.append(
                field_required(child(path, "items"), "must have a schema if x-kubernetes-list-type is map")
            )
        elif items is None:
            errs.append(
                field_invalid(
                    child(path, "items"),
                    s.get("items"),
                    "must only have a single schema if x-kubernetes-list-type is map",
                )
            )
        elif items.get("type") != "object":
            errs.append(
                field_invalid(
                    child(child(path, "items"), "type"),
                    items.get("type") or "",
                    "must be object if parent array's x-kubernetes-list-type is map",
                )
            )
        else:
            seen: set[str] = set()
            for k in map_keys:
                prop = _props(items).get(k)
                if prop is None:
                    errs.append(
                        field_invalid(
                            child(path, "x-kubernetes-list-map-keys"),
                            map_keys,
                            "entries must all be names of item properties",
                        )
                    )
                elif prop.get("type") in ("array", "object"):
                    errs.append(
                        field_invalid(
                            child(key(child(child(path, "items"), "properties"), k), "type"),
                            items.get("type"),
                            "must be a scalar type if parent array's x-kubernetes-list-type is map",
                        )
                    )
                if k in seen:
                    errs.append(
                        field_invalid(
                            child(path, "x-kubernetes-list-map-keys"),
                            map_keys,
                            "must not contain duplicate entries",
                        )
                    )
                seen.add(k)
        return errs


def _map_set_items(items: Schema, list_type: str, map_keys: list[str], path: str) -> list[Cause]:
    """``validateMapListKeysMapSet``: set/map items are not nullable, map keys are required or defaulted."""
    errs: list[Cause] = []
    if items.get("nullable"):
        errs.append(
            field_forbidden(
                child(child(path, "items"), "nullable"),
                f"cannot be nullable when x-kubernetes-list-type is {list_type}",
            )
        )
    if list_type == "map":
        required = set(items.get("required") or [])
        for k in map_keys:
            prop = _props(items).get(k)
            if prop is None:
                continue
            prop_path = key(child(child(path, "items"), "properties"), k)
            if k not in required and "default" not in prop:
                errs.append(
                    field_required(
                        child(prop_path, "default"),
                        "this property is in "
                        "x-kubernetes-list-map-keys, so it must have a default or be a required "
                        "property",
                    )
                )
            if prop.get("nullable"):
                errs.append(
                    field_forbidden(
                        child(prop_path, "nullable"),
                        "this property is in x-kubernetes-list-map-keys, so it cannot be nullable",
                    )
                )
    return errs


def _rule_field_errors(s: Schema, path: str) -> list[Cause]:
    """The static checks of each ``x-kubernetes-validations`` entry (compilation is in :mod:`.cel`)."""
    errs: list[Cause] = []
    for i, rule in enumerate(s.get("x-kubernetes-validations") or []):
        if not isinstance(rule, dict):
            continue
        rule_path = index(child(path, "x-kubernetes-validations"), i)
        text = str(rule.get("rule") or "").strip()
        message = str(rule.get("message") or "")
        if not text:
            errs.append(field_required(child(rule_path, "rule"), "rule is not specified"))
        elif message and not message.strip():
            errs.append(
                field_invalid(child(rule_path, "message"), message, "message must be non-empty if specified")
            )
        elif re.search(r"[\n\r]", message.strip()):
            errs.append(
                field_invalid(child(rule_path, "message"), message, "message must not contain line breaks")
            )
        elif re.search(r"[\n\r]", text) and not message.strip():
            errs.append(
                field_required(
                    child(rule_path, "message"), "message must be specified if rule contains line breaks"
                )
            )
        message_expression = str(rule.get("messageExpression") or "")
        if message_expression and not message_expression.strip():
            errs.append(
                field_required(
                    child(rule_path, "messageExpression"), "messageExpression must be non-empty if specified"
                )
            )
        reason = rule.get("reason")
        if reason is not None and reason not in RULE_REASONS:
            errs.append(field_not_supported(child(rule_path, "reason"), reason, list(RULE_REASONS)))
        field_path = str(rule.get("fieldPath") or "")
        if field_path and not field_path.strip():
            errs.append(
                field_invalid(
                    child(rule_path, "fieldPath"), field_path, "fieldPath must be non-empty if specified"
                )
            )
        if re.search(r"[\n\r]", field_path):
            errs.append(
                field_invalid(
                    child(rule_path, "fieldPath"), field_path, "fieldPath must not contain line breaks"
                )
            )
        if field_path and resolve_rule_field_path(field_path, s) is None:
            errs.append(
                field_invalid(child(rule_path, "fieldPath"), field_path, "fieldPath must be a valid path")
            )
    return errs


_FIELD_PATH_TOKEN = re.compile(r"'(?:[^'\\]|\\.)*'|[.\[\]]|[^.\[\]']+")
_SINGLE_QUOTE_ESCAPES: Final = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "'": "'",
    "\\": "\\",
}


def resolve_rule_field_path(field_path: str, schema: Schema) -> tuple[str, Schema] | None:
    """``cel.ValidFieldPath``: a rule's ``fieldPath`` (``.spec.foo``, ``.labels['a.b']``) against ``schema``.

    Returns the normalized ``field.Path`` string relative to the rule's node (``spec.foo``, ``labels[a.b]``)
    and the schema found there, or ``None`` when the path does not name a field of the schema.
    """
    tokens = _FIELD_PATH_TOKEN.findall(field_path.strip())
    if "".join(tokens) != field_path.strip():
        return None
    node, normalized, pos = schema, "", 0
    while pos < len(tokens):
        tok = tokens[pos]
        if tok == ".":
            if pos + 1 >= len(tokens):
                return None
            name, pos = tokens[pos + 1], pos + 2
        elif tok == "[":
            if pos + 2 >= len(tokens) or tokens[pos + 2] != "]":
                return None
            quoted = tokens[pos + 1]
            if len(quoted) < 2 or quoted[0] != "'" or quoted[-1] != "'":
                return None
            try:
                name = re.sub(r"\\(.)", lambda m: _SINGLE_QUOTE_ESCAPES[m.group(1)], quoted[1:-1])
            except KeyError:
                return None
            pos += 3
        else:
            return None
        if _props(node):
            if name not in _props(node):
                return None
            normalized, node = child(normalized, name), _props(node)[name]
        elif isinstance(node.get("additionalProperties"), dict):
            normalized, node = key(normalized, name), node["additionalProperties"]
        else:
            return None
    return normalized, node
