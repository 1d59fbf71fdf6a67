"""Kubernetes protobuf request bodies decoded into the JSON object the JSON encoding would have carried.

kubectl's typed commands (``create configmap|secret|namespace|serviceaccount|role|...``, ``create token``,
``auth can-i``) send ``Content-Type: application/vnd.kubernetes.protobuf``. The body is the envelope written by
k8s.io/apimachinery/pkg/runtime/serializer/protobuf/protobuf.go: the 4-byte magic ``k8s\\x00`` followed by a
``runtime.Unknown`` message (k8s.io/apimachinery/pkg/runtime/generated.proto: ``typeMeta`` = 1 {``apiVersion``
= 1, ``kind`` = 2}, ``raw`` = 2, ``contentEncoding`` = 3, ``contentType`` = 4) whose ``raw`` is the object's
gogo-protobuf message.

:func:`decode_request` turns that into the dict ``json.Marshal`` of the decoded Go struct would give, so the
server can go on as if the client had sent JSON:

- field numbers and wire types come from the generated.proto files (cited at each schema below);
- which fields appear follows the Go JSON encoder over the struct the gogo ``Unmarshal`` fills in (json tags of
  the matching types.go): a field absent from the wire holds its Go zero value; ``omitempty`` drops zero
  scalars, nil pointers and empty slices/maps but never structs; ``omitzero`` (``creationTimestamp``) drops a
  zero time; a non-omitempty nil slice or map is ``null``; a set pointer is emitted even when it points at a
  zero value; map keys come out sorted;
- ``metav1.Time`` is RFC 3339 in UTC (``2026-01-02T03:04:05Z``), ``metav1.MicroTime`` has six fractional
  digits (``2026-01-02T03:04:05.000000Z``), a zero time is ``null`` (apis/meta/v1/time.go, micro_time.go and
  their *_proto.go ``Unmarshal``: an empty message is the zero time); ``[]byte`` is standard base64;
  ``FieldsV1`` is its raw JSON; ``ExtraValue`` is a list of strings.

Only the kinds in the schema table are known; any other kind is answered 415 UnsupportedMediaType so the
client learns to send JSON. Malformed bodies are 400 BadRequest, as kube-apiserver's create/update handlers
report decode errors (``errors.NewBadRequest``).
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from types import MappingProxyType
from typing import Any

from smk8s.emulators.kube import errors
from smk8s.emulators.kube.errors import APIError

PROTOBUF_MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
PROTOBUF_MAGIC = b"k8s\x00"

# Wire types (https://protobuf.dev/programming-guides/encoding/#structure).
WIRE_VARINT = 0
WIRE_FIXED64 = 1
WIRE_LENGTH_DELIMITED = 2
WIRE_START_GROUP = 3
WIRE_END_GROUP = 4
WIRE_FIXED32 = 5

WireValue = int | bytes
"""A field's raw payload: the integer of a varint/fixed field, or the bytes of a length-delimited one."""


# -- wire format ---------------------------------------------------------------------------------------------


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """The unsigned varint at ``pos`` and the position after it (at most 10 bytes, as Go's decoders allow)."""
    result = 0
    for shift in range(0, 70, 7):
        if pos >= len(data):
            raise errors.bad_request("unexpected EOF")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result & 0xFFFF_FFFF_FFFF_FFFF, pos
    raise errors.bad_request("proto: integer overflow")


def read_fields(data: bytes) -> list[tuple[int, int, WireValue]]:
    """Split one message into ``(field number, wire type, value)`` in wire order.

    Varint and fixed-width values are unsigned integers; length-delimited values are their bytes. Groups are
    rejected (no Kubernetes message uses them). Raises 400 BadRequest on truncated or malformed input.
    """
    fields: list[tuple[int, int, WireValue]] = []
    pos = 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        number, wire_type = key >> 3, key & 7
        if number <= 0 or number > 0x1FFF_FFFF:
            raise errors.bad_request(f"proto: illegal field number {number} (wire type {wire_type})")
        value: WireValue
        if wire_type == WIRE_VARINT:
            value, pos = _read_varint(data, pos)
        elif wire_type == WIRE_FIXED64:
            if pos + 8 > len(data):
                raise errors.bad_request("unexpected EOF")
            value, pos = int.from_bytes(data[pos:pos + 8], "little"), pos + 8
        elif wire_type == WIRE_FIXED32:
            if pos + 4 > len(data):
                raise errors.bad_request("unexpected EOF")
            value, pos = int.from_bytes(data[pos:pos + 4], "little"), pos + 4
        elif wire_type == WIRE_LENGTH_DELIMITED:
            length, pos = _read_varint(data, pos)
            if pos + length > len(data):
                raise errors.bad_request("unexpected EOF")
            value, pos = data[pos:pos + length], pos + length
        else:
            raise errors.bad_request(f"proto: illegal wireType {wire_type} for field {number}")
        fields.append((number, wire_type, value))
    return fields


def _signed(value: int, bits: int) -> int:
    """Two's-complement reinterpretation of the low ``bits`` bits (proto int32/int64 are sign-extended)."""
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


# -- schema ----------------------------------------------------------------------------------------------------


class Kind(Enum):
    """How a field's payload is decoded and rendered in JSON."""

    STRING = "string"
    BYTES = "bytes"  # []byte → base64
    BOOL = "bool"
    INT32 = "int32"
    INT64 = "int64"
    TIME = "time"  # metav1.Time → RFC 3339 seconds
    MICRO_TIME = "micro_time"  # metav1.MicroTime → RFC 3339 microseconds
    FIELDS_V1 = "fields_v1"  # metav1.FieldsV1 → its raw JSON
    EXTRA_VALUE = "extra_value"  # authorization/authentication ExtraValue → []string
    MESSAGE = "message"  # a nested struct, see Field.message


_WIRE_TYPE = {Kind.BOOL: WIRE_VARINT, Kind.INT32: WIRE_VARINT, Kind.INT64: WIRE_VARINT}
"""Expected wire type per kind; every other kind is length-delimited."""


@dataclass(frozen=True)
class Field:
    """One struct field: protobuf number, JSON name and the Go shape that decides how it is rendered.

    ``repeated`` is a Go slice; ``map_value`` (not None) makes it a ``map[string]<map_value>`` (proto map entries
    ``key`` = 1, ``value`` = 2); ``pointer`` is a Go pointer (nil when absent from the wire). ``omitempty`` and
    ``omitzero`` are the json tag options.
    """

    number: int
    name: str
    kind: Kind
    message: str = ""
    repeated: bool = False
    map_value: Kind | None = None
    pointer: bool = False
    omitempty: bool = True
    omitzero: bool = False


def _f(number: int, name: str, kind: Kind, message: str = "", **shape: Any) -> Field:
    return Field(number, name, kind, message, **shape)


def _string(number: int, name: str, **shape: Any) -> Field:
    return _f(number, name, Kind.STRING, **shape)


def _strings(number: int, name: str, **shape: Any) -> Field:
    return _f(number, name, Kind.STRING, repeated=True, **shape)


def _bool(number: int, name: str, **shape: Any) -> Field:
    return _f(number, name, Kind.BOOL, **shape)


def _int32(number: int, name: str, **shape: Any) -> Field:
    return _f(number, name, Kind.INT32, **shape)


def _int64(number: int, name: str, **shape: Any) -> Field:
    return _f(number, name, Kind.INT64, **shape)


def _time(number: int, name: str, **shape: Any) -> Field:
    return _f(number, name, Kind.TIME, **shape)


def _micro_time(number: int, name: str, **shape: Any) -> Field:
    return _f(number, name, Kind.MICRO_TIME, **shape)


def _message(number: int, name: str, message: str, **shape: Any) -> Field:
    return _f(number, name, Kind.MESSAGE, message, **shape)


def _messages(number: int, name: str, message: str, **shape: Any) -> Field:
    return _f(number, name, Kind.MESSAGE, message, repeated=True, **shape)


def _map(number: int, name: str, value: Kind, **shape: Any) -> Field:
    return _f(number, name, Kind.MESSAGE, map_value=value, **shape)


def _metadata() -> Field:
    return _message(1, "metadata", "meta.ObjectMeta")


_NO = {"omitempty": False}
_PTR = {"pointer": True}

# Field numbers: the generated.proto of each package; json names/options and pointer-ness: its types.go.
# Fields are listed in Go struct order, which is the order json.Marshal writes them in.
_SCHEMAS: Mapping[str, tuple[Field, ...]] = MappingProxyType({
    # k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto, types.go
    "meta.ObjectMeta": (
        _string(1, "name"), _string(2, "generateName"), _string(3, "namespace"), _string(4, "selfLink"),
        _string(5, "uid"), _string(6, "resourceVersion"), _int64(7, "generation"),
        _time(8, "creationTimestamp", omitzero=True), _time(9, "deletionTimestamp", **_PTR),
        _int64(10, "deletionGracePeriodSeconds", **_PTR), _map(11, "labels", Kind.STRING),
        _map(12, "annotations", Kind.STRING), _messages(13, "ownerReferences", "meta.OwnerReference"),
        _strings(14, "finalizers"), _messages(17, "managedFields", "meta.ManagedFieldsEntry"),
    ),
    "meta.OwnerReference": (
        _string(5, "apiVersion", **_NO), _string(1, "kind", **_NO), _string(3, "name", **_NO),
        _string(4, "uid", **_NO), _bool(6, "controller", **_PTR), _bool(7, "blockOwnerDeletion", **_PTR),
    ),
    "meta.ManagedFieldsEntry": (
        _string(1, "manager"), _string(2, "operation"), _string(3, "apiVersion"), _time(4, "time", **_PTR),
        _string(6, "fieldsType"), _f(7, "fieldsV1", Kind.FIELDS_V1, pointer=True), _string(8, "subresource"),
    ),
    "meta.LabelSelector": (
        _map(1, "matchLabels", Kind.STRING),
        _messages(2, "matchExpressions", "meta.LabelSelectorRequirement"),
    ),
    "meta.LabelSelectorRequirement": (
        _string(1, "key", **_NO), _string(2, "operator", **_NO), _strings(3, "values"),
    ),
    "meta.FieldSelectorRequirement": (
        _string(1, "key", **_NO), _string(2, "operator", **_NO), _strings(3, "values"),
    ),
    "meta.DeleteOptions": (
        _int64(1, "gracePeriodSeconds", **_PTR), _message(2, "preconditions", "meta.Preconditions", **_PTR),
        _bool(3, "orphanDependents", **_PTR), _string(4, "propagationPolicy", **_PTR), _strings(5, "dryRun"),
        _bool(6, "ignoreStoreReadErrorWithClusterBreakingPotential", **_PTR),
    ),
    "meta.Preconditions": (_string(1, "uid", **_PTR), _string(2, "resourceVersion", **_PTR)),
    # k8s.io/api/core/v1/generated.proto, types.go
    "core.Namespace": (
        _metadata(), _message(2, "spec", "core.NamespaceSpec"), _message(3, "status", "core.NamespaceStatus"),
    ),
    "core.NamespaceSpec": (_strings(1, "finalizers"),),
    "core.NamespaceStatus": (
        _string(1, "phase"), _messages(2, "conditions", "core.NamespaceCondition"),
    ),
    "core.NamespaceCondition": (
        _string(1, "type", **_NO), _string(2, "status", **_NO), _time(4, "lastTransitionTime"),
        _string(5, "reason"), _string(6, "message"),
    ),
    "core.ConfigMap": (
        _metadata(), _bool(4, "immutable", **_PTR), _map(2, "data", Kind.STRING),
        _map(3, "binaryData", Kind.BYTES),
    ),
    "core.Secret": (
        _metadata(), _bool(5, "immutable", **_PTR), _map(2, "data", Kind.BYTES),
        _map(4, "stringData", Kind.STRING), _string(3, "type"),
    ),
    "core.ServiceAccount": (
        _metadata(), _messages(2, "secrets", "core.ObjectReference"),
        _messages(3, "imagePullSecrets", "core.LocalObjectReference"),
        _bool(4, "automountServiceAccountToken", **_PTR),
    ),
    "core.ObjectReference": (
        _string(1, "kind"), _string(2, "namespace"), _string(3, "name"), _string(4, "uid"),
        _string(5, "apiVersion"), _string(6, "resourceVersion"), _string(7, "fieldPath"),
    ),
    "core.LocalObjectReference": (_string(1, "name"),),
    "core.Event": (
        _metadata(), _message(2, "involvedObject", "core.ObjectReference", **_NO), _string(3, "reason"),
        _string(4, "message"), _message(5, "source", "core.EventSource"), _time(6, "firstTimestamp"),
        _time(7, "lastTimestamp"), _int32(8, "count"), _string(9, "type"), _micro_time(10, "eventTime"),
        _message(11, "series", "core.EventSeries", **_PTR), _string(12, "action"),
        _message(13, "related", "core.ObjectReference", **_PTR), _string(14, "reportingComponent", **_NO),
        _string(15, "reportingInstance", **_NO),
    ),
    "core.EventSeries": (_int32(1, "count"), _micro_time(2, "lastObservedTime")),
    "core.EventSource": (_string(1, "component"), _string(2, "host")),
    # k8s.io/api/events/v1/generated.proto, types.go
    "events.Event": (
        _metadata(), _micro_time(2, "eventTime", **_NO), _message(3, "series", "events.EventSeries", **_PTR),
        _string(4, "reportingController"), _string(5, "reportingInstance"), _string(6, "action"),
        _string(7, "reason"), _message(8, "regarding", "core.ObjectReference"),
        _message(9, "related", "core.ObjectReference", **_PTR), _string(10, "note"), _string(11, "type"),
        _message(12, "deprecatedSource", "core.EventSource"), _time(13, "deprecatedFirstTimestamp"),
        _time(14, "deprecatedLastTimestamp"), _int32(15, "deprecatedCount"),
    ),
    "events.EventSeries": (_int32(1, "count", **_NO), _micro_time(2, "lastObservedTime", **_NO)),
    # k8s.io/api/coordination/v1/generated.proto, types.go (strategy, preferredHolder: 1.31+)
    "coordination.Lease": (_metadata(), _message(2, "spec", "coordination.LeaseSpec")),
    "coordination.LeaseSpec": (
        _string(1, "holderIdentity", **_PTR), _int32(2, "leaseDurationSeconds", **_PTR),
        _micro_time(3, "acquireTime", **_PTR), _micro_time(4, "renewTime", **_PTR),
        _int32(5, "leaseTransitions", **_PTR), _string(6, "strategy", **_PTR),
        _string(7, "preferredHolder", **_PTR),
    ),
    # k8s.io/api/rbac/v1/generated.proto, types.go
    "rbac.Role": (_metadata(), _messages(2, "rules", "rbac.PolicyRule", **_NO)),
    "rbac.ClusterRole": (
        _metadata(), _messages(2, "rules", "rbac.PolicyRule", **_NO),
        _message(3, "aggregationRule", "rbac.AggregationRule", **_PTR),
    ),
    "rbac.RoleBinding": (
        _metadata(), _messages(2, "subjects", "rbac.Subject"), _message(3, "roleRef", "rbac.RoleRef", **_NO),
    ),
    "rbac.PolicyRule": (
        _strings(1, "verbs", **_NO), _strings(2, "apiGroups"), _strings(3, "resources"),
        _strings(4, "resourceNames"), _strings(5, "nonResourceURLs"),
    ),
    "rbac.AggregationRule": (_messages(1, "clusterRoleSelectors", "meta.LabelSelector"),),
    "rbac.Subject": (
        _string(1, "kind", **_NO), _string(2, "apiGroup"), _string(3, "name", **_NO), _string(4, "namespace"),
    ),
    "rbac.RoleRef": (_string(1, "apiGroup", **_NO), _string(2, "kind", **_NO), _string(3, "name", **_NO)),
    # k8s.io/api/authorization/v1/generated.proto, types.go (fieldSelector/labelSelector: 1.31+)
    "authorization.SubjectAccessReview": (
        _metadata(), _message(2, "spec", "authorization.SubjectAccessReviewSpec", **_NO),
        _message(3, "status", "authorization.SubjectAccessReviewStatus"),
    ),
    "authorization.SelfSubjectAccessReview": (
        _metadata(), _message(2, "spec", "authorization.SelfSubjectAccessReviewSpec", **_NO),
        _message(3, "status", "authorization.SubjectAccessReviewStatus"),
    ),
    "authorization.SelfSubjectRulesReview": (
        _metadata(), _message(2, "spec", "authorization.SelfSubjectRulesReviewSpec", **_NO),
        _message(3, "status", "authorization.SubjectRulesReviewStatus"),
    ),
    "authorization.SubjectAccessReviewSpec": (
        _message(1, "resourceAttributes", "authorization.ResourceAttributes", **_PTR),
        _message(2, "nonResourceAttributes", "authorization.NonResourceAttributes", **_PTR),
        _string(3, "user"), _strings(4, "groups"), _map(5, "extra", Kind.EXTRA_VALUE), _string(6, "uid"),
    ),
    "authorization.SelfSubjectAccessReviewSpec": (
        _message(1, "resourceAttributes", "authorization.ResourceAttributes", **_PTR),
        _message(2, "nonResourceAttributes", "authorization.NonResourceAttributes", **_PTR),
    ),
    "authorization.ResourceAttributes": (
        _string(1, "namespace"), _string(2, "verb"), _string(3, "group"), _string(4, "version"),
        _string(5, "resource"), _string(6, "subresource"), _string(7, "name"),
        _message(8, "fieldSelector", "authorization.FieldSelectorAttributes", **_PTR),
        _message(9, "labelSelector", "authorization.LabelSelectorAttributes", **_PTR),
    ),
    "authorization.FieldSelectorAttributes": (
        _string(1, "rawSelector"), _messages(2, "requirements", "meta.FieldSelectorRequirement"),
    ),
    "authorization.LabelSelectorAttributes": (
        _string(1, "rawSelector"), _messages(2, "requirements", "meta.LabelSelectorRequirement"),
    ),
    "authorization.NonResourceAttributes": (_string(1, "path"), _string(2, "verb")),
    "authorization.SubjectAccessReviewStatus": (
        _bool(1, "allowed", **_NO), _bool(4, "denied"), _string(2, "reason"), _string(3, "evaluationError"),
    ),
    "authorization.SelfSubjectRulesReviewSpec": (_string(1, "namespace"),),
    "authorization.SubjectRulesReviewStatus": (
        _messages(1, "resourceRules", "authorization.ResourceRule", **_NO),
        _messages(2, "nonResourceRules", "authorization.NonResourceRule", **_NO),
        _bool(3, "incomplete", **_NO), _string(4, "evaluationError"),
    ),
    "authorization.ResourceRule": (
        _strings(1, "verbs", **_NO), _strings(2, "apiGroups"), _strings(3, "resources"),
        _strings(4, "resourceNames"),
    ),
    "authorization.NonResourceRule": (_strings(1, "verbs", **_NO), _strings(2, "nonResourceURLs")),
    # k8s.io/api/authentication/v1/generated.proto, types.go (SelfSubjectReview: 1.28+)
    "authentication.TokenReview": (
        _metadata(), _message(2, "spec", "authentication.TokenReviewSpec", **_NO),
        _message(3, "status", "authentication.TokenReviewStatus"),
    ),
    "authentication.TokenReviewSpec": (_string(1, "token"), _strings(2, "audiences")),
    "authentication.TokenReviewStatus": (
        _bool(1, "authenticated"), _message(2, "user", "authentication.UserInfo"), _strings(4, "audiences"),
        _string(3, "error"),
    ),
    "authentication.UserInfo": (
        _string(1, "username"), _string(2, "uid"), _strings(3, "groups"), _map(4, "extra", Kind.EXTRA_VALUE),
    ),
    "authentication.SelfSubjectReview": (
        _metadata(), _message(2, "status", "authentication.SelfSubjectReviewStatus"),
    ),
    "authentication.SelfSubjectReviewStatus": (_message(1, "userInfo", "authentication.UserInfo"),),
    "authentication.TokenRequest": (
        _metadata(), _message(2, "spec", "authentication.TokenRequestSpec", **_NO),
        _message(3, "status", "authentication.TokenRequestStatus"),
    ),
    "authentication.TokenRequestSpec": (
        _strings(1, "audiences", **_NO), _int64(4, "expirationSeconds", **_PTR),
        _message(3, "boundObjectRef", "authentication.BoundObjectReference", **_PTR),
    ),
    "authentication.BoundObjectReference": (
        _string(1, "kind"), _string(2, "apiVersion"), _string(3, "name"), _string(4, "uid"),
    ),
    "authentication.TokenRequestStatus": (
        _string(1, "token", **_NO), _time(2, "expirationTimestamp", **_NO),
    ),
})

_KINDS: Mapping[tuple[str, str], str] = MappingProxyType({
    ("v1", "Namespace"): "core.Namespace",
    ("v1", "ConfigMap"): "core.ConfigMap",
    ("v1", "Secret"): "core.Secret",
    ("v1", "ServiceAccount"): "core.ServiceAccount",
    ("v1", "Event"): "core.Event",
    ("events.k8s.io/v1", "Event"): "events.Event",
    ("coordination.k8s.io/v1", "Lease"): "coordination.Lease",
    ("rbac.authorization.k8s.io/v1", "Role"): "rbac.Role",
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): "rbac.ClusterRole",
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): "rbac.RoleBinding",
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): "rbac.RoleBinding",
    ("authorization.k8s.io/v1", "SubjectAccessReview"): "authorization.SubjectAccessReview",
    ("authorization.k8s.io/v1", "LocalSubjectAccessReview"): "authorization.SubjectAccessReview",
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): "authorization.SelfSubjectAccessReview",
    ("authorization.k8s.io/v1", "SelfSubjectRulesReview"): "authorization.SelfSubjectRulesReview",
    ("authentication.k8s.io/v1", "TokenReview"): "authentication.TokenReview",
    ("authentication.k8s.io/v1", "TokenRequest"): "authentication.TokenRequest",
    ("authentication.k8s.io/v1", "SelfSubjectReview"): "authentication.SelfSubjectReview",
})
"""(apiVersion, kind) → schema. DeleteOptions is accepted under any apiVersion (every group version registers it,
metav1.AddToGroupVersion)."""

SUPPORTED_KINDS: frozenset[tuple[str, str]] = frozenset(_KINDS) | {("meta.k8s.io/v1", "DeleteOptions")}
"""The (apiVersion, kind) pairs :func:`decode_request` understands (DeleteOptions: under any apiVersion)."""


# -- decoding --------------------------------------------------------------------------------------------------


def is_protobuf(content_type: str) -> bool:
    """Whether a Content-Type header names the Kubernetes protobuf encoding (parameters and case ignored)."""
    return content_type.split(";")[0].strip().lower() == PROTOBUF_MEDIA_TYPE


def decode_request(raw: bytes) -> dict[str, Any]:
    """Decode a protobuf request body into the JSON object (``kind`` and ``apiVersion`` first) it stands for.

    Raises :class:`APIError` 400 BadRequest when the body is not a well-formed envelope or message, and 415
    UnsupportedMediaType when the envelope names a kind this module has no schema for.
    """
    if not raw.startswith(PROTOBUF_MAGIC):
        raise errors.bad_request(
            f"provided data does not appear to be a protobuf message, expected prefix {list(PROTOBUF_MAGIC)}"
        )
    api_version, kind, payload = _unwrap_unknown(raw[len(PROTOBUF_MAGIC):])
    schema = "meta.DeleteOptions" if kind == "DeleteOptions" else _KINDS.get((api_version, kind))
    if schema is None:
        raise _unsupported_kind(api_version, kind)
    obj: dict[str, Any] = {"kind": kind, "apiVersion": api_version}
    obj.update(_decode_message(schema, payload, kind))
    return obj


def _unwrap_unknown(data: bytes) -> tuple[str, str, bytes]:
    """``runtime.Unknown`` → (apiVersion, kind, raw) (k8s.io/apimachinery/pkg/runtime/generated.proto)."""
    api_version = kind = content_encoding = content_type = ""
    payload = b""
    for number, wire_type, value in read_fields(data):
        if number == 1:
            for sub_number, sub_wire_type, sub_value in read_fields(_bytes_of(value, wire_type, "typeMeta")):
                if sub_number == 1:
                    api_version = _text(sub_value, sub_wire_type, "TypeMeta.apiVersion")
                elif sub_number == 2:
                    kind = _text(sub_value, sub_wire_type, "TypeMeta.kind")
        elif number == 2:
            payload = _bytes_of(value, wire_type, "Unknown.raw")
        elif number == 3:
            content_encoding = _text(value, wire_type, "Unknown.contentEncoding")
        elif number == 4:
            content_type = _text(value, wire_type, "Unknown.contentType")
    if not kind:
        raise errors.bad_request("Object 'Kind' is missing in protobuf request body")
    if content_encoding:
        raise _unsupported_kind(api_version, kind, f"content encoding {content_encoding!r} is not supported")
    if content_type and not is_protobuf(content_type):
        raise _unsupported_kind(api_version, kind, f"embedded content type {content_type!r} is not supported")
    return api_version, kind, payload


def _unsupported_kind(api_version: str, kind: str, why: str = "") -> APIError:
    accepted = ["application/json", "application/yaml", PROTOBUF_MEDIA_TYPE]
    base = errors.unsupported_media_type(PROTOBUF_MEDIA_TYPE, accepted)
    reason = why or "the emulator cannot decode protobuf for this kind; send it as application/json"
    return dataclasses.replace(base, message=f"{base.message} ({api_version}, Kind={kind}: {reason})")


def _bytes_of(value: WireValue, wire_type: int, where: str) -> bytes:
    if wire_type != WIRE_LENGTH_DELIMITED or not isinstance(value, bytes):
        raise errors.bad_request(f"proto: wrong wireType = {wire_type} for field {where}")
    return value


def _text(value: WireValue, wire_type: int, where: str) -> str:
    """A string field; invalid UTF-8 becomes U+FFFD, as Go's JSON encoder writes it."""
    return _bytes_of(value, wire_type, where).decode("utf-8", errors="replace")


_OMIT = object()
"""Sentinel: the field is left out of the JSON object."""


def _decode_message(schema: str, data: bytes, path: str) -> dict[str, Any]:
    """One message → the JSON object of its Go struct (fields unknown to the schema are skipped, like gogo)."""
    by_number: dict[int, list[tuple[int, WireValue]]] = {}
    for number, wire_type, value in read_fields(data):
        by_number.setdefault(number, []).append((wire_type, value))
    out: dict[str, Any] = {}
    for field in _SCHEMAS[schema]:
        rendered = _render_field(field, by_number.get(field.number, []), f"{path}.{field.name}")
        if rendered is not _OMIT:
            out[field.name] = rendered
    return out


def _render_field(field: Field, occurrences: list[tuple[int, WireValue]], path: str) -> Any:
    """The JSON value ``json.Marshal`` writes for ``field``, or ``_OMIT`` when its tag leaves it out."""
    if field.map_value is not None or field.repeated:
        if not occurrences:  # nil slice / nil map
            return _OMIT if field.omitempty else None
        if field.map_value is not None:
            entries = dict(_map_entry(field, wire_type, value, path) for wire_type, value in occurrences)
            return {key: entries[key] for key in sorted(entries)}
        return [_element(field, wire_type, value, path) for wire_type, value in occurrences]
    if not occurrences:
        if field.pointer:
            return _OMIT if field.omitempty else None
        value = _zero(field, path)
    elif field.kind is Kind.MESSAGE:  # a repeated singular message merges (proto semantics: concatenation)
        value = _decode_message(field.message, b"".join(
            _bytes_of(v, wt, path) for wt, v in occurrences), path)
    else:  # last one wins
        value = _element(field, *occurrences[-1], path)
    if field.pointer:
        return value
    if field.omitzero and value == _zero(field, path):
        return _OMIT
    if field.omitempty and field.kind not in (Kind.MESSAGE, Kind.TIME, Kind.MICRO_TIME) and not value:
        return _OMIT  # "", 0, false; structs (incl. Time) are never "empty" to encoding/json
    return value


def _zero(field: Field, path: str) -> Any:
    """The JSON of a Go zero value of a non-pointer, non-slice field."""
    if field.kind is Kind.MESSAGE:
        return _decode_message(field.message, b"", path)
    return {Kind.STRING: "", Kind.BOOL: False, Kind.INT32: 0, Kind.INT64: 0}.get(field.kind)


def _element(field: Field, wire_type: int, value: WireValue, path: str) -> Any:
    """One decoded value of ``field.kind`` (an element, for slices)."""
    kind = field.kind
    expected = _WIRE_TYPE.get(kind, WIRE_LENGTH_DELIMITED)
    if wire_type != expected:
        raise errors.bad_request(f"proto: wrong wireType = {wire_type} for field {path}")
    if kind is Kind.BOOL:
        return bool(value)
    if kind is Kind.INT32:
        return _signed(int(value), 32)
    if kind is Kind.INT64:
        return _signed(int(value), 64)
    assert isinstance(value, bytes)
    if kind is Kind.STRING:
        return value.decode("utf-8", errors="replace")
    if kind is Kind.BYTES:
        return base64.b64encode(value).decode("ascii")
    if kind in (Kind.TIME, Kind.MICRO_TIME):
        return _timestamp(value, micro=kind is Kind.MICRO_TIME, path=path)
    if kind is Kind.FIELDS_V1:
        return _fields_v1(value, path)
    if kind is Kind.EXTRA_VALUE:
        return [_text(v, wt, f"{path}.items") for n, wt, v in read_fields(value) if n == 1]
    return _decode_message(field.message, value, path)


def _map_entry(field: Field, wire_type: int, entry: WireValue, path: str) -> tuple[str, Any]:
    """A map entry message (key = 1, value = 2); a missing value is the Go zero of the value type."""
    assert field.map_value is not None
    value_field = Field(2, "value", field.map_value)
    key, value = "", {Kind.STRING: "", Kind.EXTRA_VALUE: []}.get(field.map_value)
    for number, sub_wire_type, sub_value in read_fields(_bytes_of(entry, wire_type, path)):
        if number == 1:
            key = _text(sub_value, sub_wire_type, f"{path}.key")
        elif number == 2:
            value = _element(value_field, sub_wire_type, sub_value, f"{path}[{key}]")
    return key, value


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _timestamp(data: bytes, *, micro: bool, path: str) -> str | None:
    """A ``Timestamp`` {seconds = 1, nanos = 2} as Time/MicroTime JSON; an empty message is the zero time (null)."""
    if not data:
        return None
    seconds = nanos = 0
    for number, wire_type, value in read_fields(data):
        if wire_type != WIRE_VARINT:
            raise errors.bad_request(f"proto: wrong wireType = {wire_type} for field {path}")
        if number == 1:
            seconds = _signed(int(value), 64)
        elif number == 2:
            nanos = _signed(int(value), 32)
    whole, remainder_ns = divmod(seconds * 1_000_000_000 + nanos, 1_000_000_000)
    try:
        moment = _EPOCH + timedelta(seconds=whole, microseconds=remainder_ns // 1000)
    except OverflowError:
        moment = None
    if moment is None or moment.year < 1 or moment.year > 9999:
        raise errors.bad_request(f"Time.MarshalJSON: year outside of range [0,9999] at {path}")
    text = (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
            f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}")
    return f"{text}.{moment.microsecond:06d}Z" if micro else f"{text}Z"


def _fields_v1(data: bytes, path: str) -> Any:
    """``FieldsV1`` {raw = 1}: its MarshalJSON writes ``raw`` verbatim (null when unset)."""
    raw: bytes | None = None
    for number, wire_type, value in read_fields(data):
        if number == 1:
            raw = _bytes_of(value, wire_type, path)
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise errors.bad_request(f"json: error calling MarshalJSON for type *v1.FieldsV1 at {path}: {exc}") from exc
