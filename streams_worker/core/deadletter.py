"""The dead-letter entry format: why it failed, where it came from, its payload.

Fields (all strings): reason, error, source_stream, source_id, group, consumer,
delivery_count, dead_lettered_at (ms), then each original field as
`payload.<name>` with its raw bytes, so a replay restores the entry exactly.
An entry with more fields than one script call can carry is stored packed in
`payload_packed` (JSON list of [name, value] pairs, each latin-1-decoded bytes).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from enum import StrEnum

PAYLOAD_PREFIX = "payload."
PACKED_FIELD = "payload_packed"
MAX_ERROR_CHARS = 4000
#: Lua's unpack() stops near 8,000 values; stay well below it.
MAX_UNPACKED_FIELDS = 3000


class Reason(StrEnum):
    MAX_DELIVERIES = "max_deliveries"  # the handler failed WORKER_MAX_DELIVERIES times
    PERMANENT = "permanent_error"  # the handler raised PermanentError
    MALFORMED = "malformed"  # the entry could not be decoded
    CRASHED = "crashed"  # delivered past the cap without ever finishing (worker died)


def build_fields(
    *,
    reason: Reason,
    error: str,
    stream: str,
    entry_id: str,
    group: str,
    consumer: str,
    delivery_count: int,
    raw: Mapping[bytes, bytes],
) -> list[bytes | str]:
    """Flat field/value list for XADD to the dead-letter stream."""
    out: list[bytes | str] = [
        "reason", reason.value,
        "error", error[:MAX_ERROR_CHARS],
        "source_stream", stream,
        "source_id", entry_id,
        "group", group,
        "consumer", consumer,
        "delivery_count", str(delivery_count),
        "dead_lettered_at", str(int(time.time() * 1000)),
    ]  # fmt: skip
    if len(raw) > MAX_UNPACKED_FIELDS:
        pairs = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in raw.items()]
        out += [PACKED_FIELD, json.dumps(pairs)]
        return out
    for k, v in raw.items():
        out += [PAYLOAD_PREFIX.encode() + k, v]
    return out


def payload_of(fields: Mapping[bytes, bytes]) -> dict[bytes, bytes]:
    """The original fields of a dead-letter entry (for replay)."""
    packed = fields.get(PACKED_FIELD.encode())
    if packed is not None:
        return {k.encode("latin-1"): v.encode("latin-1") for k, v in json.loads(packed)}
    n = len(PAYLOAD_PREFIX)
    return {k[n:]: v for k, v in fields.items() if k.startswith(PAYLOAD_PREFIX.encode())}
