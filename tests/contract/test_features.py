"""The feature flags the universal suites trust are what each server really does."""

from __future__ import annotations

import pytest
import redis

from tests.support.features import Server
from tests.support.names import Names

pytestmark = pytest.mark.allservers


def test_feature_flags_match_what_the_server_does(any_server: Server, names: Names) -> None:
    r = redis.Redis.from_url(any_server.url, decode_responses=True, socket_timeout=5)
    try:
        ids = [r.xadd(names.stream, {"article_id": f"urn:article:{i}"}) for i in range(3)]
        r.xgroup_create(names.stream, names.group, "0")
        r.xreadgroup(names.group, "ghost", {names.stream: ">"}, count=3)
        r.xdel(names.stream, ids[1])  # deleted while pending
        claimed = r.execute_command(
            "XAUTOCLAIM", names.stream, names.group, "c", 0, "0-0", "COUNT", 10
        )
        group = r.execute_command("XINFO", "GROUPS", names.stream)[0]
        consumer = r.execute_command("XINFO", "CONSUMERS", names.stream, names.group)[0]
        version = r.info("server")
    finally:
        r.delete(names.stream)
        r.close()

    # redis-py parses these replies into dicts or lists; read them either way
    deleted = claimed[2] if isinstance(claimed, list | tuple) and len(claimed) > 2 else []
    observed = {
        "xautoclaim_reports_deleted": ids[1] in deleted,
        "xinfo_lag": "lag" in group,
        "xinfo_consumers_inactive": "inactive" in consumer,
    }
    has = any_server.features
    assert observed == {name: getattr(has, name) for name in observed}, has
    assert has.server == ("valkey" if "valkey_version" in version else "redis")
    assert has.version == version.get("valkey_version", version["redis_version"])
