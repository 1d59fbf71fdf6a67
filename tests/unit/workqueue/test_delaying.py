"""``add_after``: deadlines on the injected clock, the earliest deadline wins, merging with plain adds, shutdown."""

from __future__ import annotations

import asyncio

import pytest

from smk8s.clock import FakeClock
from smk8s.workqueue import DelayingQueue, ShutDown


async def drain_now(queue: DelayingQueue[str]) -> list[str]:
    taken = []
    while len(queue):
        item = await queue.get()
        queue.done(item)
        taken.append(item)
    return taken


def new_queue() -> tuple[FakeClock, DelayingQueue[str]]:
    clock = FakeClock()
    return clock, DelayingQueue("test", clock=clock)


async def test_an_item_is_added_once_its_delay_has_passed() -> None:
    clock, queue = new_queue()
    queue.add_after("a", 2.0)
    clock.advance(1.999)
    assert len(queue) == 0
    clock.advance(0.001)
    assert len(queue) == 1
    assert await drain_now(queue) == ["a"]


async def test_a_waiting_get_is_woken_when_the_deadline_passes() -> None:
    clock, queue = new_queue()
    getter = asyncio.create_task(queue.get())
    queue.add_after("a", 1.0)
    await clock.settle()
    assert not getter.done()
    clock.advance(1.0)
    assert await asyncio.wait_for(getter, 5) == "a"


async def test_a_non_positive_delay_adds_at_once() -> None:
    _, queue = new_queue()
    queue.add_after("a", 0)
    queue.add_after("b", -1)
    assert await drain_now(queue) == ["a", "b"]


async def test_deadlines_fire_in_deadline_order() -> None:
    clock, queue = new_queue()
    queue.add_after("c", 3.0)
    queue.add_after("a", 1.0)
    queue.add_after("b", 2.0)
    clock.advance(5.0)
    assert await drain_now(queue) == ["a", "b", "c"]


async def test_an_earlier_deadline_replaces_a_later_one() -> None:
    clock, queue = new_queue()
    queue.add_after("a", 10.0)
    queue.add_after("a", 5.0)
    assert queue.waiting() == 1
    clock.advance(5.0)
    assert await drain_now(queue) == ["a"]
    clock.advance(10.0)
    assert len(queue) == 0  # the 10 s deadline is gone


async def test_a_later_deadline_does_not_postpone_an_earlier_one() -> None:
    clock, queue = new_queue()
    queue.add_after("a", 5.0)
    queue.add_after("a", 10.0)
    clock.advance(5.0)
    assert await drain_now(queue) == ["a"]
    clock.advance(10.0)
    assert len(queue) == 0


async def test_a_plain_add_cancels_a_pending_deadline() -> None:
    clock, queue = new_queue()
    queue.add_after("a", 10.0)
    queue.add("a")
    assert queue.waiting() == 0
    assert await drain_now(queue) == ["a"]
    clock.advance(20.0)
    assert len(queue) == 0


async def test_add_after_of_an_item_already_due_is_ignored() -> None:
    clock, queue = new_queue()
    queue.add("a")
    queue.add_after("a", 1.0)
    assert queue.waiting() == 0
    assert await drain_now(queue) == ["a"]
    clock.advance(2.0)
    assert len(queue) == 0


async def test_a_deadline_passing_while_the_item_is_held_gives_one_more_pass_after_done() -> None:
    clock, queue = new_queue()
    queue.add("a")
    held = await queue.get()
    queue.add_after("a", 1.0)  # a requeue_after from the reconcile that holds it
    clock.advance(1.0)
    assert len(queue) == 0
    queue.done(held)
    assert await drain_now(queue) == ["a"]


async def test_the_timer_follows_the_earliest_live_deadline() -> None:
    clock, queue = new_queue()
    queue.add_after("a", 10.0)
    queue.add_after("b", 3.0)
    assert clock.next_deadline() == clock.now() + 3.0
    queue.add("b")  # b's deadline is cancelled: the timer may fire early, and re-arms for a
    clock.advance(3.0)
    assert clock.next_deadline() == clock.now() + 7.0
    assert await drain_now(queue) == ["b"]
    clock.advance(7.0)
    assert await drain_now(queue) == ["a"]
    assert clock.next_deadline() is None


async def test_shutdown_drops_pending_deadlines_and_ignores_add_after() -> None:
    clock, queue = new_queue()
    queue.add_after("a", 1.0)
    queue.shutdown()
    queue.add_after("b", 1.0)
    queue.add_after("c", 0)
    assert clock.next_deadline() is None
    clock.advance(5.0)
    with pytest.raises(ShutDown):
        await queue.get()
