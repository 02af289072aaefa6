"""The console's safety: tokens, the login cookie, CSRF, read-only, hostile entries."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import httpx
import pytest
import redis
from playwright.sync_api import Page, expect

from streams_worker.dev.embedded import free_port
from tests.conftest import Names
from tests.console.helpers import dead_letter, hostile_fields
from tests.support.browser import ROOT, ConsoleProcess, console_env

TOKEN = "correct-horse-battery-staple-42"


def csrf_of(html: str) -> str:
    """The page's CSRF token (every page carries it in a meta tag)."""
    return html.split('<meta name="csrf" content="')[1].split('"')[0]


def test_with_a_token_every_page_needs_it(
    redis_url: str, names: Names, console: Callable[..., ConsoleProcess]
) -> None:
    c = console(redis_url, WORKER_STREAM=names.stream, token=TOKEN)
    for path in ("/", "/consumers", "/pending", "/dead-letters", "/actions"):
        bare = httpx.get(c.url + path)
        assert bare.status_code == 401
        assert TOKEN not in bare.text
        wrong = httpx.get(c.url + path, headers={"Authorization": "Bearer not-the-token-at-all"})
        assert wrong.status_code == 401
        assert "not-the-token" not in wrong.text
        right = httpx.get(c.url + path, headers={"Authorization": f"Bearer {TOKEN}"})
        assert right.status_code == 200
        assert TOKEN not in right.text
    assert TOKEN not in c.log()


def test_the_login_form_sets_an_httponly_samesite_strict_cookie(
    redis_url: str, names: Names, page: Page, console: Callable[..., ConsoleProcess]
) -> None:
    c = console(redis_url, WORKER_STREAM=names.stream, token=TOKEN)
    assert page.goto(c.url + "/").status == 401  # type: ignore[union-attr]
    page.goto(c.url + "/login")
    page.fill("input[name=token]", "wrong-token-wrong-token")
    page.click("#login")
    expect(page.locator("#failed")).to_be_visible()
    page.fill("input[name=token]", TOKEN)
    page.click("#login")
    assert page.locator("h1").inner_text() == "Overview"
    session = next(k for k in page.context.cookies() if k["name"] == "sw_session")
    assert session["httpOnly"]
    assert session["sameSite"] == "Strict"
    assert TOKEN not in session["value"]
    page.click("text=Log out")
    assert page.goto(c.url + "/").status == 401  # type: ignore[union-attr]


def test_posts_without_a_valid_csrf_token_are_refused(
    redis_url: str, names: Names, console: Callable[..., ConsoleProcess]
) -> None:
    c = console(redis_url, WORKER_STREAM=names.stream, actions="true")
    r = redis.Redis.from_url(redis_url)
    with httpx.Client(base_url=c.url) as http:
        http.get("/actions")  # gets the csrf cookie
        assert http.post("/actions/pause").status_code == 403
        assert http.post("/actions/pause", data={"csrf": "forged"}).status_code == 403
    with httpx.Client(base_url=c.url) as other:  # a valid token from another browser
        page = other.get("/actions").text
        token = csrf_of(page)
    with httpx.Client(base_url=c.url) as http:
        http.get("/actions")
        assert http.post("/actions/pause", data={"csrf": token}).status_code == 403
    assert not r.exists(f"{names.stream}:paused")
    with httpx.Client(base_url=c.url) as http:  # the console's own form works
        page = http.get("/actions").text
        token = csrf_of(page)
        assert http.post("/actions/pause", data={"csrf": token}).status_code == 303
    assert r.exists(f"{names.stream}:paused")


def test_read_only_refuses_every_action_and_gets_change_nothing(
    redis_url: str, names: Names, console: Callable[..., ConsoleProcess]
) -> None:
    r = redis.Redis.from_url(redis_url)
    dead_letter(r, f"{names.stream}:dead", names.stream, "stays")
    c = console(redis_url, WORKER_STREAM=names.stream)
    with httpx.Client(base_url=c.url) as http:
        page = http.get("/actions").text
        assert 'id="read-only"' in page
        assert 'id="pause"' not in page
        token = csrf_of(page)
        for path in ("/actions/pause", "/actions/trim", "/dead-letters/purge"):
            assert http.post(path, data={"csrf": token, "scope": "matching"}).status_code == 403
        confirm = http.get("/dead-letters/confirm?op=purge&scope=matching")
        assert confirm.status_code == 200
        assert 'id="confirm"' not in confirm.text
        assert http.get("/dead-letters/purge").status_code == 405
    assert r.xlen(f"{names.stream}:dead") == 1
    assert not r.exists(f"{names.stream}:paused")


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10"])  # noqa: S104 - the refused case
def test_without_a_token_it_refuses_to_listen_beyond_loopback(redis_url: str, host: str) -> None:
    env = console_env(redis_url, free_port(), host=host)
    done = subprocess.run([sys.executable, "-m", "streams_worker", "console"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "CONSOLE_HOST" in done.stderr


def test_a_hostile_entry_renders_inert_and_the_pages_still_load(
    redis_url: str, names: Names, page: Page, console: Callable[..., ConsoleProcess]
) -> None:
    r = redis.Redis.from_url(redis_url)
    fields = hostile_fields()
    eid = r.xadd(names.stream, fields).decode()  # type: ignore[arg-type]
    r.xgroup_create(names.stream, names.group, "0")
    r.xreadgroup(names.group, '"><img src=x onerror=alert(3)>', {names.stream: ">"})
    small = {k: v for k, v in list(fields.items())[:6]}
    dead = f"{names.stream}:dead"
    dl_small = dead_letter(r, dead, names.stream, "hostile", **{k.decode(errors="replace"): v
                           for k, v in small.items() if k != b"article_id"})  # fmt: skip
    dl_many = dead_letter(r, dead, names.stream, "many", **{k.decode(errors="replace"): v
                          for k, v in fields.items() if k != b"article_id"})  # fmt: skip
    r.xadd(dead, {"reason": "<script>alert(4)</script>", "error": fields[b"img"],
                  "dead_lettered_at": "not a number"})  # fmt: skip
    c = console(redis_url, WORKER_STREAM=names.stream, WORKER_GROUP=names.group)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    for path in (f"/pending/0/{eid}", f"/dead-letters/0/{dl_small}", f"/dead-letters/0/{dl_many}",
                 "/dead-letters", "/pending", "/consumers", "/"):  # fmt: skip
        response = page.goto(c.url + path)
        assert response is not None, path
        assert response.status == 200, path
        assert page.evaluate("window.__pwned") is None, path
        assert page.locator("#injected").count() == 0, path
        assert page.locator("img").count() == 0, path
        assert page.locator("main script").count() == 0, path
    page.goto(f"{c.url}/pending/0/{eid}")
    text = page.locator("table.fields").inner_text()
    assert "<script>window.__pwned" in text  # shown as text
    assert "\ufffd" in text  # invalid UTF-8 replaced, not a failure
    assert page.locator("#more-fields").inner_text() == "3800 more fields not shown"
    page.goto(f"{c.url}/dead-letters/0/{dl_small}")
    assert "998000 more characters" in page.locator("table.fields").inner_text()
    assert dialogs == []
    assert len(page.content()) < 600_000


def test_secrets_appear_in_no_page_and_no_log(
    private_redis: Callable[..., object], names: Names, console: Callable[..., ConsoleProcess]
) -> None:
    server = private_redis(extra_args=["--requirepass", "s3cret-redis-pass"])
    url = f"redis://:s3cret-redis-pass@127.0.0.1:{server.port}/0"  # type: ignore[attr-defined]
    c = console(url, WORKER_STREAM=names.stream, token=TOKEN)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    pages = [httpx.get(c.url + p, headers=auth).text for p in ("/", "/actions", "/login")]
    assert all("s3cret" not in p and TOKEN not in p for p in pages)
    assert "s3cret" not in c.log()
    assert TOKEN not in c.log()
