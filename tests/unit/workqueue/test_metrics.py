"""Workqueue metrics: controller-runtime's names, labels, buckets and values."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from smk8s.clock import FakeClock
from smk8s.workqueue import RateLimitingQueue, WorkqueueMetrics
from smk8s.workqueue.metrics import DURATION_BUCKETS

NAME = "trainingjob"
LABELS = {"name": NAME, "controller": NAME}


def metered(registry: CollectorRegistry, name: str = NAME) -> tuple[FakeClock, RateLimitingQueue[str]]:
    clock = FakeClock()
    return clock, RateLimitingQueue(name, clock=clock, metrics=WorkqueueMetrics(registry, name))


def value(registry: CollectorRegistry, metric: str, **labels: str) -> float | None:
    return registry.get_sample_value(metric, {**LABELS, **labels})


def depth(registry: CollectorRegistry, priority: str) -> float | None:
    return value(registry, "workqueue_depth", priority=priority)


def test_families_names_types_and_buckets_match_controller_runtime() -> None:
    registry = CollectorRegistry()
    metered(registry)
    families = {family.name: family for family in registry.collect()}
    assert {name: family.type for name, family in families.items()} == {
        "workqueue_depth": "gauge",
        "workqueue_adds": "counter",
        "workqueue_queue_duration_seconds": "histogram",
        "workqueue_work_duration_seconds": "histogram",
        "workqueue_unfinished_work_seconds": "gauge",
        "workqueue_longest_running_processor_seconds": "gauge",
        "workqueue_retries": "counter",
    }
    assert DURATION_BUCKETS == (1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1000.0)
    buckets = [
        sample.labels["le"]
        for sample in families["workqueue_queue_duration_seconds"].samples
        if sample.name.endswith("_bucket")
    ]
    assert buckets == [str(bound) for bound in DURATION_BUCKETS] + ["+Inf"]
    text = generate_latest(registry).decode()
    assert f'workqueue_adds_total{{controller="{NAME}",name="{NAME}"}} 0.0' in text
    assert f'workqueue_depth{{controller="{NAME}",name="{NAME}",priority="0"}} 0.0' in text
    assert f'workqueue_depth{{controller="{NAME}",name="{NAME}",priority="-100"}} 0.0' in text


async def test_adds_count_only_new_dirty_items_and_depth_follows_priority() -> None:
    registry = CollectorRegistry()
    _, queue = metered(registry)
    queue.add("a")
    queue.add("a")
    queue.add("b", low_priority=True)
    queue.add("c", low_priority=True)
    assert value(registry, "workqueue_adds_total") == 3
    assert (depth(registry, "0"), depth(registry, "-100")) == (1, 2)
    queue.add("b")  # moved up: no new add
    assert value(registry, "workqueue_adds_total") == 3
    assert (depth(registry, "0"), depth(registry, "-100")) == (2, 1)
    held = await queue.get()
    assert (depth(registry, "0"), depth(registry, "-100")) == (1, 1)
    queue.add(held)  # dirty again while held: counted in depth, as in client-go
    assert value(registry, "workqueue_adds_total") == 4
    assert depth(registry, "0") == 2


async def test_queue_and_work_durations_are_observed_on_the_queue_clock() -> None:
    registry = CollectorRegistry()
    clock, queue = metered(registry)
    queue.add("a")
    clock.advance(0.5)
    queue.add("a")  # a duplicate does not restart the wait
    clock.advance(0.5)
    item = await queue.get()
    clock.advance(42.0)
    queue.done(item)
    assert value(registry, "workqueue_queue_duration_seconds_count") == 1
    assert value(registry, "workqueue_queue_duration_seconds_sum") == pytest.approx(1.0)
    assert value(registry, "workqueue_queue_duration_seconds_bucket", le="0.1") == 0
    assert value(registry, "workqueue_queue_duration_seconds_bucket", le="1.0") == 1
    assert value(registry, "workqueue_work_duration_seconds_count") == 1
    assert value(registry, "workqueue_work_duration_seconds_sum") == pytest.approx(42.0)
    assert value(registry, "workqueue_work_duration_seconds_bucket", le="10.0") == 0
    assert value(registry, "workqueue_work_duration_seconds_bucket", le="100.0") == 1


async def test_unfinished_work_and_longest_processor_are_read_at_scrape() -> None:
    registry = CollectorRegistry()
    clock, queue = metered(registry)
    queue.add("a")
    queue.add("b")
    a = await queue.get()
    clock.advance(10.0)
    b = await queue.get()
    clock.advance(5.0)
    assert value(registry, "workqueue_unfinished_work_seconds") == pytest.approx(15.0 + 5.0)
    assert value(registry, "workqueue_longest_running_processor_seconds") == pytest.approx(15.0)
    queue.done(a)
    queue.done(b)
    assert value(registry, "workqueue_unfinished_work_seconds") == 0
    assert value(registry, "workqueue_longest_running_processor_seconds") == 0


async def test_retries_count_delayed_and_rate_limited_adds() -> None:
    registry = CollectorRegistry()
    _, queue = metered(registry)
    queue.add_after("a", 1.0)
    queue.add_after("a", 0.5)  # merged, still a retry
    queue.add_rate_limited("b")
    queue.add_after("c", 0)  # no delay: a plain add, not a retry
    assert value(registry, "workqueue_retries_total") == 3
    assert value(registry, "workqueue_adds_total") == 1
    queue.shutdown()
    queue.add_after("d", 1.0)
    assert value(registry, "workqueue_retries_total") == 3


async def test_queues_share_one_registry_with_separate_series() -> None:
    registry = CollectorRegistry()
    _, first = metered(registry, "first")
    _, second = metered(registry, "second")
    first.add("a")
    second.add("a")
    second.add("b")
    assert registry.get_sample_value("workqueue_adds_total", {"name": "first", "controller": "first"}) == 1
    assert registry.get_sample_value("workqueue_adds_total", {"name": "second", "controller": "second"}) == 2
    with pytest.raises(ValueError, match="already registered"):
        WorkqueueMetrics(registry, "first")


def test_a_foreign_collector_under_the_same_names_is_refused() -> None:
    from prometheus_client import Gauge

    registry = CollectorRegistry()
    Gauge("workqueue_depth", "someone else's", registry=registry)
    with pytest.raises(ValueError, match="another collector"):
        WorkqueueMetrics(registry, NAME)


async def test_an_unmetered_queue_works_without_metrics() -> None:
    queue: RateLimitingQueue[str] = RateLimitingQueue("test", clock=FakeClock())
    queue.add("a")
    queue.add_after("b", 1)
    queue.done(await queue.get())
    assert len(queue) == 0
