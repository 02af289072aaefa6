"""Secrets never leak: the Redis password, the catalog client secret and the catalog's
access tokens appear in none of the logs, metrics, HTTP answers, dead-letter
error messages, `--json` outputs or error messages we can provoke."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from streams_worker.dev.embedded import free_port
from streams_worker.enrichment.sample_catalog import SampleCatalog
from tests.support.cli import clean_env, run
from tests.support.names import Names
from tests.support.servers import RedisProcess
from tests.support.wait import wait_for
from tests.support.workers import spawn_worker

PASSWORD = "Redis-Pa55-9f3c1e"
CLIENT_SECRET = "Catalog-Secret-77ab20"
WRONG_SECRET = "Wrong-Catalog-Secret-51d0"


@pytest.fixture(scope="module")
def server() -> Iterator[RedisProcess]:
    users = ["--user", "worker", "on", f">{PASSWORD}", "~*", "&*", "+@all"]
    with RedisProcess(extra_args=users) as s:
        yield s


@pytest.fixture(scope="module")
def catalog() -> Iterator[SampleCatalog]:
    with SampleCatalog.start(articles=6, client_secret=CLIENT_SECRET) as c:
        yield c


def _leaks(text: str, secrets: set[str]) -> list[str]:
    return sorted(s for s in secrets if s and s in text)


def test_no_secret_in_logs_metrics_status_errors_or_json(
    server: RedisProcess, catalog: SampleCatalog, names: Names, tmp_path: Path
) -> None:
    url = f"redis://worker:{PASSWORD}@127.0.0.1:{server.port}/0"
    port = free_port()
    env = clean_env(
        REDIS_URL=url, WORKER_STREAM=names.stream, WORKER_GROUP=names.group,
        WORKER_HTTP_PORT=port, WORKER_HTTP_HOST="127.0.0.1", WORKER_LOG_LEVEL="DEBUG",
        WORKER_BLOCK_MS=200, DATA_API_URL=catalog.url, KEYCLOAK_CLIENT_SECRET=CLIENT_SECRET,
    )  # fmt: skip
    captured: dict[str, str] = {}
    urns = sorted(catalog.store.articles)
    ids = [*urns, "urn:article:does-not-exist-404"]
    captured["producer"] = _out(run(["streams-producer", "enqueue", *ids], env))
    r = redis.Redis.from_url(url)
    r.xadd(names.stream, {"not_an_article": "x"})  # dead-lettered with an error message
    worker = spawn_worker(env, tmp_path / "worker.log")
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: _get(f"{base}/readyz") == 200, timeout=30, what="worker ready")

        def settled() -> bool:
            xp = r.xpending(names.stream, names.group)
            return xp["pending"] == 0 and r.xlen(f"{names.stream}:dead") == 2

        wait_for(settled, timeout=30, what="all handled or dead-lettered")
        for path in ("/metrics", "/status", "/healthz", "/readyz", "/health",
                     "/api/v1/worker/status"):  # fmt: skip
            captured[path] = httpx.get(base + path, timeout=5).text
        for argv in (["info", "--json"], ["pending", "--json"], ["consumers", "--json"],
                     ["capabilities", "--json"], ["dlq", "list", "--json"], ["info"],
                     ["dlq", "list"]):  # fmt: skip
            captured[" ".join(argv)] = _out(run(["streams-worker", *argv], env))
        captured["dead letters"] = repr(r.xrange(f"{names.stream}:dead"))
    finally:
        worker.close()
    captured["worker log"] = worker.log()
    # Error messages: a wrong catalog secret, an unreachable Redis with the password.
    bad = {**env, "KEYCLOAK_CLIENT_SECRET": WRONG_SECRET, "WORKER_HTTP_PORT": "0"}
    r.xadd(names.stream, {"article_id": urns[0]})
    failing = spawn_worker(bad, tmp_path / "failing.log")
    try:
        wait_for(lambda: "handler_failed" in failing.log() or "dead_letter" in failing.log(),
                 timeout=30, what="the handler to fail on the catalog login")  # fmt: skip
    finally:
        failing.close()
    captured["worker with a wrong catalog secret"] = failing.log()
    assert "401" in failing.log() or "login" in failing.log().lower(), failing.log()[-2000:]
    gone = {**env, "REDIS_URL": f"redis://worker:{PASSWORD}@127.0.0.1:{free_port()}/0"}
    captured["unreachable redis"] = _out(run(["streams-producer", "enqueue", urns[0]], gone))
    captured["unreachable redis (ops)"] = _out(run(["streams-worker", "info"], gone))

    tokens = set(catalog.store.tokens)
    assert tokens, "the worker never logged in to the catalog: the check would prove nothing"
    secrets = {PASSWORD, CLIENT_SECRET, WRONG_SECRET, *tokens}
    leaks = {where: _leaks(text, secrets) for where, text in captured.items()}
    assert {w: s for w, s in leaks.items() if s} == {}
    assert "dead_letter" in captured["/metrics"] or "streams_worker_" in captured["/metrics"]
    assert "worker:***@" in captured["unreachable redis"]


def _get(url: str) -> int:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return 0


def _out(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout + done.stderr
