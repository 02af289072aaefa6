"""Vocabulary of the sample-catalog generator (invented venues and names included)."""

# fmt: off
EXPOSURES = [  # (phrase in a sentence, short form for titles)
    ("vitamin D supplementation", "Vitamin D supplementation"),
    ("a probiotic yogurt", "Probiotic yogurt"), ("green tea catechins", "Green tea catechins"),
    ("oat beta-glucan", "Oat β-glucan"),
    ("omega-3 fatty acid supplementation", "Omega-3 fatty acids"),
    ("the Mediterranean diet", "Mediterranean diet"),
    ("ultra-processed food consumption", "Ultra-processed foods"),
    ("sugar-sweetened beverage intake", "Sugar-sweetened beverages"),
    ("red and processed meat intake", "Red and processed meat"),
    ("coffee consumption", "Coffee consumption"), ("cocoa flavanols", "Cocoa flavanols"),
    ("whole grain intake", "Whole grains"), ("a low-sodium diet", "Low-sodium diet"),
    ("fermented dairy products", "Fermented dairy"), ("daily nut consumption", "Nut consumption"),
    ("plant-based protein", "Plant protein"), ("iron-fortified flour", "Iron-fortified flour"),
    ("anthocyanin-rich berries", "Anthocyanin-rich berries"), ("curcumin", "Curcumin"),
    ("resistant starch", "Resistant starch"), ("kefir", "Kefir"), ("whey protein", "Whey protein"),
    ("dietary nitrate from beetroot juice", "Beetroot juice nitrate"),
    ("extra virgin olive oil", "Extra virgin olive oil"),
]
OUTCOMES = [
    "bone mineral density", "gut microbiota composition", "blood pressure", "LDL cholesterol",
    "insulin sensitivity", "body weight", "cognitive function", "inflammatory markers",
    "iron status", "glycaemic control", "depressive symptoms", "muscle strength",
    "endothelial function", "liver fat",
]
DISEASES = [
    "colorectal cancer", "hip fracture", "type 2 diabetes", "coeliac disease", "gout",
    "gastric cancer",
]
POPULATIONS: list[tuple[str, str | None]] = [  # (phrase, the group the enricher should report)
    ("older adults", "older adults"), ("postmenopausal women", "postmenopausal women"),
    ("children", "children"), ("adolescents", "adolescents"), ("pregnant women", "pregnant women"),
    ("adults with type 2 diabetes", "adults with type 2 diabetes"),
    ("adults with obesity", "adults with obesity"), ("healthy adults", "healthy adults"),
    ("athletes", "athletes"), ("university students", "university students"),
    ("adults with hypertension", "adults with hypertension"), ("adults", "adults"),
]
FOOD_TOPICS = [  # (title, material, measured property)
    ("Acrylamide formation in potato crisps fried at different temperatures",
     "potato slices", "acrylamide"),
    ("Survival of Listeria monocytogenes on smear-ripened cheese during storage",
     "cheese rinds", "Listeria counts"),
    ("Oxidative stability of encapsulated fish oil in fortified bread",
     "fortified bread", "peroxide values"),
    ("Texture and consumer acceptance of reduced-salt sourdough bread",
     "sourdough loaves", "crumb hardness"),
    ("Maillard reaction products in roasted cocoa beans", "cocoa beans", "furosine"),
    ("Mycotoxin contamination of stored maize in humid climates", "maize samples", "aflatoxin B1"),
    ("Shelf life of high-pressure-processed orange juice", "orange juice", "vitamin C retention"),
    ("Emulsifying properties of pea protein isolates", "pea protein isolates", "droplet size"),
    ("Colour stability of natural anthocyanin extracts in yoghurt drinks",
     "yoghurt drinks", "colour retention"),
    ("Gluten-free bread made with teff and buckwheat flours", "bread loaves", "specific volume"),
    ("Biogenic amines in fermented fish sauces from local markets", "fish sauces", "histamine"),
    ("Salmonella inactivation on almonds by radio-frequency heating", "almond kernels",
     "Salmonella counts"),
    ("Lipid oxidation in frozen mackerel fillets glazed with seaweed extract", "mackerel fillets",
     "TBARS values"),
    ("Extrusion of lentil flour snacks: expansion and texture", "lentil extrudates",
     "expansion ratio"),
    ("Caffeine and chlorogenic acid in cold-brew versus hot-brew coffee", "coffee brews",
     "chlorogenic acid"),
    ("Sugar reduction in chocolate milk using stevia and monk fruit", "chocolate milk samples",
     "sweetness intensity"),
    ("Migration of plasticisers from packaging into olive oil", "olive oil samples",
     "phthalate levels"),
    ("Starch retrogradation in cooked and cooled rice", "rice samples", "resistant starch"),
    ("Protein digestibility of insect flours after roasting", "cricket flours",
     "in-gel protein profiles"),
    ("Volatile compounds of sourdough fermented with wild yeasts", "sourdough crumbs",
     "volatile esters"),
]
VENUES = [
    "Journal of Food Science and Nutrition Research", "Nutrition & Metabolism Reports",
    "Food Chemistry Letters", "European Journal of Dietetics",
    "Journal of Nutritional Epidemiology", "Gut Microbes and Diet",
    "International Journal of Food Safety", "Public Health Nutrition Reports",
    "Clinical Nutrition Insights", "Food Structure and Function",
    "Journal of Sports Nutrition Science", "Maternal and Child Nutrition Review",
    "Nordic Journal of Food Research", "Asian Pacific Journal of Nutrition",
    "Revista Iberoamericana de Nutrición",
]
GIVEN = [
    "Anna", "José", "Mei", "Oluwaseun", "Søren", "Priya", "Lukas", "Zoë", "Hiroshi", "Fatima",
    "Łukasz", "Chloé", "Kwame", "Ingrid", "Rafael", "Thảo", "Aylin", "Mateus", "Siobhán", "Dmitri",
]
FAMILY = [
    "García", "Nguyễn", "Okafor", "Müller", "Rossi", "Kowalski", "Tanaka", "Haddad", "Andersson",
    "O'Brien", "Silva", "Patel", "Yılmaz", "Dubois", "Kim", "Mensah", "Novák", "Fernández", "Chen",
    "Lindqvist",
]
CHANGE = [
    ("improved", "improves"), ("reduced", "reduces"), ("did not change", "does not change"),
]
DESIGNS = [
    "randomized controlled trial", "meta-analysis", "systematic review", "cohort study",
    "case-control study", "cross-sectional study", "animal study", "in vitro study", "review",
    "non-randomized trial", "case report", "qualitative study", "other",
]
# fmt: on
