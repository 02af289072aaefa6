"""`python -m bench [--quick] [--only NAME ...]`: run the benchmarks, print every
figure beside its baseline from the same run, write bench/results/latest.md and
PNG plots.

Each benchmark is a module with `run(ctx)`; each starts its own private server.
"""

from __future__ import annotations

import argparse
import importlib
import time
import traceback
from types import ModuleType

from bench import report
from bench.common import Context, Row, server_label

ORDER = ["throughput", "earlier", "latency", "recovery", "producer", "partitions", "memory"]


class _Partitions:
    """bench_partitions.py (the producer branch's) as rows: 4 partitions beside 1."""

    @staticmethod
    def run(ctx: Context) -> None:
        from bench.bench_partitions import measure

        n = 20_000 if ctx.quick else 50_000
        rates = measure(n)
        ctx.add(Row("partitions", f"no-op, 1 replica x 64, {n:,} entries", "4 partitions",
                    rates[4], "entries/s", "1 partition", rates[1],
                    note="in-process worker, start-up included"))  # fmt: skip


def _module(name: str) -> ModuleType | type[_Partitions]:
    if name == "partitions":
        return _Partitions
    return importlib.import_module(f"bench.bench_{name}")


def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small runs, under two minutes")
    ap.add_argument("--only", nargs="*", choices=ORDER, help="run just these benchmarks")
    args = ap.parse_args()
    ctx = Context(quick=args.quick, server_version=server_label())
    started = time.monotonic()
    failed: list[str] = []
    for name in args.only or ORDER:
        print(f"== {name}", flush=True)
        t0 = time.monotonic()
        try:
            _module(name).run(ctx)
        except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the rest
            traceback.print_exc()
            failed.append(name)
            ctx.notes.append(f"{name}: FAILED: {type(exc).__name__}: {exc}")
        print(f"   ({time.monotonic() - t0:.0f} s)", flush=True)
    path = report.write(ctx, elapsed=time.monotonic() - started)
    print(f"\nresults: {path}")
    missed = [r for r in ctx.rows if r.met is False]
    for r in missed:
        print(f"target missed: {r.bench} {r.case}: {r.target}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
