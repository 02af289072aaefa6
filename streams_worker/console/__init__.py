"""The web console: `streams-worker console` (docs/console.md).

Server-rendered pages (starlette + Jinja2, no script at all) over the same data
the ops CLI shows (`streams_worker.ops`): overview with sparklines from the
console's own sampling, consumers, pending entries, dead letters, actions.
Read-only unless CONSOLE_ACTIONS=true; token-protected (CONSOLE_TOKEN) and, without
a token, bound to loopback only. Needs the `[console]` extra (jinja2).
"""
