"""Certificates made on the spot, and a redis-server that speaks only TLS.

`make_pki(dir)` uses the `openssl` command line (always present where a
TLS-capable redis-server is): a CA, a server certificate for 127.0.0.1 and
localhost signed by it, a client certificate signed by it (for mutual TLS), and
a second CA that signed nothing we trust (to prove verification is on).

`TLSRedisProcess` is a `RedisProcess` listening with `--tls-port` only
(`--port 0`), answering readiness probes over TLS.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

from streams_worker.dev.embedded import RedisProcess, ServerBinary, system_binary


@dataclass(frozen=True)
class PKI:
    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    untrusted_ca_cert: Path
    #: A server certificate signed by the untrusted CA (a server we must refuse).
    rogue_cert: Path
    rogue_key: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _ca(directory: Path, name: str) -> tuple[Path, Path]:
    key, cert = directory / f"{name}.key", directory / f"{name}.crt"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", f"/CN={name}", "-keyout", str(key), "-out", str(cert),
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             cwd=directory)  # fmt: skip
    return cert, key


def _leaf(directory: Path, name: str, ca: tuple[Path, Path], ext: str) -> tuple[Path, Path]:
    key, csr, cert = (directory / f"{name}.{s}" for s in ("key", "csr", "crt"))
    extfile = directory / f"{name}.ext"
    extfile.write_text(ext)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
             "-keyout", str(key), "-out", str(csr), cwd=directory)  # fmt: skip
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]),
             "-CAcreateserial", "-days", "2", "-sha256", "-extfile", str(extfile),
             "-out", str(cert), cwd=directory)  # fmt: skip
    return cert, key


_SERVER_EXT = "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
_CLIENT_EXT = "extendedKeyUsage=clientAuth\n"


def openssl_available() -> bool:
    return shutil.which("openssl") is not None


def make_pki(directory: Path) -> PKI:
    directory.mkdir(parents=True, exist_ok=True)
    ca = _ca(directory, "test-ca")
    server = _leaf(directory, "server", ca, _SERVER_EXT)
    client = _leaf(directory, "client", ca, _CLIENT_EXT)
    rogue_ca = _ca(directory, "untrusted-ca")
    rogue = _leaf(directory, "rogue-server", rogue_ca, _SERVER_EXT)
    return PKI(ca[0], server[0], server[1], client[0], client[1], rogue_ca[0], *rogue)


def tls_binary() -> ServerBinary | None:
    """Debian's redis-server (built with TLS), if installed."""
    return system_binary()


class TLSRedisProcess(RedisProcess):
    """A redis-server on loopback that accepts TLS connections only."""

    def __init__(
        self,
        binary: ServerBinary,
        pki: PKI,
        *,
        require_client_cert: bool = False,
        rogue: bool = False,
        extra_args: list[str] | None = None,
    ) -> None:
        super().__init__(binary, extra_args=extra_args)
        self.pki = pki
        self.require_client_cert = require_client_cert
        self.cert, self.key = (
            (pki.rogue_cert, pki.rogue_key) if rogue else (pki.server_cert, pki.server_key)
        )

    @property
    def url(self) -> str:
        return f"rediss://127.0.0.1:{self.port}/0"

    def argv(self) -> list[str]:
        args = super().argv()
        args[args.index("--port") + 1] = "0"
        return [
            *args,
            "--tls-port", str(self.port),
            "--tls-cert-file", str(self.cert),
            "--tls-key-file", str(self.key),
            "--tls-ca-cert-file", str(self.pki.ca_cert),
            "--tls-auth-clients", "yes" if self.require_client_cert else "no",
        ]  # fmt: skip

    def _ping(self) -> bool:
        # Readiness only: this probe trusts the certificate it is shown.
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        if self.require_client_cert:
            ctx.load_cert_chain(self.pki.client_cert, self.pki.client_key)
        try:
            with (
                socket.create_connection(("127.0.0.1", self.port), timeout=1) as raw,
                ctx.wrap_socket(raw) as s,
            ):
                s.sendall(b"PING\r\n")
                reply = s.recv(64)
        except ssl.SSLError as exc:
            raise OSError(str(exc)) from exc
        return reply.startswith(b"+PONG") or reply.startswith(b"-NOAUTH")
