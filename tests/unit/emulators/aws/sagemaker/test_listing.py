"""The shared List* machinery: filters, sort orders, post-page filters and keyset NextToken paging."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from smk8s.emulators.aws.errors import AwsError
from smk8s.emulators.aws.sagemaker.listing import (
    INVALID_TOKEN_MESSAGE,
    ListSpec,
    Page,
    epoch,
    list_page,
    offset_page,
)


@dataclass
class Rec:
    name: str
    created: float
    modified: float
    status: str


SPEC: ListSpec[Rec] = ListSpec(
    operation="ListThings",
    name=lambda r: r.name,
    sort_keys={"Name": lambda r: r.name, "CreationTime": lambda r: r.created, "Status": lambda r: r.status},
    default_sort_by="CreationTime",
    default_sort_order="Ascending",
    created=lambda r: r.created,
    modified=lambda r: r.modified,
    status=lambda r: r.status,
)

RECORDS = [
    Rec("alpha", 10.0, 15.0, "Completed"),
    Rec("Bravo-x", 20.0, 25.0, "InProgress"),
    Rec("charlie", 30.0, 35.0, "Failed"),
    Rec("delta-x", 40.0, 45.0, "InProgress"),
    Rec("echo", 50.0, 55.0, "Completed"),
]


def names(page: Page[Rec]) -> list[str]:
    return [r.name for r in page.items]


def all_pages(request: dict[str, Any], records: list[Rec] = RECORDS) -> list[list[str]]:
    pages = []
    token = None
    while True:
        page = list_page(records, {**request, **({"NextToken": token} if token else {})}, SPEC)
        pages.append(names(page))
        token = page.next_token
        if token is None:
            return pages


def test_defaults_sort_by_creation_time_ascending_and_max_results_10() -> None:
    many = [Rec(f"r{i:02d}", float(100 - i), 0.0, "Completed") for i in range(12)]
    page = list_page(many, {}, SPEC)
    assert names(page) == [f"r{i:02d}" for i in range(11, 1, -1)]
    assert page.next_token is not None


@pytest.mark.parametrize(
    ("sort_by", "order", "expected"),
    [
        ("Name", "Ascending", ["Bravo-x", "alpha", "charlie", "delta-x", "echo"]),
        ("Name", "Descending", ["echo", "delta-x", "charlie", "alpha", "Bravo-x"]),
        ("CreationTime", "Descending", ["echo", "delta-x", "charlie", "Bravo-x", "alpha"]),
        # Status ties are broken by name, so the order is total.
        ("Status", "Ascending", ["alpha", "echo", "charlie", "Bravo-x", "delta-x"]),
    ],
)
def test_sort_orders(sort_by: str, order: str, expected: list[str]) -> None:
    assert names(list_page(RECORDS, {"SortBy": sort_by, "SortOrder": order}, SPEC)) == expected


def test_time_windows_are_exclusive_bounds() -> None:
    page = list_page(RECORDS, {"CreationTimeAfter": 20.0, "CreationTimeBefore": 50.0}, SPEC)
    assert names(page) == ["charlie", "delta-x"]
    page = list_page(RECORDS, {"LastModifiedTimeAfter": 35.0, "LastModifiedTimeBefore": 100.0}, SPEC)
    assert names(page) == ["delta-x", "echo"]


def test_time_filters_accept_datetimes_and_iso_strings() -> None:
    assert epoch(datetime(1970, 1, 1, 0, 0, 20, tzinfo=UTC)) == 20.0
    assert epoch("1970-01-01T00:00:20Z") == 20.0
    assert names(list_page(RECORDS, {"CreationTimeAfter": "1970-01-01T00:00:40Z"}, SPEC)) == ["echo"]


def test_name_contains_is_case_insensitive_and_status_equals_filters() -> None:
    assert names(list_page(RECORDS, {"NameContains": "X"}, SPEC)) == ["Bravo-x", "delta-x"]
    assert names(list_page(RECORDS, {"StatusEquals": "InProgress"}, SPEC)) == ["Bravo-x", "delta-x"]


def test_post_filters_apply_after_the_page_is_cut() -> None:
    """ListTrainingJobs: MaxResults records are retrieved first, then StatusEquals/NameContains filter them, so a
    page may be empty and still carry a NextToken (API reference; boto/boto3#2838)."""
    assert all_pages({"MaxResults": 2, "StatusEquals": "Completed"}) == [["alpha"], [], ["echo"]]
    assert all_pages({"MaxResults": 1, "NameContains": "x"}) == [[], ["Bravo-x"], [], ["delta-x"], []]


def test_pre_filters_narrow_the_scanned_range() -> None:
    assert all_pages({"MaxResults": 2, "CreationTimeAfter": 25.0}) == [["charlie", "delta-x"], ["echo"]]


def test_next_token_only_when_records_remain() -> None:
    assert list_page(RECORDS, {"MaxResults": 5}, SPEC).next_token is None
    assert list_page(RECORDS, {"MaxResults": 4}, SPEC).next_token is not None


@pytest.mark.parametrize("order", ["Ascending", "Descending"])
def test_paging_visits_every_record_once(order: str) -> None:
    pages = all_pages({"MaxResults": 2, "SortOrder": order})
    flat = [n for page in pages for n in page]
    assert len(pages) == 3
    assert sorted(flat) == sorted(r.name for r in RECORDS)
    assert len(set(flat)) == len(flat)


def test_keyset_tokens_survive_inserts_between_pages() -> None:
    records = list(RECORDS)
    first = list_page(records, {"MaxResults": 2, "SortOrder": "Descending"}, SPEC)
    assert names(first) == ["echo", "delta-x"]
    records.append(Rec("foxtrot", 60.0, 60.0, "InProgress"))  # newer than everything: belongs before page 1
    second = list_page(records, {"MaxResults": 2, "SortOrder": "Descending", "NextToken": first.next_token}, SPEC)
    assert names(second) == ["charlie", "Bravo-x"]


@pytest.mark.parametrize("token", ["not base64 at all!", base64.urlsafe_b64encode(b"[1, 2]").decode(), "e30="])
def test_invalid_tokens_are_validation_exceptions(token: str) -> None:
    with pytest.raises(AwsError) as err:
        list_page(RECORDS, {"NextToken": token}, SPEC)
    assert (err.value.code, err.value.message, err.value.status) == ("ValidationException", INVALID_TOKEN_MESSAGE, 400)


def test_tokens_are_bound_to_operation_and_sort() -> None:
    token = list_page(RECORDS, {"MaxResults": 1}, SPEC).next_token
    assert token is not None
    other = ListSpec(operation="ListOther", name=SPEC.name, sort_keys=SPEC.sort_keys, default_sort_by="CreationTime",
                     default_sort_order="Ascending")
    for spec, request in ((other, {}), (SPEC, {"SortBy": "Name"}), (SPEC, {"SortOrder": "Descending"})):
        with pytest.raises(AwsError, match=INVALID_TOKEN_MESSAGE):
            list_page(RECORDS, {**request, "NextToken": token}, spec)


def test_cursor_of_the_wrong_type_is_an_invalid_token() -> None:
    forged = base64.urlsafe_b64encode(json.dumps(
        {"op": "ListThings", "by": "CreationTime", "order": "Ascending", "after": ["x", "alpha"]}).encode()).decode()
    with pytest.raises(AwsError, match=INVALID_TOKEN_MESSAGE):
        list_page(RECORDS, {"NextToken": forged}, SPEC)


def test_extra_filters() -> None:
    page = list_page(RECORDS, {"MaxResults": 2}, SPEC, extra_pre=[lambda r: r.status != "Completed"],
                     extra_post=[lambda r: r.name.startswith("c")])
    assert names(page) == ["charlie"]
    assert page.next_token is not None


def test_page_response_renders_members() -> None:
    page = list_page(RECORDS, {"MaxResults": 1}, SPEC)
    response = page.response("ThingSummaries", lambda r: {"Name": r.name})
    assert response == {"ThingSummaries": [{"Name": "alpha"}], "NextToken": page.next_token}
    assert "NextToken" not in list_page(RECORDS, {}, SPEC).response("ThingSummaries", lambda r: {"Name": r.name})


def test_offset_pages() -> None:
    items = list(range(7))
    first = offset_page(items, {"MaxResults": 3}, operation="ListTags", scope="arn:a", default_max_results=50)
    assert first.items == [0, 1, 2]
    second = offset_page(items, {"MaxResults": 3, "NextToken": first.next_token}, operation="ListTags",
                         scope="arn:a", default_max_results=50)
    third = offset_page(items, {"MaxResults": 3, "NextToken": second.next_token}, operation="ListTags",
                        scope="arn:a", default_max_results=50)
    assert (second.items, third.items, third.next_token) == ([3, 4, 5], [6], None)
    with pytest.raises(AwsError, match=INVALID_TOKEN_MESSAGE):
        offset_page(items, {"NextToken": first.next_token}, operation="ListTags", scope="arn:b",
                    default_max_results=50)
    assert offset_page(items, {}, operation="ListTags", scope="arn:a", default_max_results=5).items == [0, 1, 2, 3, 4]
