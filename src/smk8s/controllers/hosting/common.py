"""What the hosting controllers share: owner tags, SageMaker names derived from content, deletion policy.

Contracts (a small, stable API: other hosting controllers import it):

- :func:`owner_tags` are the tags every SageMaker resource we create carries (the object's namespace, name and
  uid, the same keys as the job controllers'); :func:`is_owned` tells whether a resource's tags name an object's
  uid, so a resource created just before a crash is found again and a stranger's never adopted.
- :func:`owner_prefix` is a per-object name prefix (``<k8s name, cut>-<12 hex of the uid>``); :func:`content_name`
  appends a hash of the content a resource carries, so the same content always maps to the same name (reverting an
  edit maps back to the name already in SageMaker) and every name of one object starts with its prefix (listing
  by ``NameContains=prefix`` finds them all after a crash). Names are at most :data:`SAGEMAKER_NAME_MAX` characters
  and match SageMaker's ``^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}``.
- :func:`retain` reads the deletion policy: the annotation ``sagemaker.aws.amazon.com/deletion-policy`` wins over the
  manager's ``--deletion-policy``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from smk8s.controllers.jobs.core import (
    DELETION_POLICY_ANNOTATION,
    FINALIZER,
    TAG_NAME,
    TAG_NAMESPACE,
    TAG_UID,
    our_tags,
)
from smk8s.controllers.jobs.core import retain as _retain

__all__ = [
    "DELETION_POLICY_ANNOTATION",
    "FINALIZER",
    "HASH_LENGTH",
    "SAGEMAKER_NAME_MAX",
    "TAG_NAME",
    "TAG_NAMESPACE",
    "TAG_UID",
    "content_hash",
    "content_name",
    "is_owned",
    "owner_prefix",
    "owner_tags",
    "retain",
    "sanitize",
    "tag_list",
    "with_owner_tags",
]

SAGEMAKER_NAME_MAX = 63
"""Models, endpoint configurations and endpoints: at most 63 characters."""
HASH_LENGTH = 16
"""Hex characters of the content hash in a name (64 bits)."""
UID_LENGTH = 12
"""Hex characters of the object's uid in :func:`owner_prefix`."""
PREFIX_NAME_LENGTH = SAGEMAKER_NAME_MAX - HASH_LENGTH - UID_LENGTH - 2
"""Characters of the Kubernetes name kept in a prefix (33), so prefix + ``-`` + hash fit in 63."""

_NOT_ALLOWED = re.compile(r"[^a-zA-Z0-9-]+")
_DASHES = re.compile(r"-{2,}")


def owner_tags(metadata: Mapping[str, Any]) -> dict[str, str]:
    """The tags naming the owning object (``metadata`` of a Kubernetes object)."""
    return our_tags(str(metadata["namespace"]), str(metadata["name"]), str(metadata["uid"]))


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """``{key: value}`` as SageMaker's ``[{"Key": ..., "Value": ...}]``."""
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def with_owner_tags(request: Mapping[str, Any], metadata: Mapping[str, Any]) -> dict[str, Any]:
    """``request`` (a Create* request) with the owner tags added to its own ``Tags`` (the owner's win)."""
    tags = {str(t["Key"]): str(t.get("Value", "")) for t in request.get("Tags") or ()}
    tags.update(owner_tags(metadata))
    return {**request, "Tags": tag_list(tags)}


def is_owned(tags: Mapping[str, str], uid: str) -> bool:
    """Whether a resource's tags say it was created for the object of ``uid``."""
    return tags.get(TAG_UID) == uid


def sanitize(name: str) -> str:
    """``name`` with what SageMaker names refuse (dots, underscores ...) turned into single dashes, no dash at
    either end (Kubernetes names may hold dots; SageMaker's may not)."""
    return _DASHES.sub("-", _NOT_ALLOWED.sub("-", name)).strip("-")


def owner_prefix(k8s_name: str, uid: str) -> str:
    """``<k8s name, at most 33 characters>-<first 12 hex digits of the uid>``: every content-named resource of
    one object starts with it."""
    base = sanitize(k8s_name)[:PREFIX_NAME_LENGTH].rstrip("-")
    short_uid = uid.replace("-", "")[:UID_LENGTH]
    return f"{base}-{short_uid}" if base else short_uid


def content_hash(content: Any) -> str:
    """The first :data:`HASH_LENGTH` hex digits of the SHA-256 of ``content`` as canonical JSON (sorted keys):
    equal content, equal hash, whatever the order of its maps."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:HASH_LENGTH]


def content_name(prefix: str, content: Any) -> str:
    """``<prefix>-<content_hash(content)>``, at most 63 characters (the prefix is cut when longer than
    :func:`owner_prefix` makes it)."""
    digest = content_hash(content)
    room = SAGEMAKER_NAME_MAX - len(digest) - 1
    return f"{prefix[:room].rstrip('-')}-{digest}"


def retain(annotations: Mapping[str, str] | None, default_policy: str) -> bool:
    """Whether deleting the object leaves its SageMaker resources (annotation first, then the manager's flag)."""
    return _retain(annotations or {}, default_policy)
