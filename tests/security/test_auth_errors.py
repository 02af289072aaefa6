"""Wrong or missing credentials: every command stops with one clear line naming the
problem (never a traceback), and never echoes the password it was given. The worker
exits 2 (a configuration refusal at start-up, docs/reliability.md); the producer and
the ops commands exit with their Redis-error status (3 and 1, docs/cli.md)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.cli import assert_one_clear_line, clean_env, run
from tests.support.names import Names
from tests.support.servers import RedisProcess

GOOD = "w0rker-Pa55"
WRONG = "n0t-the-Pa55word"
#: The exit status each command gives a refusal only an operator can fix.
REFUSED = {"producer": 3, "ops": 1, "worker": 2}
COMMANDS = {
    "producer": ["streams-producer", "enqueue", "urn:article:auth"],
    "ops": ["streams-worker", "pending"],
    "worker": ["streams-worker", "run"],
}


@pytest.fixture(scope="module")
def acl_server() -> Iterator[RedisProcess]:
    users = ["--user", "worker", "on", f">{GOOD}", "~*", "&*", "+@all",
             "--user", "default", "on", ">admin-Pa55", "~*", "&*", "+@all"]  # fmt: skip
    with RedisProcess(extra_args=users) as server:
        yield server


def _url(server: RedisProcess, user: str, password: str) -> str:
    return f"redis://{user}:{password}@127.0.0.1:{server.port}/0"


def _env(names: Names, **kw: object) -> dict[str, str]:
    return clean_env(WORKER_STREAM=names.stream, WORKER_GROUP=names.group,
                     WORKER_HANDLER="tests.support.handlers:recorder", **kw)  # fmt: skip


def test_the_acl_user_with_its_password_works(acl_server: RedisProcess, names: Names) -> None:
    done = run(COMMANDS["producer"], _env(names, REDIS_URL=_url(acl_server, "worker", GOOD)))
    assert done.returncode == 0, done.stderr
    assert GOOD not in done.stdout + done.stderr


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_wrong_password_fails_with_one_clear_line(
    acl_server: RedisProcess, names: Names, command: str
) -> None:
    done = run(COMMANDS[command], _env(names, REDIS_URL=_url(acl_server, "worker", WRONG)))
    assert done.returncode == REFUSED[command]
    line = assert_one_clear_line(done, "invalid username-password")
    assert "worker:***@" in line  # where it went, with the password masked
    assert WRONG not in done.stdout + done.stderr


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_wrong_password_from_a_mounted_secret_file_fails_clearly(
    acl_server: RedisProcess, names: Names, command: str, tmp_path: Path
) -> None:
    secret = tmp_path / "password"
    secret.write_text(WRONG + "\n")
    env = _env(names, REDIS_URL=f"redis://127.0.0.1:{acl_server.port}/0",
               REDIS_USERNAME="worker", REDIS_PASSWORD_FILE=secret)  # fmt: skip
    done = run(COMMANDS[command], env)
    assert done.returncode == REFUSED[command]
    assert_one_clear_line(done, "invalid username-password")
    assert WRONG not in done.stdout + done.stderr


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_no_password_at_all_fails_clearly(
    acl_server: RedisProcess, names: Names, command: str
) -> None:
    done = run(COMMANDS[command], _env(names, REDIS_URL=f"redis://127.0.0.1:{acl_server.port}/0"))
    assert done.returncode == REFUSED[command]
    assert_one_clear_line(done, "auth")


def test_a_user_without_stream_permissions_fails_clearly(
    private_redis: Callable[..., RedisProcess], names: Names
) -> None:
    server = private_redis(extra_args=["--user", "reader", "on", ">r3ader-Pa55", "~*", "+@read",
                                       "+ping", "+hello", "+client", "+info"])  # fmt: skip
    done = run(COMMANDS["producer"], _env(names, REDIS_URL=_url(server, "reader", "r3ader-Pa55")))
    assert done.returncode not in (0, 2)
    assert_one_clear_line(done, "permission")
