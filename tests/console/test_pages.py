"""Every console page in a real browser, against real Redis with real workers running."""

from __future__ import annotations

from collections.abc import Callable

import redis
from playwright.sync_api import Page, expect

from tests.conftest import Names
from tests.console.helpers import dead_letter
from tests.support.browser import ConsoleProcess
from tests.support.wait import wait_for
from tests.support.workers import WorkerProcess


def test_every_page_loads_with_workers_running(
    redis_url: str, names: Names, page: Page,
    console: Callable[..., ConsoleProcess], workers: Callable[..., WorkerProcess],
) -> None:  # fmt: skip
    r = redis.Redis.from_url(redis_url)
    for i in range(20):
        r.xadd(names.stream, {"article_id": f"bad-a{i}" if i in (3, 4) else f"a{i}"})
    env = {"stream": names.stream, "group": names.group, "block_ms": 100,
           "max_deliveries": 1, "HANDLER_FAIL_PREFIX": "bad-"}  # fmt: skip
    workers(redis_url, consumer="w1", **env)
    workers(redis_url, consumer="w2", **env)
    wait_for(lambda: r.xlen(f"{names.stream}:dead") == 2, timeout=20, what="two dead letters")
    c = console(redis_url, WORKER_STREAM=names.stream, WORKER_GROUP=names.group)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    response = page.goto(c.url + "/")
    assert response is not None
    assert response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert page.locator("#partitions tbody tr").count() == 1
    cells = page.locator("#partitions tbody tr td")
    assert cells.nth(1).inner_text() == names.stream
    assert cells.nth(8).inner_text() == "2"  # dead letters
    assert page.locator("#capabilities").inner_text().count("xautoclaim") == 2
    wait_for(lambda: page.reload() and page.locator("figure.spark polyline").count() >= 2,
             what="sparklines from the console's sampling")  # fmt: skip

    page.click("text=Consumers")
    wait_for(lambda: {"w1", "w2"} <= set(page.locator(".consumers td").all_inner_texts()),
             what="both workers listed")  # fmt: skip
    # Each is held by a live replica (its ownership lease), shown with host and pid.
    held = page.locator(".consumers td.holder").all_inner_texts()
    assert len(held) == 2
    assert all("(pid " in h for h in held), held

    page.click("nav >> text=Pending")
    assert page.locator("h1").inner_text().startswith("Pending entries")

    page.click("nav >> text=Dead letters")
    rows = page.locator("#dead-letters tbody tr")
    assert rows.count() == 2
    assert "permanent_error" in rows.first.inner_text()  # the reason is shown
    error = rows.first.locator("td.error").inner_text()
    assert error.startswith("PermanentError: cannot handle bad-a")
    article = error.rsplit(" ", 1)[-1]  # bad-a3 or bad-a4: the two workers race
    rows.first.locator("a").click()
    assert article in page.locator("table.fields").inner_text()  # waits for the detail page
    assert page.locator("h1").inner_text().startswith("Dead letter ")

    page.click("nav >> text=Actions")
    expect(page.locator("#running")).to_be_visible()
    page.click("#dry-run")
    expect(page.locator("#trim-preview")).to_be_visible()
    assert errors == []


def test_pending_pages_with_cursors_and_filters(
    redis_url: str, names: Names, page: Page, console: Callable[..., ConsoleProcess]
) -> None:
    r = redis.Redis.from_url(redis_url)
    ids = [r.xadd(names.stream, {"article_id": f"a{i}"}).decode() for i in range(130)]
    r.xgroup_create(names.stream, names.group, "0")
    r.xreadgroup(names.group, "alice", {names.stream: ">"}, count=100)
    r.xreadgroup(names.group, "bob", {names.stream: ">"}, count=30)
    r.xclaim(names.stream, names.group, "bob", 0, ids[:5])  # delivered twice
    c = console(redis_url, WORKER_STREAM=names.stream, WORKER_GROUP=names.group, page_size=50)

    seen: list[str] = []
    page.goto(c.url + "/pending")
    while True:
        seen += page.locator("#pending tbody tr td:first-child").all_inner_texts()
        if not page.locator("#next").count():
            break
        with page.expect_navigation():  # read the next page, not the one still showing
            page.click("#next")
    assert seen == ids  # three pages, in order, nothing twice

    page.goto(c.url + "/pending?consumer=bob")
    assert page.locator("#pending tbody tr").count() == 35
    page.goto(c.url + "/pending?min_deliveries=2")
    assert page.locator("#pending tbody tr td:first-child").all_inner_texts() == ids[:5]
    page.goto(c.url + "/pending?min_idle_s=3600")
    assert "no pending entries match" in page.locator("#pending").inner_text()
    page.goto(f"{c.url}/pending/0/{ids[0]}")
    assert "bob" in page.locator("dl").inner_text()
    assert "a0" in page.locator("table.fields").inner_text()


def test_dead_letters_page_through_xrange_cursors_and_filter(
    redis_url: str, names: Names, page: Page, console: Callable[..., ConsoleProcess]
) -> None:
    r = redis.Redis.from_url(redis_url)
    dead = f"{names.stream}:dead"
    ids = [dead_letter(r, dead, names.stream, f"x{i}") for i in range(60)]
    c = console(redis_url, WORKER_STREAM=names.stream, WORKER_GROUP=names.group, page_size=25)
    page.goto(c.url + "/dead-letters")
    seen: list[str] = []
    while True:
        seen += page.locator("#dead-letters tbody tr td:nth-child(2)").all_inner_texts()
        if not page.locator("#next").count():
            break
        with page.expect_navigation():  # read the next page, not the one still showing
            page.click("#next")
    assert seen == ids
    page.goto(c.url + "/dead-letters?error=handle+x5")  # x5, x50..x59
    assert page.locator("#dead-letters tbody tr").count() == 11
