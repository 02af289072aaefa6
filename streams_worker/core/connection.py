"""Redis client factory: URL, ACL user, password from a mounted secret, TLS, cluster,
Sentinel.

Everything that opens a connection goes through `create_client`, so credentials
and TLS are handled in one place and never logged.
"""

from __future__ import annotations

from typing import Any, TypeAlias
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.sentinel import Sentinel

from streams_worker.core.policy import UnknownRedirect
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


class _Cluster(RedisCluster):
    """redis-py's cluster client, with its ASK-to-an-unknown-node failure made a
    routing error (core/policy.py, UnknownRedirect) instead of an AttributeError."""

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().execute_command(*args, **kwargs)
        except AttributeError as exc:
            raise UnknownRedirect(f"redirected to a node not in the slot map yet ({exc})") from exc


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
        return _Cluster.from_url(url, **opts)
    if max_connections:
        opts["max_connections"] = max_connections
    if settings.redis_sentinels:
        return _sentinel_client(settings, url, opts)
    return Redis.from_url(url, **opts)


def _sentinel_client(settings: CommonSettings, url: str, opts: dict[str, Any]) -> Redis:
    """The primary the sentinels name, asked again on every new connection: after a
    failover (a connection error, or READONLY from a demoted primary, which redis-py
    turns into a connection error) the next connection goes to the new primary."""
    path = urlsplit(url).path.strip("/")
    db = int(path) if path.isdigit() else 0
    for_sentinels = {
        k: v for k, v in opts.items() if k.startswith(("socket_", "ssl")) or k == "protocol"
    }
    if settings.redis_sentinel_password is not None:
        for_sentinels["password"] = settings.redis_sentinel_password.get_secret_value()
        if settings.redis_sentinel_username:
            for_sentinels["username"] = settings.redis_sentinel_username
    if url.startswith("rediss://"):
        opts["ssl"] = for_sentinels["ssl"] = True
    make: Any = Sentinel  # typed in some redis-py releases, not in others
    sentinel = make(settings.sentinel_addresses(), sentinel_kwargs=for_sentinels, db=db, **opts)
    assert settings.redis_sentinel_master is not None  # checked with the settings
    client: Redis = sentinel.master_for(settings.redis_sentinel_master)
    return client
