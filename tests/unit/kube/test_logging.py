"""Structured logging: JSON lines with the reconcile keys, stdlib logs in the same format, level filtering."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from smk8s.kube.logging import configure_logging, reconcile_context, reconcile_logger


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    out = io.StringIO()
    yield out
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_level_time_and_reconcile_keys(stream: io.StringIO) -> None:
    configure_logging("info", "json", stream=stream)
    reconcile_logger("trainingjob", "ns", "job-a", "rid-1").info("reconciled", step=3)
    [line] = lines(stream)
    assert line["event"] == "reconciled" and line["level"] == "info" and line["step"] == 3 and "ts" in line
    assert (line["controller"], line["namespace"], line["name"], line["reconcileID"]) == (
        "trainingjob",
        "ns",
        "job-a",
        "rid-1",
    )


async def test_reconcile_context_binds_keys_per_task(stream: io.StringIO) -> None:
    configure_logging("info", "json", stream=stream)
    log = structlog.get_logger("inner")

    async def reconcile(name: str) -> None:
        with reconcile_context("trainingjob", "ns", name):
            await asyncio.sleep(0)
            log.info("working")
            logging.getLogger("kubernetes_asyncio").warning("from the stdlib")

    await asyncio.gather(reconcile("a"), reconcile("b"))
    out = lines(stream)
    assert len(out) == 4
    for line in out:
        assert line["controller"] == "trainingjob" and line["name"] in ("a", "b")
    ids = {line["name"]: line["reconcileID"] for line in out}
    assert ids["a"] != ids["b"]
    stdlib = [line for line in out if line["event"] == "from the stdlib"]
    assert len(stdlib) == 2 and stdlib[0]["level"] == "warning" and stdlib[0]["logger"] == "kubernetes_asyncio"
    log.info("outside")
    assert "name" not in lines(stream)[-1]


def test_the_level_filters(stream: io.StringIO) -> None:
    configure_logging("warning", "console", stream=stream)
    structlog.get_logger().info("hidden")
    structlog.get_logger().warning("shown")
    text = stream.getvalue()
    assert "shown" in text and "hidden" not in text


def test_bad_settings_are_rejected() -> None:
    with pytest.raises(ValueError):
        configure_logging("verbose", "json")
    with pytest.raises(ValueError):
        configure_logging("info", "xml")
