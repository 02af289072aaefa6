"""What the docs name exists, and what users meet is documented: variables, flags,
metrics, routes, /status fields, links and anchors, files, figures."""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client import CollectorRegistry

from bench import docs_figures
from streams_worker import WorkerSettings
from streams_worker.core.worker import Worker
from tests.docs.pages import PAGES, ROOT, anchors, cli_options, prose, read
from tests.k8s import app_facts

ALL = "\n".join(read(p) for p in PAGES)
VAR = re.compile(r"\b(?:REDIS|WORKER|PRODUCER|CATALOG|DATA_API|KEYCLOAK|OPENAI|LOG|CONSOLE"
                 r"|ENRICHMENT|ENABLE)_[A-Z0-9_]*[A-Z0-9]\b|\b(?:ENRICHER|POD_NAME)\b")  # fmt: skip
#: Named in the docs, read by something other than a settings class.
NOT_SETTINGS = {"REDIS_TEST_URL": "the test suite's external server (tests/conftest.py)"}
METRIC = re.compile(r"\bstreams_(?:worker|producer)_[a-z0-9_]*[a-z0-9]\b")
OUR_CLI = ("streams-worker", "streams-producer")
#: Flags of other programs the docs name, and the file that defines each.
OTHER_FLAGS = {"--quick": "bench/__main__.py", "--keda-cluster": "k8s/generate.py",
               "--all-servers": "tests/conftest.py",
               "--no-deps": "Dockerfile"}  # fmt: skip


def _worker() -> Worker:
    return Worker(WorkerSettings(stream="articles", group="enrichment", consumer="c"),
                  lambda e: None, registry=CollectorRegistry())  # fmt: skip


def test_every_documented_variable_is_read_and_every_setting_documented() -> None:
    settings = app_facts.setting_variables()
    named = set(VAR.findall(ALL)) - {v for v in VAR.findall(ALL) if v.endswith("_")}
    assert named - settings - set(NOT_SETTINGS) == set(), "documented, read by nothing"
    for name in NOT_SETTINGS:
        assert name in (ROOT / "tests" / "conftest.py").read_text()
    assert settings - named == set(), "read by a settings class, in no page"


def _documented_flags() -> dict[str, set[str]]:
    """Flags in lines and code spans that use one of our commands, by page."""
    out: dict[str, set[str]] = {}
    for page in PAGES:
        spans = re.findall(r"`([^`\n]+)`", prose(page)) + prose(page).splitlines()
        ours = [s for s in spans if s.lstrip().startswith(OUR_CLI) or s.startswith("--")]
        flags = {f for s in ours for f in re.findall(r"--[a-z][a-z0-9-]*", s)}
        out[str(page.relative_to(ROOT))] = flags
    return out


def test_every_documented_flag_exists_and_every_flag_is_documented() -> None:
    real = {f for opts in cli_options().values() for f in opts} | {"--help", *OTHER_FLAGS}
    for flag, where in OTHER_FLAGS.items():
        assert flag in (ROOT / where).read_text(), (flag, where)
    documented = _documented_flags()
    wrong = {page: flags - real for page, flags in documented.items() if flags - real}
    assert wrong == {}, "flags no command has"
    named = set().union(*documented.values())
    named |= {"--no-" + f[2:] for f in named}  # --x documents its --no-x
    missing = {cmd: sorted(opts - named - {"--help"}) for cmd, opts in cli_options().items()}
    assert {c: m for c, m in missing.items() if m} == {}, "flags no page mentions"


def test_every_run_flag_is_listed_with_its_variable() -> None:
    cli = read(ROOT / "docs" / "cli.md")
    for flag in cli_options()["streams-worker run"] - {"--help", "--no-burst"}:
        row = re.search(rf"^\| `{flag}\b[^|]*\| `(\w+)` \|$", cli, re.M)
        assert row, f"docs/cli.md 'streams-worker run' has no row for {flag}"
        assert row[1] in app_facts.setting_variables(), (flag, row[1])


def _families(registry: CollectorRegistry) -> dict[str, bool]:
    """Metric name (as exposed) -> has at least one sample now."""
    out = {}
    suffix = {"counter": "_total", "info": "_info"}
    for fam in registry.collect():
        name = fam.name + suffix.get(fam.type, "")
        out[name] = any(s.name.endswith(("_total", "_bucket", "_info")) or fam.type == "gauge"
                        for s in fam.samples)  # fmt: skip
    return out


def test_every_documented_metric_is_exported_and_every_metric_documented() -> None:
    samples = app_facts.exported_metrics()
    bases = {re.sub(r"_(bucket|sum|count|created)$", "", s) for s in samples}
    exported = set(_families(_worker().registry)) | samples | bases
    named = set(METRIC.findall(ALL))
    assert named - exported == set(), "documented, exported by nothing"
    metrics_md = read(ROOT / "docs" / "metrics.md")
    families = set(_families(_worker().registry))
    assert {m for m in families if f"`{m}`" not in metrics_md} == set()


def test_every_per_replica_series_has_a_sample_at_start_up() -> None:
    doc = read(ROOT / "docs" / "metrics.md")
    table = doc[doc.index("## Per replica") : doc.index("## Per group")]
    per_replica = set(re.findall(r"^\| `(streams_worker_\w+)`", table, re.M))
    assert per_replica, "the Per replica table is gone"
    said = re.search(r"Exceptions: ((?:`\w+`(?:,\s*)?)+)", doc)
    exceptions = set(METRIC.findall(said[1])) & per_replica if said else set()
    sampled = _families(_worker().registry)
    absent = {m for m in per_replica if not sampled.get(m)}
    assert absent == exceptions, "absent at start-up vs the exceptions docs/metrics.md names"


def test_http_routes_and_status_fields_are_the_apps() -> None:
    http = read(ROOT / "docs" / "http.md")
    documented = set(re.findall(r"`GET (/[\w/]*)`", http))
    assert documented == app_facts.routes(), "docs/http.md routes table vs the app"
    block = re.search(r"## /status\n+```json\n(.*?)```", http, re.S)
    assert block, "docs/http.md has no /status example"
    assert set(re.findall(r'"(\w+)":', block[1])) == set(_worker().status())


def test_every_relative_link_and_anchor_resolves() -> None:
    broken = []
    for page in PAGES:
        for target in re.findall(r"\]\(([^)\s]+)\)", prose(page)):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            dest = (page.parent / path).resolve() if path else page
            if not dest.exists():
                broken.append(f"{page.name}: {target} (no such file)")
            elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                broken.append(f"{page.name}: {target} (no such heading)")
    assert broken == []


PATH = re.compile(r"`((?:k8s|monitoring|docs|tests|bench|streams_worker|producer|examples)"
                  r"/[\w./-]*\w)`")  # fmt: skip


def test_named_files_exist_and_nothing_outside_the_repository_is_cited() -> None:
    missing = sorted({p for p in PATH.findall(ALL) if not (ROOT / p).exists()})
    assert missing == [], "paths the docs name that do not exist"
    code = [p for d in ("streams_worker", "producer", "k8s", "tests", "bench")
            for p in (ROOT / d).rglob("*") if p.suffix in (".py", ".yaml", ".md")]  # fmt: skip
    cited: dict[str, str] = {}
    for f in [*code, *PAGES]:
        for name in re.findall(
            r"(?<![\w-])([A-Za-z_/][\w/-]*\.md)\b", f.read_text(encoding="utf-8")
        ):
            base = Path(name).name
            if not any((ROOT / d / base).exists() for d in ("", "docs", "bench/results", "k8s")):
                cited[name] = str(f.relative_to(ROOT))
    assert cited == {}, "references to files that are not in the repository"


FIGURE = re.compile(r"\d[\d,.]*\s*(?:IDs|entries)/s|\b\d+(?:\.\d+)?x\b|~\d[\d,]{3,}")


def test_figures_in_docs_are_generated_from_the_results_file() -> None:
    results = docs_figures.RESULTS.read_text()
    for page in docs_figures.pages():
        text = read(page)
        assert docs_figures.render(text, results) == text, (
            f"{page.name}: stale figures; run `make generate`"
        )
        outside = docs_figures.SECTION.sub("", text)
        assert FIGURE.findall(outside) == [], f"{page.name}: a figure not from a results file"
    readme = read(ROOT / "README.md")
    assert "<!-- figures: performance -->" in readme, "the README's table is generated"
