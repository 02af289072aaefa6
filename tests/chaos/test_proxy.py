"""The fault-injection proxy itself: it forwards, and each switch does what it says."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from tests.support.proxy import ChaosProxy


@pytest.fixture
def proxy(redis_url: str) -> Iterator[ChaosProxy]:
    with ChaosProxy.for_url(redis_url) as p:
        yield p


def _connect(proxy: ChaosProxy, timeout: float = 2.0) -> socket.socket:
    return socket.create_connection(("127.0.0.1", proxy.port), timeout=timeout)


def _ping(sock: socket.socket) -> bytes:
    sock.sendall(b"PING\r\n")
    return sock.recv(64)


def test_forwards_commands_both_ways(proxy: ChaosProxy) -> None:
    with _connect(proxy) as s:
        assert _ping(s) == b"+PONG\r\n"
    assert proxy.stats.accepted == 1


def test_latency_delays_each_round_trip(proxy: ChaosProxy) -> None:
    with _connect(proxy) as s:
        proxy.latency(0.1)
        start = time.monotonic()
        assert _ping(s) == b"+PONG\r\n"
        elapsed = time.monotonic() - start
    assert 0.2 <= elapsed < 1.0  # 0.1 s each way


def test_stall_holds_bytes_until_healed(proxy: ChaosProxy) -> None:
    with _connect(proxy, timeout=0.3) as s:
        proxy.stall()
        s.sendall(b"PING\r\n")
        with pytest.raises(TimeoutError):
            s.recv(64)
        proxy.heal()
        s.settimeout(2)
        assert s.recv(64) == b"+PONG\r\n"


def test_reset_all_aborts_open_connections(proxy: ChaosProxy) -> None:
    with _connect(proxy) as s:
        assert _ping(s) == b"+PONG\r\n"
        assert proxy.reset_all() == 1
        with pytest.raises(ConnectionResetError):
            _ping(s)
    assert proxy.open_connections == 0
    with _connect(proxy) as s2:  # new connections still work
        assert _ping(s2) == b"+PONG\r\n"


def test_refuse_rejects_new_connections_until_healed(proxy: ChaosProxy) -> None:
    proxy.refuse()
    with pytest.raises(ConnectionRefusedError):
        _connect(proxy).close()
    proxy.heal()
    with _connect(proxy) as s:
        assert _ping(s) == b"+PONG\r\n"
