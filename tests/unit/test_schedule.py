"""WORKER_RETRY_DELAYS_MS and WORKER_RATE_LIMIT: parsing, and the wait chosen."""

from __future__ import annotations

import random

import pytest

from streams_worker.core.errors import ConfigurationError, RateLimited, RetryableError
from streams_worker.core.schedule import JITTER, parse_delays_ms, parse_rate, retry_delay_ms
from streams_worker.core.settings import WorkerSettings, load


def test_the_schedule_walks_the_delays_and_repeats_the_last_within_the_jitter() -> None:
    delays = parse_delays_ms("5000, 30000,120000")
    assert delays == (5000, 30000, 120000)
    rng = random.Random(7)
    for count, base in [(1, 5000), (2, 30000), (3, 120000), (4, 120000), (9, 120000)]:
        waits = [retry_delay_ms(delays, count, rng=rng) or 0 for _ in range(200)]
        assert base * (1 - JITTER) <= min(waits) < max(waits) <= base * (1 + JITTER)


def test_retry_after_overrides_the_schedule_and_no_schedule_means_claim_threshold() -> None:
    assert retry_delay_ms((5000,), 1, retry_after_s=0.25) == 250
    assert retry_delay_ms((), 1, retry_after_s=3) == 3000
    assert retry_delay_ms((), 2) is None
    assert RateLimited("429", retry_after=2).retry_after == 2
    with pytest.raises(ValueError, match="retry_after"):
        RetryableError("x", retry_after=-1)


@pytest.mark.parametrize(("text", "per_second"), [("20/s", 20), ("600/min", 10), ("36/h", 0.01)])
def test_rates_in_each_unit(text: str, per_second: float) -> None:
    rate = parse_rate(text)
    assert rate is not None
    assert rate.per_second == pytest.approx(per_second)
    assert parse_rate("") is None


@pytest.mark.parametrize(
    ("variable", "value"),
    [("WORKER_RETRY_DELAYS_MS", "5s,30s"), ("WORKER_RETRY_DELAYS_MS", "1,,2"),
     ("WORKER_RATE_LIMIT", "20 per second"), ("WORKER_RATE_LIMIT", "0/s"),
     ("WORKER_CONSUMER", "(waiting)")],
)  # fmt: skip
def test_a_bad_schedule_or_rate_stops_start_up_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as info:
        load(WorkerSettings)
    assert info.value.variable == variable
