"""Workqueue metrics with controller-runtime's names, labels and buckets (``pkg/internal/metrics/workqueue.go``).

| metric | type | labels |
|---|---|---|
| ``workqueue_depth`` | gauge | name, controller, priority (``"0"`` normal, ``"-100"`` low) |
| ``workqueue_adds_total`` | counter | name, controller |
| ``workqueue_queue_duration_seconds`` | histogram, 1e-8 … 1e3 s (factor 10, 12 buckets) | name, controller |
| ``workqueue_work_duration_seconds`` | histogram, same buckets | name, controller |
| ``workqueue_unfinished_work_seconds`` | gauge | name, controller |
| ``workqueue_longest_running_processor_seconds`` | gauge | name, controller |
| ``workqueue_retries_total`` | counter | name, controller |

Both ``name`` and ``controller`` carry the queue's name. The families live once per
:class:`~prometheus_client.CollectorRegistry` (the manager owns one); each :class:`WorkqueueMetrics` is one queue's
series in them, and a name may be bound once per registry. Counters and histograms are updated by the queue as it
works; the depth and the two "unfinished work" gauges are read from the queue's live state when the registry is
collected (controller-runtime refreshes the latter every 500 ms instead), so a scrape must run on the queue's event
loop thread, as the manager's metrics server does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

#: ``prometheus.ExponentialBuckets(10e-9, 10, 12)``.
DURATION_BUCKETS = tuple(float(f"1e{exponent}") for exponent in range(-8, 4))

#: The ``priority`` label of ``workqueue_depth``: controller-runtime's default priority and ``handler.LowPriority``.
PRIORITY_LABELS = {False: "0", True: "-100"}

_LABELS = ("name", "controller")


class _Families(Collector):
    """The seven metric families, registered once in a registry and shared by every queue's series."""

    def __init__(self) -> None:
        self.bound: set[str] = set()
        self.depth = Gauge(
            "workqueue_depth", "Current depth of workqueue by workqueue and priority",
            [*_LABELS, "priority"], registry=None,
        )
        self.adds = Counter("workqueue_adds_total", "Total number of adds handled by workqueue", _LABELS, registry=None)
        self.queue_duration = Histogram(
            "workqueue_queue_duration_seconds", "How long in seconds an item stays in workqueue before being requested",
            _LABELS, buckets=DURATION_BUCKETS, registry=None,
        )
        self.work_duration = Histogram(
            "workqueue_work_duration_seconds", "How long in seconds processing an item from workqueue takes.",
            _LABELS, buckets=DURATION_BUCKETS, registry=None,
        )
        self.unfinished = Gauge(
            "workqueue_unfinished_work_seconds",
            "How many seconds of work has been done that is in progress and hasn't been observed by work_duration. "
            "Large values indicate stuck threads. One can deduce the number of stuck threads by observing the rate "
            "at which this increases.",
            _LABELS, registry=None,
        )
        self.longest = Gauge(
            "workqueue_longest_running_processor_seconds",
            "How many seconds has the longest running processor for workqueue been running.",
            _LABELS, registry=None,
        )
        self.retries = Counter(
            "workqueue_retries_total", "Total number of retries handled by workqueue", _LABELS, registry=None
        )
        self._all = (
            self.depth, self.adds, self.queue_duration, self.work_duration, self.unfinished, self.longest, self.retries
        )

    def describe(self) -> Iterator[Metric]:
        for family in self._all:
            yield from family.describe()

    def collect(self) -> Iterator[Metric]:
        for family in self._all:
            yield from family.collect()

    @staticmethod
    def of(registry: CollectorRegistry) -> _Families:
        """The registry's families, registering them on first use."""
        # prometheus_client offers no public lookup of a registered collector by name.
        existing = registry._names_to_collectors.get("workqueue_depth")
        if existing is None:
            families = _Families()
            registry.register(families)
            return families
        if not isinstance(existing, _Families):
            raise ValueError("workqueue_depth is already registered in this registry by another collector")
        return existing


class WorkqueueMetrics:
    """One queue's series in ``registry``; pass it to exactly one queue.

    Raises ``ValueError`` if ``name`` is already bound in ``registry`` (queue names, like controller names, are
    unique). The queue calls the recording methods below; nothing else should.
    """

    def __init__(self, registry: CollectorRegistry, name: str) -> None:
        if not name:
            raise ValueError("a metered queue needs a name")
        families = _Families.of(registry)
        if name in families.bound:
            raise ValueError(f"workqueue metrics for {name!r} are already registered")
        families.bound.add(name)
        self.name = name
        self._depth = {low: families.depth.labels(name, name, label) for low, label in PRIORITY_LABELS.items()}
        self._adds = families.adds.labels(name, name)
        self._queue_duration = families.queue_duration.labels(name, name)
        self._work_duration = families.work_duration.labels(name, name)
        self._unfinished = families.unfinished.labels(name, name)
        self._longest = families.longest.labels(name, name)
        self._retries = families.retries.labels(name, name)

    def track(self, depth: Callable[[bool], int], processing_ages: Callable[[], Iterable[float]]) -> None:
        """Read the gauges from the queue at collection: ``depth(low_priority)`` counts items waiting to be handed
        out at that priority; ``processing_ages()`` gives, for each item a worker holds, the seconds since ``get``."""
        for low, child in self._depth.items():
            child.set_function(functools.partial(depth, low))
        self._unfinished.set_function(lambda: sum(processing_ages()))
        self._longest.set_function(lambda: max(processing_ages(), default=0.0))

    def added(self) -> None:
        """An add made an item newly dirty (duplicates are not counted)."""
        self._adds.inc()

    def retried(self) -> None:
        """An ``add_after`` (or rate-limited add) with a positive delay."""
        self._retries.inc()

    def got(self, queued_seconds: float) -> None:
        """A worker took an item that had waited ``queued_seconds`` since it became dirty."""
        self._queue_duration.observe(queued_seconds)

    def finished(self, worked_seconds: float) -> None:
        """A worker called ``done`` ``worked_seconds`` after taking the item."""
        self._work_duration.observe(worked_seconds)
