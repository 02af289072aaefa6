"""OpenTelemetry (issue 14 §3): the producer's context in each entry, a consumer span
per delivery with its outcome, and one trace across processes over OTLP/HTTP."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.util._once import Once
from redis.asyncio import Redis

from producer import Producer
from streams_worker import PermanentError, StreamEntry, Worker, WorkerSettings
from streams_worker.dev.embedded import free_port
from streams_worker.enrichment.sample_catalog import DEFAULT_CLIENT_SECRET, SampleCatalog
from tests.support.names import Names
from tests.support.wait import eventually, wait_for
from tests.support.workers import ROOT, producer, spawn_worker, stop, worker_env

OK, FLAKY, BAD = (f"urn:article:trace-{x}" for x in ("ok", "flaky", "bad"))


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """An application's own SDK provider, as an app that embeds the worker has."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    try:
        yield exporter
    finally:
        provider.shutdown()
        trace._TRACER_PROVIDER_SET_ONCE = Once()  # the SDK's own tests reset it so
        trace._TRACER_PROVIDER = None
        instrumentor = HTTPXClientInstrumentor()
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()


def _named(spans: InMemorySpanExporter, prefix: str) -> list[ReadableSpan]:
    return [s for s in spans.get_finished_spans() if s.name.startswith(prefix)]


async def test_a_consumer_span_per_delivery_parented_to_the_enqueue(
    redis_url: str, names: Names, spans: InMemorySpanExporter
) -> None:
    calls: Counter[str] = Counter()

    async def handle(entry: StreamEntry) -> None:
        article = entry.fields["article_id"]
        calls[article] += 1
        if article == FLAKY and calls[article] == 1:
            raise RuntimeError("upstream down")
        if article == BAD:
            raise PermanentError("no such article")

    with trace.get_tracer("app").start_as_current_span("request") as root:
        async with Producer.from_env(redis_url=redis_url, stream=names.stream) as p:
            summary = await p.enqueue([OK, FLAKY, BAD])
    settings = WorkerSettings(
        **names.settings(redis_url=redis_url, block_ms=100, http_port=0, retry_delays_ms="50")
    )
    worker = Worker(settings, handle)
    assert worker.tracer is not None

    async def four_deliveries() -> bool:
        return len(_named(spans, "process ")) >= 4

    async with worker.background():
        await eventually(four_deliveries, timeout=20, what="4 delivery spans",
                         explain=lambda: [s.name for s in spans.get_finished_spans()])  # fmt: skip

    (enqueue,) = _named(spans, "enqueue ")
    assert enqueue.name == f"enqueue {names.stream}"
    assert enqueue.kind is SpanKind.PRODUCER
    assert enqueue.parent is not None
    assert enqueue.parent.span_id == root.get_span_context().span_id
    trace_id = root.get_span_context().trace_id
    assert enqueue.context is not None
    assert enqueue.context.trace_id == trace_id
    async with Redis.from_url(redis_url, decode_responses=True) as r:
        fields = [f for _, f in await r.xrange(names.stream)]
    ctx = enqueue.context
    expected = f"00-{trace_id:032x}-{ctx.span_id:016x}-{ctx.trace_flags:02x}"
    assert {f["traceparent"] for f in fields} == {expected}

    by_article: dict[str, list[ReadableSpan]] = {}
    for span in sorted(_named(spans, "process "), key=lambda s: s.start_time or 0):
        assert span.name == f"process {names.stream}"
        assert span.kind is SpanKind.CONSUMER
        assert span.context is not None
        assert span.context.trace_id == trace_id
        assert span.parent is not None
        assert span.parent.span_id == ctx.span_id
        attrs = dict(span.attributes or {})
        entry_id = attrs["messaging.message.id"]
        article = next(a for a, eid in summary.entry_ids.items() if eid == entry_id)
        by_article.setdefault(article, []).append(span)
        assert attrs["messaging.system"] == "redis"
        assert attrs["messaging.destination.name"] == names.stream
        assert attrs["messaging.consumer.group.name"] == names.group

    def outcomes(article: str) -> list[tuple[Any, ...]]:
        return [
            (
                (s.attributes or {})["streams_worker.outcome"],
                (s.attributes or {})["streams_worker.delivery_count"],
                s.status.status_code,
            )
            for s in by_article[article]
        ]

    assert outcomes(OK) == [("acked", 1, StatusCode.UNSET)]
    assert outcomes(FLAKY) == [("retried", 1, StatusCode.ERROR), ("acked", 2, StatusCode.UNSET)]
    assert outcomes(BAD) == [("dead_lettered", 1, StatusCode.ERROR)]
    (event,) = by_article[FLAKY][0].events
    assert event.name == "exception"
    assert (event.attributes or {})["exception.message"] == "upstream down"


class _Receiver(ThreadingHTTPServer):
    """A small OTLP/HTTP endpoint: decodes each export (protobuf) into span records."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", free_port()), _ExportHandler)
        self.spans: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.spans)


class _ExportHandler(BaseHTTPRequestHandler):
    server: _Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest.FromString(body)
        found = []
        for rs in request.resource_spans:
            service = next(
                a.value.string_value for a in rs.resource.attributes if a.key == "service.name"
            )
            for ss in rs.scope_spans:
                for span in ss.spans:
                    found.append({
                        "service": service, "name": span.name, "trace": span.trace_id.hex(),
                        "id": span.span_id.hex(), "parent": span.parent_span_id.hex(),
                    })  # fmt: skip
        with self.server.lock:
            self.server.spans.extend(found)
        reply = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    server = _Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _trace_from_enqueue_to_patch(spans: list[dict[str, Any]]) -> list[str] | None:
    """The chain PATCH -> ... -> process -> enqueue, by parent IDs, if it is there."""
    by_id = {s["id"]: s for s in spans}
    for patch in (s for s in spans if s["name"] == "PATCH"):
        chain, span = [], patch
        while span is not None:
            chain.append(f'{span["service"]}:{span["name"].split(" ")[0]}')
            span = by_id.get(span["parent"])
        if chain[-1].endswith(":enqueue"):
            return chain
    return None


def test_one_trace_from_enqueue_to_process_to_the_catalog_patch(
    redis_url: str, names: Names, receiver: _Receiver, tmp_path: Path
) -> None:
    otel = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "50",
    }
    with SampleCatalog.start(articles=1) as catalog:
        urn = catalog.urns[0]
        env = worker_env(
            redis_url, stream=names.stream, group=names.group, consumer="traced",
            block_ms=100, WORKER_HANDLER="streams_worker.enrichment.handler:build_handler",
            DATA_API_URL=catalog.url, KEYCLOAK_CLIENT_SECRET=DEFAULT_CLIENT_SECRET, **otel,
        )  # fmt: skip
        done = producer("enqueue", urn, env={**env, "OTEL_SERVICE_NAME": "the-producer"})
        assert done.returncode == 0, done.stderr
        worker = spawn_worker({**env, "OTEL_SERVICE_NAME": "the-worker"}, tmp_path / "w.log")
        try:
            chain = wait_for(
                lambda: _trace_from_enqueue_to_patch(receiver.snapshot()),
                timeout=30, what="a PATCH span whose ancestors reach the enqueue",
                explain=lambda: receiver.snapshot(),
            )  # fmt: skip
            assert catalog.enriched_once()
        finally:
            assert stop(worker) == 0
    assert chain[0] == "the-worker:PATCH"
    assert "the-worker:process" in chain
    assert chain[-1] == "the-producer:enqueue"
    ours = ("the-producer", "the-worker")
    kinds = ("enqueue", "process", "PATCH")
    spans = receiver.snapshot()
    traces = {s["trace"] for s in spans if s["service"] in ours and s["name"].split()[0] in kinds}
    assert len(traces) == 1


@pytest.mark.parametrize("command", ["streams-worker", "streams-producer"])
def test_a_bad_otel_setting_stops_start_up_naming_it(redis_url: str, command: str) -> None:
    env = worker_env(redis_url, OTEL_TRACES_EXPORTER="zipkin")
    args = ["run"] if command == "streams-worker" else ["enqueue", "urn:article:x"]
    done = subprocess.run(
        [str(Path(sys.executable).parent / command), *args],
        env=env, capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert "OTEL_TRACES_EXPORTER" in lines[0]


def test_without_otel_variables_we_import_no_opentelemetry(redis_url: str, names: Names) -> None:
    # redis-py imports parts of OpenTelemetry's API itself when it is installed
    # (redis.observability): what counts is that we add nothing to that.
    script = (
        "import sys, anyio, redis.asyncio\n"
        "def otel(): return {m for m in sys.modules if m.startswith('opentelemetry')}\n"
        "before = otel()\n"
        "from streams_worker import Worker, WorkerSettings\n"
        "from producer import Producer\n"
        f"url, stream = {redis_url!r}, {names.stream!r}\n"
        "w = Worker(WorkerSettings(redis_url=url, stream=stream), print)\n"
        "assert w.tracer is None\n"
        "async def main():\n"
        "    async with Producer.from_env(redis_url=url, stream=stream) as p:\n"
        "        await p.enqueue(['urn:article:untraced'])\n"
        "anyio.run(main)\n"
        "print(sorted(otel() - before))\n"
    )
    env = {k: v for k, v in worker_env(redis_url).items() if not k.startswith("OTEL_")}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=60, cwd=ROOT)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
