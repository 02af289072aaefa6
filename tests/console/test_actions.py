"""Acting from the console in a real browser: replay, purge, pause, trim."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import redis
from playwright.sync_api import Page, expect

from tests.conftest import Names
from tests.console.helpers import dead_letter
from tests.support.browser import ConsoleProcess
from tests.support.handlers import read_records
from tests.support.wait import wait_for
from tests.support.workers import WorkerProcess


def test_a_dead_letter_replayed_from_the_page_is_handled(
    redis_url: str, names: Names, page: Page, tmp_path: Path,
    console: Callable[..., ConsoleProcess], workers: Callable[..., WorkerProcess],
) -> None:  # fmt: skip
    r = redis.Redis.from_url(redis_url)
    record = tmp_path / "records"
    workers(redis_url, stream=names.stream, group=names.group, block_ms=100,
            HANDLER_RECORD_DIR=record)  # fmt: skip
    r.xadd(names.stream, {"article_id": "first"})
    wait_for(lambda: any(x.article == "first" for x in read_records(record)), timeout=20)
    dl = dead_letter(r, f"{names.stream}:dead", names.stream, "revive-me")
    c = console(redis_url, WORKER_STREAM=names.stream, WORKER_GROUP=names.group, actions="true")

    page.goto(f"{c.url}/dead-letters/0/{dl}")
    page.click("#replay-one")
    assert page.locator("#count").inner_text() == "1"
    page.click("#confirm")
    assert page.locator("#replayed").inner_text() == "1"
    def replayed_done() -> list[str]:
        recs = read_records(record)
        return [x.entry_id for x in recs if x.event == "done" and x.article == "revive-me"]

    done = wait_for(replayed_done, timeout=20, what="the replayed entry handled by a worker")
    assert done[0] != dl  # a new entry on the source stream
    assert r.xlen(f"{names.stream}:dead") == 0


def test_confirmations_count_what_they_touch_selected_and_matching(
    redis_url: str, names: Names, page: Page, console: Callable[..., ConsoleProcess]
) -> None:
    r = redis.Redis.from_url(redis_url)
    dead = f"{names.stream}:dead"
    for i in range(12):
        dead_letter(r, dead, names.stream, f"{'keep' if i % 3 else 'drop'}-{i}")
    c = console(redis_url, WORKER_STREAM=names.stream, WORKER_GROUP=names.group, actions="true")

    page.goto(c.url + "/dead-letters")
    boxes = page.locator("#dead-letters input[type=checkbox]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.click("#replay-selected")
    assert page.locator("#count").inner_text() == "2"
    page.click("text=Cancel")

    page.goto(c.url + "/dead-letters?error=handle+drop")
    page.click("#purge-matching")
    assert page.locator("#count").inner_text() == "4"  # drop-0, -3, -6, -9
    assert r.xlen(dead) == 12  # the confirmation page changed nothing
    page.click("#confirm")
    assert page.locator("#purged").inner_text() == "4"
    remaining = [f[b"error"].decode() for _, f in r.xrange(dead)]
    assert len(remaining) == 8
    assert all("keep" in e for e in remaining)


def test_pause_resume_and_trim_after_a_dry_run(
    redis_url: str, names: Names, page: Page, console: Callable[..., ConsoleProcess]
) -> None:
    r = redis.Redis.from_url(redis_url)
    for i in range(10):
        r.xadd(names.stream, {"article_id": f"a{i}"})
    r.xgroup_create(names.stream, names.group, "0")
    got = r.xreadgroup(names.group, "c", {names.stream: ">"}, count=10)
    r.xack(names.stream, names.group, *[eid for eid, _ in got[0][1][:6]])
    c = console(redis_url, WORKER_STREAM=names.stream, WORKER_GROUP=names.group, actions="true")

    page.goto(c.url + "/actions")
    page.click("#pause")
    expect(page.locator("#paused")).to_be_visible()
    assert r.exists(f"{names.stream}:paused")
    page.click("#resume")
    expect(page.locator("#running")).to_be_visible()
    assert not r.exists(f"{names.stream}:paused")

    page.click("#dry-run")
    assert page.locator("#would-trim").inner_text() == "6"
    assert r.xlen(names.stream) == 10
    page.click("#trim")
    assert page.locator("#trimmed").inner_text() == "6"
    assert r.xlen(names.stream) == 4
