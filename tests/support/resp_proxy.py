"""A RESP-aware proxy that answers with error replies a test server cannot be made to send.

Redis sends MISCONF (a failed background save), MASTERDOWN (a replica cut off from
its primary), CLUSTERDOWN, TRYAGAIN (a multi-key command during resharding) and
NOREPLICAS (min-replicas-to-write) only in set-ups this suite does not build. This
proxy forwards one command at a time (reading each reply whole, so pipelines stay in
order) and, while `refuse(reply, commands)` is on, answers the commands it names with
`reply` instead of forwarding them. Connection commands (AUTH, HELLO, CLIENT, SELECT,
PING) always pass: the refusal is the server's, not the network's.

`refused` counts the error replies sent, so a test can show the fault really hit.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterable
from types import TracebackType
from urllib.parse import urlsplit

from streams_worker.dev.embedded import free_port

#: Commands a worker or producer sends that write (deny-write refusals hit these).
WRITES = frozenset(
    {"XADD", "XACK", "XGROUP", "XREADGROUP", "XAUTOCLAIM", "XCLAIM", "XTRIM", "XDEL",
     "EVAL", "EVALSHA", "SET", "DEL", "HSET", "HDEL"}
)  # fmt: skip
#: Every data command (what MASTERDOWN or CLUSTERDOWN refuses).
ALL = WRITES | {"XINFO", "XPENDING", "XRANGE", "XLEN", "EXISTS", "HGET", "HGETALL", "TIME"}
PASS = frozenset({"AUTH", "HELLO", "CLIENT", "SELECT", "PING", "QUIT", "COMMAND", "INFO"})


async def _line(r: asyncio.StreamReader) -> bytes:
    line = await r.readuntil(b"\r\n")
    return line


async def read_value(r: asyncio.StreamReader) -> tuple[bytes, list[bytes]]:
    """One whole RESP2 value: its raw bytes, and its bulk strings (for commands)."""
    head = await _line(r)
    kind, rest = head[:1], head[1:-2]
    if kind in (b"+", b"-", b":"):
        return head, []
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return head, []
        body = await r.readexactly(n + 2)
        return head + body, [body[:-2]]
    if kind == b"*":
        n = int(rest)
        raw, items = head, []
        for _ in range(max(n, 0)):
            sub, parts = await read_value(r)
            raw += sub
            items += parts
        return raw, items
    raise ValueError(f"not RESP: {head[:40]!r}")


class ReplyingProxy:
    """Forward 127.0.0.1:`port` to a Redis, answering chosen commands with an error."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.refused = 0
        self._reply: bytes | None = None
        self._commands: frozenset[str] = frozenset()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    def for_url(cls, url: str) -> ReplyingProxy:
        parts = urlsplit(url)
        return cls(parts.hostname or "127.0.0.1", parts.port or 6379)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def refuse(self, reply: str, commands: Iterable[str] = ALL) -> None:
        """Answer `commands` with `-<reply>` from now on (e.g. 'MISCONF Errors writing')."""
        self._commands = frozenset(c.upper() for c in commands)
        self._reply = b"-" + reply.encode() + b"\r\n"

    def heal(self) -> None:
        self._reply = None

    def start(self) -> ReplyingProxy:
        self._thread.start()
        fut = asyncio.run_coroutine_threadsafe(self._listen(), self._loop)
        fut.result(10)
        return self

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def _serve(self, cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        sw: asyncio.StreamWriter | None = None
        try:
            sr, sw = await asyncio.open_connection(*self.target)
            while True:
                raw, args = await read_value(cr)
                name = args[0].decode(errors="replace").upper() if args else ""
                reply = self._reply
                if reply is not None and name not in PASS and name in self._commands:
                    self.refused += 1
                    cw.write(reply)
                else:
                    sw.write(raw)
                    await sw.drain()
                    answer, _ = await read_value(sr)
                    cw.write(answer)
                await cw.drain()
        except (OSError, asyncio.IncompleteReadError, ValueError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            for w in (cw, sw):
                if w is not None:
                    w.close()

    def close(self) -> None:
        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for t in list(self._tasks):
                t.cancel()
            await asyncio.sleep(0)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()

    def __enter__(self) -> ReplyingProxy:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
