"""Structured logs: one JSON object per line (or a console rendering), with reconcile context bound.

:func:`configure_logging` is called once by the process entry point; it sets structlog up and routes the standard
library's ``logging`` (aiohttp, kubernetes_asyncio) through the same renderer, so every line has one format.

Controllers log with the keys controller-runtime uses: ``controller``, ``namespace``, ``name`` and a fresh
``reconcileID`` per reconcile. :func:`reconcile_context` binds them (structlog context variables) for everything
logged inside the ``with`` block, including code that only calls ``structlog.get_logger()``; asyncio tasks copy
the context they were created in, so concurrent reconciles never see each other's keys.
"""

from __future__ import annotations

import logging
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import structlog

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("json", "console")


def _processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
    ]


def configure_logging(level: str = "info", fmt: str = "json", *, stream: IO[str] | None = None) -> None:
    """Log at ``level`` and above (``debug``/``info``/``warning``/``error``) in ``fmt`` (``json``/``console``).

    Lines go to ``stream`` (default stderr). Calling it again replaces the previous configuration.
    """
    if level not in LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}, not {level!r}")
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    renderer: Any = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    )
    numeric = logging.getLevelName(level.upper())
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=_processors(),
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_processors(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def new_reconcile_id() -> str:
    return str(uuid.uuid4())


def reconcile_logger(
    controller: str, namespace: str, name: str, reconcile_id: str | None = None
) -> structlog.stdlib.BoundLogger:
    """A logger carrying the reconcile keys (a fresh ``reconcileID`` unless one is given)."""
    logger: structlog.stdlib.BoundLogger = structlog.get_logger("smk8s.controller").bind(
        controller=controller, namespace=namespace, name=name, reconcileID=reconcile_id or new_reconcile_id()
    )
    return logger


@contextmanager
def reconcile_context(controller: str, namespace: str, name: str, reconcile_id: str | None = None) -> Iterator[str]:
    """Bind the reconcile keys for everything logged inside the block; yields the ``reconcileID``."""
    rid = reconcile_id or new_reconcile_id()
    with structlog.contextvars.bound_contextvars(
        controller=controller, namespace=namespace, name=name, reconcileID=rid
    ):
        yield rid
