"""What the demo shows: the live table while it runs and the report at the end.

A cause that fails every entry must be loud: dead letters are grouped by reason
and error class into one red line, and so are the catalog's rejected requests.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table


def view(
    snap: dict[str, Any], rates: dict[str, float], started: float, console_url: str = ""
) -> Table:
    from rich.table import Table

    url = f"  console {console_url}" if console_url else ""
    t = Table(title=f"streams-worker demo  ({time.monotonic() - started:5.1f}s){url}")
    for col in ("enqueued", "in flight", "acked", "pending", "lag", "dead letters", "enriched"):
        t.add_column(col, justify="right")
    in_flight = sum(int(w.get("in_flight", 0)) for w in snap["workers"].values())
    acked = sum(int(w.get("processed", 0)) for w in snap["workers"].values())
    t.add_row(str(snap["enqueued"]), str(in_flight), str(acked), str(snap["pending"]),
              str(snap["lag"]), str(snap["dead_lettered"]),
              f"{snap['enriched']}/{snap['articles']}")  # fmt: skip
    w = Table(show_header=True, box=None)
    for col in ("consumer", "state", "acked", "rate/s", "in flight", "pending", "claimed"):
        w.add_column(col, justify="right")
    for name, doc in snap["workers"].items():
        state = "up" if doc["alive"] else "[red]killed[/red]"
        w.add_row(name, state, str(doc.get("processed", "-")), f"{rates.get(name, 0):.0f}",
                  str(doc.get("in_flight", "-")), str(doc["pending"]),
                  str(doc.get("reclaimed", "-")))  # fmt: skip
    outer = Table.grid()
    outer.add_row(t)
    outer.add_row(w)
    return outer


def print_report(console: Console, report: dict[str, Any]) -> None:
    from rich.table import Table

    t = Table(title="demo report", show_header=False)
    for key, value in report.items():
        t.add_row(key, json.dumps(value) if isinstance(value, dict) else str(value))
    console.print(t)
    if report.get("dead_letters"):
        causes = "; ".join(
            f"{n['count']} {cause} ({n['example'][:120]})"
            for cause, n in report.get("dead_letter_causes", {}).items()
        )
        console.print(f"[bold red]DEAD LETTERS: {report['dead_letters']}: {causes}[/bold red]")
    if report.get("rejected_requests"):
        console.print(
            f"[bold red]REJECTED CATALOG REQUESTS: {report['rejected_requests']} "
            "(400/404/422; see the sample catalog's responses)[/bold red]"
        )
    ok = report.get("ok")
    console.print("[green]every article enriched[/green]" if ok else "[red]INCOMPLETE[/red]")
