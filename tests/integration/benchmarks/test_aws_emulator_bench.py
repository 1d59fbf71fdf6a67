"""A smoke run of ``benchmarks/aws_emulator.py`` (what ``make bench`` runs), shortened: it starts ``smk8s emulate
aws`` as its own process, drives it through aiobotocore and raw HTTP, and prints two figures lines that parse."""

from __future__ import annotations

import re

import pytest
from benchmarks import aws_emulator

FIGURES = re.compile(r"aws emulator: DescribeTrainingJob (via aiobotocore|raw HTTP) +(\d+) calls/s "
                     r"\((\d+) clients(?:, (.+))?\)")


async def test_aws_emulator_benchmark_prints_parsable_figures(capsys: pytest.CaptureFixture[str]) -> None:
    await aws_emulator.main(duration_seconds=0.3, boto_concurrency=2, raw_concurrency=3)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2, lines
    boto, raw = (FIGURES.fullmatch(line) for line in lines)
    assert boto is not None and raw is not None, lines
    assert (boto.group(1), boto.group(3), boto.group(4)) == ("via aiobotocore", "2", "an existing job")
    assert (raw.group(1), raw.group(3), raw.group(4)) == ("raw HTTP", "3", None)
    assert int(boto.group(2)) > 0 and int(raw.group(2)) > 0  # both phases answered calls
