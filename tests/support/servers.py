"""Server processes for the suite: one shared per binary, private ones on demand."""

from __future__ import annotations

from streams_worker.dev.embedded import RedisProcess, ServerBinary, available_binaries

__all__ = ["RedisProcess", "ServerBinary", "available_binaries", "binaries_by_label"]


def binaries_by_label() -> dict[str, ServerBinary]:
    return {b.label: b for b in available_binaries()}
