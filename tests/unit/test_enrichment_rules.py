"""The rules enricher: hand-written abstracts per study type, and any text at all."""

from __future__ import annotations

import json
import time
from importlib import resources

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams_worker.enrichment.enrichers.base import STUDY_TYPES, Article
from streams_worker.enrichment.enrichers.rules import RulesEnricher

RULES = RulesEnricher()

# (title, abstract, study type, population) — written for these tests, not by the generator.
CASES = [
    (
        "Daily kefir and blood pressure in adults with hypertension",
        "Sixty-four adults with hypertension were randomly allocated to 250 mL kefir or a "
        "milk placebo for 12 weeks. Systolic pressure fell by 6 mmHg more with kefir. "
        "Kefir may help lower blood pressure in this group.",
        "randomized controlled trial",
        "adults with hypertension",
    ),
    (
        "Cocoa flavanols and endothelial function",
        "We pooled 19 trials of cocoa products. Random-effects meta-analysis showed a modest "
        "improvement in flow-mediated dilation. Publication bias was likely.",
        "meta-analysis",
        None,
    ),
    (
        "Probiotics for infant colic: where do we stand?",
        "Following PRISMA, we systematically searched MEDLINE and Embase and identified 14 "
        "eligible studies in infants. Evidence certainty was low.",
        "systematic review",
        "infants",
    ),
    (
        "A six-week beetroot juice programme in runners",
        "In this open-label, single-arm study, 22 runners drank beetroot juice daily. "
        "Time-trial performance improved by 2%. Controlled studies should confirm this.",
        "non-randomized trial",
        "athletes",
    ),
    (
        "Dietary fibre intake and incident diverticulitis in the Northern Dairy Study",
        "We followed 41,200 women for a median of 14 years. Higher dietary fibre was "
        "inversely associated with diverticulitis (HR 0.71). These findings support current "
        "fibre recommendations.",
        "cohort study",
        "women",
    ),
    (
        "Nested within a cohort: ultra-processed foods and Crohn's disease",
        "In a nested case-control design, 312 cases were compared with 1,248 matched controls. "
        "Ultra-processed food intake was associated with higher odds of disease.",
        "case-control study",
        None,
    ),
    (
        "Breakfast skipping and school performance",
        "This cross-sectional survey of 3,105 adolescents used a validated questionnaire. "
        "Skipping breakfast was associated with lower grades.",
        "cross-sectional study",
        "adolescents",
    ),
    (
        "Quercetin and hepatic steatosis in high-fat-fed rats",
        "Male Wistar rats received quercetin for 10 weeks. Quercetin reduced liver triglycerides "
        "by 35% compared with controls.",
        "animal study",
        None,
    ),
    (
        "Release of carotenoids from cooked carrots",
        "Carrot purées were digested with the INFOGEST protocol and carotenoid transfer to the "
        "micellar phase was measured by HPLC. Cooking increased bioaccessibility.",
        "in vitro study",
        None,
    ),
    (
        "Nutrition and the ageing immune system",
        "This review summarizes current knowledge on micronutrients, protein and immune "
        "function in older adults, and identifies research gaps.",
        "review",
        "older adults",
    ),
    (
        "Anaphylaxis to lupin flour in a baker",
        "We describe a 42-year-old man who developed anaphylaxis after eating lupin-containing "
        "bread. Skin-prick tests confirmed lupin allergy.",
        "case report",
        None,
    ),
    (
        "Why parents choose organic baby food",
        "We held six focus groups with 38 parents and analysed transcripts using thematic "
        "analysis. Trust and perceived purity dominated.",
        "qualitative study",
        None,
    ),
    (
        "Water activity and crispness of extruded snacks",
        "Snacks were equilibrated at five relative humidities and texture was measured with a "
        "texture analyser. Crispness was lost above a water activity of 0.55.",
        "other",
        None,
    ),
]


@pytest.mark.parametrize(
    ("title", "abstract", "study_type", "population"), CASES, ids=[c[2] for c in CASES]
)
def test_study_type_and_population_from_wording(
    title: str, abstract: str, study_type: str, population: str | None
) -> None:
    result = RULES.analyse(title, abstract)
    assert result.study_type == study_type
    assert result.population == population
    assert result.extras["source"] == "abstract"


def test_every_study_type_is_covered_by_the_table() -> None:
    assert {c[2] for c in CASES} == set(STUDY_TYPES)


def test_takeaways_are_verdict_sentences_conclusion_first() -> None:
    result = RULES.analyse(
        "Oat beta-glucan and LDL cholesterol",
        "Background: LDL cholesterol is a causal risk factor. Methods: 80 adults ate oats. "
        "Results: LDL cholesterol decreased by 7% versus control. Triglycerides did not change "
        "meaningfully. Conclusions: Oat beta-glucan lowers LDL cholesterol in adults.",
    )
    assert result.key_takeaways == [
        "Oat beta-glucan lowers LDL cholesterol in adults.",
        "LDL cholesterol decreased by 7% versus control.",
        "Triglycerides did not change meaningfully.",
    ]


def test_keywords_and_tags() -> None:
    result = RULES.analyse(CASES[0][0], CASES[0][1])
    assert result.keywords[:3] == ["kefir", "blood pressure", "hypertension"]
    assert 3 <= len(result.tags) <= 8
    assert "randomized controlled trial" in result.tags
    assert "cardiovascular health" in result.tags


def test_title_only_is_marked_and_a_stated_finding_becomes_the_takeaway() -> None:
    result = RULES.analyse("Green tea reduces LDL cholesterol in adults with obesity", None)
    assert result.extras["source"] == "title_only"
    assert result.key_takeaways == ["Green tea reduces LDL cholesterol in adults with obesity"]
    assert result.population == "adults with obesity"
    assert 3 <= len(result.tags) <= 8


async def test_enrich_accepts_the_catalog_article_model() -> None:
    article = Article(urn="urn:article:x", title=CASES[1][0], abstract=CASES[1][1])
    assert (await RULES.enrich(article)).study_type == "meta-analysis"


def test_accuracy_on_the_bundled_sample_catalog() -> None:
    data = json.loads(
        resources.files("streams_worker.enrichment.sample_catalog")
        .joinpath("articles.json")
        .read_text(encoding="utf-8")
    )
    articles = data["articles"]
    right = sum(
        RULES.analyse(a["title"], a.get("abstract")).study_type
        == data["truth"][a["urn"]]["study_type"]
        for a in articles
    )
    assert len(articles) >= 200
    assert right / len(articles) >= 0.95


def check_invariants(title: str, abstract: str | None) -> None:
    result = RULES.analyse(title, abstract)
    assert result.study_type in STUDY_TYPES
    assert 3 <= len(result.tags) <= 8
    assert len({t.casefold() for t in result.tags}) == len(result.tags)
    assert all(t.strip() for t in result.tags + result.keywords)
    assert len(result.keywords) <= 8
    assert len(result.key_takeaways) <= 3
    assert all(len(s) <= 400 for s in result.key_takeaways)
    assert result == RULES.analyse(title, abstract)  # deterministic


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=st.text(), abstract=st.none() | st.text())
def test_never_fails_on_arbitrary_text(title: str, abstract: str | None) -> None:
    check_invariants(title, abstract)


@settings(max_examples=50, deadline=None)
@given(
    words=st.lists(
        st.sampled_from(
            [
                "randomized",
                "mice",
                "in",
                "vitro",
                "Conclusions:",
                "women",
                ".",
                "ß",
                "vitamin d",
                "meta-analysis",
                "😀",
                "\u0301",
                "\x00",
                "children",
                ",",
            ]
        ),
        max_size=200,
    )
)
def test_never_fails_on_domain_word_soup(words: list[str]) -> None:
    check_invariants(" ".join(words[:20]), " ".join(words))


def test_huge_input_is_bounded() -> None:
    huge = ("Vitamin D improved bone density in older adults. " * 40_000) + "€" * 1_000_000
    started = time.monotonic()
    check_invariants(huge, huge)
    assert time.monotonic() - started < 2.0
