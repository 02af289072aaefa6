"""Running the handler on one delivery and deciding what becomes of the entry.

decoded?          no  -> dead letter (malformed)
past the cap?     yes -> dead letter (crashed: it never finished, e.g. killed the worker)
handler returns       -> ack
PermanentError        -> dead letter (permanent_error)
other exception       -> stays pending; dead letter once delivery_count >= max_deliveries;
                         with WORKER_RETRY_DELAYS_MS or a retry_after, it waits until due
                         (core/retries.py), else it is claimed after the claim threshold
RateLimited           -> as other exceptions, and the whole group pauses (core/ratelimit.py)
"""

from __future__ import annotations

import time
from collections.abc import Awaitable
from contextlib import AbstractContextManager
from typing import Protocol, TypeVar

import anyio

from streams_worker.core.acker import Acker
from streams_worker.core.deadletter import Reason, build_fields
from streams_worker.core.entry import StreamEntry, build_entry
from streams_worker.core.errors import MalformedEntryError, PermanentError, RateLimited
from streams_worker.core.handlers import AsyncHandler
from streams_worker.core.inflight import Delivery, Tracker, lease_clock
from streams_worker.core.logs import Logger
from streams_worker.core.metrics import WorkerMetrics
from streams_worker.core.policy import REDIS_ERRORS, Backoff, Kind, Trouble, is_transient
from streams_worker.core.ratelimit import RateLimiter
from streams_worker.core.retries import Retries
from streams_worker.core.settings import WorkerSettings
from streams_worker.core.streams import Streams

T = TypeVar("T")


class SpanOutcome(Protocol):
    def outcome(self, outcome: str, error: BaseException | None = None) -> None: ...


class Tracer(Protocol):
    """A span per delivery; the core only calls it, the API layer implements it."""

    def span(self, entry: StreamEntry) -> AbstractContextManager[SpanOutcome]: ...


class Processor:
    """Runs handlers for deliveries; one instance shared by all handler slots."""

    def __init__(
        self,
        settings: WorkerSettings,
        handler: AsyncHandler,
        streams: Streams,
        acker: Acker,
        tracker: Tracker,
        metrics: WorkerMetrics,
        log: Logger,
        trouble: Trouble,
    ) -> None:
        self._handler = handler
        self._trouble = trouble
        self._streams = streams
        self._acker = acker
        self._tracker = tracker
        self._metrics = metrics
        self._log = log
        self._max = settings.max_deliveries
        self._mark_field = settings.dedup_field
        # A handler that hangs holds its slot forever (its lease keeps it from being
        # claimed); with a timeout the hang becomes an ordinary, retried failure.
        self._timeout_s = settings.handler_timeout_s
        # An entry younger than half the claim threshold cannot have been claimed by
        # another consumer (its idle time never reached the threshold), so its ack
        # needs no ownership check. With a threshold of 0, every ack is checked.
        self._fresh_s = settings.claim_min_idle_ms / 2000
        self.failed = 0
        self.dead_lettered = 0
        #: Set by the worker: where failed entries wait, and the group's rate limit.
        self.retries: Retries | None = None
        self.limiter: RateLimiter | None = None
        #: Set by the API layer when OpenTelemetry is on (streams_worker/tracing.py).
        self.tracer: Tracer | None = None

    async def process(self, d: Delivery) -> None:
        try:
            entry = build_entry(d.entry_id, d.partition.stream, d.raw, d.delivery_count)
        except MalformedEntryError as exc:
            await self.dead_letter(d, Reason.MALFORMED, str(exc), type(exc).__name__)
            return
        if self.tracer is None:
            await self._run(d, entry)
        else:
            with self.tracer.span(entry) as span:
                span.outcome(*await self._run(d, entry))

    async def _run(self, d: Delivery, entry: StreamEntry) -> tuple[str, BaseException | None]:
        """Run the handler and settle the entry; returns the outcome for the span."""
        if d.delivery_count > self._max:
            await self.dead_letter(
                d,
                Reason.CRASHED,
                f"delivered {d.delivery_count} times without finishing "
                "(the worker died or was killed while handling it)",
                "none",
            )
            return "dead_lettered", None
        self._tracker.running += 1
        started = time.perf_counter()
        try:
            if self._timeout_s:
                with anyio.fail_after(self._timeout_s):
                    await self._handler(entry)
            else:
                await self._handler(entry)
        except PermanentError as exc:
            await self.dead_letter(d, Reason.PERMANENT, _describe(exc), type(exc).__name__)
            return "dead_lettered", exc
        except Exception as exc:  # noqa: BLE001 - any handler failure is a retry, by contract
            return await self._failed(d, exc), exc
        else:
            fresh = d.held and not d.lost and lease_clock() - d.renewed_at < self._fresh_s
            self._acker.add(d, entry.fields.get(self._mark_field), fresh=fresh)
            self._tracker.finished(d)
            return "acked", None
        finally:
            self._metrics.handler_timer.observe(time.perf_counter() - started)
            self._tracker.running -= 1

    async def _failed(self, d: Delivery, exc: Exception) -> str:
        if d.delivery_count >= self._max:
            await self.dead_letter(d, Reason.MAX_DELIVERIES, _describe(exc), type(exc).__name__)
            return "dead_lettered"
        self.failed += 1
        self._metrics.failed.inc()
        self._log.warning(
            "handler_failed", stream=d.partition.stream, entry_id=d.entry_id,
            delivery_count=d.delivery_count, error=_describe(exc),
        )  # fmt: skip
        if isinstance(exc, RateLimited) and self.limiter is not None:
            await self._guarded("pause", d, self.limiter.pause(exc.retry_after or 0.0))
        delay = self.retries.delay_ms(d.delivery_count, exc) if self.retries else None
        if self.retries is not None and delay is not None:
            ours = await self._guarded("wait", d, self.retries.wait(d, delay))
            if ours is False:
                self._metrics.lease_lost_c.inc()
        # Else (or if Redis failed just now) left pending: after
        # WORKER_CLAIM_MIN_IDLE_MS a replica claims it again.
        self._tracker.release(d)
        return "retried"

    async def _guarded(self, what: str, d: Delivery, call: Awaitable[T]) -> T | None:
        """A best-effort step after a failure: a Redis error leaves the entry pending
        (claimed later, as without the step); it never loses it."""
        try:
            return await call
        except Exception as exc:  # noqa: BLE001 - as dead_letter(): logged, never fatal
            transient = is_transient(exc)
            if transient:
                self._metrics.redis_error("retry" if what == "wait" else "rate_limit")
            log = self._log.warning if transient else self._log.error
            log(f"{what}_failed", stream=d.partition.stream, entry_id=d.entry_id,
                error=str(exc)[:200])  # fmt: skip
            return None

    async def dead_letter(self, d: Delivery, reason: Reason, error: str, error_class: str) -> None:
        """Move the entry to the dead-letter stream; `error_class` labels the metric."""
        p = d.partition
        fields = build_fields(
            reason=reason, error=error, stream=p.stream, entry_id=d.entry_id,
            group=self._streams.group, consumer=self._streams.consumer,
            delivery_count=d.delivery_count, raw=d.raw,
        )  # fmt: skip
        mark = d.raw.get(self._mark_field.encode(), b"").decode("utf-8", "replace")
        backoff = Backoff()
        while True:
            try:
                dead_id = await self._streams.dead_letter(
                    p.stream, p.dead_letter, p.queued, d.entry_id, mark, fields
                )
                break
            except REDIS_ERRORS as exc:
                # OOM (the dead-letter XADD can wait), BUSY, READONLY, NOPERM until the
                # ACL is fixed...: retried, holding the slot. NOGROUP: the entry went
                # with the group (Redis restarted empty); nothing left to move.
                if self._trouble.report("dead_letter", exc) is Kind.MISSING_GROUP:
                    self._tracker.release(d)
                    return
                await backoff.sleep()
        self._tracker.release(d)
        if dead_id is None:
            self._metrics.lease_lost_c.inc()
            self._log.warning("dead_letter_lease_lost", stream=p.stream, entry_id=d.entry_id)
            return
        self.dead_lettered += 1
        self._metrics.dead_letter(reason.value, error_class)
        self._log.warning(
            "entry_dead_lettered", stream=p.stream, entry_id=d.entry_id, reason=reason.value,
            delivery_count=d.delivery_count, dead_letter_id=dead_id, error_class=error_class,
            error=error[:500],
        )  # fmt: skip


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
