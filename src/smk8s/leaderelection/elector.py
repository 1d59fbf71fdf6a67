"""Leader election with client-go's algorithm (``tools/leaderelection/leaderelection.go``).

:class:`LeaderElector` contends for a lock (a Lease, :mod:`.lease_lock`) with other replicas:

1. **Acquire**: every ``retry_period`` with jitter 1.2 (so 2 to 4.4 s apart by default) it reads the lock. It takes
   the lock if there is none, if it is free (empty holder), or if the record has not changed for
   ``lease_duration`` seconds **as measured on this process's monotonic clock since it last saw the record
   change**. Remote timestamps are never compared, so clock offsets between nodes do not matter (clock *rates*
   must agree within about ``lease_duration / renew_deadline``). Writes use optimistic concurrency, so of two
   electors that try at once exactly one wins.
2. **Lead**: ``on_started_leading`` runs, then the record is renewed every ``retry_period``. A renewal that has
   not succeeded within ``renew_deadline`` (each request is cut off at that deadline, so a hung connection cannot
   stretch it) ends leadership: the gauge drops to 0 and :meth:`LeaderElector.run` returns. The worst case is
   ``retry_period + renew_deadline`` (12 s) after the last successful renewal, before any standby can take over
   (``lease_duration``, 15 s, after it *observed* that renewal).
3. **Release**: when :meth:`~LeaderElector.run` is cancelled while leading and ``release_on_cancel`` is set, it
   writes an empty holder with ``leaseDurationSeconds: 1`` (retrying for up to ``renew_deadline``), so a standby
   takes over at its next retry instead of waiting out the lease. Only safe once the guarded work has stopped.

There is no fencing (as in client-go): these timings make two simultaneous leaders impossible only while the
request latency of a renewal stays below ``lease_duration - renew_deadline - retry_period`` (3 s by default) and
clocks tick at the same rate.

Callbacks may be plain functions or coroutine functions. ``on_started_leading`` runs as a task that is cancelled
when leadership ends; ``on_stopped_leading`` always runs when :meth:`~LeaderElector.run` ends, even if leadership
was never won; ``on_new_leader(identity)`` runs whenever the observed holder changes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import random
import socket
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog
from prometheus_client import CollectorRegistry, Gauge

from smk8s.clock import Clock, RealClock
from smk8s.kube.resources import is_already_exists
from smk8s.leaderelection.lease_lock import LeaderElectionRecord, LeaseLock, LockNotFoundError, ResourceLock

T = TypeVar("T")

JITTER_FACTOR = 1.2
log = structlog.get_logger("smk8s.leaderelection")


def default_identity() -> str:
    """``hostname_uuid``, as controller-runtime names a candidate."""
    return f"{socket.gethostname()}_{uuid.uuid4()}"


class LeaderElectionMetrics:
    """``leader_election_master_status{name}``: 1 while this process leads the lease ``name``, 0 otherwise."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.status = Gauge(
            "leader_election_master_status",
            "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates "
            "master. 'name' is the string used to identify the lease. Please make sure to group by name.",
            ["name"],
            registry=registry,
        )

    def set(self, name: str, leading: bool) -> None:
        self.status.labels(name=name).set(1 if leading else 0)


class _Timeout(Exception):
    pass


async def _within(clock: Clock, seconds: float, awaitable: Awaitable[T]) -> T:
    """Await ``awaitable``, cancelling it once ``seconds`` have passed on ``clock`` (then raises ``_Timeout``)."""
    task = asyncio.ensure_future(awaitable)
    fired = False

    def expire() -> None:
        nonlocal fired
        fired = True
        task.cancel()

    handle = clock.call_at(clock.now() + max(seconds, 0.0), expire)
    try:
        return await task
    except asyncio.CancelledError:
        if fired and not _cancelling():
            raise _Timeout() from None
        raise
    finally:
        handle.cancel()


def _cancelling() -> bool:
    current = asyncio.current_task()
    return current is not None and current.cancelling() > 0


class LeaderElector:
    """One candidate for the lock ``namespace/name`` (module docstring for the algorithm and guarantees).

    Run it with ``await elector.run()`` from one task; cancel that task to stop (and release). ``run`` returns
    normally only when leadership was lost, which callers must treat as fatal (controller-runtime exits).
    """

    def __init__(
        self,
        api: Any,
        *,
        namespace: str,
        name: str,
        identity: str,
        lease_duration: float = 15,
        renew_deadline: float = 10,
        retry_period: float = 2,
        clock: Clock | None = None,
        on_started_leading: Callable[[], Any] | None = None,
        on_stopped_leading: Callable[[], Any] | None = None,
        on_new_leader: Callable[[str], Any] | None = None,
        release_on_cancel: bool = True,
        registry: CollectorRegistry | None = None,
        lock: ResourceLock | None = None,
        rng: random.Random | None = None,
        wall_clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        if not (lease_duration > renew_deadline > JITTER_FACTOR * retry_period > 0):
            raise ValueError("need lease_duration > renew_deadline > 1.2 * retry_period > 0")
        self.name = name
        self.identity = identity
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.request_timeout = max(renew_deadline / 2, 1.0)  # controller-runtime's leader-election client timeout
        self.clock: Clock = clock or RealClock()
        self.lock: ResourceLock = lock or LeaseLock(api, namespace, name, identity)
        self.release_on_cancel = release_on_cancel
        self.metrics = LeaderElectionMetrics(registry)
        self._on_started = on_started_leading
        self._on_stopped = on_stopped_leading
        self._on_new_leader = on_new_leader
        self._rng = rng or random.Random()
        self._wall = wall_clock or (lambda: dt.datetime.now(dt.UTC))
        self._observed = LeaderElectionRecord()
        self._observed_time = float("-inf")
        self._reported_leader: str | None = None
        self._leading_task: asyncio.Task[Any] | None = None

    # -- state --------------------------------------------------------------------------------------------------

    @property
    def is_leader(self) -> bool:
        """True while the last record this elector observed (or wrote) names it as the holder."""
        return bool(self._observed.holder_identity) and self._observed.holder_identity == self.identity

    @property
    def observed_record(self) -> LeaderElectionRecord:
        return self._observed

    def _observe(self, record: LeaderElectionRecord) -> None:
        self._observed = record
        self._observed_time = self.clock.now()

    def _lease_valid(self, now: float) -> bool:
        return self._observed_time + self._observed.lease_duration_seconds > now

    # -- run ----------------------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Acquire, lead until leadership is lost (then return) or the task is cancelled (then release, re-raise)."""
        self.metrics.set(self.name, False)
        try:
            await self._acquire()
            self.metrics.set(self.name, True)
            log.info("acquired lease", lease=self.lock.describe(), identity=self.identity)
            self._start_leading()
            try:
                await self._renew()
            except asyncio.CancelledError:
                # Finish the hand-over before propagating: lift the cancellation so our own timeouts still work.
                current = asyncio.current_task()
                if current is not None:
                    current.uncancel()
                await self._stop_leading()
                if self.release_on_cancel:
                    await self._release()
                raise
            log.error("failed to renew lease: leadership lost", lease=self.lock.describe(), identity=self.identity)
        finally:
            self.metrics.set(self.name, False)
            await self._stop_leading()
            await _maybe_await(self._on_stopped() if self._on_stopped else None)

    async def _acquire(self) -> None:
        """Try every retry period (jittered) until the lock is ours; cancellation propagates."""
        log.info("attempting to acquire lease", lease=self.lock.describe(), identity=self.identity)
        while True:
            acquired = await self._attempt(self.request_timeout)
            await self._report_transition()
            if acquired:
                return
            await self.clock.sleep(self.retry_period * (1 + self._rng.random() * JITTER_FACTOR))

    async def _renew(self) -> None:
        """Renew every retry period; return when a renewal window of ``renew_deadline`` passes without success."""
        while True:
            deadline = self.clock.now() + self.renew_deadline
            renewed = False
            while not renewed:
                remaining = deadline - self.clock.now()
                if remaining <= 0:
                    return
                renewed = await self._attempt(min(remaining, self.request_timeout))
                await self._report_transition()
                if not renewed:
                    await self.clock.sleep(min(self.retry_period, max(deadline - self.clock.now(), 0.0)))
            await self.clock.sleep(self.retry_period)

    async def _attempt(self, limit: float) -> bool:
        """One ``tryAcquireOrRenew``, cut off after ``limit`` seconds on the clock; any failure counts as a no."""
        try:
            return await _within(self.clock, limit, self._try_acquire_or_renew())
        except _Timeout:
            log.warning("lease request timed out", lease=self.lock.describe())
            return False
        except LockNotFoundError:
            return False
        except Exception as exc:
            if not is_already_exists(exc):
                log.warning("lease request failed", lease=self.lock.describe(), error=str(exc))
            return False

    async def _try_acquire_or_renew(self) -> bool:
        now_wall = self._wall()
        record = LeaderElectionRecord(
            holder_identity=self.identity,
            lease_duration_seconds=int(self.lease_duration),
            acquire_time=now_wall,
            renew_time=now_wall,
        )
        # 1. Fast path: the leader renews from what it last wrote, without reading first.
        if self.is_leader and self._lease_valid(self.clock.now()):
            renewal = _keep_tenure(record, self._observed)
            try:
                await self.lock.update(renewal)
            except Exception as exc:
                log.info("optimistic renewal failed, falling back to a read", error=str(exc))
            else:
                self._observe(renewal)
                return True
        # 2. Read the record, or create it.
        try:
            current = await self.lock.get()
        except LockNotFoundError:
            await self.lock.create(record)
            self._observe(record)
            return True
        # 3. Expiry is judged only on our clock, from when we last saw the record change.
        if current != self._observed:
            self._observe(current)
        if current.holder_identity and self._lease_valid(self.clock.now()) and not self.is_leader:
            return False
        # 4. Take (or keep) it.
        record = _keep_tenure(record, current) if self.is_leader else _new_tenure(record, current)
        await self.lock.update(record)
        self._observe(record)
        return True

    async def _release(self) -> None:
        """Hand the lock back (empty holder, 1 s lease), retrying for up to ``renew_deadline``."""
        deadline = self.clock.now() + self.renew_deadline
        while self.clock.now() < deadline:
            timeout = min(self.request_timeout, deadline - self.clock.now())
            try:
                if await _within(self.clock, timeout, self._try_release()):
                    log.info("released lease", lease=self.lock.describe(), identity=self.identity)
                    return
            except Exception as exc:
                log.warning("failed to release lease", lease=self.lock.describe(), error=str(exc))
            await self.clock.sleep(min(self.retry_period, max(deadline - self.clock.now(), 0.0)))

    async def _try_release(self) -> bool:
        current = await self.lock.get()
        if current.holder_identity != self.identity:
            self._observe(current)
            return True  # not ours (any more): nothing to release
        now_wall = self._wall()
        released = LeaderElectionRecord(
            holder_identity="",
            lease_duration_seconds=1,
            acquire_time=now_wall,
            renew_time=now_wall,
            leader_transitions=current.leader_transitions,
        )
        await self.lock.update(released)
        self._observe(released)
        return True

    # -- callbacks ----------------------------------------------------------------------------------------------

    def _start_leading(self) -> None:
        if self._on_started is None:
            return
        result = self._on_started()
        if inspect.isawaitable(result):
            self._leading_task = asyncio.ensure_future(result)

    async def _stop_leading(self) -> None:
        task, self._leading_task = self._leading_task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _report_transition(self) -> None:
        holder = self._observed.holder_identity
        if holder == self._reported_leader:
            return
        self._reported_leader = holder
        if self._on_new_leader is not None:
            await _maybe_await(self._on_new_leader(holder))


def _keep_tenure(record: LeaderElectionRecord, previous: LeaderElectionRecord) -> LeaderElectionRecord:
    return LeaderElectionRecord(
        holder_identity=record.holder_identity,
        lease_duration_seconds=record.lease_duration_seconds,
        acquire_time=previous.acquire_time,
        renew_time=record.renew_time,
        leader_transitions=previous.leader_transitions,
    )


def _new_tenure(record: LeaderElectionRecord, previous: LeaderElectionRecord) -> LeaderElectionRecord:
    return LeaderElectionRecord(
        holder_identity=record.holder_identity,
        lease_duration_seconds=record.lease_duration_seconds,
        acquire_time=record.acquire_time,
        renew_time=record.renew_time,
        leader_transitions=previous.leader_transitions + 1,
    )


async def _maybe_await(result: Any) -> None:
    if inspect.isawaitable(result):
        await result
