"""The defaults that make the bundled application work out of the box.

They are contract (docs/operations.md, "Configure"): the stream `articles`, the group
`enrichment`, the enrichment handler and the producer's de-duplication field. They
live here, in one place, so that the engine itself never names the application.
"""

DEFAULT_STREAM = "articles"
DEFAULT_GROUP = "enrichment"
DEFAULT_HANDLER = "streams_worker.enrichment.handler:build_handler"
#: The entry field whose value keys the producer's in-queue mark (cleared on ack
#: or dead letter). `WORKER_DEDUP_FIELD` overrides it; empty turns marks off.
DEFAULT_DEDUP_FIELD = "article_id"
