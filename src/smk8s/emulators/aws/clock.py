"""The emulator's virtual clock: wall time compressed by a scale factor, plus manual fast-forwarding.

``now()`` = the start instant + (real seconds elapsed since start) x ``scale`` + every ``advance()`` so far.
Lifecycles (a training job's hours, an endpoint's minutes) are scheduled in virtual seconds, so a test sets a large
scale or calls ``advance`` instead of waiting. Time never goes backwards: changing the scale re-bases the clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class VirtualClock:
    """Virtual epoch seconds (see module docstring). ``monotonic`` is injectable for tests of the clock itself."""

    def __init__(
        self, start: float | None = None, scale: float = 1.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        if scale <= 0:
            raise ValueError("time scale must be positive")
        self._monotonic = monotonic
        self._base_virtual = time.time() if start is None else start
        self._base_real = monotonic()
        self._scale = scale

    @property
    def scale(self) -> float:
        return self._scale

    def now(self) -> float:
        return self._base_virtual + (self._monotonic() - self._base_real) * self._scale

    def advance(self, seconds: float) -> float:
        """Jump forward ``seconds`` of virtual time; returns the new now."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._base_virtual = self.now() + seconds
        self._base_real = self._monotonic()
        return self._base_virtual

    def set_scale(self, scale: float) -> None:
        if scale <= 0:
            raise ValueError("time scale must be positive")
        self._base_virtual = self.now()
        self._base_real = self._monotonic()
        self._scale = scale

    def real_seconds_until(self, virtual_instant: float) -> float:
        """How long to wait in real seconds until ``virtual_instant`` (0 when it has passed)."""
        return max(virtual_instant - self.now(), 0.0) / self._scale
