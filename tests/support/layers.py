"""The package's layers and import graph, from the source alone (`ast`, no imports).

    python -m tests.support.layers [CHECKOUT]

prints each module with its size and the modules it imports, the layer arrows,
and any import cycle. `tests/unit/test_layers.py` checks the rules of
docs/architecture.md against the same data.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "streams_worker"
#: Layer of a module: the first folder under the package (top-level modules: "api").
#: Allowed arrows, besides a layer importing itself. `api` is the public facade.
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "ops": {"core"},
    "http": {"core"},
    "enrichment": {"core"},
    "dev": {"core", "enrichment"},
    "api": {"core", "http"},
    "console": {"core", "ops", "http"},  # it serves on the same socket helper as the probes
    "cli": {"core", "ops", "http", "console", "dev", "enrichment", "api"},
}


@dataclass
class Module:
    name: str
    path: Path
    lines: int
    layer: str
    imports: set[str] = field(default_factory=set)  # every import, top-level or not


def _layer(package: Path, path: Path) -> str:
    rel = path.relative_to(package)
    if len(rel.parts) > 1:
        return rel.parts[0]
    return "cli" if rel.name == "__main__.py" else "api"  # __init__.py, worker.py


def _module_name(root: Path, path: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def scan(root: Path) -> dict[str, Module]:
    """Every module of the package with the package modules it imports."""
    mods: dict[str, Module] = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        name = _module_name(root, path)
        text = path.read_text()
        mods[name] = Module(name, path, text.count("\n"), _layer(root / PACKAGE, path))
    for mod in mods.values():
        tree = ast.parse(mod.path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # `from pkg import mod` depends on pkg.mod; `from mod import name` on mod.
                subs = [f"{node.module}.{a.name}" for a in node.names]
                targets = [s for s in subs if s in mods] or [node.module]
            else:
                continue
            for t in targets:
                if t.split(".")[0] == PACKAGE and t in mods and t != mod.name:
                    mod.imports.add(t)
    return mods


def layer_arrows(mods: dict[str, Module]) -> dict[tuple[str, str], list[str]]:
    """(from layer, to layer) -> the imports behind that arrow."""
    arrows: dict[tuple[str, str], list[str]] = defaultdict(list)
    for m in mods.values():
        for t in m.imports:
            target = mods[t]
            if target.layer != m.layer and not t.endswith(PACKAGE):
                arrows[(m.layer, target.layer)].append(f"{m.name} -> {t}")
    return dict(arrows)


def forbidden(mods: dict[str, Module]) -> list[str]:
    """Imports that go against the layer rules."""
    bad = []
    for (src, dst), why in sorted(layer_arrows(mods).items()):
        if dst not in ALLOWED.get(src, set()):
            bad += why
    return bad


def cycles(mods: dict[str, Module]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(mods[v].imports):
            if w == PACKAGE or mods[w].name == PACKAGE:
                continue  # the package facade re-exports; not an arrow between modules
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for v in sorted(mods):
        if v not in index:
            visit(v)
    return out


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else Path(__file__).resolve().parents[2]
    mods = scan(root)
    by_layer: dict[str, list[Module]] = defaultdict(list)
    for m in mods.values():
        by_layer[m.layer].append(m)
    for layer in sorted(by_layer):
        ms = by_layer[layer]
        print(f"[{layer}] {len(ms)} modules, {sum(m.lines for m in ms)} lines")
        for m in sorted(ms, key=lambda m: m.name):
            print(f"  {m.lines:4d}  {m.name}")
    print("layer arrows:")
    for (src, dst), why in sorted(layer_arrows(mods).items()):
        print(f"  {src} -> {dst}  ({len(why)} imports)")
    bad = forbidden(mods)
    found = cycles(mods)
    print(f"forbidden imports: {len(bad)}")
    for b in bad:
        print("  " + b)
    print(f"import cycles: {len(found)}")
    for c in found:
        print("  " + " -> ".join(c))
    return 1 if bad or found else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
