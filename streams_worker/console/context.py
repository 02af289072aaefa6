"""The console's shared context (`Console`) and its Jinja2 environment."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from streams_worker.console.render import clip
from streams_worker.console.sampling import Sampler, sparkline
from streams_worker.console.security import Guard
from streams_worker.console.settings import ConsoleSettings
from streams_worker.core.connection import Client
from streams_worker.core.keys import StreamKeys
from streams_worker.ops.durations import age

HERE = Path(__file__).parent


@dataclass
class Console:
    """What every handler needs: settings, one client, the keys, guard and sampler."""

    settings: ConsoleSettings
    client: Client
    keys: StreamKeys
    guard: Guard
    sampler: Sampler
    templates: Jinja2Templates

    def render(self, request: Request, name: str, status: int = 200, **ctx: Any) -> Response:
        base = {
            "csrf": self.guard.csrf_for(request),
            "actions": self.settings.console_actions,
            "auth": self.guard.required,
            "stream": self.settings.stream,
            "group": self.settings.group,
            "partitions": [p.index for p in self.keys.partitions],
        }
        return self.templates.TemplateResponse(request, name, {**base, **ctx}, status_code=status)


def _ts(ms: int | None) -> str:
    if ms is None:
        return "-"
    when = dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")


def templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every value is escaped; entry content is hostile input
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(age=age, clip=clip, ts=_ts, sparkline=sparkline)
    return Jinja2Templates(env=env)


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console
