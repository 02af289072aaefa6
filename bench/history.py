"""Before -> after, fix by fix: the no-op throughput case measured for several commits
of the worker side by side, so each speed fix is shown against the one before it on
the same server, in the same minutes, not against a figure from another day.

    python -m bench.history REV [REV ...] [--rounds 5] [--n 100000] [--procs 2]

Each REV is exported (`git archive`) to a temporary directory and run as
`streams-worker run --burst` with that tree first on PYTHONPATH; every round runs each
REV and the pipelined ceiling once, in an order that rotates from round to round.
Writes bench/results/history.md and history.json (every sample); `--out` gives the
pair another name (history-sleep for the 1 ms handler's).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

from bench.bench_throughput import CEILING, CONCURRENCY, HANDLER_SPEC, SYSTEMS, Starter, measure
from bench.common import (
    RESULTS,
    ROOT,
    bin_path,
    log_dir,
    machine,
    server_label,
    spawn,
    start_server,
    worker_env,
)  # fmt: skip


def export(rev: str, into: Path) -> tuple[str, str]:
    """The tree at `rev` under `into`; returns (short hash, subject)."""
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, check=True, capture_output=True)
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    out = subprocess.run(["git", "log", "-1", "--format=%h%x00%s", rev], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.strip()  # fmt: skip
    short, subject = out.split("\0", 1)
    return short, subject


#: As bench_throughput runs ours.
SETTINGS = {"concurrency": CONCURRENCY, "batch_size": CONCURRENCY, "block_ms": 500}


def starter(tree: Path) -> Starter:
    def start(
        url: str, stream: str, group: str, handler: str, procs: int
    ) -> list[subprocess.Popen[bytes]]:
        procs_out = []
        for i in range(procs):
            env = worker_env(url, stream, group, f"ours-{i}", HANDLER_SPEC[handler], **SETTINGS)
            env["PYTHONPATH"] = f"{tree}:{ROOT}"  # that commit's package first
            argv = [bin_path("streams-worker"), "run", "--burst"]
            procs_out.append(spawn(argv, env, log_dir() / "history.log"))
        return procs_out

    return start


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.history")
    ap.add_argument("revs", nargs="+")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--handler", default="noop", choices=sorted(HANDLER_SPEC))
    ap.add_argument("--out", default="history", help="the results files' name, without .md / .json")
    args = ap.parse_args()
    started = dt.datetime.now(dt.UTC)
    with tempfile.TemporaryDirectory() as tmp:
        labels: list[str] = []
        subjects: dict[str, str] = {}
        for k, rev in enumerate(args.revs):
            tree = Path(tmp) / str(k)
            short, subject = export(rev, tree)
            label = f"{short} ({rev})" if rev != short else short
            SYSTEMS[label] = starter(tree)
            labels.append(label)
            subjects[label] = subject
        systems = [*labels, CEILING]
        samples: dict[str, list[dict[str, float]]] = {s: [] for s in systems}
        server = start_server()
        try:
            for r in range(args.rounds):
                order = systems[r % len(systems) :] + systems[: r % len(systems)]
                for system in order:
                    d = measure(system, server.url, args.handler, args.procs, args.n)
                    samples[system].append({
                        "rate": d.rate,
                        "client_us": d.client_cpu_s / d.n * 1e6,
                        "server_us": d.server_cpu_s / d.n * 1e6,
                    })  # fmt: skip
                    print(f"round {r + 1}: {system}: {d.rate:,.0f}/s", flush=True)
        finally:
            server.close()
    text = render(args, started, labels, subjects, samples)
    (RESULTS / f"{args.out}.md").write_text(text)
    (RESULTS / f"{args.out}.json").write_text(json.dumps({
        "started": started.isoformat(), "args": vars(args), "machine": machine(),
        "subjects": subjects, "samples": samples,
    }, indent=1))  # fmt: skip
    print(text)


def render(
    args: argparse.Namespace,
    started: dt.datetime,
    labels: list[str],
    subjects: dict[str, str],
    samples: dict[str, list[dict[str, float]]],
) -> str:
    m = machine()

    def cell(system: str, key: str, fmt: str) -> str:
        values = [s[key] for s in samples[system]]
        med = statistics.median(values)
        return f"{med:{fmt}} ({min(values):{fmt}} - {max(values):{fmt}})"

    ceiling = statistics.median(s["rate"] for s in samples[CEILING])
    lines = [
        "# Before -> after, fix by fix",
        "",
        f"`python -m bench.history {' '.join(args.revs)} --rounds {args.rounds} --n {args.n} "
        f"--procs {args.procs} --handler {args.handler} --out {args.out}`, "
        f"{started:%Y-%m-%d %H:%M} UTC. {args.handler} handler, "
        f"{args.procs} processes x {CONCURRENCY}, {args.n:,} entries per run; medians of "
        f"{args.rounds} interleaved runs (min - max). {m['nproc']} cores ({m['cpu']}), "
        f"Python {m['python']}, {server_label()}. The box is shared: compare rows within "
        "this table, not with other runs.",
        "",
        "| commit | change | entries/s | x ceiling | client CPU µs/entry | server CPU µs/entry |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for label in [*labels, CEILING]:
        rate = statistics.median(s["rate"] for s in samples[label])
        subject = subjects.get(label, "bench/baseline.py, the pipelined loop")
        lines.append(
            f"| {label} | {subject[:90]} | {cell(label, 'rate', ',.0f')} | "
            f"{rate / ceiling:.2f} | {cell(label, 'client_us', '.1f')} | "
            f"{cell(label, 'server_us', '.1f')} |"
        )
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
