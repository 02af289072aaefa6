"""Abstract templates of the sample-catalog generator, one design at a time.

`human(r, design)` writes a study of people, `lab(r, design)` an animal, cell, review
or food-technology paper; each returns `{"title", "abstract", "population"}` where
`population` is the group the text states (what the rules enricher should find).
"""

from __future__ import annotations

import random
from typing import Any

from streams_worker.enrichment.sample_catalog.words import (
    CHANGE,
    DISEASES,
    EXPOSURES,
    FOOD_TOPICS,
    OUTCOMES,
    POPULATIONS,
)


def human(r: random.Random, design: str) -> dict[str, Any]:
    exp, short = r.choice(EXPOSURES)
    out = r.choice(OUTCOMES)
    pop, group = r.choice(POPULATIONS)
    n = r.choice([24, 36, 48, 60, 96, 120, 148, 212, 305, 480])
    past, present = r.choice(CHANGE)
    pct, p = r.randint(3, 28), r.choice(["0.001", "0.01", "0.03", "0.04"])
    res = f"Compared with control, {out} {past} by {pct}% (p = {p})."
    if design == "randomized controlled trial":
        weeks = r.choice([8, 12, 16, 24, 52])
        title = r.choice(
            [
                f"Effect of {exp} on {out} in {pop}: a randomized controlled trial",
                f"{short} and {out} in {pop}: a double-blind, placebo-controlled trial",
                f"{short} {present} {out} in {pop}",
            ]
        )
        methods = r.choice(
            [
                f"In this {weeks}-week randomized, double-blind, placebo-controlled trial, "
                f"{n} {pop} were randomly assigned to {exp} or placebo.",
                f"{n} {pop} were randomised to {exp} or a matched control food for {weeks} "
                "weeks in a parallel-group trial.",
            ]
        )
        concl = f"In conclusion, {exp} {past} {out} in {pop}."
    elif design == "meta-analysis":
        k, n, group = r.randint(8, 40), n * 20, None
        title = (
            f"{short} and {out}: a systematic review and meta-analysis"
            " of randomized controlled trials"
        )
        methods = (
            f"We searched PubMed, Embase and CENTRAL and pooled {k} trials including {n} "
            "participants "
            "with random-effects models."
        )
        res, concl = (
            (
                f"Pooled estimates showed that {exp} {past} {out} (standardised mean difference "
                f"-0.{pct:02d}; 95% CI -0.{pct + 10:02d} to -0.0{r.randint(1, 9)})."
            ),
            (f"These findings suggest that {exp} may be a useful strategy for {out}."),
        )
    elif design == "systematic review":
        title, group = f"{short} and {out}: a systematic review", None
        methods = (
            "Following PRISMA guidance, we searched four databases and included "
            f"{r.randint(9, 45)} studies."
        )
        res = (
            f"Most included studies reported that {exp} {past} {out}, "
            "although heterogeneity was high."
        )
        concl = f"Overall, the evidence that {exp} benefits {out} is of low to moderate certainty."
    elif design == "cohort study":
        years, n = r.randint(5, 22), n * 100
        title = r.choice(
            [
                f"{short} and risk of {r.choice(DISEASES)}: a prospective cohort study",
                f"{short} and long-term {out} among {pop}: a cohort study",
            ]
        )
        methods = r.choice(
            [
                f"We followed {n} {pop} for a median of {years} years ({n * years:,} "
                "person-years) and assessed diet with a food frequency questionnaire.",
                f"Data came from {n} {pop} enrolled in a population-based cohort between "
                f"{1990 + years} and {2000 + years}, with repeated dietary assessments.",
            ]
        )
        res = (
            f"The highest quartile of {exp} was associated with a {pct}% lower risk "
            f"(hazard ratio 0.{100 - pct}; 95% CI 0.{90 - pct} to 0.9{r.randint(0, 9)})."
        )
        concl = f"Higher {exp} was associated with better {out} in {pop}."
    elif design == "case-control study":
        disease, group = r.choice(DISEASES), None
        title = f"{short} and {disease}: a case-control study"
        methods = (
            f"We compared {n} cases of {disease} with {n * 2} matched controls "
            "recruited from the same hospitals."
        )
        res = f"High {exp} was associated with lower odds of {disease} (odds ratio 0.{100 - pct})."
        concl = f"Our findings suggest that {exp} may protect against {disease}."
    elif design == "cross-sectional study":
        n *= 25
        title = r.choice(
            [
                f"{short} and {out} in {pop}: a cross-sectional study",
                f"{short} and {out}: cross-sectional evidence from a national health survey",
            ]
        )
        methods = r.choice(
            [
                f"This cross-sectional analysis included {n} {pop} from a national health survey.",
                f"We analysed survey data from {n} {pop} collected with two 24-hour recalls.",
            ]
        )
        res = (
            f"{exp.capitalize()} was positively associated with {out} "
            "after adjustment for energy intake."
        )
        concl = "Longitudinal studies are needed to establish the direction of this association."
    elif design == "non-randomized trial":
        title = f"{short} and {out} in {pop}: a single-arm pilot intervention study"
        methods = (
            f"In this open-label pilot study, {min(n, 48)} {pop} consumed {exp} daily for 8 weeks."
        )
        concl = (
            f"{exp.capitalize()} was well tolerated and may improve {out}; "
            "controlled trials should follow."
        )
    elif design == "case report":
        age, sex = r.randint(19, 84), r.choice(["woman", "man"])
        title = f"Severe hypercalcaemia after high-dose {short.lower()}: a case report"
        methods = (
            f"We report a case of a {age}-year-old {sex} admitted with confusion "
            f"after months of {exp}."
        )
        res, group = "Serum calcium normalised within ten days after stopping the supplement.", None
        concl = "Clinicians should ask about supplement use in unexplained hypercalcaemia."
    else:  # qualitative study
        title = f"Perceptions of {exp} among {pop}: a qualitative study"
        methods = (
            f"We conducted semi-structured interviews with {min(n, 40)} {pop} "
            "and used thematic analysis."
        )
        res = "Three themes emerged: cost, taste, and trust in health claims."
        concl = f"Interventions promoting {exp} should address cost and taste."
    background = r.choice(
        [
            f"The role of {exp} in {out} remains debated.",
            f"Evidence on {exp} and {out} in {pop} is scarce."
            if group
            else f"Evidence on {exp} and {out} is scarce.",
            f"{exp.capitalize()} is widely promoted, but its effect on {out} is uncertain.",
            f"Dietary guidelines say little about {exp} and {out}.",
        ]
    )
    return {
        "title": title,
        "abstract": " ".join([background, methods, res, concl]),
        "population": group,
    }


def lab(r: random.Random, design: str) -> dict[str, Any]:
    exp, short = r.choice(EXPOSURES)
    out = r.choice(OUTCOMES)
    if design == "animal study":
        strain = r.choice(["C57BL/6 mice", "Wistar rats", "Sprague-Dawley rats", "weaned piglets"])
        title = f"{short} attenuates high-fat-diet-induced changes in {out} in {strain.split()[-1]}"
        abstract = (
            f"Male {strain} (n = 10 per group) were fed a high-fat diet with or without {exp} for "
            f"{r.choice([8, 10, 12])} weeks. {exp.capitalize()} reduced weight gain "
            f"and improved {out}. "
            f"These results suggest that {exp} may counteract diet-induced metabolic changes."
        )
    elif design == "in vitro study":
        if r.random() < 0.5:
            title = f"{short} reduces inflammatory signalling in Caco-2 intestinal cells"
            abstract = (
                "Differentiated Caco-2 cells were treated with extracts rich in "
                f"{exp} and stimulated "
                "with interleukin-1β. Extracts reduced interleukin-8 secretion by up to 40%. "
                f"These data indicate anti-inflammatory potential of {exp} at the "
                "intestinal barrier."
            )
        else:
            title = (
                f"Bioaccessibility of bioactive compounds from {short.lower()}"
                " after simulated digestion"
            )
            abstract = (
                f"Samples containing {exp} were subjected to the INFOGEST static "
                "in vitro digestion "
                "protocol. Bioaccessibility ranged from 12% to 58% depending on the food matrix. "
                "Our results show that the matrix strongly affects release during digestion."
            )
    elif design == "review":
        title = f"{short} and {out}: a narrative review"
        abstract = (
            f"This review summarizes current evidence on {exp} and {out}, from mechanisms to human "
            "studies. Gaps include short trial durations and poorly characterised exposures."
        )
    else:  # "other": food chemistry / technology without a study-design label
        title, material, prop = r.choice(FOOD_TOPICS)
        abstract = (
            f"{material.capitalize()} were processed under {r.randint(3, 6)} conditions "
            f"and {prop} was "
            f"measured in triplicate by validated methods. {prop.capitalize()} differed by up to "
            f"{r.randint(15, 70)}% between conditions. Processing conditions substantially "
            f"affected {prop}, which matters for industrial practice."
        )
    return {"title": title, "abstract": abstract, "population": None}
