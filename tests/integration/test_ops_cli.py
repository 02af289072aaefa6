"""The ops CLI against real groups: pending entries, dead consumers, pause, capabilities.

Commands run through typer's CliRunner (the real app, real Redis); `--json` output
is parsed and its shape checked against docs/cli.md.
"""

from __future__ import annotations

import json
import os
import socket
import time
from typing import Any

import anyio
import pytest
from redis import Redis
from typer.testing import CliRunner

from streams_worker import StreamEntry, WorkerSettings
from streams_worker.cli.app import app
from tests.support.features import Server
from tests.support.names import Names
from tests.support.wait import eventually
from tests.support.workers import serving

runner = CliRunner()


def cli(*args: str, code: int = 0) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    return result


def cli_json(url: str, names: Names, *args: str, code: int = 0) -> Any:
    flags = ["--redis-url", url, "--stream", names.stream, "--group", names.group]
    out = cli(*args, *flags, "--json", code=code).stdout
    return json.loads(out)


@pytest.fixture
def r(redis_url: str) -> Any:
    client = Redis.from_url(redis_url)
    yield client
    client.close()


def make_group(r: Redis, names: Names, n: int, *, step_ms: int = 0) -> list[str]:
    """`n` entries and a group reading from the start; with `step_ms`, explicit IDs that
    many milliseconds apart ending now (so ages are known), else server-made IDs."""
    now_ms = int(time.time() * 1000)
    ids = [
        r.xadd(
            names.stream,
            {"article_id": f"urn:article:{i}"},
            id=f"{now_ms - (n - i) * step_ms}-0" if step_ms else "*",
        ).decode()
        for i in range(n)
    ]
    r.xgroup_create(names.stream, names.group, "0")
    return ids


def test_pending_shows_summary_oldest_entries_and_filters(
    r: Redis, redis_url: str, names: Names
) -> None:
    ids = make_group(r, names, 6)
    r.xreadgroup(names.group, "dead-pod", {names.stream: ">"}, count=3)
    r.xreadgroup(names.group, "dead-pod", {names.stream: "0"})  # 2nd delivery of those 3
    r.xreadgroup(names.group, "live", {names.stream: ">"}, count=2)
    r.xdel(names.stream, ids[4])  # pending but deleted: no article ID any more

    doc = cli_json(redis_url, names, "pending", "-n", "4")
    assert set(doc) == {"stream", "group", "total_pending", "total_waiting", "partitions"}
    assert doc["total_pending"] == 5
    assert doc["total_waiting"] == 0
    (part,) = doc["partitions"]
    assert set(part) == {
        "partition",
        "stream",
        "pending",
        "min_id",
        "max_id",
        "consumers",
        "entries",
        "waiting",
    }
    assert part["waiting"] == {"count": 0, "next_attempt_ms": None, "next_attempt_in_ms": None}
    assert {c["name"]: c["pending"] for c in part["consumers"]} == {"dead-pod": 3, "live": 2}
    assert [e["id"] for e in part["entries"]] == ids[:4]
    first = part["entries"][0]
    assert set(first) == {
        "id", "consumer", "idle_ms", "delivery_count", "next_attempt_ms", "article_id",
    }  # fmt: skip
    assert first["next_attempt_ms"] is None  # not waiting to retry
    assert (first["consumer"], first["delivery_count"]) == ("dead-pod", 2)
    assert first["article_id"] == "urn:article:0"

    live = cli_json(redis_url, names, "pending", "--consumer", "live")["partitions"][0]
    assert [(e["id"], e["article_id"]) for e in live["entries"]] == [
        (ids[3], "urn:article:3"),
        (ids[4], None),
    ]
    retried = cli_json(redis_url, names, "pending", "--min-deliveries", "2")["partitions"][0]
    assert [e["id"] for e in retried["entries"]] == ids[:3]
    old = cli_json(redis_url, names, "pending", "--older-than", "1h")["partitions"][0]
    assert old["entries"] == []
    table = cli(
        "pending", "--redis-url", redis_url, "--stream", names.stream, "--group", names.group
    ).stdout
    assert "dead-pod" in table
    assert "urn:article:0" in table


def test_info_shows_stream_groups_lag_and_consumers(r: Redis, redis_url: str, names: Names) -> None:
    ids = make_group(r, names, 5, step_ms=10_000)  # ages 50, 40, 30, 20, 10 s
    r.xreadgroup(names.group, "c1", {names.stream: ">"}, count=2)
    r.xadd(names.stream + ":dead", {"reason": "malformed"})

    doc = cli_json(redis_url, names, "info")
    assert set(doc) == {"stream", "group", "paused", "partitions"}
    (part,) = doc["partitions"]
    assert (part["exists"], part["length"], part["first_id"], part["last_id"]) == (
        True,
        5,
        ids[0],
        ids[-1],
    )
    assert (part["dead_letter_stream"], part["dead_letter_length"]) == (names.stream + ":dead", 1)
    (g,) = part["groups"]
    assert (g["name"], g["lag"], g["pending"], g["backlog"], g["consumer_count"]) == (
        names.group,
        3,
        2,
        5,
        1,
    )
    assert g["last_delivered_id"] == ids[1]
    # the first entry after last-delivered-id (ids[2], 30 s old), in seconds
    assert g["oldest_undelivered_age_seconds"] == pytest.approx(30, abs=5)
    (c,) = g["consumers"]
    assert set(c) == {"name", "pending", "idle_ms", "inactive_ms"}
    assert (c["name"], c["pending"]) == ("c1", 2)
    assert (
        "c1"
        in cli(
            "info", "--redis-url", redis_url, "--stream", names.stream, "--group", names.group
        ).stdout
    )


def test_consumers_prune_removes_only_idle_consumers_holding_nothing(
    r: Redis, redis_url: str, names: Names
) -> None:
    make_group(r, names, 2)
    r.xreadgroup(names.group, "holder", {names.stream: ">"}, count=1)
    r.xgroup_createconsumer(names.stream, names.group, "dead-and-empty")

    kept = cli_json(redis_url, names, "consumers", "--prune", "--min-idle", "1h")
    assert kept["pruned"] == []
    assert {c["name"] for c in kept["consumers"]} == {"holder", "dead-and-empty"}

    time.sleep(0.02)  # idle must be >= 1 ms for the 1 ms threshold below
    doc = cli_json(redis_url, names, "consumers", "--prune", "--min-idle", "1ms")
    assert doc["pruned"] == [{"partition": 0, "name": "dead-and-empty"}]
    assert [c["name"] for c in doc["consumers"]] == ["holder"]
    assert set(doc["consumers"][0]) == {
        "partition", "name", "pending", "idle_ms", "inactive_ms", "holder",
    }  # fmt: skip
    assert doc["consumers"][0]["holder"] is None  # no live replica holds the name


async def test_consumers_show_the_live_holder_and_prune_never_removes_it(
    redis_url: str, names: Names
) -> None:
    """A live replica that holds nothing (paused, or idle) is not a dead consumer."""
    settings = WorkerSettings(**names.settings(redis_url=redis_url, http_port=0, block_ms=50))
    r = Redis.from_url(redis_url)
    async with serving(settings, _noop):
        # The flag itself (the CLI's `pause` would also wait for this replica's
        # confirmation, whose log lines land in the captured output).
        r.set(f"{names.stream}:paused", "1")

        async def idle_ms() -> int:
            rows = r.xinfo_consumers(names.stream, names.group)
            return min((int(c["idle"]) for c in rows), default=0)

        # Paused, it stops reading: its consumer goes idle while the replica lives.
        await eventually(lambda: _gt(idle_ms(), 300), timeout=10, what="an idle live consumer")
        doc = await anyio.to_thread.run_sync(
            lambda: cli_json(redis_url, names, "consumers", "--prune", "--min-idle", "100ms")
        )
    assert doc["pruned"] == []
    (row,) = doc["consumers"]
    assert row["name"] == names.consumer
    assert row["holder"]["pid"] == os.getpid()
    assert row["holder"]["host"] == socket.gethostname()


async def _noop(entry: StreamEntry) -> None:
    return None


async def _gt(value: Any, bound: int) -> bool:
    return int(await value) > bound


def test_pause_and_resume_set_and_clear_the_flag(r: Redis, redis_url: str, names: Names) -> None:
    key = f"{names.stream}:paused"
    no_replicas = {"confirmed": [], "unconfirmed": []}
    assert cli_json(redis_url, names, "pause") == {"paused": True, "key": key, **no_replicas}
    assert r.get(key) == b"1"
    assert cli_json(redis_url, names, "info")["paused"] is True
    assert cli_json(redis_url, names, "resume") == {"paused": False, "was_paused": True, "key": key}
    assert r.exists(key) == 0


def test_capabilities_names_the_server_and_its_stream_features(any_server: Server) -> None:
    doc = json.loads(cli("capabilities", "--redis-url", any_server.url, "--json").stdout)
    assert set(doc) == {
        "server",
        "version",
        "redis_version",
        "mode",
        "supported",
        "features",
        "strategy",
    }
    assert doc["server"] in ("redis", "valkey")
    assert doc["supported"] is True
    has = any_server.features  # checked against the server's behaviour in tests/contract
    assert (doc["server"], doc["version"]) == (has.server, has.version)
    assert doc["features"]["xautoclaim"] is True
    assert doc["features"]["xautoclaim_deleted_ids"] is has.xautoclaim_reports_deleted
    assert doc["features"]["xinfo_lag"] is has.xinfo_lag
    assert doc["features"]["xinfo_consumers_inactive"] is has.xinfo_consumers_inactive
    assert ("estimated" in doc["strategy"]["lag"]) is True
    assert ("XINFO GROUPS lag" in doc["strategy"]["lag"]) is has.xinfo_lag


def test_a_bad_setting_is_one_line_and_exit_2(redis_url: str) -> None:
    result = cli("info", "--redis-url", redis_url, "--partitions", "0", code=2)
    assert result.stderr.count("\n") == 1
    assert "WORKER_PARTITIONS" in result.stderr


def test_unreachable_redis_is_one_line_and_exit_1() -> None:
    from streams_worker.dev.embedded import free_port

    url = f"redis://:secretpw@127.0.0.1:{free_port()}/0"
    result = cli("pending", "--redis-url", url, code=1)
    assert result.stderr.count("\n") == 1
    assert "Redis error" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "secretpw" not in result.stderr
