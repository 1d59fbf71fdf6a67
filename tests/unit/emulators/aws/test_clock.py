"""The virtual clock: scaled wall time plus manual advances, never backwards."""

from __future__ import annotations

import pytest

from smk8s.emulators.aws.clock import VirtualClock


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_scaled_elapsed_time() -> None:
    real = FakeMonotonic()
    clock = VirtualClock(start=1000.0, scale=60.0, monotonic=real)
    assert clock.now() == 1000.0
    real.now = 2.0
    assert clock.now() == 1120.0


def test_advance_adds_virtual_seconds() -> None:
    real = FakeMonotonic()
    clock = VirtualClock(start=0.0, scale=1.0, monotonic=real)
    assert clock.advance(3600) == 3600.0
    real.now = 1.0
    assert clock.now() == 3601.0
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_changing_the_scale_rebases_without_jumping() -> None:
    real = FakeMonotonic()
    clock = VirtualClock(start=0.0, scale=10.0, monotonic=real)
    real.now = 1.0
    clock.set_scale(1000.0)
    assert clock.now() == 10.0
    real.now = 2.0
    assert clock.now() == 1010.0
    assert clock.scale == 1000.0
    with pytest.raises(ValueError):
        clock.set_scale(0)
    with pytest.raises(ValueError):
        VirtualClock(scale=-1)


def test_real_seconds_until() -> None:
    real = FakeMonotonic()
    clock = VirtualClock(start=0.0, scale=100.0, monotonic=real)
    assert clock.real_seconds_until(500.0) == 5.0
    assert clock.real_seconds_until(-1.0) == 0.0
