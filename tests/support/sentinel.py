"""A primary, a replica and three sentinels from the suite's own server binary."""

from __future__ import annotations

import time

import redis
from redis.sentinel import Sentinel

from tests.support.servers import RedisProcess, ServerBinary

MASTER = "streams"


class SentinelProcess(RedisProcess):
    """`redis-server sentinel.conf --sentinel`: monitors one primary on loopback."""

    def __init__(self, binary: ServerBinary, index: int) -> None:
        super().__init__(binary)
        self.conf = self.directory / "sentinel.conf"
        self.myid = f"{index + 1:040x}"

    def configure(
        self, primary: int, replica: int, others: list[SentinelProcess], *, down_after_ms: int
    ) -> None:
        # The replica and the other sentinels written in as already known (with fixed
        # IDs): otherwise they find each other by hello messages every 2 s, and a set
        # takes about 7 s before it can elect a leader.
        known = "".join(
            f"sentinel known-sentinel {MASTER} 127.0.0.1 {o.port} {o.myid}\n" for o in others
        )
        self.conf.write_text(
            f"port {self.port}\nbind 127.0.0.1\nsentinel resolve-hostnames no\n"
            f"sentinel myid {self.myid}\n"
            f"sentinel monitor {MASTER} 127.0.0.1 {primary} 2\n"
            f"sentinel down-after-milliseconds {MASTER} {down_after_ms}\n"
            f"sentinel failover-timeout {MASTER} 10000\n"
            f"sentinel parallel-syncs {MASTER} 1\n"
            f"sentinel known-replica {MASTER} 127.0.0.1 {replica}\n{known}"
        )

    def argv(self) -> list[str]:
        return [
            str(self.binary.path), str(self.conf), "--sentinel",
            "--dir", str(self.directory), "--logfile", str(self.log_path), "--daemonize", "no",
        ]  # fmt: skip


class SentinelSet:
    """Primary + replica + 3 sentinels; `addresses` is the REDIS_SENTINELS value."""

    def __init__(self, binary: ServerBinary, *, down_after_ms: int = 500) -> None:
        self.primary = RedisProcess(binary)
        self.replica = RedisProcess(
            binary, extra_args=["--replicaof", "127.0.0.1", str(self.primary.port)]
        )
        self.sentinels = [SentinelProcess(binary, i) for i in range(3)]
        for s in self.sentinels:
            others = [o for o in self.sentinels if o is not s]
            s.configure(self.primary.port, self.replica.port, others, down_after_ms=down_after_ms)

    @property
    def addresses(self) -> str:
        return ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)

    def start(self, timeout: float = 30.0) -> SentinelSet:
        self.primary.start()
        self.replica.start()
        r = redis.Redis(port=self.replica.port)
        try:
            self._until(lambda: r.info("replication").get("master_link_status") == "up", timeout)
        finally:
            r.close()
        for s in self.sentinels:
            s.start()
        # Every sentinel knows the replica and the other sentinels: ready to fail over.
        self._until(self._sentinels_agree, timeout)
        return self

    def _sentinels_agree(self) -> bool:
        for s in self.sentinels:
            with redis.Redis(port=s.port, decode_responses=True) as c:
                master = c.sentinel_master(MASTER)
                replicas = int(master.get("num-slaves", 0))
                if replicas < 1 or int(master.get("num-other-sentinels", 0)) < 2:
                    return False
        return True

    def client(self) -> redis.Redis:
        """A client of whichever server the sentinels call the primary now."""
        sentinel = Sentinel([("127.0.0.1", s.port) for s in self.sentinels], socket_timeout=2)
        return sentinel.master_for(MASTER, socket_timeout=5, socket_connect_timeout=2)

    def primary_port(self) -> int:
        with redis.Redis(port=self.sentinels[0].port) as c:
            _, port = c.sentinel_get_master_addr_by_name(MASTER)
        return int(port)

    @staticmethod
    def _until(predicate: object, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if predicate():  # type: ignore[operator]
                    return
            except redis.RedisError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"sentinel set not ready after {timeout} s")
            time.sleep(0.05)

    def close(self) -> None:
        for p in [*self.sentinels, self.replica, self.primary]:
            p.close()

    def __enter__(self) -> SentinelSet:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
