"""Every shell block in README.md and docs/ runs here, or says in the page why not.

Runnable blocks run line by line in one bash (exports carry over, `&` starts a
background job, killed at the end) against a server and a sample catalog the test
starts: addresses in the page are replaced by theirs, the stream name is unique. Each
line must exit 0, and a `# -> TEXT` comment is output the line must print (`<...>`
stands for IDs, counts and times). Blocks marked `<!-- docs-test: not run here (...) -->`
are checked another way: the files and make targets they name exist, and what their
`sed` edits is in the file.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from contextlib import nullcontext
from pathlib import Path

import pytest

from streams_worker.dev.embedded import free_port
from streams_worker.enrichment.sample_catalog import SampleCatalog
from tests.docs.pages import ROOT, Block, blocks
from tests.support.cli import clean_env
from tests.support.names import Names

RUN = [b for b in blocks() if b.not_run is None]
NOT_RUN = [b for b in blocks() if b.not_run is not None]
EXPECT = re.compile(r"#\s*->\s*(.+)$")
COMMENT = re.compile(r"\s+#.*$")


def _expected(text: str) -> re.Pattern[str]:
    parts = re.split(r"<[^>]+>", text.strip())
    return re.compile(".*?".join(re.escape(p) for p in parts), re.S)


def _script(block: Block, out: Path, catalog_port: int, redis_url: str) -> tuple[str, list[str]]:
    """The bash script for `block`, and the lines' expected outputs (or '')."""
    body, expected = ["trap 'kill $(jobs -p) 2>/dev/null' EXIT"], []
    for i, line in enumerate(block.commands()):
        m = EXPECT.search(line)
        expected.append(m[1] if m else "")
        cmd = COMMENT.sub("", line)
        cmd = cmd.replace("127.0.0.1:8080", f"127.0.0.1:{catalog_port}")
        cmd = cmd.replace("--port 8080", f"--port {catalog_port}")
        cmd = cmd.replace("redis://127.0.0.1:6379/0", redis_url)
        cmd = cmd.replace("some-command", "printf 'urn:article:d\\n'")
        cmd = cmd.replace(".venv/bin/python", shlex.quote(sys.executable))
        if cmd.startswith("export "):
            body.append(cmd)
        elif cmd.endswith("&"):
            body.append(f"{cmd[:-1]} >{out}/bg.{i} 2>&1 &")
        else:
            body.append(f"( {cmd} ) >{out}/out.{i} 2>&1; echo $? >{out}/rc.{i}")
    return "\n".join(body) + "\n", expected


@pytest.mark.timeout(120)
@pytest.mark.parametrize("block", RUN, ids=[b.where for b in RUN])
def test_the_block_runs_as_shown(
    block: Block, redis_url: str, names: Names, tmp_path: Path
) -> None:
    (tmp_path / "ids.txt").write_text("urn:article:e\nurn:article:f\n")
    needs_catalog = "sync" in block.text
    with SampleCatalog.start(articles=50) if needs_catalog else nullcontext() as catalog:
        script, expected = _script(block, tmp_path, free_port(), redis_url)
        url = catalog.url if catalog else "http://127.0.0.1:9"
        path = f"{Path(sys.executable).parent}:/usr/bin:/bin"
        env = clean_env(REDIS_URL=redis_url, WORKER_STREAM=names.stream, WORKER_GROUP=names.group,
                        DATA_API_URL=url, KEYCLOAK_CLIENT_SECRET="sample-secret",
                        NEW_PASSWORD="example", PATH=path)  # fmt: skip
        subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, timeout=110, check=False)
    for i, (line, want) in enumerate(zip(block.commands(), expected, strict=True)):
        if line.startswith("export ") or line.endswith("&"):
            continue
        rc = (tmp_path / f"rc.{i}").read_text().strip()
        printed = (tmp_path / f"out.{i}").read_text()
        assert rc == "0", f"{block.where}: `{line}` exited {rc}: {printed[-2000:]}"
        if want:
            assert _expected(want).search(printed), f"{block.where}: `{line}` printed {printed!r}"


def _makefile_targets() -> set[str]:
    return set(re.findall(r"^([\w.-]+):", (ROOT / "Makefile").read_text(), re.M))


@pytest.mark.parametrize("block", NOT_RUN, ids=[b.where for b in NOT_RUN])
def test_a_block_not_run_names_only_what_exists(block: Block) -> None:
    assert block.not_run, "the marker must say why"
    for line in block.commands():
        for path in re.findall(r"(?:^|\s)((?:k8s|monitoring|docs|tests)/[\w./-]*\w)", line):
            assert (ROOT / path).exists(), f"{block.where}: {path} does not exist"
        for target in re.findall(r"^make (\w+)", line):
            assert target in _makefile_targets(), f"{block.where}: no make target {target}"
        for old, file in re.findall(r"sed 's\|([^|]+)\|[^|]*\|' (\S+)", line):
            assert old in (ROOT / file).read_text(), f"{block.where}: {old!r} not in {file}"
        if "kustomize edit set image" in line:
            image = re.search(r"set image ([\w-]+)=", line)
            assert image, line
            assert f"name: {image[1]}" in (ROOT / "k8s/kustomization.yaml").read_text()


def test_every_shell_block_is_covered() -> None:
    assert len(RUN) >= 4, [b.where for b in RUN]
    assert len(NOT_RUN) + len(RUN) == len(blocks())
