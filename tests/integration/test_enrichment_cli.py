"""`streams-worker sample-catalog` as a real subprocess: serves, answers, stops on Ctrl-C."""

from __future__ import annotations

import selectors
import signal
import subprocess
import sys

import httpx
import pytest

from streams_worker.enrichment.sample_catalog import DEFAULT_CLIENT_ID
from tests.support.wait import wait_for
from tests.support.workers import ROOT


def read_line(proc: subprocess.Popen[bytes], timeout: float) -> str:
    stdout = proc.stdout
    assert stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(stdout, selectors.EVENT_READ)

        def printed() -> bool:
            if sel.select(timeout=0):
                return True
            assert proc.poll() is None, "the sample catalog exited early"
            return False

        wait_for(printed, timeout=timeout, interval=0.05, what="the sample catalog's URL")
        return stdout.readline().decode().strip()


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_sample_catalog_command_serves_until_interrupted(stop: signal.Signals) -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "streams_worker", "sample-catalog", "--port", "0",
         "--articles", "7", "--client-secret", "cli-secret", "--latency-ms", "1"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    ) as proc:  # fmt: skip
        try:
            url = read_line(proc, timeout=20)
            assert url.startswith("http://127.0.0.1:")
            with httpx.Client(base_url=url, timeout=5) as http:
                login = http.post(
                    "/api/v1/system/mtm",
                    json={"client_id": DEFAULT_CLIENT_ID, "client_secret": "cli-secret"},
                ).json()
                token = login["result"]["access_token"]
                listed = http.get(
                    "/api/v1/articles", headers={"authorization": f"Bearer {token}"}
                ).json()
                refused = http.get("/api/v1/articles")
                stats = http.get("/_sample/stats").json()["result"]
            assert len(listed["result"]) == 7
            assert refused.status_code == 401
            assert refused.json()["error"]["title"] == "Unauthorized"
            assert stats["articles"] == 7
            assert stats["logins"] == 1
            proc.send_signal(stop)
            assert proc.wait(timeout=10) == 0
            assert proc.stderr is not None
            assert b"cli-secret" not in proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
