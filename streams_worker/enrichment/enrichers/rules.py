"""The default enricher: deterministic, offline rules over the title and abstract.

Same input, same output, on any text (empty, huge, any script): it never raises.
Without an abstract it works from the title alone and says so
(`extras["source"] == "title_only"`).
"""

from __future__ import annotations

import re
from collections import Counter
from itertools import islice

from streams_worker.enrichment.enrichers import vocabulary as v
from streams_worker.enrichment.enrichers.base import Article, Enrichment

#: Bounds the work on pathological input; abstracts are a few thousand characters.
MAX_TEXT_CHARS = 20_000
MAX_TITLE_CHARS = 1_000
MAX_KEYWORDS = 8
MIN_TAGS, MAX_TAGS = 3, 8
MAX_TAKEAWAY_CHARS = 400

_WORD = re.compile(r"\w+(?:[-'’]\w+)*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_PHRASE_BREAK = re.compile(r"[,.;:!?()\[\]{}\"“”]|\s[-–—]\s")


def _clean(text: str | None, limit: int) -> str:
    if not text:
        return ""
    return " ".join(text[:limit].split())


def study_type(title: str, abstract: str) -> tuple[str, str | None]:
    """The design and the phrase that gave it away.

    Each design scores two per cue in the title and one per cue in the abstract (at
    most three of each); the best score wins, ties going to the more specific design.
    """
    best: tuple[int, int, str, str | None] = (0, 0, "other", None)
    for rank, (name, pattern) in enumerate(v.STUDY_PATTERNS):
        in_title = [m.group(0) for m in islice(pattern.finditer(title), 3)]
        in_abstract = [m.group(0) for m in islice(pattern.finditer(abstract), 3)]
        score = 2 * len(in_title) + len(in_abstract)
        if score > best[0]:
            best = (score, -rank, name, (in_title or in_abstract)[0])
    return best[2], best[3]


def population(text: str, design: str) -> str | None:
    """A human group, only when the text states one (not for animal or cell studies)."""
    if design in ("animal study", "in vitro study"):
        return None
    for name, pattern in v.POPULATION_PATTERNS:
        if pattern.search(text):
            return name
    return None


def sample_size(text: str) -> int | None:
    sizes: list[int] = []
    for match in v.SAMPLE_SIZE_PATTERN.finditer(text):
        digits = (match.group(1) or match.group(2) or "").replace(",", "")
        if digits.isdigit() and 0 < int(digits) < 100_000_000:
            sizes.append(int(digits))
    return max(sizes) if sizes else None


_LEXICON_PATTERN = re.compile(
    r"(?<!\w)(?:"
    + "|".join(re.escape(t) for t in sorted(v.LEXICON, key=len, reverse=True))
    + r")(?!\w)"
)


def lexicon_terms(text: str) -> list[str]:
    """Domain terms in order of first appearance; a term inside a longer one found is dropped."""
    found: dict[str, int] = {}
    for match in _LEXICON_PATTERN.finditer(text.casefold()):
        found.setdefault(match.group(0), match.start())
    terms = sorted(found, key=lambda t: (found[t], t))
    return [t for t in terms if not any(t != o and f" {t} " in f" {o} " for o in terms)]


def candidate_phrases(title: str, abstract: str) -> list[str]:
    """Keyword phrases (1-3 content words), scored by frequency, title counted double."""
    scores: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    position = 0
    for weight, text in ((2, title), (1, abstract)):
        for chunk in _PHRASE_BREAK.split(text.casefold()):
            run: list[str] = []
            for word in [*_WORD.findall(chunk), ""]:
                content = (
                    word
                    and word not in v.STOPWORDS
                    and 3 <= len(word) <= 30
                    and not word.replace("-", "").isdigit()
                )
                if content:
                    run.append(word)
                    continue
                if run and len(run) <= 3:
                    phrase = " ".join(run)
                    scores[phrase] += weight * len(run)
                    first_seen.setdefault(phrase, position)
                    position += 1
                run = []
    return sorted(scores, key=lambda p: (-scores[p], first_seen[p], p))


def _truncate(sentence: str) -> str:
    if len(sentence) <= MAX_TAKEAWAY_CHARS:
        return sentence
    cut = sentence[: MAX_TAKEAWAY_CHARS - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",;: ") + "…"


def verdicts(title: str, abstract: str) -> list[str]:
    """Sentences that state a finding: conclusions first, then results, in reading order."""
    if not abstract:
        return [_truncate(title)] if title and v.TITLE_VERDICT.search(title) else []
    ranked: list[tuple[int, int, str]] = []
    for index, raw in enumerate(_SENTENCE_END.split(abstract)):
        sentence = raw.strip()
        conclusion = bool(v.CONCLUSION_CUE.search(sentence))
        sentence = v.SECTION_LABEL.sub("", sentence).strip()
        if len(sentence) < 20:
            continue
        if conclusion:
            ranked.append((0, index, sentence))
        elif v.VERDICT_CUE.search(sentence):
            ranked.append((1, index, sentence))
    ranked.sort()
    return [_truncate(s[:1].upper() + s[1:]) for _, _, s in ranked[:3]]


def _keywords(terms: list[str], phrases: list[str]) -> list[str]:
    """Lexicon terms first, then phrases that are not a part of one already chosen."""
    chosen = list(terms[:MAX_KEYWORDS])
    for phrase in phrases:
        if len(chosen) >= MAX_KEYWORDS:
            break
        padded = f" {phrase} "
        if not any(padded in f" {c} " or f" {c} " in padded for c in chosen):
            chosen.append(phrase)
    return chosen


def _unique(items: list[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        key = item.casefold()
        if item and key not in seen:
            seen.add(key)
            out.append(item)
    return out


class RulesEnricher:
    """Keywords, study type, tags, takeaways and population from wording alone."""

    name = "rules"
    version = "1"

    async def enrich(self, article: Article) -> Enrichment:
        return self.analyse(article.title or "", article.abstract)

    def analyse(self, title: str, abstract: str | None) -> Enrichment:
        """The synchronous core, for tests and batch use."""
        title = _clean(title, MAX_TITLE_CHARS)
        abstract = _clean(abstract, MAX_TEXT_CHARS)
        text = f"{title}. {abstract}" if abstract else title
        design, cue = study_type(title, abstract)
        group = population(text, design)
        terms = lexicon_terms(text)
        keywords = _keywords(terms, candidate_phrases(title, abstract))
        topic_tags = [v.LEXICON[t] for t in terms]
        tags = _unique([*topic_tags, design if design != "other" else "", group or ""])
        tags = _unique([*tags, *keywords])[:MAX_TAGS]
        if len(tags) < MIN_TAGS:
            tags = _unique([*tags, *v.GENERIC_TAGS])[:MIN_TAGS]
        extras: dict[str, object] = {
            "source": "abstract" if abstract else ("title_only" if title else "empty")
        }
        if group:
            extras["population"] = group
        if cue:
            extras["study_type_cue"] = cue[:100]
        size = sample_size(text) if design not in ("animal study", "in vitro study") else None
        if size:
            extras["sample_size"] = size
        organism = v.ORGANISM_PATTERN.search(text) if design == "animal study" else None
        if organism:
            extras["organism"] = organism.group(1).casefold()
        return Enrichment(
            keywords=keywords,
            tags=tags,
            study_type=design,
            key_takeaways=verdicts(title, abstract),
            population=group,
            extras=extras,
        )

    async def aclose(self) -> None:
        """Nothing to release."""
