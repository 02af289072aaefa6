"""TLS fixtures: certificates generated per session, a TLS-only redis-server per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.tls import PKI, TLSRedisProcess, make_pki, openssl_available, tls_binary


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    if not openssl_available():
        pytest.skip("the openssl command line is not installed: cannot make test certificates")
    return make_pki(Path(tmp_path_factory.mktemp("pki")))


@pytest.fixture
def tls_redis(pki: PKI) -> Iterator[Callable[..., TLSRedisProcess]]:
    """Factory: start a TLS-only server (`rogue=True`: its cert is from an untrusted CA)."""
    binary = tls_binary()
    if binary is None:
        pytest.skip("no system redis-server (Debian's has TLS): apt-get install redis-server")
    mine: list[TLSRedisProcess] = []

    def start(**kwargs: Any) -> TLSRedisProcess:
        proc = TLSRedisProcess(binary, pki, **kwargs)
        try:
            proc.start()
        except RuntimeError as exc:
            proc.close()
            if "tls" in str(exc).lower():
                pytest.skip(f"{binary.path} was built without TLS: {exc}")
            raise
        mine.append(proc)
        return proc

    yield start
    for proc in mine:
        proc.close()
