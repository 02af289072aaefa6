"""Every command line the manifests and compose run is one the CLIs accept.

Parsed by the CLIs' own parsers (typer's click), without running anything: an unknown
subcommand, option or a bad value fails here instead of in a crash-looping pod.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import typer
import yaml

from tests.k8s.manifests import K8S, ROOT, all_objects, pod_spec

IMAGE_ENTRYPOINT = ["streams-worker"]
IMAGE_CMD = ["run"]


def _dockerfile_default(word: str) -> list[str]:
    text = (ROOT / "Dockerfile").read_text()
    match = re.search(rf"^{word} (\[.*\])$", text, re.M)
    assert match, word
    return list(json.loads(match[1]))


def _argvs() -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    for _, obj in all_objects():
        spec = pod_spec(obj)
        for c in spec["containers"] if spec else []:
            if c["image"].startswith("streams-worker"):
                entry = c.get("command", IMAGE_ENTRYPOINT)
                args = c.get("args", [] if "command" in c else IMAGE_CMD)
                out.append((f"{obj['kind']}/{obj['metadata']['name']}", [*entry, *args]))
    compose = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
    for name, svc in compose["services"].items():
        if svc.get("build") == ".":
            entry = svc.get("entrypoint", IMAGE_ENTRYPOINT)
            out.append((f"compose/{name}", [*entry, *svc.get("command", IMAGE_CMD)]))
    return out


def _cli(program: str) -> Any | None:
    if program == "streams-worker":
        from streams_worker.cli.app import app
    elif program == "streams-producer":
        from producer.cli import app
    else:
        return None
    return typer.main.get_command(app)


def test_image_defaults_are_the_documented_ones() -> None:
    assert _dockerfile_default("ENTRYPOINT") == IMAGE_ENTRYPOINT
    assert _dockerfile_default("CMD") == IMAGE_CMD


ARGVS = _argvs()


@pytest.mark.parametrize(("where", "argv"), ARGVS, ids=[w for w, _ in ARGVS])
def test_command_line_is_accepted(where: str, argv: list[str]) -> None:
    group = _cli(argv[0])
    if group is None:
        assert argv[0] == "python", f"{where}: unknown program {argv[0]}"  # the ops pod's sleep
        return
    name, *rest = argv[1:]
    sub = group.commands.get(name)
    assert sub is not None, f"{where}: {argv[0]} has no command {name!r}"
    ctx = sub.make_context(name, list(rest), parent=group.context_class(group))
    assert ctx.command is sub


def test_the_worker_runs_run_and_the_producer_syncs() -> None:
    argvs = dict(ARGVS)
    assert argvs["Deployment/streams-worker"] == ["streams-worker", "run"]
    assert argvs["Deployment/streams-producer"] == ["streams-producer", "sync", "--every", "60"]
    assert argvs["CronJob/streams-producer-sync"] == ["streams-producer", "sync"]
    assert argvs["compose/worker"] == ["streams-worker", "run"]
    assert (K8S / "ops" / "operator-pod.yaml").exists()
