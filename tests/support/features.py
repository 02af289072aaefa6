"""What a server under test can do, as flags the universal suites check.

As watermill's `tests.Features`: the delivery-semantics suite runs unchanged against
every server; where Redis 6.2, 7.x, 8.x and Valkey really differ, a test asks a flag
here, never a version. The flags come from the server's capabilities
(`streams_worker.ops.capabilities`), and tests/contract/test_features.py checks each
against what the server actually does.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import redis

from streams_worker.ops.capabilities import from_info


@dataclass(frozen=True)
class Features:
    server: str  # "redis" | "valkey"
    version: str  # the server's own version
    #: XAUTOCLAIM returns the IDs of pending entries that were deleted (7.0+, Valkey)
    xautoclaim_reports_deleted: bool
    #: XINFO GROUPS has entries-read and lag (7.0+, Valkey)
    xinfo_lag: bool
    #: XINFO CONSUMERS has inactive (7.2+, Valkey)
    xinfo_consumers_inactive: bool

    def __str__(self) -> str:
        return f"{self.server} {self.version}"


@functools.cache
def features_of(url: str) -> Features:
    """The features of the server at `url` (asked once per URL)."""
    with redis.Redis.from_url(url, socket_timeout=5) as client:
        caps = from_info(client.info("server"))
    return Features(
        server=caps.server,
        version=caps.version,
        xautoclaim_reports_deleted=caps.features["xautoclaim_deleted_ids"],
        xinfo_lag=caps.features["xinfo_lag"],
        xinfo_consumers_inactive=caps.features["xinfo_consumers_inactive"],
    )


@dataclass(frozen=True)
class Server:
    """A server a universal suite runs against: where it is and what it can do."""

    url: str
    features: Features
