"""The base of every model of ``sagemaker.aws.amazon.com/v1``: wire names, strictness and clean JSON schemas.

Every model (generated or hand-written) derives from :class:`ApiModel`:

- fields are snake_case in Python and carry their wire name (lowerCamelCase) as alias; both are accepted on input,
  ``model_dump(by_alias=True, exclude_none=True)`` gives the manifest form;
- unknown fields are rejected (a typo in a manifest is an error, not silently dropped);
- ``model_json_schema(by_alias=True)`` is ready for a CRD's structural schema: no ``title``, no ``default: null``,
  no ``additionalProperties: false``, optional fields not nullable.

Models generated from an AWS shape also say how they map onto it (class variables, read by ``convert.py``):
``API_SHAPE`` (the shape's name), ``API_MEMBERS`` (python field -> API member name), ``API_MAPS`` (fields that are
API maps written as lists of ``{name, value}`` or ``{key, value}`` entries) and ``API_LEGACY`` (fields that only
exist to accept the original operator's misspelt JSON keys -> the field they stand for).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


def clean_schema(schema: dict[str, Any], cls: type[BaseModel] | None = None) -> None:
    """Strip what a structural CRD schema cannot hold from one model's JSON schema (in place)."""
    schema.pop("title", None)
    schema.pop("additionalProperties", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
        if "default" in prop and prop["default"] is None:
            del prop["default"]


class ApiModel(BaseModel):
    """Base of all API models (module docstring)."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        protected_namespaces=(),
        json_schema_extra=clean_schema,
    )

    API_SHAPE: ClassVar[str] = ""
    API_MEMBERS: ClassVar[Mapping[str, str]] = {}
    API_MAPS: ClassVar[frozenset[str]] = frozenset()
    API_LEGACY: ClassVar[Mapping[str, str]] = {}
