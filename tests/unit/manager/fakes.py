"""Test doubles for the manager's unit tests."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from smk8s.informers import DeletedFinalStateUnknown

Obj = dict[str, Any]


@dataclass
class _Registration:
    source: FakeSource
    handlers: tuple[Any, Any, Any]

    def remove(self) -> None:
        self.source.registrations.remove(self)


@dataclass
class FakeSource:
    """An informer double: objects by key; handlers get events synchronously; a new handler gets the cache first."""

    objects: dict[str, Obj] = field(default_factory=dict)
    registrations: list[_Registration] = field(default_factory=list)
    synced: asyncio.Event = field(default_factory=asyncio.Event)
    version: int = 0

    def add_event_handler(self, on_add: Any = None, on_update: Any = None, on_delete: Any = None) -> _Registration:
        registration = _Registration(self, (on_add, on_update, on_delete))
        for obj in list(self.objects.values()):
            on_add(obj)
        self.registrations.append(registration)
        return registration

    def has_synced(self) -> bool:
        return self.synced.is_set()

    async def wait_for_sync(self) -> bool:
        await self.synced.wait()
        return True

    def apply(self, name: str, namespace: str = "default") -> None:
        """Create or change an object (a new resourceVersion), as a watch event would."""
        self.version += 1
        key = f"{namespace}/{name}" if namespace else name
        new = {"metadata": {"name": name, "namespace": namespace, "resourceVersion": str(self.version)}}
        old = self.objects.get(key)
        self.objects[key] = new
        for registration in list(self.registrations):
            on_add, on_update, _ = registration.handlers
            on_update(old, new) if old is not None else on_add(new)

    def resync(self) -> None:
        for obj in self.objects.values():
            for registration in list(self.registrations):
                registration.handlers[1](obj, obj)

    def delete(self, name: str, namespace: str = "default", *, missed: bool = False) -> None:
        key = f"{namespace}/{name}" if namespace else name
        obj = self.objects.pop(key)
        event: Any = DeletedFinalStateUnknown(key, obj) if missed else obj
        for registration in list(self.registrations):
            registration.handlers[2](event)
