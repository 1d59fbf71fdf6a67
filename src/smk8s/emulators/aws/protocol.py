"""The wire protocols botocore speaks to these services: AWS JSON 1.1 and, for STS, the query protocol.

Pure functions from request parts to ``(service, operation, params)`` and from results or errors to response
parts; no I/O. Routing:

- JSON 1.1: ``X-Amz-Target: <prefix>.<Operation>`` where the prefix names the service (:data:`JSON_TARGETS`);
  the body is the input structure as JSON. Answers are ``application/x-amz-json-1.1``; errors are
  ``{"__type": CODE, "message": TEXT}`` (botocore reads the code from ``__type`` after any ``#``).
- Query (STS): a form body (or query string) with ``Action`` and ``Version`` and the members flattened as
  botocore's query serializer flattens them (``A.B``, lists ``A.member.N``, maps ``A.entry.N.key/value``). Answers
  are XML ``<OpResponse><OpResult>...</OpResult><ResponseMetadata>`` documents; errors are
  ``<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>``.

An operation the model does not define is answered as AWS does: JSON services with HTTP 400
``com.amazon.coral.service#UnknownOperationException`` and no message (captures in aws-sdk-net#1536 and
aws-sdk-go#3689); STS with ``InvalidAction`` "Could not find operation X for version 2011-06-15".
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape

from smk8s.emulators.aws.errors import AwsError

JSON_TARGETS: Mapping[str, str] = {
    "SageMaker": "sagemaker",
    "Logs_20140328": "logs",
    "AnyScaleFrontendService": "application-autoscaling",
}
JSON_CONTENT_TYPE = "application/x-amz-json-1.1"
XML_CONTENT_TYPE = "text/xml"
STS_VERSION = "2011-06-15"
STS_NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
UNKNOWN_OPERATION = "com.amazon.coral.service#UnknownOperationException"


@dataclass(frozen=True)
class ParsedRequest:
    """One routed request: the service (botocore model name), operation name and input members."""

    service: str
    operation: str
    params: dict[str, Any]
    protocol: str  # "json" or "query"


@functools.cache
def service_model(service: str) -> ServiceModel:
    """botocore's installed model for ``service`` (loaded once per process)."""
    return botocore.session.get_session().get_service_model(service)


def operation_model(service: str, operation: str) -> OperationModel | None:
    model = service_model(service)
    return model.operation_model(operation) if operation in model.operation_names else None


def unknown_operation() -> AwsError:
    return AwsError(UNKNOWN_OPERATION, "")


# -- requests ---------------------------------------------------------------------------------------------


def is_query_request(headers: Mapping[str, str], query: Mapping[str, str], body: bytes) -> bool:
    """True for a query-protocol (STS) request: no ``X-Amz-Target`` and an ``Action`` in the form or URL."""
    if headers.get("X-Amz-Target"):
        return False
    if "Action" in query:
        return True
    content_type = headers.get("Content-Type", "")
    return content_type.startswith("application/x-www-form-urlencoded") or body.startswith(b"Action=")


def parse_json_request(target: str, body: bytes) -> ParsedRequest:
    """Route a JSON 1.1 request by ``X-Amz-Target``; raises UnknownOperation / SerializationException."""
    prefix, _, operation = target.partition(".")
    service = JSON_TARGETS.get(prefix)
    if service is None or not operation or operation_model(service, operation) is None:
        raise unknown_operation()
    if not body.strip():
        params: Any = {}
    else:
        try:
            params = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise AwsError("SerializationException", "Start of structure or map found where not expected.") from None
    if not isinstance(params, dict):
        raise AwsError("SerializationException", "Start of structure or map found where not expected.")
    return ParsedRequest(service, operation, params, "json")


def parse_qsl_safe(body: bytes) -> list[tuple[str, str]]:
    """The form fields of a body ([] when it is not UTF-8)."""
    try:
        return parse_qsl(body.decode(), keep_blank_values=True)
    except UnicodeDecodeError:
        return []


def parse_query_request(query: Mapping[str, str], body: bytes) -> ParsedRequest:
    """Route an STS query request by ``Action``; its members are rebuilt from the flattened form."""
    form: dict[str, str] = dict(query)
    try:
        form.update(parse_qsl(body.decode(), keep_blank_values=True))
    except UnicodeDecodeError:
        raise AwsError("MalformedQueryString", "The request is not a valid form") from None
    action = form.get("Action")
    if not action:
        raise AwsError("MissingAction", "Missing Action")
    op = operation_model("sts", action)
    if op is None:
        raise AwsError("InvalidAction", f"Could not find operation {action} for version {STS_VERSION}")
    params = unflatten(op.input_shape, form, "") if op.input_shape is not None else {}
    return ParsedRequest("sts", action, params, "query")


def unflatten(shape: StructureShape, form: Mapping[str, str], prefix: str) -> dict[str, Any]:
    """Rebuild a structure from query-protocol keys (the inverse of botocore's ``QuerySerializer``)."""
    result: dict[str, Any] = {}
    for name, member in shape.members.items():
        key = prefix + member.serialization.get("name", name)
        value = _unflatten_value(member, form, key)
        if value is not None:
            result[name] = value
    return result


def _unflatten_value(shape: Shape, form: Mapping[str, str], key: str) -> Any:
    if isinstance(shape, StructureShape):
        if not any(k.startswith(key + ".") for k in form):
            return None
        return unflatten(shape, form, key + ".")
    if isinstance(shape, ListShape):
        if form.get(key) == "":
            return []
        item_name = shape.member.serialization.get("name", "member")
        items = []
        index = 1
        while True:
            item_key = f"{key}.{item_name}.{index}"
            item = _unflatten_value(shape.member, form, item_key)
            if item is None:
                break
            items.append(item)
            index += 1
        return items if items else None
    if isinstance(shape, MapShape):
        mapping: dict[str, Any] = {}
        index = 1
        while f"{key}.entry.{index}.key" in form:
            entry = f"{key}.entry.{index}"
            mapping[form[f"{entry}.key"]] = _unflatten_value(shape.value, form, f"{entry}.value")
            index += 1
        return mapping or None
    raw = form.get(key)
    if raw is None:
        return None
    return _scalar(shape, raw)


def _scalar(shape: Shape, raw: str) -> Any:
    kind = shape.type_name
    try:
        if kind in ("integer", "long"):
            return int(raw)
        if kind in ("float", "double"):
            return float(raw)
    except ValueError:
        return raw  # left a string: validation answers SerializationException
    if kind == "boolean":
        return raw == "true" if raw in ("true", "false") else raw
    return raw


# -- responses --------------------------------------------------------------------------------------------


def json_body(result: Mapping[str, Any]) -> bytes:
    """A JSON 1.1 response body; datetimes become epoch seconds, bytes base64 (as the protocol carries them)."""
    return json.dumps(result, default=_json_default, separators=(",", ":")).encode()


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"cannot serialize {type(value).__name__}")


def json_error_body(error: AwsError) -> bytes:
    body: dict[str, str] = {"__type": error.code}
    if error.message:
        body["message"] = error.message
    return json.dumps(body).encode()


def query_response_body(operation: OperationModel, result: Mapping[str, Any], request_id: str) -> bytes:
    """The STS XML document for a successful ``operation`` returning ``result``."""
    name = operation.name
    inner = ""
    shape = operation.output_shape
    if shape is not None:
        wrapper = shape.serialization.get("resultWrapper", f"{name}Result")
        inner = f"<{wrapper}>{_xml_members(shape, result)}</{wrapper}>"
    return (
        f'<{name}Response xmlns="{STS_NAMESPACE}">{inner}'
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{name}Response>\n"
    ).encode()


def _xml_members(shape: StructureShape, value: Mapping[str, Any]) -> str:
    parts = []
    for name, member in shape.members.items():
        if value.get(name) is None:
            continue
        tag = member.serialization.get("name", name)
        parts.append(f"<{tag}>{_xml_value(member, value[name])}</{tag}>")
    return "".join(parts)


def _xml_value(shape: Shape, value: Any) -> str:
    if isinstance(shape, StructureShape):
        return _xml_members(shape, value)
    if isinstance(shape, ListShape):
        tag = shape.member.serialization.get("name", "member")
        return "".join(f"<{tag}>{_xml_value(shape.member, item)}</{tag}>" for item in value)
    if isinstance(shape, MapShape):
        return "".join(
            f"<entry><key>{escape(str(k))}</key><value>{_xml_value(shape.value, v)}</value></entry>"
            for k, v in value.items()
        )
    if shape.type_name == "timestamp":
        return iso8601(value)
    if shape.type_name == "boolean":
        return "true" if value else "false"
    if shape.type_name == "blob":
        return base64.b64encode(value).decode() if isinstance(value, bytes) else escape(str(value))
    return escape(str(value))


def iso8601(value: float | datetime) -> str:
    """``2024-01-02T03:04:05Z`` (UTC, whole seconds), as STS writes timestamps."""
    when = value if isinstance(value, datetime) else datetime.fromtimestamp(float(value), UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def query_error_body(error: AwsError, request_id: str) -> bytes:
    """STS's XML error document; ``Type`` is ``Receiver`` for 5xx answers, ``Sender`` otherwise."""
    kind = "Receiver" if error.status >= 500 else "Sender"
    return (
        f'<ErrorResponse xmlns="{STS_NAMESPACE}"><Error><Type>{kind}</Type><Code>{escape(error.code)}</Code>'
        f"<Message>{escape(error.message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>\n"
    ).encode()
