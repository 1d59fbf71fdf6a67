"""``x-kubernetes-validations``: CRD validation rules in CEL, evaluated with cel-python (``celpy``).

Mirrors apiextensions-apiserver ``pkg/apiserver/schema/cel`` (``compilation.go``, ``validation.go``) and the
rule checks of ``pkg/apis/apiextensions/validation/validation.go``:

* :class:`RuleSet` compiles every rule of a schema once (keep one per CRD version); :func:`compile_rules` and
  :func:`check_rules` are the one-shot forms.
* ``self`` is the value at the rule's node, converted as Kubernetes does (integers are CEL ``int``, ``number``
  is ``double``, objects with properties are maps keyed by the escaped property names, ``format: byte`` /
  ``duration`` / ``date-time`` strings become bytes / duration / timestamp; at the resource root only
  ``apiVersion``, ``kind`` and ``metadata.name``/``generateName`` of the metadata are visible).
* Transition rules (those referencing ``oldSelf``) run only on update, when the old value at the same path
  exists (``optionalOldSelf: true`` makes ``oldSelf`` an optional that is always bound). Old values are
  correlated through object properties, map values and ``x-kubernetes-list-type: map`` items by key.
* Errors of rules on unchanged values are ratcheted (dropped), as CRDValidationRatcheting does.

cel-python has no type checker, so compilation catches syntax errors, undeclared identifiers and functions,
and references to fields the schema does not declare -- the mistakes rule authors actually make -- but not
every type error cel-go finds. Kubernetes' library functions users write (string ``lowerAscii``,
``upperAscii``, ``trim``, ``split``, ``replace``, ``indexOf``, ``lastIndexOf``, ``substring``, ``charAt``,
``join``; list ``isSorted``, ``sum``, ``min``, ``max``, ``indexOf``, ``lastIndexOf``; optional ``hasValue``,
``value``, ``orValue``) are provided; ``url``/``quantity``/``ip``/``cidr`` are not.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import json
import re
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

import celpy
from celpy import celtypes
from celpy.adapter import json_to_cel
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError
from lark import Token, Tree

from smk8s.emulators.kube.errors import Cause
from smk8s.emulators.kube.schema import (
    NIL_PATH,
    OMIT,
    GoLiteral,
    Schema,
    child,
    field_duplicate,
    field_forbidden,
    field_invalid,
    field_required,
    go_quote,
    index,
    key,
    map_list_key,
    resolve_rule_field_path,
)

SELF: Final = "self"
OLD_SELF: Final = "oldSelf"

_MACROS: Final = frozenset({"all", "exists", "exists_one", "map", "filter"})
_GLOBAL_FUNCTIONS: Final = frozenset(
    {
        "has",
        "size",
        "int",
        "uint",
        "double",
        "string",
        "bytes",
        "bool",
        "type",
        "duration",
        "timestamp",
        "dyn",
        "matches",
    }
)
_BUILTIN_METHODS: Final = frozenset(
    {
        "size",
        "contains",
        "startsWith",
        "endsWith",
        "matches",
        "getDate",
        "getDayOfMonth",
        "getDayOfWeek",
        "getDayOfYear",
        "getFullYear",
        "getMonth",
        "getHours",
        "getMilliseconds",
        "getMinutes",
        "getSeconds",
    }
)
_TYPE_IDENTS: Final = frozenset(
    {"int", "uint", "double", "string", "bytes", "bool", "list", "map", "null_type", "type"}
)
_RESERVED: Final = frozenset(
    {
        "true",
        "false",
        "null",
        "in",
        "as",
        "break",
        "const",
        "continue",
        "else",
        "for",
        "function",
        "if",
        "import",
        "let",
        "loop",
        "package",
        "namespace",
        "return",
        "var",
        "void",
        "while",
    }
)
_ESCAPES: Final = {"__": "__underscores__", ".": "__dot__", "-": "__dash__", "/": "__slash__"}
_VALID_IDENT = re.compile(r"^[_a-zA-Z][_a-zA-Z0-9]*$")


def escape_property(name: str) -> str | None:
    """A property name as CEL spells it (``cel.Escape``): ``x-y`` -> ``x__dash__y``; ``None`` if it cannot."""
    if not name or name[0].isdigit():
        return None
    if name in _RESERVED:
        return f"__{name}__"
    escaped = re.sub(r"__|[./-]", lambda m: _ESCAPES[m.group(0)], name)
    return escaped if _VALID_IDENT.match(escaped) else None


# ----------------------------------------------------------------------------------------------------------
# Kubernetes CEL library functions (k8s.io/apiserver/pkg/cel/library and cel-go ext strings)
# ----------------------------------------------------------------------------------------------------------


class Optional:
    """A CEL ``optional`` (only what ``oldSelf`` with ``optionalOldSelf`` needs)."""

    def __init__(self, value: Any = None, present: bool = False) -> None:
        self.value, self.present = value, present


def _err(message: str) -> CELEvalError:
    return CELEvalError(message)


def _index_of(target: Any, item: Any, start: Any = None) -> Any:
    if isinstance(target, str):
        begin = int(start) if start is not None else 0
        if begin < 0 or begin > len(target):
            return _err(f"index out of range: {begin}")
        return celtypes.IntType(target.find(str(item), begin))
    for i, element in enumerate(target):
        if element == item:
            return celtypes.IntType(i)
    return celtypes.IntType(-1)


def _last_index_of(target: Any, item: Any) -> Any:
    if isinstance(target, str):
        return celtypes.IntType(target.rfind(str(item)))
    for i in range(len(target) - 1, -1, -1):
        if target[i] == item:
            return celtypes.IntType(i)
    return celtypes.IntType(-1)


def _split(text: Any, sep: Any, limit: Any = None) -> Any:
    count = -1 if limit is None else int(limit)
    if count == 0:
        return celtypes.ListType([])
    parts = str(text).split(str(sep), count - 1) if count > 0 else str(text).split(str(sep))
    return celtypes.ListType([celtypes.StringType(p) for p in parts])


def _replace(text: Any, old: Any, new: Any, limit: Any = None) -> Any:
    return celtypes.StringType(str(text).replace(str(old), str(new), -1 if limit is None else int(limit)))


def _substring(text: Any, start: Any, end: Any = None) -> Any:
    stop = len(text) if end is None else int(end)
    if not 0 <= int(start) <= stop <= len(text):
        return _err(f"index out of range: {int(start)}")
    return celtypes.StringType(str(text)[int(start) : stop])


def _aggregate(name: str) -> Callable[[Any], Any]:
    def aggregate(items: Any) -> Any:
        if name == "sum":
            return sum(items, celtypes.IntType(0)) if items else celtypes.IntType(0)
        if not items:
            return _err(f"{name}(list) argument must not be empty")
        return min(items) if name == "min" else max(items)

    return aggregate


def _is_sorted(items: Any) -> Any:
    return celtypes.BoolType(all(items[i] <= items[i + 1] for i in range(len(items) - 1)))


def _has_value(opt: Any) -> Any:
    return celtypes.BoolType(isinstance(opt, Optional) and opt.present)


def _value(opt: Any) -> Any:
    if isinstance(opt, Optional):
        return opt.value if opt.present else _err("optional.none() dereference")
    return opt


def _or_value(opt: Any, default: Any) -> Any:
    if isinstance(opt, Optional):
        return opt.value if opt.present else default
    return opt


LIBRARY: Final[dict[str, Callable[..., Any]]] = {
    "lowerAscii": lambda s: celtypes.StringType(re.sub(r"[A-Z]+", lambda m: m.group(0).lower(), str(s))),
    "upperAscii": lambda s: celtypes.StringType(re.sub(r"[a-z]+", lambda m: m.group(0).upper(), str(s))),
    "trim": lambda s: celtypes.StringType(str(s).strip()),
    "split": _split,
    "replace": _replace,
    "indexOf": _index_of,
    "lastIndexOf": _last_index_of,
    "substring": _substring,
    "charAt": lambda s, i: celtypes.StringType(str(s)[int(i)] if int(i) < len(s) else ""),
    "join": lambda items, sep="": celtypes.StringType(str(sep).join(str(i) for i in items)),
    "isSorted": _is_sorted,
    "sum": _aggregate("sum"),
    "min": _aggregate("min"),
    "max": _aggregate("max"),
    "hasValue": _has_value,
    "value": _value,
    "orValue": _or_value,
}

# ----------------------------------------------------------------------------------------------------------
# JSON -> CEL values
# ----------------------------------------------------------------------------------------------------------


def _schema_type(s: Schema | None) -> str:
    return str((s or {}).get("type") or "")


def _timestamp(text: str) -> Any:
    try:
        parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return celtypes.StringType(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return celtypes.TimestampType(parsed)


def _string_value(text: str, s: Schema | None) -> Any:
    fmt = str((s or {}).get("format") or "")
    try:
        if fmt == "byte":
            return celtypes.BytesType(base64.b64decode(text, validate=True))
        if fmt == "duration":
            return celtypes.DurationType(text)
    except (binascii.Error, ValueError):
        return celtypes.StringType(text)
    if fmt in ("date-time", "datetime", "date"):
        return _timestamp(text)
    return celtypes.StringType(text)


def to_cel(value: Any, s: Schema | None, *, resource_root: bool = False) -> Any:
    """A JSON value at schema node ``s`` as Kubernetes presents it to CEL (``UnstructuredToVal``)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    if isinstance(value, int):
        return celtypes.DoubleType(value) if _schema_type(s) == "number" else celtypes.IntType(value)
    if isinstance(value, float):
        if _schema_type(s) == "integer" and value.is_integer():
            return celtypes.IntType(int(value))
        return celtypes.DoubleType(value)
    if isinstance(value, str):
        return _string_value(value, s)
    if isinstance(value, list):
        items = (s or {}).get("items")
        return celtypes.ListType([to_cel(v, items if isinstance(items, dict) else None) for v in value])
    if isinstance(value, dict):
        return _object_to_cel(
            value, s or {}, resource_root or bool((s or {}).get("x-kubernetes-embedded-resource"))
        )
    return json_to_cel(value)


def _object_to_cel(value: dict[str, Any], s: Schema, resource_root: bool) -> Any:
    props = s.get("properties") if isinstance(s.get("properties"), dict) else None
    ap = s.get("additionalProperties")
    entries: dict[Any, Any] = {}
    if props is None and not resource_root:
        sub = ap if isinstance(ap, dict) else None
        for k, v in value.items():
            entries[celtypes.StringType(k)] = to_cel(v, sub)
        return celtypes.MapType(entries)
    for k, prop in (props or {}).items():
        escaped = escape_property(k)
        if escaped is not None and k in value and k not in ("apiVersion", "kind", "metadata"):
            entries[celtypes.StringType(escaped)] = to_cel(value[k], prop)
    if resource_root:
        for meta_field in ("apiVersion", "kind"):
            if isinstance(value.get(meta_field), str):
                entries[celtypes.StringType(meta_field)] = celtypes.StringType(value[meta_field])
        metadata = value.get("metadata")
        if isinstance(metadata, dict):
            entries[celtypes.StringType("metadata")] = celtypes.MapType(
                {
                    celtypes.StringType(k): celtypes.StringType(str(metadata[k]))
                    for k in ("name", "generateName")
                    if k in metadata
                }
            )
    else:
        for meta_field in ("apiVersion", "kind", "metadata"):
            if props and meta_field in props and meta_field in value:
                entries[celtypes.StringType(meta_field)] = to_cel(value[meta_field], props[meta_field])
    return celtypes.MapType(entries)


# ----------------------------------------------------------------------------------------------------------
# Compilation
# ----------------------------------------------------------------------------------------------------------


def _props_of(s: Any) -> dict[str, Any]:
    props = s.get("properties") if isinstance(s, dict) else None
    return props if isinstance(props, dict) else {}


def _at(token: Any, message: str, shift: int = 0) -> _CompileError:
    """A compile error at a lark token (1-based line and column)."""
    line = getattr(token, "line", None) or 1
    column = getattr(token, "column", None) or 1
    return _CompileError(line, max(column - shift, 1), message)


class _CompileError(Exception):
    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.line, self.column, self.message = line, column, message


def _format_issue(source: str, line: int, column: int, message: str) -> str:
    """cel-go's ``issues.String()``: ``ERROR: <input>:L:C: msg`` plus the source line and a caret."""
    lines = source.split("\n")
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    return f"ERROR: <input>:{line}:{column}: {message}\n | {text}\n | {'.' * max(column - 1, 0)}^"


_SCALAR_CEL_TYPES: Final = {"string": "string", "integer": "int", "number": "double", "boolean": "bool"}
_UNKNOWN: Final = object()
"""The static schema of an expression the checker cannot follow."""


class _Checker:
    """Walks a parsed rule: undeclared identifiers and functions, undefined fields of ``self``/``oldSelf``."""

    def __init__(self, node_schema: Schema, resource_root: bool) -> None:
        self.node_schema, self.resource_root = node_schema, resource_root
        self.uses_old_self = False

    def check(self, tree: Any) -> None:
        self._walk(tree, {})

    def _walk(self, node: Any, bound: dict[str, Any]) -> None:
        if not isinstance(node, Tree):
            return
        kind = node.data
        if kind == "ident":
            self._ident(node.children[0], bound)
            return
        if kind == "ident_arg":
            name = node.children[0]
            if str(name) not in _GLOBAL_FUNCTIONS and str(name) not in LIBRARY:
                raise _at(name, f"undeclared reference to '{name}' (in container '')")
            for sub in node.children[1:]:
                self._walk(sub, bound)
            return
        if kind == "member_dot_arg":
            self._method(node, bound)
            return
        if kind == "member_dot":
            self._walk(node.children[0], bound)
            self._schema_of(node, bound)
            return
        for sub in node.children:
            self._walk(sub, bound)

    def _ident(self, token: Any, bound: dict[str, Any]) -> None:
        name = str(token)
        if name == OLD_SELF and name not in bound:
            self.uses_old_self = True
        if name in (SELF, OLD_SELF) or name in bound or name in _TYPE_IDENTS:
            return
        raise _at(token, f"undeclared reference to '{name}' (in container '')")

    def _method(self, node: Tree[Any], bound: dict[str, Any]) -> None:
        target, name = node.children[0], node.children[1]
        args = (
            node.children[2].children if len(node.children) > 2 and isinstance(node.children[2], Tree) else []
        )
        self._walk(target, bound)
        if str(name) in _MACROS and args:
            var = self._macro_var(args[0])
            target_schema = self._schema_of(target, bound)
            items: Any = _UNKNOWN
            if isinstance(target_schema, dict) and _schema_type(target_schema) == "array":
                items = (
                    target_schema.get("items") if isinstance(target_schema.get("items"), dict) else _UNKNOWN
                )
            inner = {**bound, var: items} if var else bound
            for arg in args[1:]:
                self._walk(arg, inner)
            return
        if str(name) not in _BUILTIN_METHODS and str(name) not in LIBRARY:
            raise _at(name, f"undeclared reference to '{name}' (in container '')")
        for arg in args:
            self._walk(arg, bound)

    @staticmethod
    def _macro_var(expr: Any) -> str:
        idents = (
            [t for t in expr.scan_values(lambda v: isinstance(v, Token))] if isinstance(expr, Tree) else []
        )
        return str(idents[0]) if len(idents) == 1 else ""

    def _schema_of(self, node: Any, bound: dict[str, Any]) -> Any:
        """The schema of a ``self.a.b`` / ``x[i]`` chain, checking its fields exist; else ``_UNKNOWN``."""
        if not isinstance(node, Tree):
            return _UNKNOWN
        if (
            node.data
            in (
                "member",
                "primary",
                "unary",
                "multiplication",
                "addition",
                "relation",
                "conditionaland",
                "conditionalor",
                "expr",
            )
            and len(node.children) == 1
        ):
            return self._schema_of(node.children[0], bound)
        if node.data == "ident":
            name = str(node.children[0])
            if name in bound:
                return bound[name]
            return ("root", self.node_schema) if name in (SELF, OLD_SELF) else _UNKNOWN
        if node.data == "member_dot":
            base = self._schema_of(node.children[0], bound)
            return self._field(base, node.children[1])
        if node.data == "member_index":
            base = _unwrap(self._schema_of(node.children[0], bound))
            if (
                isinstance(base, dict)
                and _schema_type(base) == "array"
                and isinstance(base.get("items"), dict)
            ):
                return base["items"]
            if isinstance(base, dict) and isinstance(base.get("additionalProperties"), dict):
                return base["additionalProperties"]
        return _UNKNOWN

    def _field(self, base: Any, name: Any) -> Any:
        at_resource_root = (isinstance(base, tuple) and self.resource_root) or (
            isinstance(_unwrap(base), dict) and bool(_unwrap(base).get("x-kubernetes-embedded-resource"))
        )
        schema = _unwrap(base)
        if not isinstance(schema, dict):
            return _UNKNOWN
        props = _props_of(schema)
        visible = {escape_property(k): v for k, v in props.items() if escape_property(k)}
        if at_resource_root:
            visible.setdefault("apiVersion", {"type": "string"})
            visible.setdefault("kind", {"type": "string"})
            meta_props = {"name": {"type": "string"}, "generateName": {"type": "string"}}
            visible["metadata"] = {"type": "object", "properties": meta_props}
        if visible:
            if str(name) not in visible:
                raise _at(name, f"undefined field '{name}'", shift=1)
            return visible[str(name)]
        if isinstance(schema.get("additionalProperties"), dict):
            return schema["additionalProperties"]
        cel_type = _SCALAR_CEL_TYPES.get(_schema_type(schema))
        if cel_type and not schema.get("x-kubernetes-int-or-string"):
            raise _at(name, f"type '{cel_type}' does not support field selection", shift=1)
        return _UNKNOWN


def _unwrap(schema: Any) -> Any:
    return schema[1] if isinstance(schema, tuple) else schema


@dataclass
class _Program:
    """One compiled expression: the celpy runner, or the compile error detail."""

    runner: Any = None
    error: str = ""
    uses_old_self: bool = False
    members: frozenset[str] | None = None
    """The members of ``self``/``oldSelf`` the expression reads, when it reads them only as ``self.<member>``
    (also inside ``has()``): its outcome then depends on those members alone. None: it uses them otherwise."""


def _members_read(tree: Tree[Token]) -> frozenset[str] | None:
    """See :attr:`_Program.members`: every ``self``/``oldSelf`` occurrence must be the target of a ``member_dot``."""
    names: set[str] = set()

    def visit(node: Tree[Token], parents: tuple[Tree[Token], ...]) -> bool:
        if node.data == "ident" and node.children and str(node.children[0]) in (SELF, OLD_SELF):
            chain = parents[-3:]
            if (len(chain) == 3 and chain[0].data == "member_dot" and chain[1].data == "member"
                    and chain[2].data == "primary" and chain[0].children[0] is chain[1]):
                names.add(str(chain[0].children[1]))
                return True
            return False
        return all(visit(c, (*parents, node)) for c in node.children if isinstance(c, Tree))

    return frozenset(names) if visit(tree, ()) else None


def _compile(env: celpy.Environment, source: str, node: Schema, resource_root: bool) -> _Program:
    try:
        tree = env.compile(source)
    except CELParseError as exc:
        line, column = getattr(exc, "line", 1) or 1, getattr(exc, "column", 1) or 1
        return _Program(error=_format_issue(source, line, column, "Syntax error: mismatched input"))
    checker = _Checker(node, resource_root)
    try:
        checker.check(tree)
    except _CompileError as exc:
        return _Program(error=_format_issue(source, exc.line, exc.column, exc.message))
    return _Program(runner=env.program(tree, functions=LIBRARY), uses_old_self=checker.uses_old_self,
                    members=_members_read(tree))


def _go_pointer(value: Any) -> str:
    return "nil" if value is None else go_quote(str(value))


@dataclass
class _Rule:
    """One ``x-kubernetes-validations`` entry with its compiled programs."""

    spec: dict[str, Any]
    program: _Program
    message_program: _Program | None
    field_path: str  # normalized fieldPath relative to the node ("" when none)

    @property
    def text(self) -> str:
        return str(self.spec.get("rule") or "").strip()

    @property
    def message(self) -> str:
        return str(self.spec.get("message") or "").strip()

    def go_repr(self) -> GoLiteral:
        """The rule as Go's ``%#v`` prints ``apiextensions.ValidationRule`` in compile errors."""
        reason = self.spec.get("reason")
        optional = self.spec.get("optionalOldSelf")
        return GoLiteral(
            "apiextensions.ValidationRule{"
            f"Rule:{go_quote(str(self.spec.get('rule') or ''))}, "
            f"Message:{go_quote(str(self.spec.get('message') or ''))}, "
            f"MessageExpression:{go_quote(str(self.spec.get('messageExpression') or ''))}, "
            f"Reason:(*apiextensions.FieldValueErrorReason)({_go_pointer(reason)}), "
            f"FieldPath:{go_quote(str(self.spec.get('fieldPath') or ''))}, "
            f"OptionalOldSelf:(*bool)({'nil' if optional is None else str(bool(optional)).lower()})}}"
        )


@dataclass
class _Node:
    """The compiled rules of one schema node, with where it sits."""

    schema: Schema
    crd_path: str  # path within openAPIV3Schema, e.g. "properties[spec].items"
    rules: list[_Rule]
    uncorrelatable_within: str | None  # nearest ancestor path oldSelf cannot correlate through


OUTCOME_MEMO_SIZE = 65536
"""Rule outcomes a :class:`RuleSet` remembers (least recently used dropped first; ~200 bytes each)."""


def _memo_digest(value: Any, members: frozenset[str] | None) -> bytes:
    """What a rule's outcome depends on, digested: the members it reads (present or not), else the whole value."""
    if members is not None and isinstance(value, dict):
        value = {m: value[m] for m in sorted(members) if m in value} | {"\0absent": sorted(members - value.keys())}
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


@dataclass
class RuleSet:
    """The compiled ``x-kubernetes-validations`` of one ``openAPIV3Schema`` (keep one per CRD version)."""

    schema: Schema
    _nodes: dict[int, _Node] = field(default_factory=dict, init=False)
    _outcomes: OrderedDict[tuple[int, bool, bytes, bytes | None, bool], bool | str] = field(
        default_factory=OrderedDict, init=False)
    """Memo of rule outcomes by (rule, resource root, digest of self, digest of oldSelf or None, oldSelf given).

    CEL is side-effect free and has no clock, so an outcome depends on nothing else; celpy interprets each rule in
    about 1-2 ms, and a status write re-checks every immutability rule of an unchanged spec (as kube-apiserver's
    status strategy does), so without the memo a status patch cost ~50 ms of CPU here. A rule that reads ``self``
    and ``oldSelf`` only through members (``has(self.region) ... self.region == oldSelf.region``) is keyed by those
    members alone (:attr:`_Program.members`), so objects that differ elsewhere (every job's name) share outcomes."""

    def __post_init__(self) -> None:
        env = celpy.Environment()
        for node, crd_path, uncorrelatable, root in _schema_nodes(self.schema, "", None, True):
            specs = [r for r in node.get("x-kubernetes-validations") or [] if isinstance(r, dict)]
            if specs:
                rules = [self._compile_rule(env, spec, node, root) for spec in specs]
                self._nodes[id(node)] = _Node(node, crd_path, rules, uncorrelatable)

    @staticmethod
    def _compile_rule(env: celpy.Environment, spec: dict[str, Any], node: Schema, root: bool) -> _Rule:
        text = str(spec.get("rule") or "").strip()
        program = _compile(env, text, node, root) if text else _Program()
        message_program = None
        message_expression = str(spec.get("messageExpression") or "").strip()
        if message_expression:
            message_program = _compile(env, message_expression, node, root)
        resolved = resolve_rule_field_path(str(spec["fieldPath"]), node) if spec.get("fieldPath") else None
        return _Rule(spec, program, message_program, resolved[0] if resolved else "")

    def compile_errors(self, path: str) -> list[Cause]:
        """The causes CRD create/update reports for rules that do not compile (``path``: openAPIV3Schema)."""
        causes: list[Cause] = []
        for node in sorted(self._nodes.values(), key=lambda n: n.crd_path):
            node_path = child(path, node.crd_path) if node.crd_path else path
            for i, rule in enumerate(node.rules):
                rule_path = index(child(node_path, "x-kubernetes-validations"), i)
                if rule.program.error:
                    causes.append(
                        field_invalid(
                            child(rule_path, "rule"),
                            rule.go_repr(),
                            f"compilation failed: {rule.program.error}",
                        )
                    )
                if rule.message_program is not None and rule.message_program.error:
                    causes.append(
                        field_invalid(
                            child(rule_path, "messageExpression"),
                            rule.go_repr(),
                            f"messageExpression compilation failed: {rule.message_program.error}",
                        )
                    )
                if rule.program.uses_old_self and node.uncorrelatable_within is not None:
                    within = child(path, node.uncorrelatable_within) if node.uncorrelatable_within else path
                    causes.append(
                        field_invalid(
                            child(rule_path, "rule"),
                            rule.text,
                            f"oldSelf cannot be used on the uncorrelatable portion of the schema "
                            f"within {within}",
                        )
                    )
                elif (
                    rule.program.runner is not None
                    and not rule.program.uses_old_self
                    and (rule.spec.get("optionalOldSelf") is not None)
                ):
                    causes.append(
                        field_invalid(
                            child(rule_path, "optionalOldSelf"),
                            bool(rule.spec["optionalOldSelf"]),
                            "may not be set if oldSelf is not used in rule",
                        )
                    )
        return causes

    def check(self, obj: Any, old_obj: Any = None) -> list[Cause]:
        """Evaluate every rule against ``obj`` (and ``old_obj`` on update); returns the failures."""
        if not self._nodes:
            return []
        causes: list[Cause] = []
        self._walk(obj, old_obj, self.schema, "", True, False, causes)
        return causes

    def _walk(
        self,
        value: Any,
        old: Any,
        s: Schema,
        path: str,
        root: bool,
        parent_unchanged: bool,
        causes: list[Cause],
    ) -> None:
        if value is None:
            return
        unchanged = _json_equal(value, old) if old is not None else parent_unchanged
        node = self._nodes.get(id(s))
        if node is not None:
            causes.extend(self._evaluate(node, value, old, path, root, unchanged))
        props = _props_of(s)
        ap = s.get("additionalProperties")
        if isinstance(value, dict):
            old_map = old if isinstance(old, dict) else {}
            for k in sorted(value):
                if isinstance(ap, dict) and k not in props:
                    self._walk(value[k], old_map.get(k), ap, key(path, k), False, unchanged, causes)
                elif k in props:
                    sub = props[k]
                    self._walk(
                        value[k],
                        old_map.get(k),
                        sub,
                        child(path, k),
                        bool(sub.get("x-kubernetes-embedded-resource")),
                        unchanged,
                        causes,
                    )
        elif isinstance(value, list) and isinstance(s.get("items"), dict):
            items = s["items"]
            old_items = _correlate_items(value, old, s)
            for i, item in enumerate(value):
                self._walk(
                    item,
                    old_items[i],
                    items,
                    index(path, i),
                    bool(items.get("x-kubernetes-embedded-resource")),
                    unchanged,
                    causes,
                )

    def _evaluate(
        self, node: _Node, value: Any, old: Any, path: str, root: bool, unchanged: bool
    ) -> Iterator[Cause]:
        schema_type = _schema_type(node.schema)
        converted: list[Any] = []  # [self, oldSelf] as CEL values, converted on the first memo miss only

        def activation(rule: _Rule) -> dict[str, Any]:
            if not converted:
                converted.append(to_cel(value, node.schema, resource_root=root))
                converted.append(to_cel(old, node.schema, resource_root=root) if old is not None else None)
            bound: dict[str, Any] = {SELF: converted[0]}
            if rule.spec.get("optionalOldSelf") and rule.program.uses_old_self:
                bound[OLD_SELF] = Optional(converted[1], old is not None)
            elif rule.program.uses_old_self:
                bound[OLD_SELF] = converted[1]
            return bound

        node_path = path or NIL_PATH
        for rule in node.rules:
            program = rule.program
            if program.runner is None:
                if program.error:
                    yield field_invalid(
                        node_path, schema_type, f"rule compile error: compilation failed: {program.error}"
                    )
                continue
            if program.uses_old_self and old is None and not rule.spec.get("optionalOldSelf"):
                continue  # a transition rule without an old value is not evaluated
            outcome = self._outcome(rule, root, value, old, activation)
            if isinstance(outcome, str):
                yield field_invalid(node_path, schema_type, _runtime_error_detail(outcome, rule))
                continue
            if outcome is True:
                continue
            if not program.uses_old_self and unchanged:
                continue  # ratcheted: upstream turns this into a warning
            detail = self._message(rule, activation(rule)) or (rule.message or f"failed rule: {rule.text}")
            target = child(path, rule.field_path) if rule.field_path else node_path
            shown = OMIT if schema_type in ("object", "array") else value
            yield _error_for_reason(rule.spec.get("reason"), target, shown, detail)

    def _outcome(
        self, rule: _Rule, root: bool, value: Any, old: Any, activation: Callable[[_Rule], dict[str, Any]]
    ) -> bool | str:
        """:func:`_run` on ``activation(rule)``, memoised (see ``_outcomes``)."""
        program = rule.program
        runner = program.runner
        assert runner is not None
        try:
            key = (id(rule), root, _memo_digest(value, program.members),
                   _memo_digest(old, program.members) if program.uses_old_self else None, old is not None)
        except (TypeError, ValueError):
            return _run(runner, activation(rule))
        outcome = self._outcomes.get(key)
        if outcome is None:
            outcome = self._outcomes[key] = _run(runner, activation(rule))
            if len(self._outcomes) > OUTCOME_MEMO_SIZE:
                self._outcomes.popitem(last=False)
        else:
            self._outcomes.move_to_end(key)
        return outcome

    @staticmethod
    def _message(rule: _Rule, activation: dict[str, Any]) -> str:
        if rule.message_program is None or rule.message_program.runner is None:
            return ""
        try:
            result = rule.message_program.runner.evaluate(activation)
        except CELEvalError:
            return ""
        if not isinstance(result, str):
            return ""
        text = str(result).strip()
        return text if text and "\n" not in text and len(text) <= 5 * 1024 else ""


def _error_for_reason(reason: Any, path: str, value: Any, detail: str) -> Cause:
    """``fieldErrorForReason``."""
    if reason == "FieldValueForbidden":
        return field_forbidden(path, detail)
    if reason == "FieldValueRequired":
        return field_required(path, detail)
    if reason == "FieldValueDuplicate":
        return field_duplicate(path, value)
    return field_invalid(path, value, detail)


def _run(runner: Any, activation: dict[str, Any]) -> bool | str:
    """Evaluate; ``True``/``False`` for a bool result, else the error text."""
    try:
        result = runner.evaluate(activation)
    except CELEvalError as exc:
        return _eval_error_text(exc)
    if isinstance(result, CELEvalError):
        return _eval_error_text(result)
    if isinstance(result, celtypes.BoolType):
        return bool(result)
    return "cel expression must evaluate to a bool"


def _eval_error_text(error: CELEvalError) -> str:
    """celpy's error text; for a failing function call, the underlying exception's."""
    args = error.args
    text = str(args[0]) if args else "evaluation error"
    if text == "return error for overflow" and len(args) > 2 and args[2]:
        inner = args[2]
        return str(inner[0] if isinstance(inner, tuple) and inner else inner)
    return text


def _runtime_error_detail(error: str, rule: _Rule) -> str:
    """An evaluation error as ``validateExpressions`` words it."""
    rule_text = rule.message or rule.text
    if "no matching overload" in error or "no such overload" in error:
        return (
            f"'no such overload': call arguments did not match a supported operator, function or macro "
            f"signature for rule: {rule_text}"
        )
    missing = re.match(r"no such member in mapping: '(.*)'", error)
    if missing:
        error = f"no such key: {missing.group(1)}"
    elif error == "no such key":
        error = "no such key"
    elif "divide by zero" in error:
        error = "division by zero"
    elif error == "invalid_argument":
        error = "index out of bounds"
    return f"{error} evaluating rule: {rule_text}"


def _json_equal(a: Any, b: Any) -> bool:
    return bool(a == b) and type(a) is type(b) if not isinstance(a, (dict, list)) else a == b


def _correlate_items(value: list[Any], old: Any, s: Schema) -> list[Any]:
    """Old values of list items: only ``x-kubernetes-list-type: map`` items correlate, by their keys."""
    if s.get("x-kubernetes-list-type") != "map" or not isinstance(old, list):
        return [None] * len(value)
    keys = [k for k in s.get("x-kubernetes-list-map-keys") or [] if isinstance(k, str)]
    by_key = {repr(sorted(map_list_key(item, keys).items())): item for item in old if isinstance(item, dict)}
    return [
        by_key.get(repr(sorted(map_list_key(item, keys).items()))) if isinstance(item, dict) else None
        for item in value
    ]


def _schema_nodes(
    s: Schema, path: str, uncorrelatable: str | None, root: bool
) -> Iterator[tuple[Schema, str, str | None, bool]]:
    """Nodes rules may sit on: (node, path in openAPIV3Schema, uncorrelatable ancestor, is resource root)."""
    yield s, path, uncorrelatable, root
    props = _props_of(s)
    for k in sorted(props):
        sub = props[k]
        if isinstance(sub, dict):
            yield from _schema_nodes(
                sub,
                key(child(path, "properties"), k),
                uncorrelatable,
                bool(sub.get("x-kubernetes-embedded-resource")),
            )
    ap = s.get("additionalProperties")
    if isinstance(ap, dict):
        yield from _schema_nodes(
            ap,
            child(path, "additionalProperties"),
            uncorrelatable,
            bool(ap.get("x-kubernetes-embedded-resource")),
        )
    items = s.get("items")
    if isinstance(items, dict):
        within = uncorrelatable
        if within is None and s.get("x-kubernetes-list-type") != "map":
            within = path
        yield from _schema_nodes(
            items, child(path, "items"), within, bool(items.get("x-kubernetes-embedded-resource"))
        )


def compile_rules(schema: Schema, path: str) -> list[Cause]:
    """Compile every ``x-kubernetes-validations`` rule of ``schema`` (CRD create/update).

    ``path`` is where the schema sits (``spec.versions[0].schema.openAPIV3Schema``). Returns a cause per rule
    or messageExpression that does not compile, per transition rule under a list whose items cannot be
    correlated, and per ``optionalOldSelf`` on a rule that does not use ``oldSelf``.
    """
    return RuleSet(schema).compile_errors(path)


def check_rules(obj: Any, old_obj: Any, schema: Schema, rules: RuleSet | None = None) -> list[Cause]:
    """Evaluate the rules of ``schema`` on the custom resource ``obj`` (``old_obj`` on update, else ``None``).

    Pass the :class:`RuleSet` built once for the schema as ``rules`` to avoid recompiling. A failure's cause
    has the node's path (``spec.image``, ``<nil>`` for the root, plus the rule's ``fieldPath``), the rule's
    reason, and ``Invalid value: <value>: <message>`` with the value shown for scalars and left out for
    objects and arrays (the current upstream rendering).
    """
    return (rules if rules is not None else RuleSet(schema)).check(obj, old_obj)
