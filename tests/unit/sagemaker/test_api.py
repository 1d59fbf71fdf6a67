"""Pure parts of the SageMaker call layer (smk8s.sagemaker.api)."""

from __future__ import annotations

from smk8s.sagemaker.api import tag_changes


def test_tag_changes_add_changed_and_delete_removed_but_never_aws_tags() -> None:
    add, delete = tag_changes({"a": "1", "b": "2"}, {"a": "1", "b": "old", "c": "3", "aws:x": "y"})
    assert add == {"b": "2"} and delete == ["c"]
