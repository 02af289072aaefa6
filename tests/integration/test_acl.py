"""k8s/redis/users.acl for real: a server started with it, each role doing its job
under its own user, and refused what it must not do.

Here: command by command (the stream layer, KEDA's reads, the refusals). The real
processes under their users are in test_acl_roles.py. Passwords and key names:
tests/support/acl.py.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import pytest
import redis
from redis.asyncio import Redis
from redis.exceptions import NoPermissionError

from producer.enqueue import Enqueuer
from streams_worker.core.keys import StreamKeys
from streams_worker.core.streams import Streams
from streams_worker.dev.embedded import RedisProcess
from tests.conftest import BINARIES
from tests.support.acl import ACL_FILE, GROUP, PASSWORDS, STREAM

KEYS = StreamKeys.for_stream(STREAM)
PART = KEYS.partitions[0]


@pytest.mark.parametrize("binary", BINARIES, ids=[b.label for b in BINARIES])
def test_the_acl_file_loads_on_every_server(
    binary: Any, private_redis: Callable[..., RedisProcess]
) -> None:
    server = private_redis(binary, extra_args=["--aclfile", str(ACL_FILE)])
    for role, password in PASSWORDS.items():
        with redis.Redis(port=server.port, username=role, password=password) as r:
            assert r.ping()
    # The default user is off: a client that does not log in can do nothing.
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(b"PING\r\n")
        assert s.recv(64).startswith(b"-NOAUTH")


@pytest.fixture
def server(private_redis: Callable[..., RedisProcess]) -> RedisProcess:
    return private_redis(extra_args=["--aclfile", str(ACL_FILE)])


@pytest.fixture
async def login(server: RedisProcess) -> AsyncIterator[Callable[[str], Redis]]:
    clients: list[Redis] = []

    def connect(role: str) -> Redis:
        client = Redis(port=server.port, username=role, password=PASSWORDS[role], protocol=2)
        clients.append(client)
        return client

    yield connect
    for c in clients:
        await c.aclose()


async def enqueue_as_producer(r: Redis, articles: list[str]) -> list[str]:
    """The producer's own enqueue path (its Lua script) on a `producer` login."""
    keys = StreamKeys.for_stream(STREAM)
    result = await Enqueuer(r, keys).enqueue(articles, force=False, trace_id=None)
    assert result.enqueued == len(articles)
    return [result.entry_ids[a] for a in articles]


async def test_worker_stream_layer_commands_are_all_allowed(
    server: RedisProcess, login: Callable[[str], Redis]
) -> None:
    worker = login("worker")
    streams = Streams(worker, GROUP, "worker-0")
    (entry,) = await enqueue_as_producer(login("producer"), ["urn:article:x"])
    assert await streams.ensure_group(PART.stream)
    assert await streams.stream_exists(PART.stream)
    assert len(await streams.read(worker, PART.stream, ">", 10, None)) == 1
    assert await streams.own_pending(PART.stream) == {entry: 1}
    assert await streams.missing_ids(PART.stream, [entry]) == []
    claimed = await streams.autoclaim(PART.stream, 0, "0-0", 10)
    assert [e.id for e in claimed.entries] == [entry]
    assert (await streams.renew(PART.stream, [entry])).count == 1
    assert await streams.pending_total(PART.stream) == 1
    fields = ["reason", "permanent_error", "payload.article_id", "urn:article:x"]
    assert await streams.dead_letter(PART.stream, PART.dead_letter, PART.queued, entry,
                                     "urn:article:x", fields)  # fmt: skip
    await worker.execute_command("XGROUP", "CREATECONSUMER", PART.stream, GROUP, "gone-pod")
    await anyio.sleep(0.01)
    assert await streams.prune_consumers(PART.stream, 1) == ["gone-pod"]
    assert await streams.xack(PART.stream, [entry]) == 0
    assert not await worker.exists(KEYS.paused)  # the pause flag is read every loop


WORKER_REFUSED = [
    ("XGROUP", "DESTROY", STREAM, GROUP),
    ("XGROUP", "SETID", STREAM, GROUP, "0"),
    ("FLUSHALL",),
    ("FLUSHDB",),
    ("CONFIG", "GET", "*"),
    ("KEYS", "*"),
    ("DEL", STREAM),
    ("SET", KEYS.paused, "1"),  # pausing is the operator's job
    ("GET", "enrichment:processed"),  # other keys, e.g. the old worker's set
    ("XADD", "other-stream", "*", "f", "v"),
    ("XREADGROUP", "GROUP", GROUP, "c", "STREAMS", "other-stream", ">"),
    ("ACL", "LIST"),
    ("SCRIPT", "FLUSH"),
    ("SHUTDOWN",),
]


@pytest.mark.parametrize("command", WORKER_REFUSED, ids=lambda c: " ".join(c[:2]))
async def test_worker_is_refused_what_it_must_not_do(
    login: Callable[[str], Redis], command: tuple[str, ...]
) -> None:
    worker = login("worker")
    await worker.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    with pytest.raises(NoPermissionError):
        await worker.execute_command(*command)


async def test_autoscaler_reads_what_keda_reads_and_nothing_else(
    login: Callable[[str], Redis],
) -> None:
    await login("worker").xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    keda = login("autoscaler")
    # KEDA's redis-streams scaler: lagCount -> XINFO GROUPS, pendingEntriesCount ->
    # XPENDING (summary), streamLength -> XLEN.
    groups = await keda.execute_command("XINFO", "GROUPS", STREAM)
    assert groups
    assert groups[0][1] == GROUP.encode()
    assert (await keda.execute_command("XPENDING", STREAM, GROUP))["pending"] == 0
    assert await keda.xlen(STREAM) == 0
    for command in [("XADD", STREAM, "*", "f", "v"), ("XREADGROUP", "GROUP", GROUP, "k",
                    "STREAMS", STREAM, ">"), ("XACK", STREAM, GROUP, "0-1"),
                    ("XGROUP", "CREATE", STREAM, "g2", "0"), ("GET", KEYS.paused),
                    ("XRANGE", STREAM, "-", "+"), ("XINFO", "GROUPS", "other"),
                    ("HGETALL", PART.queued)]:  # fmt: skip
        with pytest.raises(NoPermissionError):
            await keda.execute_command(*command)


async def test_producer_writes_entries_and_marks_only(login: Callable[[str], Redis]) -> None:
    producer = login("producer")
    (entry,) = await enqueue_as_producer(producer, ["urn:article:p"])
    assert await producer.hget(PART.queued, "urn:article:p") == entry.encode()
    assert len(await producer.xrange(PART.stream, entry, entry)) == 1
    for command in [("XGROUP", "CREATE", STREAM, GROUP, "0"), ("XREADGROUP", "GROUP", GROUP,
                    "p", "STREAMS", STREAM, ">"), ("XACK", STREAM, GROUP, entry),
                    ("XDEL", STREAM, entry), ("XTRIM", STREAM, "MAXLEN", "0"),
                    ("XADD", PART.dead_letter, "*", "f", "v"), ("SET", KEYS.paused, "1"),
                    ("FLUSHALL",), ("XADD", "other", "*", "f", "v")]:  # fmt: skip
        with pytest.raises(NoPermissionError):
            await producer.execute_command(*command)


async def test_operator_can_pause_trim_and_inspect_but_not_destroy(
    login: Callable[[str], Redis],
) -> None:
    op = login("operator")
    await login("worker").xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    await op.set(KEYS.paused, "1")
    assert await op.exists(KEYS.paused) == 1
    await op.delete(KEYS.paused)
    assert await op.execute_command("XINFO", "CONSUMERS", STREAM, GROUP) == []
    refused = [("XGROUP", "DESTROY", STREAM, GROUP), ("FLUSHALL",), ("KEYS", "*"),
               ("CONFIG", "SET", "appendonly", "no"), ("GET", "x"), ("ACL", "LIST")]  # fmt: skip
    for command in refused:
        with pytest.raises(NoPermissionError):
            await op.execute_command(*command)
