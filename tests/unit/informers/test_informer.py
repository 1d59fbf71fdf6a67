"""The shared informer: handler semantics, relist tombstones, resync, sync gates, transform and indexes.

Driven by scripted lister-watchers (tests/unit/informers/fakes.py) on a fake clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from smk8s.clock import FakeClock
from smk8s.informers import (
    DeletedFinalStateUnknown,
    ListPage,
    SharedInformer,
    drop_fields,
    object_key,
    strip_managed_fields,
)
from tests.unit.informers.fakes import FakeWatch, ScriptedListerWatcher, obj

Object = dict[str, Any]
EXPIRED = {"kind": "Status", "code": 410, "reason": "Expired"}


class Recorder:
    """Handlers that log every call as a tuple and check they never hear of an object they were not told about."""

    def __init__(self, informer: SharedInformer | None = None) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.seen: set[str] = set()
        self.informer = informer

    def on_add(self, o: Object) -> None:
        key = object_key(o)
        assert key not in self.seen, f"add of {key} twice"
        if self.informer is not None:
            assert self.informer.store.get(key) is o, "the store is updated before handlers run"
        self.seen.add(key)
        self.calls.append(("add", o["metadata"]["name"], o["metadata"]["resourceVersion"]))

    def on_update(self, old: Object, new: Object) -> None:
        assert object_key(new) in self.seen, f"update of unseen {object_key(new)}"
        self.calls.append(("update", new["metadata"]["name"], old["metadata"]["resourceVersion"],
                           new["metadata"]["resourceVersion"]))

    def on_delete(self, o: Object | DeletedFinalStateUnknown) -> None:
        key = object_key(o)
        assert key in self.seen, f"delete of unseen {key}"
        self.seen.discard(key)
        if isinstance(o, DeletedFinalStateUnknown):
            self.calls.append(("tombstone", key, o.obj["metadata"]["resourceVersion"]))
        else:
            self.calls.append(("delete", o["metadata"]["name"], o["metadata"]["resourceVersion"]))

    def register(self, informer: SharedInformer) -> Recorder:
        informer.add_event_handler(self.on_add, self.on_update, self.on_delete)
        return self


class Harness:
    def __init__(self, *namespaces: str | None, resync_period: float = 0.0, **kwargs: Any) -> None:
        self.clock = FakeClock()
        self.lws = [ScriptedListerWatcher(clock=self.clock, namespace=ns) for ns in (namespaces or (None,))]
        self.lw = self.lws[0]
        self.informer = SharedInformer(self.lws, resync_period=resync_period, clock=self.clock, **kwargs)
        self.rec = Recorder(self.informer).register(self.informer)

    async def settle(self) -> None:
        await self.clock.settle(50)

    async def next_timer(self) -> None:
        deadline = self.clock.next_deadline()
        assert deadline is not None
        self.clock.advance_to(deadline)
        await self.settle()


@pytest.fixture
async def running() -> AsyncIterator[Callable[[Harness], None]]:
    tasks: list[asyncio.Task[None]] = []

    def start(h: Harness) -> None:
        tasks.append(h.informer.start())

    yield start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_handlers_get_adds_from_the_list_then_watch_events_in_order(running: Any) -> None:
    h = Harness()
    adds_before_sync: list[bool] = []
    h.informer.add_event_handler(on_add=lambda o: adds_before_sync.append(h.informer.has_synced()))
    watch = FakeWatch()
    h.lw.on_list(ListPage([obj("a", 1), obj("b", 2)], "5")).on_watch(watch)
    running(h)
    await h.settle()
    assert h.informer.has_synced() and adds_before_sync == [False, False]  # initial-list adds precede sync
    watch.event("MODIFIED", obj("a", 6)).event("ADDED", obj("c", 7)).event("DELETED", obj("b", 8))
    await h.settle()
    assert h.rec.calls == [
        ("add", "a", "1"), ("add", "b", "2"),
        ("update", "a", "1", "6"), ("add", "c", "7"), ("delete", "b", "8"),  # delete gets the final state
    ]
    assert sorted(h.informer.store.keys()) == ["ns/a", "ns/c"]


async def test_handlers_never_hear_of_objects_they_have_not_seen(running: Any) -> None:
    h = Harness()
    watch = FakeWatch()
    h.lw.on_list(ListPage([], "5")).on_watch(watch)
    running(h)
    watch.event("DELETED", obj("ghost", 6)).event("MODIFIED", obj("new", 7)).event("MODIFIED", obj("new", 8))
    await h.settle()
    assert h.rec.calls == [("add", "new", "7"), ("update", "new", "7", "8")]


async def test_a_relist_after_410_delivers_tombstones_for_deletes_missed_meanwhile(running: Any) -> None:
    h = Harness()
    watch = FakeWatch()
    h.lw.on_list(ListPage([obj("kept", 1), obj("changed", 2), obj("gone", 3)], "5")).on_watch(watch)
    running(h)
    await h.settle()
    watch.event("ERROR", EXPIRED)
    h.lw.on_list(ListPage([obj("kept", 1), obj("changed", 9), obj("new", 10)], "11")).on_watch(FakeWatch())
    await h.settle()
    await h.next_timer()  # the backoff before relisting
    assert h.rec.calls[3:] == [
        ("update", "changed", "2", "9"),  # unchanged "kept" is silent
        ("add", "new", "10"),
        ("tombstone", "ns/gone", "3"),  # with the last state the cache knew
    ]
    assert sorted(h.informer.store.keys()) == ["ns/changed", "ns/kept", "ns/new"]


async def test_a_namespace_scoped_relist_only_infers_deletes_in_its_namespace(running: Any) -> None:
    h = Harness("x", "y")
    x_watch = FakeWatch()
    h.lws[0].on_list(ListPage([obj("a", 1, "x")], "5")).on_watch(x_watch)
    h.lws[1].on_list(ListPage([obj("b", 2, "y")], "6")).on_watch(FakeWatch())
    running(h)
    await h.settle()
    assert h.informer.has_synced()
    x_watch.event("ERROR", EXPIRED)
    h.lws[0].on_list(ListPage([], "12")).on_watch(FakeWatch())
    await h.settle()
    await h.next_timer()
    assert h.rec.calls[2:] == [("tombstone", "x/a", "1")]
    assert h.informer.store.keys() == ["y/b"]


async def test_has_synced_waits_for_every_namespace(running: Any) -> None:
    h = Harness("x", "y")
    h.lws[0].on_list(ListPage([], "5")).on_watch(FakeWatch())
    running(h)
    await h.settle()
    assert not h.informer.has_synced()
    waiter = asyncio.ensure_future(h.informer.wait_for_sync())
    await h.settle()
    assert not waiter.done()
    h.lws[1].on_list(ListPage([], "6")).on_watch(FakeWatch())
    await h.settle()
    assert waiter.done() and waiter.result() is True


async def test_wait_for_sync_is_false_when_the_informer_stops_first() -> None:
    h = Harness()
    task = h.informer.start()
    waiter = asyncio.ensure_future(h.informer.wait_for_sync())
    await h.settle()
    h.informer.stop()
    await asyncio.gather(task, return_exceptions=True)
    assert await waiter is False
    with pytest.raises(RuntimeError):
        await h.informer.run()


async def test_resync_delivers_updates_with_old_equal_to_new_every_period(running: Any) -> None:
    h = Harness(resync_period=30.0)
    h.lw.on_list(ListPage([obj("a", 1), obj("b", 2)], "5")).on_watch(FakeWatch())
    running(h)
    await h.settle()
    pairs: list[tuple[Object, Object]] = []
    h.informer.add_event_handler(on_update=lambda old, new: pairs.append((old, new)))
    h.clock.advance(29.9)
    await h.settle()
    assert pairs == []
    h.clock.advance(0.1)
    await h.settle()
    assert len(pairs) == 2 and all(old is new for old, new in pairs)
    h.clock.advance(30)
    await h.settle()
    assert len(pairs) == 4


async def test_no_resync_before_sync_or_with_period_zero(running: Any) -> None:
    unsynced = Harness(resync_period=10.0)
    running(unsynced)
    await unsynced.settle()
    unsynced.clock.advance(25)
    await unsynced.settle()
    assert unsynced.rec.calls == []
    never = Harness()
    never.lw.on_list(ListPage([obj("a", 1)], "5")).on_watch(FakeWatch())
    running(never)
    await never.settle()
    assert never.clock.next_deadline() is None  # nothing scheduled: no resync timer at all


async def test_a_handler_added_late_first_gets_adds_for_everything_cached(running: Any) -> None:
    h = Harness()
    watch = FakeWatch()
    h.lw.on_list(ListPage([obj("a", 1), obj("b", 2)], "5")).on_watch(watch)
    running(h)
    await h.settle()
    late = Recorder().register(h.informer)
    assert late.calls == [("add", "a", "1"), ("add", "b", "2")]
    watch.event("DELETED", obj("a", 6))
    await h.settle()
    assert late.calls[-1] == ("delete", "a", "6")


async def test_a_failing_handler_does_not_stop_the_others_and_removed_handlers_hear_nothing(running: Any) -> None:
    h = Harness()

    def broken(o: Object) -> None:
        raise RuntimeError("bug in a handler")

    h.informer.add_event_handler(on_add=broken)
    removed = Recorder()
    h.informer.add_event_handler(removed.on_add).remove()
    watch = FakeWatch()
    h.lw.on_list(ListPage([obj("a", 1)], "5")).on_watch(watch)
    running(h)
    await h.settle()
    watch.event("ADDED", obj("b", 6))
    await h.settle()
    assert h.rec.calls == [("add", "a", "1"), ("add", "b", "6")]
    assert removed.calls == []


async def test_the_default_transform_drops_managed_fields_once_on_ingest(running: Any) -> None:
    h = Harness()
    watch = FakeWatch()
    managed: Object = {"managedFields": [{"manager": "kubectl"}], "labels": {"k": "v"}}
    h.lw.on_list(ListPage([obj("a", 1, metadata=dict(managed))], "5")).on_watch(watch)
    running(h)
    await h.settle()
    watch.event("MODIFIED", obj("a", 6, metadata=dict(managed)))
    await h.settle()
    stored = h.informer.store.get("ns/a")
    assert stored is not None and "managedFields" not in stored["metadata"] and stored["metadata"]["labels"]


async def test_transforms_are_configurable() -> None:
    big = "kubectl.kubernetes.io/last-applied-configuration"
    o = obj("a", 1, metadata={"annotations": {big: "{...}", "keep": "1"}, "managedFields": []}, status={"x": 1})
    drop = drop_fields(("metadata", "annotations", big), ("status",), ("spec", "absent", "path"))
    assert drop(o) == obj("a", 1, metadata={"annotations": {"keep": "1"}, "managedFields": []})
    assert "managedFields" not in strip_managed_fields(o)["metadata"]
    seen: list[Object] = []
    h = Harness(transform=lambda x: {**x, "transformed": True})
    h.informer.add_event_handler(on_add=seen.append)
    h.lw.on_list(ListPage([obj("a", 1, metadata={"managedFields": []})], "5")).on_watch(FakeWatch())
    task = h.informer.start()
    await h.settle()
    assert seen[0]["transformed"] is True and "managedFields" in seen[0]["metadata"]  # replaced, not composed
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_custom_indexes_follow_watch_events(running: Any) -> None:
    h = Harness()
    h.informer.add_indexers({"job": lambda o: [o["metadata"]["labels"]["job"]] if "labels" in o["metadata"] else []})
    watch = FakeWatch()
    h.lw.on_list(ListPage([obj("a", 1, metadata={"labels": {"job": "j1"}})], "5")).on_watch(watch)
    running(h)
    await h.settle()
    assert [o["metadata"]["name"] for o in h.informer.store.by_index("job", "j1")] == ["a"]
    watch.event("MODIFIED", obj("a", 6, metadata={"labels": {"job": "j2"}}))
    await h.settle()
    assert h.informer.store.by_index("job", "j1") == []
    assert h.informer.store.index_keys("job", "j2") == ["ns/a"]
