"""SageMaker resource tags: AddTags, DeleteTags, ListTags for every ARN the emulator knows.

Stores own their resources; the tag store only knows which ARNs exist. Contract for other stores:

- ``world.sagemaker.tags.register(arn, tags)`` when a resource is created (``tags`` = the request's ``Tags``, may be
  empty); ``forget(arn)`` when it is deleted (models, endpoint configs, endpoints). Jobs are never deleted.
- ``tags(arn)`` returns a copy of the tag list (``[{"Key": ..., "Value": ...}]``, insertion order; an existing key
  keeps its position when its value changes); ``value(arn, key)`` one tag's value or None; ``set(arn, tags)``
  replaces them all.

Behaviour (SageMaker's):

- Tagging an ARN the emulator does not know is answered with ``ValidationException`` (users report
  ValidationException from ListTags/AddTags on a deleted resource, aws/amazon-sagemaker-feedback#108; the exact text
  is not documented, ours is :func:`unknown_resource`).
- At most :data:`MAX_TAGS` (50) tags per resource; more is ``ResourceLimitExceeded`` (emulator choice of code).
- Keys starting with ``aws:`` are reserved: ``ValidationException``.
- ListTags pages in insertion order; ``MaxResults`` (minimum 50 in the model) defaults to 50.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from smk8s.emulators.aws.errors import AwsError, resource_limit_exceeded, validation
from smk8s.emulators.aws.sagemaker.listing import offset_page

if TYPE_CHECKING:
    from smk8s.emulators.aws.world import Handler, World

MAX_TAGS = 50
LIST_TAGS_DEFAULT_MAX_RESULTS = 50

Tag = dict[str, str]


def unknown_resource(arn: str) -> AwsError:
    return validation(f"Requested resource not found: {arn}")


class TagStore:
    """Tags of every known SageMaker ARN (see module docstring)."""

    def __init__(self) -> None:
        self._tags: dict[str, dict[str, str]] = {}

    def register(self, arn: str, tags: Iterable[Mapping[str, str]] = ()) -> None:
        """Make ``arn`` known with ``tags`` (replacing any it had)."""
        self._tags[arn] = {}
        self._merge(arn, tags)

    def forget(self, arn: str) -> None:
        self._tags.pop(arn, None)

    def known(self, arn: str) -> bool:
        return arn in self._tags

    def tags(self, arn: str) -> list[Tag]:
        """A copy of ``arn``'s tags; :func:`unknown_resource` if the ARN is unknown."""
        return [{"Key": k, "Value": v} for k, v in self._require(arn).items()]

    def value(self, arn: str, key: str) -> str | None:
        return self._tags.get(arn, {}).get(key)

    def set(self, arn: str, tags: Iterable[Mapping[str, str]]) -> None:
        self._require(arn)
        self._tags[arn] = {}
        self._merge(arn, tags)

    def add(self, arn: str, tags: Iterable[Mapping[str, str]]) -> None:
        self._require(arn)
        self._merge(arn, tags)

    def remove(self, arn: str, keys: Iterable[str]) -> None:
        current = self._require(arn)
        for key in keys:
            current.pop(key, None)

    def arns(self) -> list[str]:
        return list(self._tags)

    def snapshot(self) -> dict[str, dict[str, str]]:
        """Every known ARN with its tags (for the control API's ``GET state``)."""
        return {arn: dict(tags) for arn, tags in self._tags.items()}

    def _require(self, arn: str) -> dict[str, str]:
        try:
            return self._tags[arn]
        except KeyError:
            raise unknown_resource(arn) from None

    def _merge(self, arn: str, tags: Iterable[Mapping[str, str]]) -> None:
        current = self._tags[arn]
        merged = dict(current)
        for tag in tags:
            key = tag["Key"]
            if key.lower().startswith("aws:"):
                raise validation("Tag keys that start with 'aws:' are reserved for system use")
            merged[key] = tag.get("Value", "")
        if len(merged) > MAX_TAGS:
            raise resource_limit_exceeded(
                f"Exceeded the maximum number of tags ({MAX_TAGS}) for resource {arn}")
        current.clear()
        current.update(merged)


def add_tags(world: World, request: dict[str, Any]) -> dict[str, Any]:
    arn = request["ResourceArn"]
    tags = list(request.get("Tags", []))
    world.sagemaker.tags.add(arn, tags)
    return {"Tags": [{"Key": t["Key"], "Value": t.get("Value", "")} for t in tags]}


def delete_tags(world: World, request: dict[str, Any]) -> dict[str, Any]:
    world.sagemaker.tags.remove(request["ResourceArn"], request.get("TagKeys", []))
    return {}


def list_tags(world: World, request: dict[str, Any]) -> dict[str, Any]:
    arn = request["ResourceArn"]
    page = offset_page(world.sagemaker.tags.tags(arn), request, operation="ListTags", scope=arn,
                       default_max_results=LIST_TAGS_DEFAULT_MAX_RESULTS)
    return page.response("Tags", lambda tag: tag)


OPERATIONS: Mapping[str, Handler] = {
    "AddTags": add_tags,
    "DeleteTags": delete_tags,
    "ListTags": list_tags,
}
