"""The documentation as data: pages, fenced blocks, links, headings, named things.

Every test in tests/docs reads README.md and docs/*.md through this module and
compares what they name with what the code offers, so a new page, variable, flag,
metric or route is checked without editing a list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import typer

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: `<!-- docs-test: not run here (why) -->` right before a fenced block.
NOT_RUN = re.compile(r"<!-- docs-test: not run here \(([^)]*)\) -->\s*$")
FENCE = re.compile(r"^( *)```(\w*)\n(.*?)^\1```", re.S | re.M)
SHELL = {"console", "sh", "bash", "shell"}


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    lang: str
    text: str
    not_run: str | None  # the reason given in the page, or None: the suite runs it

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    def commands(self) -> list[str]:
        """Command lines, continuations joined, the leading indentation removed."""
        out: list[str] = []
        for raw in self.text.splitlines():
            line = raw.strip()
            if out and out[-1].endswith("\\"):
                out[-1] = out[-1][:-1].rstrip() + " " + line
            elif line:
                out.append(line)
        return out


def read(page: Path) -> str:
    return page.read_text(encoding="utf-8")


def blocks(langs: set[str] = SHELL) -> list[Block]:
    found = []
    for page in PAGES:
        text = read(page)
        for m in FENCE.finditer(text):
            if m[2] not in langs:
                continue
            before = text[: m.start()].rstrip("\n").splitlines()
            marker = NOT_RUN.search(before[-1]) if before else None
            line = text.count("\n", 0, m.start()) + 1
            found.append(Block(page, line, m[2], m[3], marker[1] if marker else None))
    return found


def prose(page: Path) -> str:
    """The page without its fenced blocks of other languages (json, yaml, python)."""
    return FENCE.sub(lambda m: m[0] if m[2] in SHELL | {""} else "", read(page))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_\[\]]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", read(page))
    return {slug(h) for h in re.findall(r"^#{1,6} (.+)$", text, re.M)}


def cli_options() -> dict[str, set[str]]:
    """'streams-worker dlq list' -> its long options, for both command lines."""
    from producer.cli import app as producer_app
    from streams_worker.cli.app import create_app

    out: dict[str, set[str]] = {}

    def walk(cmd: object, path: str) -> None:
        params = getattr(cmd, "params", [])
        out[path] = {o for p in params if getattr(p, "param_type_name", "") == "option"
                     for o in (*p.opts, *p.secondary_opts) if o.startswith("--")}  # fmt: skip
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(typer.main.get_command(create_app()), "streams-worker")
    walk(typer.main.get_command(producer_app), "streams-producer")
    return out
