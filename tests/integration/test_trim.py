"""Safe trimming: never an entry that is pending or undelivered; everything else goes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from streams_worker.core.keys import StreamKeys
from streams_worker.core.trim import TrimMetrics, safe_trim, trim_loop
from tests.support.names import Names
from tests.support.wait import eventually


async def _ids(client: Redis, stream: str) -> list[str]:
    return [eid.decode() for eid, _ in await client.xrange(stream)]


async def test_stream_without_group_is_never_trimmed(redis_url: str, names: Names) -> None:
    async with Redis.from_url(redis_url) as client:
        for i in range(5):
            await client.xadd(names.stream, {"article_id": f"urn:article:a{i}"})
        result = await safe_trim(client, StreamKeys.for_stream(names.stream))
        assert result.trimmed == 0
        assert await client.xlen(names.stream) == 5


async def test_trim_keeps_pending_and_undelivered_and_removes_acked(
    any_redis_url: str, names: Names
) -> None:
    keys = StreamKeys.for_stream(names.stream)
    registry = CollectorRegistry()
    async with Redis.from_url(any_redis_url) as client:
        ids = [(await client.xadd(names.stream, {"n": str(i)})).decode() for i in range(10)]
        await client.xgroup_create(names.stream, names.group, id="0")
        await client.xreadgroup(names.group, "c1", {names.stream: ">"}, count=6)
        await client.xack(names.stream, names.group, ids[0], ids[1], ids[2], ids[4])

        dry = await safe_trim(client, keys, dry_run=True)
        assert (dry.trimmed, dry.partitions[0].boundary) == (3, ids[3])
        assert await client.xlen(names.stream) == 10  # a dry run removes nothing

        result = await safe_trim(client, keys, metrics=TrimMetrics(registry, stream=names.stream))
        # ids[3] is still pending: it and everything after it stay, acked ids[4] included.
        assert await _ids(client, names.stream) == ids[3:]
        assert result.trimmed == 3
        assert (
            registry.get_sample_value(
                "streams_worker_trimmed_total", {"stream": names.stream, "partition": "0"}
            )
            == 3
        )

        await client.xack(names.stream, names.group, ids[3], ids[5])
        await safe_trim(client, keys)
        assert await _ids(client, names.stream) == ids[6:]  # never delivered: kept


async def test_the_slowest_group_decides(redis_url: str, names: Names) -> None:
    keys = StreamKeys.for_stream(names.stream)
    async with Redis.from_url(redis_url) as client:
        ids = [(await client.xadd(names.stream, {"n": str(i)})).decode() for i in range(6)]
        await client.xgroup_create(names.stream, "fast", id="0")
        await client.xgroup_create(names.stream, "slow", id="0")
        await client.xreadgroup("fast", "c", {names.stream: ">"})
        await client.xack(names.stream, "fast", *ids)
        await client.xreadgroup("slow", "c", {names.stream: ">"}, count=2)
        await client.xack(names.stream, "slow", ids[0], ids[1])
        assert (await safe_trim(client, keys)).trimmed == 2
        assert await _ids(client, names.stream) == ids[2:]


async def test_every_partition_is_trimmed(redis_url: str, names: Names) -> None:
    keys = StreamKeys.for_stream(names.stream, partitions=3)
    async with Redis.from_url(redis_url) as client:
        for part in keys.partitions:
            eid = await client.xadd(part.stream, {"n": "1"})
            await client.xgroup_create(part.stream, names.group, id="0")
            await client.xreadgroup(names.group, "c", {part.stream: ">"})
            await client.xack(part.stream, names.group, eid)
        result = await safe_trim(client, keys)
        assert [p.trimmed for p in result.partitions] == [1, 1, 1]
        assert result.as_dict()["trimmed"] == 3


async def test_trim_loop_trims_on_its_interval(redis_url: str, names: Names) -> None:
    keys = StreamKeys.for_stream(names.stream)
    async with Redis.from_url(redis_url) as client:
        eid = await client.xadd(names.stream, {"n": "1"})
        await client.xadd(names.stream, {"n": "2"})
        await client.xgroup_create(names.stream, names.group, id="0")
        await client.xreadgroup(names.group, "c", {names.stream: ">"}, count=1)
        await client.xack(names.stream, names.group, eid)
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: trim_loop(client, keys, interval_ms=20))

            async def trimmed() -> bool:
                return int(await client.xlen(names.stream)) == 1

            await eventually(trimmed, timeout=5, what="the loop to trim the acked entry")
            tg.cancel_scope.cancel()


# --- property: random interleavings of add / read / ack / trim ---------------------

GROUPS = ("g1", "g2")

ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(1, 4)),
        st.tuples(st.just("read"), st.sampled_from(GROUPS), st.integers(1, 3)),
        st.tuples(st.just("ack"), st.sampled_from(GROUPS), st.integers(0, 10)),
        st.tuples(st.just("trim")),
    ),
    min_size=1,
    max_size=25,
)


@dataclass
class Model:
    """What each group still needs, tracked independently of the server."""

    delivered: dict[str, int] = field(default_factory=lambda: dict.fromkeys(GROUPS, 0))
    pending: dict[str, list[str]] = field(default_factory=lambda: {g: [] for g in GROUPS})
    added: list[str] = field(default_factory=list)

    def needed(self) -> set[str]:
        out: set[str] = set()
        for g in GROUPS:
            out |= set(self.pending[g]) | set(self.added[self.delivered[g] :])
        return out


async def _run(url: str, operations: list[tuple[object, ...]]) -> None:
    stream = f"t:trim-prop:{uuid.uuid4().hex[:10]}"
    keys = StreamKeys.for_stream(stream)
    model = Model()
    async with Redis.from_url(url) as client:
        await client.xgroup_create(stream, "g1", id="0", mkstream=True)
        await client.xgroup_create(stream, "g2", id="0")
        for op in operations:
            if op[0] == "add":
                for _ in range(int(str(op[1]))):
                    model.added.append((await client.xadd(stream, {"f": "v"})).decode())
            elif op[0] == "read":
                g, n = str(op[1]), int(str(op[2]))
                reply = await client.xreadgroup(g, "c", {stream: ">"}, count=n)
                got = [eid.decode() for _, entries in reply for eid, _ in entries]
                assert got == model.added[model.delivered[g] : model.delivered[g] + len(got)]
                model.delivered[g] += len(got)
                model.pending[g] += got
            elif op[0] == "ack":
                g, i = str(op[1]), int(str(op[2]))
                if model.pending[g]:
                    eid = model.pending[g].pop(i % len(model.pending[g]))
                    await client.xack(stream, g, eid)
            else:
                needed = model.needed()
                await safe_trim(client, keys)
                present = set(await _ids(client, stream))
                assert needed <= present, "trim removed an entry some group still needs"
                if needed:
                    oldest = min(needed, key=lambda e: tuple(map(int, e.split("-"))))
                    assert present == {e for e in model.added if _ge(e, oldest)}
                else:
                    assert present == set(), "trim left entries nobody needs"
        await client.delete(stream)


def _ge(a: str, b: str) -> bool:
    return tuple(map(int, a.split("-"))) >= tuple(map(int, b.split("-")))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(operations=ops)
def test_trim_never_removes_what_a_group_needs(
    redis_url: str, operations: list[tuple[object, ...]]
) -> None:
    anyio.run(_run, redis_url, operations)


@pytest.mark.parametrize("dry_run", [True, False])
async def test_missing_stream_is_a_no_op(redis_url: str, names: Names, dry_run: bool) -> None:
    async with Redis.from_url(redis_url) as client:
        result = await safe_trim(client, StreamKeys.for_stream(names.stream), dry_run=dry_run)
        assert result.trimmed == 0
        assert not await client.exists(names.stream)
