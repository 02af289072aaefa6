"""Authentication, CSRF and response headers for the console.

* A token (CONSOLE_TOKEN / CONSOLE_TOKEN_FILE), when set, is always required: as
  `Authorization: Bearer <token>` (scripts) or through the login form, which sets
  an HttpOnly, SameSite=Strict session cookie holding an HMAC of the token (never
  the token). Anything else gets 401 and no detail.
* CSRF: every response carries a random `sw_csrf` cookie (HttpOnly, SameSite=Strict);
  forms carry HMAC(process secret, that cookie); every POST must present it.
  GET handlers change nothing.
* Headers: a Content-Security-Policy with no script source but 'self' (the console
  ships no script at all), no framing, no referrer, no caching, no sniffing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp

SESSION_COOKIE = "sw_session"
CSRF_COOKIE = "sw_csrf"
SESSION_MAX_AGE_S = 12 * 3600
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
OPEN_PATHS = frozenset({"/login", "/healthz"})
UNAUTHORIZED = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>401</title>'
    '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'
    '<link rel="stylesheet" href="/static/console.css"></head><body class="bare">'
    '<main><h1>401 Unauthorized</h1><p><a href="/login">Log in</a></p></main></body></html>'
)


def _mac(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


class Guard:
    """Checks credentials and CSRF tokens; holds the token, never shows it."""

    def __init__(self, token: str | None) -> None:
        self._token = token
        self._csrf_key = secrets.token_bytes(32)

    @property
    def required(self) -> bool:
        return self._token is not None

    def check_token(self, given: str) -> bool:
        return self._token is not None and hmac.compare_digest(given.encode(), self._token.encode())

    def session_value(self) -> str:
        return _mac((self._token or "").encode(), "streams-worker console session")

    def authenticated(self, request: Request) -> bool:
        if self._token is None:
            return True
        header = request.headers.get("authorization")
        if header is not None:
            scheme, _, given = header.partition(" ")
            return scheme.lower() == "bearer" and self.check_token(given.strip())
        cookie = request.cookies.get(SESSION_COOKIE, "")
        return hmac.compare_digest(cookie.encode(), self.session_value().encode())

    def csrf_for(self, request: Request) -> str:
        return _mac(self._csrf_key, str(request.state.csrf_id))

    def csrf_ok(self, request: Request, given: object) -> bool:
        cookie = request.cookies.get(CSRF_COOKIE)
        if not cookie or not isinstance(given, str):
            return False
        return hmac.compare_digest(given.encode(), _mac(self._csrf_key, cookie).encode())


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path="/", httponly=True, samesite="strict",
        secure=request.url.scheme == "https",
    )  # fmt: skip


class GuardMiddleware(BaseHTTPMiddleware):
    def __init__(self, app: ASGIApp, guard: Guard) -> None:
        super().__init__(app)
        self.guard = guard

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        given = request.cookies.get(CSRF_COOKIE)
        request.state.csrf_id = given or secrets.token_urlsafe(32)
        path = request.url.path
        if path in OPEN_PATHS or path.startswith("/static/") or self.guard.authenticated(request):
            response = await call_next(request)
        else:
            response = HTMLResponse(UNAUTHORIZED, 401, {"WWW-Authenticate": "Bearer"})
        if not given:
            set_cookie(request, response, CSRF_COOKIE, request.state.csrf_id, SESSION_MAX_AGE_S)
        response.headers.update(HEADERS)
        return response
