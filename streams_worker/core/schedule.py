"""When a failed entry is delivered again, and how fast handlers may start.

Pure functions, no Redis: parsing `WORKER_RETRY_DELAYS_MS` and `WORKER_RATE_LIMIT`,
and choosing the wait before the next delivery.

    delays (5000, 30000, 120000), delivered 1st time, failed -> wait ~5 s
                                  delivered 2nd time, failed -> wait ~30 s
                                  delivered 3rd+ time, failed -> wait ~120 s (last repeats)

Each scheduled wait is jittered by ±`JITTER` so entries that failed together (an
upstream outage) do not come back together; a `retry_after` the error carries is
used as given (the upstream named the time).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

JITTER = 0.2
#: Longest wait accepted anywhere (a week): a bigger value is a typo.
MAX_DELAY_MS = 7 * 86_400_000

_PERIODS = {"s": 1.0, "sec": 1.0, "min": 60.0, "m": 60.0, "h": 3600.0, "hour": 3600.0}
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*([a-z]+)\s*$")


def parse_delays_ms(text: str) -> tuple[int, ...]:
    """`"5000,30000,120000"` -> (5000, 30000, 120000); empty -> (): no schedule."""
    text = text.strip()
    if not text:
        return ()
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit():
            raise ValueError(f"must be comma-separated milliseconds, e.g. 5000,30000 ({text!r})")
        value = int(part)
        if value > MAX_DELAY_MS:
            raise ValueError(f"{value} ms is longer than a week")
        out.append(value)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Rate:
    """`count` handler starts per `period_s` seconds."""

    count: float
    period_s: float

    @property
    def interval_us(self) -> int:
        """Microseconds between two permits at a steady pace (GCRA's emission interval)."""
        return max(1, round(self.period_s * 1_000_000 / self.count))

    @property
    def per_second(self) -> float:
        return self.count / self.period_s


def parse_rate(text: str) -> Rate | None:
    """`"20/s"`, `"600/min"`, `"1000/h"` -> Rate; empty -> None (no limit)."""
    if not text.strip():
        return None
    m = _RATE.match(text.lower())
    if not m or m.group(2) not in _PERIODS:
        raise ValueError(f"must look like N/s, N/min or N/h (got {text!r})")
    count = float(m.group(1))
    if count <= 0:
        raise ValueError(f"the count must be positive (got {text!r})")
    return Rate(count, _PERIODS[m.group(2)])


def retry_delay_ms(
    delays: tuple[int, ...],
    delivery_count: int,
    retry_after_s: float | None = None,
    rng: random.Random | None = None,
) -> int | None:
    """The wait before the next delivery of an entry that failed on delivery
    `delivery_count`; None when neither a schedule nor `retry_after_s` applies (the
    entry is then redelivered after the claim threshold, as without a schedule)."""
    if retry_after_s is not None:
        return min(MAX_DELAY_MS, max(0, round(retry_after_s * 1000)))
    if not delays:
        return None
    base = delays[min(max(delivery_count, 1), len(delays)) - 1]
    jitter = (rng or random).uniform(1 - JITTER, 1 + JITTER)
    return max(0, round(base * jitter))
