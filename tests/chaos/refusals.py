"""Driving load through a Redis refusal: the scenario every test in test_refusals runs.

Two worker subprocesses and a paced producer; the fault is injected once entries
flow, held, lifted; then every acknowledged entry must be handled, nothing left
pending, every worker alive, and each entry handled twice one that the fault had
in flight (`harness.unexpected_duplicates`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from tests.chaos.harness import (
    Fault,
    Fleet,
    PendingMonitor,
    Producer,
    client,
    duplicates,
    unexpected_duplicates,
    wait_all_handled,
    wait_nothing_pending,
)
from tests.conftest import Names
from tests.support.wait import wait_for

#: Work must resume this soon after a fault is lifted (the backoff caps at 5 s).
RESUME_BOUND_S = 8.0


@dataclass
class Outcome:
    entries: int
    during: int  # XADDs acknowledged while the fault visibly lasted (0: it refused them)
    fault: Fault
    duplicates: int
    resumed_s: float

    def line(self, what: str) -> str:
        rec = self.fault.recovery_s
        return (
            f"{what}: {self.entries} entries ({self.during} added during the fault, "
            f"{self.fault.in_flight} in flight at it), 0 lost, {self.duplicates} duplicates "
            f"(all in flight), work resumed {self.resumed_s:.2f} s after the fault lifted, "
            f"in-flight entries all acked {rec if rec is None else round(rec, 2)} s after"
        )


def events(log: str, name: str) -> list[dict[str, object]]:
    out = []
    for line in log.splitlines():
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict) and doc.get("event") == name:
            out.append(doc)
    return out


def drive_through(
    f: Fleet,
    names: Names,
    *,
    server_url: str,
    producer_url: str,
    inject: Callable[[], None],
    lift: Callable[[], None],
    hit: Callable[[], bool],
    kind: str,
    during: Callable[[], None] = lambda: None,
    rate: float = 150,
) -> Outcome:
    """Run the scenario; `hit()` says the fault has visibly bitten (checked before
    lifting it), `during()` runs while it lasts (e.g. start another replica)."""
    if not f.workers:
        for _ in range(2):
            f.start()
    monitor = PendingMonitor(server_url, names)
    monitor.start()
    producer = Producer(producer_url, names.stream, rate=rate, prefix=kind)
    producer.start()
    try:
        wait_for(lambda: len(f.working()) == len(f.workers), timeout=30, what="workers working")
        wait_for(lambda: len(f.done()) >= 100, timeout=30, what="100 entries handled")
        handled_before = set(f.done())
        fault = monitor.fault(kind, None, lasting=True)
        inject()
        wait_for(hit, timeout=20, what=f"the {kind} fault to bite")
        before = len(producer.acknowledged)
        during()
        added = len(producer.acknowledged) - before
        lift()
        fault.lift()
        # Handled while the fault lasted: in flight in it, though no poll may have seen
        # it pending (the monitor's polls are refused too, and a replica that claims it
        # after the lift can ack it before the next poll); its ack may have been refused.
        fault.touched |= set(f.done()) - handled_before
        base = len(f.done())
        wait_for(lambda: len(f.done()) > base + 20, timeout=30, what="work to resume")
        resumed = time.monotonic() - (fault.lifted_at or 0.0)
        wait_for(lambda: len(f.done()) > base + 150, timeout=30, what="more entries through")
        producer.stop()
        acknowledged = set(producer.acknowledged)
        wait_all_handled(f, acknowledged, timeout=60)
        with client(server_url) as r:
            wait_nothing_pending(r, names)
        wait_for(lambda: fault.recovered_at is not None, timeout=20, what="in-flight acked")
    finally:  # no thread outlives the test
        producer.stop()
        monitor.stop()
    dead = [n for n, w in f.workers.items() if not w.alive()]
    assert not dead, f"workers died: {dead}\n{f.logs()[-4000:]}"
    assert "Traceback" not in f.logs(), f.logs()[-4000:]
    done = f.done()
    stray = unexpected_duplicates(done, monitor.faults)
    assert not stray, f"handled twice but never in flight at a fault: {sorted(stray)[:10]}"
    assert resumed <= RESUME_BOUND_S, f"work resumed only {resumed:.2f} s after the fault"
    return Outcome(len(acknowledged), added, fault, duplicates(done), resumed)
