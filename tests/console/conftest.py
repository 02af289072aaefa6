"""Fixtures for the console's tests: the console process, workers, a real browser."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from streams_worker.dev.embedded import free_port
from tests.support.browser import CHROMIUM_ARGS, ConsoleProcess, console_env, ensure_chromium
from tests.support.workers import WorkerProcess, spawn_worker, worker_env


@pytest.fixture(scope="session")
def chromium() -> Path:
    got = ensure_chromium()
    if isinstance(got, str):
        pytest.skip(got)
    return got


# Package scope, not session: Playwright's sync API keeps an event loop running in
# this thread while it is open, which anyio's tests elsewhere could not start under.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")
def browser(playwright: Playwright, chromium: Path) -> Iterator[Browser]:
    b = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
    yield b
    b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    p = context.new_page()
    p.set_default_timeout(15_000)
    yield p
    context.close()


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Callable[..., ConsoleProcess]]:
    """Start `streams-worker console` processes; all stopped at the end of the test."""
    procs: list[ConsoleProcess] = []

    def start(redis_url: str, *, wait: bool = True, **settings: Any) -> ConsoleProcess:
        env = console_env(redis_url, free_port(), **settings)
        proc = ConsoleProcess(env, tmp_path / f"console-{len(procs)}.log")
        procs.append(proc)
        return proc.wait_ready() if wait else proc

    yield start
    for p in procs:
        p.close()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    procs: list[WorkerProcess] = []

    def start(redis_url: str, **settings: Any) -> WorkerProcess:
        proc = spawn_worker(worker_env(redis_url, **settings), tmp_path / f"w{len(procs)}.log")
        procs.append(proc)
        return proc

    yield start
    for p in procs:
        p.close()
