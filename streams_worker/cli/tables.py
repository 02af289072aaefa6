"""Rich tables for the ops CLI, drawn from the same dicts `--json` prints."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from streams_worker.ops.durations import age


def _console() -> Console:
    return Console(soft_wrap=False, width=160)


def pending(p: dict[str, Any], dedup_field: str) -> None:
    c = _console()
    c.print(
        f"[bold]{p['stream']}[/] group [bold]{p['group']}[/]: {p['total_pending']} pending, "
        f"{p.get('total_waiting', 0)} of them waiting to retry"
    )
    summary = Table("partition", "stream", "pending", "min id", "max id", "consumer", "held")
    for part in p["partitions"]:
        rows = part["consumers"] or [{"name": "-", "pending": 0}]
        for i, cons in enumerate(rows):
            head = (
                (
                    str(part["partition"]),
                    part["stream"],
                    str(part["pending"]),
                    part["min_id"] or "-",
                    part["max_id"] or "-",
                )
                if i == 0
                else ("",) * 5
            )
            summary.add_row(*head, cons["name"], str(cons["pending"]))
    c.print(summary)
    oldest = Table(
        "partition",
        "entry id",
        "consumer",
        "idle",
        "deliveries",
        "next attempt in",
        *([dedup_field.replace("_", " ")] if dedup_field else []),
        title="oldest pending entries",
    )
    for part in p["partitions"]:
        w = part.get("waiting") or {}
        now = (w.get("next_attempt_ms") or 0) - (w.get("next_attempt_in_ms") or 0)
        for e in part["entries"]:
            due = e.get("next_attempt_ms")
            oldest.add_row(
                str(part["partition"]),
                e["id"],
                e["consumer"],
                age(e["idle_ms"]),
                str(e["delivery_count"]),
                age(due - now) if due is not None else "-",
                *([e[dedup_field] or "(deleted)"] if dedup_field else []),
            )
    c.print(oldest)


def info(p: dict[str, Any]) -> None:
    c = _console()
    c.print(f"[bold]{p['stream']}[/]" + ("  [red]PAUSED[/]" if p["paused"] else ""))
    streams = Table(
        "partition", "stream", "length", "first id", "last id", "dead letters", "waiting",
        "next attempt in",
    )  # fmt: skip
    groups = Table(
        "partition",
        "group",
        "consumers",
        "pending",
        "lag",
        "backlog",
        "oldest pending",
        "oldest undelivered",
        "last delivered",
        "owner",
        title="groups",
    )
    cons = Table("partition", "group", "consumer", "pending", "idle", "inactive", title="consumers")
    for part in p["partitions"]:
        streams.add_row(
            str(part["partition"]),
            part["stream"],
            str(part["length"]) if part["exists"] else "(missing)",
            part["first_id"] or "-",
            part["last_id"] or "-",
            f"{part['dead_letter_length']} ({part['dead_letter_stream']})",
            str(part["waiting"]["count"]),
            age(part["waiting"]["next_attempt_in_ms"]),
        )
        for g in part["groups"]:
            lag = f"{g['lag']}{' ~' if g['lag_estimated'] else ''}"
            groups.add_row(
                str(part["partition"]),
                g["name"],
                str(g["consumer_count"]),
                str(g["pending"]),
                lag,
                str(g["backlog"]),
                age(g["oldest_pending_age_seconds"] * 1000),
                age(g["oldest_undelivered_age_seconds"] * 1000),
                g["last_delivered_id"],
                g.get("owner") or "-",
            )
            for k in g["consumers"]:
                cons.add_row(
                    str(part["partition"]),
                    g["name"],
                    k["name"],
                    str(k["pending"]),
                    age(k["idle_ms"]),
                    age(k["inactive_ms"]),
                )
    c.print(streams)
    c.print(groups)
    c.print(cons)
    if any(g["lag_estimated"] for part in p["partitions"] for g in part["groups"]):
        c.print("~ lag counted by streams-worker (the server's figure is missing or invalid)")


def consumers(p: dict[str, Any], pruned: bool) -> None:
    c = _console()
    t = Table(
        "partition",
        "consumer",
        "pending",
        "idle",
        "inactive",
        "held by",
        title=f"{p['stream']} / {p['group']}",
    )
    for k in p["consumers"]:
        h = k.get("holder")
        t.add_row(
            str(k["partition"]),
            k["name"],
            str(k["pending"]),
            age(k["idle_ms"]),
            age(k["inactive_ms"]),
            f"{h['host']} pid {h['pid']}" if h else "- (no live replica)",
        )
    c.print(t)
    if pruned:
        names = ", ".join(f"{x['name']} (partition {x['partition']})" for x in p["pruned"])
        c.print(f"pruned {len(p['pruned'])}: {names or 'none'}")


def dead_letters(p: dict[str, Any], dedup_field: str) -> None:
    c = _console()
    c.print(f"[bold]{p['stream']}[/]: {p['total']} dead letter(s)")
    key = dedup_field.replace("_", " ") or "payload"
    t = Table("partition", "id", "reason", "deliveries", key, "source id", "consumer", "error")
    for e in p["entries"]:
        t.add_row(
            str(e["partition"]),
            e["id"],
            e["reason"] or "-",
            str(e["delivery_count"]),
            e["payload"].get(dedup_field, "-") if dedup_field else str(len(e["payload"])),
            e["source_id"] or "-",
            e["consumer"] or "-",
            (e["error"] or "")[:60],
        )
    c.print(t)


def dead_letter_detail(p: dict[str, Any]) -> None:
    c = _console()
    if not p["entries"]:
        c.print("no such dead letter")
    for e in p["entries"]:
        t = Table("field", "value", title=f"{e['dead_letter_stream']} {e['id']}")
        for k, v in e.items():
            if k != "payload":
                t.add_row(k, str(v))
        for k, v in e["payload"].items():
            t.add_row(f"payload.{k}", v)
        c.print(t)


def replay(p: dict[str, Any]) -> None:
    c = _console()
    c.print(f"replayed {len(p['replayed'])}")
    for r in p["replayed"]:
        c.print(f"  {r['id']} -> {r['new_id']} (partition {r['partition']})")
    for r in p["refused"]:
        c.print(f"  [red]refused[/] {r['id']} (partition {r['partition']}): {r['why']}")
    for i in p["missing"]:
        c.print(f"  [yellow]not found[/] {i}")


def capabilities(p: dict[str, Any]) -> None:
    c = _console()
    ok = "supported" if p["supported"] else "[red]NOT supported (needs 6.2+)[/]"
    c.print(
        f"[bold]{p['server']} {p['version']}[/] (Redis-compatible {p['redis_version']}, "
        f"{p['mode']}): {ok}"
    )
    f = Table("feature", "available", title="stream features")
    for name, have in p["features"].items():
        f.add_row(name, "yes" if have else "no")
    c.print(f)
    s = Table("concern", "strategy", title="what streams-worker does on this server")
    for name, text in p["strategy"].items():
        s.add_row(name, text)
    c.print(s)
