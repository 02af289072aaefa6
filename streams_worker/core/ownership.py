"""Ownership leases: which live replica holds a consumer name, a partition, the sampler.

One mechanism for everything only one replica may do at a time (docs/leases.md).
A lease is a field of one hash per group (`StreamKeys.leases`), taken, renewed
and released by `lua/ownership.lua` on the server's clock, so hosts' clocks never
matter. Batched: one round trip renews every lease a replica holds.

Fencing: a replica may act under a lease only until `deadline(name)`, a local
monotonic instant computed from when the request was *sent* plus the TTL minus a
margin. The server's expiry is later than that, so a replica that was frozen
(SIGSTOP, a long GC pause, a partition from Redis) stops acting before anyone
else can take the lease.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from streams_worker.core.connection import Client
from streams_worker.core.streams import lua_source, text

#: Acting stops this fraction of the TTL before the lease could expire on the server.
FENCE_MARGIN = 0.2


@dataclass(frozen=True, slots=True)
class Holder:
    """A lease as stored: who holds it and until when (server milliseconds)."""

    name: str
    token: str
    until_ms: int
    since_ms: int
    renewals: int
    info: Mapping[str, Any]
    now_ms: int  # the server's time when read

    @property
    def live(self) -> bool:
        return self.until_ms > self.now_ms

    def describe(self) -> str:
        """'host h, pid p, since <UTC time>': for one-line errors and tables."""
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.since_ms / 1000))
        host = self.info.get("host", "?")
        pid = self.info.get("pid", "?")
        return f"host {host}, pid {pid}, since {since}"


def parse_holder(name: str, value: str, now_ms: int) -> Holder:
    token, until, since, renewals, info = value.split("|", 4)
    try:
        described = json.loads(info) if info else {}
    except ValueError:
        described = {}
    return Holder(name, token, int(until), int(since), int(renewals), described, now_ms)


def replica_info(**extra: Any) -> dict[str, Any]:
    """What a replica says about itself in its leases."""
    return {"host": socket.gethostname(), "pid": os.getpid(), **extra}


@dataclass
class Ownership:
    """The leases one replica holds in one group, with their fencing deadlines."""

    client: Client
    key: str
    ttl_ms: int
    info: Mapping[str, Any] = field(default_factory=replica_info)
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    _deadlines: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._script = self.client.register_script(lua_source("ownership.lua"))

    # -- what this replica holds ---------------------------------------------------
    @property
    def held(self) -> set[str]:
        """Names this replica may act under right now."""
        now = time.monotonic()
        return {n for n, d in self._deadlines.items() if d > now}

    def holds(self, name: str) -> bool:
        return self._deadlines.get(name, 0.0) > time.monotonic()

    def deadline(self, name: str) -> float:
        """Monotonic instant until which this replica may act under `name` (0: never)."""
        return self._deadlines.get(name, 0.0)

    def _fence(self, sent: float) -> float:
        return sent + self.ttl_ms / 1000 * (1 - FENCE_MARGIN)

    # -- operations ----------------------------------------------------------------
    async def acquire(self, names: Iterable[str]) -> dict[str, Holder]:
        """Take each name that is free, expired or ours; returns the other holders."""
        wanted = list(names)
        if not wanted:
            return {}
        sent = time.monotonic()
        info = json.dumps(dict(self.info), separators=(",", ":"))
        replies = await self._script(
            keys=[self.key], args=["acquire", self.token, self.ttl_ms, info, *wanted]
        )
        others: dict[str, Holder] = {}
        for name, (ok, value) in zip(wanted, replies, strict=True):
            if int(ok):
                self._deadlines[name] = self._fence(sent)
            else:
                self._deadlines.pop(name, None)
                others[name] = parse_holder(name, text(value), 0)
        return others

    async def renew(self) -> set[str]:
        """Extend every lease held; returns the names lost (taken or gone)."""
        names = sorted(self._deadlines)
        if not names:
            return set()
        sent = time.monotonic()
        replies = await self._script(
            keys=[self.key], args=["renew", self.token, self.ttl_ms, *names]
        )
        lost = set()
        for name, ok in zip(names, replies, strict=True):
            if int(ok):
                self._deadlines[name] = self._fence(sent)
            else:
                self._deadlines.pop(name, None)
                lost.add(name)
        return lost

    async def release(self, names: Iterable[str] | None = None) -> int:
        """Hand leases back at once (on SIGTERM), so others need not wait for expiry."""
        gone = sorted(self._deadlines) if names is None else list(names)
        for name in gone:
            self._deadlines.pop(name, None)
        if not gone:
            return 0
        return int(await self._script(keys=[self.key], args=["release", self.token, *gone]))


@dataclass(frozen=True, slots=True)
class Assignment:
    """The partitions a replica reads: its own (`shared` False) or, with fewer
    partitions than replicas, one it shares with others through the group."""

    partitions: tuple[int, ...]
    shared: bool
    deadline: float  # monotonic; reads under this assignment stop then


async def assign(own: Ownership, n: int) -> Assignment:
    """Move this replica one step to its fair share of `n` partitions (docs/leases.md)."""
    sent = time.monotonic()
    info = json.dumps(dict(own.info), separators=(",", ":"))
    reply = await own._script(keys=[own.key], args=["assign", own.token, own.ttl_ms, info, n])
    deadline = own._fence(sent)
    if int(reply[0]) == -1:
        return Assignment((int(reply[1]),), True, deadline)
    return Assignment(tuple(int(i) for i in reply[1:]), False, deadline)


async def holders(client: Client, key: str) -> list[Holder]:
    """Every lease of the group as stored, expired ones included (`Holder.live`)."""
    reply = await client.register_script(lua_source("ownership.lua"))(keys=[key], args=["list"])
    now = int(reply[0])
    it = iter(reply[1:])
    return [parse_holder(text(k), text(v), now) for k, v in zip(it, it, strict=True)]


async def sweep(client: Client, key: str, older_than_ms: int) -> int:
    """Drop leases expired longer ago than `older_than_ms` (names of replicas long gone)."""
    script = client.register_script(lua_source("ownership.lua"))
    return int(await script(keys=[key], args=["sweep", older_than_ms]))
