"""What every benchmark shares: the machine, private servers, filling streams,
watching a group drain, and the processes under test.

Timing is taken from the server's side: a probe polls XINFO GROUPS and records
when the group first made progress and when everything was read and acked, so
process start-up (imports, connecting) is outside every measured interval, for
every system alike.
"""

from __future__ import annotations

import contextlib
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import redis

from streams_worker.dev.embedded import RedisProcess, default_binary
from streams_worker.dev.processes import child_env

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


@dataclass
class Row:
    """One measured figure beside its baseline from the same run."""

    bench: str
    case: str
    system: str
    value: float
    unit: str
    baseline: str = ""
    baseline_value: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""
    #: Every run behind `value` / `baseline_value` (their medians), when repeated.
    samples: list[float] = field(default_factory=list)
    baseline_samples: list[float] = field(default_factory=list)

    def spread(self) -> str:
        """min-max of the samples, or "" for a single sample."""
        if len(self.samples) < 2:
            return ""
        low, high = fmt_value(min(self.samples), self.unit), fmt_value(max(self.samples), self.unit)
        return f"{low} - {high}"

    @property
    def ratio(self) -> float | None:
        if self.baseline_value in (None, 0):
            return None
        return self.value / self.baseline_value  # type: ignore[operator]


@dataclass
class Context:
    quick: bool
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    server_version: str = ""
    load_at_start: str = field(
        default_factory=lambda: " / ".join(f"{x:.2f}" for x in os.getloadavg())
    )

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        print("  " + fmt_row(row), flush=True)
        return row


def fmt_value(v: float | None, unit: str) -> str:
    if v is None:
        return "-"
    if unit in ("entries/s", "IDs/s"):
        return f"{v:,.0f} {unit}"
    if unit == "ms":
        return f"{v:,.1f} ms"
    if unit == "s":
        return f"{v:,.2f} s"
    if unit == "MiB":
        return f"{v:,.1f} MiB"
    if unit == "µs/entry":
        return f"{v:,.1f} µs"
    return f"{v:,.3g} {unit}"


def fmt_row(r: Row) -> str:
    text = f"{r.bench:<10} {r.case:<28} {r.system:<16} {fmt_value(r.value, r.unit):>16}"
    if r.spread():
        text += f" [{r.spread()}, {len(r.samples)} runs]"
    if r.baseline:
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else "-"
        text += f"  vs {r.baseline} {fmt_value(r.baseline_value, r.unit)} = x{ratio}"
    if r.target:
        text += f"  target {r.target}: {'met' if r.met else 'MISSED'}"
    if r.note:
        text += f"  ({r.note})"
    return text


def machine() -> dict[str, str]:
    model = platform.processor() or "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    import hiredis

    return {
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "redis-py": redis.__version__,
        "hiredis": hiredis.__version__,
        "os": f"{platform.system()} {platform.release()}",
    }


def start_server() -> RedisProcess:
    """A private Valkey (the default embedded server): no other client touches it."""
    return RedisProcess(default_binary()).start()


def server_label() -> str:
    return default_binary().label


def sync_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=30)


def fill(url: str, stream: str, n: int, *, prefix: str = "bench", chunk: int = 2000) -> None:
    """Add `n` entries as the producer would (article_id, enqueued_at), pipelined."""
    r = sync_client(url)
    now = str(int(time.time() * 1000))
    for start in range(0, n, chunk):
        pipe = r.pipeline(transaction=False)
        for i in range(start, min(n, start + chunk)):
            pipe.xadd(stream, {"article_id": f"urn:article:{prefix}-{i}", "enqueued_at": now})
        pipe.execute()
    r.close()


def create_group(url: str, stream: str, group: str) -> None:
    r = sync_client(url)
    with contextlib.suppress(redis.ResponseError):
        r.xgroup_create(stream, group, id="0", mkstream=True)
    r.close()


def group_state(r: redis.Redis, stream: str, group: str) -> tuple[int, int]:
    """(entries read by the group, entries pending) from XINFO GROUPS."""
    for g in r.xinfo_groups(stream):
        if g["name"] in (group, group.encode()):
            return int(g.get("entries-read") or 0), int(g["pending"])
    return 0, 0


@dataclass
class Drain:
    first: float  # monotonic time the group first made progress
    done: float  # monotonic time all n entries were read and acked
    n: int
    client_cpu_s: float = 0.0  # the watched processes' user+system CPU between the two
    server_cpu_s: float = 0.0  # the server's (INFO cpu) between the two

    @property
    def seconds(self) -> float:
        return max(self.done - self.first, 1e-6)

    @property
    def rate(self) -> float:
        return self.n / self.seconds


def watch_drain(
    url: str,
    stream: str,
    group: str,
    n: int,
    *,
    timeout: float,
    procs: Sequence[subprocess.Popen[bytes]] = (),
) -> Drain:
    """Poll until the group has read and acked `n` entries; fail loudly on timeout."""
    r = sync_client(url)
    first: float | None = None
    cpu0 = (0.0, 0.0)
    deadline = time.monotonic() + timeout
    try:
        while True:
            now = time.monotonic()
            read, pending = group_state(r, stream, group)
            if first is None and read > 0:
                first, cpu0 = now, (_cpu_s(procs), _server_cpu_s(r))
            if read >= n and pending == 0:
                cpu1 = (_cpu_s(procs), _server_cpu_s(r))
                return Drain(first or now, now, n, cpu1[0] - cpu0[0], cpu1[1] - cpu0[1])
            if now > deadline:
                raise TimeoutError(f"{stream}: read {read}/{n}, pending {pending} after {timeout}s")
            if procs and all(p.poll() is not None for p in procs) and read < n:
                codes = [p.returncode for p in procs]
                raise RuntimeError(f"{stream}: every process exited ({codes}) at {read}/{n}")
            time.sleep(0.005)
    finally:
        r.close()


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_s(procs: Sequence[subprocess.Popen[bytes]]) -> float:
    """User+system CPU seconds of `procs` so far (/proc; a process gone counts 0)."""
    total = 0.0
    for p in procs:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{p.pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / _TICK
    return total


def _server_cpu_s(r: redis.Redis) -> float:
    cpu = r.info("cpu")
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


def bin_path(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def spawn(
    argv: Sequence[str], env: Mapping[str, str] | None = None, log: Path | None = None
) -> subprocess.Popen[bytes]:
    full = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    out = log.open("ab") if log else subprocess.DEVNULL
    return subprocess.Popen(
        list(argv),
        env=full,
        cwd=ROOT,
        stdout=out,
        stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
        start_new_session=True,
    )


def stop_all(
    procs: Sequence[subprocess.Popen[bytes]], sig: int = signal.SIGTERM, wait: float = 10
) -> None:
    for p in procs:
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, sig)
    deadline = time.monotonic() + wait
    for p in procs:
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(5)


@contextlib.contextmanager
def running(procs: list[subprocess.Popen[bytes]]) -> Iterator[list[subprocess.Popen[bytes]]]:
    try:
        yield procs
    finally:
        stop_all(procs)


def worker_env(
    url: str, stream: str, group: str, consumer: str, handler: str, **extra: object
) -> dict[str, str]:
    """Environment for `streams-worker run` under benchmark (no HTTP server, quiet logs):
    the worker settings only (`spawn` adds the inherited environment), named as the
    tests and the demo name them (`streams_worker.dev.processes.child_env`)."""
    return child_env(
        url, {}, stream=stream, group=group, consumer=consumer, handler=handler,
        http_port=0, log_level="WARNING", log_format="json", **extra,
    )  # fmt: skip


def log_dir() -> Path:
    d = RESULTS / "logs"
    d.mkdir(parents=True, exist_ok=True)
    return d
