"""Async client of the data catalog (docs/contracts.md, "The catalog API").

One pooled `httpx.AsyncClient`, created on first use (so it binds to the loop that
uses it) and closed by `aclose()`. Client-credentials login, renewed shortly before
expiry and once after a 401. Errors, as the handler sees them:

    ServiceUnavailable (RetryableError)   5xx/transport errors outlasted the retries
    UpstreamRateLimited (RateLimited)     a 429 asking for more than a second, or the last
                                          attempt's 429: the whole group pauses (retry.py)
    CatalogAuthError   (RetryableError)   the login is refused: configuration, not the article
    CatalogRequestError (PermanentError)  any other 4xx, with the catalog's title and detail
    └── ArticleNotFound                   404 on an article
    CatalogProtocolError (RetryableError) a 2xx whose body is not the expected envelope

The secret and the token are never logged nor put in an exception message.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import quote

import anyio
import httpx

from streams_worker.core.errors import PermanentError, RetryableError
from streams_worker.core.logs import get_logger
from streams_worker.enrichment.retry import RetryPolicy, send_with_retries
from streams_worker.enrichment.settings import EnrichmentSettings

API = "/api/v1"


class CatalogRequestError(PermanentError):
    """The catalog refused a request (4xx other than 401/429); retrying cannot help."""

    def __init__(self, status: int, title: str, detail: str, code: Any = None) -> None:
        super().__init__(f"catalog {status} {title}: {detail}".rstrip(": "))
        self.status = status
        self.title = title
        self.detail = detail
        self.code = code


class ArticleNotFound(CatalogRequestError):
    """The article does not exist in the catalog."""


class CatalogAuthError(RetryableError):
    """The catalog refused our credentials or a freshly issued token."""


class CatalogProtocolError(RetryableError):
    """A success status with a body that is not the catalog's envelope."""


def _error_parts(response: httpx.Response) -> tuple[str, str, Any]:
    try:
        body = response.json()
        error = body.get("error") or {}
        return (
            str(error.get("title") or response.reason_phrase),
            str(error.get("detail") or ""),
            error.get("code"),
        )
    except (ValueError, AttributeError):
        return response.reason_phrase, response.text[:200], None


def _result(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        raise CatalogProtocolError(
            f"catalog answered {response.status_code} without JSON"
        ) from None
    if not isinstance(body, dict) or body.get("success") is not True or "result" not in body:
        raise CatalogProtocolError(f"catalog answered {response.status_code} without an envelope")
    return body["result"]


def article_path(urn: str) -> str:
    return f"{API}/articles/{quote(urn, safe=':')}"


class CatalogClient:
    """The catalog's API as coroutines; one instance per process, shared by all handlers."""

    def __init__(
        self,
        settings: EnrichmentSettings,
        *,
        policy: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._settings = settings
        # Routes are under /api/v1 of DATA_API_URL; tolerate a URL that already ends there.
        self._base_url = settings.data_api_url.rstrip("/").removesuffix(API)
        self._policy = policy or RetryPolicy(
            max_retries=settings.catalog_max_retries, max_delay_s=settings.catalog_backoff_max_s
        )
        self._transport = transport
        self._http: httpx.AsyncClient | None = None
        self._token: str | None = None
        self._renew_at = 0.0
        self._login_lock = anyio.Lock()
        self._log = get_logger(component="catalog")

    async def __aenter__(self) -> CatalogClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._http is not None:
            http, self._http = self._http, None
            await http.aclose()

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            timeout = self._settings.catalog_timeout_s
            self._http = httpx.AsyncClient(
                base_url=self._base_url,
                timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
                limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
                headers={"accept": "application/json", "user-agent": "streams-worker"},
                transport=self._transport,
            )
        return self._http

    # -- the token ---------------------------------------------------------------

    async def _login(self) -> None:
        payload = {
            "client_id": self._settings.client_id,
            "client_secret": self._settings.client_secret.get_secret_value(),
        }
        response = await send_with_retries(
            lambda: self._client().post(f"{API}/system/mtm", json=payload),
            self._policy,
            service="catalog",
        )
        if response.status_code in (400, 401, 403):
            title, detail, _ = _error_parts(response)
            hint = ""
            if not payload["client_secret"]:
                hint = (": KEYCLOAK_CLIENT_SECRET is empty; set it (the sample catalog's"
                        " default is `sample-secret`)")  # fmt: skip
            raise CatalogAuthError(
                f"catalog login refused ({response.status_code} {title}: {detail}){hint}"
            )
        if response.is_error:
            title, detail, code = _error_parts(response)
            raise CatalogRequestError(response.status_code, title, detail, code)
        result = _result(response)
        try:
            token = str(result["access_token"])
            expires_in = float(result.get("expires_in") or 300)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise CatalogProtocolError("catalog login answered without access_token") from None
        # Renew at 90% of the lifetime, and never later than 30 s before expiry.
        margin = min(30.0, expires_in * 0.1)
        self._token = token
        self._renew_at = time.monotonic() + max(0.0, expires_in - margin)
        self._log.debug("catalog_login", expires_in=expires_in)

    async def _bearer(self, *, stale: str | None = None) -> str:
        """A valid token; `stale` is one the catalog just refused (renew unless done already)."""
        async with self._login_lock:
            if self._token is None or self._token == stale or time.monotonic() >= self._renew_at:
                await self._login()
            assert self._token is not None
            return self._token

    # -- requests ----------------------------------------------------------------

    async def _call(
        self, method: str, path: str, *, json: Any = None, params: Mapping[str, Any] | None = None
    ) -> tuple[httpx.Response, Any]:
        """One API call with auth and retries; returns the response and its `result`."""
        renewed = False
        token = await self._bearer()
        while True:
            headers = {"authorization": f"Bearer {token}"}
            response = await send_with_retries(
                lambda h=headers: self._client().request(  # type: ignore[misc]
                    method, path, json=json, params=params, headers=h
                ),
                self._policy,
                service="catalog",
            )
            if response.status_code == 401:
                if renewed:
                    raise CatalogAuthError(f"catalog refused a fresh token on {method} {path}")
                renewed = True
                self._log.info("catalog_token_refused", method=method)
                token = await self._bearer(stale=token)
                continue
            if response.is_error:
                title, detail, code = _error_parts(response)
                raise CatalogRequestError(response.status_code, title, detail, code)
            return response, _result(response)

    async def list_articles(self, limit: int = 100, offset: int = 0) -> list[str]:
        """One page of article URNs."""
        _, result = await self._call(
            "GET", f"{API}/articles", params={"limit": limit, "offset": offset}
        )
        if not isinstance(result, list):
            raise CatalogProtocolError("article list is not a list")
        return [str(urn) for urn in result]

    async def iter_articles(self, page_size: int = 100) -> AsyncIterator[str]:
        """Every article URN, page by page, until a short page."""
        offset = 0
        while True:
            page = await self.list_articles(limit=page_size, offset=offset)
            for urn in page:
                yield urn
            if len(page) < page_size:
                return
            offset += len(page)

    async def get_article(self, urn: str) -> dict[str, Any]:
        """The article as the catalog has it; `ArticleNotFound` if it does not exist."""
        try:
            _, result = await self._call("GET", article_path(urn))
        except CatalogRequestError as exc:
            if exc.status == 404:
                raise ArticleNotFound(exc.status, exc.title, exc.detail or urn, exc.code) from None
            raise
        if not isinstance(result, dict):
            raise CatalogProtocolError("article is not an object")
        return result

    async def patch_article(self, urn: str, fields: Mapping[str, Any]) -> Any:
        """Update plain fields (the catalog rejects unknown ones)."""
        _, result = await self._call("PATCH", article_path(urn), json=dict(fields))
        return result

    async def enhance(self, urn: str, agent: str, fields: Mapping[str, Any]) -> Any:
        """Write the AI fields (`ai_tags`, `ai_category`, `ai_key_takeaways`) as `agent`."""
        body = {"agent": agent, "fields": dict(fields)}
        _, result = await self._call("PATCH", f"{article_path(urn)}/enhance", json=body)
        return result
