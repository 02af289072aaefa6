"""Hostile entries, fuzzed with Hypothesis, against the real enrichment handler and
the sample catalog: each one that cannot be processed lands in the dead-letter
stream with its reason and its original fields; the worker never crashes or stalls.

Expected outcome, decided independently of the worker:
fields not UTF-8 -> `malformed`; an article_id (stripped) the catalog has ->
acked, whatever junk rides along; anything else -> `permanent_error`.
"""

from __future__ import annotations

from collections.abc import Iterator

import anyio.from_thread
import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams_worker import Worker, WorkerSettings
from streams_worker.core.deadletter import payload_of
from streams_worker.core.settings import load
from streams_worker.enrichment.handler import build_handler
from streams_worker.enrichment.sample_catalog import SampleCatalog
from tests.support.catalog import settings_for
from tests.support.names import Names
from tests.support.wait import wait_for

Fields = dict[bytes, bytes]


@pytest.fixture(scope="module")
def catalog() -> Iterator[SampleCatalog]:
    with SampleCatalog.start(articles=5) as c:
        yield c


def hostile(known: list[str]) -> st.SearchStrategy[Fields]:
    ids = st.one_of(
        st.sampled_from(known).map(str.encode),
        st.sampled_from(known).map(lambda u: f"  {u}\t".encode()),  # padded but fine
        st.binary(max_size=60),  # random bytes, often not UTF-8
        st.text(max_size=60).map(str.encode),
        st.integers(1000, 1_000_000).map(lambda n: b"urn:article:" + b"a" * n),  # huge
        st.just(b"urn:article:\xff\xfe"),  # invalid UTF-8 in a plausible ID
        st.just(b"urn:article:not-in-the-catalog"),
    )
    junk = st.dictionaries(st.binary(min_size=1, max_size=20), st.binary(max_size=100),
                           max_size=5)  # fmt: skip
    many = st.integers(1000, 4000).map(
        lambda n: {f"extra_{i}".encode(): b"x" * (i % 7) for i in range(n)}
    )
    with_id = st.builds(
        lambda aid, extra: {**extra, b"article_id": aid}, ids, st.one_of(junk, many)
    )
    without_id = st.one_of(junk, many).filter(lambda f: b"article_id" not in f and len(f) > 0)
    return st.one_of(with_id, without_id)


def expected(fields: Fields, known: set[str]) -> str:
    try:
        decoded = {k.decode(): v.decode() for k, v in fields.items()}
    except UnicodeDecodeError:
        return "malformed"
    aid = decoded.get("article_id")
    return "acked" if aid is not None and aid.strip() in known else "permanent_error"


def test_hostile_entries_are_dead_lettered_with_their_reason_and_the_worker_survives(
    redis_url: str, names: Names, catalog: SampleCatalog
) -> None:
    r = redis.Redis.from_url(redis_url)
    known = sorted(catalog.store.articles)
    conf = load(WorkerSettings, redis_url=redis_url, http_port=0, block_ms=50, max_deliveries=1,
                concurrency=8, claim_min_idle_ms=30_000, **names.settings())  # fmt: skip
    dead_key = conf.keys().partitions[0].dead_letter
    dead: dict[str, dict[bytes, bytes]] = {}
    last_dead = "0"
    seen: dict[str, int] = {}

    def outcome(eid: str, timeout: float = 10.0) -> str:
        def settled_as() -> str:  # "" while the entry is still in flight
            nonlocal last_dead
            # Settled first (delivered, no longer pending), then where it went: the
            # dead-letter script adds and acks atomically, so this order cannot race.
            group = next(
                g for g in r.xinfo_groups(names.stream) if g["name"].decode() == names.group
            )
            delivered = tuple(map(int, group["last-delivered-id"].decode().split("-")))
            settled = delivered >= tuple(map(int, eid.split("-"))) and not r.xpending_range(
                names.stream, names.group, eid, eid, 1
            )
            for did, f in r.xrange(dead_key, min=f"({last_dead}", max="+"):
                last_dead = did.decode()
                dead[f[b"source_id"].decode()] = f
            if eid in dead:
                return dead[eid][b"reason"].decode()
            return "acked" if settled else ""

        try:
            return wait_for(settled_as, timeout=timeout, interval=0.005, what=f"{eid} settled")
        except AssertionError:
            return "stalled"

    handler = build_handler(settings_for(catalog))
    with anyio.from_thread.start_blocking_portal() as portal:
        worker = Worker(conf, handler)
        with portal.wrap_async_context_manager(worker.background()):

            @settings(max_examples=60, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                             HealthCheck.filter_too_much])  # fmt: skip
            @given(fields=hostile(known))
            def check(fields: Fields) -> None:
                eid = r.xadd(names.stream, fields).decode()  # type: ignore[arg-type]
                want = expected(fields, set(known))
                got = outcome(eid)
                assert got == want, (
                    got,
                    want,
                    {k[:40]: v[:80] for k, v in list(fields.items())[:5]},
                )
                seen[got] = seen.get(got, 0) + 1
                if got != "acked":
                    d = dead[eid]
                    assert d[b"error"], "a dead letter must say why"
                    assert d[b"source_stream"].decode() == names.stream
                    assert payload_of(d) == fields, "the original fields, byte for byte"

            check()
            assert worker.healthy()
            eid = r.xadd(names.stream, {"article_id": known[0]}).decode()
            assert outcome(eid, timeout=5) == "acked", "the worker stalled after the fuzzing"
    assert set(seen) >= {"malformed", "permanent_error"}, seen
