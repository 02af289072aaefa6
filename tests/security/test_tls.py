"""TLS: worker, producer and ops CLI talk to a TLS-only redis-server with the CA we
made, and refuse a server whose certificate does not verify."""

from __future__ import annotations

import json
from collections.abc import Callable

import redis

from streams_worker import WorkerSettings
from streams_worker.core.settings import load
from tests.support.cli import assert_one_clear_line, clean_env, run
from tests.support.handlers import Recorder
from tests.support.names import Names
from tests.support.tls import PKI, TLSRedisProcess
from tests.support.wait import eventually
from tests.support.workers import serving


def _tls_env(server: TLSRedisProcess, ca: object, names: Names, **more: object) -> dict[str, str]:
    return clean_env(REDIS_URL=server.url, REDIS_TLS_CA_FILE=ca, WORKER_STREAM=names.stream,
                     WORKER_GROUP=names.group, **more)  # fmt: skip


async def test_worker_consumes_over_tls(
    tls_redis: Callable[..., TLSRedisProcess], pki: PKI, names: Names
) -> None:
    server = tls_redis()
    r = redis.Redis.from_url(server.url, ssl_ca_certs=str(pki.ca_cert))
    ids = {r.xadd(names.stream, {"article_id": f"urn:article:tls-{i}"}).decode() for i in range(5)}
    settings = load(WorkerSettings, redis_url=server.url, redis_tls_ca_file=pki.ca_cert,
                    http_port=0, block_ms=100, **names.settings())  # fmt: skip
    recorder = Recorder()
    async with serving(settings, recorder) as worker:
        assert await worker.ready()
        await eventually(lambda: _true(set(recorder.ids()) == ids), timeout=10)
    assert r.xpending(names.stream, names.group)["pending"] == 0


async def _true(v: bool) -> bool:
    return v


def test_producer_and_ops_cli_work_over_tls(
    tls_redis: Callable[..., TLSRedisProcess], pki: PKI, names: Names
) -> None:
    server = tls_redis()
    env = _tls_env(server, pki.ca_cert, names)
    done = run(["streams-producer", "enqueue", "urn:article:over-tls"], env)
    assert done.returncode == 0, done.stderr
    info = run(["streams-worker", "info", "--json"], env)
    assert info.returncode == 0, info.stderr
    assert json.dumps(json.loads(info.stdout)).count('"length": 1') == 1


def test_mutual_tls_with_a_client_certificate(
    tls_redis: Callable[..., TLSRedisProcess], pki: PKI, names: Names
) -> None:
    server = tls_redis(require_client_cert=True)
    env = _tls_env(server, pki.ca_cert, names)
    # A refused handshake looks like a lost connection: do not retry it for 30 s.
    refused = run(
        ["streams-producer", "enqueue", "urn:article:no-cert"], {**env, "PRODUCER_RETRY_S": "1"}
    )
    assert refused.returncode != 0
    assert_one_clear_line(refused, "cannot reach Redis")
    env.update(REDIS_TLS_CERT_FILE=str(pki.client_cert), REDIS_TLS_KEY_FILE=str(pki.client_key))
    done = run(["streams-producer", "enqueue", "urn:article:with-cert"], env)
    assert done.returncode == 0, done.stderr


def test_every_command_refuses_a_server_whose_certificate_does_not_verify(
    tls_redis: Callable[..., TLSRedisProcess], pki: PKI, names: Names
) -> None:
    rogue = tls_redis(rogue=True)  # its certificate comes from a CA we do not trust
    env = _tls_env(rogue, pki.ca_cert, names, WORKER_HANDLER="tests.support.handlers:recorder")
    for argv in (["streams-producer", "enqueue", "urn:article:x"], ["streams-worker", "info"]):
        done = run(argv, env)
        assert done.returncode not in (0, 2), done
        assert_one_clear_line(done, "certificate verify failed")
    worker = run(["streams-worker", "run"], env)
    assert worker.returncode == 1
    line = assert_one_clear_line(worker, "certificate did not verify", "REDIS_TLS_CA_FILE")
    assert rogue.url in line


def test_plain_redis_url_to_a_tls_port_fails_clearly(
    tls_redis: Callable[..., TLSRedisProcess], names: Names
) -> None:
    server = tls_redis()
    # A TLS port hanging up on plain text looks like a network fault: retried, so cap it.
    env = clean_env(REDIS_URL=server.url.replace("rediss://", "redis://"),
                    REDIS_SOCKET_TIMEOUT_S=1, WORKER_STREAM=names.stream,
                    PRODUCER_RETRY_S=1)  # fmt: skip
    done = run(["streams-producer", "enqueue", "urn:article:x"], env)
    assert done.returncode != 0
    assert_one_clear_line(done, "Redis")
