"""A controller: informer events in, keys through a rate-limited workqueue, N workers calling a reconciler.

Modelled on controller-runtime's ``pkg/internal/controller``. The moving parts, top-down:

- :class:`Request` (the key a reconciler is asked about), :class:`Result` (what it asks for next) and
  :class:`TerminalError` (a failure retrying cannot fix);
- :class:`ControllerMetrics`: the ``controller_runtime_*`` families, registered once per registry and shared by
  every controller of a manager (labelled by controller name);
- :class:`Controller`: registers handlers on one informer, then runs ``max_concurrent_reconciles`` workers.

Result handling (controller-runtime's ``reconcileHandler``, in this order):

1. the reconciler raised :class:`TerminalError`: counted in the errors and terminal-errors totals, **not** retried and
   **not** forgotten (its backoff history stays as it was);
2. it raised an *error* (an instance of one of ``Controller.errors``: :class:`ReconcileError`, API errors, network
   errors): counted in the errors total and retried with the item's exponential backoff (``add_rate_limited``; no
   ``forget``, so consecutive failures back off further);
3. it raised any other exception, a bug (Go's *panic*): logged with its stack, counted in the panics total *and* the
   errors total, and retried with backoff like an error;
4. ``Result(requeue_after=t)`` with ``t > 0``: ``forget`` (resets the backoff) then ``add_after(t)``;
5. ``Result(requeue=True)``: ``add_rate_limited``;
6. otherwise (``Result()`` or ``None``): ``forget``.

Guarantees: a key is reconciled by at most one worker at a time (the workqueue hands a key to one worker and
requeues changes made meanwhile until ``done``); every key enqueued comes from an object the informer delivered
(the controller never invents keys); an event that arrives while its key is being reconciled causes exactly one
more reconcile after the current one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import structlog
from kubernetes_asyncio.client.exceptions import ApiException
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from smk8s.clock import Clock, RealClock
from smk8s.informers import DeletedFinalStateUnknown
from smk8s.kube.logging import reconcile_context
from smk8s.workqueue import RateLimiter, RateLimitingQueue, ShutDown, WorkqueueMetrics, WorkqueueMetricsProvider

log = structlog.get_logger("smk8s.controller")


@dataclass(frozen=True, slots=True)
class Request:
    """The object a reconcile is about: its namespace ("" for cluster-scoped objects) and name."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


@dataclass(frozen=True, slots=True)
class Result:
    """What a reconcile asks for next: nothing, a retry with backoff (``requeue``), or a pass after a delay."""

    requeue: bool = False
    requeue_after: float = 0.0


class ReconcileError(Exception):
    """An expected failure of a reconcile (the outside world said no): retried with per-item backoff."""


class TerminalError(ReconcileError):
    """A failure that retrying cannot fix (an invalid spec, say): counted, logged, never retried.

    The object is reconciled again only when it changes (a new event for its key).
    """


Reconciler = Callable[[Request], Awaitable[Result | None]]
"""``async def reconcile(request) -> Result``; returning ``None`` means ``Result()``."""

DEFAULT_ERRORS: tuple[type[BaseException], ...] = (ReconcileError, ApiException, aiohttp.ClientError, OSError)
"""Exceptions that are failures of the outside world (errors); anything else a reconciler raises is a bug (panic)."""

RESULTS = ("success", "error", "requeue", "requeue_after")

# controller-runtime's explicit buckets for controller_runtime_reconcile_time_seconds (5 ms ... 60 s, 40 buckets).
RECONCILE_TIME_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0,
    1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
)  # fmt: skip


class ControllerMetrics:
    """controller-runtime's controller metric families in one registry (create one per registry).

    Every family carries a ``controller`` label; controllers run with the same instance also put their workqueue
    metrics in ``registry``, through :attr:`workqueue` (the registry's one workqueue metrics provider).
    :meth:`init_controller` pre-initialises a controller's series (the four ``result`` values of ``reconcile_total``
    at 0, the worker gauges) as controller-runtime does at Start.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.workqueue = WorkqueueMetricsProvider(registry)
        self.reconcile_total = Counter(
            "controller_runtime_reconcile_total", "Total number of reconciliations per controller",
            ["controller", "result"], registry=registry,
        )  # fmt: skip
        self.reconcile_errors = Counter(
            "controller_runtime_reconcile_errors_total", "Total number of reconciliation errors per controller",
            ["controller"], registry=registry,
        )  # fmt: skip
        self.terminal_reconcile_errors = Counter(
            "controller_runtime_terminal_reconcile_errors_total",
            "Total number of terminal reconciliation errors per controller", ["controller"], registry=registry,
        )  # fmt: skip
        self.reconcile_panics = Counter(
            "controller_runtime_reconcile_panics_total", "Total number of reconciliation panics per controller",
            ["controller"], registry=registry,
        )  # fmt: skip
        self.reconcile_time = Histogram(
            "controller_runtime_reconcile_time_seconds", "Length of time per reconciliation per controller",
            ["controller"], buckets=RECONCILE_TIME_BUCKETS, registry=registry,
        )  # fmt: skip
        self.max_concurrent_reconciles = Gauge(
            "controller_runtime_max_concurrent_reconciles", "Maximum number of concurrent reconciles per controller",
            ["controller"], registry=registry,
        )  # fmt: skip
        self.active_workers = Gauge(
            "controller_runtime_active_workers", "Number of currently used workers per controller",
            ["controller"], registry=registry,
        )  # fmt: skip

    def init_controller(self, controller: str, max_concurrent_reconciles: int) -> None:
        for result in RESULTS:
            self.reconcile_total.labels(controller, result)
        for family in (self.reconcile_errors, self.terminal_reconcile_errors, self.reconcile_panics):
            family.labels(controller)
        self.reconcile_time.labels(controller)
        self.max_concurrent_reconciles.labels(controller).set(max_concurrent_reconciles)
        self.active_workers.labels(controller).set(0)


class Registration(Protocol):
    def remove(self) -> None: ...


class EventSource(Protocol):
    """What a controller needs of an informer (``smk8s.informers.SharedInformer`` is one).

    ``add_event_handler`` replays the cached objects to ``on_add`` at once; ``wait_for_sync`` returns False if the
    source stopped before syncing.
    """

    def add_event_handler(
        self,
        on_add: Callable[[Any], None] | None = None,
        on_update: Callable[[Any, Any], None] | None = None,
        on_delete: Callable[[Any], None] | None = None,
    ) -> Registration: ...

    def has_synced(self) -> bool: ...

    async def wait_for_sync(self) -> bool: ...


def request_for(obj: Any) -> Request:
    """The :class:`Request` for an informer object (a dict, or a ``DeletedFinalStateUnknown`` tombstone)."""
    if isinstance(obj, DeletedFinalStateUnknown):
        if isinstance(obj.obj, Mapping):
            obj = obj.obj
        else:
            namespace, _, name = obj.key.rpartition("/")
            return Request(namespace, name)
    metadata = obj.get("metadata") or {}
    return Request(metadata.get("namespace") or "", metadata["name"])


class Controller:
    """Reconciles the objects of one informer with ``max_concurrent_reconciles`` workers.

    Lifecycle: construct; a manager (or a test) awaits :meth:`run`, which registers the event handlers, waits for
    the informer to sync (at most ``cache_sync_timeout``), then starts the workers. :meth:`shutdown` makes the
    controller stop taking work (keys already queued are dropped) and lets in-flight reconciles finish; ``run``
    returns when every worker has. Cancelling the task running ``run`` cancels in-flight reconciles — the manager
    does that when the graceful-shutdown timeout expires or leadership is lost. A controller runs once.
    """

    def __init__(
        self,
        name: str,
        reconciler: Reconciler,
        *,
        informer: EventSource,
        max_concurrent_reconciles: int = 1,
        rate_limiter: RateLimiter | None = None,
        clock: Clock | None = None,
        errors: tuple[type[BaseException], ...] = DEFAULT_ERRORS,
        cache_sync_timeout: float = 120.0,
    ) -> None:
        if max_concurrent_reconciles < 1:
            raise ValueError("max_concurrent_reconciles must be at least 1")
        self.name = name
        self.max_concurrent_reconciles = max_concurrent_reconciles
        self.errors = errors
        self._reconciler = reconciler
        self._informer = informer
        self._rate_limiter = rate_limiter
        self._clock: Clock = clock or RealClock()
        self._cache_sync_timeout = cache_sync_timeout
        self._queue: RateLimitingQueue[Request] | None = None
        self._metrics: ControllerMetrics | None = None
        self._started = False
        self._stop_requested = False
        self._replaying = False

    @property
    def queue(self) -> RateLimitingQueue[Request]:
        """The controller's workqueue (exists once :meth:`run` has started; read it, do not drive it)."""
        if self._queue is None:
            raise RuntimeError(f"controller {self.name} has not started")
        return self._queue

    async def run(self, *, metrics: ControllerMetrics | None = None) -> None:
        """Run until :meth:`shutdown` and every in-flight reconcile has finished (see the class contract).

        ``metrics``: where to record (the manager's); its registry also gets this controller's workqueue metrics.
        By default a private registry.
        Raises ``TimeoutError`` if the informer does not sync within ``cache_sync_timeout``.
        """
        if self._started:
            raise RuntimeError(f"controller {self.name} was already started")
        self._started = True
        self._metrics = metrics or ControllerMetrics(CollectorRegistry())
        self._metrics.init_controller(self.name, self.max_concurrent_reconciles)
        queue: RateLimitingQueue[Request] = RateLimitingQueue(
            self.name,
            rate_limiter=self._rate_limiter,
            clock=self._clock,
            metrics=WorkqueueMetrics(self._metrics.workqueue, self.name),
        )
        self._queue = queue
        if self._stop_requested:
            queue.shutdown()
        log.info("Starting EventSource", controller=self.name)
        self._replaying = True  # the informer replays its cache to a new handler: those adds are the initial list
        try:
            registration = self._informer.add_event_handler(self._on_add, self._on_update, self._on_delete)
        finally:
            self._replaying = False
        workers: list[asyncio.Task[None]] = []
        try:
            await self._wait_for_sync()
            log.info("Starting workers", controller=self.name, worker_count=self.max_concurrent_reconciles)
            workers = [
                asyncio.create_task(self._worker(), name=f"{self.name}-worker-{i}")
                for i in range(self.max_concurrent_reconciles)
            ]
            await asyncio.gather(*workers)
        finally:
            registration.remove()
            queue.shutdown()
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            log.info("All workers finished", controller=self.name)

    def shutdown(self) -> None:
        """Stop taking work: queued keys are dropped, in-flight reconciles finish, then :meth:`run` returns."""
        self._stop_requested = True
        if self._queue is not None:
            self._queue.shutdown()

    async def _wait_for_sync(self) -> None:
        if self._informer.has_synced():
            return
        sync = asyncio.ensure_future(self._informer.wait_for_sync())
        timer = asyncio.ensure_future(self._clock.sleep(self._cache_sync_timeout))
        try:
            await asyncio.wait((sync, timer), return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            if not sync.done():
                sync.cancel()
        if not sync.done() or sync.cancelled():
            raise TimeoutError(f"controller {self.name}: timed out waiting for cache to be synced")
        if not sync.result():
            raise RuntimeError(f"controller {self.name}: the informer stopped before its cache synced")

    # Event handlers: run on the informer's dispatch; they only enqueue keys.

    def _on_add(self, obj: Any) -> None:
        # Adds from the initial list (delivered before sync, or replayed at registration) go behind real changes.
        initial = self._replaying or not self._informer.has_synced()
        self._enqueue(request_for(obj), low_priority=initial)

    def _on_update(self, old: Any, new: Any) -> None:
        # A resync redelivers the cached object unchanged (same resourceVersion): low priority, as controller-runtime.
        resync = _resource_version(old) is not None and _resource_version(old) == _resource_version(new)
        self._enqueue(request_for(new), low_priority=resync)

    def _on_delete(self, obj: Any) -> None:
        self._enqueue(request_for(obj), low_priority=False)

    def _enqueue(self, request: Request, *, low_priority: bool) -> None:
        if self._queue is not None:
            self._queue.add(request, low_priority=low_priority)

    # Workers.

    async def _worker(self) -> None:
        queue = self.queue
        assert self._metrics is not None
        active = self._metrics.active_workers.labels(self.name)
        while True:
            try:
                request = await queue.get()
            except ShutDown:
                return
            try:
                if queue.shutting_down:
                    continue  # stop taking work: a shut-down controller drops what is still queued
                active.inc()
                try:
                    await self._reconcile_handler(request)
                finally:
                    active.dec()
            finally:
                queue.done(request)

    async def _reconcile_handler(self, request: Request) -> None:
        assert self._metrics is not None
        metrics, queue, name = self._metrics, self.queue, self.name
        with reconcile_context(name, request.namespace, request.name):
            started = self._clock.now()
            try:
                result = await self._reconciler(request)
            except TerminalError as exc:
                metrics.terminal_reconcile_errors.labels(name).inc()
                self._count_error()
                log.error("Reconciler error", error=str(exc), terminal=True)
                return
            except self.errors as exc:
                queue.add_rate_limited(request)
                self._count_error()
                log.error("Reconciler error", error=f"{type(exc).__name__}: {exc}")
                return
            except Exception as exc:
                metrics.reconcile_panics.labels(name).inc()
                queue.add_rate_limited(request)
                self._count_error()
                log.error("Observed a panic", error=f"panic: {exc!r} [recovered]", exc_info=True)
                return
            finally:
                metrics.reconcile_time.labels(name).observe(max(self._clock.now() - started, 0.0))
            result = result or Result()
            if result.requeue_after > 0:
                queue.forget(request)
                queue.add_after(request, result.requeue_after)
                metrics.reconcile_total.labels(name, "requeue_after").inc()
            elif result.requeue:
                queue.add_rate_limited(request)
                metrics.reconcile_total.labels(name, "requeue").inc()
            else:
                queue.forget(request)
                metrics.reconcile_total.labels(name, "success").inc()
            log.debug("Reconcile successful", requeue=result.requeue, requeue_after=result.requeue_after)

    def _count_error(self) -> None:
        assert self._metrics is not None
        self._metrics.reconcile_errors.labels(self.name).inc()
        self._metrics.reconcile_total.labels(self.name, "error").inc()


def _resource_version(obj: Any) -> str | None:
    if isinstance(obj, Mapping):
        version = (obj.get("metadata") or {}).get("resourceVersion")
        return str(version) if version is not None else None
    return None
