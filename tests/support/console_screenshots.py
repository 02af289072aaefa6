"""Screenshots of every console page for docs/console.md, taken in headless Chromium.

    python -m tests.support.console_screenshots

Starts a private server, a stream with work for two real workers (one article
fails until it is dead-lettered), a few dead letters and pending entries, the
console with actions on, and saves docs/console/<page>.png.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import redis
from playwright.sync_api import sync_playwright

from streams_worker.dev.embedded import RedisProcess, free_port
from tests.support.browser import CHROMIUM_ARGS, ConsoleProcess, console_env, ensure_chromium
from tests.support.wait import wait_for
from tests.support.workers import WorkerProcess, worker_env

OUT = Path(__file__).resolve().parents[2] / "docs" / "console"
STREAM, GROUP = "articles", "enrichment"
PAGES = {"overview": "/", "consumers": "/consumers", "pending": "/pending",
         "dead-letters": "/dead-letters", "actions": "/actions/trim"}  # fmt: skip


def main() -> None:
    chromium = ensure_chromium()
    if isinstance(chromium, str):
        raise SystemExit(chromium)
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, RedisProcess() as server:
        r = redis.Redis.from_url(server.url)
        for i in range(400):
            r.xadd(STREAM, {"article_id": f"urn:article:sample-{i}"})
        env = {"stream": STREAM, "group": GROUP, "block_ms": 100, "max_deliveries": 1,
               "claim_min_idle_ms": 60_000, "HANDLER_SLEEP_MS": 40,
               "HANDLER_FAIL": "urn:article:sample-7,urn:article:sample-42"}  # fmt: skip
        procs = [WorkerProcess(worker_env(server.url, consumer=f"worker-{n}", **env),
                               Path(tmp) / f"w{n}.log") for n in (1, 2)]  # fmt: skip
        console = ConsoleProcess(console_env(server.url, free_port(), WORKER_STREAM=STREAM,
                                             WORKER_GROUP=GROUP, actions="true"),
                                 Path(tmp) / "console.log").wait_ready()  # fmt: skip
        try:
            wait_for(
                lambda: r.xlen(f"{STREAM}:dead") == 2 and not r.xpending(STREAM, GROUP)["pending"],
                timeout=60, what="the stream handled, two dead letters",
            )  # fmt: skip
            r.xgroup_createconsumer(STREAM, GROUP, "worker-gone")
            r.xreadgroup(GROUP, "worker-gone", {STREAM: "0"}, count=1)
            for i in range(12):
                r.xadd(STREAM, {"article_id": f"urn:article:late-{i}"})
            r.xreadgroup(GROUP, "worker-gone", {STREAM: ">"}, count=12)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1200, "height": 800})
                for name, path in PAGES.items():
                    page.goto(console.url + path)
                    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
                dl = r.xrange(f"{STREAM}:dead", count=1)[0][0].decode()
                page.goto(f"{console.url}/dead-letters/0/{dl}")
                page.screenshot(path=str(OUT / "dead-letter.png"), full_page=True)
                page.click("#replay-one")
                page.screenshot(path=str(OUT / "confirm.png"), full_page=True)
                browser.close()
        finally:
            console.close()
            for w in procs:
                w.close()
    print(f"screenshots in {OUT}")


if __name__ == "__main__":
    main()
