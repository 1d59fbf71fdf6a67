"""Shared machinery for SageMaker ``List*`` operations: filters, sorting and ``NextToken`` paging.

SageMaker's list calls share one shape: ``NameContains``, ``StatusEquals``, ``CreationTimeAfter/Before``,
``LastModifiedTimeAfter/Before`` filters, ``SortBy`` / ``SortOrder``, ``MaxResults`` (default 10) and an opaque
``NextToken``. This module implements that shape once, generically over any record type ``T``; each store describes
its records with a :class:`ListSpec` and calls :func:`list_page`.

Paging contract (as SageMaker behaves):

- Results are ordered by the ``SortBy`` key (ties broken by name, so the order is total) in ``SortOrder``.
- ``MaxResults`` records are taken from the ordered, *pre-filtered* sequence after the cursor, and only then are the
  *post-filters* applied. AWS documents this for ``StatusEquals`` ("the MaxResults number of training jobs are first
  retrieved ignoring the StatusEquals parameter and then they are filtered", ListTrainingJobs API reference) and users
  see it for ``NameContains`` too (boto/boto3#2838: an empty page with a ``NextToken``). So a page may hold fewer than
  ``MaxResults`` records, even none, and still carry a ``NextToken``; callers must follow tokens until none is
  returned. The time-window filters are pre-filters (they narrow the scanned range).
- ``NextToken`` is present exactly when records remain after the page. It is a keyset cursor (the sort key of the
  last record scanned), so records created between two calls neither shift nor repeat the ones already returned.
- A token that does not decode, was issued by another operation, or for another ``SortBy``/``SortOrder`` is answered
  with ``ValidationException`` "Invalid pagination token" (:data:`INVALID_TOKEN_MESSAGE`; the exact AWS text is not
  documented, the code is).

:func:`offset_page` pages an unsorted, naturally ordered list (tags) with the same token rules.

Timestamps in requests arrive as epoch seconds (JSON 1.1), but :func:`epoch` also accepts ``datetime`` and ISO 8601
strings so handlers called directly in tests may pass either.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from smk8s.emulators.aws.errors import AwsError, validation

T = TypeVar("T")
SortValue = str | float | int
Predicate = Callable[[T], bool]

INVALID_TOKEN_MESSAGE = "Invalid pagination token"
DEFAULT_MAX_RESULTS = 10
ASCENDING = "Ascending"
DESCENDING = "Descending"


def invalid_token() -> AwsError:
    return validation(INVALID_TOKEN_MESSAGE)


def epoch(value: Any) -> float:
    """A request timestamp as epoch seconds (accepts numbers, ``datetime`` and ISO 8601 strings)."""
    if isinstance(value, bool):
        raise TypeError("a timestamp cannot be a boolean")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    raise TypeError(f"not a timestamp: {value!r}")


@dataclass(frozen=True)
class ListSpec(Generic[T]):
    """How one list operation sees its records.

    ``operation``: the operation name, bound into tokens so a token from one list is refused by another.
    ``name``: the record's unique name (tie-breaker of every sort order, and the ``NameContains`` subject).
    ``sort_keys``: ``SortBy`` value -> key function (e.g. ``{"Name": ..., "CreationTime": ..., "Status": ...}``).
    ``default_sort_by`` / ``default_sort_order``: what the API documents as defaults.
    ``created`` / ``modified``: the record's ``CreationTime`` / ``LastModifiedTime`` (epoch seconds), for the
    standard time-window filters; ``status``: the record's status, for ``StatusEquals``.
    ``status_member``: the request member that filters by status (``StatusEquals`` for jobs; hosting uses it too).
    ``name_contains_case_sensitive``: SageMaker's ``NameContains`` matches case-insensitively (emulator choice,
    documented in docs/emulators.md); set True for a list that matches exactly.
    ``post_filter_members``: request members applied after the page is cut (see module docstring). Members not
    named here that the standard filters understand are applied before paging.
    """

    operation: str
    name: Callable[[T], str]
    sort_keys: Mapping[str, Callable[[T], SortValue]]
    default_sort_by: str
    default_sort_order: str
    created: Callable[[T], float] | None = None
    modified: Callable[[T], float] | None = None
    status: Callable[[T], str] | None = None
    status_member: str = "StatusEquals"
    name_contains_case_sensitive: bool = False
    post_filter_members: frozenset[str] = field(default_factory=lambda: frozenset({"NameContains", "StatusEquals"}))
    default_max_results: int = DEFAULT_MAX_RESULTS


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page: the records to render and the token for the next page (None on the last page)."""

    items: list[T]
    next_token: str | None

    def response(self, member: str, render: Callable[[T], dict[str, Any]]) -> dict[str, Any]:
        """``{member: [render(item)...], "NextToken": ...}`` (``NextToken`` only when there is a next page)."""
        out: dict[str, Any] = {member: [render(item) for item in self.items]}
        if self.next_token is not None:
            out["NextToken"] = self.next_token
        return out


def standard_filters(spec: ListSpec[T], request: Mapping[str, Any]) -> tuple[list[Predicate[T]], list[Predicate[T]]]:
    """The predicates a request's standard filter members ask for, split into (pre-page, post-page) lists."""
    pre: list[Predicate[T]] = []
    post: list[Predicate[T]] = []

    def add(member: str, predicate: Predicate[T]) -> None:
        (post if member in spec.post_filter_members else pre).append(predicate)

    if spec.created is not None:
        created = spec.created
        if request.get("CreationTimeAfter") is not None:
            after = epoch(request["CreationTimeAfter"])
            add("CreationTimeAfter", lambda item: created(item) > after)
        if request.get("CreationTimeBefore") is not None:
            before = epoch(request["CreationTimeBefore"])
            add("CreationTimeBefore", lambda item: created(item) < before)
    if spec.modified is not None:
        modified = spec.modified
        if request.get("LastModifiedTimeAfter") is not None:
            m_after = epoch(request["LastModifiedTimeAfter"])
            add("LastModifiedTimeAfter", lambda item: modified(item) > m_after)
        if request.get("LastModifiedTimeBefore") is not None:
            m_before = epoch(request["LastModifiedTimeBefore"])
            add("LastModifiedTimeBefore", lambda item: modified(item) < m_before)
    contains = request.get("NameContains")
    if contains:
        if spec.name_contains_case_sensitive:
            add("NameContains", lambda item: contains in spec.name(item))
        else:
            lowered = str(contains).lower()
            add("NameContains", lambda item: lowered in spec.name(item).lower())
    wanted = request.get(spec.status_member)
    if wanted is not None and spec.status is not None:
        status = spec.status
        add(spec.status_member, lambda item: status(item) == wanted)
    return pre, post


def _encode(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def _decode(token: str) -> dict[str, Any]:
    try:
        payload = json.loads(base64.urlsafe_b64decode(token.encode()).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise invalid_token() from exc
    if not isinstance(payload, dict):
        raise invalid_token()
    return payload


def max_results(request: Mapping[str, Any], default: int) -> int:
    value = request.get("MaxResults")
    return default if value is None else int(value)


def list_page(
    items: Iterable[T],
    request: Mapping[str, Any],
    spec: ListSpec[T],
    *,
    extra_pre: Sequence[Predicate[T]] = (),
    extra_post: Sequence[Predicate[T]] = (),
) -> Page[T]:
    """One page of ``items`` for a ``List*`` ``request`` (see module docstring for the contract).

    ``extra_pre`` / ``extra_post`` add operation-specific filters (e.g. ``WarmPoolStatusEquals``) before or after the
    page is cut.
    """
    sort_by = request.get("SortBy") or spec.default_sort_by
    sort_order = request.get("SortOrder") or spec.default_sort_order
    if sort_by not in spec.sort_keys:
        raise validation(f"Value '{sort_by}' at 'sortBy' failed to satisfy constraint: Member must satisfy enum "
                         f"value set: [{', '.join(spec.sort_keys)}]")
    key_fn = spec.sort_keys[sort_by]
    descending = sort_order == DESCENDING

    def key(item: T) -> tuple[SortValue, str]:
        return (key_fn(item), spec.name(item))

    pre, post = standard_filters(spec, request)
    pre.extend(extra_pre)
    post.extend(extra_post)
    candidates = [item for item in items if all(p(item) for p in pre)]
    candidates.sort(key=key, reverse=descending)

    token = request.get("NextToken")
    if token:
        payload = _decode(token)
        if payload.get("op") != spec.operation or payload.get("by") != sort_by or payload.get("order") != sort_order:
            raise invalid_token()
        cursor = payload.get("after")
        if not (isinstance(cursor, list) and len(cursor) == 2):
            raise invalid_token()
        after = (cursor[0], cursor[1])
        try:
            if descending:
                candidates = [item for item in candidates if key(item) < after]
            else:
                candidates = [item for item in candidates if key(item) > after]
        except TypeError as exc:  # a cursor value of the wrong type for this sort key
            raise invalid_token() from exc

    limit = max_results(request, spec.default_max_results)
    window = candidates[:limit]
    next_token = None
    if len(candidates) > limit:
        last_value, last_name = key(window[-1])
        next_token = _encode({"op": spec.operation, "by": sort_by, "order": sort_order,
                              "after": [last_value, last_name]})
    return Page([item for item in window if all(p(item) for p in post)], next_token)


def offset_page(items: Sequence[T], request: Mapping[str, Any], *, operation: str, scope: str,
                default_max_results: int) -> Page[T]:
    """A page of an already ordered sequence by position (for lists without sorting, like ListTags).

    ``scope`` (e.g. the resource ARN) is bound into the token, so a token is only valid for the same resource.
    """
    start = 0
    token = request.get("NextToken")
    if token:
        payload = _decode(token)
        offset = payload.get("offset")
        if payload.get("op") != operation or payload.get("scope") != scope or not isinstance(offset, int):
            raise invalid_token()
        if offset < 0:
            raise invalid_token()
        start = offset
    limit = max_results(request, default_max_results)
    window = list(items[start:start + limit])
    end = start + len(window)
    next_token = _encode({"op": operation, "scope": scope, "offset": end}) if end < len(items) else None
    return Page(window, next_token)
