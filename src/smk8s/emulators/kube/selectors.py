"""Label and field selectors with kube-apiserver's syntax, matching and error messages.

- :class:`LabelSelector` follows k8s.io/apimachinery/pkg/labels/selector.go: its lexer and recursive-descent
  parser (``a=b``, ``a==b``, ``a!=b``, ``a in (x,y)``, ``a notin (x)``, ``a``, ``!a``, ``a>1``, ``a<1``), the
  ``NewRequirement`` checks and ``Requirement.Matches``; ``from_label_selector`` follows
  apis/meta/v1/helpers.go ``LabelSelectorAsSelector``.
- :class:`FieldSelector` follows pkg/fields/selector.go (``=``, ``==``, ``!=``; ``\\,``, ``\\=``, ``\\\\``
  escapes).
- :func:`supported_field_labels` / :func:`check_field_labels` mirror the field-label conversion functions
  (pkg/apis/core/v1/conversion.go, pkg/apis/events/v1/conversion.go,
  runtime.DefaultMetaV1FieldSelectorConversion, apiextensions-apiserver crConverter.ConvertFieldLabel);
  :func:`object_fields` mirrors the strategies'
  ``GetAttrs``/``ToSelectableFields``.

Parse errors are :class:`~smk8s.emulators.kube.errors.APIError` 400 BadRequest carrying exactly the text
kube-apiserver returns (``errors.NewBadRequest(err.Error())`` in the list handler).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from smk8s.emulators.kube.errors import APIError, bad_request
from smk8s.emulators.kube.resources import ResourceType
from smk8s.emulators.kube.validation import go_quote, is_label_key, is_label_value, render_value

# selection.Operator values.
OP_IN = "in"
OP_NOT_IN = "notin"
OP_EQUALS = "="
OP_DOUBLE_EQUALS = "=="
OP_NOT_EQUALS = "!="
OP_EXISTS = "exists"
OP_DOES_NOT_EXIST = "!"
OP_GREATER_THAN = "gt"
OP_LESS_THAN = "lt"

_BINARY_OPERATORS = (
    OP_IN, OP_NOT_IN, OP_EQUALS, OP_DOUBLE_EQUALS, OP_NOT_EQUALS, OP_GREATER_THAN, OP_LESS_THAN
)
_INT64_RE = re.compile(r"[+-]?[0-9]+")


def _parse_int64(text: str) -> int | None:
    """Go's ``strconv.ParseInt(text, 10, 64)``: sign and digits only, within int64."""
    if not _INT64_RE.fullmatch(text):
        return None
    value = int(text)
    return value if -(2**63) <= value < 2**63 else None


def _aggregate(messages: Sequence[str]) -> str:
    """``utilerrors.NewAggregate(...).Error()``: one message as is, several deduplicated in ``[a, b]``."""
    unique = list(dict.fromkeys(messages))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


# ------------------------------------------------------------------------------------------------------------
# Label selectors
# ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Requirement:
    """One ``key op values`` term; ``values`` sorted and unique as upstream's ``sets.String`` makes them."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """``Requirement.Matches``: ``!=``, ``notin``, ``!`` hold for keyless objects; ``gt``/``lt`` not."""
        present = self.key in labels
        if self.operator in (OP_IN, OP_EQUALS, OP_DOUBLE_EQUALS):
            return present and labels[self.key] in self.values
        if self.operator in (OP_NOT_IN, OP_NOT_EQUALS):
            return not present or labels[self.key] not in self.values
        if self.operator == OP_EXISTS:
            return present
        if self.operator == OP_DOES_NOT_EXIST:
            return not present
        if self.operator in (OP_GREATER_THAN, OP_LESS_THAN):
            if not present or len(self.values) != 1:
                return False
            have, want = _parse_int64(labels[self.key]), _parse_int64(self.values[0])
            if have is None or want is None:
                return False
            return have > want if self.operator == OP_GREATER_THAN else have < want
        return False

    def __str__(self) -> str:
        if self.operator == OP_DOES_NOT_EXIST:
            return "!" + self.key
        if self.operator == OP_EXISTS:
            return self.key
        values = ",".join(self.values)
        if self.operator in (OP_IN, OP_NOT_IN):
            return f"{self.key} {self.operator} ({values})"
        symbol = {OP_GREATER_THAN: ">", OP_LESS_THAN: "<"}.get(self.operator, self.operator)
        return f"{self.key}{symbol}{values}"


def new_requirement(key: str, operator: str, values: Iterable[str]) -> Requirement:
    """``labels.NewRequirement``: validate and build a requirement; raises 400 with the aggregated errors."""
    vals = list(values)
    errs: list[str] = []
    if key_errs := is_label_key(key):
        errs.append(f"key: Invalid value: {go_quote(key)}: {'; '.join(key_errs)}")
    shown = render_value(vals if vals else None)
    if operator in (OP_IN, OP_NOT_IN):
        if not vals:
            errs.append(f"values: Invalid value: {shown}: "
                        "for 'in', 'notin' operators, values set can't be empty")
    elif operator in (OP_EQUALS, OP_DOUBLE_EQUALS, OP_NOT_EQUALS):
        if len(vals) != 1:
            errs.append(f"values: Invalid value: {shown}: "
                        "exact-match compatibility requires one single value")
    elif operator in (OP_EXISTS, OP_DOES_NOT_EXIST):
        if vals:
            errs.append(f"values: Invalid value: {shown}: "
                        "values set must be empty for exists and does not exist")
    elif operator in (OP_GREATER_THAN, OP_LESS_THAN):
        if len(vals) != 1:
            errs.append(f"values: Invalid value: {shown}: "
                        "for 'Gt', 'Lt' operators, exactly one value is required")
        for i, v in enumerate(vals):
            if _parse_int64(v) is None:
                errs.append(f"values[{i}]: Invalid value: {go_quote(v)}: "
                            "for 'Gt', 'Lt' operators, the value must be an integer")
    else:
        supported = ", ".join(go_quote(o) for o in (*_BINARY_OPERATORS, OP_EXISTS, OP_DOES_NOT_EXIST))
        errs.append(f"operator: Unsupported value: {go_quote(operator)}: supported values: {supported}")
    for i, v in enumerate(vals):
        if value_errs := is_label_value(v):
            errs.append(f"values[{i}][{key}]: Invalid value: {go_quote(v)}: {'; '.join(value_errs)}")
    if errs:
        raise bad_request(_aggregate(errs))
    return Requirement(key, operator, tuple(vals))


# Lexer tokens.
(_ERROR, _EOS, _CLOSE, _COMMA, _NOT, _DOUBLE_EQ, _EQ, _GT, _IDENT, _IN, _LT, _NOT_EQ, _NOT_IN,
 _OPEN) = range(14)
_STRING_TO_TOKEN = {")": _CLOSE, ",": _COMMA, "!": _NOT, "==": _DOUBLE_EQ, "=": _EQ, ">": _GT, "in": _IN,
                    "<": _LT, "!=": _NOT_EQ, "notin": _NOT_IN, "(": _OPEN}
_SPECIAL = "=!(),><"
_WHITESPACE = " \t\r\n"
_NUL = "\0"


class _Lexer:
    """Upstream's byte lexer: NUL ends the input, special symbols combine greedily (``!=``, ``==``)."""

    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def _read(self) -> str:
        if self.pos < len(self.text):
            self.pos += 1
            return self.text[self.pos - 1]
        return _NUL

    def _unread(self) -> None:
        self.pos -= 1

    def _ident_or_keyword(self) -> tuple[int, str]:
        buffer = []
        while True:
            ch = self._read()
            if ch == _NUL:
                break
            if ch in _SPECIAL or ch in _WHITESPACE:
                self._unread()
                break
            buffer.append(ch)
        word = "".join(buffer)
        return _STRING_TO_TOKEN.get(word, _IDENT), word

    def _special(self) -> tuple[int, str]:
        buffer, last = "", (_ERROR, "")
        while True:
            ch = self._read()
            if ch == _NUL:
                break
            if ch in _SPECIAL:
                buffer += ch
                if buffer in _STRING_TO_TOKEN:
                    last = (_STRING_TO_TOKEN[buffer], buffer)
                elif last[0] != _ERROR:
                    self._unread()
                    break
            else:
                self._unread()
                break
        if last[0] == _ERROR:
            return _ERROR, f"error expected: keyword found '{buffer}'"
        return last

    def lex(self) -> tuple[int, str]:
        ch = self._read()
        while ch in _WHITESPACE and ch != _NUL:
            ch = self._read()
        if ch == _NUL:
            return _EOS, ""
        self._unread()
        return self._special() if ch in _SPECIAL else self._ident_or_keyword()


class _SyntaxError(Exception):
    pass


class _Parser:
    def __init__(self, text: str) -> None:
        lexer, self.items, self.position = _Lexer(text), [], 0
        while True:
            item = lexer.lex()
            self.items.append(item)
            if item[0] == _EOS:
                break

    def _look(self, values_context: bool = True) -> tuple[int, str]:
        tok, lit = self.items[self.position]
        return (_IDENT if values_context and tok in (_IN, _NOT_IN) else tok), lit

    def _take(self, values_context: bool = True) -> tuple[int, str]:
        item = self._look(values_context)
        self.position += 1
        return item

    def parse(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        while True:
            tok, lit = self._look()
            if tok == _EOS:
                return requirements
            if tok not in (_IDENT, _NOT):
                raise _SyntaxError(f"found '{lit}', expected: !, identifier, or 'end of string'")
            try:
                requirements.append(self._requirement())
            except _SyntaxError as e:
                raise _SyntaxError(f"unable to parse requirement: {e}") from None
            except APIError as e:
                raise _SyntaxError(f"unable to parse requirement: {e.message}") from None
            tok, lit = self._take()
            if tok == _EOS:
                return requirements
            if tok != _COMMA:
                raise _SyntaxError(f"found '{lit}', expected: ',' or 'end of string'")
            tok2, lit2 = self._look()
            if tok2 not in (_IDENT, _NOT):
                raise _SyntaxError(f"found '{lit2}', expected: identifier after ','")

    def _requirement(self) -> Requirement:
        operator = ""
        tok, key = self._take()
        if tok == _NOT:
            operator = OP_DOES_NOT_EXIST
            tok, key = self._take()
        if tok != _IDENT:
            raise _SyntaxError(f"found '{key}', expected: identifier")
        if errs := is_label_key(key):
            raise _SyntaxError(f"<nil>: Invalid value: {go_quote(key)}: {'; '.join(errs)}")
        if operator == OP_DOES_NOT_EXIST:  # "!a" takes no operator; "!a=b" fails after the requirement
            return new_requirement(key, operator, ())
        if self._look()[0] in (_EOS, _COMMA):
            return new_requirement(key, OP_EXISTS, ())
        op = self._operator()
        values = self._set_values() if op in (OP_IN, OP_NOT_IN) else self._exact_value()
        return new_requirement(key, op, sorted(values))

    def _operator(self) -> str:
        tok, lit = self._take(values_context=False)
        ops = {_IN: OP_IN, _EQ: OP_EQUALS, _DOUBLE_EQ: OP_DOUBLE_EQUALS, _GT: OP_GREATER_THAN,
               _LT: OP_LESS_THAN, _NOT_IN: OP_NOT_IN, _NOT_EQ: OP_NOT_EQUALS}
        if tok not in ops:
            raise _SyntaxError(f"found '{lit}', expected: {', '.join(_BINARY_OPERATORS)}")
        return ops[tok]

    def _set_values(self) -> set[str]:
        tok, lit = self._take()
        if tok != _OPEN:
            raise _SyntaxError(f"found '{lit}' expected: '('")
        tok, lit = self._look()
        if tok == _CLOSE:
            self._take()
            return {""}
        if tok not in (_IDENT, _COMMA):
            raise _SyntaxError(f"found '{lit}', expected: ',', ')' or identifier")
        values = self._identifiers()
        self._take()  # the ')' the list stopped at
        return values

    def _identifiers(self) -> set[str]:
        values: set[str] = set()
        while True:
            tok, lit = self._take()
            if tok == _IDENT:
                values.add(lit)
                tok2, lit2 = self._look()
                if tok2 == _COMMA:
                    continue
                if tok2 == _CLOSE:
                    return values
                raise _SyntaxError(f"found '{lit2}', expected: ',' or ')'")
            if tok == _COMMA:
                if not values:
                    values.add("")  # "(,"
                tok2 = self._look()[0]
                if tok2 == _CLOSE:
                    values.add("")  # ",)"
                    return values
                if tok2 == _COMMA:
                    self._take()
                    values.add("")  # ",,"
                continue
            raise _SyntaxError(f"found '{lit}', expected: ',', or identifier")

    def _exact_value(self) -> set[str]:
        if self._look()[0] in (_EOS, _COMMA):
            return {""}
        tok, lit = self._take()
        if tok == _IDENT:
            return {lit}
        raise _SyntaxError(f"found '{lit}', expected: identifier")


@dataclass(frozen=True)
class LabelSelector:
    """A conjunction of :class:`Requirement` sorted by key; ``nothing`` selects no object at all."""

    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False

    @classmethod
    def parse(cls, text: str) -> LabelSelector:
        """``labels.Parse``: the string syntax; ``""`` selects everything. Errors raise 400 BadRequest."""
        try:
            requirements = _Parser(text).parse()
        except _SyntaxError as e:
            raise bad_request(str(e)) from None
        return cls(tuple(sorted(requirements, key=lambda r: r.key)))

    @classmethod
    def from_label_selector(cls, selector: Mapping[str, Any] | None) -> LabelSelector:
        """``metav1.LabelSelectorAsSelector``: ``None`` selects nothing, ``{}`` everything.

        ``matchLabels`` become ``=`` terms, ``matchExpressions`` ``In``/``NotIn``/``Exists``/``DoesNotExist``
        terms; an unknown operator or invalid key/value raises 400 BadRequest with upstream's message.
        """
        if selector is None:
            return cls(nothing=True)
        match_labels = selector.get("matchLabels") or {}
        expressions = selector.get("matchExpressions") or []
        requirements = [new_requirement(k, OP_EQUALS, [str(match_labels[k])]) for k in sorted(match_labels)]
        operators = {"In": OP_IN, "NotIn": OP_NOT_IN, "Exists": OP_EXISTS, "DoesNotExist": OP_DOES_NOT_EXIST}
        for expr in expressions:
            op = str(expr.get("operator", ""))
            if op not in operators:
                raise bad_request(f"{go_quote(op)} is not a valid label selector operator")
            requirements.append(new_requirement(str(expr.get("key", "")), operators[op],
                                                 [str(v) for v in expr.get("values") or []]))
        return cls(tuple(sorted(requirements, key=lambda r: r.key)))

    @property
    def empty(self) -> bool:
        """True when the selector does not restrict anything (``Selector.Empty``)."""
        return not self.nothing and not self.requirements

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        """Whether an object with these labels is selected (all requirements hold)."""
        if self.nothing:
            return False
        have = labels or {}
        return all(r.matches(have) for r in self.requirements)

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


# ------------------------------------------------------------------------------------------------------------
# Field selectors
# ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldRequirement:
    """``field=value`` (``hasTerm``; ``==`` is the same) or ``field!=value`` (``notHasTerm``)."""

    field: str
    operator: str  # "=" or "!="
    value: str

    def matches(self, fields: Mapping[str, str]) -> bool:
        """A missing field reads as ``""`` (``Fields.Get``)."""
        have = fields.get(self.field, "")
        return have == self.value if self.operator == OP_EQUALS else have != self.value

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")
        return f"{self.field}{self.operator}{escaped}"


def _split_terms(text: str) -> list[str]:
    """Comma-separated terms; a backslash-escaped comma stays inside its term (with the backslash)."""
    if not text:
        return []
    terms, start, in_slash = [], 0, False
    for i, ch in enumerate(text):
        if in_slash:
            in_slash = False
        elif ch == "\\":
            in_slash = True
        elif ch == ",":
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return terms


def _split_term(term: str) -> tuple[str, str, str] | None:
    """The first ``!=``, ``==`` or ``=`` splits a term: (field, operator, raw value)."""
    for i in range(len(term)):
        for op in ("!=", "==", "="):
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op):]
    return None


def _unescape(value: str) -> str:
    """``fields.UnescapeValue``; errors carry upstream's text (a rune printed as its code point: Go's %v)."""
    if not any(c in value for c in "\\,="):
        return value
    out, in_slash = [], False
    for ch in value:
        if in_slash:
            if ch not in "\\,=":
                raise bad_request(f"invalid field selector: invalid escape sequence: \\{ch}")
            out.append(ch)
            in_slash = False
        elif ch == "\\":
            in_slash = True
        elif ch in ",=":
            raise bad_request(f"invalid field selector: unescaped character in value: {ord(ch)}")
        else:
            out.append(ch)
    if in_slash:
        raise bad_request("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


@dataclass(frozen=True)
class FieldSelector:
    """A conjunction of :class:`FieldRequirement`, in upstream's (sorted-term) order."""

    requirements: tuple[FieldRequirement, ...] = ()

    @classmethod
    def parse(cls, text: str) -> FieldSelector:
        """``fields.ParseSelector``: ``""`` selects everything; bad syntax raises 400 BadRequest."""
        requirements = []
        for term in sorted(_split_terms(text)):
            if not term:
                continue
            split = _split_term(term)
            if split is None:
                raise bad_request(f"invalid selector: '{text}'; can't understand '{term}'")
            field, op, raw = split
            operator = OP_NOT_EQUALS if op == "!=" else OP_EQUALS
            requirements.append(FieldRequirement(field, operator, _unescape(raw)))
        return cls(tuple(requirements))

    @property
    def empty(self) -> bool:
        return not self.requirements

    def fields(self) -> list[str]:
        """The field labels used, in evaluation order (duplicates kept)."""
        return [r.field for r in self.requirements]

    def matches(self, fields: Mapping[str, str]) -> bool:
        return all(r.matches(fields) for r in self.requirements)

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


# Field labels each built-in kind's conversion function accepts
# (kinds not listed use DefaultMetaV1FieldSelectorConversion).
_META_LABELS = frozenset({"metadata.name", "metadata.namespace"})
_INVOLVED_OBJECT = ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")
_BUILTIN_FIELD_LABELS: dict[tuple[str, str], frozenset[str]] = {
    ("", "Event"): _META_LABELS | {f"involvedObject.{f}" for f in _INVOLVED_OBJECT}
    | {"reason", "reportingComponent", "source", "type"},
    ("events.k8s.io", "Event"): _META_LABELS | {f"regarding.{f}" for f in _INVOLVED_OBJECT}
    | {"reason", "reportingController", "source", "type"},
    ("", "Namespace"): frozenset({"metadata.name", "status.phase"}),
    ("", "Secret"): _META_LABELS | {"type"},
}


def supported_field_labels(group: str, kind: str) -> set[str]:
    """Field labels a built-in kind accepts in ``fieldSelector`` (default: ``metadata.name``/``namespace``).

    For custom resources use :func:`field_labels_for`, which knows scope and ``selectableFields``.
    """
    return set(_BUILTIN_FIELD_LABELS.get((group, kind), _META_LABELS))


def _selectable_label(json_path: str) -> str:
    return json_path[1:] if json_path.startswith(".") else json_path


def field_labels_for(rt: ResourceType) -> set[str]:
    """The field labels ``rt`` accepts: the built-in table; for a CR ``metadata.name``, ``metadata.namespace``
    (namespaced only) and its version's ``selectableFields`` (``.spec.color`` is selected as ``spec.color``).
    """
    if not rt.is_custom:
        return supported_field_labels(rt.group, rt.kind)
    labels = {"metadata.name"} | ({"metadata.namespace"} if rt.namespaced else set())
    return labels | {_selectable_label(p) for p in rt.selectable_fields}


def field_label_error(rt: ResourceType, label: str) -> APIError:
    """The 400 kube-apiserver returns for an unsupported field label of ``rt``.

    Kinds with a conversion function (CRs, Event, Namespace, Secret) say
    ``field label not supported: <label>``; the others fall back to ``DefaultMetaV1FieldSelectorConversion``'s
    ``"<label>" is not a known field selector: only "metadata.name", "metadata.namespace"``.
    """
    if rt.is_custom or (rt.group, rt.kind) in _BUILTIN_FIELD_LABELS:
        return bad_request(f"field label not supported: {label}")
    return bad_request(
        f'{go_quote(label)} is not a known field selector: only "metadata.name", "metadata.namespace"'
    )


def check_field_labels(selector: FieldSelector, rt: ResourceType) -> None:
    """Raise :func:`field_label_error` for the first (in upstream's order) label ``rt`` does not support."""
    allowed = field_labels_for(rt)
    for label in selector.fields():
        if label not in allowed:
            raise field_label_error(rt, label)


def _lookup(obj: Mapping[str, Any], path: str) -> Any:
    current: Any = obj
    for part in _selectable_label(path).split("."):
        if not isinstance(current, Mapping):
            return None
        current = current.get(part)
    return current


def _field_string(value: Any) -> str:
    """A selectable value as the CR strategy renders it: strings as is, ``true``/``false``, integers."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return ""


def _first_non_empty(obj: Mapping[str, Any], *paths: str) -> str:
    return next((v for v in (_field_string(_lookup(obj, p)) for p in paths) if v), "")


_Extra = Callable[[Mapping[str, Any]], str]


def _path(path: str) -> _Extra:
    return lambda obj: _field_string(_lookup(obj, path))


_BUILTIN_FIELD_VALUES: dict[tuple[str, str], dict[str, _Extra]] = {
    ("v1", "Event"): {
        **{f"involvedObject.{f}": _path(f"involvedObject.{f}") for f in _INVOLVED_OBJECT},
        "reason": _path("reason"),
        "reportingComponent": _path("reportingComponent"),
        "source": lambda obj: _first_non_empty(obj, "source.component", "reportingComponent"),
        "type": _path("type"),
    },
    ("events.k8s.io", "Event"): {
        **{f"regarding.{f}": _path(f"regarding.{f}") for f in _INVOLVED_OBJECT},
        "reason": _path("reason"),
        "reportingController": _path("reportingController"),
        "source": lambda obj: _first_non_empty(obj, "deprecatedSource.component", "reportingController"),
        "type": _path("type"),
    },
    ("v1", "Namespace"): {"status.phase": _path("status.phase")},
    ("v1", "Secret"): {"type": _path("type")},
}


def object_fields(
    obj: Mapping[str, Any], namespaced: bool, extra_paths: Sequence[str] = ()
) -> dict[str, str]:
    """The field set a field selector is matched against (``GetAttrs``).

    ``metadata.name``, plus ``metadata.namespace`` when ``namespaced`` (``ObjectMetaFieldsSet``); the built-in
    extras for core Events (``involvedObject.*``, ``reason``, ``reportingComponent``, ``source``, ``type``),
    ``events.k8s.io`` Events (``regarding.*``, ...), Secrets (``type``) and Namespaces (``status.phase``),
    recognised from the object's ``apiVersion``/``kind``; and each of ``extra_paths`` (CRD
    ``selectableFields`` JSON paths such as ``.spec.color``, keyed ``spec.color``) rendered as a string,
    ``""`` when absent.
    """
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    fields = {"metadata.name": _field_string(meta.get("name"))}
    if namespaced:
        fields["metadata.namespace"] = _field_string(meta.get("namespace"))
    api_version = str(obj.get("apiVersion", ""))
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else api_version
    for label, value_of in _BUILTIN_FIELD_VALUES.get((group, str(obj.get("kind", ""))), {}).items():
        fields[label] = value_of(obj)
    for path in extra_paths:
        fields[_selectable_label(path)] = _field_string(_lookup(obj, path))
    return fields
