"""``Controller``: controller-runtime's result handling, per-key exclusivity, metrics and logging context.

Time is a ``FakeClock`` moved by hand; an in-memory event source stands in for the informer (same contract:
handlers called synchronously, cached objects replayed to a new handler).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import structlog
from prometheus_client import CollectorRegistry

from smk8s.clock import FakeClock
from smk8s.manager import Controller, ControllerMetrics, ReconcileError, Request, Result, TerminalError
from smk8s.manager.controller import RECONCILE_TIME_BUCKETS, RESULTS
from tests.unit.manager.fakes import FakeSource

Obj = dict[str, Any]
Outcome = Result | None | BaseException


@dataclass
class Harness:
    clock: FakeClock
    source: FakeSource
    registry: CollectorRegistry
    controller: Controller
    calls: list[tuple[float, Request]]
    task: asyncio.Task[None] | None = None

    def sample(self, metric: str, **labels: str) -> float:
        value = self.registry.get_sample_value(metric, {"controller": "test", **labels})
        assert value is not None, f"{metric}{labels} is not exported"
        return value

    def result_count(self, result: str) -> float:
        return self.sample("controller_runtime_reconcile_total", result=result)

    def times(self, name: str) -> list[float]:
        return [at for at, request in self.calls if request.name == name]

    async def advance(self, seconds: float) -> None:
        """Move time ``seconds`` on, stopping at every timer due meanwhile so work happens at its exact instant."""
        end = self.clock.now() + seconds
        while (deadline := self.clock.next_deadline()) is not None and deadline <= end:
            self.clock.advance_to(deadline)
            await self.clock.settle()
        self.clock.advance_to(end)
        await self.clock.settle()


def scripted(outcomes: dict[str, list[Outcome]]) -> Callable[[Harness], Callable[[Request], Awaitable[Result | None]]]:
    """A reconciler answering each key's calls in turn from ``outcomes`` (an exception is raised); then ``None``."""

    def make(harness: Harness) -> Callable[[Request], Awaitable[Result | None]]:
        remaining = {name: iter(list(script)) for name, script in outcomes.items()}

        async def reconcile(request: Request) -> Result | None:
            harness.calls.append((harness.clock.now(), request))
            outcome = next(remaining.get(request.name, iter(())), None)
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome

        return reconcile

    return make


@asynccontextmanager
async def running(
    make_reconciler: Callable[[Harness], Callable[[Request], Awaitable[Result | None]]],
    *,
    workers: int = 1,
    synced: bool = True,
    source: FakeSource | None = None,
) -> Any:
    clock = FakeClock()
    source = source or FakeSource()
    if synced:
        source.synced.set()
    registry = CollectorRegistry()
    harness = Harness(clock, source, registry, None, [])  # type: ignore[arg-type]

    async def reconcile(request: Request) -> Result | None:
        return await inner(request)

    inner = make_reconciler(harness)
    harness.controller = Controller("test", reconcile, informer=source, max_concurrent_reconciles=workers, clock=clock)
    task = harness.task = asyncio.create_task(harness.controller.run(metrics=ControllerMetrics(registry)))
    await clock.settle()
    try:
        yield harness
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def intervals(times: list[float]) -> list[float]:
    return [round(b - a, 6) for a, b in itertools.pairwise(times)]


async def test_all_metrics_are_pre_initialised_at_start() -> None:
    async with running(scripted({}), workers=3) as h:
        for result in RESULTS:
            assert h.result_count(result) == 0
        for metric in (
            "controller_runtime_reconcile_errors_total",
            "controller_runtime_terminal_reconcile_errors_total",
            "controller_runtime_reconcile_panics_total",
            "controller_runtime_active_workers",
            "controller_runtime_reconcile_time_seconds_count",
        ):
            assert h.sample(metric) == 0
        assert h.sample("controller_runtime_max_concurrent_reconciles") == 3
        assert h.registry.get_sample_value("workqueue_adds_total", {"name": "test", "controller": "test"}) == 0
        buckets = {s.labels["le"] for m in h.registry.collect() for s in m.samples
                   if s.name == "controller_runtime_reconcile_time_seconds_bucket"}
        assert len(buckets) == len(RECONCILE_TIME_BUCKETS) + 1 == 41  # 40 explicit buckets and +Inf


async def test_success_forgets_and_counts_the_reconcile_time() -> None:
    def make(h: Harness) -> Callable[[Request], Awaitable[Result | None]]:
        async def reconcile(request: Request) -> Result | None:
            h.calls.append((h.clock.now(), request))
            assert h.sample("controller_runtime_active_workers") == 1
            await h.clock.sleep(0.32)
            return Result()

        return reconcile

    async with running(make) as h:
        h.source.apply("a")
        await h.clock.settle()
        await h.advance(0.32)
        assert h.result_count("success") == 1
        assert h.sample("controller_runtime_active_workers") == 0
        assert h.sample("controller_runtime_reconcile_time_seconds_sum") == pytest.approx(0.32)
        assert h.sample("controller_runtime_reconcile_time_seconds_bucket", le="0.3") == 0
        assert h.sample("controller_runtime_reconcile_time_seconds_bucket", le="0.35") == 1
        assert h.controller.queue.num_requeues(Request("default", "a")) == 0


async def test_errors_back_off_per_item() -> None:
    boom = ReconcileError("SageMaker said no")
    async with running(scripted({"a": [boom] * 5, "b": [boom]})) as h:
        h.source.apply("a")
        await h.clock.settle()
        await h.advance(0.003)
        h.source.apply("b")  # b's first failure starts its own backoff, unaffected by a's
        await h.clock.settle()
        await h.advance(0.1)
        assert intervals(h.times("a")) == [0.005, 0.010, 0.020, 0.040]
        assert intervals(h.times("b")) == [0.005]
        assert h.controller.queue.num_requeues(Request("default", "a")) == 5  # five failures: the next waits 80 ms
        assert h.controller.queue.num_requeues(Request("default", "b")) == 0  # b then succeeded: forgotten
        assert h.result_count("error") == 6
        assert h.sample("controller_runtime_reconcile_errors_total") == 6
        assert h.result_count("success") == 1


async def test_requeue_after_forgets_the_backoff_then_waits_exactly() -> None:
    boom = ReconcileError("throttled")
    async with running(scripted({"a": [boom, boom, Result(requeue_after=30), boom, None]})) as h:
        h.source.apply("a")
        await h.clock.settle()
        await h.advance(0.005)
        await h.advance(0.010)
        request = Request("default", "a")
        assert len(h.calls) == 3
        assert h.controller.queue.num_requeues(request) == 0  # requeue_after reset the backoff
        await h.advance(29.99)
        assert len(h.calls) == 3
        await h.advance(0.01)
        assert len(h.calls) == 4  # the error after it backs off from the start again: 5 ms, not 40 ms
        await h.advance(0.005)
        assert len(h.calls) == 5
        assert intervals(h.times("a")) == [0.005, 0.010, 30.0, 0.005]
        assert h.result_count("requeue_after") == 1
        assert h.result_count("error") == 3
        assert h.result_count("success") == 1


async def test_requeue_is_rate_limited() -> None:
    again = Result(requeue=True)
    async with running(scripted({"a": [again, again, again, None]})) as h:
        h.source.apply("a")
        await h.clock.settle()
        await h.advance(0.04)
        assert intervals(h.times("a")) == [0.005, 0.010, 0.020]
        assert h.result_count("requeue") == 3
        assert h.result_count("success") == 1
        assert h.controller.queue.num_requeues(Request("default", "a")) == 0


async def test_terminal_errors_are_counted_and_never_retried() -> None:
    async with running(scripted({"a": [TerminalError("spec.roleArn is not an ARN")]})) as h:
        h.source.apply("a")
        await h.clock.settle()
        for _ in range(10):
            await h.advance(200)
        assert len(h.calls) == 1
        assert h.sample("controller_runtime_terminal_reconcile_errors_total") == 1
        assert h.sample("controller_runtime_reconcile_errors_total") == 1
        assert h.result_count("error") == 1
        assert h.sample("controller_runtime_reconcile_panics_total") == 0
        h.source.apply("a")  # a change is reconciled again
        await h.clock.settle()
        assert len(h.calls) == 2
        assert h.result_count("success") == 1


async def test_panics_are_caught_logged_with_their_stack_counted_and_retried() -> None:
    async with running(scripted({"a": [KeyError("status")]})) as h:
        with structlog.testing.capture_logs() as logs:
            h.source.apply("a")
            await h.clock.settle()
        assert len(h.calls) == 1
        assert h.sample("controller_runtime_reconcile_panics_total") == 1
        assert h.sample("controller_runtime_reconcile_errors_total") == 1
        assert h.result_count("error") == 1
        panic = [entry for entry in logs if entry["event"] == "Observed a panic"]
        assert len(panic) == 1 and panic[0]["exc_info"] is True and panic[0]["log_level"] == "error"
        assert "KeyError" in panic[0]["error"]
        await h.advance(0.005)  # retried with backoff, and the worker survived
        assert len(h.calls) == 2
        assert h.result_count("success") == 1


async def test_two_workers_never_reconcile_the_same_key() -> None:
    in_flight: set[Request] = set()
    overlaps: list[Request] = []
    peak = 0

    def make(h: Harness) -> Callable[[Request], Awaitable[Result | None]]:
        async def reconcile(request: Request) -> Result | None:
            nonlocal peak
            if request in in_flight:
                overlaps.append(request)
            in_flight.add(request)
            peak = max(peak, len(in_flight))
            h.calls.append((h.clock.now(), request))
            await h.clock.sleep(1)
            in_flight.discard(request)
            return None

        return reconcile

    names = [f"k{i}" for i in range(8)]
    async with running(make, workers=4) as h:
        for name in names:
            h.source.apply(name)
        await h.clock.settle()
        assert len(h.calls) == 4
        for name in names:  # changes while held (k0-k3) or queued (k4-k7): one more pass, or none extra
            h.source.apply(name)
            h.source.apply(name)
        await h.clock.settle()
        for _ in range(6):
            await h.advance(1)
        assert overlaps == []
        assert peak == 4
        counts = {name: len(h.times(name)) for name in names}
        assert counts == {**{n: 2 for n in names[:4]}, **{n: 1 for n in names[4:]}}


async def test_each_reconcile_logs_with_its_own_context() -> None:
    seen: list[dict[str, Any]] = []

    def make(h: Harness) -> Callable[[Request], Awaitable[Result | None]]:
        async def reconcile(request: Request) -> Result | None:
            seen.append(structlog.contextvars.get_contextvars())
            return None

        return reconcile

    async with running(make) as h:
        h.source.apply("a", namespace="ml")
        await h.clock.settle()
        h.source.apply("a", namespace="ml")
        await h.clock.settle()
    assert [{k: v for k, v in ctx.items() if k != "reconcileID"} for ctx in seen] == [
        {"controller": "test", "namespace": "ml", "name": "a"}
    ] * 2
    assert seen[0]["reconcileID"] != seen[1]["reconcileID"]
    assert structlog.contextvars.get_contextvars() == {}


async def test_deletes_and_tombstones_enqueue_the_object_key() -> None:
    async with running(scripted({})) as h:
        h.source.apply("a")
        h.source.apply("node-1", namespace="")
        await h.clock.settle()
        h.source.delete("a", missed=True)
        h.source.delete("node-1", namespace="")
        await h.clock.settle()
    assert [request for _, request in h.calls] == [
        Request("default", "a"), Request("", "node-1"), Request("default", "a"), Request("", "node-1")
    ]
    assert str(Request("", "node-1")) == "node-1" and str(Request("ml", "a")) == "ml/a"


async def test_initial_list_and_resyncs_wait_behind_real_changes() -> None:
    source = FakeSource()
    for name in ("a", "b", "c"):
        source.apply(name)
    async with running(scripted({}), synced=False, source=source) as h:
        assert h.calls == []  # no worker before the cache has synced
        h.source.synced.set()
        h.source.apply("c")  # a real change: ahead of the replayed initial list
        await h.clock.settle()
        assert [request.name for _, request in h.calls] == ["c", "a", "b"]
        h.calls.clear()
        h.source.resync()  # unchanged objects: low priority, behind the change made after it
        h.source.apply("b")
        await h.clock.settle()
        assert [request.name for _, request in h.calls] == ["b", "a", "c"]


async def test_shutdown_stops_taking_work_and_lets_in_flight_reconciles_finish() -> None:
    release = asyncio.Event()
    finished: list[str] = []

    def make(h: Harness) -> Callable[[Request], Awaitable[Result | None]]:
        async def reconcile(request: Request) -> Result | None:
            h.calls.append((h.clock.now(), request))
            await release.wait()
            finished.append(request.name)
            return Result(requeue_after=1)

        return reconcile

    async with running(make) as h:
        h.source.apply("a")
        h.source.apply("b")
        await h.clock.settle()
        h.controller.shutdown()
        await h.clock.settle()
        assert finished == [] and h.task is not None and not h.task.done()  # waits for the in-flight reconcile
        release.set()
        await h.clock.settle()
        assert h.task.done() and h.task.exception() is None
        await h.advance(5)
        assert finished == ["a"]  # a finished; b, still queued, was dropped; a's requeue was ignored
        assert [request.name for _, request in h.calls] == ["a"]
