"""The manager: HTTP servers, shared informers, leader election and controllers, started and stopped in order.

Modelled on controller-runtime's ``pkg/manager``. :meth:`Manager.run` does, in order:

1. the metrics server (``/metrics`` from the manager's own registry) and the probe server (``/healthz`` answers ok
   as soon as it listens; ``/readyz`` once every informer has synced) — on every replica, leader or not;
2. starts the shared informers and waits for them to sync (at most ``cache_sync_timeout``);
3. with leader election, campaigns for the lease and starts the controllers once it leads; without, starts them
   at once.

Stopping:

- :meth:`Manager.stop` (the CLI calls it on the first SIGTERM/SIGINT) is graceful: every controller stops taking
  work, in-flight reconciles get ``graceful_shutdown_timeout`` seconds to finish (then are cancelled; a negative
  timeout waits forever, 0 not at all), then the lease is released, the informers and servers stop, and ``run``
  returns normally.
- Losing the lease is not graceful (as controller-runtime, "for safety"): controllers are cancelled at once, nothing
  is released, and ``run`` raises :class:`LeaderElectionLost` — the process must exit non-zero without delay.
- A controller failing to start (its cache never synced) makes ``run`` stop the others and raise that error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiohttp import web
from kubernetes_asyncio.client import ApiClient
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from smk8s.clock import Clock, RealClock
from smk8s.informers import SharedInformerFactory
from smk8s.leaderelection import LeaderElector, default_identity
from smk8s.manager.controller import Controller, ControllerMetrics

log = structlog.get_logger("smk8s.manager")


class LeaderElectionLost(Exception):
    """The manager was leading and lost the lease: exit the process non-zero now, without graceful shutdown."""


@dataclass(frozen=True)
class LeaderElectionOptions:
    """Where the Lease lives and client-go's timings (lease 15 s, renew deadline 10 s, retry 2 s)."""

    id: str
    namespace: str
    identity: str = field(default_factory=default_identity)
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    release_on_cancel: bool = True


def new_registry() -> CollectorRegistry:
    """A registry with the process, platform and GC collectors (controller-runtime registers process and Go ones)."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


def parse_bind_address(address: str) -> tuple[str | None, int] | None:
    """``host:port`` → ``(host, port)``; ``:port`` → all interfaces (``None``); ``""`` or ``"0"`` → disabled."""
    if address in ("", "0"):
        return None
    host, sep, port = address.rpartition(":")
    if not sep:
        raise ValueError(f"bind address {address!r} is not host:port")
    host = host.strip("[]")
    return (host or None), int(port)


class Checks:
    """Named health checks answered like controller-runtime's ``healthz`` handler.

    ``GET <path>`` runs every check: 200 ``ok`` when all pass, else 500 with one ``[+]name ok`` /
    ``[-]name failed: reason withheld`` line per check; ``?verbose`` lists them on success too, ``?exclude=name``
    skips one; ``GET <path>/<name>`` runs one check.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._checks: dict[str, Callable[[], bool]] = {}

    def add(self, name: str, check: Callable[[], bool]) -> None:
        self._checks[name] = check

    async def handle(self, request: web.Request) -> web.Response:
        name = request.match_info.get("name")
        if name is not None:
            if name not in self._checks:
                raise web.HTTPNotFound()
            if self._checks[name]():
                return web.Response(text="ok")
            return web.Response(text="internal server error: reason withheld", status=500)
        excluded = set(request.query.getall("exclude", []))
        results = [(check, fn()) for check, fn in self._checks.items() if check not in excluded]
        lines = [f"[+]{check} ok" if ok else f"[-]{check} failed: reason withheld" for check, ok in results]
        if all(ok for _, ok in results):
            if "verbose" in request.query:
                return web.Response(text="\n".join([*lines, f"{self.kind} check passed"]) + "\n")
            return web.Response(text="ok")
        return web.Response(text="\n".join([*lines, f"{self.kind} check failed"]) + "\n", status=500)


class Manager:
    """Runs controllers over shared informers with metrics, probes and leader election (see the module doc).

    Build it, get informers from :attr:`informers` and add controllers with :meth:`add_controller` (all before
    :meth:`run`), then await :meth:`run` once.
    """

    def __init__(
        self,
        api: ApiClient,
        *,
        metrics_bind_address: str = "127.0.0.1:8080",
        health_probe_bind_address: str = ":8081",
        leader_election: LeaderElectionOptions | None = None,
        namespaces: Sequence[str] | None = None,
        registry: CollectorRegistry | None = None,
        graceful_shutdown_timeout: float = 30.0,
        cache_sync_timeout: float = 120.0,
        clock: Clock | None = None,
    ) -> None:
        self.api = api
        self.leader_election = leader_election
        self.graceful_shutdown_timeout = graceful_shutdown_timeout
        self.cache_sync_timeout = cache_sync_timeout
        self.clock: Clock = clock or RealClock()
        self.registry = registry if registry is not None else new_registry()
        self.controller_metrics = ControllerMetrics(self.registry)
        self.informers = SharedInformerFactory(api, namespaces=namespaces, clock=self.clock)
        self.healthz = Checks("healthz")
        self.readyz = Checks("readyz")
        self.healthz.add("ping", lambda: True)
        self.readyz.add("informers", self.informers_synced)
        self.metrics_address: tuple[str, int] | None = None
        """Where the metrics server listens, once it does."""
        self.probe_address: tuple[str, int] | None = None
        """Where the probe server listens, once it does."""
        self._metrics_bind = parse_bind_address(metrics_bind_address)
        self._probe_bind = parse_bind_address(health_probe_bind_address)
        self._controllers: list[Controller] = []
        self._controller_tasks: list[asyncio.Task[None]] = []
        self._runners: list[web.AppRunner] = []
        self._elector: LeaderElector | None = None
        self._stop = asyncio.Event()
        self._lost = asyncio.Event()
        self._wake = asyncio.Event()  # set whenever something _until_stopped watches may have changed
        self._stopping = False
        self._synced = False
        self._leading = False
        self._started = False

    # Building.

    def add_controller(self, controller: Controller) -> None:
        if self._started:
            raise RuntimeError("controllers are added before the manager runs")
        self._controllers.append(controller)

    # State, for probes and callers.

    def informers_synced(self) -> bool:
        return self._synced

    @property
    def is_leader(self) -> bool:
        """True while this replica runs the controllers (always, once synced, without leader election)."""
        return self._leading

    def stop(self) -> None:
        """Begin a graceful shutdown (idempotent; safe from a signal handler on the manager's loop)."""
        self._stop.set()
        self._wake.set()

    # Running.

    async def run(self) -> None:
        """Run until :meth:`stop` (returns) or the lease is lost (raises :class:`LeaderElectionLost`)."""
        if self._started:
            raise RuntimeError("a manager runs once")
        self._started = True
        lost = False
        try:
            await self._start_servers()
            if await self._sync_informers():
                await self._elect_and_run()
                lost = self._lost.is_set() and not self._stopping
        finally:
            await self._teardown(graceful=not lost)
        if lost:
            raise LeaderElectionLost("leader election lost")

    async def _start_servers(self) -> None:
        if self._metrics_bind is not None:
            app = web.Application()
            app.router.add_get("/metrics", self._serve_metrics)
            self.metrics_address = await self._serve(app, self._metrics_bind)
            log.info("Starting metrics server", address=_format(self.metrics_address))
        if self._probe_bind is not None:
            app = web.Application()
            for path, checks in (("/healthz", self.healthz), ("/readyz", self.readyz)):
                app.router.add_get(path, checks.handle)
                app.router.add_get(path + "/{name}", checks.handle)
            self.probe_address = await self._serve(app, self._probe_bind)
            log.info("Starting health probe server", address=_format(self.probe_address))

    async def _serve(self, app: web.Application, bind: tuple[str | None, int]) -> tuple[str, int]:
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        self._runners.append(runner)
        site = web.TCPSite(runner, bind[0], bind[1])
        await site.start()
        host, port = runner.addresses[0][:2]
        return str(host), int(port)

    async def _serve_metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(self.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _sync_informers(self) -> bool:
        """Start every informer and wait until all have synced; False if stopped meanwhile."""
        self.informers.start()
        log.info("Waiting for caches to sync")
        sync = asyncio.ensure_future(self.informers.wait_for_cache_sync())
        if not await self._until(sync, limit=self.cache_sync_timeout):
            if self._stop.is_set():
                return False
            raise TimeoutError("timed out waiting for caches to sync")
        if not sync.result():
            raise RuntimeError("an informer stopped before its cache synced")
        self._synced = True
        log.info("Caches synced")
        return True

    async def _elect_and_run(self) -> None:
        options = self.leader_election
        if options is None:
            self._start_controllers()
            await self._until_stopped()
            return
        self._elector = LeaderElector(
            self.api,
            namespace=options.namespace,
            name=options.id,
            identity=options.identity,
            lease_duration=options.lease_duration,
            renew_deadline=options.renew_deadline,
            retry_period=options.retry_period,
            clock=self.clock,
            on_started_leading=self._on_started_leading,
            on_stopped_leading=self._on_stopped_leading,
            release_on_cancel=options.release_on_cancel,
            registry=self.registry,
        )
        log.info("Attempting to acquire leader lease", lease=f"{options.namespace}/{options.id}",
                 identity=options.identity)
        elector = asyncio.create_task(self._elector.run(), name="leader-elector")
        try:
            await self._until_stopped(elector)
        finally:
            if not elector.done() and not self._lost.is_set():
                await self._stop_controllers()  # all guarded work stops before the lease is released
            elector.cancel()
            await asyncio.gather(elector, return_exceptions=True)

    def _on_started_leading(self, *_: Any) -> None:
        log.info("Successfully acquired lease", identity=self.leader_election.identity if self.leader_election else "")
        self._start_controllers()

    def _on_stopped_leading(self, *_: Any) -> None:
        if not self._stopping and not self._stop.is_set():
            log.error("Leader election lost")
            self._lost.set()
            self._wake.set()

    def _start_controllers(self) -> None:
        if self._stopping or self._stop.is_set() or self._controller_tasks:
            return
        self._leading = True
        for controller in self._controllers:
            log.info("Starting Controller", controller=controller.name)
            task = asyncio.create_task(controller.run(metrics=self.controller_metrics), name=controller.name)
            task.add_done_callback(lambda _: self._wake.set())
            self._controller_tasks.append(task)

    async def _until_stopped(self, elector: asyncio.Task[None] | None = None) -> None:
        """Wait for a stop request, a lost lease, the elector ending, or a controller failing (raised)."""
        if elector is not None:
            elector.add_done_callback(lambda _: self._wake.set())
        while True:
            self._wake.clear()
            for task in self._controller_tasks:
                if task.done() and not task.cancelled() and (error := task.exception()) is not None:
                    raise error
            if self._stop.is_set() or self._lost.is_set():
                return
            if elector is not None and elector.done():
                log.error("Leader election ended unexpectedly")
                self._lost.set()
                return
            await self._wake.wait()

    async def _stop_controllers(self) -> None:
        """Graceful: stop taking work, wait for in-flight reconciles up to the timeout, then cancel the rest."""
        self._stopping = True
        if not self._controller_tasks:
            return
        log.info("Stopping and waiting for controllers", timeout=self.graceful_shutdown_timeout)
        for controller in self._controllers:
            controller.shutdown()
        running = asyncio.ensure_future(asyncio.gather(*self._controller_tasks, return_exceptions=True))
        timeout = self.graceful_shutdown_timeout
        if not await self._until(running, limit=None if timeout < 0 else timeout):
            log.error("failed waiting for all runnables to end within grace period", timeout=timeout)
        await self._cancel_controllers()
        self._leading = False

    async def _cancel_controllers(self) -> None:
        for task in self._controller_tasks:
            task.cancel()
        await asyncio.gather(*self._controller_tasks, return_exceptions=True)

    async def _teardown(self, *, graceful: bool) -> None:
        if graceful:
            await self._stop_controllers()
        else:
            self._stopping = True
            await self._cancel_controllers()
            self._leading = False
        await self.informers.shutdown()
        for runner in reversed(self._runners):
            await runner.cleanup()
        log.info("Manager stopped", graceful=graceful)

    async def _until(self, work: asyncio.Future[Any], *, limit: float | None) -> bool:
        """Wait for ``work`` (at most ``limit`` clock seconds; ``None``: no limit) or a stop request.

        True if ``work`` finished; otherwise ``work`` is cancelled.
        """
        waiters: set[asyncio.Future[Any]] = {work}
        timer = asyncio.ensure_future(self.clock.sleep(limit)) if limit is not None else None
        if timer is not None:
            waiters.add(timer)
        stop = asyncio.ensure_future(self._stop.wait()) if not self._stop.is_set() else None
        if stop is not None:
            waiters.add(stop)
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in (timer, stop):
                if waiter is not None:
                    waiter.cancel()
        if not work.done():
            work.cancel()
            await asyncio.gather(work, return_exceptions=True)
            return False
        return True


def _format(address: tuple[str, int] | None) -> str:
    if address is None:
        return ""
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
