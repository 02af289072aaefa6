"""users.acl allows every command the Lua scripts call, for the role that runs them.

Redis checks the commands a script calls against the caller's ACL, so a
`redis.call` added to a script must be granted too. The integration tests run the
scripts for real; this catches the paths they do not reach (a NOGROUP recovery,
a trim), straight from the source.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.k8s.manifests import K8S, ROOT

LUA_DIRS = (ROOT / "streams_worker" / "core" / "lua", ROOT / "producer" / "lua")
#: Which roles run which script (the Python that loads it: streams.py for the
#: worker, admin.py/dlq.py for the ops CLI and the console with actions on, trim.py
#: for all of them, producer/enqueue.py).
RUNS = {
    "ack.lua": {"worker"},
    "ack_fresh.lua": {"worker"},
    "dead_letter.lua": {"worker"},
    "renew.lua": {"worker"},
    "prune_consumers.lua": {"worker", "operator", "console-actions"},
    "trim.lua": {"worker", "operator", "console-actions"},
    "dlq_replay.lua": {"operator", "console-actions"},
    "wait.lua": {"worker"},
    "release_due.lua": {"worker"},
    "rewait.lua": {"worker"},
    "rate_limit.lua": {"worker"},
    "throttle.lua": {"worker"},
    "enqueue.lua": {"producer"},
    "ownership.lua": {"worker", "operator"},
}
CALL = re.compile(r"redis\.p?call\(\s*'([A-Za-z]+)'(?:\s*,\s*'([A-Za-z]+)')?")
CONTAINER_COMMANDS = {"XGROUP", "XINFO", "SCRIPT", "CLIENT", "CONFIG", "ACL", "OBJECT"}


def _acl() -> dict[str, set[str]]:
    out = {}
    for line in (K8S / "redis" / "users.acl").read_text().splitlines():
        words = line.split()
        out[words[1]] = {w[1:].lower() for w in words if w.startswith("+")}
    return out


def _calls(script: Path) -> set[str]:
    found = set()
    for cmd, sub in CALL.findall(script.read_text()):
        cmd = cmd.lower()
        found.add(f"{cmd}|{sub.lower()}" if cmd.upper() in CONTAINER_COMMANDS and sub else cmd)
    return found


def test_every_script_is_assigned_to_roles() -> None:
    assert {p.name for d in LUA_DIRS for p in d.glob("*.lua")} == set(RUNS)


@pytest.mark.parametrize("script", sorted(RUNS))
def test_roles_may_run_every_command_of_their_scripts(script: str) -> None:
    acl = _acl()
    calls = _calls(next(d / script for d in LUA_DIRS if (d / script).exists()))
    assert calls, script
    for role in RUNS[script]:
        allowed = acl[role]
        missing = {c for c in calls if c not in allowed and c.split("|")[0] not in allowed}
        assert not missing, f"{role} runs {script} but may not {sorted(missing)}"
        assert {"evalsha", "eval"} & allowed


FORBIDDEN = {"~*", "allkeys", "allcommands", "nopass", "&*", "allchannels"}


def test_no_role_has_a_category_or_all_keys() -> None:
    for line in (K8S / "redis" / "users.acl").read_text().splitlines():
        words = line.split()
        assert not [w for w in words if w.startswith("+@") or w in FORBIDDEN], line
        if words[1] != "default":
            assert words[2] == "on"
            assert "-@all" in words
            assert "resetkeys" in words
            assert sum(w.startswith("#") for w in words) == 1  # a hash, never a plain >password


#: What the read-only console may never do (its user has no write command at all).
WRITES = {"xadd", "xdel", "xtrim", "xack", "xclaim", "xautoclaim", "xgroup|delconsumer",
          "xgroup|create", "hset", "hdel", "set", "del", "xreadgroup"}  # fmt: skip


def test_the_read_only_console_user_has_no_write_command() -> None:
    acl = _acl()
    assert acl["console"] & WRITES == set()
    assert acl["console"] < acl["console-actions"]
