"""Dead letters: list, show, replay (never loses nor duplicates), purge.

Dead letters are written in the worker's format (docs/contracts.md) by hand, and, in the
last test, by a real Worker whose handler raises PermanentError.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from typing import Any

import anyio
import pytest
from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from typer.testing import CliRunner

from streams_worker import WorkerSettings
from streams_worker.cli.app import app
from streams_worker.core.keys import StreamKeys
from streams_worker.ops import dead_letters as dlq
from tests.support.handlers import Recorder
from tests.support.names import Names
from tests.support.wait import eventually
from tests.support.workers import ROOT, serving

runner = CliRunner()


def cli_json(url: str, names: Names, *args: str, code: int = 0) -> Any:
    result = runner.invoke(
        app, ["dlq", *args, "--redis-url", url, "--stream", names.stream, "--json"]
    )
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    return json.loads(result.stdout)


def dead_letter(r: Redis, names: Names, i: int, **extra: str) -> str:
    """One dead-letter entry exactly as the worker writes it."""
    fields = {
        "reason": "max_deliveries",
        "error": f"boom {i}",
        "source_stream": names.stream,
        "source_id": f"{1000 + i}-0",
        "group": names.group,
        "consumer": "pod-1",
        "delivery_count": "3",
        "dead_lettered_at": "1700000000000",
        "payload.article_id": f"urn:article:{i}",
        "payload.enqueued_at": "1699999999000",
        **extra,
    }
    return r.xadd(f"{names.stream}:dead", fields).decode()  # type: ignore[no-any-return]


@pytest.fixture
def r(redis_url: str) -> Any:
    client = Redis.from_url(redis_url)
    yield client
    client.close()


def test_list_and_show_decode_the_dead_letter_format(
    r: Redis, redis_url: str, names: Names
) -> None:
    ids = [dead_letter(r, names, i) for i in range(3)]
    doc = cli_json(redis_url, names, "list", "-n", "2")
    assert set(doc) == {"stream", "total", "lengths", "entries"}
    assert (doc["total"], doc["lengths"]) == (3, {"0": 3})
    assert [e["id"] for e in doc["entries"]] == ids[:2]
    e = doc["entries"][0]
    assert set(e) == {
        "id",
        "partition",
        "dead_letter_stream",
        "reason",
        "error",
        "source_stream",
        "source_id",
        "group",
        "consumer",
        "delivery_count",
        "dead_lettered_at",
        "payload",
    }
    assert (e["reason"], e["delivery_count"], e["source_id"]) == ("max_deliveries", 3, "1000-0")
    assert e["payload"] == {"article_id": "urn:article:0", "enqueued_at": "1699999999000"}

    shown = cli_json(redis_url, names, "show", ids[1])
    assert [x["payload"]["article_id"] for x in shown["entries"]] == ["urn:article:1"]
    assert cli_json(redis_url, names, "show", "1-1", code=1) == {"entries": []}
    assert cli_json(redis_url, names, "list", "--reason", "permanent_error")["entries"] == []


def test_list_by_reason_counts_only_that_reason_and_show_refuses_a_non_id(
    r: Redis, redis_url: str, names: Names
) -> None:
    dead_letter(r, names, 0)
    dead_letter(r, names, 1, reason="permanent_error")
    doc = cli_json(redis_url, names, "list", "--reason", "permanent_error")
    assert (doc["total"], len(doc["entries"]), doc["lengths"]) == (1, 1, {"0": 2})
    bad = runner.invoke(app, ["dlq", "show", "notanid", "--redis-url", redis_url])
    assert bad.exit_code == 2, bad.output
    assert "not an entry ID" in bad.output


def test_replay_re_enqueues_with_provenance_and_removes_atomically(
    r: Redis, redis_url: str, names: Names
) -> None:
    ids = [dead_letter(r, names, i) for i in range(3)]
    doc = cli_json(redis_url, names, "replay", ids[0], ids[2], "9-9", code=1)
    assert [x["id"] for x in doc["replayed"]] == [ids[0], ids[2]]
    assert doc["missing"] == ["9-9"]
    assert doc["refused"] == []
    assert r.xlen(f"{names.stream}:dead") == 1
    entries = r.xrange(names.stream)
    assert [e[0].decode() for e in entries] == [x["new_id"] for x in doc["replayed"]]
    fields = {k.decode(): v.decode() for k, v in entries[0][1].items()}
    assert fields["article_id"] == "urn:article:0"
    assert fields["enqueued_at"] == "1699999999000"
    assert (fields["replayed_from"], fields["replay_count"]) == ("1000-0", "1")
    assert int(fields["replayed_at"]) > 1_700_000_000_000
    # the in-queue mark now points at the re-enqueued entry (the worker's ack clears it)
    assert r.hget(f"{names.stream}:queued:{{{names.stream}}}", "urn:article:0") == entries[0][0]

    again = cli_json(redis_url, names, "replay", ids[0], code=1)
    assert (again["replayed"], again["missing"]) == ([], [ids[0]])
    rest = cli_json(redis_url, names, "replay", "--all")
    assert [x["id"] for x in rest["replayed"]] == [ids[1]]
    assert r.xlen(names.stream) == 3
    assert r.xlen(f"{names.stream}:dead") == 0


def test_replay_refuses_entries_of_another_stream_and_keeps_them(
    r: Redis, redis_url: str, names: Names
) -> None:
    dl = dead_letter(r, names, 0, source_stream="elsewhere")
    doc = cli_json(redis_url, names, "replay", "--all", code=1)
    assert doc["refused"] == [{"id": dl, "partition": 0, "why": "belongs to elsewhere"}]
    assert r.xlen(f"{names.stream}:dead") == 1
    assert r.exists(names.stream) == 0


async def test_concurrent_replays_never_lose_nor_duplicate(redis_url: str, names: Names) -> None:
    sync = Redis.from_url(redis_url)
    dl_ids = [dead_letter(sync, names, i) for i in range(200)]
    sync.close()
    keys = StreamKeys.for_stream(names.stream)
    results: list[dlq.ReplayResult] = []

    async def replay(ids: list[str] | None) -> None:
        client = AsyncRedis.from_url(redis_url)
        try:
            results.append(await dlq.replay(client, keys, ids))
        finally:
            await client.aclose()

    async with anyio.create_task_group() as tg:
        tg.start_soon(replay, None)
        tg.start_soon(replay, list(reversed(dl_ids)))
        tg.start_soon(replay, dl_ids[::2])

    replayed = Counter(x["id"] for res in results for x in res.replayed)
    assert set(replayed) == set(dl_ids)
    assert max(replayed.values()) == 1
    r = AsyncRedis.from_url(redis_url)
    try:
        assert await r.xlen(keys.partitions[0].dead_letter) == 0
        rows = await r.xrange(names.stream)
        articles = Counter(f[b"article_id"] for _, f in rows)
        assert len(rows) == 200
        assert set(articles.values()) == {1}
    finally:
        await r.aclose()


def test_purge_removes_given_ids_or_everything_with_yes(
    r: Redis, redis_url: str, names: Names
) -> None:
    ids = [dead_letter(r, names, i) for i in range(4)]
    assert cli_json(redis_url, names, "purge", ids[0]) == {"removed": 1}
    refused = runner.invoke(
        app, ["dlq", "purge", "--all", "--redis-url", redis_url, "--stream", names.stream]
    )
    assert refused.exit_code == 2
    assert r.xlen(f"{names.stream}:dead") == 3
    assert cli_json(redis_url, names, "purge", "--all", "--yes") == {"removed": 3}
    assert r.xlen(f"{names.stream}:dead") == 0


async def test_a_real_worker_dead_letters_and_replay_gets_it_processed(
    redis_url: str, names: Names
) -> None:
    r = AsyncRedis.from_url(redis_url)
    settings = WorkerSettings(
        **names.settings(redis_url=redis_url, block_ms=100, claim_interval_ms=50, http_port=0)
    )
    try:
        await r.xadd(names.stream, {"article_id": "urn:article:bad", "trace_id": "t-1"})
        await r.xadd(names.stream, {"article_id": "urn:article:good"})
        rec = Recorder(permanent={"urn:article:bad"})
        async with serving(settings, rec):
            await eventually(lambda: _xlen_is(r, f"{names.stream}:dead", 1), what="dead letter")

            async def cli(*args: str) -> Any:
                argv = [
                    sys.executable,
                    "-m",
                    "streams_worker",
                    "dlq",
                    *args,
                    "--redis-url",
                    redis_url,
                    "--stream",
                    names.stream,
                    "--json",
                ]
                done = await anyio.run_process(argv, cwd=ROOT, check=False)
                assert done.returncode == 0, done.stderr.decode()
                return json.loads(done.stdout)

            listed = await cli("list")
            (e,) = listed["entries"]
            assert (e["reason"], e["group"], e["consumer"]) == (
                "permanent_error",
                names.group,
                names.consumer,
            )
            assert e["payload"] == {"article_id": "urn:article:bad", "trace_id": "t-1"}
            rec.permanent.clear()
            replay = await cli("replay", "--all")
            assert len(replay["replayed"]) == 1

            def handled_replay() -> bool:
                return any(c.fields.get("replayed_from") == e["source_id"] for c in rec.calls)

            await eventually(_async(handled_replay), what="replayed entry handled")
        assert await r.xlen(f"{names.stream}:dead") == 0
        assert (await r.xpending(names.stream, names.group))["pending"] == 0
        replayed = [c for c in rec.calls if c.fields.get("replayed_from")]
        assert [c.fields["trace_id"] for c in replayed] == ["t-1"]
    finally:
        await r.aclose()


async def _xlen_is(r: AsyncRedis, key: str, n: int) -> bool:
    return int(await r.xlen(key)) == n


def _async(pred: Any) -> Any:
    async def wrapped() -> bool:
        return bool(pred())

    return wrapped


def test_partitioned_dead_letters_replay_onto_their_own_partition(
    r: Redis, redis_url: str, names: Names
) -> None:
    keys = StreamKeys.for_stream(names.stream, partitions=2)
    p1 = keys.partitions[1]
    dl = r.xadd(
        p1.dead_letter,
        {
            "reason": "malformed",
            "source_stream": p1.stream,
            "source_id": "5-0",
            "payload.article_id": "urn:article:p1",
        },
    )
    result = runner.invoke(
        app,
        [
            "dlq",
            "replay",
            "--all",
            "--redis-url",
            redis_url,
            "--stream",
            names.stream,
            "--partitions",
            "2",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["replayed"][0]["id"] == dl.decode()
    assert doc["replayed"][0]["partition"] == 1
    assert r.xlen(p1.stream) == 1
    assert r.exists(keys.partitions[0].stream) == 0
    assert r.xlen(p1.dead_letter) == 0
    info = runner.invoke(
        app,
        ["info", "--redis-url", redis_url, "--stream", names.stream, "--partitions", "2", "--json"],
    )
    parts = json.loads(info.stdout)["partitions"]
    assert [(p["stream"], p["length"]) for p in parts] == [
        (keys.partitions[0].stream, 0),
        (p1.stream, 1),
    ]
