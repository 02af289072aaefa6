"""A thin typed layer over the stream commands and our Lua scripts.

Redis-version differences live here and nowhere else:

* XAUTOCLAIM on 7.0+ and Valkey returns a third element, the IDs that were
  pending but deleted from the stream (and drops them from the PEL). Redis 6.2
  returns such an entry as a bare nil inside the claimed list, keeps it pending
  and bumps its delivery count, so it would come back forever; we find those IDs
  (XPENDING + XRANGE) and acknowledge them.
* A history read (`XREADGROUP ... 0`) returns a deleted entry as `[id, nil]`.

Replies for XREADGROUP / XAUTOCLAIM / XPENDING are taken raw (redis-py's parser
loses the ID of a 6.2 nil entry) and parsed here.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import NoScriptError, ResponseError

from streams_worker.core.connection import Client

RawFields = dict[bytes, bytes]


def _raw(response: Any, **_: Any) -> Any:
    return response


def use_raw_replies(client: Client) -> Client:
    """Make `client` hand back unparsed replies for the commands parsed here."""
    for cmd in ("XREADGROUP", "XAUTOCLAIM", "XPENDING"):
        client.set_response_callback(cmd, _raw)
    return client


async def _node_for(client: RedisCluster, key: str) -> Any:
    """The primary serving `key`, from the client's slot map.

    redis-py finds the key of XREADGROUP (a command with "movable keys") by asking
    the default node `COMMAND GETKEYS` on every call: one more round trip per read,
    and, if that node has died, a ConnectionError raised before redis-py marks its
    slot map stale, so it never refreshes it and keeps dialling the dead node after a
    failover. Naming the node ourselves avoids both; a failed call still marks the
    map stale, and `initialize()` refreshes it before the next look-up.
    """
    await client.initialize()
    return client.get_node_from_key(key)


def text(value: Any) -> str:
    """A raw reply item (bytes) as str; IDs, names and cursors are ASCII, so a bad
    byte is replaced rather than raised."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _entries(rows: Sequence[Sequence[Any]]) -> list[RawEntry]:
    """[[id, [f, v, ...] | nil], ...] as read: the loop of `_fields` inlined (per entry)."""
    out = []
    for entry_id, flat in rows:
        if flat is None:
            out.append(RawEntry(text(entry_id), None))
        else:
            it = iter(flat)
            out.append(RawEntry(text(entry_id), dict(zip(it, it))))  # noqa: B905 - pairs
    return out


def _fields(flat: Sequence[bytes] | None) -> RawFields | None:
    if flat is None:
        return None
    it = iter(flat)
    # Redis sends field/value pairs, always: strict=True doubled the cost per entry.
    return dict(zip(it, it))  # noqa: B905


def is_nogroup(exc: ResponseError) -> bool:
    """NOGROUP: the stream or the group does not exist (any more), also when wrapped
    in a script error (6.2: 'Error running script ... NOGROUP')."""
    return "NOGROUP" in str(exc)


def is_missing_key(exc: ResponseError) -> bool:
    """XINFO on a key that does not exist: 'ERR no such key'."""
    return "no such key" in str(exc).lower()


@dataclass(slots=True)
class RawEntry:
    """An entry as read; `fields` is None when it was deleted while pending."""

    id: str
    fields: RawFields | None


@dataclass(slots=True)
class ClaimResult:
    cursor: str
    entries: list[RawEntry]
    deleted_ids: list[str] = field(default_factory=list)
    #: 6.2 only: the reply held nils, so some claimed IDs are deleted entries.
    had_nil: bool = False


@dataclass(slots=True)
class ScriptResult:
    count: int
    lost: list[str]


@functools.cache
def lua_source(name: str) -> str:
    """A script from `streams_worker/core/lua/`, read once per process."""
    return resources.files("streams_worker.core.lua").joinpath(name).read_text()


class Streams:
    """Stream operations for one (group, consumer) pair; stateless besides scripts."""

    def __init__(self, client: Client, group: str, consumer: str) -> None:
        self.client = use_raw_replies(client)
        self.group = group
        self.consumer = consumer
        self._ack = client.register_script(lua_source("ack.lua"))
        self._ack_fresh = client.register_script(lua_source("ack_fresh.lua"))
        self._dead = client.register_script(lua_source("dead_letter.lua"))
        self._renew = client.register_script(lua_source("renew.lua"))
        self._prune = client.register_script(lua_source("prune_consumers.lua"))

    async def ensure_group(self, stream: str) -> bool:
        """Create the group at the start of the stream (MKSTREAM). False if it existed.

        Looks first (XINFO GROUPS, a read) and creates only when missing: XGROUP CREATE
        is refused under OOM even when the group exists, and a replica starting while
        Redis is at maxmemory must still join and drain."""
        try:
            rows = await self.client.xinfo_groups(stream)
        except ResponseError as exc:
            if not is_missing_key(exc):
                raise  # WRONGTYPE: our stream name holds something else
            rows = []
        if any(text(r["name"]) == self.group for r in rows):
            return False
        try:
            await self.client.xgroup_create(stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if str(exc).startswith("BUSYGROUP"):
                return False
            raise
        return True

    async def stream_exists(self, stream: str) -> bool:
        return bool(await self.client.exists(stream))

    async def read(
        self, reader: Client, stream: str, start: str, count: int, block_ms: int | None
    ) -> list[RawEntry]:
        """XREADGROUP on one stream; `start` is '>' for new entries or '0' for our PEL."""
        args: list[Any] = ["XREADGROUP", "GROUP", self.group, self.consumer, "COUNT", count]
        if block_ms is not None:
            args += ["BLOCK", block_ms]
        args += ["STREAMS", stream, start]
        where: dict[str, Any] = {}
        if isinstance(reader, RedisCluster):
            where["target_nodes"] = await _node_for(reader, stream)
        reply = await reader.execute_command(*args, **where)
        if not reply:
            return []
        # RESP2: [[stream, [[id, [f, v, ...] | nil], ...]]]
        return _entries(reply[0][1])

    async def ack_and_read(
        self, reader: Client, stream: str, marks: str, items: Sequence[tuple[str, str]],
        count: int,
    ) -> tuple[int | BaseException, list[RawEntry]]:  # fmt: skip
        """The fresh acks of the last batch and the next XREADGROUP '>' (no BLOCK) in one
        round trip, as the pipelined ceiling does (outside a cluster): a command and a
        wake-up fewer per batch on both sides. The ack's reply is its count or its error
        (NOSCRIPT after a restart: the acker's own path loads the script); an error of
        the read raises."""
        pipe = reader.pipeline(transaction=False)
        # EVALSHA by hand: a pipeline that knows of a script asks SCRIPT EXISTS first.
        args = self._fresh_args(items)
        pipe.execute_command("EVALSHA", self._ack_fresh.sha, 2, stream, marks, *args)
        pipe.execute_command("XREADGROUP", "GROUP", self.group, self.consumer, "COUNT", count,
                             "STREAMS", stream, ">")  # fmt: skip
        acked, reply = await pipe.execute(raise_on_error=False)
        if isinstance(acked, NoScriptError):  # Redis restarted (or flushed its scripts)
            await self.client.script_load(self._ack_fresh.script)
        if isinstance(reply, BaseException):
            raise reply
        return (acked if isinstance(acked, BaseException) else int(acked)), (
            _entries(reply[0][1]) if reply else []
        )

    async def read_many(
        self, reader: Client, streams: list[str], count: int, block_ms: int | None
    ) -> list[tuple[str, list[RawEntry]]]:
        """XREADGROUP '>' on several streams at once (same node, not a cluster)."""
        args: list[Any] = ["XREADGROUP", "GROUP", self.group, self.consumer, "COUNT", count]
        if block_ms is not None:
            args += ["BLOCK", block_ms]
        args += ["STREAMS", *streams, *([">"] * len(streams))]
        reply = await reader.execute_command(*args)
        if not reply:
            return []
        return [(text(s), _entries(rows)) for s, rows in reply]

    async def autoclaim(
        self, stream: str, min_idle_ms: int, cursor: str, count: int
    ) -> ClaimResult:
        reply = await self.client.execute_command(
            "XAUTOCLAIM", stream, self.group, self.consumer, min_idle_ms, cursor, "COUNT", count
        )
        entries: list[RawEntry] = []
        had_nil = False
        for e in reply[1]:
            if e is None:  # Redis 6.2: a deleted entry, ID not given
                had_nil = True
            elif e[1] is None:
                entries.append(RawEntry(text(e[0]), None))
            else:
                entries.append(RawEntry(text(e[0]), _fields(e[1])))
        deleted = [text(i) for i in reply[2]] if len(reply) > 2 else []
        return ClaimResult(text(reply[0]), entries, deleted, had_nil)

    async def own_pending(
        self, stream: str, first: str = "-", last: str = "+", count: int = 1000
    ) -> dict[str, int]:
        """Our pending entries in [first, last]: entry ID -> delivery count."""
        reply = await self.client.execute_command(
            "XPENDING", stream, self.group, first, last, count, self.consumer
        )
        return {text(r[0]): int(r[3]) for r in reply}

    async def missing_ids(self, stream: str, ids: Iterable[str]) -> list[str]:
        """Which of `ids` no longer exist in the stream (deleted or trimmed)."""
        pipe = self.client.pipeline(transaction=False)
        ids = list(ids)
        for i in ids:
            pipe.xrange(stream, i, i, count=1)
        found = await pipe.execute()
        return [i for i, rows in zip(ids, found, strict=True) if not rows]

    async def xack(self, stream: str, ids: Sequence[str]) -> int:
        return int(await self.client.xack(stream, self.group, *ids)) if ids else 0

    async def ack(self, stream: str, marks: str, items: Sequence[tuple[str, str]]) -> ScriptResult:
        """Ack entries we still own; `items` are (entry ID, in-queue mark or '')."""
        args: list[str] = [self.group, self.consumer]
        for entry_id, mark in items:
            args += [entry_id, mark]
        count, lost = await self._ack(keys=[stream, marks], args=args)
        return ScriptResult(int(count), [text(i) for i in lost])

    async def ack_fresh(self, stream: str, marks: str, items: Sequence[tuple[str, str]]) -> int:
        """Ack entries too recently delivered to have changed owner (see ack_fresh.lua)."""
        return int(await self._ack_fresh(keys=[stream, marks], args=self._fresh_args(items)))

    def _fresh_args(self, items: Sequence[tuple[str, str]]) -> list[str]:
        """ack_fresh.lua's ARGV: the group, then (entry ID, in-queue mark) pairs."""
        args: list[str] = [self.group]
        for entry_id, mark in items:
            args += [entry_id, mark]
        return args

    async def dead_letter(
        self,
        stream: str,
        dead_letter: str,
        marks: str,
        entry_id: str,
        mark: str,
        fields: Sequence[bytes | str],
    ) -> str | None:
        """XADD to the dead-letter stream + XACK, atomically, if we own the entry."""
        args = [self.group, self.consumer, entry_id, mark, *fields]
        res = await self._dead(keys=[stream, dead_letter, marks], args=args)
        return text(res) if res else None

    async def renew(self, stream: str, ids: Sequence[str]) -> ScriptResult:
        count, lost = await self._renew(keys=[stream], args=[self.group, self.consumer, *ids])
        return ScriptResult(int(count), [text(i) for i in lost])

    async def prune_consumers(
        self, stream: str, min_idle_ms: int, keep: tuple[str, ...] = ()
    ) -> list[str]:
        args: list[str | int] = [self.group, min_idle_ms, self.consumer, *keep]
        names = await self._prune(keys=[stream], args=args)
        return [text(n) for n in names]

    async def pending_total(self, stream: str) -> int:
        summary = await self.client.execute_command("XPENDING", stream, self.group)
        return int(summary[0]) if summary else 0
