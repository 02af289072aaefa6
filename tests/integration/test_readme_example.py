"""The README's handler example runs as written (burst mode drains and exits)."""

from __future__ import annotations

import re
import subprocess
import sys

import redis

from tests.support.names import Names
from tests.support.workers import ROOT, worker_env


def test_the_readme_handler_example_runs_as_written(redis_url: str, names: Names) -> None:
    readme = (ROOT / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", readme, re.S)
    assert code, "README has a python example"
    r = redis.Redis.from_url(redis_url)
    ids = [r.xadd(names.stream, {"article_id": f"urn:article:r-{i}"}).decode() for i in range(3)]
    bad = r.xadd(names.stream, {"title": "no article id"}).decode()
    env = worker_env(
        redis_url,
        stream=names.stream,
        group=names.group,
        consumer="readme",
        burst="true",
        claim_min_idle_ms=0,
        claim_interval_ms=50,
        block_ms=100,
    )
    out = subprocess.run(
        [sys.executable, "-c", code.group(1)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    for entry_id in ids:
        assert entry_id in out.stdout
    (dead,) = r.xrange(f"{names.stream}:dead")
    assert dead[1][b"source_id"].decode() == bad
    assert dead[1][b"reason"] == b"permanent_error"
