"""`Worker`: one replica of the consumer group, usable as a library.

    async with anyio.create_task_group() as tg:      # or worker.run() in a process
        await tg.start(Worker(settings, handle).serve)

One task group: the read loop, `concurrency` handler slots fed from an `Inbox`,
the acker, entry leases, the replica's ownership leases, pruning, trimming and the
group sampler. Shutdown: stop reading, let handlers finish within the grace, flush
acks, hand leases back, close clients. `services` run beside it in `run()` (the
HTTP endpoints, added by `streams_worker.Worker`): the core never imports them.
"""

from __future__ import annotations

import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any

import anyio
from anyio.abc import TaskStatus
from prometheus_client import CollectorRegistry

from streams_worker.core import logs
from streams_worker.core.acker import Acker
from streams_worker.core.connection import Client, create_client
from streams_worker.core.handlers import Handler, as_async
from streams_worker.core.health import Health
from streams_worker.core.inflight import Inbox, Tracker
from streams_worker.core.logs import get_logger
from streams_worker.core.metrics import WorkerMetrics
from streams_worker.core.parts import Parts as _Parts
from streams_worker.core.parts import Service
from streams_worker.core.policy import Trouble, retry
from streams_worker.core.presence import Presence
from streams_worker.core.processor import Processor, Tracer
from streams_worker.core.ratelimit import RateLimiter
from streams_worker.core.reader import Reader
from streams_worker.core.reclaim import Leases, Reclaimer, prune_loop
from streams_worker.core.replica_leases import ReplicaLeases
from streams_worker.core.retries import Retries
from streams_worker.core.sampler import GroupSample, GroupSampler
from streams_worker.core.settings import WorkerSettings, load
from streams_worker.core.streams import Streams, use_raw_replies
from streams_worker.core.trim import TrimMetrics, trim_loop


class Worker:
    def __init__(
        self,
        settings: WorkerSettings,
        handler: Handler,
        *,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.settings = settings
        self.handler = handler
        self.keys = settings.keys()
        self.registry = registry if registry is not None else CollectorRegistry()
        self.metrics = WorkerMetrics(self.registry, stream=settings.stream, group=settings.group)
        self.metrics.concurrency_g.set(settings.concurrency)
        self.metrics.in_flight_g.set_function(lambda: self.tracker.running)
        self._trim_metrics = TrimMetrics(
            self.registry, stream=settings.stream, partitions=len(self.keys.partitions)
        )
        self.log = get_logger(
            stream=settings.stream, group=settings.group, consumer=settings.consumer
        )
        self.tracker = Tracker(settings.concurrency)
        self.health = Health(self.metrics, self.log)
        #: Every loop reports Redis refusals here (core/policy.py, docs/reliability.md).
        self.trouble = Trouble(self.log, self.metrics.redis_error)
        self.last_sample: GroupSample | None = None
        self.started_at: float | None = None
        self.running = False
        self.draining = False
        self.paused = False
        self._stop = anyio.Event()
        self._client: Client | None = None
        self._parts: _Parts | None = None
        #: Started before the worker by `run()`, e.g. the HTTP endpoints.
        self.services: list[Service] = []
        #: A span per delivery, set by the API layer when OpenTelemetry is on.
        self.tracer: Tracer | None = None

    @classmethod
    def from_env(cls, handler: Handler, **overrides: Any) -> Worker:
        """Settings from the environment (plus overrides), as `streams-worker run` does."""
        return cls(load(WorkerSettings, **overrides), handler)

    # -- control -------------------------------------------------------------------
    def stop(self) -> None:
        """Begin a graceful shutdown: stop reading, drain, flush acks."""
        self._stop.set()

    @asynccontextmanager
    async def background(self) -> AsyncIterator[Worker]:
        """Serve while the block runs (e.g. in an ASGI lifespan), then drain gracefully."""
        async with anyio.create_task_group() as tg:
            await tg.start(self.serve)
            try:
                yield self
            finally:
                self.stop()

    def run(self) -> int:
        """Serve until SIGTERM/SIGINT (or drained, with burst), with `services`
        beside it. Logs as WORKER_LOG_LEVEL/WORKER_LOG_FORMAT say unless logging was
        configured before. Returns an exit status."""
        if logs.configure_unless_configured(self.settings.log_level, self.settings.log_format):
            s = self.settings  # loggers bound before configuring keep the old set-up
            self.log = logs.get_logger(stream=s.stream, group=s.group, consumer=s.consumer)
            self.health = Health(self.metrics, self.log)
        return anyio.run(self.run_async)

    async def run_async(self) -> int:
        """`run()` inside an event loop that already runs."""
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._watch_signals, tg.cancel_scope)
            for service in self.services:
                # Up before the worker, so probes answer (not ready) during start-up.
                await tg.start(service, self)
            await self.serve()
            tg.cancel_scope.cancel()
        return 0

    async def _watch_signals(self, scope: anyio.CancelScope) -> None:
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for signum in signals:
                if self._stop.is_set():  # second signal: stop waiting
                    self.log.warning("forced_shutdown", signal=signal.Signals(signum).name)
                    scope.cancel()
                    return
                self.log.info("shutdown_requested", signal=signal.Signals(signum).name)
                self.stop()

    # -- serving -------------------------------------------------------------------
    async def serve(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        s = self.settings
        client = create_client(s, max_connections=max(16, s.concurrency + 8))
        reader_client = create_client(s, extra_timeout_s=s.block_ms / 1000, max_connections=4)
        self._client = client
        streams = Streams(client, s.group, s.consumer)
        log, trouble = self.log, self.trouble
        acker = Acker(streams, self.tracker, self.metrics, log, trouble)
        idle, every = s.claim_min_idle_ms, s.claim_interval_ms
        reclaimer = Reclaimer(streams, self.keys, self.tracker, self.metrics, log,
                              min_idle_ms=idle, interval_ms=every)  # fmt: skip
        reader = Reader(s, streams, use_raw_replies(reader_client), self.tracker, reclaimer,
                        self.health, log, trouble)  # fmt: skip
        reader.paused_changed = self._on_pause
        handle = as_async(self.handler, anyio.CapacityLimiter(s.concurrency))
        processor = Processor(s, handle, streams, acker, self.tracker, self.metrics, log,
                              trouble)  # fmt: skip
        processor.tracer = self.tracer
        leases = Leases(streams, self.tracker, self.metrics, log, trouble, min_idle_ms=idle)
        replica = ReplicaLeases.for_settings(client, s, self.metrics, log, trouble)
        if replica is not None:
            replica.attach(reader)
        reader.presence = presence = Presence(client, self.keys.replicas, s.consumer, log)
        retries = Retries(s, client, self.tracker, self.metrics, log)
        rate = RateLimiter(s, client, self.metrics, log)
        reader.retries, reader.limiter = processor.retries, processor.limiter = retries, rate
        reader.acker = acker
        self._parts = _Parts(acker, reclaimer, reader, processor, leases, replica, retries, rate)
        inbox = Inbox()
        try:
            if replica is not None:
                down = partial(self.health.down, "renew")
                await retry(replica.start, trouble, "renew", starting=True, on_error=down)
            async with anyio.create_task_group() as services:
                if replica is not None:
                    services.start_soon(replica.run)
                services.start_soon(acker.run)
                if s.lease_renewal and s.claim_min_idle_ms > 0:
                    services.start_soon(leases.run)
                services.start_soon(partial(prune_loop, streams, self.keys, trouble, log,
                    expiry_ms=s.consumer_idle_expiry_ms, metrics=self.metrics,
                    active=self._parts.samples))  # fmt: skip
                services.start_soon(self._sample, client)
                # The sampler trims (idempotent; one replica is enough).
                trims = partial(trim_loop, metrics=self._trim_metrics, active=self._parts.samples,
                                interval_ms=s.trim_interval_ms, trouble=trouble)  # fmt: skip
                services.start_soon(trims, client, self.keys)
                services.start_soon(presence.run)
                async with anyio.create_task_group() as slots:
                    for _ in range(s.concurrency):
                        slots.start_soon(self._slot, processor, inbox)
                    async with anyio.create_task_group() as reading:
                        await reading.start(self._read, reader, inbox)
                        self.running = True
                        self.started_at = time.time()
                        self.log.info("worker_started", concurrency=s.concurrency,
                                      partitions=len(self.keys.partitions))  # fmt: skip
                        task_status.started()
                        reading.start_soon(self._stop_reading_on_stop, reading.cancel_scope)
                    # Reading has stopped (stop() or burst drained): drain in-flight work.
                    self.draining = True
                    self._stop.set()
                    inbox.close()
                    slots.cancel_scope.deadline = anyio.current_time() + s.shutdown_grace_s
                if slots.cancel_scope.cancel_called:
                    self.log.warning("shutdown_grace_exceeded", left_pending=len(self.tracker))
                await acker.drain(within_s=5.0)
                services.cancel_scope.cancel()
        finally:
            self.running = False
            with anyio.CancelScope(shield=True):
                if replica is not None:
                    await replica.stop()
                await self._close(client, reader_client)
            self.log.info("worker_stopped", acked=acker.acked, left_pending=len(self.tracker))

    async def _read(self, reader: Reader, send: Any, *, task_status: TaskStatus[None]) -> None:
        await reader.run(send, task_status=task_status)
        self._stop.set()  # burst mode drained: shut down like on SIGTERM

    async def _slot(self, processor: Processor, inbox: Inbox) -> None:
        while (delivery := await inbox.get()) is not None:
            await processor.process(delivery)

    async def _stop_reading_on_stop(self, scope: anyio.CancelScope) -> None:
        await self._stop.wait()
        scope.cancel()

    async def _sample(self, client: Client) -> None:
        active = self._parts.samples if self._parts else lambda: True
        sampler = GroupSampler(client, self.keys, self.settings.group, self.metrics,
                               on_sample=self._on_sample, active=active,
                               trouble=self.trouble)  # fmt: skip
        await sampler.run(self.settings.group_sample_interval_ms / 1000)

    def _on_sample(self, sample: GroupSample) -> None:
        self.last_sample = sample

    def _on_pause(self, paused: bool) -> None:
        self.paused = paused
        self.metrics.paused_g.set(1 if paused else 0)

    async def _close(self, *clients: Client) -> None:
        closer = getattr(self.handler, "aclose", None)
        if closer is not None:
            try:
                await closer()
            except Exception as exc:  # noqa: BLE001 - shutting down regardless
                self.log.warning("handler_close_failed", error=str(exc))
        for c in clients:
            await c.aclose()

    # -- introspection --------------------------------------------------------------
    @property
    def claim_rounds(self) -> int:
        """Claim rounds run so far (each XAUTOCLAIMs every partition once)."""
        return self._parts.reclaimer.rounds if self._parts else 0

    def healthy(self) -> bool:
        """Liveness: the read loop's heartbeat is fresh. Never depends on Redis."""
        budget = self.settings.block_ms / 1000 + self.settings.redis_socket_timeout_s + 30
        return time.monotonic() - self.health.heartbeat < budget

    async def ready(self) -> bool:
        """Readiness: serving, not draining, no refusal lately (a configuration or
        unexpected error reply), Redis answers and the group exists."""
        if not self.running or self.draining or self._client is None or self.trouble.unhealthy:
            return False
        try:
            with anyio.fail_after(1.0):
                await self._client.ping()
        except Exception:  # noqa: BLE001 - any failure means not ready
            return False
        return self.health.group_ok

    def status(self) -> dict[str, Any]:
        """The /status document (no secrets)."""
        p = self._parts
        s = self.settings
        sample = self.last_sample if p and p.samples() else None
        started = self.started_at
        doc: dict[str, Any] = {
            "consumer": self.settings.consumer,
            "stream": self.settings.stream,
            "group": self.settings.group,
            "running": self.running,
            "draining": self.draining,
            "paused": self.paused,
            "started_at": datetime.fromtimestamp(started, UTC).isoformat() if started else None,
            "uptime_seconds": round(time.time() - started, 3) if started else 0.0,
            "processed": p.acker.acked if p else 0,
            "failed": p.processor.failed if p else 0,
            "dead_lettered": p.processor.dead_lettered if p else 0,
            "reclaimed": p.reclaimer.claimed if p else 0,
            "waiting": sum(w.count for w in p.retries.state.values()) if p else 0,
            "rate_limit": s.rate_limit or None,
            "in_flight": self.tracker.running,
            "held": len(self.tracker),
            "concurrency": self.settings.concurrency,
            "pending": getattr(sample, "pending", None),
            "lag": getattr(sample, "lag", None),
            "redis_connected": self.health.connected,
            # The group figures come from the one replica holding the sampler lease.
            "sampler": bool(p and p.samples()),
            "partitions": [x.index for x in p.reader.partitions()] if p else [],
            # The earlier worker's status carried `enabled`: a running worker is.
            "enabled": True,
        }
        extra = self._handler_status()
        return doc | {k: v for k, v in extra.items() if k not in doc}  # ours win

    def _handler_status(self) -> dict[str, Any]:
        """Counts the handler reports by an optional `status()` (the old `skipped`)."""
        report = getattr(self.handler, "status", None)
        try:
            return {str(k): v for k, v in dict(report()).items()} if report else {}
        except Exception as exc:  # noqa: BLE001 - a handler's report never breaks /status
            self.log.warning("handler_status_failed", error=str(exc)[:200])
            return {}
