"""An in-memory lock store for elector tests: every wait is on the FakeClock, so timing is exact.

Each elector gets its own :class:`FakeLock` (its own view and connection) onto one shared :class:`FakeLeaseStore`.
A lock can be ``partitioned`` (calls made meanwhile never answer: they hang until the elector gives up on them) or
``failing`` (calls raise at once). Writes use the same optimistic concurrency as the API server.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from smk8s.leaderelection import LeaderElectionRecord, LockNotFoundError


class Conflict(Exception):
    pass


@dataclass
class FakeLeaseStore:
    record: LeaderElectionRecord | None = None
    version: int = 0
    writes: list[tuple[str, LeaderElectionRecord]] = field(default_factory=list)


class FakeLock:
    def __init__(self, store: FakeLeaseStore, identity: str) -> None:
        self.store = store
        self._identity = identity
        self._version: int | None = None
        self.partitioned = False
        self.failing = False
        self.calls = 0

    @property
    def identity(self) -> str:
        return self._identity

    def describe(self) -> str:
        return "default/fake"

    async def _network(self) -> None:
        self.calls += 1
        await asyncio.sleep(0)  # let concurrent electors interleave
        if self.partitioned:
            await asyncio.get_running_loop().create_future()  # never answered
        if self.failing:
            raise ConnectionError("injected failure")

    async def get(self) -> LeaderElectionRecord:
        await self._network()
        if self.store.record is None:
            raise LockNotFoundError(self.describe())
        self._version = self.store.version
        return self.store.record

    async def create(self, record: LeaderElectionRecord) -> None:
        await self._network()
        if self.store.record is not None:
            raise Conflict("already exists")
        self._write(record)

    async def update(self, record: LeaderElectionRecord) -> None:
        await self._network()
        if self._version is None:
            raise RuntimeError("get first")
        if self._version != self.store.version:
            raise Conflict("stale")
        self._write(record)

    def _write(self, record: LeaderElectionRecord) -> None:
        self.store.version += 1
        self.store.record = record
        self.store.writes.append((self._identity, record))
        self._version = self.store.version
