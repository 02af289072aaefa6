"""What the server is (Redis or Valkey, which version) and which stream features it has.

The feature table is the same knowledge `groups` and `streams` act on, written out
for operators: `streams-worker capabilities` shows it with the strategy the worker
uses on this server. Valkey reports a Redis-compatible `redis_version` (7.2.4 for
every Valkey release so far) and has every Redis 7.2 stream feature.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from streams_worker.core.connection import Client

#: (feature, minimum Redis-compatible version, what it is)
FEATURES: tuple[tuple[str, tuple[int, int, int], str], ...] = (
    ("xautoclaim", (6, 2, 0), "XAUTOCLAIM: claim idle pending entries with a cursor"),
    ("xpending_idle", (6, 2, 0), "XPENDING ... IDLE min-idle-time filter"),
    ("exclusive_ranges", (6, 2, 0), "XRANGE/XPENDING '(' exclusive start IDs"),
    ("xadd_nomkstream_minid_limit", (6, 2, 0), "XADD NOMKSTREAM, XADD/XTRIM MINID and LIMIT"),
    ("xautoclaim_deleted_ids", (7, 0, 0), "XAUTOCLAIM's third element: deleted entry IDs"),
    ("xinfo_lag", (7, 0, 0), "XINFO GROUPS entries-read and lag"),
    ("xsetid_entries_added", (7, 0, 0), "XSETID/XGROUP CREATE ENTRIESREAD"),
    ("xinfo_consumers_inactive", (7, 2, 0), "XINFO CONSUMERS inactive time"),
)
MINIMUM = (6, 2, 0)


def _version(text: str) -> tuple[int, int, int]:
    parts = [*text.split("."), "0", "0"][:3]
    nums = [int("".join(ch for ch in p if ch.isdigit()) or 0) for p in parts]
    return nums[0], nums[1], nums[2]


@dataclass(frozen=True, slots=True)
class Capabilities:
    server: str  # "redis" | "valkey"
    version: str  # the server's own version (valkey_version for Valkey)
    redis_version: str  # the Redis-compatible version the features follow
    mode: str  # standalone | cluster | sentinel
    supported: bool
    features: dict[str, bool] = field(default_factory=dict)
    strategy: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "version": self.version,
            "redis_version": self.redis_version,
            "mode": self.mode,
            "supported": self.supported,
            "features": dict(self.features),
            "strategy": dict(self.strategy),
        }


def strategy(features: Mapping[str, bool]) -> dict[str, str]:
    """How the worker and the sampler behave given these features."""
    return {
        "lag": (
            "XINFO GROUPS lag; counted with bounded XRANGE (flagged estimated) when nil"
            if features.get("xinfo_lag")
            else "counted from last-delivered-id with bounded XRANGE (flagged estimated)"
        ),
        "reclaim": (
            "XAUTOCLAIM; entries deleted while pending come back in its deleted-IDs element"
            if features.get("xautoclaim_deleted_ids")
            else "XAUTOCLAIM; entries deleted while pending come back without fields"
            " and are acknowledged by the worker"
        ),
        "consumer_idle": (
            "XINFO CONSUMERS idle (inactive shown too)"
            if features.get("xinfo_consumers_inactive")
            else "XINFO CONSUMERS idle"
        ),
    }


def from_info(server_info: Mapping[str, Any]) -> Capabilities:
    """Capabilities from an INFO server reply (a dict)."""
    redis_version = str(server_info.get("redis_version", "0.0.0"))
    is_valkey = "valkey_version" in server_info or server_info.get("server_name") == "valkey"
    version = str(server_info.get("valkey_version", redis_version)) if is_valkey else redis_version
    have = _version(redis_version)
    features = {name: have >= minimum for name, minimum, _ in FEATURES}
    return Capabilities(
        server="valkey" if is_valkey else "redis",
        version=version,
        redis_version=redis_version,
        mode=str(server_info.get("redis_mode") or server_info.get("server_mode") or "standalone"),
        supported=have >= MINIMUM,
        features=features,
        strategy=strategy(features),
    )


async def detect(client: Client) -> Capabilities:
    """INFO server on the server (the first node's, for a cluster client)."""
    reply: Mapping[str, Any] = await client.info("server")
    if "redis_version" not in reply:
        # A cluster client answers {node: {...}}; every node runs the same build.
        reply = next(iter(v for v in reply.values() if isinstance(v, Mapping)), {})
    return from_info(reply)
