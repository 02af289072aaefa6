"""Fault-injection scenarios: a summary line of figures per scenario at the end of
the run, and `--soak` to run each scenario several times longer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.chaos.harness import Fleet
from tests.conftest import BINARIES
from tests.support.names import Names
from tests.support.servers import RedisProcess, ServerBinary

SUMMARY: list[str] = []


@pytest.fixture
def report() -> Callable[[str], None]:
    """Add one line of figures to the chaos summary printed after the run."""
    return SUMMARY.append


@pytest.fixture
def soak(request: pytest.FixtureRequest) -> int:
    """How many times longer to run: 1 in CI, 10 with --soak."""
    return 10 if request.config.getoption("--soak") else 1


#: Every scenario on the default server; on each other server here with --all-servers
#: (make soak), so what differs between versions shows up in the same scenarios.
_SERVERS = [pytest.param(None, id="default")] + [
    pytest.param(b, id=b.label, marks=pytest.mark.otherserver) for b in BINARIES[1:]
]


@pytest.fixture(params=_SERVERS)
def chaos_binary(request: pytest.FixtureRequest) -> ServerBinary | None:
    """The server binary a scenario runs on (None: the default)."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def redis_url(redis_url: str, chaos_binary: ServerBinary | None,
              private_redis: Callable[..., RedisProcess]) -> str:  # fmt: skip
    """The suite's shared server, or a private one of the scenario's binary."""
    return redis_url if chaos_binary is None else private_redis(chaos_binary).url


@pytest.fixture
def private_redis(
    private_redis: Callable[..., RedisProcess], chaos_binary: ServerBinary | None
) -> Callable[..., RedisProcess]:
    """Servers the scenario owns, of its binary unless it names one."""

    def start(binary: ServerBinary | None = None, **kwargs: object) -> RedisProcess:
        return private_redis(binary or chaos_binary, **kwargs)

    return start


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
