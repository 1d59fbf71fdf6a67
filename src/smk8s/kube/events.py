"""Kubernetes Events (``events.k8s.io/v1``) about our objects, deduplicated and rate-limited like client-go.

:class:`EventRecorder` is what controllers call: :meth:`~EventRecorder.eventf` never blocks and never fails the
caller. It decides at once, on the injected clock, what the event becomes (:class:`EventCorrelator`), and queues
the write for one background writer task, so writes reach the server in the order they were decided.

:class:`EventCorrelator` follows client-go's ``EventCorrelator`` (``tools/record/events_cache.go``):

- **Spam filter**: one token bucket per source and object (reporting controller and instance, plus the regarding
  object's apiVersion, kind, namespace, name and uid), burst 25, refilled with one token every 5 minutes. An event
  with no token left is dropped (every event, repeated or not, takes a token).
- **Dedup**: an event identical to one recorded less than 10 minutes before (same source, object, related object,
  type, reason, action and note) does not create a new Event: the existing one's ``series`` is patched with the
  new count and ``lastObservedTime``. An older match starts a new Event.
- Both caches are LRUs of 4096 keys, so memory stays bounded however many objects are reported about.

The recorder's queue holds 1000 writes; beyond that events are dropped (and logged), as client-go's broadcaster
does. A failed write is logged, not retried (the API client already retries 429/503).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import structlog

from smk8s.clock import Clock, RealClock
from smk8s.kube.client import request_json
from smk8s.kube.resources import MERGE_PATCH, is_not_found

K = TypeVar("K")
V = TypeVar("V")
Obj = dict[str, Any]

NORMAL = "Normal"
WARNING = "Warning"
NOTE_LIMIT = 1024  # events.k8s.io/v1 validation: note is at most 1 kB
DEDUP_WINDOW = 600.0
SPAM_BURST = 25
SPAM_REFILL_PER_SECOND = 1 / 300
CACHE_SIZE = 4096
QUEUE_SIZE = 1000

log = structlog.get_logger("smk8s.events")


class _LRU(Generic[K, V]):
    """A dict that forgets its least recently used key beyond ``size`` keys."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.size:
            self._data.popitem(last=False)


@dataclass
class _Bucket:
    tokens: float
    updated: float

    def take(self, now: float, burst: int, refill: float) -> bool:
        self.tokens = min(float(burst), self.tokens + (now - self.updated) * refill)
        self.updated = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


@dataclass
class _Series:
    namespace: str
    name: str
    count: int
    last_observed: float


@dataclass(frozen=True)
class Create:
    """Write a new Event."""

    event: Obj


@dataclass(frozen=True)
class PatchSeries:
    """Patch the series' Event with ``count``; ``event`` is the full Event to create instead if it is gone.

    The Event's name is read from ``series`` when the write happens, so a series restarted by an earlier write
    (its Event had expired) is patched under its new name.
    """

    count: int
    event: Obj
    series: _Series

    @property
    def name(self) -> str:
        return self.series.name


Decision = Create | PatchSeries | None


def object_reference(obj: Mapping[str, Any]) -> Obj:
    """An ObjectReference to ``obj`` (a dict as read from the server)."""
    meta: Mapping[str, Any] = obj.get("metadata") or {}
    ref = {
        "apiVersion": obj.get("apiVersion", ""),
        "kind": obj.get("kind", ""),
        "namespace": meta.get("namespace", ""),
        "name": meta.get("name", ""),
        "uid": meta.get("uid", ""),
        "resourceVersion": meta.get("resourceVersion", ""),
    }
    return {k: v for k, v in ref.items() if v}


def _ref_key(ref: Mapping[str, Any] | None) -> tuple[str, ...]:
    ref = ref or {}
    return tuple(str(ref.get(k, "")) for k in ("apiVersion", "kind", "namespace", "name", "uid"))


def micro_time(moment: dt.datetime) -> str:
    """RFC 3339 with microseconds, UTC (``metav1.MicroTime``)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class EventCorrelator:
    """Decides whether an Event is created, folded into an existing series, or dropped (module docstring).

    Pure bookkeeping on ``clock``; one caller at a time (the event loop's thread).
    """

    def __init__(
        self,
        clock: Clock,
        *,
        window: float = DEDUP_WINDOW,
        burst: int = SPAM_BURST,
        refill_per_second: float = SPAM_REFILL_PER_SECOND,
        cache_size: int = CACHE_SIZE,
    ) -> None:
        self.clock = clock
        self.window = window
        self.burst = burst
        self.refill = refill_per_second
        self._buckets: _LRU[tuple[str, ...], _Bucket] = _LRU(cache_size)
        self._series: _LRU[tuple[str, ...], _Series] = _LRU(cache_size)

    def observe(self, event: Obj) -> Decision:
        """What to write for ``event`` (a complete new Event), or ``None`` when the spam filter drops it."""
        now = self.clock.now()
        source = (str(event.get("reportingController", "")), str(event.get("reportingInstance", "")))
        spam_key = (*source, *_ref_key(event.get("regarding")))
        bucket = self._buckets.get(spam_key)
        if bucket is None:
            bucket = _Bucket(float(self.burst), now)
            self._buckets.put(spam_key, bucket)
        if not bucket.take(now, self.burst, self.refill):
            return None
        key = (
            *spam_key,
            *_ref_key(event.get("related")),
            *(str(event.get(k, "")) for k in ("type", "reason", "action", "note")),
        )
        series = self._series.get(key)
        if series is not None and now - series.last_observed < self.window:
            series.count += 1
            series.last_observed = now
            return PatchSeries(series.count, event, series)
        meta = event["metadata"]
        self._series.put(key, _Series(meta["namespace"], meta["name"], 1, now))
        return Create(event)


class EventRecorder:
    """Records Events about objects for one reporting controller and instance (module docstring).

    ``clock`` drives correlation (tests fast-forward it); ``wall_clock`` stamps ``eventTime`` and
    ``lastObservedTime``. Call :meth:`eventf` from the event loop; ``await flush()`` waits for queued writes,
    ``await close()`` stops the writer (pending writes are dropped).
    """

    def __init__(
        self,
        api: Any,
        *,
        reporting_controller: str,
        reporting_instance: str,
        clock: Clock | None = None,
        wall_clock: Callable[[], dt.datetime] | None = None,
        correlator: EventCorrelator | None = None,
    ) -> None:
        self.api = api
        self.reporting_controller = reporting_controller
        self.reporting_instance = reporting_instance
        self.clock: Clock = clock or RealClock()
        self.wall_clock = wall_clock or (lambda: dt.datetime.now(dt.UTC))
        self.correlator = correlator or EventCorrelator(self.clock)
        self._queue: asyncio.Queue[Create | PatchSeries] = asyncio.Queue(QUEUE_SIZE)
        self._writer: asyncio.Task[None] | None = None
        self._last_suffix = 0
        self.dropped = 0
        """Events dropped because the queue was full."""

    def eventf(
        self,
        obj: Mapping[str, Any],
        type: str,
        reason: str,
        action: str,
        note: str,
        *args: Any,
        related: Mapping[str, Any] | None = None,
    ) -> None:
        """Record that ``action`` happened to ``obj`` because of ``reason``; ``note % args`` is the message.

        ``type`` is ``Normal`` or ``Warning`` (anything else is a programming error: ValueError). Never blocks.
        """
        if type not in (NORMAL, WARNING):
            raise ValueError(f"event type must be {NORMAL!r} or {WARNING!r}, not {type!r}")
        decision = self.correlator.observe(
            self._event(obj, type, reason, action, note % args if args else note, related)
        )
        if decision is None:
            log.debug("event dropped by the spam filter", reason=reason, object=object_reference(obj))
            return
        try:
            self._queue.put_nowait(decision)
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning("event dropped: the write queue is full", reason=reason, object=object_reference(obj))
            return
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_loop(), name="event-recorder")

    async def flush(self) -> None:
        """Return once every event recorded so far has been written (or failed)."""
        await self._queue.join()

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
            self._writer = None

    def _event(
        self,
        obj: Mapping[str, Any],
        type: str,
        reason: str,
        action: str,
        note: str,
        related: Mapping[str, Any] | None,
    ) -> Obj:
        regarding = object_reference(obj)
        now = self.wall_clock()
        event: Obj = {
            "apiVersion": "events.k8s.io/v1",
            "kind": "Event",
            "metadata": {
                "name": self._event_name(str(regarding.get("name", "event")), now),
                "namespace": regarding.get("namespace") or "default",
            },
            "eventTime": micro_time(now),
            "reportingController": self.reporting_controller,
            "reportingInstance": self.reporting_instance,
            "action": action,
            "reason": reason,
            "type": type,
            "note": note[:NOTE_LIMIT],
            "regarding": regarding,
        }
        if related is not None:
            event["related"] = object_reference(related)
        return event

    def _event_name(self, name: str, now: dt.datetime) -> str:
        """``<object>.<hex nanoseconds>`` as client-go names Events, kept unique within this recorder."""
        suffix = max(int(now.timestamp() * 1e9), self._last_suffix + 1)
        self._last_suffix = suffix
        return f"{name}.{suffix:x}"

    async def _write_loop(self) -> None:
        while True:
            decision = await self._queue.get()
            try:
                await self._write(decision)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # an Event is best effort: never take the recorder down
                log.warning("failed to write event", error=str(exc), event_name=decision.event["metadata"]["name"])
            finally:
                self._queue.task_done()

    async def _write(self, decision: Create | PatchSeries) -> None:
        if isinstance(decision, Create):
            await self._create(decision.event)
            return
        body = {"series": {"count": decision.count, "lastObservedTime": micro_time(self.wall_clock())}}
        try:
            await request_json(
                self.api,
                "PATCH",
                _events_path(decision.series.namespace, decision.series.name),
                body=body,
                content_type=MERGE_PATCH,
            )
        except Exception as exc:
            if not is_not_found(exc):
                raise
            # The Event expired (or was deleted) meanwhile: start it again, and patch the new one from now on.
            await self._create({**decision.event, "series": body["series"]})
            decision.series.name = decision.event["metadata"]["name"]

    async def _create(self, event: Obj) -> None:
        await request_json(self.api, "POST", _events_path(event["metadata"]["namespace"]), body=event)


def _events_path(namespace: str, name: str | None = None) -> str:
    path = f"/apis/events.k8s.io/v1/namespaces/{quote(namespace, safe='')}/events"
    return path if name is None else f"{path}/{quote(name, safe='')}"
