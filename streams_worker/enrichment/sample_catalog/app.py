"""The sample catalog's HTTP API (starlette): the contract of docs/contracts.md, "The catalog API".

Envelope `{"help", "success": true, "result"}`; errors
`{"help", "success": false, "error": {"title", "detail", "code"}}`. Bodies are
validated by `contract` (the catalog's rules, shared with the contract tests):
422 "RequestValidationError" for a body of the wrong shape (not JSON, unknown
field, wrong type), 422 "DataError" for data breaking a rule; 400 for bad paging. Every `/api/v1`
request may first be delayed (`latency_ms`) or failed (injected bursts, `error_rate`,
`rate_429`). `/_sample/stats` (no auth) reports counters for tests and the demo.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from streams_worker.enrichment.sample_catalog.contract import (
    ArticlePatch,
    EnhanceBody,
    describe,
    error_title,
)
from streams_worker.enrichment.sample_catalog.store import CatalogStore

HELP = "https://example.invalid/sample-catalog/help"
TITLES = {
    400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 422: "RequestValidationError",
    429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
    503: "Service Unavailable",
}  # fmt: skip


def ok(result: Any) -> JSONResponse:
    return JSONResponse({"help": HELP, "success": True, "result": result})


def error(
    status: int,
    detail: str,
    code: str,
    headers: dict[str, str] | None = None,
    *,
    title: str | None = None,
) -> JSONResponse:
    body = {"title": title or TITLES.get(status, "Error"), "detail": detail, "code": code}
    return JSONResponse({"help": HELP, "success": False, "error": body}, status, headers=headers)


class SampleCatalogApp:
    """Route handlers over one `CatalogStore`."""

    def __init__(self, store: CatalogStore) -> None:
        self.store = store

    async def _gate(self, request: Request, *, auth: bool = True) -> Response | None:
        """Latency, injected faults, then the bearer token; None means go on."""
        if self.store.config.latency_ms > 0:
            await anyio.sleep(self.store.config.latency_ms / 1000)
        fault = self.store.next_fault()
        if fault is not None:
            status, retry_after = fault
            if status == 429:
                after = f"{retry_after or 0:g}"
                return error(429, "rate limit exceeded", "rate_limited", {"retry-after": after})
            return error(status, "injected failure", "unavailable")
        if auth:
            header = request.headers.get("authorization", "")
            scheme, _, token = header.partition(" ")
            reason = self.store.check_token(token.strip() if scheme.lower() == "bearer" else None)
            if reason is not None:
                return error(
                    401, reason, "token_expired" if "expired" in reason else "unauthorized"
                )
        return None

    async def _body(self, request: Request) -> tuple[Any, Response | None]:
        try:
            return json.loads(await request.body()), None
        except ValueError:
            return None, error(422, "body: not valid JSON", "validation_error")
        except ClientDisconnect:
            # The client went away mid-request (a worker was SIGKILLed): nobody reads the
            # answer. 499 (nginx's "client closed request"), not 400: it rejected nothing
            # a client sent, and must not count as a rejected request in the demo.
            return None, error(499, "client closed the request", "client_closed")

    async def login(self, request: Request) -> Response:
        if (stop := await self._gate(request, auth=False)) is not None:
            return stop
        body, bad = await self._body(request)
        if bad is not None or not isinstance(body, dict):
            return bad or error(400, "body must be an object", "bad_request")
        issued = self.store.login(body.get("client_id"), body.get("client_secret"))
        if issued is None:
            return error(401, "invalid client credentials", "invalid_client")
        token, ttl = issued
        return ok({"access_token": token, "token_type": "Bearer", "expires_in": ttl})

    async def list_articles(self, request: Request) -> Response:
        if (stop := await self._gate(request)) is not None:
            return stop
        try:
            limit = int(request.query_params.get("limit", "100"))
            offset = int(request.query_params.get("offset", "0"))
        except ValueError:
            return error(400, "limit and offset must be integers", "bad_request")
        if not (1 <= limit <= 1000 and offset >= 0):
            return error(400, "limit must be 1..1000 and offset >= 0", "bad_request")
        return ok(self.store.list(limit, offset))

    async def get_article(self, request: Request) -> Response:
        if (stop := await self._gate(request)) is not None:
            return stop
        urn = request.path_params["urn"]
        article = self.store.get(urn)
        if article is None:
            return error(404, f"no article {urn}", "not_found")
        return ok(article)

    async def _write(self, request: Request, model: type[BaseModel]) -> tuple[Any, Response | None]:
        """Gate, find the article, parse and validate the body."""
        if (stop := await self._gate(request)) is not None:
            return None, stop
        urn = request.path_params["urn"]
        if self.store.get(urn) is None:
            return None, error(404, f"no article {urn}", "not_found")
        body, bad = await self._body(request)
        if bad is not None:
            self.store.reject(urn)
            return None, bad
        try:
            parsed = model.model_validate(body)
        except ValidationError as exc:
            self.store.reject(urn)
            return None, error(422, describe(exc), "validation_error", title=error_title(exc))
        return parsed, None

    async def patch_article(self, request: Request) -> Response:
        patch, stop = await self._write(request, ArticlePatch)
        if stop is not None:
            return stop
        return ok(self.store.patch(request.path_params["urn"], patch))

    async def enhance(self, request: Request) -> Response:
        body, stop = await self._write(request, EnhanceBody)
        if stop is not None:
            return stop
        return ok(self.store.enhance(request.path_params["urn"], body))

    async def stats(self, request: Request) -> Response:
        return ok(self.store.stats())


class CountStatuses:
    """Pure ASGI middleware: counts API response statuses (cheaper than BaseHTTPMiddleware)."""

    def __init__(self, app: ASGIApp, store: CatalogStore) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.store.record(message["status"])
            await send(message)

        await self.app(scope, receive, counting_send)


def create_app(store: CatalogStore) -> Starlette:
    api = SampleCatalogApp(store)
    return Starlette(
        routes=[
            Route("/api/v1/system/mtm", api.login, methods=["POST"]),
            Route("/api/v1/articles", api.list_articles, methods=["GET"]),
            Route("/api/v1/articles/{urn}", api.get_article, methods=["GET"]),
            Route("/api/v1/articles/{urn}", api.patch_article, methods=["PATCH"]),
            Route("/api/v1/articles/{urn}/enhance", api.enhance, methods=["PATCH"]),
            Route("/_sample/stats", api.stats, methods=["GET"]),
        ],
        middleware=[Middleware(CountStatuses, store=store)],
    )
