from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams_worker.core.deadletter import MAX_UNPACKED_FIELDS, Reason, build_fields, payload_of
from streams_worker.core.entry import StreamEntry, build_entry
from streams_worker.core.errors import MalformedEntryError
from streams_worker.core.keys import StreamKeys, hash_tag


def test_single_partition_keys_are_the_plain_names() -> None:
    k = StreamKeys.for_stream("articles")
    (p,) = k.partitions
    assert (p.stream, p.dead_letter) == ("articles", "articles:dead")
    assert hash_tag(p.queued) == hash_tag(p.stream)


def test_partition_companions_share_its_hash_tag() -> None:
    k = StreamKeys.for_stream("articles", partitions=4)
    assert [p.stream for p in k.partitions] == [f"articles:{{{i}}}" for i in range(4)]
    for p in k.partitions:
        assert hash_tag(p.dead_letter) == hash_tag(p.queued) == hash_tag(p.stream) == str(p.index)


def test_cluster_single_partition_dead_letter_shares_the_streams_slot() -> None:
    (p,) = StreamKeys.for_stream("articles", cluster=True).partitions
    assert hash_tag(p.dead_letter) == hash_tag(p.stream) == "articles"


raw_fields = st.dictionaries(st.binary(min_size=0, max_size=20), st.binary(max_size=200),
                             min_size=1, max_size=30)  # fmt: skip


@given(raw_fields)
def test_entry_decoding_accepts_utf8_and_rejects_everything_else(raw: dict[bytes, bytes]) -> None:
    try:
        expected = {k.decode(): v.decode() for k, v in raw.items()}
    except UnicodeDecodeError:
        with pytest.raises(MalformedEntryError):
            build_entry(b"1-0", "s", raw, 1)
    else:
        assert build_entry(b"1-0", "s", raw, 1).fields == expected


@given(st.dictionaries(st.binary(max_size=30), st.binary(max_size=100), min_size=1, max_size=40))
def test_dead_letter_payload_round_trips_exactly(raw: dict[bytes, bytes]) -> None:
    flat = build_fields(reason=Reason.MALFORMED, error="e", stream="s", entry_id="1-0",
                        group="g", consumer="c", delivery_count=1, raw=raw)  # fmt: skip
    as_bytes = [f.encode() if isinstance(f, str) else f for f in flat]
    fields = dict(zip(as_bytes[::2], as_bytes[1::2], strict=True))
    assert payload_of(fields) == raw
    assert fields[b"reason"] == b"malformed"


def test_an_entry_with_thousands_of_fields_is_packed_and_round_trips() -> None:
    raw = {f"f{i}".encode(): bytes([i % 256]) for i in range(MAX_UNPACKED_FIELDS + 5)}
    flat = build_fields(reason=Reason.MALFORMED, error="e", stream="s", entry_id="1-0",
                        group="g", consumer="c", delivery_count=1, raw=raw)  # fmt: skip
    assert len(flat) < 40
    as_bytes = [f.encode() if isinstance(f, str) else f for f in flat]
    assert payload_of(dict(zip(as_bytes[::2], as_bytes[1::2], strict=True))) == raw


def test_a_built_entry_is_the_frozen_dataclass_its_constructor_makes() -> None:
    raw = {b"article_id": b"urn:article:1", b"enqueued_at": b"1.5"}
    built = build_entry(b"1-0", "s", raw, 3)
    made = StreamEntry(id="1-0", stream="s", fields={"article_id": "urn:article:1",
                       "enqueued_at": "1.5"}, delivery_count=3, raw=raw)  # fmt: skip
    assert built == made
    assert repr(built) == repr(made)
    assert dataclasses.asdict(built) == dataclasses.asdict(made)
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.delivery_count = 4  # type: ignore[misc]
