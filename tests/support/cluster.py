"""A local Redis Cluster of three primaries, built by the suite from the same binaries.

No redis-cli needed: each node starts with `--cluster-enabled yes`, the suite assigns
the 16384 slots itself (CLUSTER ADDSLOTS, which every version has), introduces the
nodes (CLUSTER MEET), optionally attaches replicas (CLUSTER REPLICATE), and waits
until every node reports `cluster_state:ok` and sees the same slot map.
"""

from __future__ import annotations

import random
import socket
from collections.abc import Callable
from types import TracebackType
from typing import Any

import redis

from streams_worker.dev.embedded import RedisProcess, ServerBinary
from tests.support.wait import wait_for

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


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class LocalCluster:
    """`primaries` nodes own the slots; `replicas[i]` replicates primary i (if given)."""

    def __init__(
        self,
        binary: ServerBinary | None = None,
        primaries: int = 3,
        *,
        replicas_of: tuple[int, ...] = (),
        node_timeout_ms: int = 3000,
    ) -> None:
        self._args = args = [
            "--cluster-enabled", "yes",
            "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", str(node_timeout_ms),
        ]  # fmt: skip
        self.nodes = [
            RedisProcess(binary, port=cluster_port(), extra_args=args) for _ in range(primaries)
        ]
        self.replicas_of = replicas_of
        self.replicas = [
            RedisProcess(binary, port=cluster_port(), extra_args=args) for _ in replicas_of
        ]

    @property
    def url(self) -> str:
        """A seed URL: the cluster client discovers the other nodes from it."""
        return f"redis://127.0.0.1:{self.nodes[0].port}"

    def start(self, timeout: float = 30.0) -> LocalCluster:
        for node in self.nodes + self.replicas:
            node.start()
        clients = [redis.Redis(port=n.port) for n in self.nodes + self.replicas]
        try:
            primaries = clients[: len(self.nodes)]
            per = SLOTS // len(primaries)
            for i, c in enumerate(primaries):
                last = SLOTS - 1 if i == len(primaries) - 1 else (i + 1) * per - 1
                c.execute_command("CLUSTER ADDSLOTS", *range(i * per, last + 1))
            for n in (self.nodes + self.replicas)[1:]:
                clients[0].execute_command("CLUSTER MEET", "127.0.0.1", n.port)
            self._wait_ok(primaries, timeout, known=len(clients))
            for c, of in zip(clients[len(self.nodes) :], self.replicas_of, strict=True):
                primary_id = _text(primaries[of].execute_command("CLUSTER MYID"))
                # The replica must know the primary before it can follow it.
                self._until(lambda c=c, p=primary_id: p in str(c.cluster("NODES")), timeout)
                c.execute_command("CLUSTER REPLICATE", primary_id)
                self._until(
                    lambda c=c: c.info("replication").get("master_link_status") == "up", timeout
                )
            self._wait_ok(clients, timeout, known=len(clients))
        finally:
            for c in clients:
                c.close()
        return self

    @staticmethod
    def _until(pred: Callable[[], bool], timeout: float) -> None:
        wait_for(pred, timeout=timeout, interval=0.05, what="a cluster set-up step")

    def _wait_ok(self, clients: list[redis.Redis], timeout: float, *, known: int) -> None:
        infos: list[Any] = []

        def ready() -> bool:
            infos[:] = [c.execute_command("CLUSTER INFO") for c in clients]
            ok = all(str(i.get("cluster_state")) == "ok" for i in infos)
            seen = all(int(i.get("cluster_known_nodes", 0)) == known for i in infos)
            maps = {len(c.execute_command("CLUSTER SLOTS")) for c in clients}
            return ok and seen and maps == {len(self.nodes)}

        wait_for(ready, timeout=timeout, interval=0.05, what="the cluster to be ok",
                 explain=lambda: infos)  # fmt: skip

    def node_for_slot(self, slot: int) -> int:
        """Index of the primary serving `slot` (the suite's own assignment)."""
        return min(slot // (SLOTS // len(self.nodes)), len(self.nodes) - 1)

    def replicated(self, replica: int = 0) -> bool:
        """The replica has everything its primary wrote (offsets equal)."""
        primary = redis.Redis(port=self.nodes[self.replicas_of[replica]].port)
        copy = redis.Redis(port=self.replicas[replica].port)
        try:
            master = primary.info("replication")["master_repl_offset"]
            return bool(copy.info("replication").get("slave_repl_offset") == master)
        finally:
            primary.close()
            copy.close()

    def add_primary(self, timeout: float = 30.0) -> int:
        """Start one more node, empty (no slots), and introduce it: its index."""
        node = RedisProcess(self.nodes[0].binary, port=cluster_port(), extra_args=self._args)
        node.start()
        self.nodes.append(node)
        with redis.Redis(port=self.nodes[0].port) as c:
            c.execute_command("CLUSTER MEET", "127.0.0.1", node.port)
        known = len(self.nodes) + len(self.replicas)

        def everyone_knows() -> bool:
            for n in self.nodes:
                with redis.Redis(port=n.port) as c:
                    info = c.execute_command("CLUSTER INFO")
                    if int(info.get("cluster_known_nodes", 0)) != known:
                        return False
                    if str(info.get("cluster_state")) != "ok":  # the new node's slot map
                        return False
            return True

        self._until(everyone_knows, timeout)
        return len(self.nodes) - 1

    def node_id(self, index: int) -> str:
        with redis.Redis(port=self.nodes[index].port) as c:
            return _text(c.execute_command("CLUSTER MYID"))

    def owner(self, slot: int) -> int:
        """Index of the node that serves `slot` now (by the slot map, not the plan)."""
        with redis.Redis(port=self.nodes[0].port) as c:
            for start, end, primary, *_ in c.execute_command("CLUSTER SLOTS"):
                if start <= slot <= end:
                    port = int(primary[1])
                    return next(i for i, n in enumerate(self.nodes) if n.port == port)
        raise LookupError(slot)

    def migrate_slot(
        self, slot: int, src: int, dst: int, *, pause: Callable[[], None] = lambda: None
    ) -> int:
        """Move `slot` the way redis-cli --cluster reshard does: IMPORTING on the
        target, MIGRATING on the source, MIGRATE key by key (clients meet ASK and
        TRYAGAIN meanwhile), then NODE everywhere. `pause` runs between keys. Returns
        the number of keys moved."""
        src_id, dst_id = self.node_id(src), self.node_id(dst)
        a = redis.Redis(port=self.nodes[src].port)
        b = redis.Redis(port=self.nodes[dst].port)
        moved = 0
        try:
            b.execute_command("CLUSTER SETSLOT", slot, "IMPORTING", src_id)
            a.execute_command("CLUSTER SETSLOT", slot, "MIGRATING", dst_id)
            while keys := a.execute_command("CLUSTER GETKEYSINSLOT", slot, 10):
                for key in keys:
                    a.execute_command("MIGRATE", "127.0.0.1", self.nodes[dst].port, key, 0, 5000)
                    moved += 1
                    pause()
            for n in self.nodes:
                with redis.Redis(port=n.port) as c:
                    c.execute_command("CLUSTER SETSLOT", slot, "NODE", dst_id)
        finally:
            a.close()
            b.close()
        return moved

    def close(self) -> None:
        for node in self.nodes + self.replicas:
            node.close()

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
