"""The README's first command, end to end: embedded server, catalog, producer,
worker processes, a SIGKILL mid-run, and a report checked against the catalog."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.workers import ROOT


@pytest.mark.timeout(240)
def test_demo_with_chaos_enriches_every_article_and_exits_zero(tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "WORKER_"))}
    out = subprocess.run(
        [sys.executable, "-m", "streams_worker", "demo", "--articles", "60", "--workers", "3",
         "--latency-ms", "5", "--chaos", "--report-json", str(report_path), "--timeout-s", "180"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=220, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    report = json.loads(report_path.read_text())
    assert report["ok"] is True
    assert report["enriched"] == report["articles"] == 60
    assert report["pending_at_end"] == 0
    assert report["dead_letters"] == 0
    assert report["dead_letter_causes"] == {}
    assert report["rejected_requests"] == 0  # every PATCH/enhance passed the catalog's rules
    chaos = report["chaos"]
    assert chaos is not None, "the demo should have killed a worker"
    assert chaos["reclaim_s"] <= 3.0 + 0.5 + 1.0  # claim min-idle + interval + 1 s
    # Duplicated writes are bounded by what the killed worker held in flight.
    assert report["written_more_than_once"] <= chaos["held"]
    assert "every article enriched" in out.stdout
    assert re.search(r"console\s+http://127\.0\.0\.1:\d+/", out.stdout), out.stdout[:2000]
