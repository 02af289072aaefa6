"""A local Redis Cluster of three primaries, built by the suite from the same binaries.

No redis-cli needed: each node starts with `--cluster-enabled yes`, the suite assigns
the 16384 slots itself (CLUSTER ADDSLOTS, which every version has), introduces the
nodes (CLUSTER MEET) and waits until every node reports `cluster_state:ok` and sees
the same slot map.
"""

from __future__ import annotations

import random
import socket
import time
from types import TracebackType

import redis

from streams_worker.embedded import RedisProcess, ServerBinary

SLOTS = 16384


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def cluster_port() -> int:
    """A free port whose cluster bus port (+10000) is free too, so at most 55535."""
    while True:
        port = random.randint(20_000, 55_535)
        if port != 6379 and _free(port) and _free(port + 10_000):
            return port


class LocalCluster:
    def __init__(self, binary: ServerBinary | None = None, primaries: int = 3) -> None:
        args = [
            "--cluster-enabled", "yes",
            "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", "3000",
        ]  # fmt: skip
        self.nodes = [
            RedisProcess(binary, port=cluster_port(), extra_args=args) for _ in range(primaries)
        ]

    @property
    def url(self) -> str:
        """A seed URL: the cluster client discovers the other nodes from it."""
        return f"redis://127.0.0.1:{self.nodes[0].port}"

    def start(self, timeout: float = 30.0) -> LocalCluster:
        for node in self.nodes:
            node.start()
        clients = [redis.Redis(port=n.port) for n in self.nodes]
        try:
            per = SLOTS // len(self.nodes)
            for i, c in enumerate(clients):
                last = SLOTS - 1 if i == len(clients) - 1 else (i + 1) * per - 1
                c.execute_command("CLUSTER ADDSLOTS", *range(i * per, last + 1))
            for n in self.nodes[1:]:
                clients[0].execute_command("CLUSTER MEET", "127.0.0.1", n.port)
            self._wait_ok(clients, timeout)
        finally:
            for c in clients:
                c.close()
        return self

    def _wait_ok(self, clients: list[redis.Redis], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            infos = [c.execute_command("CLUSTER INFO") for c in clients]
            ok = all(str(i.get("cluster_state")) == "ok" for i in infos)
            known = all(int(i.get("cluster_known_nodes", 0)) == len(clients) for i in infos)
            maps = {len(c.execute_command("CLUSTER SLOTS")) for c in clients}
            if ok and known and maps == {len(clients)}:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"cluster not ready: {infos}")
            time.sleep(0.05)

    def node_for_slot(self, slot: int) -> int:
        """Index of the primary serving `slot` (the suite's own assignment)."""
        return min(slot // (SLOTS // len(self.nodes)), len(self.nodes) - 1)

    def close(self) -> None:
        for node in self.nodes:
            node.close()

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
