"""Word lists and patterns of the rules enricher (data, no logic).

Everything is matched against case-folded text. Order matters where noted: the first
pattern that matches wins, so the more specific designs come first.
"""

from __future__ import annotations

import re

_F = re.IGNORECASE

#: Study designs, most specific first (a meta-analysis *of* RCTs is a meta-analysis).
STUDY_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, _F))
    for name, pattern in (
        (
            "meta-analysis",
            r"\bmeta-? ?analy[sz](?:is|es|ed)\b|\bmeta-regression\b|\bpooled analysis of\b",
        ),
        (
            "systematic review",
            r"\bsystematic(?:ally)? (?:literature )?(?:review|search)|\bscoping review\b"
            r"|\bumbrella review\b|\bprisma\b",
        ),
        (
            "randomized controlled trial",
            r"\brandomi[sz]ed\b[^.;]{0,60}?\b(?:trial|controlled|placebo"
            r"|cross-?over|assigned|allocated)|\brandomly (?:assigned|allocated)\b|\bdouble-blind"
            r"|\bplacebo-controlled\b|\brct\b|\brandomi[sz]ed to\b|\bparallel-group\b",
        ),
        (
            "non-randomized trial",
            r"\bsingle-arm\b|\bopen-label\b|\bnon-?randomi[sz]ed\b|\bpre-?post\b"
            r"|\bbefore-and-after\b|\bpilot (?:trial|intervention)\b|\bintervention study\b"
            r"|\bquasi-experimental\b|\buncontrolled (?:trial|intervention)\b",
        ),
        (
            "case-control study",
            r"\bcase-? ?control\b|\bmatched controls\b|\bcases and (?:\d[\d,]* )?"
            r"(?:matched |healthy )?controls\b",
        ),
        (
            "cohort study",
            r"\bcohort\b|\bprospective(?:ly)? (?:study|analysis|follow|data)|\bperson-years\b"
            r"|\bfollowed (?:up )?for\b|\bfollowed [^.;]{0,40}?\bfor (?:a (?:median|mean) of )?\d"
            r"|\blongitudinal (?:study|analysis|data)\b"
            r"|\bmedian follow-up\b",
        ),
        (
            "cross-sectional study",
            r"\bcross-? ?sectional\b|\bnational (?:health )?survey\b|\bnhanes\b"
            r"|\bsurvey (?:of|among|data)\b|\bprevalence study\b",
        ),
        (
            "case report",
            r"\bcase report\b|\bcase series\b|\bwe (?:report|describe|present) (?:a|the|two"
            r"|three|four) (?:case|patient)|\b\d{1,3}-year-old (?:man|woman|boy|girl"
            r"|patient|child)\b",
        ),
        (
            "qualitative study",
            r"\bfocus groups?\b|\bsemi-structured interviews?\b|\bthematic analysis\b"
            r"|\bqualitative (?:study|research|interview|design|approach)|\bgrounded theory\b",
        ),
        (
            "animal study",
            r"\bmice\b|\bmouse\b|\brats?\b|\bmurine\b|\brodents?\b|\bpiglets?\b|\bzebrafish\b"
            r"|\bbroilers?\b|\bhamsters?\b|\bin vivo\b|\banimal model|\bsprague-dawley\b|\bwistar\b"
            r"|\bc57bl/6|\blaying hens\b",
        ),
        (
            "in vitro study",
            r"\bin vitro\b|\bcell lines?\b|\bcaco-2\b|\bhepg2\b|\bht-29\b|\bcell cultures?\b"
            r"|\bcultured (?:cells|human|intestinal)|\bsimulated (?:gastro\w*|gastric|digestion)"
            r"|\binfogest\b|\bcells were (?:treated|exposed|incubated)\b|\bdpph\b|\babts\b",
        ),
        (
            "review",
            r"\bnarrative review\b|\bthis review\b|\bwe review\b|\bthe present review\b"
            r"|\bliterature review\b|\breview (?:of|on) (?:the )?(?:current|recent"
            r"|available|existing)"
            r"|\bsummari[sz]es (?:the )?(?:current|recent|available|existing)"
            r"|\bA review\b|\boverview of\b",
        ),
    )
)

#: Human population groups, most specific first; only a stated group is reported.
POPULATION_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, _F))
    for name, pattern in (
        ("pregnant women", r"\bpregnant (?:women|participants|adolescents)\b"),
        ("lactating women", r"\blactating (?:women|mothers)\b|\bbreastfeeding (?:women|mothers)\b"),
        ("postmenopausal women", r"\bpost-?menopausal women\b"),
        ("infants", r"\binfants\b|\bneonates\b|\bnewborns\b|\btoddlers\b"),
        ("adolescents", r"\badolescents\b|\bteenagers\b|\badolescent (?:girls|boys)\b"),
        ("children", r"\bchildren\b|\bschoolchildren\b|\bpreschoolers\b|\bschool-aged\b"),
        (
            "older adults",
            r"\bolder (?:adults|people|persons|women|men|participants)\b|\belderly\b"
            r"|\bnursing home residents\b|\bcommunity-dwelling\b",
        ),
        (
            "athletes",
            r"\bathletes\b|\bcyclists\b|\brunners\b|\bsoccer players\b|\bmilitary recruits\b",
        ),
        (
            "adults with type 2 diabetes",
            r"\b(?:patients|adults|people|participants|individuals|subjects)"
            r" with (?:type 2 diabetes|t2dm?)\b",
        ),
        (
            "adults with obesity",
            r"\b(?:patients|adults|people|participants|individuals|subjects|women"
            r"|men) with (?:overweight|obesity)\b|\b(?:overweight|obese)(?: or obese| and obese)? "
            r"(?:adults|participants|individuals|subjects|women|men)\b",
        ),
        (
            "adults with hypertension",
            r"\b(?:patients|adults|participants|individuals) with "
            r"(?:hypertension|high blood pressure)\b|\bhypertensive (?:patients|adults)\b",
        ),
        ("university students", r"\b(?:university|college) students\b|\bundergraduates\b"),
        ("women", r"\bwomen\b"),
        ("men", r"\bmen\b"),
        ("healthy adults", r"\bhealthy (?:adults|volunteers|participants|subjects)\b"),
        ("adults", r"\badults\b"),
    )
)

ORGANISM_PATTERN = re.compile(
    r"\b(mice|mouse|rats?|piglets?|pigs|zebrafish|broilers?|hamsters?|laying hens)\b", _F
)

SAMPLE_SIZE_PATTERN = re.compile(
    r"\b(?:n\s*=\s*(\d[\d,]{0,8})|(\d[\d,]{0,8})\s+(?:[a-z-]+\s+){0,2}?(?:participants"
    r"|patients|subjects|adults|women|men|children|infants"
    r"|adolescents|volunteers|individuals|respondents|athletes|students))\b",
    _F,
)

#: Domain terms (multi-word first) and the topic tag each one implies.
# fmt: off
LEXICON: dict[str, str] = {
    "vitamin d": "micronutrients", "vitamin c": "micronutrients", "vitamin b12": "micronutrients",
    "folate": "micronutrients", "folic acid": "micronutrients", "iron": "micronutrients",
    "zinc": "micronutrients", "calcium": "micronutrients", "iodine": "micronutrients",
    "magnesium": "micronutrients", "selenium": "micronutrients", "sodium": "salt and sodium",
    "salt": "salt and sodium", "potassium": "micronutrients", "omega-3": "dietary fats",
    "fish oil": "dietary fats", "olive oil": "dietary fats", "saturated fat": "dietary fats",
    "trans fat": "dietary fats", "polyphenols": "bioactive compounds",
    "flavonoids": "bioactive compounds", "anthocyanins": "bioactive compounds",
    "carotenoids": "bioactive compounds", "curcumin": "bioactive compounds",
    "resveratrol": "bioactive compounds", "catechins": "bioactive compounds",
    "caffeine": "beverages", "coffee": "beverages", "green tea": "beverages", "tea": "beverages",
    "cocoa": "bioactive compounds", "sugar-sweetened beverages": "beverages",
    "alcohol": "beverages", "probiotics": "gut health", "probiotic": "gut health",
    "prebiotics": "gut health", "gut microbiota": "gut health", "microbiome": "gut health",
    "short-chain fatty acids": "gut health", "dietary fiber": "dietary fiber",
    "dietary fibre": "dietary fiber", "beta-glucan": "dietary fiber", "β-glucan": "dietary fiber",
    "resistant starch": "dietary fiber", "inulin": "dietary fiber", "whole grains": "whole grains",
    "whole grain": "whole grains", "oats": "whole grains", "fermented foods": "fermented foods",
    "yogurt": "dairy", "yoghurt": "dairy", "kefir": "fermented foods", "kimchi": "fermented foods",
    "dairy": "dairy", "milk": "dairy", "cheese": "dairy", "red meat": "meat and protein",
    "processed meat": "meat and protein", "protein": "meat and protein",
    "whey protein": "meat and protein", "plant protein": "plant-based diets",
    "legumes": "plant-based diets", "pulses": "plant-based diets", "soy": "plant-based diets",
    "nuts": "plant-based diets", "plant-based diet": "plant-based diets",
    "vegetarian": "plant-based diets", "vegan": "plant-based diets",
    "mediterranean diet": "dietary patterns", "dietary patterns": "dietary patterns",
    "ultra-processed foods": "food processing", "food processing": "food processing",
    "fruit": "fruit and vegetables", "vegetables": "fruit and vegetables",
    "berries": "fruit and vegetables", "added sugar": "sugars", "fructose": "sugars",
    "sweeteners": "sugars", "glycemic index": "glycemic control", "glycaemic": "glycemic control",
    "insulin": "glycemic control", "blood glucose": "glycemic control",
    "type 2 diabetes": "metabolic health", "blood pressure": "cardiovascular health",
    "hypertension": "cardiovascular health", "ldl cholesterol": "cardiovascular health",
    "cholesterol": "cardiovascular health", "cardiovascular": "cardiovascular health",
    "obesity": "body weight", "body weight": "body weight", "body mass index": "body weight",
    "weight loss": "body weight", "bone mineral density": "bone health",
    "fractures": "bone health", "cognitive function": "brain health",
    "depression": "mental health", "inflammation": "inflammation",
    "c-reactive protein": "inflammation", "oxidative stress": "oxidative stress",
    "antioxidant": "oxidative stress", "bioavailability": "bioavailability",
    "bioaccessibility": "bioavailability", "food safety": "food safety",
    "acrylamide": "food safety", "mycotoxins": "food safety", "listeria": "food safety",
    "salmonella": "food safety", "pesticide residues": "food safety",
    "food allergy": "food allergy", "gluten": "food allergy", "shelf life": "food technology",
    "emulsions": "food technology", "encapsulation": "food technology",
    "maillard reaction": "food chemistry", "sensory": "sensory science",
    "consumer acceptance": "consumer science", "food insecurity": "public health nutrition",
    "breastfeeding": "maternal and child nutrition",
    "infant formula": "maternal and child nutrition", "sports nutrition": "sports nutrition",
    "creatine": "sports nutrition", "muscle": "sports nutrition",
}
# fmt: on

#: Words that never make a keyword on their own (English function words, abstract filler).
STOPWORDS: frozenset[str] = frozenset(
    """
    a about above affect affects after again against aim aimed aims all allocated also
    although among an analysed analysis analyzed and any approach are as assess assessed
    assigned associated association at background based be because been before being below
    between both but by can case ci cohort compared comparison conclusion conclusions
    conducted control controlled could cross-sectional data decreased decreases design
    determine did different do does doing down during each effect effects either evaluate
    evaluated evidence examined few findings for found from further group groups had has have
    having here high higher how however hr if impact improved improves in included including
    increase increased increases into investigate investigated is it its itself just least
    less level levels linked low lower lowered lowers main may mean measured meta-analysis
    method methods might model more most much must new no nor not novel objective observed of
    off on once only or other our out outcome outcomes over overall own p participants per
    predicts present prevents protects purpose raises randomised randomized randomly ratio
    reduced reduces relative reported respectively result results review risk role rr same
    several should showed shown significant significantly since so some studies study subjects
    such suggest suggests systematic than that the their them then there these they this those
    three through to too total trial trials two under until up upon used using versus very vs
    was we week weeks were what when where whereas whether which while who whom why will with
    within without would year years yet
    """.split()  # noqa: SIM905 - a word list reads better as text
)

GENERIC_TAGS: tuple[str, ...] = ("food science", "nutrition research", "needs review")

#: A title that states a finding ("X improves Y") is its own takeaway.
TITLE_VERDICT = re.compile(
    r"\b(?:improves?|reduces?|increases?|lowers?|raises?|decreases?|protects?|prevents?|predicts?"
    r"|is (?:not )?associated|are (?:not )?associated|(?:is|are) linked|does not"
    r"|do not|has no|have no"
    r"|attenuates?|enhances?|worsens?)\b",
    _F,
)

CONCLUSION_CUE = re.compile(
    r"^(?:in )?conclusions?\b|\bwe conclude\b|\b(?:these|our|the) (?:findings|results|data)"
    r" (?:suggest|indicate|show|support|demonstrate|highlight)|\btaken together\b|^overall,"
    r"|\bthis (?:study|trial|review|analysis) (?:shows|suggests|demonstrates|indicates|found)",
    _F,
)

VERDICT_CUE = re.compile(
    r"\b(?:improved|reduced|increased|decreased|lowered|raised|attenuated|enhanced|prevented"
    r"|was (?:inversely |positively |not )?associated|were (?:inversely |positively "
    r"|not )?associated"
    r"|no (?:significant |clear )?(?:effect|difference|association|change)s?"
    r"|did not (?:affect|improve"
    r"|change|reduce|differ|alter|increase)|(?:is|are|was|were) (?:effective|safe|beneficial)"
    r"|may (?:help|reduce|improve|protect|be|contribute|lower))\b",
    _F,
)

SECTION_LABEL = re.compile(
    r"^(?:background|objectives?|aims?|methods?|design|setting|results?|findings|conclusions?"
    r"|interpretation|significance|purpose|introduction)\s*[:.-]\s*",
    _F,
)
