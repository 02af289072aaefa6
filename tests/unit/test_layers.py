"""The architecture rules of docs/architecture.md, checked on the source."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from tests.support.layers import PACKAGE, cycles, forbidden, scan

ROOT = Path(__file__).resolve().parents[2]
MODS = scan(ROOT)
#: What a bare `pip install streams-worker` brings: all the core may import.
BARE = {"redis", "anyio", "sniffio", "pydantic", "pydantic_settings", "prometheus_client",
        "structlog"}  # fmt: skip


def test_imports_follow_the_layers() -> None:
    assert forbidden(MODS) == []


def test_no_import_cycles_even_through_function_level_imports() -> None:
    assert cycles(MODS) == []


def test_every_module_stays_small() -> None:
    # "Under about 300 lines" (the architecture rule): a little slack, never a 400-line module.
    big = {m.name: m.lines for m in MODS.values() if m.lines > 320}
    assert big == {}


def test_the_core_needs_only_the_bare_install() -> None:
    third_party = set()
    for m in MODS.values():
        if m.layer != "core":
            continue
        for node in ast.walk(ast.parse(m.path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for n in names:
                top = n.split(".")[0]
                if top != PACKAGE and top not in sys.stdlib_module_names:
                    third_party.add((m.name, top))
    assert {top for _, top in third_party} <= BARE, sorted(third_party)


def test_the_core_never_names_the_application() -> None:
    """Only core/defaults.py holds the bundled application's names (contract defaults)."""
    core = ROOT / PACKAGE / "core"
    named = [
        str(p.relative_to(ROOT))
        for p in sorted(core.rglob("*"))
        if p.suffix in {".py", ".lua"} and p.name != "defaults.py"
        and "article" in p.read_text().lower()
    ]  # fmt: skip
    assert named == []


def test_building_the_cli_registers_every_command_in_one_place() -> None:
    from streams_worker.cli.app import create_app

    names = {c.name or c.callback.__name__ for c in create_app().registered_commands if c.callback}
    groups = {g.name for g in create_app().registered_groups}
    assert {"run", "pending", "info", "consumers", "pause", "resume", "capabilities", "trim",
            "demo", "sample-catalog"} <= names  # fmt: skip
    assert groups == {"dlq"}
