"""`python -m producer` is `streams-producer`."""

from producer.cli import main

main()
