"""Event-source filters (controller-runtime's predicates) shared by our controllers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from smk8s.manager.controller import EventSource, Registration


class GenerationChanged:
    """An event source passing on updates only when generation or metadata changed (not status-only writes)."""

    def __init__(self, source: EventSource) -> None:
        self.source = source

    def add_event_handler(
        self,
        on_add: Callable[[Any], None] | None = None,
        on_update: Callable[[Any, Any], None] | None = None,
        on_delete: Callable[[Any], None] | None = None,
    ) -> Registration:
        def update(old: Any, new: Any) -> None:
            if on_update is not None and _interesting(old) != _interesting(new):
                on_update(old, new)

        return self.source.add_event_handler(on_add, update, on_delete)

    def has_synced(self) -> bool:
        return self.source.has_synced()

    async def wait_for_sync(self) -> bool:
        return await self.source.wait_for_sync()


def _interesting(obj: Any) -> tuple[Any, ...]:
    meta = obj.get("metadata") or {} if isinstance(obj, dict) else {}
    return (meta.get("generation"), meta.get("deletionTimestamp"), meta.get("finalizers"), meta.get("annotations"),
            meta.get("labels"))
