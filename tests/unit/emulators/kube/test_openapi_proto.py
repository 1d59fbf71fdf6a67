"""The /openapi/v2 protobuf encoder, checked by decoding its output with a tiny generic protobuf wire decoder.

Field numbers in these tests are read off openapiv2/OpenAPIv2.proto (github.com/google/gnostic, same as
gnostic-models) independently of the encoder's table, so a wrong table entry fails here.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest
import yaml

from smk8s.emulators.kube import openapi
from smk8s.emulators.kube.openapi_proto import (
    _MESSAGE_NAMES,
    _OBJECT_MESSAGES,
    JSON_CONTENT_TYPE,
    PROTOBUF_CONTENT_TYPE,
    PROTOBUF_CONTENT_TYPE_DEPRECATED,
    EncodedDocumentCache,
    _varint,
    any_yaml,
    encode_openapi_v2,
    negotiate_content_type,
)
from smk8s.emulators.kube.registry import Registry
from smk8s.emulators.kube.resources import resource_types_from_crd

CRD = Path(__file__).parents[3] / "support" / "manifests" / "trainingjob-crd.yaml"

Message = dict[int, list[Any]]

# -- a generic wire decoder ---------------------------------------------------------------------------------


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, pos


def decode(data: bytes) -> Message:
    """field number → occurrences: ints for varints, 8 raw bytes for fixed64, bytes for length-delimited."""
    fields: Message = {}
    order: list[int] = []
    pos = 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        number, wire_type = key >> 3, key & 7
        value: Any
        if wire_type == 0:
            value, pos = _read_varint(data, pos)
        elif wire_type == 1:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire_type == 2:
            length, pos = _read_varint(data, pos)
            value, pos = data[pos : pos + length], pos + length
        else:
            raise AssertionError(f"unexpected wire type {wire_type}")
        fields.setdefault(number, []).append(value)
        order.append(number)
    assert order == sorted(order), "fields must be written in field-number order, as Go's proto.Marshal does"
    return fields


def sub(message: Message, number: int) -> Message:
    (value,) = message[number]
    return decode(value)


def text(message: Message, number: int) -> str:
    (value,) = message[number]
    return bytes(value).decode()


def texts(message: Message, number: int) -> list[str]:
    return [bytes(v).decode() for v in message.get(number, [])]


def named(message: Message, number: int) -> dict[str, bytes]:
    """A ``repeated Named*`` field: name (1) → raw value (2), in order."""
    out: dict[str, bytes] = {}
    for raw in message.get(number, []):
        pair = decode(raw)
        out[text(pair, 1) if 1 in pair else ""] = pair[2][0]
    return out


def extensions(message: Message, number: int) -> dict[str, Any]:
    """``repeated NamedAny vendor_extension``, each Any's yaml (field 2) parsed."""
    return {name: yaml.safe_load(text(decode(raw), 2)) for name, raw in named(message, number).items()}


def double(message: Message, number: int) -> float:
    (raw,) = message[number]
    return float(struct.unpack("<d", raw)[0])


def signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def encode_schema(schema: dict[str, Any]) -> Message:
    """Encode a document with one definition and decode that definition's Schema."""
    document = decode(encode_openapi_v2({"swagger": "2.0", "definitions": {"D": schema}}))
    return decode(named(sub(document, 9), 1)["D"])


@pytest.fixture(scope="module")
def builtin_document() -> dict[str, Any]:
    return openapi.openapi_v2(Registry().all())


@pytest.fixture(scope="module")
def encoded_builtin(builtin_document: dict[str, Any]) -> Message:
    return decode(encode_openapi_v2(builtin_document))


# -- wire format --------------------------------------------------------------------------------------------


def test_varints_are_base128_and_negative_int64_is_ten_byte_twos_complement() -> None:
    assert _varint(0) == b"\x00"
    assert _varint(300) == b"\xac\x02"
    assert _varint(-1) == b"\xff" * 9 + b"\x01"


def test_message_table_is_consistent() -> None:
    for name, fields in _OBJECT_MESSAGES.items():
        numbers = [field.number for field in fields]
        assert numbers == list(range(1, len(fields) + 1)), name  # every .proto message numbers fields 1..n
        for field in fields:
            assert field.type in {"string", "bool", "int64", "double"} | _MESSAGE_NAMES, (name, field)


# -- Document -----------------------------------------------------------------------------------------------


def test_document_top_level_fields(encoded_builtin: Message) -> None:
    assert text(encoded_builtin, 1) == "2.0"  # swagger = 1
    info = sub(encoded_builtin, 2)  # Info info = 2
    assert (text(info, 1), text(info, 2)) == ("Kubernetes", "v1.37.0")  # title = 1, version = 2
    (requirement,) = [decode(raw) for raw in encoded_builtin[12]]  # repeated SecurityRequirement = 12
    assert decode(named(requirement, 1)["BearerToken"]) == {}  # StringArray with no scopes
    definitions = named(sub(encoded_builtin, 13), 1)  # SecurityDefinitions security_definitions = 13
    api_key = sub(decode(definitions["BearerToken"]), 2)  # SecurityDefinitionsItem.api_key_security = 2
    assert [text(api_key, n) for n in (1, 2, 3)] == ["apiKey", "authorization", "header"]


def test_every_definition_and_path_is_encoded_in_document_order(
    builtin_document: dict[str, Any], encoded_builtin: Message
) -> None:
    assert list(named(sub(encoded_builtin, 9), 1)) == list(builtin_document["definitions"])  # definitions = 9
    assert list(named(sub(encoded_builtin, 8), 2)) == list(builtin_document["paths"])  # Paths.path = 2


def test_definition_properties_types_refs_and_required(encoded_builtin: Message) -> None:
    definitions = named(sub(encoded_builtin, 9), 1)
    config_map = decode(definitions["io.k8s.api.core.v1.ConfigMap"])
    assert text(config_map, 4).startswith("ConfigMap holds configuration data")  # description = 4
    properties = named(sub(config_map, 25), 1)  # Properties properties = 25
    assert {"apiVersion", "kind", "metadata", "data", "binaryData", "immutable"} <= set(properties)
    data = decode(properties["data"])
    assert texts(sub(data, 22), 1) == ["object"]  # TypeItem type = 22
    value_schema = sub(sub(data, 21), 1)  # AdditionalPropertiesItem.schema = 1
    assert texts(sub(value_schema, 22), 1) == ["string"]
    metadata = decode(properties["metadata"])
    assert text(metadata, 1) == "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"  # _ref = 1
    assert 22 not in metadata
    config_map_list = decode(definitions["io.k8s.api.core.v1.ConfigMapList"])
    assert texts(config_map_list, 19) == ["items"]  # repeated string required = 19
    items = decode(named(sub(config_map_list, 25), 1)["items"])
    (item_schema,) = [decode(raw) for raw in sub(items, 23)[1]]  # ItemsItem items = 23, repeated Schema = 1
    assert text(item_schema, 1) == "#/definitions/io.k8s.api.core.v1.ConfigMap"


def test_group_version_kind_extension_is_yaml_in_an_any(encoded_builtin: Message) -> None:
    definitions = named(sub(encoded_builtin, 9), 1)
    config_map = decode(definitions["io.k8s.api.core.v1.ConfigMap"])
    assert extensions(config_map, 31)["x-kubernetes-group-version-kind"] == [  # vendor_extension = 31
        {"group": "", "kind": "ConfigMap", "version": "v1"}
    ]


def test_operations_parameters_and_responses(
    builtin_document: dict[str, Any], encoded_builtin: Message
) -> None:
    path = "/api/v1/namespaces/{namespace}/configmaps"
    item = decode(named(sub(encoded_builtin, 8), 2)[path])
    post = sub(item, 4)  # Operation post = 4
    assert text(post, 5) == builtin_document["paths"][path]["post"]["operationId"]  # operation_id = 5
    assert texts(post, 7) == ["*/*"] and texts(post, 10) == ["https"]  # consumes = 7, schemes = 10
    assert extensions(post, 13)["x-kubernetes-action"] == "post"
    parameters = [decode(raw) for raw in post[8]]  # repeated ParametersItem parameters = 8
    body = sub(sub(parameters[0], 1), 1)  # ParametersItem.parameter = 1 → Parameter.body_parameter = 1
    assert (text(body, 2), text(body, 3), body[4]) == ("body", "body", [1])  # name, in, required
    assert text(sub(body, 5), 1) == "#/definitions/io.k8s.api.core.v1.ConfigMap"
    non_body = sub(sub(parameters[1], 1), 2)  # Parameter.non_body_parameter = 2
    query = sub(non_body, 3)  # NonBodyParameter.query_parameter_sub_schema = 3
    assert text(query, 2) == "query" and query[20] == [1]  # in = 2, unique_items = 20
    responses = named(sub(post, 9), 1)  # Responses.response_code = 1
    assert list(responses) == ["200", "201", "202", "401"]
    created = sub(decode(responses["201"]), 1)  # ResponseValue.response = 1
    assert text(created, 1) == "Created"
    schema = sub(sub(created, 2), 1)  # Response.schema = 2 → SchemaItem.schema = 1
    assert text(schema, 1) == "#/definitions/io.k8s.api.core.v1.ConfigMap"
    assert 2 not in sub(decode(responses["401"]), 1)
    path_parameters = [sub(sub(decode(raw), 1), 2) for raw in item[9]]  # PathItem.parameters = 9
    namespace = sub(path_parameters[0], 4)  # NonBodyParameter.path_parameter_sub_schema = 4
    assert (namespace[1], text(namespace, 4)) == ([1], "namespace")  # required = 1, name = 4


def test_references_among_parameters_and_responses_are_json_references() -> None:
    operation = {
        "parameters": [{"$ref": "#/parameters/pretty"}],
        "responses": {"default": {"$ref": "#/responses/Err"}, "x-note": "n"},
    }
    document = decode(encode_openapi_v2({"swagger": "2.0", "paths": {"/a": {"get": operation}}}))
    get = sub(decode(named(sub(document, 8), 2)["/a"]), 2)
    assert text(sub(decode(get[8][0]), 2), 1) == "#/parameters/pretty"  # ParametersItem.json_reference = 2
    responses = sub(get, 9)
    assert text(sub(decode(named(responses, 1)["default"]), 2), 1) == "#/responses/Err"
    assert extensions(responses, 2) == {"x-note": "n"}  # Responses.vendor_extension = 2


def test_header_form_data_and_file_responses_take_their_oneof_alternatives() -> None:
    operation = {
        "parameters": [
            {"in": "header", "name": "h", "type": "string"},
            {"in": "formData", "name": "f", "type": "file", "allowEmptyValue": True},
        ],
        "responses": {"200": {"description": "OK", "schema": {"type": "file"}}},
    }
    document = decode(encode_openapi_v2({"swagger": "2.0", "paths": {"/a": {"put": operation}}}))
    put = sub(decode(named(sub(document, 8), 2)["/a"]), 3)  # Operation put = 3
    header, form = (sub(sub(decode(raw), 1), 2) for raw in put[8])
    assert text(sub(header, 1), 5) == "string"  # header_parameter_sub_schema = 1, type = 5
    form_data = sub(form, 2)  # form_data_parameter_sub_schema = 2
    assert (form_data[5], text(form_data, 6)) == ([1], "file")  # allow_empty_value = 5, type = 6
    ok = sub(decode(named(sub(put, 9), 1)["200"]), 1)
    assert text(sub(sub(ok, 2), 2), 6) == "file"  # SchemaItem.file_schema = 2, FileSchema.type = 6


# -- Schema details -----------------------------------------------------------------------------------------


def test_additional_properties_false_is_encoded_because_oneof_members_have_presence() -> None:
    schema = encode_schema({"type": "object", "additionalProperties": False})
    assert sub(schema, 21) == {2: [0]}  # AdditionalPropertiesItem.boolean = 2


def test_empty_properties_stay_present_and_zero_scalars_are_omitted() -> None:
    schema = encode_schema({"properties": {}, "description": "", "uniqueItems": False, "maxLength": 0})
    assert schema == {25: [b""]}


def test_type_and_items_lists() -> None:
    schema = encode_schema({"type": ["string", "null"], "items": [{"type": "integer"}, {"type": "boolean"}]})
    assert texts(sub(schema, 22), 1) == ["string", "null"]
    assert [texts(sub(decode(raw), 22), 1) for raw in sub(schema, 23)[1]] == [["integer"], ["boolean"]]


def test_numeric_constraints() -> None:
    schema = encode_schema({"minimum": -1.5, "maximum": 10, "exclusiveMaximum": True, "multipleOf": 0.5,
                            "maxLength": 63, "minItems": 1, "maxProperties": -2})
    assert (double(schema, 9), double(schema, 7), double(schema, 6)) == (-1.5, 10.0, 0.5)
    assert (schema[8], schema[11], schema[15]) == ([1], [63], [1])
    assert signed(schema[17][0]) == -2


def test_default_example_and_enum_are_yaml_anys_that_read_back_to_the_json_values() -> None:
    values = ["true", True, None, "1.0", 3, 2.5, "multi\nline: text", {"a": [1, {"b": "x"}]}, "é ünïcode"]
    schema = encode_schema({"enum": values, "default": "true", "example": {"k": None}})
    assert [yaml.safe_load(text(decode(raw), 2)) for raw in schema[20]] == values  # repeated Any enum = 20
    assert yaml.safe_load(text(sub(schema, 5), 2)) == "true"  # Any default = 5 (a string, quoted)
    assert yaml.safe_load(text(sub(schema, 30), 2)) == {"k": None}  # Any example = 30


def test_any_yaml_has_no_document_end_marker() -> None:
    assert any_yaml("Delete") == "Delete\n"
    assert any_yaml([{"group": "", "kind": "Pod"}]) == "- group: ''\n  kind: Pod\n"


def test_integers_in_string_fields_are_their_text_as_gnostic_reads_int_scalars() -> None:
    assert text(encode_schema({"format": 32}), 2) == "32"


def test_all_of_and_xml() -> None:
    schema = encode_schema({"allOf": [{"$ref": "#/definitions/A"}], "xml": {"name": "n", "attribute": True}})
    assert text(decode(schema[24][0]), 1) == "#/definitions/A"  # repeated Schema all_of = 24
    xml = sub(schema, 28)
    assert (text(xml, 1), xml[4]) == ("n", [1])


# -- keys without a field, and bad values -------------------------------------------------------------------


def test_keys_without_a_field_are_dropped_or_rejected_when_strict() -> None:
    document: dict[str, Any] = {"swagger": "2.0", "definitions": {"D": {"type": "string", "nullable": True}}}
    assert encode_schema(document["definitions"]["D"]) == {22: [b"\n\x06string"]}
    with pytest.raises(ValueError, match=r"\$\.definitions\['D'\]\.nullable"):
        encode_openapi_v2(document, strict=True)
    cache = EncodedDocumentCache()
    assert cache.encode(document).dropped_keys == ("$.definitions['D'].nullable",)


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"type": [{}]}, r"\$\.definitions\['D'\]\.type\[0\]: expected a string, got dict"),
        ({"format": True}, r"format: expected a string, got bool"),
        ({"maxLength": 1.5}, r"maxLength: expected an integer"),
        ({"uniqueItems": "yes"}, r"uniqueItems: expected a boolean"),
        ({"required": "name"}, r"required: expected a list"),
        ({"properties": {"a": 1}}, r"properties\['a'\]: expected an object"),
        ({"minimum": True}, r"minimum: expected a number"),
    ],
)
def test_values_of_the_wrong_json_type_raise_with_their_path(schema: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        encode_openapi_v2({"definitions": {"D": schema}})


def test_unknown_parameter_location_and_security_type_are_errors() -> None:
    bad_parameter = {"paths": {"/a": {"parameters": [{"in": "cookie", "name": "c"}]}}}
    with pytest.raises(ValueError, match=r"\$\.paths\['/a'\]\.parameters\[0\]: parameter 'in'"):
        encode_openapi_v2(bad_parameter)
    with pytest.raises(ValueError, match="unsupported security definition type 'openIdConnect'"):
        encode_openapi_v2({"securityDefinitions": {"o": {"type": "openIdConnect"}}})


def test_oauth2_security_definitions_by_flow() -> None:
    document = {"securityDefinitions": {
        "code": {"type": "oauth2", "flow": "accessCode", "authorizationUrl": "https://a", "tokenUrl": "https://t",
                 "scopes": {"read": "Read"}},
        "app": {"type": "oauth2", "flow": "application", "tokenUrl": "https://t"},
    }}
    definitions = named(sub(decode(encode_openapi_v2(document)), 13), 1)
    code = sub(decode(definitions["code"]), 6)  # oauth2_access_code_security = 6
    assert (text(code, 4), text(code, 5)) == ("https://a", "https://t")
    assert {name: bytes(v).decode() for name, v in named(sub(code, 3), 1).items()} == {"read": "Read"}
    assert text(sub(decode(definitions["app"]), 5), 4) == "https://t"  # application = 5, token_url = 4


# -- the emulator's documents -------------------------------------------------------------------------------


def test_the_emulator_documents_have_nothing_protobuf_cannot_carry(builtin_document: dict[str, Any]) -> None:
    registry = Registry()
    crd = yaml.safe_load(CRD.read_text())
    crd_types = resource_types_from_crd(crd)
    encode_openapi_v2(builtin_document, strict=True)
    with_crd = openapi.openapi_v2(registry.all() + crd_types)
    definitions = named(sub(decode(encode_openapi_v2(with_crd, strict=True)), 9), 1)
    job = decode(definitions["com.amazon.aws.sagemaker.v1.TrainingJob"])
    spec = decode(named(sub(job, 25), 1)["spec"])
    spec_properties = named(sub(spec, 25), 1)
    assert text(decode(spec_properties["roleArn"]), 13).startswith("^arn:aws")  # pattern = 13
    assert extensions(decode(spec_properties["extra"]), 31) == {"x-kubernetes-preserve-unknown-fields": True}


# -- cache --------------------------------------------------------------------------------------------------


def test_cache_reuses_the_encoding_of_equal_content(builtin_document: dict[str, Any]) -> None:
    cache = EncodedDocumentCache()
    first = cache.encode(builtin_document)
    again = cache.encode(openapi.openapi_v2(Registry().all()))  # a new dict with the same content
    assert again is first
    assert first.etag == openapi.document_hash(builtin_document)
    assert first.body == encode_openapi_v2(builtin_document)
    changed = cache.encode({**builtin_document, "info": {"title": "Kubernetes", "version": "v2"}})
    assert changed is not first and changed.body != first.body and len(cache) == 2


def test_cache_evicts_the_least_recently_used() -> None:
    cache = EncodedDocumentCache(capacity=2)
    docs = [{"swagger": "2.0", "info": {"title": str(i)}} for i in range(3)]
    first = cache.encode(docs[0])
    cache.encode(docs[1])
    assert cache.encode(docs[0]) is first  # now most recently used
    cache.encode(docs[2])  # evicts docs[1]
    assert len(cache) == 2 and cache.encode(docs[0]) is first
    with pytest.raises(ValueError):
        EncodedDocumentCache(capacity=0)


# -- content negotiation (kube-openapi pkg/handler/handler.go) -----------------------------------------------


@pytest.mark.parametrize(
    ("accept", "served"),
    [
        (PROTOBUF_CONTENT_TYPE_DEPRECATED, PROTOBUF_CONTENT_TYPE),  # what kubectl sends
        (PROTOBUF_CONTENT_TYPE, PROTOBUF_CONTENT_TYPE),
        ("application/json", JSON_CONTENT_TYPE),
        ("", JSON_CONTENT_TYPE),
        ("*/*", JSON_CONTENT_TYPE),
        ("application/*", JSON_CONTENT_TYPE),
        ("application/json, */*", JSON_CONTENT_TYPE),
        (f"application/json;q=0.5, {PROTOBUF_CONTENT_TYPE_DEPRECATED}", PROTOBUF_CONTENT_TYPE),
        (f"{PROTOBUF_CONTENT_TYPE};q=0.9, application/json", JSON_CONTENT_TYPE),
        (f"*/*;q=0.1, {PROTOBUF_CONTENT_TYPE}", PROTOBUF_CONTENT_TYPE),
        ("text/html", None),
        ("application/json;q=0", None),
        ("application/yaml", None),
    ],
)
def test_negotiation(accept: str, served: str | None) -> None:
    assert negotiate_content_type(accept) == served
