"""A minimal catalog at the HTTP edge (`httpx.MockTransport`) for the client's contract tests.

It serves given article payloads exactly as recorded and validates every PATCH and
enhance body with `sample_catalog.contract`, the same models the sample catalog
uses, so it is exactly as strict as the catalog (and no stricter). Writes are
applied (a shallow merge; enhance appends an audit event) so a second delivery
sees the first one's result. It shares no code with the sample server beyond the
contract: a bug in the server cannot hide a bug in the client.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx
from pydantic import BaseModel, ValidationError

from streams_worker.enrichment.catalog import CatalogClient
from streams_worker.enrichment.sample_catalog.contract import (
    ArticlePatch,
    EnhanceBody,
    describe,
    error_title,
)
from streams_worker.enrichment.settings import EnrichmentSettings

PREFIX = "/api/v1/articles/"


def _reply(status: int, body: dict[str, Any]) -> httpx.Response:
    return httpx.Response(status, json=body)


def _ok(result: Any) -> httpx.Response:
    return _reply(200, {"help": "h", "success": True, "result": result})


def _error(status: int, title: str, detail: str) -> httpx.Response:
    error = {"title": title, "detail": detail, "code": status}
    return _reply(status, {"help": "h", "success": False, "error": error})


@dataclass
class StrictCatalog:
    """Articles by URN; `patches`/`enhances` hold every accepted body, `rejected` the rest."""

    articles: dict[str, dict[str, Any]]
    patches: list[dict[str, Any]] = field(default_factory=list)
    enhances: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def serving(cls, *articles: dict[str, Any]) -> StrictCatalog:
        return cls({a["urn"]: copy.deepcopy(a) for a in articles})

    def client(self) -> CatalogClient:
        settings = EnrichmentSettings(
            data_api_url="http://catalog.test", client_secret="s", catalog_max_retries=0
        )
        return CatalogClient(settings, transport=httpx.MockTransport(self.handle))

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/api/v1/system/mtm":
            return _ok({"access_token": "t", "expires_in": 3600})
        if request.headers.get("authorization") != "Bearer t":
            return _error(401, "Unauthorized", "missing bearer token")
        urn, _, tail = unquote(path.removeprefix(PREFIX)).partition("/")
        article = self.articles.get(urn)
        if not path.startswith(PREFIX) or article is None:
            return _error(404, "Not Found", f"no article {urn}")
        if request.method == "GET" and not tail:
            return _ok(copy.deepcopy(article))
        if request.method == "PATCH" and not tail:
            patch = self._validate(ArticlePatch, request)
            if isinstance(patch, httpx.Response):
                return patch
            self.patches.append(json.loads(request.content))
            article.update(patch.model_dump(exclude_unset=True))
            return _ok(copy.deepcopy(article))
        if request.method == "PATCH" and tail == "enhance":
            body = self._validate(EnhanceBody, request)
            if isinstance(body, httpx.Response):
                return body
            assert isinstance(body, EnhanceBody)
            self.enhances.append(json.loads(request.content))
            fields = body.fields.model_dump(exclude_unset=True)
            event = {"agent": body.agent, "run_id": f"run-{len(self.enhances)}",
                     "enhanced_at": "2025-01-01T00:00:00Z", "fields": sorted(fields),
                     "before": {k: article.get(k) for k in fields}, "after": fields}  # fmt: skip
            article["enhancements"] = [*(article.get("enhancements") or []), event]
            article.update(fields)
            return _ok({"urn": urn, "run_id": event["run_id"], "enhanced_fields": sorted(fields),
                        "agent": body.agent})  # fmt: skip
        return _error(405, "Method Not Allowed", request.method)

    def _validate(self, model: type[BaseModel], request: httpx.Request) -> Any:
        try:
            return model.model_validate(json.loads(request.content))
        except ValueError as exc:
            detail = describe(exc) if isinstance(exc, ValidationError) else "body: not JSON"
            title = error_title(exc) if isinstance(exc, ValidationError) else "DataError"
            self.rejected.append((request.url.path, detail))
            return _error(422, title, detail)
