"""Group-level reads against every server: lag (server's or counted), pending, ages."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from streams_worker.core import group_state, groups
from streams_worker.core.keys import StreamKeys
from tests.support.features import Server
from tests.support.names import Names

pytestmark = pytest.mark.allservers


@pytest.fixture
async def r(any_server: Server) -> AsyncIterator[Redis]:
    client = Redis.from_url(any_server.url)
    yield client
    await client.aclose()


async def fill(r: Redis, stream: str, n: int) -> list[str]:
    return [(await r.xadd(stream, {"article_id": f"urn:article:{i}"})).decode() for i in range(n)]


def part(names: Names) -> groups.Partition:
    return StreamKeys.for_stream(names.stream).partitions[0]


async def test_group_state_reports_lag_pending_backlog_and_ages(
    r: Redis, names: Names, any_server: Server
) -> None:
    ids = await fill(r, names.stream, 5)
    await r.xgroup_create(names.stream, names.group, "0")
    await r.xreadgroup(names.group, "c1", {names.stream: ">"}, count=2)
    await r.xadd(names.stream + ":dead", {"reason": "malformed"})

    s = await group_state.group_state(
        r, part(names), names.group, now_ms=groups.id_ms(ids[2]) + 1500
    )

    assert (s.group_exists, s.length, s.pending, s.lag, s.backlog) == (True, 5, 2, 3, 5)
    assert s.lag_estimated is not any_server.features.xinfo_lag
    assert s.consumers == 1
    assert s.dead_letter_length == 1
    assert s.oldest_undelivered_age_s == pytest.approx(1.5)
    assert 0 <= s.oldest_pending_age_s < 5
    assert s.last_delivered_id == ids[1]


async def test_lag_is_counted_when_the_server_figure_is_invalid_after_xdel(
    r: Redis, names: Names
) -> None:
    ids = await fill(r, names.stream, 6)
    await r.xgroup_create(names.stream, names.group, "0")
    await r.xreadgroup(names.group, "c1", {names.stream: ">"}, count=2)
    await r.xdel(names.stream, ids[4])  # an undelivered entry: 7.x reports lag nil

    s = await group_state.group_state(r, part(names), names.group)

    assert (s.lag, s.lag_estimated, s.pending, s.backlog) == (3, True, 2, 5)


async def test_lag_beyond_the_scan_limit_is_interpolated_and_flagged(
    r: Redis, names: Names, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(groups, "LAG_SCAN_LIMIT", 4)
    ids = await fill(r, names.stream, 30)
    await r.xgroup_create(names.stream, names.group, ids[14])  # arbitrary ID: lag unknown
    info = await groups.stream_info(r, names.stream)
    g = await groups.group_info(r, names.stream, names.group)
    assert info is not None
    assert g is not None
    computed = await groups.lag(r, names.stream, g, info)
    assert computed.estimated
    assert 4 <= computed.value <= 30


async def test_missing_stream_or_group_reads_as_empty(r: Redis, names: Names) -> None:
    s = await group_state.group_state(r, part(names), names.group)
    assert (s.group_exists, s.length, s.pending, s.lag, s.consumers) == (False, 0, 0, 0, 0)

    await fill(r, names.stream, 3)
    s = await group_state.group_state(r, part(names), names.group)
    assert (s.group_exists, s.length, s.lag, s.backlog) == (False, 3, 3, 3)
    assert await groups.consumer_infos(r, names.stream, "nope") == []
    assert await groups.group_infos(r, "no-such-stream") == []


async def test_pending_reads_summary_and_entries_with_filters(r: Redis, names: Names) -> None:
    ids = await fill(r, names.stream, 4)
    await r.xgroup_create(names.stream, names.group, "0")
    await r.xreadgroup(names.group, "a", {names.stream: ">"}, count=3)
    await r.xreadgroup(names.group, "b", {names.stream: ">"}, count=1)

    summary = await groups.pending_summary(r, names.stream, names.group)
    assert (summary.count, summary.min_id, summary.max_id) == (4, ids[0], ids[3])
    assert summary.consumers == {"a": 3, "b": 1}
    rows = await groups.pending_entries(r, names.stream, names.group, count=10, consumer="b")
    assert [(e.id, e.consumer, e.delivery_count) for e in rows] == [(ids[3], "b", 1)]
    assert (
        await groups.pending_entries(r, names.stream, names.group, count=10, min_idle_ms=3_600_000)
        == []
    )


async def test_lag_beyond_the_scan_limit_uses_entries_added_where_known(
    r: Redis, names: Names, monkeypatch: pytest.MonkeyPatch, any_server: Server
) -> None:
    monkeypatch.setattr(groups, "LAG_SCAN_LIMIT", 4)
    ids = await fill(r, names.stream, 30)
    await r.xgroup_create(names.stream, names.group, "0")
    await r.xreadgroup(names.group, "c1", {names.stream: ">"}, count=10)
    await r.xdel(names.stream, ids[20])  # true lag: 19; the server's lag turns nil (7.x)

    s = await group_state.group_state(r, part(names), names.group)

    assert s.lag_estimated
    if any_server.features.xinfo_lag:
        assert s.lag == 20  # entries-added - entries-read: over by the one XDEL'd entry
    else:
        assert 4 <= s.lag <= 29
