"""Redis client factory: URL, ACL user, password from a mounted secret, TLS, cluster.

Everything that opens a connection goes through `create_client`, so credentials
and TLS are handled in one place and never logged.
"""

from __future__ import annotations

from typing import Any, TypeAlias

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from streams_worker.core.settings import CommonSettings

Client: TypeAlias = Redis | RedisCluster


def client_options(settings: CommonSettings, *, extra_timeout_s: float = 0.0) -> dict[str, Any]:
    """Keyword arguments for redis-py, from settings.

    `extra_timeout_s` lengthens the socket timeout for connections that issue
    blocking reads (XREADGROUP BLOCK), so a long block is not mistaken for a dead
    server.
    """
    opts: dict[str, Any] = {
        "socket_timeout": settings.redis_socket_timeout_s + extra_timeout_s,
        "socket_connect_timeout": min(settings.redis_socket_timeout_s, 5.0),
        "health_check_interval": 15,
        "decode_responses": False,
        # RESP2 on every server version: replies parsed in `streams` keep one shape.
        "protocol": 2,
    }
    password = settings.password()
    if password is not None:
        opts["password"] = password
    if settings.redis_username:
        opts["username"] = settings.redis_username
    if settings.redis_url.get_secret_value().startswith("rediss://"):
        if settings.redis_tls_ca_file:
            opts["ssl_ca_certs"] = str(settings.redis_tls_ca_file)
        if settings.redis_tls_cert_file:
            opts["ssl_certfile"] = str(settings.redis_tls_cert_file)
        if settings.redis_tls_key_file:
            opts["ssl_keyfile"] = str(settings.redis_tls_key_file)
        opts["ssl_cert_reqs"] = "required"
    return opts


def create_client(
    settings: CommonSettings, *, extra_timeout_s: float = 0.0, max_connections: int | None = None
) -> Client:
    """A new async client (standalone or cluster). Close it with `aclose()`."""
    url = settings.redis_url.get_secret_value()
    opts = client_options(settings, extra_timeout_s=extra_timeout_s)
    if settings.redis_cluster:
        opts.pop("health_check_interval", None)
        if max_connections:
            opts["max_connections"] = max_connections
        return RedisCluster.from_url(url, **opts)
    if max_connections:
        opts["max_connections"] = max_connections
    return Redis.from_url(url, **opts)
