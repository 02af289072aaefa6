"""The unit of work handed to handlers, and its decoding from raw Redis replies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from streams_worker.core.errors import MalformedEntryError

#: Metadata fields the producer adds beside the payload.
ENQUEUED_AT_FIELD = "enqueued_at"
TRACE_ID_FIELD = "trace_id"


@dataclass(frozen=True, slots=True)
class StreamEntry:
    """One stream entry as delivered to this consumer.

    `delivery_count` is Redis' own counter from the pending entries list: 1 on the
    first delivery, higher after a claim or a re-read. Handlers use it to tell a
    retry from a first attempt.
    """

    id: str
    stream: str
    fields: Mapping[str, str]
    delivery_count: int = 1
    raw: Mapping[bytes, bytes] = field(default_factory=dict, repr=False, compare=False)


def decode_fields(raw: Mapping[bytes, bytes]) -> dict[str, str]:
    """Decode raw field/value bytes as UTF-8, strictly.

    Strictness is deliberate: a handler should never see mojibake; an entry that
    is not valid UTF-8 is malformed and goes to the dead-letter stream.
    """
    try:
        return {k.decode("utf-8"): v.decode("utf-8") for k, v in raw.items()}
    except UnicodeDecodeError as exc:
        raise MalformedEntryError(f"field is not valid UTF-8: {exc}") from exc


def build_entry(
    entry_id: bytes | str, stream: str, raw: Mapping[bytes, bytes], delivery_count: int
) -> StreamEntry:
    """Build a `StreamEntry`; raises `MalformedEntryError` if the fields do not decode."""
    eid = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return StreamEntry(
        id=eid, stream=stream, fields=decode_fields(raw), delivery_count=delivery_count, raw=raw
    )
