"""Write bench/results/latest.md (machine, table, notes) and PNG plots per benchmark."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import subprocess
from collections import defaultdict
from pathlib import Path

from bench.common import RESULTS, Context, Row, fmt_value, machine


def write(ctx: Context, *, elapsed: float) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    m = machine()
    lines = [
        "# Benchmark results",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, "
        f"{'quick' if ctx.quick else 'full'} mode, {elapsed:.0f} s, commit {_commit()}. "
        "Every ratio divides by a baseline measured in the same run on the same server. "
        "Throughput, CPU, latency and producer figures are medians of interleaved runs "
        "(spread: min - max "
        "of those runs); a row without a spread is a single run. Every sample is in "
        "latest.json.",
        "",
        f"Machine: {m['nproc']} cores ({m['cpu']}), {m['os']}; Python {m['python']}, "
        f"redis-py {m['redis-py']} + hiredis {m['hiredis']}; server {ctx.server_version} "
        "on the same box (loopback). The box is shared: figures move by tens of percent "
        f"between runs (load average at the start: {ctx.load_at_start}).",
        "",
        "| bench | case | system | value | spread | baseline | baseline value | ratio | target"
        " | met |",
        "|---|---|---|---:|---|---|---:|---:|---|---|",
    ]
    for r in ctx.rows:
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else ""
        met = "" if r.met is None else ("yes" if r.met else "**no**")
        base = fmt_value(r.baseline_value, r.unit) if r.baseline else ""
        lines.append(
            f"| {r.bench} | {r.case} | {r.system} | {fmt_value(r.value, r.unit)} | "
            f"{r.spread()} | {r.baseline} | {base} | {ratio} | {r.target} | {met} |"
        )
    notes = [r for r in ctx.rows if r.note]
    if notes or ctx.notes:
        lines += ["", "Notes:", ""]
        lines += [f"- {r.bench} / {r.case} / {r.system}: {r.note}" for r in notes]
        lines += [f"- {n}" for n in ctx.notes]
    lines += ["", *[f"![{b}]({b}.png)" for b in _plots(ctx.rows)], ""]
    path = RESULTS / "latest.md"
    path.write_text("\n".join(lines))
    data = {
        "run": f"{dt.datetime.now(dt.UTC):%Y-%m-%dT%H:%M}Z",
        "mode": "quick" if ctx.quick else "full",
        "elapsed_s": round(elapsed), "commit": _commit(), "machine": m,
        "server": ctx.server_version, "load_at_start": ctx.load_at_start,
        "rows": [dataclasses.asdict(r) for r in ctx.rows], "notes": ctx.notes,
    }  # fmt: skip
    (RESULTS / "latest.json").write_text(json.dumps(data, indent=1) + "\n")
    if not ctx.quick:  # a dated copy of every full run
        day = f"{dt.datetime.now(dt.UTC):%Y-%m-%d}"
        (RESULTS / f"{day}.md").write_text("\n".join(lines))
        (RESULTS / f"{day}.json").write_text(json.dumps(data, indent=1) + "\n")
    return path


def _commit() -> str:
    try:
        root = RESULTS.parent.parent  # pathspecs below are relative to the checkout
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=True, cwd=root)  # fmt: skip
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "streams_worker", "producer", "bench/*.py"],
            capture_output=True, text=True, cwd=root,
        ).stdout.strip()  # fmt: skip
        return out.stdout.strip() + ("+changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return os.environ.get("GIT_COMMIT", "?")


def _plots(rows: list[Row]) -> list[str]:
    """One grouped bar chart per benchmark: case on x, one bar per system."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_bench: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        by_bench[r.bench].append(r)
    made = []
    for bench, items in by_bench.items():
        cases = list(dict.fromkeys(r.case for r in items))
        systems = list(dict.fromkeys(r.system for r in items))
        values = {(r.case, r.system): r.value for r in items}
        width = 0.8 / max(1, len(systems))
        fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(cases) + 2), 4))
        for i, system in enumerate(systems):
            xs = [c + i * width for c in range(len(cases))]
            ys = [values.get((case, system), 0.0) for case in cases]
            bars = ax.bar(xs, ys, width, label=system)
            ax.bar_label(bars, labels=[_label(y) for y in ys], fontsize=7)
        ax.set_xticks([c + width * (len(systems) - 1) / 2 for c in range(len(cases))])
        ax.set_xticklabels(cases, fontsize=8, rotation=10)
        ax.set_ylabel(items[0].unit)
        if bench == "throughput":
            ax.set_yscale("log")
        ax.set_title(bench)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(RESULTS / f"{bench}.png", dpi=100)
        plt.close(fig)
        made.append(bench)
    return made


def _label(y: float) -> str:
    if not y:
        return ""
    return f"{y:,.0f}" if y >= 100 else f"{y:.3g}"
