"""OpenTelemetry for the producer and the worker, only when a user asks for it.

Tracing is on when the `[otel]` extra is installed and either the application set a
tracer provider of its own (an app that enqueues or embeds the worker), or the
standard `OTEL_*` variables name an exporter (`OTEL_EXPORTER_OTLP_ENDPOINT`,
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_TRACES_EXPORTER`), in which case
`configure()` sets one up. `OTEL_SDK_DISABLED=true` turns it off. Otherwise nothing
here imports OpenTelemetry: `enabled()` looks at the environment and `sys.modules`
only, and the core's hot path tests one attribute for `None`.

The producer writes the W3C `traceparent` (and `tracestate`) of its `enqueue` span
into each entry (docs/contracts.md, "Entry format"); the worker's consumer span per
delivery is that span's child, so one trace runs from the enqueue through every
delivery to the handler's HTTP calls (httpx instrumentation: the catalog, the model).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from streams_worker.core.entry import StreamEntry
from streams_worker.core.errors import ConfigurationError

__all__ = ["DeliveryTracer", "EnqueueTracer", "configure", "enabled"]

TRACEPARENT_FIELD = "traceparent"
TRACESTATE_FIELD = "tracestate"
_SCOPE = "streams-worker"
_EXPORTER_VARS = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_TRACES_EXPORTER",
)


def _wanted_by_env() -> bool:
    if os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return False
    return any(os.environ.get(v, "").strip() for v in _EXPORTER_VARS)


def _app_provider() -> bool:
    """True when the application already installed an SDK tracer provider."""
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        return False
    return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


def enabled() -> bool:
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if _app_provider():
        return True
    return _wanted_by_env() and importlib.util.find_spec("opentelemetry.sdk") is not None


def configure(service_name: str) -> bool:
    """Install a tracer provider from `OTEL_*` (unless the application has one) and
    instrument httpx. Returns whether tracing is on. Safe to call more than once."""
    if not enabled():
        return False
    from opentelemetry import trace

    if not _app_provider():
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        resource = Resource.create(
            {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": service_name}
        )
        provider = TracerProvider(resource=resource)
        provider.add_span_processor(BatchSpanProcessor(_exporter()))
        trace.set_tracer_provider(provider)  # flushed at exit (shutdown_on_exit)
    _instrument_httpx()
    return True


def _exporter() -> Any:
    kind = os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() or "otlp"
    if kind == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if kind != "otlp":
        raise ConfigurationError("OTEL_TRACES_EXPORTER", f"{kind!r} is not otlp, console or none")
    protocol = os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "")
    )
    if protocol.strip() not in ("", "http/protobuf"):
        raise ConfigurationError(
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            f"{protocol.strip()!r} is not supported; the [otel] extra exports OTLP over "
            "HTTP (http/protobuf)",
        )
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()  # endpoint, headers, timeout: from OTEL_EXPORTER_OTLP_*


def _instrument_httpx() -> None:
    try:
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    except ModuleNotFoundError:  # an application's own provider without the extra
        return
    instrumentor = HTTPXClientInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument()


class EnqueueTracer:
    """The producer's side: one `enqueue <stream>` span per batch; its context goes
    into every entry of the batch."""

    def __init__(self, stream: str) -> None:
        from opentelemetry import trace

        self._stream = stream
        self._tracer = trace.get_tracer(_SCOPE)

    @contextmanager
    def batch(self, count: int) -> Iterator[dict[str, str]]:
        """A span around one batch; yields the fields to add to each entry."""
        from opentelemetry import propagate, trace

        attributes: dict[str, str | int] = {
            "messaging.system": "redis",
            "messaging.operation.type": "send",
            "messaging.operation.name": "enqueue",
            "messaging.destination.name": self._stream,
            "messaging.batch.message_count": count,
        }
        with self._tracer.start_as_current_span(
            f"enqueue {self._stream}", kind=trace.SpanKind.PRODUCER, attributes=attributes
        ):
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            yield {k: v for k, v in carrier.items() if k in (TRACEPARENT_FIELD, TRACESTATE_FIELD)}


class DeliverySpan:
    """What the processor tells the span: how the delivery ended."""

    def __init__(self, span: Any) -> None:
        self._span = span

    def outcome(self, outcome: str, error: BaseException | None = None) -> None:
        from opentelemetry.trace import Status, StatusCode

        self._span.set_attribute("streams_worker.outcome", outcome)
        if error is not None:
            self._span.record_exception(error)
            self._span.set_status(Status(StatusCode.ERROR, type(error).__name__))


class DeliveryTracer:
    """The worker's side: a consumer span `process <stream>` per delivery, the child of
    the producer's span when the entry carries a `traceparent`."""

    def __init__(self, group: str, consumer: str) -> None:
        from opentelemetry import trace

        self._group = group
        self._consumer = consumer
        self._tracer = trace.get_tracer(_SCOPE)

    @contextmanager
    def span(self, entry: StreamEntry) -> Iterator[DeliverySpan]:
        from opentelemetry import propagate, trace

        carrier = _carrier(entry.fields)  # empty: a root span
        parent = propagate.extract(carrier) if carrier else None
        attributes: dict[str, str | int] = {
            "messaging.system": "redis",
            "messaging.operation.type": "process",
            "messaging.operation.name": "process",
            "messaging.destination.name": entry.stream,
            "messaging.message.id": entry.id,
            "messaging.consumer.group.name": self._group,
            "messaging.client.id": self._consumer,
            "streams_worker.delivery_count": entry.delivery_count,
        }
        with self._tracer.start_as_current_span(
            f"process {entry.stream}",
            context=parent,
            kind=trace.SpanKind.CONSUMER,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            yield DeliverySpan(span)


def _carrier(fields: Mapping[str, str]) -> dict[str, str]:
    return {k: fields[k] for k in (TRACEPARENT_FIELD, TRACESTATE_FIELD) if k in fields}
