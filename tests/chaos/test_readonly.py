"""READONLY for real, under load: the worker's primary is demoted (REPLICAOF on a
live primary) and promoted back; in the style of test_refusals.py (every replica
alive, every entry handled, nothing pending, duplicates only among entries in
flight at the fault)."""

from __future__ import annotations

import time
from collections.abc import Callable

import redis

from tests.chaos.harness import Fleet, client
from tests.chaos.refusals import drive_through
from tests.conftest import Names
from tests.support.servers import RedisProcess
from tests.support.wait import wait_for


def test_a_demoted_primary_is_retried_until_it_is_primary_again(
    private_redis: Callable[..., RedisProcess], names: Names, fleet: Callable[..., Fleet],
    report: Callable[[str], None],
) -> None:  # fmt: skip
    primary, other = private_redis(), private_redis()
    admin, peer = client(primary.url), client(other.url)
    peer.replicaof("127.0.0.1", primary.port)  # `other` holds a copy, so the demotion
    f = fleet(primary.url)  # syncs back exactly what the primary had
    demoted: list[float] = []

    def demote() -> None:
        wait_for(lambda: peer.info("replication")["master_link_status"] == "up",
                 timeout=20, what="the replica in sync")  # fmt: skip
        peer.replicaof("NO", "ONE")
        admin.replicaof("127.0.0.1", other.port)
        demoted.append(time.monotonic())

    def refused() -> bool:
        """Writes refused, for 3 s (longer than a blocking read, so every loop meets it)."""
        try:
            admin.set("probe", "x")
        except redis.exceptions.ReadOnlyError:
            return time.monotonic() - demoted[0] >= 3.0
        return False

    def promote() -> None:
        admin.replicaof("NO", "ONE")
        peer.replicaof("127.0.0.1", primary.port)

    out = drive_through(
        f, names, server_url=primary.url, producer_url=primary.url, kind="readonly",
        inject=demote, lift=promote, hit=refused,
    )  # fmt: skip
    admin.close()
    peer.close()
    report(out.line("READONLY (the primary demoted by REPLICAOF, then promoted back)"))
