"""A TCP proxy between clients and Redis that tests can break on purpose.

The proxy runs its own asyncio event loop in a daemon thread, so sync tests,
async tests and subprocess workers (which just connect to `proxy.url`) can all
use it. Runtime switches, each effective at once:

* `latency(s)`: every chunk is delivered `s` seconds after it was read, in both
  directions (a pipeline per direction, so throughput is not divided by it);
* `stall()`: stop forwarding; connections stay open and bytes wait in buffers;
* `reset_all()`: abort every open connection with a TCP RST;
* `refuse()`: close the listening socket, so new connections get ECONNREFUSED;
* `heal()`: undo all of the above (latency 0, forwarding, listening).

`stats` counts connections accepted and resets done, for assertions.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

from streams_worker.dev.embedded import free_port

T = TypeVar("T")
_CHUNK = 65536


@dataclass
class ProxyStats:
    accepted: int = 0
    resets: int = 0
    refused_periods: int = 0

    def copy(self) -> ProxyStats:
        return ProxyStats(self.accepted, self.resets, self.refused_periods)


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close with RST rather than FIN: what a dead peer or a broken network looks like."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class ChaosProxy:
    """Forward 127.0.0.1:`port` to `target_host:target_port`, with faults on demand."""

    def __init__(self, target_host: str, target_port: int, *, port: int | None = None) -> None:
        self.target = (target_host, target_port)
        self.port = port or free_port()
        self.stats = ProxyStats()
        self._latency = 0.0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._flowing: asyncio.Event | None = None
        self._server: asyncio.Server | None = None
        self._conns: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    def for_url(cls, url: str) -> ChaosProxy:
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        return cls(parts.hostname or "127.0.0.1", parts.port or 6379)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> ChaosProxy:
        self._thread.start()
        self._call(self._init())
        return self

    def close(self) -> None:
        if not self._thread.is_alive():
            return
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def __enter__(self) -> ChaosProxy:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- switches (thread-safe, synchronous) ------------------------------------------------

    def latency(self, seconds: float) -> None:
        self._latency = max(0.0, seconds)

    def stall(self) -> None:
        self._call(self._set_flowing(False))

    def reset_all(self) -> int:
        """Abort every open connection; returns how many were aborted."""
        return self._call(self._reset_all())

    def refuse(self) -> None:
        self._call(self._stop_listening())

    def heal(self) -> None:
        self._latency = 0.0
        self._call(self._set_flowing(True))
        self._call(self._listen())

    @property
    def open_connections(self) -> int:
        return len(self._conns)

    # -- internals (run on the proxy's loop) -------------------------------------------------

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    async def _init(self) -> None:
        self._flowing = asyncio.Event()
        self._flowing.set()
        await self._listen()

    async def _listen(self) -> None:
        if self._server is not None:
            return
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", self.port, reuse_address=True
        )

    async def _stop_listening(self) -> None:
        if self._server is None:
            return
        self._server.close()
        self._server = None
        self.stats.refused_periods += 1

    async def _set_flowing(self, on: bool) -> None:
        assert self._flowing is not None
        self._flowing.set() if on else self._flowing.clear()

    async def _reset_all(self) -> int:
        conns = list(self._conns)
        for client_w, upstream_w in conns:
            _abort(client_w)
            _abort(upstream_w)
        self._conns.clear()
        self.stats.resets += len(conns)
        return len(conns)

    async def _shutdown(self) -> None:
        await self._stop_listening()
        await self._reset_all()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.stats.accepted += 1
        try:
            upstream_r, upstream_w = await asyncio.open_connection(*self.target)
        except OSError:
            _abort(client_w)
            return
        pair = (client_w, upstream_w)
        self._conns.add(pair)
        self._spawn(self._pipe(client_r, upstream_w, pair))
        self._spawn(self._pipe(upstream_r, client_w, pair))

    async def _pipe(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        pair: tuple[asyncio.StreamWriter, asyncio.StreamWriter],
    ) -> None:
        """Read chunks, timestamp them, deliver each once its latency has elapsed."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        deliver = self._loop.create_task(self._deliver(queue, writer))
        try:
            while True:
                assert self._flowing is not None
                await self._flowing.wait()
                data = await reader.read(_CHUNK)
                if not data:
                    break
                queue.put_nowait((time.monotonic() + self._latency, data))
            queue.put_nowait((0.0, b""))
            await deliver
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            deliver.cancel()
            if pair in self._conns:
                self._conns.discard(pair)
                for w in pair:
                    w.close()

    async def _deliver(
        self, queue: asyncio.Queue[tuple[float, bytes]], w: asyncio.StreamWriter
    ) -> None:
        try:
            while True:
                at, data = await queue.get()
                if not data:
                    if w.can_write_eof():
                        w.write_eof()
                    return
                delay = at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                assert self._flowing is not None
                await self._flowing.wait()
                w.write(data)
                await w.drain()
        except (OSError, RuntimeError):
            return
