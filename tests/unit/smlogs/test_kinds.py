"""The plugin's kind table agrees with the API registry (it repeats it to start faster)."""

from __future__ import annotations

import pytest

from smk8s.api.v1.common import GROUP, VERSION
from smk8s.api.v1.registry import INFO
from smk8s.smlogs import kinds
from smk8s.smlogs.kinds import JOB_KINDS, UnknownKindError, is_terminal, kind_for


@pytest.mark.parametrize("kind", JOB_KINDS, ids=lambda k: k.kind)
def test_names_match_the_registry_and_the_status_fields_exist(kind: kinds.JobKind) -> None:
    info = INFO[kind.kind]
    assert (kind.plural, kind.singular, kind.short_names) == (info.plural, info.singular, info.short_names)
    assert kind.crd_name == info.crd_name
    status_fields = info.model.model_fields["status"].annotation
    assert status_fields is not None
    aliases = {f.alias for f in next(a for a in status_fields.__args__ if a is not type(None)).model_fields.values()}
    assert {kind.name_field, kind.status_field} <= aliases
    if kind.secondary_status_field:
        assert kind.secondary_status_field in aliases


def test_group_and_version() -> None:
    assert (kinds.GROUP, kinds.VERSION) == (GROUP, VERSION)


def test_aliases_are_unambiguous() -> None:
    seen: dict[str, str] = {}
    for kind in JOB_KINDS:
        for alias in kind.aliases():
            assert seen.setdefault(alias, kind.kind) == kind.kind


def test_log_groups() -> None:
    # original-operator.md section 4 and the SageMaker documentation's group names.
    assert kind_for("trainingjob").log_group == "/aws/sagemaker/TrainingJobs"
    assert kind_for("processingjob").log_group == "/aws/sagemaker/ProcessingJobs"
    assert kind_for("batchtransformjob").log_group == "/aws/sagemaker/TransformJobs"
    assert kind_for("hyperparametertuningjob").log_group is None  # its logs are its training jobs'


def test_unknown_kind() -> None:
    with pytest.raises(UnknownKindError, match="use one of trainingjob, processingjob"):
        kind_for("hostingdeployment")


@pytest.mark.parametrize(("status", "terminal"), [
    ("Completed", True), ("Failed", True), ("Stopped", True), ("InProgress", False), ("Stopping", False),
    (None, False), ("", False),
])
def test_terminal_statuses(status: str | None, terminal: bool) -> None:
    assert is_terminal(status) is terminal
