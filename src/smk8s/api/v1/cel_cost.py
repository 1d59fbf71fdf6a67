"""kube-apiserver's static cost estimate of CRD validation rules, for the subset of CEL our rules use.

A CRD is refused when one ``x-kubernetes-validations`` rule's estimated cost exceeds
``StaticEstimatedCostLimit`` or the sum over the CRD (each rule's cost times how often its node can occur in an
object) exceeds ``StaticEstimatedCRDCostLimit`` (k8s.io/apiextensions-apiserver
pkg/apis/apiextensions/validation/validation.go). The emulated API server does not estimate costs, so this module
does, following upstream closely enough for the rules this project generates:

* cel-go's checker (``checker/cost.go``): an identifier or a field selection on an object or map costs 1, a
  presence test (``has()``) 1 plus its operand, ``!`` and ``size()`` 1 plus their operand, an index 1 plus its
  operands, a literal 0, ``&&``/``||`` the sum of both sides (the maximum; no cost of their own), and ``==``/``!=``
  ``ceil(0.1 * min(size(lhs), size(rhs)))`` plus both sides;
* sizes (``SchemaDeclType`` and the CRD ``sizeEstimator``, k8s.io/apiserver pkg/cel/common/schemas.go): a string
  is ``4 * maxLength``, else its longest enum value, else 3 MiB - 2 (``date-time``: 32, ``date``: 12,
  ``duration``: 32); a list ``maxItems``, else (3 MiB - 2) / (its items' minimal JSON size + 1); a map
  ``maxProperties``, else (3 MiB - 2) / (its values' minimal JSON size + 6); objects, integers, numbers and
  booleans 0 (so comparing whole objects is estimated cheap: the estimate, not the work, is what is limited);
  the result of a comparison, ``has()`` or ``size()`` is a scalar of size 1;
* cardinality: a rule on a node under no list or map counts once; under lists and maps, the product of their
  ``maxItems``/``maxProperties``, or when one is unbounded (3 MiB) / (the node's minimal JSON size + 1).

``has()`` is counted at 1 as cel-go does by default (an upper bound if a newer environment makes it free). Any
other construct (macros, other functions, arithmetic, ``?:``) raises :class:`UnsupportedRule` rather than being
guessed: extend the estimator, following cel-go, before generating such rules.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from celpy.celparser import CELParser
from lark import Token, Tree

# k8s.io/apiextensions-apiserver pkg/apis/apiextensions/validation/validation.go
STATIC_ESTIMATED_COST_LIMIT: Final = 10_000_000
STATIC_ESTIMATED_CRD_COST_LIMIT: Final = 100_000_000
# k8s.io/apiserver pkg/apis/cel/config.go: the runtime limit of one evaluation
PER_CALL_LIMIT: Final = 1_000_000

# k8s.io/apiserver pkg/cel/limits.go
MAX_REQUEST_SIZE_BYTES: Final = 3 * 1024 * 1024
_MAX_DURATION_SIZE_JSON: Final = 32
_MAX_DATETIME_SIZE_JSON: Final = 32
_MIN_DURATION_SIZE_JSON: Final = 3
_JSON_DATE_SIZE: Final = 12
_MIN_DATETIME_SIZE_JSON: Final = 21
_MIN_STRING_SIZE: Final = 2
_MIN_BOOL_SIZE: Final = 4
_MIN_NUMBER_SIZE: Final = 1
# cel-go common/cost.go
_STRING_TRAVERSAL_COST_FACTOR: Final = 0.1

Schema = Mapping[str, Any]


class UnsupportedRule(ValueError):
    """A rule uses CEL this estimator does not model, or names a field the schema does not expose to CEL."""


@dataclass(frozen=True)
class DeclSize:
    """What the estimator knows of a schema node: its maximal size and its minimal JSON serialization."""

    max_elements: int
    min_serialized: int


def decl_size(s: Schema) -> DeclSize | None:
    """``SchemaDeclType``'s MaxElements and MinSerializedSize of a structural schema node; None if not in CEL."""
    if s.get("x-kubernetes-int-or-string"):
        max_length = s.get("maxLength")
        return DeclSize(4 * max(max_length, 0) if max_length is not None else MAX_REQUEST_SIZE_BYTES - 2, 1)
    kind = s.get("type")
    if kind == "array":
        items = s.get("items")
        item = decl_size(items) if isinstance(items, Mapping) else None
        if item is None:
            return None
        max_items = s.get("maxItems")
        count = (max(max_items, 0) if max_items is not None
                 else (MAX_REQUEST_SIZE_BYTES - 2) // (item.min_serialized + 1))
        return DeclSize(count, 2)
    if kind == "object":
        additional = s.get("additionalProperties")
        if isinstance(additional, Mapping):
            value = decl_size(additional)
            if value is None:
                return None
            max_props = s.get("maxProperties")
            count = (max(max_props, 0) if max_props is not None
                     else (MAX_REQUEST_SIZE_BYTES - 2) // (value.min_serialized + 6))
            return DeclSize(count, 2)
        minimal = 2  # {}
        required = set(s.get("required") or ())
        for name, prop in (s.get("properties") or {}).items():
            field = decl_size(prop)
            if field is not None and name in required and prop.get("default") is None:
                minimal += len(name) + field.min_serialized + 4
        return DeclSize(0, minimal)
    if kind == "string":
        fmt = s.get("format")
        if fmt == "duration":
            return DeclSize(_MAX_DURATION_SIZE_JSON, _MIN_DURATION_SIZE_JSON)
        if fmt == "date":
            return DeclSize(_JSON_DATE_SIZE, _JSON_DATE_SIZE)
        if fmt == "date-time":
            return DeclSize(_MAX_DATETIME_SIZE_JSON, _MIN_DATETIME_SIZE_JSON)
        max_length = s.get("maxLength")
        if fmt == "byte":
            return DeclSize(max(max_length, 0) if max_length is not None else MAX_REQUEST_SIZE_BYTES - 2,
                            _MIN_STRING_SIZE)
        if max_length is not None:
            return DeclSize(4 * max(max_length, 0), _MIN_STRING_SIZE)
        enum = s.get("enum")
        if enum:
            return DeclSize(max((len(v) for v in enum if isinstance(v, str)), default=0), _MIN_STRING_SIZE)
        return DeclSize(MAX_REQUEST_SIZE_BYTES - 2, _MIN_STRING_SIZE)
    if kind == "boolean":
        return DeclSize(0, _MIN_BOOL_SIZE)
    if kind in ("integer", "number"):
        return DeclSize(0, _MIN_NUMBER_SIZE)
    return None  # untyped (x-kubernetes-preserve-unknown-fields alone): not visible to CEL


# ---------------------------------------------------------------------------------------------------------------
# Expressions

_PARSER = CELParser()
_SELF_NAMES: Final = frozenset({"self", "oldSelf"})


@dataclass(frozen=True)
class _Estimate:
    cost: int  # the maximal cost
    size: int | None  # the maximal size of the value (None: unknown, cel-go's MaxUint64)
    path: tuple[str, ...] | None = None  # the schema path under self/oldSelf ("@items"/"@values" for elements)
    kind: str = ""  # the schema type at ``path`` ("object", "array", ...)


def _factor(size: int) -> int:
    return math.ceil(size * _STRING_TRAVERSAL_COST_FACTOR)


def _unescape(name: str) -> str:
    """A CEL field name back to the property name (Kubernetes' escaping, reserved words as ``__word__``)."""
    if name.startswith("__") and name.endswith("__") and name[2:-2].isalpha():
        return name[2:-2]
    return (name.replace("__dash__", "-").replace("__dot__", ".").replace("__slash__", "/")
            .replace("__underscores__", "__"))


class _Estimator:
    def __init__(self, root: Schema) -> None:
        self.root = root

    def node_at(self, path: tuple[str, ...]) -> Schema:
        node = self.root
        for step in path:
            if step in ("@items", "@values"):
                inner = node.get("items") if step == "@items" else node.get("additionalProperties")
                if not isinstance(inner, Mapping):
                    raise UnsupportedRule(f"no {step} under {'.'.join(path)}")
                node = inner
            else:
                props = node.get("properties") or {}
                if step not in props:
                    raise UnsupportedRule(f"no property {step!r} on the path self.{'.'.join(path)}")
                node = props[step]
        if decl_size(node) is None:
            raise UnsupportedRule(f"self.{'.'.join(path)} is not visible to CEL (untyped)")
        return node

    def path_value(self, cost: int, path: tuple[str, ...]) -> _Estimate:
        node = self.node_at(path)
        size = decl_size(node)
        assert size is not None
        return _Estimate(cost, size.max_elements, path, str(node.get("type", "")))

    def estimate(self, tree: Tree[Token] | Token) -> _Estimate:
        if isinstance(tree, Token):
            raise UnsupportedRule(f"unexpected token {tree!r}")
        rule = tree.data
        children = tree.children
        if rule in ("expr", "conditionalor", "conditionaland", "relation", "addition", "multiplication", "unary",
                    "member", "primary", "paren_expr") and len(children) == 1:
            return self.estimate(children[0])
        if rule in ("conditionalor", "conditionaland") and len(children) == 2:
            left, right = self.estimate(children[0]), self.estimate(children[1])
            return _Estimate(left.cost + right.cost, 1)
        if rule == "relation" and len(children) == 2 and isinstance(children[0], Tree):
            op = children[0].data
            if op not in ("relation_eq", "relation_ne"):
                raise UnsupportedRule(f"operator {op}")
            left, right = self.estimate(children[0].children[0]), self.estimate(children[1])
            sizes = [s for s in (left.size, right.size) if s is not None]
            smallest = min(sizes) if sizes else None
            if smallest is None:
                raise UnsupportedRule("an equality of two values of unknown size")
            return _Estimate(_factor(smallest) + left.cost + right.cost, 1)
        if rule == "unary" and len(children) == 2 and isinstance(children[0], Tree):
            if children[0].data != "unary_not":
                raise UnsupportedRule(f"operator {children[0].data}")
            return _Estimate(1 + self.estimate(children[1]).cost, 1)
        if rule == "ident":
            name = str(children[0])
            if name not in _SELF_NAMES:
                raise UnsupportedRule(f"identifier {name!r}")
            return self.path_value(1, ())
        if rule == "literal":
            return _Estimate(0, _literal_size(str(children[0])))
        if rule == "member_dot":
            operand = self.estimate(children[0])
            if operand.path is None or operand.kind != "object":
                raise UnsupportedRule("a field selection on something other than an object of self/oldSelf")
            return self.path_value(operand.cost + 1, (*operand.path, _unescape(str(children[1]))))
        if rule == "member_index":
            operand, index = self.estimate(children[0]), self.estimate(children[1])
            if operand.path is None or operand.kind not in ("array", "object"):
                raise UnsupportedRule("an index into something other than a list or map of self/oldSelf")
            step = "@items" if operand.kind == "array" else "@values"
            return self.path_value(operand.cost + index.cost + 1, (*operand.path, step))
        if rule == "member_dot_arg":
            if str(children[1]) != "size" or len(children) != 2:
                raise UnsupportedRule(f"function {children[1]!s}")
            return _Estimate(1 + self.estimate(children[0]).cost, 1)
        if rule == "ident_arg":
            if str(children[0]) != "has" or len(children) != 2:
                raise UnsupportedRule(f"function {children[0]!s}")
            selection = _only(children[1], "exprlist")
            member = _single_member(selection)
            if member.data != "member_dot":
                raise UnsupportedRule("has() of something other than a field selection")
            operand = self.estimate(member.children[0])
            if operand.path is None or operand.kind != "object":
                raise UnsupportedRule("has() of a field of something other than an object of self/oldSelf")
            self.node_at((*operand.path, _unescape(str(member.children[1]))))  # a field CEL knows
            return _Estimate(1 + operand.cost, 1)
        raise UnsupportedRule(f"CEL construct {rule!r} with {len(children)} operands")


def _only(tree: Tree[Token] | Token, rule: str) -> Tree[Token]:
    if not isinstance(tree, Tree) or tree.data != rule or len(tree.children) != 1:
        raise UnsupportedRule(f"expected one {rule}")
    inner = tree.children[0]
    if not isinstance(inner, Tree):
        raise UnsupportedRule(f"expected an expression in {rule}")
    return inner


def _single_member(tree: Tree[Token]) -> Tree[Token]:
    """The member node an expression consists of (has()'s argument), through the single-child chain."""
    node: Tree[Token] | Token = tree
    while isinstance(node, Tree) and node.data != "member_dot" and len(node.children) == 1:
        node = node.children[0]
    if not isinstance(node, Tree):
        raise UnsupportedRule("has() of a literal")
    return node


def _literal_size(text: str) -> int:
    """cel-go's size of a literal: a string's runes, a bytes' length, 1 for numbers, booleans and null."""
    if "'" in text or '"' in text:
        value = ast.literal_eval(text)  # CEL's string and bytes literals (r/b prefixes, quotes) are Python's
        if isinstance(value, str | bytes):
            return len(value)
    return 1


def rule_cost(rule: str, node: Schema) -> int:
    """The estimated maximal cost of ``rule`` placed on ``node`` (``self`` and ``oldSelf`` are ``node``)."""
    return _Estimator(node).estimate(_PARSER.parse(rule)).cost


# ---------------------------------------------------------------------------------------------------------------
# A CRD's rules


@dataclass(frozen=True)
class RuleCost:
    """One rule's estimate: ``cost`` per evaluation, ``cardinality`` evaluations at most, ``total`` their product."""

    path: str  # the node carrying the rule ("" for the root, "spec", "spec.items[]"...)
    rule: str
    cost: int
    cardinality: int

    @property
    def total(self) -> int:
        return self.cost * self.cardinality


def rule_costs(schema: Schema) -> list[RuleCost]:
    """Every rule of an ``openAPIV3Schema`` with its estimate, as kube-apiserver computes them on CRD creation."""
    return list(_walk(schema, "", 1))


def _walk(s: Schema, path: str, cardinality: int | None) -> Iterator[RuleCost]:
    for rule in s.get("x-kubernetes-validations") or ():
        size = decl_size(s)
        minimal = size.min_serialized if size is not None else 0
        times = cardinality if cardinality is not None else MAX_REQUEST_SIZE_BYTES // (minimal + 1)
        yield RuleCost(path, rule["rule"], rule_cost(rule["rule"], s), times)
    for name, prop in (s.get("properties") or {}).items():
        yield from _walk(prop, f"{path}.{name}" if path else name, cardinality)
    items = s.get("items")
    if isinstance(items, Mapping):
        yield from _walk(items, f"{path}[]", _times(cardinality, s.get("maxItems")))
    additional = s.get("additionalProperties")
    if isinstance(additional, Mapping):
        yield from _walk(additional, f"{path}[*]", _times(cardinality, s.get("maxProperties")))


def _times(cardinality: int | None, bound: int | None) -> int | None:
    if cardinality is None or bound is None:
        return None
    return cardinality * max(bound, 0)


def crd_cost(doc: Mapping[str, Any]) -> list[RuleCost]:
    """:func:`rule_costs` of every version of a CustomResourceDefinition document."""
    out: list[RuleCost] = []
    for version in doc["spec"]["versions"]:
        out += rule_costs(version["schema"]["openAPIV3Schema"])
    return out
