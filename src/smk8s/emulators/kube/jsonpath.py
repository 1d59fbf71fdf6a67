"""Kubernetes JSONPath, as ``k8s.io/client-go/util/jsonpath`` evaluates it for CRD printer columns.

Only the inside of one ``{...}`` action is supported (``.status.phase``, ``.spec.a[0].b``,
``.metadata.labels.app\\.kubernetes\\.io/name``, ``.items[*].name``, ``.a[-1]``, ``.a[1:3]``, ``.a[0,2]``,
``['key']``, ``..name`` and filters such as ``.status.conditions[?(@.type=="Ready")].status``).
Evaluation follows client-go with ``AllowMissingKeys(true)``: a missing map key yields no result rather
than an error, while indexing a non-list or out of its bounds is an error (:class:`JSONPathError`).

Parsing mirrors client-go's parser quirks on purpose: a field runs until a terminator (``.``, ``[``, ``]``,
``,``, ``{``, ``}``, ``$``, ``@``, space) with ``\\`` escaping one, and ``['a.b']`` is re-read as ``.a.b``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


class JSONPathError(ValueError):
    """The expression does not parse, or cannot be evaluated against the given data."""


@dataclass(frozen=True)
class Field:
    name: str


@dataclass(frozen=True)
class Wildcard:
    pass


@dataclass(frozen=True)
class Recursive:
    pass


@dataclass(frozen=True)
class Literal:
    value: str | int | float | bool


@dataclass(frozen=True)
class Slice:
    """``[start:end:step]``; ``None`` marks a bound not given; ``end_derived``: ``[i]`` means ``[i:i+1]``."""

    start: int | None
    end: int | None
    step: int | None
    end_derived: bool = False


@dataclass(frozen=True)
class Union:
    branches: tuple[tuple[Node, ...], ...]


@dataclass(frozen=True)
class Filter:
    left: tuple[Node, ...]
    operator: str  # "exists", "==", "!=", "<", ">", "<=", ">="
    right: tuple[Node, ...]


Node = Field | Wildcard | Recursive | Literal | Slice | Union | Filter

_TERMINATORS = frozenset(" \t\r\n.,[]$@{}")
_DICT_KEY = re.compile(r"^'([^']*)'$")
_SLICE = re.compile(r"^(-?\d*)(:-?\d*)?(:-?\d*)?$")
_FILTER = re.compile(r"^([^!<>=]+)([!<>=]+)(.+?)$")


def parse(expression: str) -> tuple[Node, ...]:
    """Parse a printer-column path; surrounding ``{}`` are optional. Raises :class:`JSONPathError`."""
    text = expression.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    return tuple(_Parser(text).parse())


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def parse(self) -> list[Node]:
        nodes: list[Node] = []
        text = self.text
        while self.pos < len(text):
            rest = text[self.pos :]
            if rest.startswith("[?("):
                nodes.append(self._filter())
                continue
            if rest.startswith(".."):
                self.pos += 2
                nodes.append(Recursive())
                if self.pos < len(text) and _is_alphanumeric(text[self.pos]):
                    nodes.append(self._field())
                continue
            char = text[self.pos]
            if char in " $@":
                self.pos += 1
            elif char == "[":
                nodes.extend(self._array())
            elif char in "\"'":
                nodes.append(self._quote(char))
            elif char == ".":
                self.pos += 1
                nodes.append(self._field())
            elif char in "+-" or char.isdigit():
                nodes.append(self._number())
            elif _is_alphanumeric(char):
                nodes.append(self._identifier())
            elif char in "\r\n":
                raise JSONPathError("unclosed action")
            else:
                raise JSONPathError(f"unrecognized character in action: {char!r}")
        return nodes

    def _field(self) -> Node:
        start = self.pos
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char == "\\":
                self.pos += 2
                continue
            if char in _TERMINATORS:
                break
            self.pos += 1
        value = text[start : self.pos]
        return Wildcard() if value == "*" else Field(value.replace("\\", ""))

    def _identifier(self) -> Node:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in _TERMINATORS:
            self.pos += 1
        value = self.text[start : self.pos]
        if value in ("true", "false"):
            return Literal(value == "true")
        raise JSONPathError(f"unsupported identifier {value!r}")

    def _number(self) -> Node:
        start = self.pos
        if self.text[self.pos] in "+-":
            self.pos += 1
        while self.pos < len(self.text) and (self.text[self.pos] == "." or self.text[self.pos].isdigit()):
            self.pos += 1
        value = self.text[start : self.pos]
        try:
            return Literal(int(value))
        except ValueError:
            try:
                return Literal(float(value))
            except ValueError:
                raise JSONPathError(f"cannot parse number {value}") from None

    def _quote(self, quote: str) -> Node:
        start = self.pos
        self.pos += 1
        while True:
            if self.pos >= len(self.text) or self.text[self.pos] == "\n":
                raise JSONPathError("unterminated quoted string")
            if self.text[self.pos] == quote and self.text[self.pos - 1] != "\\":
                break
            self.pos += 1
        self.pos += 1
        body = self.text[start + 1 : self.pos - 1]
        return Literal(re.sub(r"\\(.)", r"\1", body))

    def _array(self) -> list[Node]:
        end = self.text.find("]", self.pos)
        newline = self.text.find("\n", self.pos)
        if end < 0 or 0 <= newline < end:
            raise JSONPathError("unterminated array")
        inner = self.text[self.pos + 1 : end]
        self.pos = end + 1
        if inner == "*":
            inner = ":"
        parts = inner.split(",")
        if len(parts) > 1:
            return [Union(tuple(tuple(_Parser(f"[{part.strip()}]").parse()) for part in parts))]
        key = _DICT_KEY.match(inner)
        if key:
            return _Parser("." + key.group(1)).parse()
        match = _SLICE.match(inner)
        if not match:
            raise JSONPathError(f"invalid array index {inner}")
        start_text, end_text, step_text = (group.lstrip(":") if group else "" for group in match.groups())
        start = int(start_text) if start_text else None
        if match.group(2) is None:  # "[i]" is "[i:i+1]"
            return [Slice(start, (start or 0) + 1, None, end_derived=True)]
        return [Slice(start, int(end_text) if end_text else None, int(step_text) if step_text else None)]

    def _filter(self) -> Node:
        self.pos += 3
        start = self.pos
        opened = closed = False
        pair = ""
        while True:
            if self.pos >= len(self.text) or self.text[self.pos] == "\n":
                raise JSONPathError("unterminated filter")
            char = self.text[self.pos]
            self.pos += 1
            if char in "\"'":
                if not opened:
                    opened, pair = True, char
                elif char == pair and self.text[self.pos - 2] != "\\":
                    closed = True
            elif char == ")" and opened == closed:
                break
        if self.pos >= len(self.text) or self.text[self.pos] != "]":
            raise JSONPathError("unclosed array expect ]")
        self.pos += 1
        body = self.text[start : self.pos - 2]
        match = _FILTER.match(body)
        if not match:
            return Filter(tuple(_Parser(body).parse()), "exists", ())
        left, operator, right = match.groups()
        return Filter(tuple(_Parser(left).parse()), operator, tuple(_Parser(right).parse()))


def _is_alphanumeric(char: str) -> bool:
    return char == "_" or char.isalnum()


def find(nodes: Sequence[Node], data: Any) -> list[Any]:
    """All values the path selects from ``data`` (JSON-like), in order. Raises :class:`JSONPathError`."""
    return _walk(nodes, [data])


def _walk(nodes: Sequence[Node], values: list[Any]) -> list[Any]:
    for node in nodes:
        values = _step(node, values)
    return values


def _step(node: Node, values: list[Any]) -> list[Any]:
    if isinstance(node, Literal):
        return [node.value]
    if isinstance(node, Field):
        if node.name == "":
            return values
        return [v[node.name] for v in values if isinstance(v, dict) and node.name in v]
    if isinstance(node, Wildcard):
        out: list[Any] = []
        for v in values:
            if isinstance(v, dict):
                out.extend(v[k] for k in sorted(v))
            elif isinstance(v, list):
                out.extend(v)
        return out
    if isinstance(node, Recursive):
        return _descendants(values)
    if isinstance(node, Slice):
        return [item for v in values if v is not None for item in _slice(node, v)]
    if isinstance(node, Union):
        return [item for branch in node.branches for item in _walk(branch, values)]
    return [item for v in values if v is not None for item in _filter(node, v)]


def _descendants(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        children = [v[k] for k in sorted(v)] if isinstance(v, dict) else v if isinstance(v, list) else []
        if children:
            out.append(v)
            out.extend(_descendants(children))
    return out


def _slice(node: Slice, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise JSONPathError(f"{type(value).__name__} is not array or slice")
    length = len(value)
    start = node.start if node.start is not None else 0
    if start < 0:
        start += length
    end = node.end if node.end is not None else length
    if end < 0 or (end == 0 and node.end_derived):
        end += length
    if start == end:
        return []
    if start >= length or start < 0:
        raise JSONPathError(f"array index out of bounds: index {start}, length {length}")
    if end > length or end < 0:
        raise JSONPathError(f"array index out of bounds: index {end - 1}, length {length}")
    if start > end:
        raise JSONPathError(f"starting index {start} is greater than ending index {end}")
    step = node.step if node.step is not None else 1
    if step <= 0:
        raise JSONPathError("step must be > 0")
    return value[start:end:step]


def _filter(node: Filter, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise JSONPathError(f"{type(value).__name__} is not array or slice")
    out = []
    for item in value:
        lefts = _try_find(node.left, item) if node.operator == "exists" else find(node.left, item)
        if node.operator == "exists":
            if lefts:
                out.append(item)
            continue
        if not lefts:
            continue
        rights = find(node.right, item)
        if not rights:
            continue
        if len(lefts) > 1 or len(rights) > 1:
            raise JSONPathError("can only compare one element at a time")
        if _compare(node.operator, lefts[0], rights[0]):
            out.append(item)
    return out


def _try_find(nodes: Sequence[Node], data: Any) -> list[Any]:
    try:
        return find(nodes, data)
    except JSONPathError:
        return []


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    return "other"


def _compare(operator: str, left: Any, right: Any) -> bool:
    """Go text/template comparison: values of different basic kinds are incomparable (an error)."""
    kind = _kind(left)
    if kind != _kind(right) or kind == "other":
        raise JSONPathError("incompatible types for comparison")
    if operator == "==":
        return bool(left == right)
    if operator == "!=":
        return bool(left != right)
    if kind == "bool":
        raise JSONPathError("invalid type for comparison")
    comparisons = {"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}
    if operator not in comparisons:
        raise JSONPathError(f"unrecognized filter operator {operator}")
    return bool(comparisons[operator])


def format_value(value: Any) -> str:
    """How client-go's ``JSONPath.PrintResults`` prints one value: maps and lists as compact JSON (Go's
    ``encoding/json``), scalars as Go's ``fmt.Sprint`` would, a JSON null as ``<no value>``."""
    if value is None:
        return "<no value>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_format_float(value)
    if isinstance(value, (dict, list)):
        return go_json(value)
    return str(value)


def go_json(value: Any) -> str:
    """``json.Marshal`` of a decoded-JSON value: sorted keys, no spaces, ``<>&`` escaped, Go float form."""

    def encode(v: Any) -> str:
        if isinstance(v, dict):
            return "{" + ",".join(f"{encode(str(k))}:{encode(v[k])}" for k in sorted(v)) + "}"
        if isinstance(v, list):
            return "[" + ",".join(encode(item) for item in v) + "]"
        if isinstance(v, float) and not isinstance(v, bool):
            return _go_json_float(v)
        text = json.dumps(v, ensure_ascii=False)
        return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")

    return encode(value)


def _shortest_digits(value: float) -> tuple[str, int]:
    """Shortest round-tripping decimal digits of ``abs(value)`` and the decimal point position."""
    _sign, digits, exponent = Decimal(repr(abs(value))).normalize().as_tuple()
    text = "".join(map(str, digits)) or "0"
    assert isinstance(exponent, int)
    return text, len(text) + exponent


def _exponent_form(digits: str, point: int) -> str:
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    exp = point - 1
    return f"{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"


def _fixed_form(digits: str, point: int) -> str:
    if point <= 0:
        return "0." + "0" * -point + digits
    if point >= len(digits):
        return digits + "0" * (point - len(digits))
    return digits[:point] + "." + digits[point:]


def go_format_float(value: float) -> str:
    """Go's ``fmt.Sprint(float64)`` (``%v``: shortest ``%g``, exponent form below 1e-4 or from 1e6 on)."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if str(value).startswith("-") else "0"
    digits, point = _shortest_digits(value)
    exp = point - 1
    body = _exponent_form(digits, point) if exp < -4 or exp >= 6 else _fixed_form(digits, point)
    return ("-" if value < 0 else "") + body


def _go_json_float(value: float) -> str:
    """``encoding/json`` float form: fixed notation unless the exponent is below -6 or at least 21."""
    if value == 0:
        return "0"
    digits, point = _shortest_digits(value)
    exp = point - 1
    if exp < -6 or exp >= 21:
        body = _exponent_form(digits, point).replace("e-0", "e-").replace("e+0", "e+")
    else:
        body = _fixed_form(digits, point)
    return ("-" if value < 0 else "") + body
