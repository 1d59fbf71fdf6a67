"""AddTags / DeleteTags / ListTags and the TagStore API other stores use to register their ARNs."""

from __future__ import annotations

from typing import Any

import pytest

from smk8s.emulators.aws.errors import AwsError
from smk8s.emulators.aws.sagemaker import tags
from smk8s.emulators.aws.sagemaker.listing import offset_page
from smk8s.emulators.aws.sagemaker.tags import MAX_TAGS, TagStore
from smk8s.emulators.aws.world import World, new_world

ARN = "arn:aws:sagemaker:us-west-2:123456789012:training-job/job1"


@pytest.fixture
def world() -> World:
    w = new_world()
    w.sagemaker.tags.register(ARN, [{"Key": "team", "Value": "ml"}])
    return w


def call(world: World, operation: str, **request: Any) -> dict[str, Any]:
    return tags.OPERATIONS[operation](world, request)


def test_register_and_read() -> None:
    store = TagStore()
    store.register(ARN, [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    assert store.known(ARN)
    assert store.tags(ARN) == [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]
    assert store.value(ARN, "b") == "2"
    assert store.value(ARN, "missing") is None
    store.set(ARN, [{"Key": "c", "Value": "3"}])
    assert store.tags(ARN) == [{"Key": "c", "Value": "3"}]
    store.forget(ARN)
    assert not store.known(ARN)
    assert store.value(ARN, "c") is None


def test_tags_returns_a_copy() -> None:
    store = TagStore()
    store.register(ARN, [{"Key": "a", "Value": "1"}])
    store.tags(ARN)[0]["Value"] = "changed"
    assert store.value(ARN, "a") == "1"


def test_add_tags_merges_and_overwrites_in_place(world: World) -> None:
    new = [{"Key": "team", "Value": "ops"}, {"Key": "x", "Value": ""}]
    response = call(world, "AddTags", ResourceArn=ARN, Tags=new)
    assert response == {"Tags": [{"Key": "team", "Value": "ops"}, {"Key": "x", "Value": ""}]}
    assert call(world, "ListTags", ResourceArn=ARN) == {"Tags": [{"Key": "team", "Value": "ops"},
                                                                 {"Key": "x", "Value": ""}]}


def test_delete_tags_ignores_absent_keys(world: World) -> None:
    assert call(world, "DeleteTags", ResourceArn=ARN, TagKeys=["team", "nope"]) == {}
    assert call(world, "ListTags", ResourceArn=ARN) == {"Tags": []}


@pytest.mark.parametrize("operation", ["AddTags", "DeleteTags", "ListTags"])
def test_unknown_arn_is_a_validation_exception(world: World, operation: str) -> None:
    unknown = "arn:aws:sagemaker:us-west-2:123456789012:training-job/nope"
    request: dict[str, Any] = {"ResourceArn": unknown}
    if operation == "AddTags":
        request["Tags"] = [{"Key": "a", "Value": "b"}]
    if operation == "DeleteTags":
        request["TagKeys"] = ["a"]
    with pytest.raises(AwsError) as err:
        tags.OPERATIONS[operation](world, request)
    assert err.value.code == "ValidationException"
    assert unknown in err.value.message


def test_forgotten_resources_are_unknown(world: World) -> None:
    world.sagemaker.tags.forget(ARN)
    with pytest.raises(AwsError, match="ValidationException"):
        call(world, "ListTags", ResourceArn=ARN)


def test_too_many_tags(world: World) -> None:
    call(world, "AddTags", ResourceArn=ARN, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(MAX_TAGS - 1)])
    with pytest.raises(AwsError) as err:
        call(world, "AddTags", ResourceArn=ARN, Tags=[{"Key": "one-too-many", "Value": "v"}])
    assert err.value.code == "ResourceLimitExceeded"
    assert len(call(world, "ListTags", ResourceArn=ARN, MaxResults=100)["Tags"]) == MAX_TAGS  # unchanged


def test_aws_prefix_is_reserved(world: World) -> None:
    with pytest.raises(AwsError, match="ValidationException"):
        call(world, "AddTags", ResourceArn=ARN, Tags=[{"Key": "aws:cloudformation:stack", "Value": "v"}])
    assert world.sagemaker.tags.tags(ARN) == [{"Key": "team", "Value": "ml"}]


def test_list_tags_pages_in_insertion_order(world: World) -> None:
    call(world, "AddTags", ResourceArn=ARN, Tags=[{"Key": f"k{i:02d}", "Value": str(i)} for i in range(49)])
    first = call(world, "ListTags", ResourceArn=ARN)  # default page: 50, all of them
    assert [t["Key"] for t in first["Tags"][:2]] == ["team", "k00"]
    assert (len(first["Tags"]), "NextToken" in first) == (50, False)
    # 50 is the smallest MaxResults the model allows, so paging is exercised through the shared helper's token.
    page = offset_page(world.sagemaker.tags.tags(ARN), {"MaxResults": 20}, operation="ListTags", scope=ARN,
                       default_max_results=50)
    rest = call(world, "ListTags", ResourceArn=ARN, MaxResults=50, NextToken=page.next_token)
    assert [t["Key"] for t in rest["Tags"]] == [f"k{i:02d}" for i in range(19, 49)]
    other = "arn:aws:sagemaker:us-west-2:123456789012:model/m"
    world.sagemaker.tags.register(other)
    with pytest.raises(AwsError, match="Invalid pagination token"):
        call(world, "ListTags", ResourceArn=other, NextToken=page.next_token)
