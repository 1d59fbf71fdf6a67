"""Stopping a long-running command (``smk8s emulate ...``, ``smk8s dev``) on SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import signal


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM, on the running loop; the handlers are installed when this returns (call it
    before printing ``ready``, so a signal sent as soon as the ready line is read always ends the command cleanly)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
