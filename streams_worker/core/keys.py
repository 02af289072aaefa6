"""Every Redis key name streams-worker uses, in one place.

Layout for logical stream `jobs`:

    partitions=1                     partitions=N (cluster-ready)
    jobs                             jobs:{0} ... jobs:{N-1}
    jobs:dead                        jobs:dead:{i}         same hash tag as partition i
    jobs:queued:{jobs}               jobs:queued:{i}       producer's in-queue marks (hash)
    jobs:waiting:{jobs}              jobs:waiting:{i}      failed entries waiting for their
                                                           next delivery (zset: ID -> due ms)
    jobs:paused                      jobs:paused           pause flag, read by every replica
    jobs:replicas                    jobs:replicas         replicas' reading/paused state
    jobs:rate:{group}                jobs:rate:{group}     the group's rate-limit state (GCRA)
    jobs:throttled:{group}           jobs:throttled:{group} the group's upstream pause (PX TTL)

A partition and everything that must change atomically with it (its dead-letter
stream, its in-queue marks, its waiting set) share a hash tag, so scripts touching them stay in one
cluster slot. With one partition and no cluster the stream key is exactly
`WORKER_STREAM` and the dead-letter stream exactly `WORKER_DEAD_LETTER_STREAM`.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The consumer that holds failed entries while they wait for their next delivery
#: (never a replica's name: settings refuse it as WORKER_CONSUMER).
WAITING_CONSUMER = "(waiting)"


def hash_tag(key: str) -> str:
    """The part of `key` Redis Cluster hashes: the first non-empty {...}, else the key."""
    start = key.find("{")
    if start != -1:
        end = key.find("}", start + 1)
        if end > start + 1:
            return key[start + 1 : end]
    return key


@dataclass(frozen=True, slots=True)
class Partition:
    """One physical stream and its companions."""

    index: int
    stream: str
    dead_letter: str
    queued: str
    waiting: str


@dataclass(frozen=True, slots=True)
class StreamKeys:
    """Key names for one logical stream; build with `StreamKeys.for_stream`."""

    stream: str
    dead_letter: str
    partitions: tuple[Partition, ...]
    paused: str
    replicas: str

    @classmethod
    def for_stream(
        cls,
        stream: str,
        *,
        partitions: int = 1,
        dead_letter: str | None = None,
        cluster: bool = False,
    ) -> StreamKeys:
        if partitions < 1:
            raise ValueError("partitions must be >= 1")
        dead = dead_letter or f"{stream}:dead"
        parts: list[Partition] = []
        for i in range(partitions):
            if partitions == 1:
                key = stream
                tag = hash_tag(stream)
                # Without a cluster the dead-letter key is exactly the configured name;
                # in a cluster it must carry the stream's tag to share its slot.
                dl = f"{dead}:{{{tag}}}" if cluster and hash_tag(dead) != tag else dead
            else:
                key = f"{stream}:{{{i}}}"
                tag = str(i)
                dl = f"{dead}:{{{tag}}}"
            parts.append(
                Partition(i, key, dl, f"{stream}:queued:{{{tag}}}", f"{stream}:waiting:{{{tag}}}")
            )
        return cls(stream, dead, tuple(parts), f"{stream}:paused", f"{stream}:replicas")

    def rate_limit(self, group: str) -> str:
        """The group's rate-limit state (one key for every partition and replica)."""
        return f"{self.stream}:rate:{{{group}}}"

    def throttled(self, group: str) -> str:
        """Set (with a TTL) while an upstream's 429 pauses the whole group."""
        return f"{self.stream}:throttled:{{{group}}}"

    def leases(self, group: str) -> str:
        """The group's ownership leases (one hash; its own slot in a cluster)."""
        return f"{self.stream}:leases:{{{self.stream}}}:{group}"

    def partition_for(self, stream_key: str) -> Partition:
        for p in self.partitions:
            if p.stream == stream_key:
                return p
        raise KeyError(stream_key)
