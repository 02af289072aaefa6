"""The console under its own Redis ACL users (k8s/redis/users.acl): `console` reads
every page and may change nothing; `console-actions` may replay, purge, pause,
trim and prune. A command missing from a user shows up as a 503 (NOPERM)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import redis

from streams_worker.dev.embedded import RedisProcess
from tests.console.helpers import dead_letter
from tests.support.acl import GROUP, PASSWORDS, STREAM, TEST_ADMIN, acl_args_with_test_admin
from tests.support.browser import ConsoleProcess

PAGES = ("/", "/consumers", "/pending", "/dead-letters", "/actions", "/actions/trim",
         "/dead-letters/confirm?op=replay&scope=matching")  # fmt: skip


def _csrf(html: str) -> str:
    return html.split('<meta name="csrf" content="')[1].split('"')[0]


def _seed(server: RedisProcess) -> redis.Redis:
    user, password = TEST_ADMIN
    r = redis.Redis(port=server.port, username=user, password=password)
    for i in range(10):
        r.xadd(STREAM, {"article_id": f"a{i}"})
    r.xgroup_create(STREAM, GROUP, "0")
    got = r.xreadgroup(GROUP, "w", {STREAM: ">"}, count=10)
    r.xack(STREAM, GROUP, *[eid for eid, _ in got[0][1][:4]])
    r.xgroup_createconsumer(STREAM, GROUP, "idle-and-empty")
    dead_letter(r, f"{STREAM}:dead", STREAM, "replay-me")
    return r


def test_the_console_users_may_do_exactly_their_part(
    private_redis: Callable[..., RedisProcess], tmp_path: Path,
    console: Callable[..., ConsoleProcess],
) -> None:  # fmt: skip
    server = private_redis(extra_args=acl_args_with_test_admin(tmp_path))
    r = _seed(server)
    ro = console(server.url, REDIS_USERNAME="console", REDIS_PASSWORD=PASSWORDS["console"],
                 WORKER_STREAM=STREAM, WORKER_GROUP=GROUP)  # fmt: skip
    for path in PAGES:
        assert httpx.get(ro.url + path).status_code == 200, path
    # Even if its actions were switched on by mistake, the read-only user writes nothing.
    denied = console(server.url, REDIS_USERNAME="console", REDIS_PASSWORD=PASSWORDS["console"],
                     WORKER_STREAM=STREAM, WORKER_GROUP=GROUP, actions="true")  # fmt: skip
    with httpx.Client(base_url=denied.url) as http:
        token = _csrf(http.get("/actions").text)
        assert http.post("/actions/pause", data={"csrf": token}).status_code == 503
    assert not r.exists(f"{STREAM}:paused")

    rw = console(server.url, REDIS_USERNAME="console-actions",
                 REDIS_PASSWORD=PASSWORDS["console-actions"], WORKER_STREAM=STREAM,
                 WORKER_GROUP=GROUP, actions="true")  # fmt: skip
    with httpx.Client(base_url=rw.url) as http:
        for path in PAGES:
            assert http.get(path).status_code == 200, path
        token = _csrf(http.get("/actions").text)
        assert http.post("/actions/pause", data={"csrf": token}).status_code == 303
        assert r.exists(f"{STREAM}:paused")
        assert http.post("/actions/resume", data={"csrf": token}).status_code == 303
        replay = http.post("/dead-letters/replay",
                           data={"csrf": token, "p": "0", "scope": "matching"})  # fmt: skip
        assert replay.status_code == 200
        assert 'id="replayed">1<' in replay.text
        trim = http.post("/actions/trim", data={"csrf": token})
        assert 'id="trimmed">4<' in trim.text
        prune = http.post("/consumers/prune", data={"csrf": token, "min_idle_s": "0"})
        assert "idle-and-empty" in prune.text
    assert r.xlen(f"{STREAM}:dead") == 0
    assert r.xlen(STREAM) == 7  # 10 - 4 trimmed + 1 replayed
