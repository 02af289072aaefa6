"""Pause with a confirmation: set the flag, then wait until every live replica says
it has stopped reading (`streams_worker.core.presence`).

Once `pause_and_confirm` returns with nothing unconfirmed, no live replica starts a
read or a claim until the flag is deleted; a replica that starts later checks the
flag before its first read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import anyio

from streams_worker.core.connection import Client
from streams_worker.core.keys import StreamKeys
from streams_worker.core.presence import PAUSED, replicas
from streams_worker.ops.admin import pause

POLL_S = 0.1


@dataclass(slots=True)
class PauseResult:
    confirmed: list[str] = field(default_factory=list)
    #: Live replicas that had not reported `paused` when the wait ran out.
    unconfirmed: list[str] = field(default_factory=list)


async def pause_and_confirm(client: Client, keys: StreamKeys, *, wait_s: float) -> PauseResult:
    """Set the flag; wait up to `wait_s` for every live replica to report `paused`."""
    await pause(client, keys)
    deadline = anyio.current_time() + wait_s
    while True:
        live = [r for r in await replicas(client, keys.replicas) if r.live]
        result = PauseResult(
            confirmed=[r.consumer for r in live if r.state == PAUSED],
            unconfirmed=[r.consumer for r in live if r.state != PAUSED],
        )
        if not result.unconfirmed or anyio.current_time() >= deadline:
            return result
        await anyio.sleep(POLL_S)
