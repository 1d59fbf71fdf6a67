"""A scripted ListerWatcher for reflector and informer tests: each list and watch call takes the next scripted answer.

List answers are :class:`ListPage` or an exception to raise. Watch answers are an exception (raised when the watch
is opened) or a :class:`FakeWatch` the test feeds events into and ends. When a script runs out, the call blocks until
the test scripts more (so a test can look at the state between steps). Everything runs on the test's loop with a
FakeClock: ``await clock.settle()`` lets the reflector run as far as it can.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from smk8s.informers import ListPage, WatchEvent

Object = dict[str, Any]


def obj(name: str, rv: int | str, namespace: str | None = "ns", **extra: Any) -> Object:
    meta: Object = {"name": name, "resourceVersion": str(rv)}
    if namespace:
        meta["namespace"] = namespace
    meta.update(extra.pop("metadata", {}))
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, **extra}


class FakeWatch:
    """One watch stream: ``send`` events, ``close`` to end it normally."""

    def __init__(self, *events: WatchEvent) -> None:
        self._queue: asyncio.Queue[WatchEvent | None] = asyncio.Queue()
        for event in events:
            self.send(event)

    def send(self, event: WatchEvent) -> FakeWatch:
        self._queue.put_nowait(event)
        return self

    def event(self, type_: str, o: Object) -> FakeWatch:
        return self.send(WatchEvent(type_, o))

    def close(self) -> FakeWatch:
        self._queue.put_nowait(None)
        return self

    async def events(self) -> AsyncIterator[WatchEvent]:
        while (event := await self._queue.get()) is not None:
            yield event


@dataclass
class ListCall:
    resource_version: str
    limit: int
    continue_token: str


@dataclass
class WatchCall:
    resource_version: str
    timeout_seconds: int
    at: float


@dataclass
class ScriptedListerWatcher:
    clock: Any = None
    namespace: str | None = None
    list_answers: deque[ListPage | Exception] = field(default_factory=deque)
    watch_answers: deque[FakeWatch | Exception] = field(default_factory=deque)
    list_calls: list[ListCall] = field(default_factory=list)
    list_times: list[float] = field(default_factory=list)
    watch_calls: list[WatchCall] = field(default_factory=list)
    _scripted: asyncio.Event = field(default_factory=asyncio.Event)

    def on_list(self, *answers: ListPage | Exception) -> ScriptedListerWatcher:
        self.list_answers.extend(answers)
        self._scripted.set()
        return self

    def on_watch(self, *answers: FakeWatch | Exception) -> ScriptedListerWatcher:
        self.watch_answers.extend(answers)
        self._scripted.set()
        return self

    async def _next(self, answers: deque[Any]) -> Any:
        while not answers:
            self._scripted.clear()
            await self._scripted.wait()
        return answers.popleft()

    async def list(self, *, resource_version: str, limit: int, continue_token: str) -> ListPage:
        self.list_calls.append(ListCall(resource_version, limit, continue_token))
        self.list_times.append(self.clock.now() if self.clock else 0.0)
        answer = await self._next(self.list_answers)
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, ListPage)
        return answer

    @asynccontextmanager
    async def watch(self, *, resource_version: str, timeout_seconds: int) -> AsyncIterator[AsyncIterator[WatchEvent]]:
        self.watch_calls.append(WatchCall(resource_version, timeout_seconds, self.clock.now() if self.clock else 0))
        answer = await self._next(self.watch_answers)
        if isinstance(answer, Exception):
            raise answer
        yield answer.events()
