"""Write the bundled sample catalog (`articles.json`): fictitious food-science articles.

Deterministic: the same seed writes the same file, so the committed JSON can be
regenerated and diffed. `python -m streams_worker.enrichment.sample_catalog.generate`.
The records are invented from templates (no real paper is quoted); `truth` keeps the
design each was written as, for measuring the rules enricher.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

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
        record: dict[str, Any] = {
            "urn": urn,
            "title": body["title"],
            "abstract": body["abstract"],
            "authors": [f"{r.choice(GIVEN)} {r.choice(FAMILY)}" for _ in range(r.randint(1, 8))],
            "venue": r.choice(VENUES),
            "publication_year": year,
            "doi": f"10.5555/sfs.{year}.{i:04d}",
            "keywords": [],
            "tags": [],
            "extras": {},
            "study_type": None,
            "ai_tags": [],
            "ai_category": None,
            "ai_key_takeaways": [],
        }
        missing = r.random()
        if missing < 0.05:
            del record["abstract"]  # the key is absent
        elif missing < 0.09:
            record["abstract"] = None
        elif missing < 0.10:
            record["abstract"] = ""
        if r.random() < 0.4:  # author keywords, capitalised: de-duplication must ignore case
            record["keywords"] = [w.title() for w in body["title"].split(":")[0].split(" and ")[:2]]
        if r.random() < 0.3:
            record["tags"] = r.sample(
                ["Nutrition", "Micronutrients", "Gut Health", "Food Safety", "Dairy"], 2
            )
        articles.append(record)
        truth[urn] = {"study_type": design, "population": body["population"]}
    return {
        "generator": "streams_worker.enrichment.sample_catalog.generate",
        "seed": seed,
        "count": count,
        "articles": articles,
        "truth": truth,
    }


def main() -> None:
    data = generate()
    OUTPUT.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(data['articles'])} articles to {OUTPUT}")


if __name__ == "__main__":
    main()
