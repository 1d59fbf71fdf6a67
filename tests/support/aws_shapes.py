"""Checks of AWS emulator responses against botocore's output shapes (what the real service may answer)."""

from __future__ import annotations

from collections.abc import Collection
from functools import cache
from typing import Any

import botocore.session


@cache
def service_model(service: str) -> Any:
    return botocore.session.get_session().get_service_model(service)


def shape_errors(shape: Any, value: Any, path: str = "", *, allow_missing: Collection[str] = ()) -> list[str]:
    """Every way ``value`` (a handler response, timestamps as epoch seconds) breaks botocore's ``shape``: unknown
    members, missing required members (except those named in ``allow_missing``), types, enums, minimum lengths."""
    t = shape.type_name
    if t == "structure":
        if not isinstance(value, dict):
            return [f"{path}: expected an object"]
        errors = [f"{path}.{k}: not in {shape.name}" for k in value if k not in shape.members]
        errors += [
            f"{path}.{k}: required" for k in shape.required_members if k not in value and k not in allow_missing
        ]
        for k, v in value.items():
            if k in shape.members:
                errors += shape_errors(shape.members[k], v, f"{path}.{k}", allow_missing=allow_missing)
        return errors
    if t == "list":
        if not isinstance(value, list):
            return [f"{path}: expected a list"]
        return [
            e for i, v in enumerate(value)
            for e in shape_errors(shape.member, v, f"{path}[{i}]", allow_missing=allow_missing)
        ]
    if t == "map":
        if not isinstance(value, dict):
            return [f"{path}: expected a map"]
        return [
            e for k, v in value.items()
            for e in shape_errors(shape.value, v, f"{path}[{k}]", allow_missing=allow_missing)
        ]
    if t == "string":
        if not isinstance(value, str):
            return [f"{path}: expected a string"]
        if shape.enum and value not in shape.enum:
            return [f"{path}: {value!r} not in enum {shape.name}"]
        if len(value) < shape.metadata.get("min", 0):
            return [f"{path}: shorter than {shape.metadata['min']}"]
        return []
    if t in ("integer", "long"):
        return [] if isinstance(value, int) and not isinstance(value, bool) else [f"{path}: expected an integer"]
    if t in ("float", "double"):
        return [] if isinstance(value, int | float) and not isinstance(value, bool) else [f"{path}: expected a number"]
    if t == "boolean":
        return [] if isinstance(value, bool) else [f"{path}: expected a boolean"]
    if t == "timestamp":
        return [] if isinstance(value, int | float) and not isinstance(value, bool) else [f"{path}: expected epoch"]
    return []


def assert_output_shape(
    service: str, operation: str, response: dict[str, Any], *, allow_missing: Collection[str] = ()
) -> None:
    """``response`` is exactly what botocore's output shape for ``operation`` allows."""
    shape = service_model(service).operation_model(operation).output_shape
    if shape is None:
        assert response == {}
        return
    errors = shape_errors(shape, response, allow_missing=allow_missing)
    assert not errors, errors
