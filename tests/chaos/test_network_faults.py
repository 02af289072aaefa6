"""The network between a worker and Redis slows, stalls, resets and refuses: the
worker never crashes, loses nothing, and its readiness says what is going on."""

from __future__ import annotations

from collections.abc import Callable

import anyio

from streams_worker import WorkerSettings
from streams_worker.core.settings import load
from tests.chaos.harness import (
    PendingMonitor,
    Producer,
    client,
    duplicates,
    unexpected_duplicates,
    wait_nothing_pending,
)
from tests.support.handlers import Recorder
from tests.support.names import Names
from tests.support.proxy import ChaosProxy
from tests.support.wait import eventually
from tests.support.workers import serving


async def test_latency_stalls_resets_and_refusals_cost_nothing_and_show_in_readiness(
    redis_url: str, names: Names, report: Callable[[str], None], soak: int
) -> None:
    recorder = Recorder(sleep_s=0.005)
    with ChaosProxy.for_url(redis_url) as proxy:
        settings = load(
            WorkerSettings, redis_url=proxy.url, http_port=0, concurrency=8, block_ms=200,
            claim_min_idle_ms=1500, claim_interval_ms=300, redis_socket_timeout_s=1.0,
            **names.settings(),
        )  # fmt: skip
        producer = Producer(redis_url, names.stream, rate=100, prefix="net")
        not_ready: dict[str, bool] = {}
        # Looks at the group directly (not through the proxy): what each fault had in
        # flight, the only entries allowed to be handled twice.
        monitor = PendingMonitor(redis_url, names)

        def handled() -> int:
            return len(recorder.calls)

        async def progresses(within: float = 15) -> None:
            start = handled()
            await eventually(lambda: _true(handled() > start + 10), timeout=within,
                             what="handling to make progress")  # fmt: skip

        async with serving(settings, recorder) as worker:
            await eventually(worker.ready, timeout=10, what="ready at start")
            producer.start()
            monitor.start()
            await progresses()
            for _ in range(soak):
                proxy.latency(0.05)  # slow, not broken: stays ready, keeps going
                await progresses()
                assert await worker.ready()
                proxy.heal()

                fault = monitor.fault("stall", None, lasting=True)
                proxy.stall()  # silent network: readiness must drop
                await eventually(lambda: _not(worker.ready()), timeout=10, what="not ready")
                not_ready["stall"] = True
                proxy.heal()
                await eventually(worker.ready, timeout=15, what="ready after the stall")
                fault.lift()
                await progresses()

                fault = monitor.fault("resets", None, lasting=True)
                for _ in range(5):  # connections reset under load
                    proxy.reset_all()
                    await anyio.sleep(0.3)
                await eventually(worker.ready, timeout=15, what="ready after resets")
                fault.lift()
                await progresses()

                fault = monitor.fault("refused", None, lasting=True)
                proxy.refuse()  # Redis unreachable: every connection refused
                proxy.reset_all()
                await eventually(lambda: _not(worker.ready()), timeout=10, what="not ready")
                not_ready["refused"] = True
                await anyio.sleep(1.0)
                proxy.heal()
                await eventually(worker.ready, timeout=15, what="ready after refusals")
                fault.lift()
                await progresses()
            await anyio.to_thread.run_sync(producer.stop)
            acknowledged = set(producer.acknowledged)
            await eventually(
                lambda: _true(acknowledged <= {e.fields["article_id"] for e in recorder.calls}),
                timeout=30, what="every acknowledged entry handled",
            )  # fmt: skip
            await anyio.to_thread.run_sync(wait_nothing_pending, client(redis_url), names)
            assert worker.running, "the worker stopped"
            lost_leases = worker.registry.get_sample_value(
                "streams_worker_lease_lost_total", {"stream": names.stream, "group": names.group}
            )
        await anyio.to_thread.run_sync(monitor.stop)
        dups = duplicates(recorder.ids())
        report(
            f"network faults (latency 50 ms, 1 stall, 5 resets, 1 refusal period) x{soak}: "
            f"{len(acknowledged)} entries, 0 lost, {dups} duplicates, readiness false during "
            f"{sorted(not_ready)}, {proxy.stats.resets} connections reset, "
            f"{int(lost_leases or 0)} late acks/renewals reported as lease lost"
        )
        assert set(not_ready) == {"stall", "refused"}
        assert not unexpected_duplicates(recorder.ids(), monitor.faults)


async def _true(value: bool) -> bool:
    return value


async def _not(ready: object) -> bool:
    return not await ready  # type: ignore[misc]
