"""The earlier design, re-implemented small and faithfully, as a baseline.

The enrichment used to run as a thread inside the FastAPI app of every replica:
page through the catalog's article IDs; for each one not yet in the
`enrichment:processed` set, take `SET lock:<id> 1 NX EX 300`; if taken, check
again that it was not processed meanwhile, give up for good after three failures
counted in `retry:<id>`, process it (synchronously, one article at a time), add
it to the processed set, release the lock. Replicas walk the same list in the
same order and skip what another holds.

    python -m bench.lockworker URL PREFIX N HANDLER_MS
"""

from __future__ import annotations

import sys
import time

import redis

MAX_RETRIES = 3
LOCK_TTL_S = 300


def article_ids(n: int) -> list[str]:
    """What the catalog's article listing returns: the same order for every replica."""
    return [f"urn:article:old-{i}" for i in range(n)]


def process(article_id: str, handler_ms: int) -> None:
    time.sleep(handler_ms / 1000)  # the catalog fetch + model call + catalog update


def run_once(r: redis.Redis, prefix: str, ids: list[str], handler_ms: int) -> int:
    """One pass over the catalog; returns how many articles are still not processed."""
    processed = f"{prefix}enrichment:processed"
    remaining = 0
    for aid in ids:
        if r.sismember(processed, aid):
            continue
        remaining += 1
        lock = f"{prefix}lock:{aid}"
        if not r.set(lock, 1, nx=True, ex=LOCK_TTL_S):
            continue  # another replica has it
        try:
            if r.sismember(processed, aid):
                continue
            retry_key = f"{prefix}retry:{aid}"
            if int(r.get(retry_key) or 0) >= MAX_RETRIES:
                continue
            try:
                process(aid, handler_ms)
            except Exception:  # noqa: BLE001 - the earlier worker counted every failure
                r.incr(retry_key)
                r.expire(retry_key, 86_400)
                continue
            r.sadd(processed, aid)
            remaining -= 1
        finally:
            r.delete(lock)
    return remaining


def main(url: str, prefix: str, n: int, handler_ms: int) -> None:
    r = redis.Redis.from_url(url)
    ids = article_ids(n)
    while run_once(r, prefix, ids, handler_ms):
        time.sleep(0.05)  # the thread's poll interval, shortened for the benchmark
    r.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
