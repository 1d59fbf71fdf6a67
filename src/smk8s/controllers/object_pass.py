"""What every reconcile pass of every controller holds: the object it works on, and how it stamps and reports; and
what every reconciler of a manager shares (:class:`ReconcilerDeps`).

A controller's pass (``_Pass`` in each reconciler module) subclasses :class:`ObjectPass`. The object is the one the
pass read from the cache, replaced by the server's answer after each write (:meth:`ObjectPass._replace`), so a
later write of the same pass is guarded by the resourceVersion it just got; ``meta``, ``spec``, ``status`` and
``generation`` always describe that object.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from smk8s.kube import CustomResourceClient, EventRecorder
from smk8s.sagemaker import SageMaker

Obj = dict[str, Any]


def _utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


@dataclass
class ReconcilerDeps:
    """What every reconciler of a manager shares: SageMaker access and the Event recorder (one per manager, from
    :class:`~smk8s.controllers.services.Services`), and the manager's flags that shape a pass.

    ``poll_interval`` is how often a changing SageMaker resource is described (the job controllers poll through
    their :class:`~smk8s.sagemaker.poller.Poller` instead); ``resync`` how often a settled object is checked
    anyway; ``wall_clock`` is injected so tests can fix time.
    """

    sagemaker: SageMaker
    events: EventRecorder
    deletion_policy: str = "delete"
    poll_interval: float = 30.0
    resync: float = 600.0
    wall_clock: Callable[[], datetime.datetime] = field(default=_utc_now)


class CachedObjectReconciler:
    """What every reconciler holds: the manager's shared :class:`ReconcilerDeps`, a client of its kind
    (``objects``: writes), and a reader of the kind's informer cache (``cached(namespace, name)``: the object, or
    None once it is gone)."""

    def __init__(self, deps: ReconcilerDeps, objects: CustomResourceClient,
                 cached: Callable[[str, str], Obj | None]) -> None:
        self.deps = deps
        self.objects = objects
        self.cached = cached


class ObjectPass:
    def __init__(self, obj: Obj, events: EventRecorder, wall_clock: Callable[[], datetime.datetime]) -> None:
        self._events = events
        self._wall_clock = wall_clock
        self._replace(obj)

    def _replace(self, obj: Obj) -> None:
        self.obj = obj
        self.meta: Obj = obj["metadata"]
        self.spec: Obj = obj.get("spec") or {}
        self.status: Obj = obj.get("status") or {}
        self.generation: int | None = self.meta.get("generation")

    def now(self) -> datetime.datetime:
        """The wall clock (injected: tests fix it)."""
        return self._wall_clock()

    def stamp(self) -> str:
        """Now as an RFC 3339 timestamp in seconds, as status times are written."""
        return self.now().astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def event(self, type_: str, reason: str, note: str) -> None:
        """Record an Event about the object (action = reason)."""
        self._events.eventf(self.obj, type_, reason, reason, note)
