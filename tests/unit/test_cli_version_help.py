"""`--version` on both commands; `--help` names the environment variable each flag mirrors."""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from producer.cli import app as producer_app
from streams_worker import __version__
from streams_worker.cli.app import app as worker_app
from tests.k8s import app_facts

ENV_RE = re.compile(r"\[env var: ([A-Z_]+)\]")
#: Flags that mirror no setting: the commands' own switches and filters.
OWN_FLAGS = {"--help", "--every", "--once", "--file", "--force", "--trace-id", "--json", "--count",
             "--reason", "--consumer", "--older-than", "--min-deliveries"}  # fmt: skip


@pytest.mark.parametrize(("app", "prog"), [(worker_app, "streams-worker"),
                                           (producer_app, "streams-producer")])  # fmt: skip
def test_version_prints_the_package_version(app: typer.Typer, prog: str) -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"{prog} {__version__}"
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", __version__)


def _commands(app: typer.Typer) -> dict[str, Any]:
    """Every leaf command by its full name (typer's click objects, duck-typed)."""
    out: dict[str, Any] = {}

    def walk(group: Any, prefix: tuple[str, ...]) -> None:
        for name, cmd in group.commands.items():
            if hasattr(cmd, "commands"):
                walk(cmd, (*prefix, name))
            else:
                out[" ".join((*prefix, name))] = cmd

    walk(typer.main.get_command(app), ())
    return out


def _flags(cmd: Any) -> dict[str, str]:
    return {p.opts[0]: p.help or "" for p in cmd.params if p.param_type_name == "option"}


@pytest.mark.parametrize(
    ("app", "command"),
    [(worker_app, "run"), (worker_app, "pending"), (worker_app, "dlq list"),
     (producer_app, "enqueue"), (producer_app, "sync")],
)  # fmt: skip
def test_every_setting_flag_names_its_environment_variable(app: typer.Typer, command: str) -> None:
    flags = _flags(_commands(app)[command])
    read = app_facts.setting_variables() | {"DATA_API_URL"}
    named: dict[str, str] = {}
    for flag, text in flags.items():
        if flag in OWN_FLAGS and not (command == "run" and flag == "--consumer"):
            continue
        match = ENV_RE.search(text)
        assert match, f"{command} {flag}: help does not name its variable: {text!r}"
        named[flag] = match[1]
    assert set(named.values()) <= read, set(named.values()) - read
    assert named  # the command has setting flags at all


def test_help_output_shows_the_variables_through_rich() -> None:
    # rich would swallow an unescaped "[env var: ...]" as markup
    out = CliRunner().invoke(worker_app, ["run", "--help"], env={"COLUMNS": "200"}).stdout
    for variable in ("REDIS_URL", "WORKER_CONCURRENCY", "WORKER_BURST", "WORKER_PARTITIONS"):
        assert f"[env var: {variable}]" in out
    assert "--version" in CliRunner().invoke(worker_app, ["--help"]).stdout


def test_click_does_not_read_the_variables_itself() -> None:
    # envvar= would make click parse WORKER_CONCURRENCY=abc into a usage box
    for app in (worker_app, producer_app):
        for name, cmd in _commands(app).items():
            params: list[Any] = [p for p in cmd.params if getattr(p, "envvar", None)]
            assert all(name == "demo" for p in params), (name, [p.name for p in params])
