"""``Manager`` lifecycle on a ``FakeClock``: graceful shutdown, its timeout, start-up failures, bind addresses.

No API server: these managers have no shared informers (their controllers use an in-memory source), no leader
election and no HTTP servers (the integration tests cover those against the emulated API server).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from smk8s.clock import FakeClock
from smk8s.manager import Controller, Manager, Request, Result
from smk8s.manager.manager import parse_bind_address
from tests.unit.manager.fakes import FakeSource


def _manager(clock: FakeClock, **options: Any) -> Manager:
    api: Any = None  # never used: no shared informers, no leader election
    return Manager(api, metrics_bind_address="0", health_probe_bind_address="0", clock=clock, **options)


async def test_stop_lets_in_flight_reconciles_finish_then_returns() -> None:
    clock = FakeClock()
    source = FakeSource()
    source.synced.set()
    release = asyncio.Event()
    done: list[str] = []

    async def reconcile(request: Request) -> Result:
        await release.wait()
        done.append(request.name)
        return Result()

    manager = _manager(clock)
    manager.add_controller(Controller("c", reconcile, informer=source, clock=clock))
    run = asyncio.create_task(manager.run())
    await clock.settle()
    assert manager.is_leader and manager.informers_synced()
    source.apply("a")
    source.apply("b")
    await clock.settle()
    manager.stop()
    await clock.settle()
    assert not run.done()  # waiting for the in-flight reconcile of a
    release.set()
    await clock.settle()
    assert run.done() and run.exception() is None
    assert done == ["a"]  # b was queued, not started: dropped
    assert manager.registry.get_sample_value(
        "controller_runtime_reconcile_total", {"controller": "c", "result": "success"}
    ) == 1


async def test_reconciles_still_running_at_the_graceful_timeout_are_cancelled() -> None:
    clock = FakeClock()
    source = FakeSource()
    source.synced.set()
    cancelled = asyncio.Event()

    async def reconcile(request: Request) -> Result:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return Result()

    manager = _manager(clock, graceful_shutdown_timeout=5)
    manager.add_controller(Controller("c", reconcile, informer=source, clock=clock))
    run = asyncio.create_task(manager.run())
    await clock.settle()
    source.apply("stuck")
    await clock.settle()
    manager.stop()
    await clock.run_for(4.9)
    assert not run.done() and not cancelled.is_set()
    await clock.run_for(0.2)
    assert cancelled.is_set()
    assert run.done() and run.exception() is None


async def test_a_controller_whose_cache_never_syncs_fails_the_manager() -> None:
    clock = FakeClock()
    never = FakeSource()

    async def reconcile(request: Request) -> Result:
        return Result()

    manager = _manager(clock)
    manager.add_controller(Controller("c", reconcile, informer=never, clock=clock, cache_sync_timeout=120))
    run = asyncio.create_task(manager.run())
    await clock.run_for(119, step=1)
    assert not run.done()
    await clock.run_for(2, step=1)
    assert run.done()
    with pytest.raises(TimeoutError, match="cache to be synced"):
        run.result()


async def test_a_manager_runs_once_and_takes_controllers_only_before_it_runs() -> None:
    clock = FakeClock()
    manager = _manager(clock)
    run = asyncio.create_task(manager.run())
    await clock.settle()

    async def reconcile(request: Request) -> Result:
        return Result()

    with pytest.raises(RuntimeError):
        manager.add_controller(Controller("late", reconcile, informer=FakeSource(), clock=clock))
    with pytest.raises(RuntimeError):
        await manager.run()
    manager.stop()
    await run


def test_bind_addresses_follow_controller_runtime() -> None:
    assert parse_bind_address("127.0.0.1:8080") == ("127.0.0.1", 8080)
    assert parse_bind_address(":8081") == (None, 8081)  # every interface
    assert parse_bind_address("[::1]:9090") == ("::1", 9090)
    assert parse_bind_address("0") is None  # disabled
    assert parse_bind_address("") is None
    with pytest.raises(ValueError):
        parse_bind_address("8080")
