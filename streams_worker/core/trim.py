"""Safe trimming: remove only entries that no group needs any more.

Per partition one script (`lua/trim.lua`) finds the oldest entry any group still
needs (its first pending entry, or the first one after its last-delivered-id) and
runs `XTRIM MINID` at that boundary, atomically, so a read, a claim or a new group
cannot slip in between the look and the cut. A stream with no group is never
trimmed. The script also checks that no pending entry lies below the boundary; if
one did, it removes nothing and the refusal is counted and logged.

The worker runs `trim_loop` every `trim_interval_ms`; operators run
`streams-worker trim [--dry-run]`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import anyio
from prometheus_client import CollectorRegistry, Counter

from streams_worker.core.connection import Client
from streams_worker.core.keys import StreamKeys
from streams_worker.core.logs import get_logger
from streams_worker.core.policy import REDIS_ERRORS, Trouble
from streams_worker.core.streams import lua_source, text


@dataclass(frozen=True, slots=True)
class PartitionTrim:
    """What trimming one partition did (or, in a dry run, would do)."""

    partition: int
    stream: str
    trimmed: int
    boundary: str | None  # entries below this ID were (or would be) removed
    refused: bool = False  # a pending entry lay below the boundary: nothing removed


@dataclass(frozen=True, slots=True)
class TrimResult:
    dry_run: bool
    partitions: tuple[PartitionTrim, ...] = field(default_factory=tuple)

    @property
    def trimmed(self) -> int:
        return sum(p.trimmed for p in self.partitions)

    @property
    def refused(self) -> bool:
        return any(p.refused for p in self.partitions)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "trimmed": self.trimmed,
            "refused": self.refused,
            "partitions": [asdict(p) for p in self.partitions],
        }


class TrimMetrics:
    """`streams_worker_trimmed_total` and `streams_worker_trim_refused_total`."""

    def __init__(self, registry: CollectorRegistry, *, stream: str, partitions: int = 1) -> None:
        labels = ["stream", "partition"]
        self._stream = stream
        self.trimmed = Counter(
            "streams_worker_trimmed", "Entries removed by safe trimming.", labels,
            registry=registry,
        )  # fmt: skip
        self.refused = Counter(
            "streams_worker_trim_refused",
            "Trims refused because a pending entry lay below the boundary (should stay 0).",
            labels,
            registry=registry,
        )
        self._partitions = partitions

    def from_zero(self) -> None:
        """Every partition's series from 0 (not absent until a trim); called by the
        replica that trims (the sampler), so the others export none of them."""
        for i in range(self._partitions):
            self.trimmed.labels(self._stream, str(i))
            self.refused.labels(self._stream, str(i))

    def record(self, result: TrimResult) -> None:
        if result.dry_run:
            return
        for p in result.partitions:
            lv = {"stream": self._stream, "partition": str(p.partition)}
            self.trimmed.labels(**lv).inc(p.trimmed)
            if p.refused:
                self.refused.labels(**lv).inc()


async def _count_below(client: Client, stream: str, boundary: str) -> int:
    """Entries with an ID below `boundary` (for dry runs), paged so replies stay small."""
    count, start = 0, "-"
    while True:
        page = await client.xrange(stream, min=start, max=f"({boundary}", count=1000) or []
        count += len(page)
        if len(page) < 1000:
            return count
        start = "(" + text(page[-1][0])


async def safe_trim(
    client: Client,
    keys: StreamKeys,
    *,
    dry_run: bool = False,
    metrics: TrimMetrics | None = None,
) -> TrimResult:
    """Trim every partition of `keys` below what its groups still need."""
    out: list[PartitionTrim] = []
    for part in keys.partitions:
        trimmed, boundary, violations = await client.eval(
            lua_source("trim.lua"), 1, part.stream, "1" if dry_run else "0"
        )
        bound = text(boundary) or None
        if dry_run and bound and not violations:
            trimmed = await _count_below(client, part.stream, bound)
        out.append(PartitionTrim(part.index, part.stream, int(trimmed), bound, bool(violations)))
    result = TrimResult(dry_run, tuple(out))
    if metrics is not None:
        metrics.record(result)
    if result.refused:
        get_logger(stream=keys.stream).error(
            "trim_refused", partitions=[p.partition for p in out if p.refused]
        )
    return result


async def trim_loop(
    client: Client,
    keys: StreamKeys,
    *,
    interval_ms: int,
    metrics: TrimMetrics | None = None,
    active: Callable[[], bool] = lambda: True,
    trouble: Trouble | None = None,
) -> None:
    """Trim every `interval_ms` until cancelled; 0 disables it. Only while `active()`
    (the worker: while it holds the sampler lease, so one replica trims, not all).
    Redis errors are logged and the next round tries again (a trim that did not
    happen loses nothing)."""
    if interval_ms <= 0:
        return
    log = get_logger(stream=keys.stream, component="trim")
    started = False
    while True:
        await anyio.sleep(interval_ms / 1000)
        if not active():
            continue
        if metrics is not None and not started:
            metrics.from_zero()
            started = True
        try:
            result = await safe_trim(client, keys, metrics=metrics)
        except REDIS_ERRORS as exc:
            if trouble is not None:
                trouble.report("cleanup", exc)
            log.warning("trim_failed", error=f"{type(exc).__name__}: {exc}"[:300])
            continue
        if result.trimmed:
            log.info("trimmed", entries=result.trimmed)
