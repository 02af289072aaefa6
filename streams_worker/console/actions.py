"""The console's state changes: POST only, each with a CSRF token, each refused
unless CONSOLE_ACTIONS=true. Replay and purge arrive from their confirmation page.

Every action goes through `streams_worker.ops` (the same code as the CLI) and is
logged as an event with counts, never with entry content.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from streams_worker.console import queries
from streams_worker.console.context import Console, console_of
from streams_worker.console.pages import dl_filter, entry_id, partition
from streams_worker.console.security import SESSION_COOKIE, SESSION_MAX_AGE_S, set_cookie
from streams_worker.core.logs import get_logger
from streams_worker.core.trim import safe_trim
from streams_worker.ops import admin, dead_letters

MAX_FORM_IDS = 1000


async def _checked(request: Request, *, action: bool = True) -> tuple[Console, FormData]:
    c = console_of(request)
    form = await request.form(max_files=0, max_fields=MAX_FORM_IDS + 20)
    if not c.guard.csrf_ok(request, form.get("csrf")):
        raise HTTPException(403, "missing or invalid CSRF token: reload the page and retry")
    if action and not c.settings.console_actions:
        raise HTTPException(403, "the console is read-only (CONSOLE_ACTIONS is not true)")
    return c, form


def _log(c: Console, event: str, **fields: Any) -> None:
    get_logger(component="console", stream=c.settings.stream, group=c.settings.group).info(
        event, **fields
    )


def _done(c: Console, request: Request, title: str, **ctx: Any) -> Response:
    return c.render(request, "result.html", title=title, **ctx)


async def _dead_letter_ids(c: Console, form: FormData, p: Any) -> list[str]:
    scope = form.get("scope")
    if scope == "matching":
        return (await queries.matching_dead_letters(c.client, p, dl_filter(form))).ids
    if scope in ("one", "selected"):
        return [entry_id(str(i)) for i in form.getlist("id")][:MAX_FORM_IDS]
    raise HTTPException(400, "scope must be one, selected or matching")


async def replay(request: Request) -> Response:
    c, form = await _checked(request)
    p = partition(request, form.get("p", "0"))
    ids = await _dead_letter_ids(c, form, p)
    result = await dead_letters.replay(
        c.client, queries.one_partition(c.keys, p.index), ids, dedup_field=c.settings.dedup_field
    )
    _log(c, "console_replay", partition=p.index, replayed=len(result.replayed),
         missing=len(result.missing), refused=len(result.refused))  # fmt: skip
    return _done(c, request, "Replay", replay=result, p=p)


async def purge(request: Request) -> Response:
    c, form = await _checked(request)
    p = partition(request, form.get("p", "0"))
    ids = await _dead_letter_ids(c, form, p)
    removed = await dead_letters.purge(c.client, queries.one_partition(c.keys, p.index), ids)
    _log(c, "console_purge", partition=p.index, purged=removed)
    return _done(c, request, "Purge", purged=removed, p=p)


async def pause(request: Request) -> Response:
    c, _ = await _checked(request)
    await admin.pause(c.client, c.keys)
    _log(c, "console_pause")
    return RedirectResponse("/actions", 303)


async def resume(request: Request) -> Response:
    c, _ = await _checked(request)
    await admin.resume(c.client, c.keys)
    _log(c, "console_resume")
    return RedirectResponse("/actions", 303)


async def trim(request: Request) -> Response:
    c, _ = await _checked(request)
    result = await safe_trim(c.client, c.keys, dry_run=False)
    _log(c, "console_trim", trimmed=result.trimmed, refused=result.refused)
    return _done(c, request, "Trim", trim=result)


async def prune(request: Request) -> Response:
    c, form = await _checked(request)
    raw = str(form.get("min_idle_s", "3600")).strip()
    if not raw.isdigit():
        raise HTTPException(400, "min_idle_s must be a whole number")
    pruned = await admin.prune_consumers(c.client, c.keys, c.settings.group,
                                         min_idle_ms=int(raw) * 1000)  # fmt: skip
    _log(c, "console_prune", pruned=sum(len(v) for v in pruned.values()))
    return _done(c, request, "Prune idle consumers", pruned=pruned)


async def login(request: Request) -> Response:
    c, form = await _checked(request, action=False)
    given = form.get("token")
    if not isinstance(given, str) or not c.guard.check_token(given.strip()):
        _log(c, "console_login_refused")
        return c.render(request, "login.html", status=401, failed=True)
    response = RedirectResponse("/", 303)
    set_cookie(request, response, SESSION_COOKIE, c.guard.session_value(), SESSION_MAX_AGE_S)
    return response


async def logout(request: Request) -> Response:
    await _checked(request, action=False)
    response = RedirectResponse("/login", 303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def routes() -> list[Route]:
    post = ["POST"]
    return [
        Route("/dead-letters/replay", replay, methods=post),
        Route("/dead-letters/purge", purge, methods=post),
        Route("/actions/pause", pause, methods=post),
        Route("/actions/resume", resume, methods=post),
        Route("/actions/trim", trim, methods=post),
        Route("/consumers/prune", prune, methods=post),
        Route("/login", login, methods=post),
        Route("/logout", logout, methods=post),
    ]
