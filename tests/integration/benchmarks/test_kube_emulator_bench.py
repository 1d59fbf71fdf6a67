"""A smoke run of ``benchmarks/kube_emulator.py`` (what ``make bench`` runs), shortened: it starts ``smk8s emulate
kube`` as its own process, creates, lists and fans out over HTTP, and prints three figures lines that parse."""

from __future__ import annotations

import re

import pytest
from benchmarks import kube_emulator

CREATES = re.compile(r"kube emulator: create ConfigMap +(\d+) objects/s \((\d+) clients\)")
LIST = re.compile(r"kube emulator: list (\d+) ConfigMaps +(\d+\.\d) ms median \((\d+\.\d) MB\)")
FANOUT = re.compile(
    r"kube emulator: fan-out to (\d+) watchers  p50 (\d+\.\d) ms, max (\d+\.\d) ms "
    r"\(write response to the last watcher's receipt, (\d+) events\)"
)


async def test_kube_emulator_benchmark_prints_parsable_figures(capsys: pytest.CaptureFixture[str]) -> None:
    await kube_emulator.main(objects=40, watchers=3, fanout_events=3, concurrency=4)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3, lines
    creates, listed, fanout = CREATES.fullmatch(lines[0]), LIST.fullmatch(lines[1]), FANOUT.fullmatch(lines[2])
    assert creates is not None and listed is not None and fanout is not None, lines
    assert int(creates.group(1)) > 0 and creates.group(2) == "4"
    assert listed.group(1) == "40" and float(listed.group(2)) > 0
    assert (fanout.group(1), fanout.group(4)) == ("3", "3")
    assert 0 <= float(fanout.group(2)) <= float(fanout.group(3))
