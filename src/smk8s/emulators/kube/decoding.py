"""Request bodies as kube-apiserver's strict decoders read them: duplicate fields.

A JSON body with a key twice in one object decodes with the last value winning, but ``fieldValidation`` reports
it: sigs.k8s.io/json's case-sensitive strict decoder (k8s.io/apimachinery runtime/serializer/json) records
``duplicate field "<path>"`` with the dotted path of the repeat (``spec.template.spec.containers[0].imagePullPolicy``);
a YAML body (``application/yaml``, server-side apply) gets go-yaml's ``line N: key "k" already set in map``.
Wording and ordering are those of kubernetes/kubernetes test/integration/apiserver/field_validation_test.go.

:func:`loads_json` costs one cheap ``object_pairs_hook`` call per JSON object while there are no duplicates and
only walks the document with paths when there are, so the common request pays next to nothing.
:func:`strict_problems` words the duplicates and the unknown fields together as the handlers report them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml

from smk8s.emulators.kube import errors, validation
from smk8s.emulators.kube.schema import child, index


@dataclass(frozen=True)
class Duplicates:
    """The duplicate keys of one request body.

    ``paths`` are the JSON paths of each repeated key, in document order; ``keys_in_order`` lists every key the
    decoder met as (path, repeated) in document order (JSON bodies only: how a typed decoder interleaves its
    reports); ``yaml_lines`` are go-yaml's messages for a YAML body; ``json_patch`` marks the operations of a JSON
    patch (``json patch duplicate field "[1].path"``).
    """

    paths: tuple[str, ...] = ()
    keys_in_order: tuple[tuple[str, bool], ...] = ()
    yaml_lines: tuple[str, ...] = ()
    json_patch: bool = False

    def __bool__(self) -> bool:
        return bool(self.paths or self.yaml_lines)


NONE = Duplicates()


class _DuplicateKey(Exception):
    """Raised by the fast path's hook: the body has a duplicate key somewhere; decode it again with paths."""


def _dict_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _DuplicateKey
    return obj


class _Pairs(list[tuple[str, Any]]):
    """One JSON object's (key, value) pairs in document order (the slow path keeps them to find repeats)."""


_FAST = json.JSONDecoder(object_pairs_hook=_dict_without_duplicates)
_WITH_PAIRS = json.JSONDecoder(object_pairs_hook=_Pairs)


def loads_json(raw: bytes | str) -> tuple[Any, Duplicates]:
    """Decode a JSON body as ``json.loads`` does (last value wins), also returning its duplicate keys.

    Raises ``ValueError`` (``json.JSONDecodeError``) for malformed JSON, as ``json.loads``.
    """
    text = raw.decode(json.detect_encoding(raw), "surrogatepass") if isinstance(raw, bytes) else raw
    try:
        return _FAST.decode(text), NONE
    except _DuplicateKey:
        pass
    order: list[tuple[str, bool]] = []
    value = _resolve(_WITH_PAIRS.decode(text), "", order)
    return value, Duplicates(paths=tuple(path for path, repeated in order if repeated), keys_in_order=tuple(order))


def _resolve(node: Any, path: str, order: list[tuple[str, bool]]) -> Any:
    """Turn the slow path's pairs into dicts (last value wins, first position kept), recording every key met."""
    if isinstance(node, _Pairs):
        out: dict[str, Any] = {}
        for key, item in node:
            key_path = child(path, key)
            order.append((key_path, key in out))
            out[key] = _resolve(item, key_path, order)
        return out
    if isinstance(node, list):
        return [_resolve(item, index(path, i), order) for i, item in enumerate(node)]
    return node


def json_patch_duplicates(found: Duplicates) -> Duplicates:
    """The duplicates of a JSON patch that upstream reports: those among the operations' own fields
    (``[1].path``); duplicates inside an operation's ``value`` are dropped by evanphx/json-patch unseen."""
    paths = tuple(p for p in found.paths if p.startswith("[") and p.count(".") == 1 and p.index("]") == p.rfind("]"))
    return Duplicates(paths=paths, json_patch=True) if paths else NONE


class _DuplicateKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, recording go-yaml's ``line N: key "k" already set in map`` for each repeated key."""

    def __init__(self, stream: bytes | str) -> None:
        super().__init__(stream)
        self.duplicate_lines: list[str] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                self.duplicate_lines.append(
                    f"line {key_node.start_mark.line + 1}: key {validation.go_quote(str(key))} already set in map"
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def loads_yaml(raw: bytes | str) -> tuple[Any, Duplicates]:
    """Decode a YAML body as ``yaml.safe_load`` (last value wins), also returning go-yaml's duplicate-key lines.

    Raises ``yaml.YAMLError`` for malformed YAML.
    """
    loader = _DuplicateKeyLoader(raw)
    try:
        value = loader.get_single_data()
    finally:
        loader.dispose()
    lines = tuple(loader.duplicate_lines)
    return value, (Duplicates(yaml_lines=lines) if lines else NONE)


def sort_keys(value: Any) -> Any:
    """``value`` with every object's keys sorted, as sigs.k8s.io/yaml's YAML-to-JSON conversion leaves a YAML body
    (so the decoder meets, and reports, unknown fields of a YAML body in key order)."""
    if isinstance(value, dict):
        return {k: sort_keys(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list):
        return [sort_keys(item) for item in value]
    return value


def strict_problems(duplicates: Duplicates, unknown: list[str], *, typed: bool) -> tuple[list[str], str]:
    """(warnings for ``fieldValidation=Warn``, the detail of the ``Strict`` error) for a body's duplicate and
    unknown fields, as field_validation_test.go shows them.

    - YAML: go-yaml's lines first (one ``yaml: unmarshal errors:`` error in Strict), then the unknown fields.
    - JSON into a built-in kind (``typed``) with its document order known: in the order the decoder meets them;
      a field both unknown and repeated is reported as unknown only, and nothing under an unknown field.
    - Otherwise (custom resources, patches): the duplicates, then the unknown fields.
    """
    unknown_messages = [f'unknown field "{path}"' for path in unknown]
    if duplicates.yaml_lines:
        yaml_error = "yaml: unmarshal errors:\n" + "\n".join(f"  {line}" for line in duplicates.yaml_lines)
        warnings = list(duplicates.yaml_lines) + unknown_messages
        return warnings, "strict decoding error: " + ", ".join([yaml_error, *unknown_messages])
    if duplicates.json_patch:
        messages = [f'json patch duplicate field "{path}"' for path in duplicates.paths] + unknown_messages
    elif typed and duplicates.keys_in_order:
        messages = _interleaved(duplicates, unknown)
    else:
        messages = [f'duplicate field "{path}"' for path in duplicates.paths] + unknown_messages
    return messages, "strict decoding error: " + ", ".join(messages)


def _interleaved(duplicates: Duplicates, unknown: list[str]) -> list[str]:
    unknown_set = set(unknown)
    reported: set[str] = set()
    messages: list[str] = []
    for path, repeated in duplicates.keys_in_order:
        if path in unknown_set:
            if not repeated and path not in reported:
                messages.append(f'unknown field "{path}"')
                reported.add(path)
        elif repeated and not _under(path, unknown_set):
            messages.append(f'duplicate field "{path}"')
    messages += [f'unknown field "{path}"' for path in unknown if path not in reported]
    return messages


def _under(path: str, prefixes: set[str]) -> bool:
    return any(path.startswith(p + ".") or path.startswith(p + "[") for p in prefixes)


def apply_yaml_error(duplicates: Duplicates) -> errors.APIError:
    """The apply patcher's Strict failure (fieldmanager ``yaml.UnmarshalStrict``): 400, ``error strict decoding
    YAML: error converting YAML to JSON: yaml: unmarshal errors: ...``."""
    lines = "\n".join(f"  {line}" for line in duplicates.yaml_lines)
    return errors.bad_request(
        f"error strict decoding YAML: error converting YAML to JSON: yaml: unmarshal errors:\n{lines}"
    )
