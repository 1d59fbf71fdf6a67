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

Both ``name`` and ``controller`` carry the queue's name.

Design (cheap updates, one collector per registry, no global state):

- :class:`WorkqueueMetricsProvider` is a custom ``prometheus_client`` collector holding the seven families for
  every queue of one :class:`~prometheus_client.CollectorRegistry`; it registers itself on construction. The caller
  owns it and creates exactly one per registry (the manager's ``ControllerMetrics`` does); a second one, or any
  other collector already exporting these names, is refused with ``ValueError`` by the registry's own duplicate check.
  No module-level registry-to-collector map is needed (the only ``prometheus_client`` internal read is its
  ``_created`` switch, :func:`_use_created`).
- :class:`WorkqueueMetrics` is one queue's series in a provider; a name may be bound once per provider. On the hot
  path it only bumps plain Python ints/floats (a histogram observation is a ``bisect`` into the fixed bucket list plus
  a float add): no locks, no label lookups. The provider turns them into metric families when the registry is
  collected, so the exposition is the same as with ``prometheus_client``'s ``Counter``/``Gauge``/``Histogram``
  (names, types, help, labels, bucket bounds, float values, ``_created`` series).
- The depth and the two "unfinished work" gauges are read from the queue's live state at collection
  (controller-runtime refreshes the latter every 500 ms instead).

Everything, scrapes included, runs on the queue's event loop thread (as the manager's metrics server does): the
counters are not locked, so a scrape from another thread could see a histogram mid-update.
"""

from __future__ import annotations

import os
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator

import prometheus_client.metrics
from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

#: ``prometheus.ExponentialBuckets(10e-9, 10, 12)``.
DURATION_BUCKETS = tuple(float(f"1e{exponent}") for exponent in range(-8, 4))

#: The ``priority`` label of ``workqueue_depth``: controller-runtime's default priority and ``handler.LowPriority``.
PRIORITY_LABELS = {False: "0", True: "-100"}

_LABELS = ("name", "controller")
_LE = (*(floatToGoString(bound) for bound in DURATION_BUCKETS), "+Inf")  # type: ignore[no-untyped-call]

# prometheus_client's switch for the ``_created`` series of counters and histograms: its documented environment
# variable sets it at import, ``disable_created_metrics()``/``enable_created_metrics()`` flip it later (the manager
# disables them, as controller-runtime exports none). prometheus_client reads it at each collection; so do we, so
# that a scrape shows ``_created`` series for all counters or for none.
_ENV_USE_CREATED = os.environ.get("PROMETHEUS_DISABLE_CREATED_SERIES", "False").lower() not in ("true", "1", "t")


def _use_created() -> bool:
    """Whether prometheus_client currently exports ``_created`` series (its module flag; the environment's value
    should a future release move the flag)."""
    return bool(getattr(prometheus_client.metrics, "_use_created", _ENV_USE_CREATED))

_DEPTH = ("workqueue_depth", "Current depth of workqueue by workqueue and priority")
_ADDS = ("workqueue_adds_total", "Total number of adds handled by workqueue")
_QUEUE_DURATION = (
    "workqueue_queue_duration_seconds",
    "How long in seconds an item stays in workqueue before being requested",
)
_WORK_DURATION = ("workqueue_work_duration_seconds", "How long in seconds processing an item from workqueue takes.")
_UNFINISHED = (
    "workqueue_unfinished_work_seconds",
    "How many seconds of work has been done that is in progress and hasn't been observed by work_duration. "
    "Large values indicate stuck threads. One can deduce the number of stuck threads by observing the rate "
    "at which this increases.",
)
_LONGEST = (
    "workqueue_longest_running_processor_seconds",
    "How many seconds has the longest running processor for workqueue been running.",
)
_RETRIES = ("workqueue_retries_total", "Total number of retries handled by workqueue")


class WorkqueueMetricsProvider(Collector):
    """The workqueue metric families of one registry, serving every queue bound to it (see the module docstring).

    Registers itself in ``registry``; create exactly one per registry and keep it with the registry's owner. Raises
    ``ValueError`` if the registry already exports any of these names (another provider or a foreign collector).
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self._queues: dict[str, WorkqueueMetrics] = {}
        try:
            registry.register(self)
        except ValueError as error:
            raise ValueError(
                f"workqueue metrics are already registered in this registry by another collector ({error}); "
                "use one WorkqueueMetricsProvider per registry"
            ) from None

    def _bind(self, queue: WorkqueueMetrics) -> None:
        if queue.name in self._queues:
            raise ValueError(f"workqueue metrics for {queue.name!r} are already registered")
        self._queues[queue.name] = queue

    def describe(self) -> Iterator[Metric]:
        return self._families([])

    def collect(self) -> Iterator[Metric]:
        queues = list(self._queues.values())
        if not queues:
            return iter(())  # as before any queue had its series: nothing exported yet
        return self._families(queues)

    @staticmethod
    def _families(queues: list[WorkqueueMetrics]) -> Iterator[Metric]:
        depth = GaugeMetricFamily(*_DEPTH, labels=(*_LABELS, "priority"))
        adds = CounterMetricFamily(*_ADDS, labels=_LABELS)
        queue_duration = HistogramMetricFamily(*_QUEUE_DURATION, labels=_LABELS)
        work_duration = HistogramMetricFamily(*_WORK_DURATION, labels=_LABELS)
        unfinished = GaugeMetricFamily(*_UNFINISHED, labels=_LABELS)
        longest = GaugeMetricFamily(*_LONGEST, labels=_LABELS)
        retries = CounterMetricFamily(*_RETRIES, labels=_LABELS)
        created: float | None
        use_created = _use_created()
        for queue in queues:
            labels = (queue.name, queue.name)
            created = queue.created if use_created else None
            for low, priority in PRIORITY_LABELS.items():
                depth.add_metric((*labels, priority), float(queue.depth(low)))
            adds.add_metric(labels, float(queue.adds), created=created)
            _add_histogram(queue_duration, labels, queue.queue_counts, queue.queue_sum, created)
            _add_histogram(work_duration, labels, queue.work_counts, queue.work_sum, created)
            ages = list(queue.processing_ages())
            unfinished.add_metric(labels, float(sum(ages)))
            longest.add_metric(labels, float(max(ages, default=0.0)))
            retries.add_metric(labels, float(queue.retries), created=created)
        yield from (depth, adds, queue_duration, work_duration, unfinished, longest, retries)


def _add_histogram(
    family: HistogramMetricFamily, labels: tuple[str, str], counts: list[int], total: float, created: float | None
) -> None:
    cumulative = 0.0
    buckets: list[tuple[str, float]] = []
    for le, count in zip(_LE, counts, strict=True):
        cumulative += count
        buckets.append((le, cumulative))
    family.add_metric(labels, buckets, float(total))
    if created is not None:
        family.samples.append(Sample(family.name + "_created", dict(zip(_LABELS, labels, strict=True)), created))


def _no_depth(low_priority: bool) -> int:
    return 0


def _no_ages() -> list[float]:
    return []


class WorkqueueMetrics:
    """One queue's series in ``provider``; pass it to exactly one queue.

    Raises ``ValueError`` if ``name`` is already bound in ``provider`` (queue names, like controller names, are
    unique). The queue calls the recording methods below; nothing else should. The attributes are the raw values the
    provider exports (read them through the registry, not here).
    """

    def __init__(self, provider: WorkqueueMetricsProvider, name: str) -> None:
        if not name:
            raise ValueError("a metered queue needs a name")
        self.name = name
        self.created = time.time()
        self.adds = 0
        self.retries = 0
        # Non-cumulative counts per bucket of DURATION_BUCKETS, plus a last one for +Inf.
        self.queue_counts = [0] * (len(DURATION_BUCKETS) + 1)
        self.queue_sum = 0.0
        self.work_counts = [0] * (len(DURATION_BUCKETS) + 1)
        self.work_sum = 0.0
        self.depth: Callable[[bool], int] = _no_depth
        self.processing_ages: Callable[[], Iterable[float]] = _no_ages
        provider._bind(self)

    def track(self, depth: Callable[[bool], int], processing_ages: Callable[[], Iterable[float]]) -> None:
        """Read the gauges from the queue at collection: ``depth(low_priority)`` counts items waiting to be handed
        out at that priority; ``processing_ages()`` gives, for each item a worker holds, the seconds since ``get``."""
        self.depth = depth
        self.processing_ages = processing_ages

    def added(self) -> None:
        """An add made an item newly dirty (duplicates are not counted)."""
        self.adds += 1

    def retried(self) -> None:
        """An ``add_after`` (or rate-limited add) with a positive delay."""
        self.retries += 1

    def got(self, queued_seconds: float) -> None:
        """A worker took an item that had waited ``queued_seconds`` since it became dirty."""
        # Histogram.observe's bucket: the first bound >= the value (le), +Inf past the last.
        self.queue_counts[bisect_left(DURATION_BUCKETS, queued_seconds)] += 1
        self.queue_sum += queued_seconds

    def finished(self, worked_seconds: float) -> None:
        """A worker called ``done`` ``worked_seconds`` after taking the item."""
        self.work_counts[bisect_left(DURATION_BUCKETS, worked_seconds)] += 1
        self.work_sum += worked_seconds
