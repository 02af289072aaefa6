"""What decides when a handler slot is free: `Tracker` (what this replica holds) and
`Inbox` (deliveries waiting for a slot). No Redis: these are in-memory structures."""

from __future__ import annotations

import asyncio

import anyio
import anyio.lowlevel

from streams_worker.core.inflight import FAN_OUT, Delivery, Inbox, Tracker
from streams_worker.core.keys import StreamKeys

PART = StreamKeys.for_stream("s").partitions[0]
S = PART.stream


def delivery(n: int) -> Delivery:
    return Delivery(PART, f"{n}-0", {b"article_id": f"a{n}".encode()}, 1)


def test_free_counts_held_entries_whose_handler_has_not_finished() -> None:
    t = Tracker(3)
    assert t.free() == 3
    d = [t.hold(delivery(n)) for n in range(2)]
    assert (len(t), t.free()) == (2, 1)
    t.finished(d[0])  # the handler is done, the ack is on its way: the slot is free
    assert (len(t), t.free()) == (2, 2)
    t.release(d[0])  # acked
    assert (len(t), t.free()) == (1, 2)
    t.release(d[1])  # released without finishing (dead-lettered, lost): free too
    assert (len(t), t.free()) == (0, 3)


def test_entries_awaiting_their_ack_are_capped_at_one_more_batch() -> None:
    t = Tracker(2)
    d = [t.hold(delivery(n)) for n in range(4)]
    for x in d:
        t.finished(x)
    # no handler runs, but four acks are outstanding: a stalled ack path stops reads
    assert t.free() == 0
    t.release(d[0])
    assert t.free() == 1


def test_finished_and_release_are_idempotent_and_ignore_unknown_entries() -> None:
    t = Tracker(2)
    d0 = t.hold(delivery(0))
    t.finished(d0)
    t.finished(d0)
    never_held = delivery(9)
    t.finished(never_held)
    t.release(never_held)
    assert t.free() == 2
    t.hold(delivery(1))
    t.hold(delivery(2))
    assert t.free() == 0  # the double finish was counted once
    t.release(d0)
    t.release(d0)
    assert (len(t), t.free()) == (2, 0)


def test_holding_an_entry_again_replaces_the_older_delivery() -> None:
    t = Tracker(2)
    old = t.hold(delivery(0))
    t.finished(old)
    new = t.hold(delivery(0))  # the same entry, delivered again (claimed back, due)
    assert (len(t), t.free(), t.get(S, "0-0")) == (1, 1, new)
    t.release(old)  # the older delivery's late ack releases nothing
    assert (len(t), t.get(S, "0-0")) == (1, new)
    t.release_all([new])
    assert (len(t), t.free()) == (0, 2)


def test_held_entries_are_found_by_stream_and_entry_id() -> None:
    t = Tracker(2)
    held = t.hold(delivery(0))
    assert (S, "0-0") in t
    assert (S, "1-0") not in t
    assert t.get(S, "0-0") is held
    assert [h.entry_id for h in t] == ["0-0"]
    assert (held.finished, held.lost) == (False, False)


async def test_a_finished_handler_wakes_every_waiting_reader() -> None:
    t = Tracker(1)
    d = t.hold(delivery(0))
    woken: list[int] = []

    async def reader(i: int) -> None:
        await t.wait_change(within_s=60)
        woken.append(i)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            for i in range(3):
                tg.start_soon(reader, i)
            await anyio.wait_all_tasks_blocked()
            assert woken == []
            t.finished(d)
    assert sorted(woken) == [0, 1, 2]


async def test_a_release_wakes_a_waiting_reader() -> None:
    t = Tracker(1)
    d = t.hold(delivery(0))
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(t.wait_change, 60)
            await anyio.wait_all_tasks_blocked()
            t.release(d)


async def test_a_wake_up_is_not_left_set_for_later_waiters() -> None:
    t = Tracker(1)
    d = t.hold(delivery(0))
    async with anyio.create_task_group() as tg:
        tg.start_soon(t.wait_change, 60)
        await anyio.wait_all_tasks_blocked()
        t.finished(d)
    start = anyio.current_time()
    await t.wait_change(within_s=0.2)  # nothing changes: it waits its whole bound
    assert anyio.current_time() - start >= 0.15


async def test_inbox_hands_deliveries_in_order_to_waiting_slots() -> None:
    inbox = Inbox()
    got: list[str] = []

    async def slot() -> None:
        d = await inbox.get()
        assert d is not None
        got.append(d.entry_id)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            for _ in range(2):
                tg.start_soon(slot)
            await anyio.wait_all_tasks_blocked()
            inbox.put(delivery(0))
            inbox.put(delivery(1))
    assert got == ["0-0", "1-0"]
    inbox.put(delivery(2))
    assert len(inbox) == 1
    d = await inbox.get()
    assert d is not None
    assert (d.entry_id, len(inbox)) == ("2-0", 0)


async def test_closing_the_inbox_ends_idle_slots_after_the_queue_drains() -> None:
    inbox = Inbox()
    ended: list[str | None] = []

    async def slot() -> None:
        while (d := await inbox.get()) is not None:
            ended.append(d.entry_id)
        ended.append(None)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(slot)
            await anyio.wait_all_tasks_blocked()
            inbox.put(delivery(0))
            inbox.close()
    assert sorted(ended, key=str) == sorted(["0-0", None, None, None], key=str)
    assert await inbox.get() is None  # closed and empty: at once, not a wait


async def test_a_reader_that_honours_free_never_has_more_deliveries_than_slots() -> None:
    """The read loop's contract: held-and-unfinished never exceeds the capacity."""
    capacity, total = 4, 60
    t = Tracker(capacity)
    inbox = Inbox()
    running = 0
    peak = 0
    handled: list[str] = []

    async def slot() -> None:
        nonlocal running, peak
        while (d := await inbox.get()) is not None:
            running += 1
            peak = max(peak, running)
            assert running + len(inbox) <= capacity
            await anyio.lowlevel.checkpoint()
            running -= 1
            t.finished(d)
            handled.append(d.entry_id)
            await anyio.lowlevel.checkpoint()
            t.release(d)  # the ack lands

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            for _ in range(capacity):
                tg.start_soon(slot)
            n = 0
            while n < total:
                for _ in range(min(t.free(), total - n)):
                    d = delivery(n)
                    t.hold(d)
                    inbox.put(d)
                    n += 1
                assert len(inbox) + running <= capacity
                await t.wait_change(within_s=5)
            while len(t):
                await t.wait_change(within_s=5)
            inbox.close()
    assert sorted(handled) == sorted(f"{i}-0" for i in range(total))
    assert peak == capacity  # it did fill every slot, and never more


async def test_a_batch_wakes_one_slot_and_handlers_that_do_not_suspend_drain_it() -> None:
    """Fanned-out wake-ups: a batch wakes one slot, which wakes at most FAN_OUT more;
    the first one drains the batch, so 100 deliveries do not wake every slot."""
    inbox = Inbox()
    took: dict[int, int] = {}

    async def slot(i: int) -> None:
        while await inbox.get() is not None:
            took[i] = took.get(i, 0) + 1  # returns without suspending, like a no-op

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            for i in range(5):
                tg.start_soon(slot, i)
            await anyio.wait_all_tasks_blocked()
            for n in range(100):
                inbox.put(delivery(n))
            await anyio.wait_all_tasks_blocked()
            assert len(inbox) == 0
            inbox.close()
    assert sum(took.values()) == 100
    assert len(took) <= 1 + FAN_OUT, took


async def test_a_slot_cancelled_right_after_its_wake_up_hands_it_on() -> None:
    # asyncio's own cancel (anyio waits for a woken task to run before cancelling it)
    inbox = Inbox()
    doomed = asyncio.ensure_future(inbox.get())
    await anyio.wait_all_tasks_blocked()
    live = asyncio.ensure_future(inbox.get())
    await anyio.wait_all_tasks_blocked()
    inbox.put(delivery(0))  # wakes the first idle slot...
    doomed.cancel()  # ...which is cancelled before it runs
    with anyio.fail_after(5):
        d = await live
    assert d is not None
    assert d.entry_id == "0-0", "reached the other slot, with no new put"
    assert doomed.cancelled()


async def test_slots_whose_handlers_suspend_all_start_within_a_few_loop_turns() -> None:
    inbox = Inbox()
    started: list[int] = []
    turns = 0

    async def slot() -> None:
        while await inbox.get() is not None:
            started.append(turns)
            await anyio.sleep(60)  # suspends, like an I/O-bound handler

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            for _ in range(32):
                tg.start_soon(slot)
            await anyio.wait_all_tasks_blocked()
            for n in range(32):
                inbox.put(delivery(n))
            while len(started) < 32 and turns < 64:
                await anyio.lowlevel.checkpoint()
                turns += 1
            tg.cancel_scope.cancel()
    assert len(started) == 32
    assert max(started) <= 8, "fanned out (about log2(32) turns), not one slot a turn"
