"""Hostile settings (negative, zero, absurd, wrong types, malformed URLs, missing
files): every command stops with exit status 2 and one line naming the variable.

Parsed in-process through typer's CliRunner (fast, hundreds of cases); a few
run as real subprocesses to pin the real exit status and stderr.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from typer.testing import CliRunner

from producer.cli import app as producer_app
from streams_worker.cli.app import app as worker_app
from streams_worker.dev.embedded import free_port
from tests.support.cli import clean_env, run

_OURS = ("REDIS_", "WORKER_", "PRODUCER_", "KEYCLOAK_", "DATA_API_", "LOG_")

COMMON: dict[str, list[str]] = {
    "REDIS_URL": ["", "http://127.0.0.1:1", "redis://", "redis://h:notaport", "redis://h:99999",
                  "127.0.0.1:6000", "redis//127.0.0.1", "redis://[::1", "ftp://x/0"],
    "REDIS_SOCKET_TIMEOUT_S": ["0", "-1", "nan", "inf", "1e9", "soon"],
    "WORKER_STREAM": [""],
    "WORKER_GROUP": [""],
    "WORKER_PARTITIONS": ["0", "-3", "100000", "two", "1.5"],
    "WORKER_LOG_LEVEL": ["LOUD", "7"],
    "WORKER_LOG_FORMAT": ["xml"],
    "REDIS_PORT": ["0", "70000", "x"],
    "REDIS_CLUSTER": ["sometimes"],
    "REDIS_SENTINELS": ["sentinel-0", "a:99999", "h:26379,:1", "h:port"],
    "REDIS_PASSWORD_FILE": ["/nonexistent/password"],
    "REDIS_TLS_CA_FILE": ["/nonexistent/ca.pem", "/"],
}  # fmt: skip
WORKER: dict[str, list[str]] = {
    "WORKER_CONCURRENCY": ["0", "-1", "abc", "1e9", "99999999999", "1.5", ""],
    "WORKER_BATCH_SIZE": ["0", "-5", "x"],
    "WORKER_BLOCK_MS": ["0", "-1", "10000000000"],
    "WORKER_CLAIM_MIN_IDLE_MS": ["-1", "x", "1e20"],
    "WORKER_CLAIM_INTERVAL_MS": ["0", "-1"],
    "WORKER_MAX_DELIVERIES": ["0", "-1", "1000000"],
    "WORKER_HTTP_PORT": ["-1", "70000", "http"],
    "WORKER_SHUTDOWN_GRACE_S": ["-1", "nan", "inf"],
    "WORKER_LEASE_RENEWAL": ["maybe"],
    "WORKER_CONSUMER_IDLE_EXPIRY_MS": ["0", "10"],
    "WORKER_GROUP_SAMPLE_INTERVAL_MS": ["0", "-1"],
    "WORKER_BURST": ["perhaps"],
    "WORKER_TRIM_INTERVAL_MS": ["-1"],
    "WORKER_CONSUMER": [""],
}  # fmt: skip
PRODUCER: dict[str, list[str]] = {
    "PRODUCER_BATCH_SIZE": ["0", "-1", "x", "10000000"],
    "PRODUCER_SCRIPT_BATCH": ["0", "x"],
}


def _cases(table: dict[str, list[str]]) -> list[Any]:
    return [
        pytest.param(var, val, id=f"{var}={val!r}") for var, vals in table.items() for val in vals
    ]


def _env(var: str, value: str) -> dict[str, str | None]:
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith(_OURS)}
    # A closed loopback port: should a case slip through validation, nothing answers.
    env["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    if var.startswith("REDIS_TLS_"):  # TLS files are only read (and checked) with TLS
        env["REDIS_URL"] = f"rediss://127.0.0.1:{free_port()}/0"
    if var == "REDIS_PORT":
        env["REDIS_URL"] = None
        env["REDIS_HOST"] = "127.0.0.1"
    if var.startswith("REDIS_TLS_"):  # TLS files are checked when TLS is on
        env["REDIS_URL"] = f"rediss://127.0.0.1:{free_port()}/0"
    env[var] = value
    return env


def _check(app: Any, argv: list[str], var: str, value: str, prog: str) -> None:
    result = CliRunner().invoke(app, argv, env=_env(var, value))
    err = result.stderr.strip()
    assert result.exit_code == 2, (result.exit_code, result.output[-500:])
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"{prog}: configuration error: {var}:"), err
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("var", "value"), _cases({**COMMON, **WORKER}))
def test_worker_run_rejects(var: str, value: str) -> None:
    _check(worker_app, ["run"], var, value, "streams-worker")


@pytest.mark.parametrize(("var", "value"), _cases({**COMMON, **PRODUCER}))
def test_producer_enqueue_rejects(var: str, value: str) -> None:
    _check(producer_app, ["enqueue", "urn:article:x"], var, value, "streams-producer")


@pytest.mark.parametrize("command", [["info"], ["pending"], ["dlq", "list"], ["trim"]])
@pytest.mark.parametrize(("var", "value"), _cases({
    "REDIS_URL": ["redis://h:99999", "http://x"], "WORKER_PARTITIONS": ["0"],
    "REDIS_PASSWORD_FILE": ["/nonexistent/password"],
}))  # fmt: skip
def test_ops_commands_reject(command: list[str], var: str, value: str) -> None:
    _check(worker_app, command, var, value, "streams-worker")


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--concurrency", "-1"), ("--batch-size", "0"), ("--claim-min-idle-ms", "-5"),
     ("--partitions", "0"), ("--redis-url", "nope://x"), ("--http-port", "99999")],
)  # fmt: skip
def test_cli_flags_are_validated_like_the_environment(flag: str, value: str) -> None:
    result = CliRunner().invoke(worker_app, ["run", flag, value], env=_env("WORKER_STREAM", "s"))
    assert result.exit_code == 2
    assert "configuration error" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("argv", "var", "value"),
    [
        (["streams-worker", "run"], "WORKER_CONCURRENCY", "-1"),
        (["streams-worker", "run"], "WORKER_CONCURRENCY", "abc"),  # not parsed by click
        (["streams-worker", "run"], "WORKER_HANDLER", "no.such.module:handle"),
        (["streams-worker", "run"], "WORKER_HANDLER", "no-colon"),
        (["streams-producer", "enqueue", "urn:article:x"], "REDIS_URL", "redis://h:99999"),
        (["streams-worker", "info"], "REDIS_PASSWORD_FILE", "/nonexistent/password"),
    ],
)
def test_real_processes_exit_2_with_one_line(argv: list[str], var: str, value: str) -> None:
    env = clean_env(**{"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0", var: value})
    done = run(argv, env)
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if not line.startswith("{")]
    assert len(lines) == 1, lines
    assert f"configuration error: {var}:" in lines[0]
