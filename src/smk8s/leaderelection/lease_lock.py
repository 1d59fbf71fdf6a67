"""The lock leader election contends for: a ``coordination.k8s.io/v1`` Lease, as client-go's ``leaselock.go``.

A :class:`LeaderElectionRecord` is the lock's content; it maps onto the Lease spec field by field
(``holderIdentity``, ``leaseDurationSeconds``, ``acquireTime``, ``renewTime``, ``leaseTransitions``).

:class:`LeaseLock` contract (the :class:`ResourceLock` protocol), for one elector at a time:

- :meth:`~LeaseLock.get` reads the Lease and remembers it; raises :class:`LockNotFoundError` if there is none.
- :meth:`~LeaseLock.create` creates it (409 AlreadyExists if another elector was first).
- :meth:`~LeaseLock.update` replaces the spec of the Lease last read or written, sending its resourceVersion:
  optimistic concurrency, so a write based on a stale read fails with 409 Conflict instead of overwriting a
  newer holder. It refuses to run before a ``get`` or ``create``.

The record's timestamps are informational (wall clock); electors never compare them (see :mod:`.elector`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

from smk8s.kube.client import request_json
from smk8s.kube.resources import is_not_found


class LockNotFoundError(Exception):
    """The lock object does not exist yet."""


@dataclass(frozen=True)
class LeaderElectionRecord:
    """Who holds the lock, for how long, since when; compared whole to detect any change."""

    holder_identity: str = ""
    lease_duration_seconds: int = 0
    acquire_time: dt.datetime | None = None
    renew_time: dt.datetime | None = None
    leader_transitions: int = 0


class ResourceLock(Protocol):
    """What the elector needs of a lock (client-go ``resourcelock.Interface``)."""

    @property
    def identity(self) -> str: ...

    def describe(self) -> str: ...

    async def get(self) -> LeaderElectionRecord: ...

    async def create(self, record: LeaderElectionRecord) -> None: ...

    async def update(self, record: LeaderElectionRecord) -> None: ...


def _format_micro(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_micro(text: Any) -> dt.datetime | None:
    if not text:
        return None
    return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))


def record_from_lease_spec(spec: dict[str, Any]) -> LeaderElectionRecord:
    return LeaderElectionRecord(
        holder_identity=str(spec.get("holderIdentity") or ""),
        lease_duration_seconds=int(spec.get("leaseDurationSeconds") or 0),
        acquire_time=_parse_micro(spec.get("acquireTime")),
        renew_time=_parse_micro(spec.get("renewTime")),
        leader_transitions=int(spec.get("leaseTransitions") or 0),
    )


def lease_spec_from_record(record: LeaderElectionRecord) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "holderIdentity": record.holder_identity,
        "leaseDurationSeconds": record.lease_duration_seconds,
        "acquireTime": _format_micro(record.acquire_time),
        "renewTime": _format_micro(record.renew_time),
        "leaseTransitions": record.leader_transitions,
    }
    return {k: v for k, v in spec.items() if v is not None}


class LeaseLock:
    """A Lease ``namespace/name`` used as the lock by the elector called ``identity`` (module contract)."""

    def __init__(self, api: Any, namespace: str, name: str, identity: str, *, request_timeout: float | None = None):
        self.api = api
        self.namespace = namespace
        self.name = name
        self._identity = identity
        self.request_timeout = request_timeout
        self._lease: dict[str, Any] | None = None

    @property
    def identity(self) -> str:
        return self._identity

    def describe(self) -> str:
        return f"{self.namespace}/{self.name}"

    def _path(self, with_name: bool = True) -> str:
        path = f"/apis/coordination.k8s.io/v1/namespaces/{quote(self.namespace, safe='')}/leases"
        return f"{path}/{quote(self.name, safe='')}" if with_name else path

    async def get(self) -> LeaderElectionRecord:
        try:
            lease = await request_json(self.api, "GET", self._path(), request_timeout=self.request_timeout)
        except Exception as exc:
            if is_not_found(exc):
                raise LockNotFoundError(self.describe()) from exc
            raise
        self._lease = lease
        return record_from_lease_spec(lease.get("spec") or {})

    async def create(self, record: LeaderElectionRecord) -> None:
        body = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": self.name, "namespace": self.namespace},
            "spec": lease_spec_from_record(record),
        }
        self._lease = await request_json(
            self.api, "POST", self._path(with_name=False), body=body, request_timeout=self.request_timeout
        )

    async def update(self, record: LeaderElectionRecord) -> None:
        if self._lease is None:
            raise RuntimeError("lease not initialized: call get or create first")
        body = {**self._lease, "spec": lease_spec_from_record(record)}
        self._lease = await request_json(self.api, "PUT", self._path(), body=body, request_timeout=self.request_timeout)
