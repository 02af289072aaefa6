"""Each replica's reading state, published for `streams-worker pause` to wait on.

Hash `<stream>:replicas`: field = consumer name, value = `"<state> <unix ms>"`, where
state is `reading` or `paused`. The reader sets `paused` only once it has seen the
pause flag and will start no further read or claim; a replica rewrites its field every
`HEARTBEAT_S` and deletes it when it stops. A field older than `LIVE_WITHIN_S` belongs
to a replica that died without saying so: it is ignored, and removed by the replicas
after `FORGET_AFTER_S`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import anyio
from redis.exceptions import NoPermissionError

from streams_worker.core.connection import Client
from streams_worker.core.logs import Logger
from streams_worker.core.policy import is_transient

HEARTBEAT_S = 1.0
LIVE_WITHIN_S = 5.0
FORGET_AFTER_S = 600.0
READING, PAUSED = "reading", "paused"


@dataclass(frozen=True, slots=True)
class Replica:
    consumer: str
    state: str
    age_s: float

    @property
    def live(self) -> bool:
        return self.age_s <= LIVE_WITHIN_S


def _decode(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def replicas(client: Client, key: str) -> list[Replica]:
    """Every replica that published its state, with the age of its last word."""
    now_ms = time.time() * 1000
    found: list[Replica] = []
    raw: dict[bytes | str, bytes | str] = await client.hgetall(key)
    for name, value in raw.items():
        state, _, ms = _decode(value).partition(" ")
        try:
            age = max(0.0, (now_ms - float(ms)) / 1000)
        except ValueError:
            age = float("inf")
        found.append(Replica(_decode(name), state, age))
    return sorted(found, key=lambda r: r.consumer)


async def live_consumers(client: Client, key: str) -> list[str]:
    """Consumer names of the replicas alive now (never pruned, even when idle)."""
    return [r.consumer for r in await replicas(client, key) if r.live]


class Presence:
    """Publishes one replica's state; `set_state` publishes at once, `run` beats."""

    def __init__(self, client: Client, key: str, consumer: str, log: Logger) -> None:
        self._client = client
        self._key = key
        self._consumer = consumer
        self._log = log
        self.state = READING
        self.refused = False

    async def publish(self) -> None:
        if self.refused:
            return
        value = f"{self.state} {time.time() * 1000:.0f}"
        try:
            await self._client.hset(self._key, self._consumer, value)
        except NoPermissionError as exc:  # an ACL from before this key: say so once
            self.refused = True
            self._log.warning("presence_refused", key=self._key, error=str(exc)[:200])
        except Exception as exc:
            if not is_transient(exc):
                raise
            # OOM, BUSY, a lost connection: never a reason to stop reading or to wait
            # at start-up; the heartbeat publishes again within a second.
            self._log.debug("presence_unpublished", error=str(exc)[:200])

    async def set_state(self, state: str) -> None:
        self.state = state
        await self.publish()

    async def run(self) -> None:
        beats = 0
        try:
            while True:
                try:
                    await self.publish()
                    if not self.refused and beats % int(FORGET_AFTER_S / HEARTBEAT_S / 10) == 0:
                        await self._forget_dead()
                except Exception as exc:
                    if not is_transient(exc):
                        raise
                beats += 1
                await anyio.sleep(HEARTBEAT_S)
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(2.0):
                try:
                    if not self.refused:
                        await self._client.hdel(self._key, self._consumer)
                except Exception as exc:  # noqa: BLE001 - stopping regardless
                    self._log.warning("presence_not_removed", error=str(exc)[:200])

    async def _forget_dead(self) -> None:
        dead = [r.consumer for r in await replicas(self._client, self._key)
                if r.age_s > FORGET_AFTER_S]  # fmt: skip
        if dead:
            await self._client.hdel(self._key, *dead)
