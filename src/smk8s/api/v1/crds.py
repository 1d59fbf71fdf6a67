"""CustomResourceDefinitions from the v1 models: pure functions from pydantic JSON schemas to CRD documents.

The models' ``model_json_schema(by_alias=True)`` is JSON Schema 2020-12 as pydantic writes it; a CRD needs an
OpenAPI v3 *structural* schema (apiextensions.k8s.io/v1):

* ``$ref``/``$defs`` are inlined (a recursive shape becomes an object that keeps unknown fields);
* ``anyOf: [X, {type: null}]`` (an optional field) becomes ``X``: the API server prunes nulls of non-nullable
  fields, so an explicit ``null`` still means "unset";
* every node has a type; integers carry ``format: int64``; ``exclusiveMinimum: n`` becomes ``minimum`` (integers)
  or OpenAPI v3.0's boolean form (numbers); ``title``, ``additionalProperties: false`` (forbidden in CRDs; strict
  field validation and pruning do its work), ``uniqueItems`` (forbidden) and formats Kubernetes does not know are
  dropped;
* Java regular expressions from SageMaker's API model are translated by :func:`crd_pattern` into the common
  subset of Go's RE2 (kube-apiserver) and Python's ``re`` (the emulator), anchored as SageMaker matches the whole
  value; a construct with no faithful translation is removed only where that widens the language (lookarounds,
  possessive quantifiers, repeat counts over RE2's 1000), otherwise the pattern is dropped;
* descriptions are trimmed by :func:`summarize` to a length chosen per CRD so that the CRD fits the
  256 KiB ``kubectl.kubernetes.io/last-applied-configuration`` annotation of a client-side ``kubectl apply``
  (:func:`last_applied_size` measures it the way kubectl serializes it).

Each CRD (:func:`crd_document`) is namespaced, serves and stores ``v1`` only, has the status subresource, the
registry's printer columns, short names and category (``sagemaker`` only: ``kubectl get sagemaker`` lists every
kind, while ``kubectl get all`` stays about workloads, as upstream CRDs leave it), and requires ``spec``.
Immutable fields (``registry.KindInfo.immutable``) become CEL transition rules on ``spec`` (:func:`immutability_rule`):
one per field, evaluated once per update (never under a list), each a ``has`` chain and one equality. The emulated
API server does not estimate CEL costs; :mod:`smk8s.api.v1.cel_cost` does, the way kube-apiserver does when a CRD
is created (cel-go's estimator with the CRD's size bounds), and tests/unit/api/v1/test_crds.py keeps every rule
under the runtime per-call limit and each CRD's sum far under the per-CRD limit (an unbounded string compared
whole is the dearest rule: about 315 000 of the 10 000 000 allowed). Short names must not shadow a built-in
resource (tests/unit/api/v1/test_crds.py keeps the list of a 1.30 cluster's).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import yaml

from smk8s.api.v1.registry import Immutable, KindInfo, PrinterColumn

Schema = dict[str, Any]

LAST_APPLIED_ANNOTATION: Final = "kubectl.kubernetes.io/last-applied-configuration"
ANNOTATION_SIZE_LIMIT: Final = 256 * 1024
# What a generated CRD may take of the 256 KiB: the rest is left for labels and annotations a kustomization or
# Helm chart adds to the CRD (they are part of the last-applied configuration too).
SIZE_BUDGET: Final = 224 * 1024
# Description lengths tried, longest first, until a CRD fits SIZE_BUDGET; 0 drops descriptions below the spec's
# top-level fields.
DESCRIPTION_LIMITS: Final = (1200, 800, 600, 450, 350, 280, 220, 170, 130, 100, 80, 60, 0)

_KNOWN_FORMATS: Final = frozenset({"int32", "int64", "float", "double", "byte", "date", "date-time", "duration"})
_DROPPED_KEYS: Final = frozenset(
    {"title", "$schema", "examples", "discriminator", "uniqueItems", "propertyNames", "readOnly", "writeOnly"}
)
# RE2 rejects repeat counts above 1000 ("invalid repeat count").
_RE2_MAX_REPEAT: Final = 1000


class SchemaError(ValueError):
    """A model's JSON schema has a construct no structural schema can express; the message names the path."""


# ---------------------------------------------------------------------------------------------------------------
# JSON Schema -> structural OpenAPI v3


def structural(json_schema: Mapping[str, Any]) -> Schema:
    """The structural OpenAPI v3 schema for a pydantic model's ``model_json_schema(by_alias=True)``."""
    defs: Mapping[str, Any] = json_schema.get("$defs", {})
    return _convert(dict(json_schema), defs, (), "")


def _resolve(node: Mapping[str, Any], defs: Mapping[str, Any], stack: tuple[str, ...], path: str) -> Schema:
    """Inline a ``$ref`` (and a lone ``allOf``), keeping sibling keys such as a field's own description."""
    out = {k: v for k, v in node.items() if k not in ("$ref", "allOf", "$defs")}
    ref = node.get("$ref")
    all_of = node.get("allOf")
    if ref is None and isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], dict):
        ref = all_of[0].get("$ref")
        if ref is None:
            return {**_resolve(all_of[0], defs, stack, path), **out}
    elif all_of is not None:
        raise SchemaError(f"{path or '<root>'}: allOf with several schemas is not supported")
    if ref is None:
        return out
    if not isinstance(ref, str) or not ref.startswith("#/$defs/"):
        raise SchemaError(f"{path or '<root>'}: unsupported $ref {ref!r}")
    name = ref.removeprefix("#/$defs/")
    if name in stack:
        # A recursive shape: a structural schema is finite, so the recursion point keeps unknown fields.
        return {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "_recursive": name, **out}
    target = defs.get(name)
    if not isinstance(target, dict):
        raise SchemaError(f"{path or '<root>'}: $ref to missing definition {name!r}")
    resolved = _resolve(target, defs, (*stack, name), path)
    resolved["_def"] = name
    # The referring field's keys win: its description describes the field, the definition's the shape.
    resolved.update(out)
    return resolved


def _convert(node: Mapping[str, Any], defs: Mapping[str, Any], stack: tuple[str, ...], path: str) -> Schema:
    node = _collapse_union(_resolve(node, defs, stack, path), defs, stack, path)
    if "_def" in node:
        stack = (*stack, node["_def"])
    out: Schema = {}
    description = node.get("description")
    if isinstance(description, str) and description.strip():
        out["description"] = plain_text(description)
    if node.get("x-kubernetes-preserve-unknown-fields"):
        out["type"] = node.get("type", "object")
        out["x-kubernetes-preserve-unknown-fields"] = True
        return out
    schema_type = node.get("type")
    if "const" in node and "enum" not in node:
        node = {**node, "enum": [node["const"]]}
    enum = node.get("enum")
    if schema_type is None and isinstance(enum, list) and enum:
        schema_type = _type_of(enum[0])
    if schema_type is None:
        if "properties" in node or "additionalProperties" in node:
            schema_type = "object"
        elif "items" in node:
            schema_type = "array"
        else:
            # Any JSON value: structural schemas allow an untyped node only if it keeps unknown fields.
            out["x-kubernetes-preserve-unknown-fields"] = True
            return out
    if not isinstance(schema_type, str):
        raise SchemaError(f"{path or '<root>'}: several types {schema_type!r} in one node")
    if schema_type == "null":
        raise SchemaError(f"{path or '<root>'}: a field that can only be null")
    out["type"] = schema_type
    if schema_type == "object":
        _convert_object(node, out, defs, stack, path)
    elif schema_type == "array":
        items = node.get("items")
        if not isinstance(items, dict):
            raise SchemaError(f"{path}: array without an items schema")
        out["items"] = _convert(items, defs, stack, f"{path}[]")
        _copy(node, out, ("minItems", "maxItems"))
    elif schema_type == "integer":
        out["format"] = node.get("format") if node.get("format") in ("int32", "int64") else "int64"
        _convert_bounds(node, out, integer=True)
    elif schema_type == "number":
        if node.get("format") in ("float", "double"):
            out["format"] = node["format"]
        _convert_bounds(node, out, integer=False)
    elif schema_type == "string":
        fmt = node.get("format")
        if isinstance(fmt, str) and fmt in _KNOWN_FORMATS:
            out["format"] = fmt
        _copy(node, out, ("minLength", "maxLength"))
        pattern = node.get("pattern")
        if isinstance(pattern, str):
            translated = crd_pattern(pattern)
            if translated is not None:
                out["pattern"] = translated
    elif schema_type != "boolean":
        raise SchemaError(f"{path or '<root>'}: unsupported type {schema_type!r}")
    if isinstance(enum, list) and enum:
        out["enum"] = list(enum)
    default = node.get("default")
    if default is not None and not (isinstance(default, list | dict) and not default):
        out["default"] = copy.deepcopy(default)
    for k in node:
        if k.startswith("x-kubernetes-") and k not in out:
            out[k] = copy.deepcopy(node[k])
    return out


def _convert_object(
    node: Mapping[str, Any], out: Schema, defs: Mapping[str, Any], stack: tuple[str, ...], path: str
) -> None:
    properties = node.get("properties")
    additional = node.get("additionalProperties")
    if isinstance(properties, dict) and properties:
        out["properties"] = {
            name: _convert(prop, defs, stack, f"{path}.{name}" if path else name)
            for name, prop in properties.items()
        }
        required = [name for name in node.get("required", ()) if name in properties]
        if required:
            out["required"] = required
    elif isinstance(additional, dict):
        out["additionalProperties"] = _convert(additional, defs, stack, f"{path}[*]")
        _copy(node, out, ("minProperties", "maxProperties"))
    else:
        out["x-kubernetes-preserve-unknown-fields"] = True


def _collapse_union(node: Schema, defs: Mapping[str, Any], stack: tuple[str, ...], path: str) -> Schema:
    """``anyOf``/``oneOf`` of one schema and ``null`` (an optional field) becomes that schema."""
    for key in ("anyOf", "oneOf"):
        options = node.get(key)
        if options is None:
            continue
        rest = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
        if len(rest) != 1 or not isinstance(rest[0], dict):
            raise SchemaError(f"{path or '<root>'}: {key} of several schemas is not structural")
        inner = _resolve(rest[0], defs, stack, path)
        merged = {k: v for k, v in node.items() if k != key}
        if merged.get("default", ...) is None:
            del merged["default"]
        return _collapse_union({**inner, **merged}, defs, stack, path)
    return node


def _convert_bounds(node: Mapping[str, Any], out: Schema, *, integer: bool) -> None:
    _copy(node, out, ("minimum", "maximum", "multipleOf"))
    for bound, inclusive, step in (("exclusiveMinimum", "minimum", 1), ("exclusiveMaximum", "maximum", -1)):
        value = node.get(bound)
        if isinstance(value, bool) or value is None:
            continue
        if integer and float(value).is_integer():
            out[inclusive] = int(value) + step
        else:
            out[inclusive] = value
            out[bound] = True


def _copy(src: Mapping[str, Any], dst: Schema, keys: Iterable[str]) -> None:
    for k in keys:
        if k in src and src[k] is not None:
            dst[k] = src[k]


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string"


# ---------------------------------------------------------------------------------------------------------------
# Descriptions

_SPACE = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'`])")


def plain_text(text: str) -> str:
    """A description on one line: spaces collapsed, reStructuredText's double backquotes of docstrings removed.

    The models' descriptions are plain text already (hack/generate_api.py turns SageMaker's HTML documentation
    into text), so angle brackets are kept: ``endpoint/<endpointName>`` is not a tag.
    """
    return _SPACE.sub(" ", text.replace("``", "")).strip()


def summarize(text: str, limit: int) -> str:
    """Whole leading sentences of ``text`` within ``limit`` characters; a first sentence too long is cut at a word.

    ``limit`` 0 means no description.
    """
    if limit <= 0:
        return ""
    text = plain_text(text)
    if len(text) <= limit:
        return text
    out = ""
    for sentence in _SENTENCE_END.split(text):
        candidate = f"{out} {sentence}" if out else sentence
        if len(candidate) > limit:
            break
        out = candidate
    if out:
        return out
    cut = text[: limit - 2].rsplit(" ", 1)[0].rstrip(" ,;:")  # one more character: is the cut at a word's end?
    return f"{cut}..."


def trim_descriptions(schema: Schema, limit: int, *, keep_depth: int = 0, depth: int = 0) -> Schema:
    """A copy of ``schema`` whose descriptions are summarized to ``limit`` characters.

    Nodes less than ``keep_depth`` levels deep keep at least a 160-character summary, so ``kubectl explain`` of
    the main fields stays useful however tight the budget.
    """
    out: Schema = {}
    for k, v in schema.items():
        if k == "description":
            text = summarize(v, max(limit, 160) if depth < keep_depth else limit)
            if text:
                out[k] = text
        elif k == "properties":
            out[k] = {
                name: trim_descriptions(p, limit, keep_depth=keep_depth, depth=depth + 1) for name, p in v.items()
            }
        elif k in ("items", "additionalProperties") and isinstance(v, dict):
            out[k] = trim_descriptions(v, limit, keep_depth=keep_depth, depth=depth)
        else:
            out[k] = v
    return out


# ---------------------------------------------------------------------------------------------------------------
# Java (SageMaker API model) regular expressions -> the common subset of RE2 and Python re

_ASCII_CLASSES: Final = {
    "d": "0-9",
    "w": "0-9A-Za-z_",
    "s": "\\t\\n\\x0b\\f\\r ",
}
# Java's POSIX property classes (US-ASCII only unless UNICODE_CHARACTER_CLASS).
_POSIX_PROPERTIES: Final = {
    "Lower": "a-z",
    "Upper": "A-Z",
    "ASCII": "\\x00-\\x7f",
    "Alpha": "A-Za-z",
    "Digit": "0-9",
    "Alnum": "0-9A-Za-z",
    "Punct": "!-/:-@\\[-`{-~",
    "Graph": "!-~",
    "Print": " -~",
    "Blank": " \\t",
    "XDigit": "0-9A-Fa-f",
    "Space": "\\t\\n\\x0b\\f\\r ",
}
_MATCHES_ANYTHING: Final = frozenset({".*", "[\\s\\S]*", "[\\S\\s]*"})


class _Untranslatable(Exception):
    pass


def crd_pattern(java: str) -> str | None:
    """The CRD ``pattern`` for a SageMaker model pattern, or None to validate no pattern.

    The result compiles and means the same in Go's RE2 and Python's ``re``: shorthand classes are spelled out in
    ASCII as Java (and RE2) define them, ``\\p{Alnum}``-style POSIX classes become ranges, and the whole value must
    match (``^(?:...)$``). Lookarounds and possessive quantifiers are removed and repeat counts over 1000 opened
    (each accepts a superset of what SageMaker accepts); Unicode categories, surrogates, backreferences and
    nested classes make the pattern unusable, and a pattern that accepts anything is not worth a check.
    """
    if java in _MATCHES_ANYTHING:
        return None
    try:
        body = _Translator(java).run()
    except _Untranslatable:
        return None
    if body in _MATCHES_ANYTHING:
        return None
    if _anchored(body):
        return body
    return f"^(?:{body})$"


def _anchored(body: str) -> bool:
    """Whether ``body`` already starts with ``^`` and ends with ``$`` around a single top-level alternative."""
    if not (body.startswith("^") and body.endswith("$")) or body.endswith("\\$"):
        return False
    depth, i, in_class = 0, 0, False
    while i < len(body):
        c = body[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            if body.startswith("[^]", i) or body.startswith("[]", i):
                i += 2 if body[i + 1] == "]" else 3
                continue
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            return False
        i += 1
    return True


class _Translator:
    def __init__(self, pattern: str) -> None:
        self.src = pattern
        self.i = 0
        self.out: list[str] = []

    def run(self) -> str:
        while self.i < len(self.src):
            ch = self.src[self.i]
            if ch == "\\":
                self.out.append(self._escape_outside())
            elif ch == "[":
                self.out.append(self._char_class())
            elif ch == "(":
                self._group()
            elif ch in "*+?":
                self.i += 1
                self.out.append(ch)
                self._quantifier_suffix()
            elif ch == "{":
                self.out.append(self._repeat())
                self._quantifier_suffix()
            elif ch == "$" and self._next_is_quantifier(self.i + 1):
                # Java accepts a quantified end anchor (a no-op quantifier); RE2 and Python do not.
                self.i += 1
                self.out.append("$")
                self._skip_quantifier()
            else:
                self.out.append(ch)
                self.i += 1
        return "".join(self.out)

    def _next_is_quantifier(self, j: int) -> bool:
        return j < len(self.src) and self.src[j] in "*+?{"

    def _skip_quantifier(self) -> None:
        if self.src[self.i] == "{":
            self.i = self.src.index("}", self.i) + 1
        else:
            self.i += 1
        if self.i < len(self.src) and self.src[self.i] in "?+":
            self.i += 1

    def _quantifier_suffix(self) -> None:
        """Keep a lazy ``?``; drop Java's possessive ``+`` (the greedy form matches a superset)."""
        if self.i < len(self.src) and self.src[self.i] == "?":
            self.out.append("?")
            self.i += 1
        elif self.i < len(self.src) and self.src[self.i] == "+":
            self.i += 1

    def _repeat(self) -> str:
        end = self.src.find("}", self.i)
        m = re.fullmatch(r"\{(\d+)(,(\d*))?\}", self.src[self.i : end + 1]) if end > 0 else None
        if m is None:
            raise _Untranslatable
        self.i = end + 1
        low = int(m.group(1))
        high = m.group(3)
        if low > _RE2_MAX_REPEAT:
            raise _Untranslatable
        if m.group(2) is None:
            return f"{{{low}}}"
        if not high or int(high) > _RE2_MAX_REPEAT:
            return {0: "*", 1: "+"}.get(low, f"{{{low},}}")
        return f"{{{low},{high}}}"

    def _group(self) -> None:
        rest = self.src[self.i :]
        if rest.startswith(("(?=", "(?!", "(?<=", "(?<!")):
            end = self._group_end(self.i)
            if self._next_is_quantifier(end):
                raise _Untranslatable
            self.i = end  # a zero-width assertion removed: the pattern accepts a superset
            return
        named = re.match(r"\(\?P?<[A-Za-z][A-Za-z0-9]*>", rest)
        if named:
            self.out.append("(?:")
            self.i += named.end()
            return
        if rest.startswith("(?:"):
            self.out.append("(?:")
            self.i += 3
            return
        if rest.startswith("(?"):
            flags = re.match(r"\(\?[i]+\)", rest)
            if flags is None:
                raise _Untranslatable
            self.out.append(flags.group(0))
            self.i += flags.end()
            return
        self.out.append("(")
        self.i += 1

    def _group_end(self, start: int) -> int:
        depth = 0
        j = start
        while j < len(self.src):
            c = self.src[j]
            if c == "\\":
                j += 2
                continue
            if c == "[":
                j = self._class_end(j)
                continue
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth == 0:
                    return j + 1
            j += 1
        raise _Untranslatable

    def _class_end(self, start: int) -> int:
        j = start + 1
        if j < len(self.src) and self.src[j] == "^":
            j += 1
        if j < len(self.src) and self.src[j] == "]":
            j += 1
        while j < len(self.src):
            c = self.src[j]
            if c == "\\":
                j += 2
                continue
            if c == "]":
                return j + 1
            j += 1
        raise _Untranslatable

    def _escape_outside(self) -> str:
        kind, text = self._escape()
        if kind == "set":
            return f"[{text}]"
        if kind == "negset":
            return f"[^{text}]"
        return text

    def _escape(self) -> tuple[str, str]:
        """One escape at ``self.i``: ("set", ranges), ("negset", ranges) or ("char", text)."""
        src = self.src
        if self.i + 1 >= len(src):
            raise _Untranslatable
        c = src[self.i + 1]
        self.i += 2
        if c in _ASCII_CLASSES:
            return "set", _ASCII_CLASSES[c]
        if c.lower() in _ASCII_CLASSES:
            return "negset", _ASCII_CLASSES[c.lower()]
        if c in "pP":
            m = re.match(r"\{(?:Is)?([A-Za-z]+)\}", src[self.i :])
            if m is None or m.group(1) not in _POSIX_PROPERTIES:
                raise _Untranslatable  # Unicode categories: RE2 knows them, Python's re does not
            self.i += m.end()
            return ("set" if c == "p" else "negset"), _POSIX_PROPERTIES[m.group(1)]
        if c == "u":
            digits = src[self.i : self.i + 4]
            if not re.fullmatch(r"[0-9A-Fa-f]{4}", digits):
                raise _Untranslatable
            self.i += 4
            return "char", _code_point(int(digits, 16))
        if c == "x":
            digits = src[self.i : self.i + 2]
            if not re.fullmatch(r"[0-9A-Fa-f]{2}", digits):
                raise _Untranslatable
            self.i += 2
            return "char", f"\\x{digits.lower()}"
        if c in "tnrf":
            return "char", f"\\{c}"
        if c == "e":
            return "char", "\\x1b"
        if c == "a":
            return "char", "\\x07"
        if c.isascii() and not c.isalnum() and c != "_":
            return "char", f"\\{c}"  # an escaped punctuation character is itself in all three dialects
        raise _Untranslatable  # \b, \z, \Z, \Q, backreferences, octal: not the same (or absent) in RE2 and re

    def _char_class(self) -> str:
        src = self.src
        self.i += 1
        negated = src.startswith("^", self.i)
        if negated:
            self.i += 1
        parts: list[str] = []
        neg_sets: list[str] = []
        pos_sets: list[str] = []
        first = True
        prev = "start"  # what the last item was: start, char (may open a range), range (closed one), set
        while True:
            if self.i >= len(src):
                raise _Untranslatable
            c = src[self.i]
            if c == "]" and not first:
                self.i += 1
                break
            first = False
            if c == "[" or src.startswith("&&", self.i):
                raise _Untranslatable  # Java's nested classes and intersections
            if c == "-":
                self.i += 1
                closing = self.i < len(src) and src[self.i] == "]"
                if prev == "char" and not closing:
                    parts.append("-")
                    prev = "dash"
                else:
                    parts.append("\\-")  # a literal "-" (Java: after a range or shorthand, or at an end)
                    prev = "char"
                continue
            if c == "\\":
                kind, text = self._escape()
                if kind in ("set", "negset"):
                    if prev == "dash":
                        raise _Untranslatable
                    (neg_sets if kind == "negset" else pos_sets).append(text)
                    if kind == "set":
                        parts.append(text)
                    prev = "set"
                    continue
            else:
                text = "\\]" if c == "]" else "\\[" if c == "[" else c
                self.i += 1
            parts.append(text)
            prev = "range" if prev == "dash" else "char"
        body = "".join(parts)
        if neg_sets:
            if negated:
                raise _Untranslatable
            if any(n in pos_sets for n in neg_sets):
                return "[\\s\\S]"  # a class and its complement: any character, in every dialect
            if len(neg_sets) == 1 and not parts:
                return f"[^{neg_sets[0]}]"
            raise _Untranslatable
        return f"[^{body}]" if negated else f"[{body}]"


def _code_point(cp: int) -> str:
    if 0xD800 <= cp <= 0xDFFF:
        raise _Untranslatable  # UTF-16 surrogates: Java matches code units, RE2 and re code points
    if cp < 0x80:
        ch = chr(cp)
        if ch.isalnum() or ch == " ":
            return ch
        return f"\\x{cp:02x}"
    return chr(cp)


# ---------------------------------------------------------------------------------------------------------------
# Immutability rules

# Spec fields the operator may fill in itself (SageMaker names it generates and writes back): they may go from unset
# to set once, then never change or disappear. Every other immutable field must stay exactly as it was created
# (set or unset).
SETTABLE_ONCE: Final = frozenset(
    {"trainingJobName", "hyperParameterTuningJobName", "transformJobName", "policyName"}
)


def immutability_rule(path: str, message: str, *, settable_once: bool = False) -> dict[str, Any]:
    """The ``x-kubernetes-validations`` rule, for the ``spec`` node, that keeps ``spec.<path>`` as it was.

    ``path`` is dotted wire names under ``spec`` (``resourceConfig.instanceType``); none of them may be a list
    (a transition rule cannot see the old value of a list item). The rule sits on ``spec`` rather than on the
    field so that removing a field (or one of its parents) is caught as well as changing it; its ``fieldPath``
    points at the field, so the error names ``spec.<path>``.
    """
    names = [_cel_field(n) for n in path.split(".")]

    def present(var: str) -> str:
        return " && ".join(f"has({'.'.join([var, *names[: i + 1]])})" for i in range(len(names)))

    def value(var: str) -> str:
        return ".".join([var, *names])

    now, before = present("self"), present("oldSelf")
    if settable_once:
        rule = f"!({before}) || (({now}) && {value('self')} == {value('oldSelf')})"
    else:
        rule = f"({now}) == ({before}) && (!({now}) || {value('self')} == {value('oldSelf')})"
    return {"rule": rule, "message": message, "fieldPath": f".{path}", "reason": "FieldValueInvalid"}


_CEL_RESERVED: Final = frozenset(
    {"true", "false", "null", "in", "as", "break", "const", "continue", "else", "for", "function", "if", "import",
     "let", "loop", "package", "namespace", "return", "var", "void", "while"}
)


def _cel_field(name: str) -> str:
    """A property name as CEL sees it (Kubernetes' escaping of reserved words and special characters)."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_./-]*", name):
        raise SchemaError(f"property {name!r} cannot be named in a CEL rule")
    if name in _CEL_RESERVED:
        return f"__{name}__"
    return (
        name.replace("__", "__underscores__").replace(".", "__dot__").replace("-", "__dash__").replace("/", "__slash__")
    )


def add_immutability_rules(spec: Schema, fields: Iterable[Immutable]) -> Schema:
    """A copy of the spec schema with :func:`immutability_rule` for each of ``fields``."""
    spec = copy.deepcopy(spec)
    rules = spec.setdefault("x-kubernetes-validations", [])
    for item in fields:
        node = spec
        for name in item.path.split("."):
            props = node.get("properties")
            if node.get("type") != "object" or not isinstance(props, dict) or name not in props:
                raise SchemaError(f"immutable field spec.{item.path}: no property {name!r} in an object")
            node = props[name]
        leaf = item.path.rsplit(".", 1)[-1]
        rules.append(immutability_rule(item.path, item.message, settable_once=leaf in SETTABLE_ONCE))
    if not rules:
        del spec["x-kubernetes-validations"]
    return spec


# ---------------------------------------------------------------------------------------------------------------
# CRD documents

_API_VERSION_DESCRIPTION: Final = (
    "APIVersion defines the versioned schema of this representation of an object. Servers should convert "
    "recognized schemas to the latest internal value, and may reject unrecognized values."
)
_KIND_DESCRIPTION: Final = (
    "Kind is a string value representing the REST resource this object represents. Servers may infer this from "
    "the endpoint the client submits requests to. Cannot be updated. In CamelCase."
)


@dataclass(frozen=True)
class Schemas:
    """A kind's root description and the structural schemas of its spec and status (descriptions untrimmed)."""

    description: str
    spec: Schema
    status: Schema


def kind_schemas(info: KindInfo) -> Schemas:
    """Convert the kind's root model's JSON schema; immutability rules are added to the spec."""
    root = info.model.model_json_schema(by_alias=True)
    defs = root.get("$defs", {})
    props = root["properties"]
    spec = structural({**props["spec"], "$defs": defs})
    status = structural({**props["status"], "$defs": defs})
    return Schemas(
        description=plain_text(root.get("description") or info.kind),
        spec=add_immutability_rules(spec, info.immutable),
        status=status,
    )


def openapi_schema(schemas: Schemas, description_limit: int) -> Schema:
    """The ``openAPIV3Schema``: ``apiVersion``, ``kind``, ``metadata``, a required ``spec`` and ``status``."""
    return {
        "description": summarize(schemas.description, 400),
        "type": "object",
        "properties": {
            "apiVersion": {"description": _API_VERSION_DESCRIPTION, "type": "string"},
            "kind": {"description": _KIND_DESCRIPTION, "type": "string"},
            "metadata": {"type": "object"},
            "spec": trim_descriptions(schemas.spec, description_limit, keep_depth=2),
            "status": trim_descriptions(schemas.status, description_limit, keep_depth=2),
        },
        "required": ["spec"],
    }


def printer_column(column: PrinterColumn) -> dict[str, Any]:
    out: dict[str, Any] = {"name": column.name, "type": column.type, "jsonPath": column.json_path}
    if column.format:
        out["format"] = column.format
    if column.description:
        out["description"] = column.description
    if column.priority:
        out["priority"] = column.priority
    return out


def crd_document(info: KindInfo, schemas: Schemas, description_limit: int) -> dict[str, Any]:
    """The apiextensions.k8s.io/v1 CustomResourceDefinition of a kind."""
    names: dict[str, Any] = {
        "kind": info.kind,
        "listKind": f"{info.kind}List",
        "plural": info.plural,
        "singular": info.singular,
    }
    if info.short_names:
        names["shortNames"] = list(info.short_names)
    if info.categories:
        names["categories"] = list(info.categories)
    version: dict[str, Any] = {
        "name": info.version,
        "served": True,
        "storage": True,
        "subresources": {"status": {}},
        "additionalPrinterColumns": [printer_column(c) for c in info.printer_columns],
        "schema": {"openAPIV3Schema": openapi_schema(schemas, description_limit)},
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": info.crd_name},
        "spec": {"group": info.group, "names": names, "scope": "Namespaced", "versions": [version]},
    }


def fitted_crd(info: KindInfo, budget: int = SIZE_BUDGET) -> dict[str, Any]:
    """:func:`crd_document` with the longest descriptions (from ``DESCRIPTION_LIMITS``) that fit ``budget``."""
    schemas = kind_schemas(info)
    for limit in DESCRIPTION_LIMITS:
        doc = crd_document(info, schemas, limit)
        if last_applied_size(doc) <= budget:
            return doc
    raise SchemaError(f"{info.kind}: the CRD exceeds {budget} bytes even without descriptions")


def go_json(value: Any) -> str:
    """``value`` as Go's ``encoding/json`` marshals a decoded manifest: compact, keys sorted, HTML-escaped."""
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def last_applied_size(doc: Mapping[str, Any]) -> int:
    """Bytes a client-side ``kubectl apply`` of ``doc`` puts into the object's annotations.

    kubectl stores the manifest as compact JSON plus a newline under
    ``kubectl.kubernetes.io/last-applied-configuration``; the copy it serializes has its annotations without that
    one (an empty map if there were none). The API server limits the total size of keys and values of all
    annotations to 256 KiB.
    """
    metadata = dict(doc.get("metadata") or {})
    annotations = dict(metadata.get("annotations") or {})
    annotations.pop(LAST_APPLIED_ANNOTATION, None)
    metadata["annotations"] = annotations
    value = go_json({**doc, "metadata": metadata}) + "\n"
    total = len(LAST_APPLIED_ANNOTATION) + len(value.encode())
    return total + sum(len(k.encode()) + len(str(v).encode()) for k, v in annotations.items())


# ---------------------------------------------------------------------------------------------------------------
# YAML


class _Dumper(yaml.SafeDumper):
    pass


def _str_representer(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _str_representer)


def to_yaml(doc: Any, header: str = "") -> str:
    """Deterministic YAML (insertion order, 120 columns, UTF-8) with an optional ``#`` comment header."""
    body = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=120, allow_unicode=True, default_flow_style=False)
    lines = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    return f"{lines}---\n{body}" if lines else body


HEADER: Final = (
    "Generated by hack/generate_crds.py from the models in smk8s.api.v1. DO NOT EDIT.\n"
    "Descriptions are trimmed so that a client-side `kubectl apply` fits the 256 KiB annotation limit."
)


def crd_file_name(info: KindInfo) -> str:
    """``bases/<group>_<plural>.yaml``, relative to ``config/crd`` (controller-gen's naming)."""
    return f"bases/{info.group}_{info.plural}.yaml"


def render(kinds: Iterable[KindInfo]) -> dict[str, str]:
    """Every file of ``config/crd``: one CRD per kind and the kustomization listing them, by relative path."""
    files = {crd_file_name(info): to_yaml(fitted_crd(info), HEADER) for info in kinds}
    files["kustomization.yaml"] = kustomization(sorted(files))
    return files


def kustomization(resources: Iterable[str]) -> str:
    """A ``kustomization.yaml`` listing ``resources``."""
    doc = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": list(resources)}
    return to_yaml(doc)


def walk(schema: Schema, visit: Callable[[str, Schema], None], path: str = "") -> None:
    """Call ``visit(path, node)`` for every node of a structural schema (``[]`` for items, ``[*]`` for values)."""
    visit(path, schema)
    for name, prop in (schema.get("properties") or {}).items():
        walk(prop, visit, f"{path}.{name}" if path else name)
    if isinstance(schema.get("items"), dict):
        walk(schema["items"], visit, f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        walk(schema["additionalProperties"], visit, f"{path}[*]")
