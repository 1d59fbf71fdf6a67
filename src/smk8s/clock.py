"""Time for the controller runtime: the real event-loop clock, and a fake one tests move by hand.

Every component that waits (workqueue delays and backoff, reflector backoff and watch timeouts, leader-election
lease timing, manager shutdown timeouts) takes a :class:`Clock` instead of calling ``asyncio.sleep`` or
``time.monotonic`` itself, so tests fast-forward time with :meth:`FakeClock.advance` and never sleep.

Contract:
- ``now()`` is monotonic seconds (never goes backwards; unrelated to wall time).
- ``sleep(d)`` returns once ``now()`` has reached the instant it was called plus ``d`` (at once for ``d <= 0``);
  cancelling the awaiting task cancels the sleep.
- ``call_at(when, fn)`` runs ``fn()`` once ``now()`` reaches ``when``; the returned handle's ``cancel()`` prevents
  it if it has not run yet.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from typing import Protocol


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """What the runtime needs of time (see the module contract)."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle: ...


class RealClock:
    """The running event loop's clock (``loop.time()``, a monotonic clock)."""

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0))

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        return asyncio.get_running_loop().call_at(when, callback)


class _FakeTimer:
    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeClock:
    """A clock that moves only when a test calls :meth:`advance` (or :meth:`advance_to`).

    Timers and sleepers due by the new time fire in due order; woken sleepers resume when the test next yields to
    the event loop (:meth:`settle` does that until nothing is runnable).
    """

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._timers: list[tuple[float, int, _FakeTimer]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not future.done():
                future.set_result(None)

        timer = self.call_at(self._now + seconds, wake)
        try:
            await future
        finally:
            timer.cancel()

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        timer = _FakeTimer(callback)
        heapq.heappush(self._timers, (when, next(self._seq), timer))
        return timer

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, firing every timer due by then in order."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        self.advance_to(self._now + seconds)

    def advance_to(self, instant: float) -> None:
        while self._timers and self._timers[0][0] <= instant:
            when, _, timer = heapq.heappop(self._timers)
            self._now = max(self._now, when)
            if not timer.cancelled:
                timer.callback()
        self._now = max(self._now, instant)

    def next_deadline(self) -> float | None:
        """The earliest pending timer's instant (``None`` when nothing waits)."""
        while self._timers and self._timers[0][2].cancelled:
            heapq.heappop(self._timers)
        return self._timers[0][0] if self._timers else None

    async def settle(self, rounds: int = 20) -> None:
        """Yield to the event loop until woken tasks have had their turn (``rounds`` passes)."""
        for _ in range(rounds):
            await asyncio.sleep(0)

    async def run_for(self, seconds: float, step: float = 0.1) -> None:
        """Advance ``seconds`` in ``step`` increments, settling after each, so chains of timers unfold."""
        end = self._now + seconds
        while self._now < end:
            self.advance(min(step, end - self._now))
            await self.settle()
