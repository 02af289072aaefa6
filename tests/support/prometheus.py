"""promtool and a real Prometheus server, from Debian's `prometheus` package.

`prometheus_tools` (session fixture) finds /usr/bin/promtool and /usr/bin/prometheus;
when missing and running as root it installs the package once with apt-get
(quick no-op when already installed); otherwise the tests that need it skip,
saying why. `PrometheusServer` runs one on a free loopback port with storage in a
temporary directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from streams_worker.dev.embedded import free_port
from tests.support.wait import wait_for


@dataclass(frozen=True)
class PrometheusTools:
    promtool: Path
    prometheus: Path


def _find() -> PrometheusTools | None:
    promtool, prometheus = shutil.which("promtool"), shutil.which("prometheus")
    if promtool and prometheus:
        return PrometheusTools(Path(promtool), Path(prometheus))
    return None


def apt_get(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(
        ["apt-get", "-o", "DPkg::Lock::Timeout=300", "-q", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )


def ensure_prometheus() -> PrometheusTools | str:
    """The tools, or the reason they are unavailable."""
    found = _find()
    if found:
        return found
    if os.geteuid() != 0:
        return "promtool/prometheus missing and not root: apt-get install prometheus"
    if shutil.which("apt-get") is None:
        return "promtool/prometheus missing and no apt-get here"
    # The package lists may be absent or stale on a fresh machine: update first.
    update = apt_get("update")
    if update.returncode != 0:
        return f"apt-get update failed: {update.stderr.strip()[-300:]}"
    install = apt_get("install", "-y", "--no-install-recommends", "prometheus")
    if install.returncode != 0:
        return f"apt-get install prometheus failed: {install.stderr.strip()[-300:]}"
    return _find() or "prometheus package installed but promtool/prometheus not on PATH"


@pytest.fixture(scope="session")
def prometheus_tools() -> PrometheusTools:
    got = ensure_prometheus()
    if isinstance(got, str):
        pytest.skip(got)
    return got


class PrometheusServer:
    """A Prometheus process scraping `targets` every second; storage under `directory`."""

    def __init__(self, binary: Path, directory: Path, targets: dict[str, list[str]]) -> None:
        self.port = free_port()
        self.directory = directory
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [
                {"job_name": job, "static_configs": [{"targets": hosts}]}
                for job, hosts in targets.items()
            ],
        }
        (directory / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.argv = [
            str(binary),
            f"--config.file={directory / 'prometheus.yml'}",
            f"--storage.tsdb.path={directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--storage.tsdb.retention.time=1h",
        ]
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> PrometheusServer:
        with (self.directory / "prometheus.log").open("wb") as log:
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT)
        proc = self.proc

        def ready() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"prometheus exited: {self.log_tail()}")
            try:
                return httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, timeout=timeout, interval=0.1, what="prometheus ready",
                 explain=self.log_tail)  # fmt: skip
        return self

    def log_tail(self) -> str:
        path = self.directory / "prometheus.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def query(self, expr: str) -> list[dict[str, Any]]:
        r = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=5)
        body = r.json()
        if body.get("status") != "success":
            raise AssertionError(f"query failed: {expr}: {body}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def targets_up(self) -> list[dict[str, Any]]:
        r = httpx.get(f"{self.url}/api/v1/targets", timeout=5).json()
        return [t for t in r["data"]["activeTargets"] if t["health"] == "up"]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
