"""``/openapi/v2`` as protobuf: the swagger 2.0 JSON document encoded as gnostic's ``openapi.v2.Document``.

kubectl (client-go discovery ``OpenAPISchema()``) asks for ``/openapi/v2`` with
``Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`` only, and validates manifests (e.g.
the items of a ``kind: List``) with what it gets. kube-apiserver answers by parsing its JSON document with
gnostic's compiler and marshalling the result (kube-openapi ``pkg/handler/handler.go``: ``ToProtoBinary`` =
``openapi_v2.ParseDocument`` + ``proto.Marshal``). This module does the same without Go or generated code: a
table of the messages of ``openapiv2/OpenAPIv2.proto`` (github.com/google/gnostic, mirrored in
gnostic-models; message → field number, type, repeated/map/oneof) drives a small protobuf wire writer.

The JSON → message mapping follows gnostic's compiler (``openapiv2/OpenAPIv2.go``):

* keys starting with ``x-`` become ``vendor_extension`` entries, ``NamedAny{name, Any{yaml}}`` with the value
  rendered as YAML text (kube-openapi's ``VendorExtensionToMap`` reads it back with ``yaml.Unmarshal``);
  ``default``, ``example`` and ``enum`` values are ``Any{yaml}`` too;
* JSON maps (``definitions``, ``properties``, ``paths``, response codes, ...) become repeated ``Named*``
  ``{name, value}`` pairs in document order;
* ``type`` (string or list) → ``TypeItem``; ``items`` (schema or list) → ``ItemsItem``;
  ``additionalProperties`` (schema or bool) → ``AdditionalPropertiesItem``;
* oneof wrappers pick their alternative as gnostic's matching does: a parameter is a ``BodyParameter`` when
  ``in`` is ``body``, else a ``NonBodyParameter`` by ``in`` (header/formData/query/path); ``$ref`` objects
  among parameters and responses are ``JsonReference``; a response schema of ``type: file`` is a
  ``FileSchema``; security definitions go by ``type`` (and ``flow`` for oauth2).

The wire form is what Go's ``proto.Marshal`` writes for proto3: fields in field-number order, scalars at
their zero value omitted except inside a oneof (``additionalProperties: false`` is written), message fields
present (even empty, so ``properties: {}`` survives) whenever their key is.

Keys gnostic would reject as invalid for a message (``nullable`` in a v2 schema, say) have no field: they are
left out and reported in :attr:`EncodedDocument.dropped_keys` (``strict=True`` raises instead). Values of the
wrong JSON type raise :class:`ValueError`.
"""

from __future__ import annotations

import re
import struct
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import yaml

from smk8s.emulators.kube.openapi import document_hash

PROTOBUF_CONTENT_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
"""What kube-apiserver answers with for either protobuf Accept type (kube-openapi ``pkg/handler/handler.go``
returns the non-deprecated name for both)."""
PROTOBUF_CONTENT_TYPE_DEPRECATED = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
"""The Accept type client-go's discovery client (so kubectl) sends for ``/openapi/v2``."""
JSON_CONTENT_TYPE = "application/json"

# ---------------------------------------------------------------------------------------------------------
# Protobuf wire format (https://protobuf.dev/programming-guides/encoding/)

_VARINT, _FIXED64, _LENGTH_DELIMITED = 0, 1, 2
_UINT64_MASK = (1 << 64) - 1


def _varint(value: int) -> bytes:
    """Base-128 varint; negative numbers as their 64-bit two's complement (how int64 is encoded)."""
    value &= _UINT64_MASK
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _tag(number: int, wire_type: int) -> bytes:
    return _varint(number << 3 | wire_type)


def _length_delimited(number: int, payload: bytes) -> bytes:
    return _tag(number, _LENGTH_DELIMITED) + _varint(len(payload)) + payload


# ---------------------------------------------------------------------------------------------------------
# The message table (openapiv2/OpenAPIv2.proto)

STRING, BOOL, INT64, DOUBLE = "string", "bool", "int64", "double"
_SCALARS = frozenset({STRING, BOOL, INT64, DOUBLE})

VENDOR_EXTENSION_KEYS = re.compile(r"^x-")
_PATH_KEYS = re.compile(r"^/")
_RESPONSE_CODE_KEYS = re.compile(r"^([0-9]{3})$|^(default)$")
_ALL_KEYS = re.compile(r"")


class Field(NamedTuple):
    """One field of a message whose JSON form is an object.

    ``key`` is the JSON key it comes from; a map field (``keys`` set) instead takes every entry whose key
    matches ``keys``, each as a ``Named*`` message ``{1: name, 2: value}``. ``type`` is a scalar kind or a
    message name. ``repeated`` fields come from a JSON list.
    """

    number: int
    key: str
    type: str
    repeated: bool = False
    keys: re.Pattern[str] | None = None


def _map(number: int, value_type: str, keys: re.Pattern[str] = _ALL_KEYS) -> Field:
    return Field(number, "", value_type, repeated=True, keys=keys)


def _extensions(number: int) -> Field:
    """``repeated NamedAny vendor_extension``: the object's ``x-`` keys."""
    return _map(number, "Any", VENDOR_EXTENSION_KEYS)


def _primitive_fields(first: int) -> tuple[Field, ...]:
    """The run ``type … multipleOf`` that PrimitivesItems, Header and the non-body parameter sub-schemas
    share, numbered consecutively from ``first`` (as in the .proto)."""
    run = (("type", STRING, False), ("format", STRING, False), ("items", "PrimitivesItems", False),
           ("collectionFormat", STRING, False), ("default", "Any", False), ("maximum", DOUBLE, False),
           ("exclusiveMaximum", BOOL, False), ("minimum", DOUBLE, False), ("exclusiveMinimum", BOOL, False),
           ("maxLength", INT64, False), ("minLength", INT64, False), ("pattern", STRING, False),
           ("maxItems", INT64, False), ("minItems", INT64, False), ("uniqueItems", BOOL, False),
           ("enum", "Any", True), ("multipleOf", DOUBLE, False))
    return tuple(Field(first + i, key, type_, repeated) for i, (key, type_, repeated) in enumerate(run))


def _oauth2_fields(*middle: tuple[str, str]) -> tuple[Field, ...]:
    """``type, flow, scopes``, then the flow's URLs, then ``description`` and ``vendor_extension``."""
    head = (Field(1, "type", STRING), Field(2, "flow", STRING), Field(3, "scopes", "Oauth2Scopes"))
    urls = tuple(Field(4 + i, key, type_) for i, (key, type_) in enumerate(middle))
    tail_start = 4 + len(middle)
    return (*head, *urls, Field(tail_start, "description", STRING), _extensions(tail_start + 1))


_OBJECT_MESSAGES: Mapping[str, tuple[Field, ...]] = {
    "ApiKeySecurity": (Field(1, "type", STRING), Field(2, "name", STRING), Field(3, "in", STRING),
                       Field(4, "description", STRING), _extensions(5)),
    "BasicAuthenticationSecurity": (Field(1, "type", STRING), Field(2, "description", STRING),
                                    _extensions(3)),
    "BodyParameter": (Field(1, "description", STRING), Field(2, "name", STRING), Field(3, "in", STRING),
                      Field(4, "required", BOOL), Field(5, "schema", "Schema"), _extensions(6)),
    "Contact": (Field(1, "name", STRING), Field(2, "url", STRING), Field(3, "email", STRING), _extensions(4)),
    "Default": (_map(1, "Any"),),
    "Definitions": (_map(1, "Schema"),),
    "Document": (
        Field(1, "swagger", STRING), Field(2, "info", "Info"), Field(3, "host", STRING),
        Field(4, "basePath", STRING), Field(5, "schemes", STRING, True), Field(6, "consumes", STRING, True),
        Field(7, "produces", STRING, True), Field(8, "paths", "Paths"),
        Field(9, "definitions", "Definitions"),
        Field(10, "parameters", "ParameterDefinitions"), Field(11, "responses", "ResponseDefinitions"),
        Field(12, "security", "SecurityRequirement", True),
        Field(13, "securityDefinitions", "SecurityDefinitions"), Field(14, "tags", "Tag", True),
        Field(15, "externalDocs", "ExternalDocs"), _extensions(16),
    ),
    "Examples": (_map(1, "Any"),),
    "ExternalDocs": (Field(1, "description", STRING), Field(2, "url", STRING), _extensions(3)),
    "FileSchema": (
        Field(1, "format", STRING), Field(2, "title", STRING), Field(3, "description", STRING),
        Field(4, "default", "Any"), Field(5, "required", STRING, True), Field(6, "type", STRING),
        Field(7, "readOnly", BOOL), Field(8, "externalDocs", "ExternalDocs"), Field(9, "example", "Any"),
        _extensions(10),
    ),
    "FormDataParameterSubSchema": (
        Field(1, "required", BOOL), Field(2, "in", STRING), Field(3, "description", STRING),
        Field(4, "name", STRING), Field(5, "allowEmptyValue", BOOL), *_primitive_fields(6), _extensions(23),
    ),
    "Header": (*_primitive_fields(1), Field(18, "description", STRING), _extensions(19)),
    "HeaderParameterSubSchema": (
        Field(1, "required", BOOL), Field(2, "in", STRING), Field(3, "description", STRING),
        Field(4, "name", STRING), *_primitive_fields(5), _extensions(22),
    ),
    "Headers": (_map(1, "Header"),),
    "Info": (
        Field(1, "title", STRING), Field(2, "version", STRING), Field(3, "description", STRING),
        Field(4, "termsOfService", STRING), Field(5, "contact", "Contact"), Field(6, "license", "License"),
        _extensions(7),
    ),
    "JsonReference": (Field(1, "$ref", STRING), Field(2, "description", STRING)),
    "License": (Field(1, "name", STRING), Field(2, "url", STRING), _extensions(3)),
    "Oauth2AccessCodeSecurity": _oauth2_fields(("authorizationUrl", STRING), ("tokenUrl", STRING)),
    "Oauth2ApplicationSecurity": _oauth2_fields(("tokenUrl", STRING)),
    "Oauth2ImplicitSecurity": _oauth2_fields(("authorizationUrl", STRING)),
    "Oauth2PasswordSecurity": _oauth2_fields(("tokenUrl", STRING)),
    "Oauth2Scopes": (_map(1, STRING),),
    "Operation": (
        Field(1, "tags", STRING, True), Field(2, "summary", STRING), Field(3, "description", STRING),
        Field(4, "externalDocs", "ExternalDocs"), Field(5, "operationId", STRING),
        Field(6, "produces", STRING, True), Field(7, "consumes", STRING, True),
        Field(8, "parameters", "ParametersItem", True), Field(9, "responses", "Responses"),
        Field(10, "schemes", STRING, True), Field(11, "deprecated", BOOL),
        Field(12, "security", "SecurityRequirement", True), _extensions(13),
    ),
    "ParameterDefinitions": (_map(1, "Parameter"),),
    "PathItem": (
        Field(1, "$ref", STRING), Field(2, "get", "Operation"), Field(3, "put", "Operation"),
        Field(4, "post", "Operation"), Field(5, "delete", "Operation"), Field(6, "options", "Operation"),
        Field(7, "head", "Operation"), Field(8, "patch", "Operation"),
        Field(9, "parameters", "ParametersItem", True), _extensions(10),
    ),
    "PathParameterSubSchema": (
        Field(1, "required", BOOL), Field(2, "in", STRING), Field(3, "description", STRING),
        Field(4, "name", STRING), *_primitive_fields(5), _extensions(22),
    ),
    "Paths": (_extensions(1), _map(2, "PathItem", _PATH_KEYS)),
    "PrimitivesItems": (*_primitive_fields(1), _extensions(18)),
    "Properties": (_map(1, "Schema"),),
    "QueryParameterSubSchema": (
        Field(1, "required", BOOL), Field(2, "in", STRING), Field(3, "description", STRING),
        Field(4, "name", STRING), Field(5, "allowEmptyValue", BOOL), *_primitive_fields(6), _extensions(23),
    ),
    "Response": (Field(1, "description", STRING), Field(2, "schema", "SchemaItem"),
                 Field(3, "headers", "Headers"), Field(4, "examples", "Examples"), _extensions(5)),
    "ResponseDefinitions": (_map(1, "Response"),),
    "Responses": (_map(1, "ResponseValue", _RESPONSE_CODE_KEYS), _extensions(2)),
    "Schema": (
        Field(1, "$ref", STRING), Field(2, "format", STRING), Field(3, "title", STRING),
        Field(4, "description", STRING), Field(5, "default", "Any"), Field(6, "multipleOf", DOUBLE),
        Field(7, "maximum", DOUBLE), Field(8, "exclusiveMaximum", BOOL), Field(9, "minimum", DOUBLE),
        Field(10, "exclusiveMinimum", BOOL), Field(11, "maxLength", INT64), Field(12, "minLength", INT64),
        Field(13, "pattern", STRING), Field(14, "maxItems", INT64), Field(15, "minItems", INT64),
        Field(16, "uniqueItems", BOOL), Field(17, "maxProperties", INT64), Field(18, "minProperties", INT64),
        Field(19, "required", STRING, True), Field(20, "enum", "Any", True),
        Field(21, "additionalProperties", "AdditionalPropertiesItem"), Field(22, "type", "TypeItem"),
        Field(23, "items", "ItemsItem"), Field(24, "allOf", "Schema", True),
        Field(25, "properties", "Properties"), Field(26, "discriminator", STRING),
        Field(27, "readOnly", BOOL),
        Field(28, "xml", "Xml"), Field(29, "externalDocs", "ExternalDocs"), Field(30, "example", "Any"),
        _extensions(31),
    ),
    "SecurityDefinitions": (_map(1, "SecurityDefinitionsItem"),),
    "SecurityRequirement": (_map(1, "StringArray"),),
    "Tag": (Field(1, "name", STRING), Field(2, "description", STRING),
            Field(3, "externalDocs", "ExternalDocs"), _extensions(4)),
    "Xml": (Field(1, "name", STRING), Field(2, "namespace", STRING), Field(3, "prefix", STRING),
            Field(4, "attribute", BOOL), Field(5, "wrapped", BOOL), _extensions(6)),
}

_LIST_MESSAGES: Mapping[str, str] = {
    # Messages of one ``repeated <type> = 1`` whose JSON form is a list (or one element standing for one).
    "ItemsItem": "Schema",
    "StringArray": STRING,
    "TypeItem": STRING,
}

_OAUTH2_FLOWS = {
    "implicit": (3, "Oauth2ImplicitSecurity"), "password": (4, "Oauth2PasswordSecurity"),
    "application": (5, "Oauth2ApplicationSecurity"), "accessCode": (6, "Oauth2AccessCodeSecurity"),
}
_NON_BODY_LOCATIONS = {
    "header": (1, "HeaderParameterSubSchema"), "formData": (2, "FormDataParameterSubSchema"),
    "query": (3, "QueryParameterSubSchema"), "path": (4, "PathParameterSubSchema"),
}


def _object(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"expected an object, got {type(value).__name__}")
    return value


def _additional_properties_choice(value: Any) -> tuple[int, str]:
    if isinstance(value, bool):
        return 2, BOOL
    _object(value)
    return 1, "Schema"


def _parameter_choice(value: Any) -> tuple[int, str]:
    return (1, "BodyParameter") if _object(value).get("in") == "body" else (2, "NonBodyParameter")


def _non_body_parameter_choice(value: Any) -> tuple[int, str]:
    location = _object(value).get("in")
    if location not in _NON_BODY_LOCATIONS:
        raise ValueError(f"parameter 'in' must be body, header, formData, query or path; got {location!r}")
    return _NON_BODY_LOCATIONS[location]


def _reference_or(number: int, message: str) -> Callable[[Any], tuple[int, str]]:
    """ParametersItem/ResponseValue: a ``$ref`` object is the ``JsonReference`` (field 2), else ``message``
    (field ``number``)."""
    return lambda value: (2, "JsonReference") if "$ref" in _object(value) else (number, message)


def _schema_item_choice(value: Any) -> tuple[int, str]:
    return (2, "FileSchema") if _object(value).get("type") == "file" else (1, "Schema")


def _security_definition_choice(value: Any) -> tuple[int, str]:
    definition = _object(value)
    kind = definition.get("type")
    if kind == "basic":
        return 1, "BasicAuthenticationSecurity"
    if kind == "apiKey":
        return 2, "ApiKeySecurity"
    if kind == "oauth2" and definition.get("flow") in _OAUTH2_FLOWS:
        return _OAUTH2_FLOWS[definition["flow"]]
    flow = definition.get("flow")
    raise ValueError(f"unsupported security definition type {kind!r} (flow {flow!r})")


_ONEOF_MESSAGES: Mapping[str, Callable[[Any], tuple[int, str]]] = {
    # Messages that are one ``oneof``: the chooser names the alternative's field number and type.
    "AdditionalPropertiesItem": _additional_properties_choice,
    "NonBodyParameter": _non_body_parameter_choice,
    "Parameter": _parameter_choice,
    "ParametersItem": _reference_or(1, "Parameter"),
    "ResponseValue": _reference_or(1, "Response"),
    "SchemaItem": _schema_item_choice,
    "SecurityDefinitionsItem": _security_definition_choice,
}

_MESSAGE_NAMES = frozenset({*_OBJECT_MESSAGES, *_LIST_MESSAGES, *_ONEOF_MESSAGES, "Any"})
"""Every message of openapi.v2 the encoder knows (``Named*`` pairs are implied by map fields)."""
_PLAIN_KEYS: Mapping[str, frozenset[str]] = {
    name: frozenset(field.key for field in fields if field.keys is None)
    for name, fields in _OBJECT_MESSAGES.items()
}
_KEY_PATTERNS: Mapping[str, tuple[re.Pattern[str], ...]] = {
    name: tuple(field.keys for field in fields if field.keys is not None)
    for name, fields in _OBJECT_MESSAGES.items()
}

# ---------------------------------------------------------------------------------------------------------
# Encoding


def any_yaml(value: Any) -> str:
    """The YAML text an ``Any`` carries for a JSON value (block style, keys in document order), like gnostic's
    ``compiler.Marshal`` output that kube-openapi reads back with ``yaml.Unmarshal``."""
    text: str = yaml.dump(value, Dumper=_YAML_DUMPER, default_flow_style=False, sort_keys=False,
                          allow_unicode=True, width=1 << 30)
    return text.removesuffix("...\n")  # PyYAML ends a lone scalar document with an explicit end marker


_YAML_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _EncodingError(ValueError):
    """A :class:`ValueError` whose message already starts with the JSON path of the offending value."""


class _Encoder:
    """One document's encoding pass: collects the JSON paths of keys no field takes."""

    def __init__(self) -> None:
        self.dropped: list[str] = []
        self._yaml_memo: dict[str, str] = {}

    def message(self, name: str, value: Any, path: str) -> bytes:
        if name == "Any":
            return _length_delimited(2, self._yaml(value).encode())
        if name in _LIST_MESSAGES:
            items = value if isinstance(value, list) else [value]
            return self.field(Field(1, "", _LIST_MESSAGES[name], repeated=True), items, path)
        if name in _ONEOF_MESSAGES:
            number, alternative = _ONEOF_MESSAGES[name](value)
            return self.single(number, alternative, value, path, present=True)
        return self.object(name, _object(value), path)

    def object(self, name: str, value: Mapping[str, Any], path: str) -> bytes:
        fields = _OBJECT_MESSAGES[name]
        out = bytearray()
        for field in fields:
            if field.keys is None:
                if field.key in value:
                    out += self.field(field, value[field.key], f"{path}.{field.key}")
            else:
                out += self.named_pairs(field, value, path)
        known, patterns = _PLAIN_KEYS[name], _KEY_PATTERNS[name]
        for key in value:
            if key not in known and not any(pattern.search(key) for pattern in patterns):
                self.dropped.append(f"{path}.{key}")
        return bytes(out)

    def named_pairs(self, field: Field, value: Mapping[str, Any], path: str) -> bytes:
        assert field.keys is not None
        out = bytearray()
        for key, item in value.items():
            if field.keys.search(key):
                pair = _length_delimited(1, key.encode()) if key else b""
                is_message = field.type not in _SCALARS
                pair += self.single(2, field.type, item, f"{path}[{key!r}]", present=is_message)
                out += _length_delimited(field.number, pair)
        return bytes(out)

    def field(self, field: Field, value: Any, path: str) -> bytes:
        if not field.repeated:
            return self.single(field.number, field.type, value, path, present=field.type not in _SCALARS)
        if not isinstance(value, list):
            raise _EncodingError(f"{path}: expected a list, got {type(value).__name__}")
        return b"".join(self.single(field.number, field.type, item, f"{path}[{i}]", present=True)
                        for i, item in enumerate(value))

    def single(self, number: int, type_: str, value: Any, path: str, *, present: bool) -> bytes:
        """One field occurrence. ``present`` writes a scalar even at its zero value (oneof members, list
        elements); proto3 omits it otherwise."""
        try:
            if type_ == STRING:
                text = _string(value)
                return _length_delimited(number, text.encode()) if text or present else b""
            if type_ == BOOL:
                if not isinstance(value, bool):
                    raise ValueError(f"expected a boolean, got {type(value).__name__}")
                return _tag(number, _VARINT) + _varint(int(value)) if value or present else b""
            if type_ == INT64:
                integer = _integer(value)
                return _tag(number, _VARINT) + _varint(integer) if integer or present else b""
            if type_ == DOUBLE:
                real = _double(value)
                return _tag(number, _FIXED64) + struct.pack("<d", real) if real or present else b""
            return _length_delimited(number, self.message(type_, value, path))
        except _EncodingError:
            raise
        except ValueError as exc:
            raise _EncodingError(f"{path}: {exc}") from None

    def _yaml(self, value: Any) -> str:
        if isinstance(value, str | bool | int | float) or value is None:
            return any_yaml(value)
        memo_key = repr(value)
        if memo_key not in self._yaml_memo:
            self._yaml_memo[memo_key] = any_yaml(value)
        return self._yaml_memo[memo_key]


def _string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # gnostic's StringForScalarNode takes !!int scalars as their text
    raise ValueError(f"expected a string, got {type(value).__name__}")


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected an integer, got {type(value).__name__}")
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"expected an integer, got {value!r}")
    return int(value)


def _double(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {type(value).__name__}")
    return float(value)


@dataclass(frozen=True)
class EncodedDocument:
    """A document's protobuf encoding. ``etag`` is the JSON content hash (kube-openapi reuses the JSON ETag
    for the protobuf form, the response varying by Accept); ``dropped_keys`` are the JSON paths of keys the
    protobuf form has no field for (e.g. ``$.definitions['io.x.Foo'].properties['a'].nullable``)."""

    body: bytes
    etag: str
    dropped_keys: tuple[str, ...] = ()


def encode_openapi_v2(doc: Mapping[str, Any], *, strict: bool = False) -> bytes:
    """Encode a swagger 2.0 document (as JSON-decoded Python values) as a serialized ``openapi.v2.Document``.

    Raises :class:`ValueError` on values of the wrong JSON type, and with ``strict`` also on keys that have
    no field (which are otherwise left out).
    """
    return _encode(doc, strict=strict)[0]


def _encode(doc: Mapping[str, Any], *, strict: bool) -> tuple[bytes, tuple[str, ...]]:
    encoder = _Encoder()
    body = encoder.object("Document", _object(doc), "$")
    dropped = tuple(encoder.dropped)
    if strict and dropped:
        raise ValueError(f"keys with no field in openapi.v2.Document: {', '.join(dropped)}")
    return body, dropped


class EncodedDocumentCache:
    """Remembers the encodings of the last few documents by content hash.

    The server builds the v2 document per request, but its content only changes when CRDs do; encoding is
    the expensive part (~50 ms for the built-ins), hashing is cheap. Not thread-safe (the server uses it from
    its event loop).
    """

    def __init__(self, capacity: int = 4) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._entries: OrderedDict[str, EncodedDocument] = OrderedDict()

    def encode(self, doc: Mapping[str, Any]) -> EncodedDocument:
        """The encoding of ``doc``, from the cache when a document of the same content was encoded before."""
        etag = document_hash(doc)
        found = self._entries.get(etag)
        if found is not None:
            self._entries.move_to_end(etag)
            return found
        body, dropped = _encode(doc, strict=False)
        encoded = EncodedDocument(body, etag, dropped)
        self._entries[etag] = encoded
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
        return encoded

    def __len__(self) -> int:
        return len(self._entries)


# ---------------------------------------------------------------------------------------------------------
# Content negotiation (kube-openapi pkg/handler/handler.go with munnerz/goautoneg)

_SERVED = ((("application", "json"), JSON_CONTENT_TYPE),
           (("application", PROTOBUF_CONTENT_TYPE_DEPRECATED.split("/", 1)[1]), PROTOBUF_CONTENT_TYPE),
           (("application", PROTOBUF_CONTENT_TYPE.split("/", 1)[1]), PROTOBUF_CONTENT_TYPE))


def negotiate_content_type(accept: str) -> str | None:
    """The content type ``/openapi/v2`` answers an ``Accept`` header with: :data:`JSON_CONTENT_TYPE`,
    :data:`PROTOBUF_CONTENT_TYPE` (for either protobuf name), or ``None`` (406 Not Acceptable).

    As kube-openapi: an empty header means ``*/*``; clauses are tried by decreasing ``q``, specific types
    before wildcards, and the first one matching a served type (JSON first among equals) wins. ``q=0``
    clauses are refusals and skipped.
    """
    clauses: list[tuple[float, bool, bool, str, str]] = []
    for raw in (accept.strip() or "*/*").split(","):
        media, *params = (part.strip() for part in raw.split(";"))
        if "/" not in media:
            continue
        type_, subtype = (part.strip() for part in media.split("/", 1))
        quality = 1.0
        for param in params:
            name, _, number = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(number)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            clauses.append((quality, type_ == "*", subtype == "*", type_, subtype))
    clauses.sort(key=lambda clause: (-clause[0], clause[1], clause[2]))
    for _quality, _, _, type_, subtype in clauses:
        for (served_type, served_subtype), answer in _SERVED:
            if type_ in (served_type, "*") and subtype in (served_subtype, "*"):
                return answer
    return None
