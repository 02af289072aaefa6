"""Write the bundled sample catalog (`articles.json`): fictitious food-science articles.

Deterministic: the same seed writes the same file, so the committed JSON can be
regenerated and diffed. `python -m streams_worker.enrichment.sample_catalog.generate`.
The records are invented from templates (no real paper is quoted); `truth` keeps the
design each was written as, for measuring the rules enricher. They have the
production catalog's shape (ISO-date `publication_year`, `id`, `content`,
`status`, `enhancements`, system fields) and its awkward cases (`awkward()`).
"""

from __future__ import annotations

import json
import random
import re
import uuid
from pathlib import Path
from typing import Any

from streams_worker.enrichment.sample_catalog.contract import MAX_ABSTRACT_CHARS
from streams_worker.enrichment.sample_catalog.templates import human, lab
from streams_worker.enrichment.sample_catalog.words import DESIGNS, FAMILY, GIVEN, VENUES

DEFAULT_COUNT = 240
DEFAULT_SEED = 20_240
OUTPUT = Path(__file__).with_name("articles.json")


def slugify(text: str, limit: int = 60) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower().replace("β", "beta")).strip("-")
    return slug[:limit].rsplit("-", 1)[0] if len(slug) > limit else slug


def generate(count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """`{"articles": [...], "truth": {urn: {"study_type", "population"}}}`, deterministic."""
    r = random.Random(seed)
    ids = random.Random(seed + 1)  # its own stream: adding fields leaves the texts unchanged
    articles: list[dict[str, Any]] = []
    truth: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    titles: set[str] = set()
    for i in range(count):
        design = DESIGNS[i % len(DESIGNS)]
        in_lab = design in ("animal study", "in vitro study", "review", "other")
        for _ in range(20):  # distinct titles while the templates allow
            body = lab(r, design) if in_lab else human(r, design)
            if body["title"] not in titles:
                break
        titles.add(body["title"])
        slug = "vitamin-d-and-bone-density" if i == 0 else slugify(body["title"])
        if i == 0:
            body["title"] = (
                "Vitamin D and bone density in older adults: a randomized controlled trial"
            )
            body["population"] = "older adults"
        urn, k = f"urn:article:{slug}", 2
        while urn in seen:
            urn, k = f"urn:article:{slug}-{k}", k + 1
        seen.add(urn)
        year = r.randint(1998, 2025)
        created = f"{2024 + i // 200}-{1 + i % 12:02d}-{1 + i % 28:02d}T08:00:00Z"
        record: dict[str, Any] = {
            "urn": urn,
            "id": str(uuid.UUID(int=ids.getrandbits(128), version=4)),
            "title": body["title"],
            "abstract": body["abstract"],
            "content": "",
            "authors": [f"{r.choice(GIVEN)} {r.choice(FAMILY)}" for _ in range(r.randint(1, 8))],
            "venue": r.choice(VENUES),
            "doi": f"10.5555/sfs.{year}.{i:04d}",
            "external_id": f"sfs-{i:05d}",
            "url": f"https://example.invalid/articles/{slug}",
            "publication_year": f"{year}-01-01",  # the catalog stores a date, not an int
            "language": "en",
            "type": "journal-article",
            "status": "published",
            "keywords": [],
            "tags": [],
            "topics": [],
            "study_type": None,
            "population_group": None,
            "extras": {},
            "ai_tags": [],
            "ai_category": None,
            "ai_key_takeaways": [],
            "enhancements": [],
            "ai_generated_fields": [],
            "artifacts": [],
            "creator": "sample-importer",
            "created_at": created,
            "updated_at": created,
        }
        missing = r.random()
        if missing < 0.05:
            del record["abstract"]  # the key is absent
        elif missing < 0.10:
            record["abstract"] = None
        if r.random() < 0.4:  # author keywords, capitalised: de-duplication must ignore case
            record["keywords"] = [w.title() for w in body["title"].split(":")[0].split(" and ")[:2]]
        if r.random() < 0.3:
            record["tags"] = r.sample(
                ["Nutrition", "Micronutrients", "Gut Health", "Food Safety", "Dairy"], 2
            )
        articles.append(record)
        truth[urn] = {"study_type": design, "population": body["population"]}
    awkward(articles, random.Random(seed + 2))
    return {
        "generator": "streams_worker.enrichment.sample_catalog.generate",
        "seed": seed,
        "count": count,
        "articles": articles,
        "truth": truth,
    }


def awkward(articles: list[dict[str, Any]], r: random.Random) -> None:
    """The cases a real catalog has and a tidy sample would not (each at a fixed index,
    and never article 0, which tests use as the plain one)."""
    if len(articles) < 10:
        return
    long = articles[1]  # the longest abstract the catalog allows
    text = long["abstract"] or long["title"]
    long["abstract"] = (text + " ") * (MAX_ABSTRACT_CHARS // (len(text) + 1) + 1)
    long["abstract"] = long["abstract"][: MAX_ABSTRACT_CHARS - 1].rstrip() + "."
    crowd = articles[2]  # a consortium paper
    crowd["authors"] = [f"{r.choice(GIVEN)} {r.choice(FAMILY)}" for _ in range(1000)]
    accents = articles[3]  # non-ASCII beyond author names
    accents["title"] = accents["title"] + " — éléments nutritifs, 营养 and β-glucan"
    accents["keywords"] = ["Ernährung", "nutrição", "营养学"]
    cases = articles[4]  # the same label in another case: in keywords, then across fields
    cases["keywords"] = ["Gut Health", "gut health", "GUT HEALTH", "Dairy"]
    cases["tags"] = ["dairy", "Nutrition"]
    many = articles[5]  # near the keyword limit (250): all must survive a PATCH
    many["keywords"] = [f"Keyword {k:03d}" for k in range(240)]
    newer = articles[6]  # fields a newer catalog version adds, of types we never saw
    newer |= {"reader_visibility": {"level": "public", "since": 2024},
              "indexing_tier": 2, "ai_indexing_tier": None}  # fmt: skip
    odd = articles[7]
    odd |= {"reader_visibility": ["members", "staff"], "indexing_tier": "gold",
            "ai_indexing_tier": {"tier": 1, "reason": "manual"}}  # fmt: skip
    curated = articles[8]  # enhanced earlier by someone else: an audit trail exists
    curated |= {
        "ai_tags": ["Curated"], "ai_category": "review", "ai_generated_fields": ["ai_tags"],
        "enhancements": [{
            "agent": "curation_team", "run_id": str(uuid.UUID(int=r.getrandbits(128), version=4)),
            "enhanced_at": "2024-06-01T10:00:00Z", "fields": ["ai_category", "ai_tags"],
            "before": {"ai_tags": [], "ai_category": None},
            "after": {"ai_tags": ["Curated"], "ai_category": "review"},
        }],
        "artifacts": [{"kind": "pdf", "url": "https://example.invalid/a.pdf"}],
        "content": "Full text of the article. " * 20,
    }  # fmt: skip
    articles[9].pop("publication_year")  # optional: missing altogether


def main() -> None:
    data = generate()
    OUTPUT.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(data['articles'])} articles to {OUTPUT}")


if __name__ == "__main__":
    main()
