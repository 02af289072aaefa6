"""`streams-worker sample-catalog`: run the bundled sample catalog by hand."""

from __future__ import annotations

from typing import Annotated

import typer

from streams_worker.enrichment.sample_catalog.store import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

Opt = typer.Option


def register(app: typer.Typer) -> None:
    """Add the sample-catalog command to the main CLI."""

    @app.command("sample-catalog")
    def sample_catalog(
        host: Annotated[str, Opt(help="interface to listen on")] = "127.0.0.1",
        port: Annotated[int, Opt(min=0, max=65535, help="0 picks a free port")] = 8080,
        articles: Annotated[
            int | None, Opt(min=1, help="serve this many articles (default: all bundled)")
        ] = None,
        latency_ms: Annotated[float, Opt(min=0, help="added to every API request")] = 0.0,
        error_rate: Annotated[float, Opt(min=0, max=1, help="fraction answered 5xx")] = 0.0,
        rate_429: Annotated[float, Opt(min=0, max=1, help="fraction answered 429")] = 0.0,
        retry_after_s: Annotated[float, Opt(min=0, help="Retry-After sent with a 429")] = 1.0,
        token_ttl_s: Annotated[float, Opt(min=0.1, help="access token lifetime")] = 300.0,
        client_id: Annotated[str, Opt(help="accepted client_id")] = DEFAULT_CLIENT_ID,
        client_secret: Annotated[
            str, Opt(help="accepted client_secret", show_default=False)
        ] = DEFAULT_CLIENT_SECRET,
        seed: Annotated[int, Opt(help="seed of the fault injection")] = 0,
    ) -> None:
        """Serve the sample catalog (docs/contracts.md, docs/enrichment.md) until Ctrl-C."""
        from streams_worker.enrichment.sample_catalog import SampleCatalog
        from streams_worker.enrichment.sample_catalog.server import (
            bind_socket,
            serve_until_signalled,
            url_of,
        )

        catalog = SampleCatalog(
            articles=articles,
            latency_ms=latency_ms,
            error_rate=error_rate,
            rate_429=rate_429,
            retry_after_s=retry_after_s,
            token_ttl_s=token_ttl_s,
            client_id=client_id,
            client_secret=client_secret,
            seed=seed,
        )
        try:
            sock = bind_socket(host, port)
        except OSError as exc:
            typer.echo(
                f"streams-worker sample-catalog: cannot listen on {host}:{port}: {exc}", err=True
            )
            raise typer.Exit(2) from None
        url = url_of(sock)
        typer.echo(
            f"sample catalog: {url}/api/v1 ({len(catalog.store.articles)} articles, "
            f"client_id={client_id}); stats at {url}/_sample/stats; Ctrl-C stops",
            err=True,
        )
        typer.echo(url)  # stdout: the base URL alone, for scripts (DATA_API_URL)
        serve_until_signalled(catalog.app, sock)  # SIGINT/SIGTERM: graceful stop, exit 0
