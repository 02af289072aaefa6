"""Figures in README.md and docs/ come from bench/results/latest.md: this renders them.

`python -m bench.docs_figures` rewrites every generated section of README.md and
docs/*.md (between `<!-- figures: NAME -->` and `<!-- /figures -->`); tests/docs check
they are current.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "latest.md"
SECTION = re.compile(r"(<!-- figures: (\w+) -->\n)(.*?)(<!-- /figures -->)", re.S)


def rows(text: str) -> list[dict[str, str]]:
    """The results table as dicts keyed by its header."""
    lines = [ln for ln in text.splitlines() if ln.startswith("| ")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    out = []
    for ln in lines[1:]:
        cells = [c.strip() for c in ln.strip("|").split("|")]
        if len(cells) == len(header) and not set(cells[0]) <= {"-", ":"}:
            out.append(dict(zip(header, cells, strict=True)))
    return out


def _pick(table: list[dict[str, str]], bench: str) -> list[dict[str, str]]:
    return [r for r in table if r["bench"] == bench and r["baseline"]]


def producer(table: list[dict[str, str]]) -> str:
    lines = ["| how | IDs/s | baseline (same run) | ratio |", "|---|---:|---|---:|"]
    for r in _pick(table, "producer"):
        lines.append(f"| {r['system']} | {r['value']} | {r['baseline']}: "
                     f"{r['baseline value']} | x{r['ratio']} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def partitions(table: list[dict[str, str]]) -> str:
    lines = ["| case | figure | baseline (same run) | ratio |", "|---|---:|---|---:|"]
    for r in _pick(table, "partitions"):
        lines.append(f"| {r['case']}, {r['system']} | {r['value']} | {r['baseline']}: "
                     f"{r['baseline value']} | {r['ratio']}x |")  # fmt: skip
    return "\n".join(lines) + "\n"


def performance(table: list[dict[str, str]]) -> str:
    """The README's table: every figure of ours beside its baseline, and every target."""
    lines = [
        "| figure | streams-worker: median (min - max) | baseline (same run) | ratio | target |",
        "|---|---:|---|---:|---|",
    ]
    for r in table:
        if not r["baseline"] or (r["system"] not in ("streams-worker",) and not r["target"]):
            continue
        ours = r["value"] + (f" ({r['spread']})" if r.get("spread") else " (1 run)")
        who = "" if r["system"] == "streams-worker" else f" ({r['system']})"
        verdict = "met" if r["met"] == "yes" else "**missed**"
        target = f"{r['target']}: {verdict}" if r["target"] else ""
        lines.append(f"| {r['bench']}: {r['case']}{who} | {ours} | {r['baseline']}: "
                     f"{r['baseline value']} | {r['ratio']} | {target} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def header(results: str) -> str:
    """The run's line and machine line from the results file."""
    paras = [p for p in results.split("\n\n") if p.startswith(("Run ", "Machine: "))]
    return "\n\n".join(paras) + "\n"


RENDERERS = {"producer": producer, "partitions": partitions, "performance": performance}


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def render(doc: str, results: str) -> str:
    """`doc` with every generated section rendered from `results`."""
    table = rows(results)

    def one(m: re.Match[str]) -> str:
        body = header(results) if m[2] == "run" else RENDERERS[m[2]](table)
        return m[1] + body + m[4]

    return SECTION.sub(one, doc)


def main() -> None:
    results = RESULTS.read_text()
    for path in pages():
        text = path.read_text()
        new = render(text, results)
        if new != text:
            path.write_text(new)
            print(f"updated {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
