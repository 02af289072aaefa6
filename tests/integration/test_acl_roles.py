"""Each role's real code under its own ACL user (k8s/redis/users.acl):
the producer's enqueue, a whole worker (reads, claims, leases, dead letters, the
group sampler), trimming, and every ops CLI command as `operator`.

A command missing from a role's ACL shows up here as a NOPERM error: a failed CLI
command, a non-zero `streams_worker_redis_errors_total`, or a crashed worker.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
import redis
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from typer.testing import CliRunner

from producer.runtime import run_enqueue
from producer.settings import ProducerSettings
from streams_worker import WorkerSettings
from streams_worker.cli.app import app as worker_cli
from streams_worker.core.connection import create_client
from streams_worker.core.settings import CommonSettings
from streams_worker.core.trim import safe_trim
from streams_worker.dev.embedded import RedisProcess
from tests.conftest import BINARIES
from tests.support.acl import (
    GROUP,
    PASSWORDS,
    STREAM,
    TEST_ADMIN,
    acl_args_with_test_admin,
    login,
    role_env,
)
from tests.support.handlers import Recorder
from tests.support.wait import eventually
from tests.support.workers import serving


@pytest.fixture
def server(private_redis: Callable[..., RedisProcess], tmp_path: Path) -> RedisProcess:
    return private_redis(extra_args=acl_args_with_test_admin(tmp_path))


@pytest.fixture(params=BINARIES, ids=[b.label for b in BINARIES])
def any_server(
    request: pytest.FixtureRequest, private_redis: Callable[..., RedisProcess], tmp_path: Path
) -> RedisProcess:
    return private_redis(request.param, extra_args=acl_args_with_test_admin(tmp_path))


def producer_settings(server: RedisProcess, partitions: int = 1) -> ProducerSettings:
    return ProducerSettings(redis_url=server.url, stream=STREAM, partitions=partitions,
                            **login("producer"))  # fmt: skip


def worker_settings(server: RedisProcess, **kw: Any) -> WorkerSettings:
    base: dict[str, Any] = {
        "redis_url": server.url, "stream": STREAM, "group": GROUP, "consumer": "worker-0",
        "block_ms": 100, "claim_interval_ms": 50, "claim_min_idle_ms": 400,
        "max_deliveries": 2, "concurrency": 4, "http_port": 0,
        "group_sample_interval_ms": 100, **login("worker"),
    }  # fmt: skip
    return WorkerSettings(**(base | kw))


def _admin(server: RedisProcess) -> Redis:
    """The tests' own eyes (TEST_ADMIN), not one of the roles."""
    user, password = TEST_ADMIN
    return Redis(port=server.port, username=user, password=password)


def _samples(registry: CollectorRegistry) -> dict[str, float]:
    out: dict[str, float] = {}
    for m in registry.collect():
        for s in m.samples:
            out[s.name] = out.get(s.name, 0.0) + s.value
    return out


@pytest.mark.parametrize("partitions", [1, 3])
async def test_producer_enqueues_under_its_own_user(server: RedisProcess, partitions: int) -> None:
    settings = producer_settings(server, partitions)
    ids = [f"urn:article:p{i}" for i in range(30)]
    first = await run_enqueue(settings, ids, False, None)
    again = await run_enqueue(settings, ids, False, None)  # HGET + XRANGE in the script
    assert (first.enqueued, again.enqueued, again.duplicates) == (30, 0, 30)


async def _whole_job(server: RedisProcess, partitions: int) -> None:
    articles = [f"urn:article:a{i}" for i in range(20)]
    await run_enqueue(producer_settings(server, partitions), articles, False, None)
    rec = Recorder(
        fail={"urn:article:a3"},  # fails every time -> dead letter after 2 deliveries
        permanent={"urn:article:a5"},  # dead letter at once
        sleep_for=lambda e: 0.5 if e.fields.get("article_id") == "urn:article:a7" else 0.0,
    )  # a7 runs past half the claim threshold: its lease is renewed (renew.lua)
    registry = CollectorRegistry()
    settings = worker_settings(server, partitions=partitions)
    keys = settings.keys()
    admin = _admin(server)
    try:
        async with serving(settings, rec, registry=registry) as worker:

            async def done() -> bool:
                pending = [await admin.xpending(p.stream, GROUP) for p in keys.partitions]
                handled = {e.fields.get("article_id") for e in rec.calls}
                sampled = worker.last_sample is not None
                return sampled and handled == set(articles) and not any(
                    p["pending"] for p in pending)  # fmt: skip

            await eventually(done, timeout=15)
        dead = sum([await admin.xlen(p.dead_letter) for p in keys.partitions])
        marks = sum([await admin.hlen(p.queued) for p in keys.partitions])
    finally:
        await admin.aclose()
    samples = _samples(registry)
    assert samples.get("streams_worker_redis_errors_total", 0) == 0, "a command was refused"
    assert dead == 2
    assert marks == 0  # every in-queue mark cleared by the ack and dead-letter scripts
    assert samples.get("streams_worker_lease_renewals_total", 0) >= 1


async def test_worker_does_its_whole_job_under_its_own_user(any_server: RedisProcess) -> None:
    await _whole_job(any_server, partitions=1)


async def test_partitioned_worker_does_its_whole_job_under_its_own_user(
    server: RedisProcess,
) -> None:
    await _whole_job(server, partitions=3)


@pytest.mark.parametrize("role", ["worker", "operator"])
async def test_trim_runs_under_worker_and_operator(server: RedisProcess, role: str) -> None:
    await run_enqueue(producer_settings(server), ["urn:article:t1"], False, None)
    settings = CommonSettings(redis_url=server.url, stream=STREAM, **login(role))
    client = create_client(settings)
    try:
        await client.xgroup_create(STREAM, GROUP, id="$") if role == "worker" else None
        result = await safe_trim(client, settings.keys())
    finally:
        await client.aclose()
    assert not any(p.refused for p in result.partitions)


OPS_COMMANDS: list[list[str]] = [
    ["info", "--json"],
    ["info", "--all-groups", "--json"],
    ["pending", "--json"],
    ["pending", "--older-than", "0s", "--min-deliveries", "1", "--json"],
    ["consumers", "--json"],
    ["consumers", "--prune", "--min-idle", "0s", "--json"],
    ["pause", "--json"],
    ["resume", "--json"],
    ["capabilities", "--json"],
    ["dlq", "list", "--json"],
    ["trim", "--dry-run", "--json"],
    ["trim", "--json"],
    ["dlq", "replay", "--all", "--json"],
    ["dlq", "purge", "--all", "--yes", "--json"],
]


def _sync_login(server: RedisProcess, role: str) -> redis.Redis:
    return redis.Redis(port=server.port, username=role, password=PASSWORDS[role])


def _scene(server: RedisProcess) -> None:
    """Entries, a group with a consumer holding pending entries, a dead letter."""
    anyio.run(run_enqueue, producer_settings(server), [f"urn:article:o{i}" for i in range(5)],
              False, None)  # fmt: skip
    with _sync_login(server, "worker") as worker:
        worker.xgroup_create(STREAM, GROUP, id="0")
        worker.execute_command("XREADGROUP", "GROUP", GROUP, "gone-pod", "COUNT", 2,
                               "STREAMS", STREAM, ">")  # fmt: skip
        worker.xadd(f"{STREAM}:dead", {"reason": "permanent_error", "source_stream": STREAM,
                                       "source_id": "1-1", "payload.article_id": "x"})  # fmt: skip


def test_every_ops_command_works_as_operator(server: RedisProcess) -> None:
    _scene(server)
    runner = CliRunner()
    env = role_env(server.url, "operator")
    for argv in OPS_COMMANDS:
        res = runner.invoke(worker_cli, argv, env=env)
        assert res.exit_code == 0, f"{argv}: {res.output}"
        json.loads(res.stdout)  # one JSON document


@pytest.mark.parametrize("argv", [["info", "--json"], ["pending", "--json"]])
def test_read_only_ops_commands_work_as_worker_too(server: RedisProcess, argv: list[str]) -> None:
    _scene(server)
    res = CliRunner().invoke(worker_cli, argv, env=role_env(server.url, "worker"))
    assert res.exit_code == 0, res.output


def test_worker_cannot_run_the_operators_commands(server: RedisProcess) -> None:
    _scene(server)
    # (`dlq purge` is XTRIM MAXLEN 0, which the worker has for trimming: without
    # Redis 7 selectors an ACL cannot allow XTRIM on one key and not another.)
    for argv in (["pause"], ["resume"], ["dlq", "replay", "--all"]):
        res = CliRunner().invoke(worker_cli, argv, env=role_env(server.url, "worker"))
        assert res.exit_code != 0, argv
        assert "permission" in res.output.lower() or "NOPERM" in res.output, res.output
