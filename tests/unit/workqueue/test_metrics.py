"""Workqueue metrics: controller-runtime's names, labels, buckets and values."""

from __future__ import annotations

import time

import prometheus_client
import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_latest_openmetrics

from smk8s.clock import FakeClock, RealClock
from smk8s.workqueue import RateLimitingQueue, WorkqueueMetrics, WorkqueueMetricsProvider
from smk8s.workqueue.metrics import DURATION_BUCKETS

NAME = "trainingjob"
LABELS = {"name": NAME, "controller": NAME}


def metered(provider: WorkqueueMetricsProvider, name: str = NAME) -> tuple[FakeClock, RateLimitingQueue[str]]:
    clock = FakeClock()
    return clock, RateLimitingQueue(name, clock=clock, metrics=WorkqueueMetrics(provider, name))


def new_registry() -> tuple[CollectorRegistry, WorkqueueMetricsProvider]:
    registry = CollectorRegistry()
    return registry, WorkqueueMetricsProvider(registry)


def value(registry: CollectorRegistry, metric: str, **labels: str) -> float | None:
    return registry.get_sample_value(metric, {**LABELS, **labels})


def depth(registry: CollectorRegistry, priority: str) -> float | None:
    return value(registry, "workqueue_depth", priority=priority)


def test_families_names_types_and_buckets_match_controller_runtime() -> None:
    registry, provider = new_registry()
    metered(provider)
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
    registry, provider = new_registry()
    _, queue = metered(provider)
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
    registry, provider = new_registry()
    clock, queue = metered(provider)
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
    registry, provider = new_registry()
    clock, queue = metered(provider)
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
    registry, provider = new_registry()
    _, queue = metered(provider)
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
    registry, provider = new_registry()
    _, first = metered(provider, "first")
    _, second = metered(provider, "second")
    first.add("a")
    second.add("a")
    second.add("b")
    assert registry.get_sample_value("workqueue_adds_total", {"name": "first", "controller": "first"}) == 1
    assert registry.get_sample_value("workqueue_adds_total", {"name": "second", "controller": "second"}) == 2
    with pytest.raises(ValueError, match="already registered"):
        WorkqueueMetrics(provider, "first")
    with pytest.raises(ValueError, match="another collector"):
        WorkqueueMetricsProvider(registry)  # one provider per registry: its names are taken


def test_a_foreign_collector_under_the_same_names_is_refused() -> None:
    registry = CollectorRegistry()
    Gauge("workqueue_depth", "someone else's", registry=registry)
    with pytest.raises(ValueError, match="another collector"):
        WorkqueueMetricsProvider(registry)


async def test_an_unmetered_queue_works_without_metrics() -> None:
    queue: RateLimitingQueue[str] = RateLimitingQueue("test", clock=FakeClock())
    queue.add("a")
    queue.add_after("b", 1)
    queue.done(await queue.get())
    assert len(queue) == 0


def test_nothing_is_exported_before_a_queue_is_bound() -> None:
    registry, _ = new_registry()
    assert generate_latest(registry) == b""


class Reference:
    """The same families with prometheus_client's own metric types, as this module defined them before."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        labels = ("name", "controller")
        self.depth = Gauge(
            "workqueue_depth",
            "Current depth of workqueue by workqueue and priority",
            [*labels, "priority"],
            registry=registry,
        )
        self.adds = Counter(
            "workqueue_adds_total", "Total number of adds handled by workqueue", labels, registry=registry
        )
        self.queue = Histogram(
            "workqueue_queue_duration_seconds",
            "How long in seconds an item stays in workqueue before being requested",
            labels,
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.work = Histogram(
            "workqueue_work_duration_seconds",
            "How long in seconds processing an item from workqueue takes.",
            labels,
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.unfinished = Gauge(
            "workqueue_unfinished_work_seconds",
            "How many seconds of work has been done that is in progress and hasn't been observed by work_duration. "
            "Large values indicate stuck threads. One can deduce the number of stuck threads by observing the rate "
            "at which this increases.",
            labels,
            registry=registry,
        )
        self.longest = Gauge(
            "workqueue_longest_running_processor_seconds",
            "How many seconds has the longest running processor for workqueue been running.",
            labels,
            registry=registry,
        )
        self.retries = Counter(
            "workqueue_retries_total", "Total number of retries handled by workqueue", labels, registry=registry
        )

    def bind(self, name: str) -> None:
        for family in (self.adds, self.queue, self.work, self.unfinished, self.longest, self.retries):
            family.labels(name, name)
        for priority in ("0", "-100"):
            self.depth.labels(name, name, priority)


async def test_exposition_is_byte_for_byte_that_of_prometheus_client_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time", lambda: 1_700_000_000.125)  # the _created series
    registry, provider = new_registry()
    reference = Reference()
    clock = FakeClock()
    queues = {name: RateLimitingQueue[str](name, clock=clock, metrics=WorkqueueMetrics(provider, name))
              for name in ("alpha", "beta", "idle")}  # fmt: skip
    for name in queues:
        reference.bind(name)
    alpha, beta = queues["alpha"], queues["beta"]
    # Around the bucket edges, beyond the last bound, and zero (the clock starts at 1000.0: waits are as measured).
    waits = [0.0, 1e-8, 2e-8, 1e-7, 0.001, 0.5, 1.0, 3.0, 10.0, 100.0, 999.0, 1000.0, 5000.0]
    for i, wait in enumerate(waits):
        item = f"item-{i}"
        added = clock.now()
        alpha.add(item, low_priority=i % 3 == 0)
        reference.adds.labels("alpha", "alpha").inc()
        clock.advance(wait)
        assert await alpha.get() == item
        taken = clock.now()
        reference.queue.labels("alpha", "alpha").observe(taken - added)  # what the queue measures
        clock.advance(2 * wait)
        alpha.done(item)
        reference.work.labels("alpha", "alpha").observe(clock.now() - taken)
    for item, low in (("x", False), ("y", True), ("z", False)):
        beta.add(item, low_priority=low)
        reference.adds.labels("beta", "beta").inc()
    clock.advance(0.25)
    held = await beta.get()
    reference.queue.labels("beta", "beta").observe(0.25)
    clock.advance(7.5)
    beta.add(held)  # dirty again while held: an add, and in the depth
    reference.adds.labels("beta", "beta").inc()
    beta.add_after("later", 3.0)
    beta.add_rate_limited("limited")
    reference.retries.labels("beta", "beta").inc(2)
    reference.depth.labels("beta", "beta", "0").set(2)  # z and the held x
    reference.depth.labels("beta", "beta", "-100").set(1)  # y
    reference.unfinished.labels("beta", "beta").set(7.5)
    reference.longest.labels("beta", "beta").set(7.5)
    assert generate_latest(registry).decode() == generate_latest(reference.registry).decode()
    openmetrics = generate_latest_openmetrics(registry)  # type: ignore[no-untyped-call]
    assert openmetrics == generate_latest_openmetrics(reference.registry)  # type: ignore[no-untyped-call]


def test_created_series_follow_prometheus_clients_switch_as_its_own_metrics_do() -> None:
    """The manager calls ``disable_created_metrics()`` (controller-runtime exports no ``_created`` series): the
    workqueue series must drop theirs in the same scrape as prometheus_client's own counters and histograms."""
    registry, provider = new_registry()
    reference = Reference()
    RateLimitingQueue[str](NAME, clock=FakeClock(), metrics=WorkqueueMetrics(provider, NAME)).add("a")
    reference.bind(NAME)
    reference.adds.labels(NAME, NAME).inc()
    reference.depth.labels(NAME, NAME, "0").set(1)
    prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]
    try:
        exposed = generate_latest(registry).decode()
        assert "_created" not in exposed
        assert exposed == generate_latest(reference.registry).decode()
    finally:
        prometheus_client.enable_created_metrics()  # type: ignore[no-untyped-call]
    assert "workqueue_adds_created" in generate_latest(registry).decode()  # enabled again: back


async def test_a_real_clock_queue_times_its_items() -> None:
    registry, provider = new_registry()
    queue: RateLimitingQueue[str] = RateLimitingQueue(NAME, clock=RealClock(), metrics=WorkqueueMetrics(provider, NAME))
    queue.add("a")
    item = await queue.get()
    assert value(registry, "workqueue_longest_running_processor_seconds") is not None
    queue.done(item)
    assert value(registry, "workqueue_queue_duration_seconds_count") == 1
    assert value(registry, "workqueue_work_duration_seconds_count") == 1
    assert 0 <= (value(registry, "workqueue_work_duration_seconds_sum") or 0) < 60


def test_observations_on_bucket_edges_fall_where_prometheus_client_puts_them() -> None:
    registry, provider = new_registry()
    reference = Reference()
    metrics = WorkqueueMetrics(provider, NAME)
    values = [-1.0, 0.0, *DURATION_BUCKETS, *(bound * 1.000001 for bound in DURATION_BUCKETS), 1e9]
    for observed in values:
        metrics.got(observed)
        reference.queue.labels(NAME, NAME).observe(observed)
        metrics.finished(observed / 2)
        reference.work.labels(NAME, NAME).observe(observed / 2)

    def histograms(registry: CollectorRegistry) -> list[tuple[str, dict[str, str], float]]:
        return [
            (sample.name, sample.labels, sample.value)
            for family in registry.collect() if family.type == "histogram"
            for sample in family.samples if not sample.name.endswith("_created")
        ]  # fmt: skip

    assert histograms(registry) == histograms(reference.registry)
    assert value(registry, "workqueue_queue_duration_seconds_bucket", le="1e-08") == 3  # -1, 0 and 1e-8 itself
