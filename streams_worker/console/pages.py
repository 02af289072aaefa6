"""The console's pages: GET handlers that read and render, and change nothing.

Overview, consumers, pending entries (list and detail), dead letters (list, detail,
and the confirmation page a replay or purge goes through), actions (pause state,
trim dry run), login. Query parameters are validated here; a bad one is a 400.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from streams_worker.console import queries, render
from streams_worker.console.context import console_of
from streams_worker.console.queries import DeadLetterFilter
from streams_worker.core.keys import Partition
from streams_worker.core.trim import safe_trim
from streams_worker.ops import admin, capabilities, dead_letters


def int_param(request: Request, name: str, default: int = 0, *, hi: int = 10**12) -> int:
    raw = request.query_params.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) > hi:
        raise HTTPException(400, f"{name} must be a whole number")
    return int(raw)


def str_param(request: Request, name: str, limit: int = 500) -> str:
    return request.query_params.get(name, "").strip()[:limit]


def entry_id(raw: str) -> str:
    ms, _, seq = raw.partition("-")
    if not (ms.isdigit() and seq.isdigit()):
        raise HTTPException(400, "not an entry ID")
    return raw


def partition(request: Request, raw: Any = None) -> Partition:
    parts = console_of(request).keys.partitions
    value = request.query_params.get("p", "0") if raw is None else str(raw)
    if not value.isdigit() or int(value) >= len(parts):
        raise HTTPException(400, "no such partition")
    return parts[int(value)]


def dl_filter(source: Any) -> DeadLetterFilter:
    age_s = str(source.get("min_age_s", "") or "").strip()
    if age_s and not age_s.isdigit():
        raise HTTPException(400, "min_age_s must be a whole number")
    return DeadLetterFilter(
        reason=str(source.get("reason", "") or "").strip()[:200],
        error=str(source.get("error", "") or "").strip()[:500],
        min_age_ms=int(age_s) * 1000 if age_s else 0,
    )


async def overview(request: Request) -> Response:
    c = console_of(request)
    info = await admin.info(c.client, c.keys, c.settings.group)
    caps = await capabilities.detect(c.client)
    paused = await admin.is_paused(c.client, c.keys)
    series = {p.partition: c.sampler.series(p.partition) for p in info}
    return c.render(request, "overview.html", info=info, caps=caps, paused=paused,
                    series=series, interval_s=c.sampler.interval_s,
                    redis=c.settings.safe_redis_url())  # fmt: skip


async def consumers(request: Request) -> Response:
    c = console_of(request)
    found = await admin.consumers(c.client, c.keys, c.settings.group)
    # The live replica holding each name (its ownership lease): who is behind it.
    held = await admin.holders(c.client, c.keys, c.settings.group)
    return c.render(request, "consumers.html", consumers=found, holders=held)


async def pending(request: Request) -> Response:
    c = console_of(request)
    p = partition(request)
    consumer = str_param(request, "consumer") or None
    min_idle_s = int_param(request, "min_idle_s")
    min_deliveries = int_param(request, "min_deliveries")
    cursor = request.query_params.get("after")
    page = await queries.pending_page(
        c.client, p, c.settings.group, cursor=entry_id(cursor) if cursor else None,
        count=c.settings.console_page_size, consumer=consumer,
        min_idle_ms=min_idle_s * 1000 or None, min_deliveries=min_deliveries or None,
    )  # fmt: skip
    summary = await admin.pending(c.client, queries.one_partition(c.keys, p.index),
                                  c.settings.group, count=0, dedup_field="")  # fmt: skip
    filters = {"p": p.index, "consumer": consumer or "", "min_idle_s": min_idle_s or "",
               "min_deliveries": min_deliveries or ""}  # fmt: skip
    return c.render(request, "pending.html", page=page, p=p, filters=filters,
                    summary=summary[0].summary)  # fmt: skip


async def pending_entry(request: Request) -> Response:
    c = console_of(request)
    p = partition(request, request.path_params["p"])
    eid = entry_id(request.path_params["id"])
    detail = await queries.pending_detail(c.client, p, c.settings.group, eid)
    return c.render(request, "pending_entry.html", d=detail, fields=render.fields(detail.fields))


async def dead_letter_list(request: Request) -> Response:
    c = console_of(request)
    p = partition(request)
    flt = dl_filter(request.query_params)
    cursor = request.query_params.get("after")
    page = await queries.dead_letter_page(
        c.client, p, cursor=entry_id(cursor) if cursor else None,
        count=c.settings.console_page_size, flt=flt,
    )  # fmt: skip
    total = int(await c.client.xlen(p.dead_letter))
    return c.render(request, "dead_letters.html", page=page, p=p, flt=flt, total=total)


async def dead_letter(request: Request) -> Response:
    c = console_of(request)
    p = partition(request, request.path_params["p"])
    eid = entry_id(request.path_params["id"])
    found = await dead_letters.show(c.client, queries.one_partition(c.keys, p.index), eid)
    if not found:
        raise HTTPException(404, "no such dead letter")
    d = found[0]
    return c.render(request, "dead_letter.html", d=d, p=p, payload=render.fields(d.payload))


async def dead_letter_confirm(request: Request) -> Response:
    """How many dead letters a replay or purge would touch; the POST form to do it."""
    c = console_of(request)
    p = partition(request)
    op = request.query_params.get("op")
    scope = request.query_params.get("scope")
    if op not in ("replay", "purge") or scope not in ("one", "selected", "matching"):
        raise HTTPException(400, "op must be replay or purge; scope one, selected or matching")
    flt = dl_filter(request.query_params)
    if scope == "matching":
        ids = (await queries.matching_dead_letters(c.client, p, flt)).ids
    else:
        wanted = [entry_id(i) for i in request.query_params.getlist("id")][:1000]
        ids = await queries.existing_dead_letters(c.client, p, wanted)
    return c.render(request, "confirm.html", op=op, scope=scope, p=p, flt=flt, ids=ids,
                    count=len(ids))  # fmt: skip


async def actions_page(request: Request) -> Response:
    c = console_of(request)
    paused = await admin.is_paused(c.client, c.keys)
    return c.render(request, "actions.html", paused=paused, preview=None)


async def trim_preview(request: Request) -> Response:
    """The dry run every trim starts with: what would go, per partition."""
    c = console_of(request)
    paused = await admin.is_paused(c.client, c.keys)
    preview = await safe_trim(c.client, c.keys, dry_run=True)
    return c.render(request, "actions.html", paused=paused, preview=preview)


async def login_page(request: Request) -> Response:
    return console_of(request).render(request, "login.html", failed=False)


def routes() -> list[Route]:
    return [
        Route("/", overview),
        Route("/consumers", consumers),
        Route("/pending", pending),
        Route("/pending/{p:int}/{id}", pending_entry),
        Route("/dead-letters", dead_letter_list),
        Route("/dead-letters/confirm", dead_letter_confirm),
        Route("/dead-letters/{p:int}/{id}", dead_letter),
        Route("/actions", actions_page),
        Route("/actions/trim", trim_preview),
        Route("/login", login_page),
    ]
