"""Fault-injection scenarios: a summary line of figures per scenario at the end of
the run, and `--soak` to run each scenario several times longer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.chaos.harness import Fleet
from tests.support.names import Names

SUMMARY: list[str] = []


@pytest.fixture
def report() -> Callable[[str], None]:
    """Add one line of figures to the chaos summary printed after the run."""
    return SUMMARY.append


@pytest.fixture
def soak(request: pytest.FixtureRequest) -> int:
    """How many times longer to run: 1 in CI, 10 with --soak."""
    return 10 if request.config.getoption("--soak") else 1


@pytest.fixture
def fleet(redis_url: str, names: Names, tmp_path: Path) -> Iterator[Callable[..., Fleet]]:
    made: list[Fleet] = []

    def make(url: str | None = None, **settings: object) -> Fleet:
        f = Fleet(url or redis_url, names, tmp_path, **settings)
        made.append(f)
        return f

    yield make
    for f in made:
        f.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if SUMMARY:
        terminalreporter.section("chaos summary")
        for line in SUMMARY:
            terminalreporter.write_line(line)
