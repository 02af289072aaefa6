"""The console's display helpers and settings, without Redis."""

from __future__ import annotations

import pytest

from streams_worker.console.queries import DeadLetterFilter, after
from streams_worker.console.render import MAX_FIELDS, MAX_VALUE_CHARS, clip, fields
from streams_worker.console.sampling import sparkline
from streams_worker.console.settings import ConsoleSettings, is_loopback
from streams_worker.core.errors import ConfigurationError
from streams_worker.ops.durations import age


def test_long_values_are_cut_with_a_count_of_what_was_left_out() -> None:
    shown = clip(b"x" * (MAX_VALUE_CHARS + 5))
    assert len(shown.value) == MAX_VALUE_CHARS
    assert shown.omitted == 5
    assert clip(b"\xff ok").value == "\ufffd ok"  # invalid UTF-8 is replaced, never raised


def test_many_fields_are_capped_with_a_note() -> None:
    f = fields({f"k{i}".encode(): b"v" for i in range(MAX_FIELDS + 7)})
    assert len(f.shown) == MAX_FIELDS
    assert f.more == 7
    assert fields(None).shown == []


def test_ages_read_the_same_as_in_the_cli_tables() -> None:
    assert [age(850), age(12_000), age(184_000), age(3 * 3600_000), age(50 * 3600_000)] == [
        "850ms", "12.0s", "3m04s", "3h00m", "2d02h"]  # fmt: skip


def test_a_sparkline_spans_its_box() -> None:
    assert sparkline([1.0]) == ""
    points = [tuple(map(float, p.split(","))) for p in sparkline([0, 5, 10], 100, 20).split()]
    assert [x for x, _ in points] == [0.0, 50.0, 100.0]
    assert points[2][1] < points[1][1] < points[0][1]  # higher values drawn higher


def test_the_dead_letter_age_filter_is_an_xrange_end_bound() -> None:
    assert DeadLetterFilter().end(1_000_000) == "+"
    assert DeadLetterFilter(min_age_ms=60_000).end(1_000_000) == "940000"
    assert after(None) == "-"
    assert after("5-1") == "(5-1"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),  # noqa: S104
        ("10.1.2.3", False),
    ],
)
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_without_a_token_only_loopback_is_allowed_and_short_tokens_are_refused() -> None:
    ConsoleSettings(console_host="127.0.0.1").check_bind()
    with pytest.raises(ConfigurationError, match="CONSOLE_HOST"):
        ConsoleSettings(console_host="0.0.0.0").check_bind()  # noqa: S104
    ConsoleSettings(console_host="0.0.0.0", console_token="x" * 16).check_bind()  # noqa: S104
    with pytest.raises(ConfigurationError, match="CONSOLE_TOKEN"):
        ConsoleSettings(console_token="short").token()
