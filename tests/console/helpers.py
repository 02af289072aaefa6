"""Data for the console tests: streams with pending entries and dead letters."""

from __future__ import annotations

import redis

from streams_worker.core.deadletter import Reason, build_fields

#: Entry content that would execute if any field were rendered unescaped.
SCRIPT = "<script>window.__pwned = 1; alert('x')</script>"
IMG = '"><img id="injected" src=x onerror="window.__pwned=2;alert(2)">'


def dead_letter(r: redis.Redis, key: str, source: str, article: str, **extra: bytes) -> str:
    """A dead letter as the worker writes it (core.deadletter.build_fields)."""
    raw = {b"article_id": article.encode(), **{k.encode(): v for k, v in extra.items()}}
    fields = build_fields(
        reason=Reason.PERMANENT, error=f"cannot handle {article}", stream=source,
        entry_id="1-0", group="g", consumer="c", delivery_count=1, raw=raw,
    )  # fmt: skip
    flat = dict(zip(fields[::2], fields[1::2], strict=True))
    return r.xadd(key, flat).decode()  # type: ignore[arg-type, union-attr]


def hostile_fields(n_fields: int = 4000) -> dict[bytes, bytes]:
    out = {
        b"article_id": b"hostile",
        b"script": SCRIPT.encode(),
        b"img": IMG.encode(),
        IMG.encode(): b"a field name is hostile too",
        b"bad_utf8": b"\xff\xfe\xc3(\x80 not utf-8",
        b"huge": b"H" * 1_000_000,
    }
    for i in range(n_fields - len(out)):
        out[f"f{i:04d}".encode()] = f"v{i}".encode()
    return out
