"""The base queue's guarantees: stingy, deduplicated, one more pass, fair, low priority, shutdown."""

from __future__ import annotations

import asyncio
import random

import pytest

from smk8s.clock import FakeClock
from smk8s.workqueue import Queue, ShutDown


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


def new_queue() -> Queue[str]:
    return Queue("test", clock=FakeClock())


async def drain_now(queue: Queue[str]) -> list[str]:
    """Take and release everything waiting right now, in order."""
    taken = []
    while len(queue):
        item = await queue.get()
        queue.done(item)
        taken.append(item)
    return taken


async def test_adds_of_a_waiting_item_collapse_into_one_pass_in_fifo_order() -> None:
    queue = new_queue()
    for item in ["a", "b", "a", "c", "b", "a"]:
        queue.add(item)
    assert len(queue) == 3
    assert await drain_now(queue) == ["a", "b", "c"]


async def test_a_held_item_is_not_handed_out_again_until_done() -> None:
    queue = new_queue()
    queue.add("a")
    assert await queue.get() == "a"
    queue.add("a")
    assert len(queue) == 0
    second = asyncio.create_task(queue.get())
    await settle()
    assert not second.done()
    queue.done("a")
    assert await asyncio.wait_for(second, 5) == "a"


async def test_adds_while_held_cause_exactly_one_more_pass() -> None:
    queue = new_queue()
    queue.add("a")
    item = await queue.get()
    for _ in range(5):
        queue.add(item)
    queue.done(item)
    assert await drain_now(queue) == ["a"]
    waiting = asyncio.create_task(queue.get())
    await settle()
    assert not waiting.done()  # no third pass
    waiting.cancel()


async def test_an_item_not_re_added_while_held_is_not_run_again() -> None:
    queue = new_queue()
    queue.add("a")
    queue.done(await queue.get())
    assert len(queue) == 0


async def test_done_for_an_item_nobody_holds_is_ignored() -> None:
    queue = new_queue()
    queue.add("a")
    queue.done("a")  # queued but not held: must not duplicate it
    queue.done("z")
    assert await drain_now(queue) == ["a"]


async def test_two_workers_never_hold_the_same_key_and_every_add_is_followed_by_a_pass() -> None:
    queue = new_queue()
    rng = random.Random(4)
    keys = [f"k{i}" for i in range(40)]
    held: set[str] = set()
    overlaps: list[str] = []
    last_add: dict[str, int] = {}
    last_pass_start: dict[str, int] = {}
    passes = 0
    tick = 0

    async def worker() -> None:
        nonlocal passes, tick
        while True:
            try:
                key = await queue.get()
            except ShutDown:
                return
            if key in held:
                overlaps.append(key)
            held.add(key)
            tick += 1
            last_pass_start[key] = tick
            passes += 1
            try:
                for _ in range(rng.randrange(4)):
                    await asyncio.sleep(0)
            finally:
                held.discard(key)
                queue.done(key)

    async def producer() -> None:
        nonlocal tick
        for _ in range(3000):
            key = rng.choice(keys)
            tick += 1
            last_add[key] = tick
            queue.add(key, low_priority=rng.random() < 0.3)
            if rng.random() < 0.5:
                await asyncio.sleep(0)

    workers = [asyncio.create_task(worker()) for _ in range(16)]
    await asyncio.gather(*(producer() for _ in range(4)))
    await queue.shutdown_with_drain()
    await asyncio.wait_for(asyncio.gather(*workers), 10)
    assert overlaps == []
    assert passes < 12000  # adds collapsed
    for key, added in last_add.items():
        assert last_pass_start[key] > added, key  # no add was lost


async def test_low_priority_items_are_served_after_normal_ones() -> None:
    queue = new_queue()
    queue.add("list-1", low_priority=True)
    queue.add("list-2", low_priority=True)
    queue.add("change-1")
    queue.add("list-3", low_priority=True)
    queue.add("change-2")
    assert await drain_now(queue) == ["change-1", "change-2", "list-1", "list-2", "list-3"]


async def test_a_normal_add_moves_a_low_item_to_the_tail_of_the_normal_items() -> None:
    queue = new_queue()
    for item in ["x", "y", "z"]:
        queue.add(item, low_priority=True)
    queue.add("a")
    queue.add("y")
    queue.add("y", low_priority=True)  # never lowers it again
    assert len(queue) == 4
    assert await drain_now(queue) == ["a", "y", "x", "z"]


async def test_a_low_add_does_not_lower_a_normal_item() -> None:
    queue = new_queue()
    queue.add("x", low_priority=True)
    queue.add("a")
    queue.add("a", low_priority=True)
    assert await drain_now(queue) == ["a", "x"]


async def test_priority_of_the_extra_pass_after_done_is_the_highest_added_while_held() -> None:
    queue = new_queue()
    queue.add("held")
    held = await queue.get()
    queue.add("x", low_priority=True)
    queue.add("held", low_priority=True)
    queue.done(held)
    assert await drain_now(queue) == ["x", "held"]  # low: in order behind x

    queue.add("held")
    held = await queue.get()
    queue.add("x", low_priority=True)
    queue.add("held", low_priority=True)
    queue.add("held")
    queue.done(held)
    assert await drain_now(queue) == ["held", "x"]


async def test_a_stale_low_entry_never_hands_out_an_item_twice() -> None:
    queue = new_queue()
    queue.add("x", low_priority=True)
    queue.add("x")  # leaves a dead low entry behind
    assert await queue.get() == "x"
    queue.add("x", low_priority=True)  # dirty while held
    queue.add("y", low_priority=True)
    assert len(queue) == 1
    assert await queue.get() == "y"
    assert len(queue) == 0
    queue.done("y")
    queue.done("x")
    assert await drain_now(queue) == ["x"]


async def test_a_cancelled_waiting_get_passes_its_wake_up_on() -> None:
    queue = new_queue()
    first = asyncio.create_task(queue.get())
    second = asyncio.create_task(queue.get())
    await settle()
    queue.add("a")  # wakes `first`
    first.cancel()
    await settle()
    assert first.cancelled()
    assert await asyncio.wait_for(second, 5) == "a"


async def test_adds_after_shutdown_are_ignored_and_get_drains_then_raises() -> None:
    queue = new_queue()
    queue.add("a")
    queue.add("b")
    queue.shutdown()
    assert queue.shutting_down
    queue.add("c")
    assert await drain_now(queue) == ["a", "b"]
    with pytest.raises(ShutDown):
        await queue.get()


async def test_shutdown_wakes_every_waiting_get() -> None:
    queue = new_queue()
    getters = [asyncio.create_task(queue.get()) for _ in range(3)]
    await settle()
    queue.shutdown()
    results = await asyncio.wait_for(asyncio.gather(*getters, return_exceptions=True), 5)
    assert all(isinstance(result, ShutDown) for result in results)


async def test_an_item_re_added_before_shutdown_is_still_run_after_done() -> None:
    queue = new_queue()
    queue.add("a")
    held = await queue.get()
    queue.add("a")
    queue.shutdown()
    queue.done(held)
    assert await drain_now(queue) == ["a"]
    with pytest.raises(ShutDown):
        await queue.get()


async def test_shutdown_with_drain_waits_for_held_items_to_be_done() -> None:
    queue = new_queue()
    queue.add("a")
    queue.add("b")
    a = await queue.get()
    b = await queue.get()
    drain = asyncio.create_task(queue.shutdown_with_drain())
    await settle()
    assert queue.shutting_down
    queue.add("c")
    assert len(queue) == 0
    queue.done(a)
    await settle()
    assert not drain.done()
    queue.done(b)
    await asyncio.wait_for(drain, 5)


async def test_shutdown_with_drain_returns_at_once_when_nothing_is_held() -> None:
    queue = new_queue()
    await asyncio.wait_for(queue.shutdown_with_drain(), 5)
    with pytest.raises(ShutDown):
        await queue.get()


async def test_shutdown_releases_a_pending_shutdown_with_drain() -> None:
    queue = new_queue()
    queue.add("a")
    await queue.get()
    drains = [asyncio.create_task(queue.shutdown_with_drain()) for _ in range(2)]
    await settle()
    assert not any(drain.done() for drain in drains)
    queue.shutdown()
    await asyncio.wait_for(asyncio.gather(*drains), 5)
