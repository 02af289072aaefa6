"""Every error reply classified once (core/policy.py, docs/reliability.md), parsed the
way redis-py parses it off the wire, also wrapped in a script error as 6.2 sends it."""

from __future__ import annotations

import pytest
from redis import exceptions as rx
from redis._parsers.base import BaseParser

from streams_worker.core.policy import Kind, UnknownRedirect, classify, is_fatal, is_transient

REPLIES = {
    "LOADING Redis is loading the dataset in memory": Kind.TRANSIENT,
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL": Kind.TRANSIENT,
    "TRYAGAIN Multiple keys request during rehashing of slot": Kind.TRANSIENT,
    "CLUSTERDOWN The cluster is down": Kind.TRANSIENT,
    "MASTERDOWN Link with MASTER is down": Kind.TRANSIENT,
    "READONLY You can't write against a read only replica.": Kind.TRANSIENT,
    "NOREPLICAS Not enough good replicas to write.": Kind.TRANSIENT,
    "MISCONF Errors writing to the AOF file": Kind.TRANSIENT,
    "OOM command not allowed when used memory > 'maxmemory'.": Kind.TRANSIENT,
    "MOVED 3999 127.0.0.1:6381": Kind.ROUTING,
    "ASK 3999 127.0.0.1:6381": Kind.ROUTING,
    "NOSCRIPT No matching script. Please use EVAL.": Kind.SCRIPT,
    "NOGROUP No such key 'k' or consumer group 'g'": Kind.MISSING_GROUP,
    "NOPERM this user has no permissions to access one of the keys": Kind.CONFIGURATION,
    "WRONGPASS invalid username-password pair or user is disabled.": Kind.CONFIGURATION,
    "NOAUTH Authentication required.": Kind.CONFIGURATION,
    "WRONGTYPE Operation against a key holding the wrong kind of value": Kind.CONFIGURATION,
    "ERR unknown command 'XAUTOCLAIM', with args beginning with:": Kind.CONFIGURATION,
    "ERR Error running script (call to f_1): @user_script:12: -OOM command not allowed":
        Kind.TRANSIENT,
    "ERR Error running script (call to f_1): @user_script:3: BUSYGROUP exists": Kind.UNEXPECTED,
    "ERR syntax error": Kind.UNEXPECTED,
}  # fmt: skip


@pytest.mark.parametrize("reply", sorted(REPLIES))
def test_each_error_reply_has_one_kind(reply: str) -> None:
    exc = BaseParser.parse_error(reply)
    assert classify(exc) is REPLIES[reply]
    assert is_fatal(exc) is (REPLIES[reply] is Kind.CONFIGURATION)
    assert is_transient(exc) is not is_fatal(exc)


@pytest.mark.parametrize(
    "exc", [rx.ConnectionError("reset"), rx.TimeoutError(), ConnectionResetError(), TimeoutError()]
)
def test_connection_loss_and_timeouts_are_transient(exc: BaseException) -> None:
    assert classify(exc) is Kind.TRANSIENT


def test_what_did_not_come_from_redis_is_not_classified() -> None:
    assert classify(ValueError("a bug")) is None


def test_a_redirect_to_an_unknown_node_is_routing() -> None:
    assert classify(UnknownRedirect("redirected to a node not in the slot map yet")) is Kind.ROUTING
