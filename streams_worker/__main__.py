"""`python -m streams_worker` is `streams-worker`."""

from streams_worker.cli import main

main()
