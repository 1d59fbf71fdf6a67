"""Server-side input validation from botocore's own service models, answered as the AWS front ends answer.

AWS services built on Coral (SageMaker, CloudWatch Logs, Application Auto Scaling, STS) check every request
against the same model botocore ships, and report every violated constraint in one message::

    2 validation errors detected: Value 'a_b' at 'trainingJobName' failed to satisfy constraint: Member must
    satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}; Value null at 'roleArn' failed to
    satisfy constraint: Member must not be null

Member paths are the member names with a lower-case first letter, joined by ``.``; list items are
``<list>.<1-based index>.member`` (e.g. ``logEvents.1.member.timestamp``, as CloudWatch Logs reports it).
Values are rendered as Java's ``toString`` would (``'x'``, ``null``, ``'[a, b]'``, ``'{k=v}'``). The error code
differs per service (:data:`VALIDATION_ERROR_CODES`): SageMaker and Application Auto Scaling say
``ValidationException``, CloudWatch Logs ``InvalidParameterException``, STS ``ValidationError``.

A value of the wrong JSON type never reaches validation at AWS: the deserializer rejects it first with
``SerializationException`` (raised here as :class:`SerializationError`). Members not in the model are ignored, as
Coral ignores them. Patterns are Java regular expressions matched against the whole value; :func:`java_regex`
translates the Java-only constructs the models use (``\\p{L}``, ``\\p{Alnum}``, UTF-16 surrogate ranges) into
Python ``re`` syntax, approximating Unicode categories by "any non-ASCII character" where needed.

Sources: CloudWatch Logs error bodies quoted in fluent-plugin-cloudwatch-logs#116/#140 and
winston-cloudwatch#55 (format, ``; `` joining, ``.N.member`` paths); sagify#57 (SageMaker pattern messages).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from typing import Any

from botocore.model import ListShape, MapShape, OperationModel, Shape, StringShape, StructureShape

from smk8s.emulators.aws.errors import AwsError

VALIDATION_ERROR_CODES: Mapping[str, str] = {
    "sagemaker": "ValidationException",
    "logs": "InvalidParameterException",
    "application-autoscaling": "ValidationException",
    "sts": "ValidationError",
}

_INTEGERS = {"integer", "long"}
_FLOATS = {"float", "double"}


class SerializationError(Exception):
    """A request member of the wrong JSON type (AWS: ``SerializationException`` before any validation)."""


def validate_input(service: str, operation: OperationModel, params: Mapping[str, Any]) -> None:
    """Raise the service's validation :class:`AwsError` (or ``SerializationException``) for bad ``params``."""
    shape = operation.input_shape
    if shape is None:
        return
    try:
        problems = check_structure(shape, params, "")
    except SerializationError as err:
        raise AwsError("SerializationException", str(err)) from None
    if problems:
        raise validation_error(service, problems)


def validation_error(service: str, problems: list[str]) -> AwsError:
    """The error for ``problems`` (each ``Value ... failed to satisfy constraint: ...``) in ``service``'s format."""
    count = len(problems)
    noun = "validation error" if count == 1 else "validation errors"
    message = f"{count} {noun} detected: " + "; ".join(problems)
    return AwsError(VALIDATION_ERROR_CODES.get(service, "ValidationException"), message)


def member_path(parent: str, name: str) -> str:
    """``parent.name`` with the member name's first letter in lower case, as Coral names members."""
    camel = name[:1].lower() + name[1:]
    return f"{parent}.{camel}" if parent else camel


def render(value: Any) -> str:
    """A value as the message shows it: quoted Java ``toString`` (``null`` unquoted)."""
    if value is None:
        return "null"
    return f"'{_java_string(value)}'"


def _java_string(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_java_string(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_java_string(v)}" for k, v in value.items()) + "}"
    return str(value)


def _failure(value: Any, path: str, constraint: str) -> str:
    return f"Value {render(value)} at '{path}' failed to satisfy constraint: {constraint}"


def check_structure(shape: StructureShape, value: Any, path: str) -> list[str]:
    """Problems in a structure value (required members, then each member in model order)."""
    if not isinstance(value, dict):
        raise SerializationError(_unexpected(value, "structure"))
    problems: list[str] = []
    required = set(shape.required_members)
    for name, member in shape.members.items():
        child = value.get(name)
        child_path = member_path(path, name)
        if child is None:
            if name in required:
                problems.append(_failure(None, child_path, "Member must not be null"))
            continue
        problems.extend(check_value(member, child, child_path))
    return problems


def check_value(shape: Shape, value: Any, path: str) -> list[str]:
    """Problems in one value of ``shape`` at ``path`` (raises :class:`SerializationError` on a wrong type)."""
    kind = shape.type_name
    if isinstance(shape, StructureShape):
        return check_structure(shape, value, path)
    if isinstance(shape, ListShape):
        if not isinstance(value, list):
            raise SerializationError(_unexpected(value, "list"))
        problems = _length_problems(shape, value, len(value), path)
        for index, item in enumerate(value, start=1):
            if item is None:
                continue
            problems.extend(check_value(shape.member, item, f"{path}.{index}.member"))
        return problems
    if isinstance(shape, MapShape):
        if not isinstance(value, dict):
            raise SerializationError(_unexpected(value, "map"))
        return _length_problems(shape, value, len(value), path) + _map_problems(shape, value, path)
    if kind == "string":
        if not isinstance(value, str):
            raise SerializationError(_unexpected(value, "String"))
        return _string_problems(shape, value, path)
    if kind == "boolean":
        if not isinstance(value, bool):
            raise SerializationError(_unexpected(value, "Boolean"))
        return []
    if kind in _INTEGERS or kind in _FLOATS:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SerializationError(_unexpected(value, "Integer" if kind in _INTEGERS else "Double"))
        return _range_problems(shape, value, path)
    if kind == "timestamp":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise SerializationError(_unexpected(value, "Date"))
        return []
    if kind == "blob":
        if not isinstance(value, str):
            raise SerializationError(_unexpected(value, "ByteBuffer"))
        return _length_problems(shape, value, len(value), path)
    return []


def _unexpected(value: Any, expected: str) -> str:
    """Coral's deserializer messages for a JSON token of the wrong kind."""
    if isinstance(value, dict):
        return "Start of structure or map found where not expected."
    if isinstance(value, list):
        return "Start of list found where not expected"
    if isinstance(value, bool):
        token = "TRUE_VALUE" if value else "FALSE_VALUE"
    elif isinstance(value, int | float):
        token = "NUMBER_VALUE"
    else:
        token = "STRING_VALUE"
    if expected in ("structure", "list", "map"):
        return f"Unexpected field type: {token} found where a {expected} was expected"
    return f"{token} can not be converted to {'an' if expected[0] in 'AEIOU' else 'a'} {expected}"


def _length_problems(shape: Shape, value: Any, length: int, path: str) -> list[str]:
    problems = []
    meta = shape.metadata
    if "max" in meta and length > meta["max"]:
        problems.append(_failure(value, path, f"Member must have length less than or equal to {meta['max']}"))
    if "min" in meta and length < meta["min"]:
        problems.append(_failure(value, path, f"Member must have length greater than or equal to {meta['min']}"))
    return problems


def _string_problems(shape: Shape, value: str, path: str) -> list[str]:
    problems = _length_problems(shape, value, len(value), path)
    pattern = shape.metadata.get("pattern")
    if pattern is not None and not _matches(pattern, value):
        problems.append(_failure(value, path, f"Member must satisfy regular expression pattern: {pattern}"))
    enum = shape.enum if isinstance(shape, StringShape) else []
    if enum and value not in enum:
        problems.append(_failure(value, path, f"Member must satisfy enum value set: [{', '.join(enum)}]"))
    return problems


def _range_problems(shape: Shape, value: float, path: str) -> list[str]:
    meta = shape.metadata
    integral = shape.type_name in _INTEGERS
    problems = []
    if "max" in meta and value > meta["max"]:
        bound = _number(meta["max"], integral)
        problems.append(_failure(value, path, f"Member must have value less than or equal to {bound}"))
    if "min" in meta and value < meta["min"]:
        bound = _number(meta["min"], integral)
        problems.append(_failure(value, path, f"Member must have value greater than or equal to {bound}"))
    return problems


def _number(bound: float, integral: bool) -> str:
    if integral:
        return str(int(bound))
    as_float = float(bound)
    return repr(as_float) if math.isfinite(as_float) else str(bound)


def _map_problems(shape: MapShape, value: dict[str, Any], path: str) -> list[str]:
    """Coral reports a map's bad keys/values once per map, listing the key or value shape's constraints."""
    problems = []
    key_bad = any(isinstance(k, str) and _string_problems(shape.key, k, path) for k in value)
    if key_bad:
        problems.append(_failure(value, path, f"Map keys must satisfy constraint: [{_constraints(shape.key)}]"))
    nested: list[str] = []
    value_bad = False
    for key, item in value.items():
        if item is None:
            continue
        if isinstance(shape.value, StructureShape | ListShape | MapShape):
            nested.extend(check_value(shape.value, item, f"{path}.{key}"))
        elif check_value(shape.value, item, path):
            value_bad = True
    if value_bad:
        problems.append(_failure(value, path, f"Map value must satisfy constraint: [{_constraints(shape.value)}]"))
    return problems + nested


def _constraints(shape: Shape) -> str:
    meta = shape.metadata
    parts = []
    if "max" in meta:
        parts.append(f"Member must have length less than or equal to {meta['max']}")
    if "min" in meta:
        parts.append(f"Member must have length greater than or equal to {meta['min']}")
    if "pattern" in meta:
        parts.append(f"Member must satisfy regular expression pattern: {meta['pattern']}")
    if isinstance(shape, StringShape) and shape.enum:
        parts.append(f"Member must satisfy enum value set: [{', '.join(shape.enum)}]")
    return ", ".join(parts)


def _matches(pattern: str, value: str) -> bool:
    compiled = compile_java_regex(pattern)
    return compiled is None or compiled.fullmatch(value) is not None


# -- Java regular expressions --------------------------------------------------------------------------------

_NON_ASCII = "\u0080-\U0010ffff"
_CLASSES: Mapping[str, str] = {
    # Unicode categories: exact for ASCII, "any non-ASCII character" beyond (documented approximation).
    "L": "a-zA-Z" + _NON_ASCII,
    "M": _NON_ASCII,
    "N": "0-9" + _NON_ASCII,
    "Z": " \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000",
    "P": "!-#%-*,-/:;?@\\[-\\]_{}" + _NON_ASCII,
    "S": "$+<->^`|~" + _NON_ASCII,
    # POSIX classes are ASCII-only in Java.
    "Alnum": "a-zA-Z0-9",
    "Alpha": "a-zA-Z",
    "Digit": "0-9",
    "Upper": "A-Z",
    "Lower": "a-z",
    "Print": "\\x20-\\x7e",
    "Graph": "\\x21-\\x7e",
    "Punct": "!-/:-@\\[-`{-~",
    "Space": " \\t\\n\\x0b\\f\\r",
}
_SURROGATE_RANGE = re.compile(r"\\uD800\\uDC00-\\uDBFF\\uDFFF", re.IGNORECASE)
_QUANTIFIED_END = re.compile(r"\$\{\d+(,\d*)?\}$")


def java_regex(pattern: str) -> str:
    """Translate a Java pattern from a botocore model into Python ``re`` syntax (see module docstring)."""
    pattern = _SURROGATE_RANGE.sub(lambda _: "\\U00010000-\\U0010ffff", pattern)
    pattern = _QUANTIFIED_END.sub("$", pattern)  # Java accepts a quantified ``$`` (a no-op); Python does not
    pattern = pattern.replace("[\\w-", "[\\w\\-")  # Java reads ``[\w-_]`` as a literal ``-``
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt in "pP" and i + 2 < len(pattern) and pattern[i + 2] == "{":
                end = pattern.index("}", i)
                name = pattern[i + 3 : end]
                name = name[2:] if name.startswith("Is") else name
                body = _CLASSES.get(name)
                if body is None:
                    raise ValueError(f"unsupported Java character class \\p{{{name}}}")
                if nxt == "P":
                    out.append(f"[^{body}]" if not in_class else body)  # negation inside a class: approximate
                else:
                    out.append(body if in_class else f"[{body}]")
                i = end + 1
                continue
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if ch == "[" and not in_class:
            in_class = True
        elif ch == "]" and in_class:
            in_class = False
        out.append(ch)
        i += 1
    return "".join(out)


@functools.lru_cache(maxsize=4096)
def compile_java_regex(pattern: str) -> re.Pattern[str] | None:
    """The compiled translation of ``pattern``, or None when Python cannot express it (the check is skipped)."""
    try:
        return re.compile(java_regex(pattern))
    except (re.error, ValueError):
        return None
