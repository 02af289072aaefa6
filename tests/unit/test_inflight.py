"""What decides when a handler slot is free: `Tracker` (what this replica holds) and
`Inbox` (deliveries waiting for a slot). No Redis: these are in-memory structures."""

from __future__ import annotations

import anyio
import anyio.lowlevel

from streams_worker.core.inflight import Delivery, Inbox, Tracker
from streams_worker.core.keys import StreamKeys

PART = StreamKeys.for_stream("s").partitions[0]
S = PART.stream


def delivery(n: int) -> Delivery:
    return Delivery(PART, f"{n}-0", {b"article_id": f"a{n}".encode()}, 1)


def test_free_counts_held_entries_whose_handler_has_not_finished() -> None:
    t = Tracker(3)
    assert t.free() == 3
    for n in range(2):
        t.hold(delivery(n))
    assert (len(t), t.free()) == (2, 1)
    t.finished(S, "0-0")  # the handler is done, the ack is on its way: the slot is free
    assert (len(t), t.free()) == (2, 2)
    t.release(S, "0-0")  # acked
    assert (len(t), t.free()) == (1, 2)
    t.release(S, "1-0")  # released without finishing (dead-lettered, lost): free too
    assert (len(t), t.free()) == (0, 3)


def test_entries_awaiting_their_ack_are_capped_at_one_more_batch() -> None:
    t = Tracker(2)
    for n in range(4):
        t.hold(delivery(n))
        t.finished(S, f"{n}-0")
    # no handler runs, but four acks are outstanding: a stalled ack path stops reads
    assert t.free() == 0
    t.release(S, "0-0")
    assert t.free() == 1


def test_finished_and_release_are_idempotent_and_ignore_unknown_entries() -> None:
    t = Tracker(2)
    t.hold(delivery(0))
    t.finished(S, "0-0")
    t.finished(S, "0-0")
    t.finished(S, "9-0")
    t.release(S, "9-0")
    assert t.free() == 2
    t.hold(delivery(1))
    t.hold(delivery(2))
    assert t.free() == 0  # the double finish was counted once
    t.release(S, "0-0")
    t.release(S, "0-0")
    assert (len(t), t.free()) == (2, 0)


def test_held_entries_are_found_by_stream_and_entry_id() -> None:
    t = Tracker(2)
    held = t.hold(delivery(0))
    assert (S, "0-0") in t
    assert (S, "1-0") not in t
    assert t.get(S, "0-0") is held
    assert [h.delivery.entry_id for h in t] == ["0-0"]
    assert (held.finished, held.lost) == (False, False)


async def test_a_finished_handler_wakes_every_waiting_reader() -> None:
    t = Tracker(1)
    t.hold(delivery(0))
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
            t.finished(S, "0-0")
    assert sorted(woken) == [0, 1, 2]


async def test_a_release_wakes_a_waiting_reader() -> None:
    t = Tracker(1)
    t.hold(delivery(0))
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(t.wait_change, 60)
            await anyio.wait_all_tasks_blocked()
            t.release(S, "0-0")


async def test_a_wake_up_is_not_left_set_for_later_waiters() -> None:
    t = Tracker(1)
    t.hold(delivery(0))
    async with anyio.create_task_group() as tg:
        tg.start_soon(t.wait_change, 60)
        await anyio.wait_all_tasks_blocked()
        t.finished(S, "0-0")
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
            t.finished(S, d.entry_id)
            handled.append(d.entry_id)
            await anyio.lowlevel.checkpoint()
            t.release(S, d.entry_id)  # the ack lands

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
