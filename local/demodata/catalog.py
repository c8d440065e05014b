"""What the demo catalogs are made of: product types, their attributes, words per language and
each country's code tables (v1, and v2 after the regulation change), plus the further schemes a
country has (DE batteries: its own battery types, words and code tables). Stdlib only."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ProductType:
    key: str
    share: float  # relative frequency in a catalog
    weight_kg: tuple[float, float]
    screen_in: tuple[float, float] | None
    battery: float  # probability the product has a battery
    power: tuple[str, ...]  # power sources it comes with
    brands: tuple[str, ...]


_TECH = ("Voltaro", "Nordlys", "Kestrel", "Aurion", "Pixora", "Tessla Digital")
_HOME = ("Hausmeister", "Belcasa", "Brevik", "Cuisinette", "Voltaro", "Domotek")
_TOOLS = ("Kraftwerk", "Brevik", "Tornillo", "Ironbark", "Domotek")
_FASHION = ("Maison Lune", "Fjordline", "Urbanista", "Kestrel")
_TOYS = ("Kidora", "Playvolt", "Brevik")

PRODUCT_TYPES: tuple[ProductType, ...] = (
    ProductType("smartphone", 1.4, (0.14, 0.24), (5.4, 6.9), 1.0, ("usb",), _TECH),
    ProductType("tablet", 0.8, (0.3, 0.75), (8.0, 13.0), 1.0, ("usb",), _TECH),
    ProductType("laptop", 1.0, (1.0, 2.8), (13.0, 17.3), 1.0, ("mains",), _TECH),
    ProductType(
        "television", 0.8, (5.0, 32.0), (32.0, 85.0), 0.0, ("mains",), _TECH + ("Belcasa",)
    ),
    ProductType("headphones", 1.0, (0.02, 0.4), None, 0.9, ("usb", "battery"), _TECH),
    ProductType("smartwatch", 0.6, (0.03, 0.08), (1.2, 2.0), 1.0, ("usb",), _TECH),
    ProductType("power_bank", 0.7, (0.18, 0.55), None, 1.0, ("usb",), _TECH + ("Kraftwerk",)),
    ProductType("cordless_drill", 0.7, (1.1, 2.6), None, 1.0, ("battery",), _TOOLS),
    ProductType("kettle", 0.8, (0.8, 1.7), None, 0.0, ("mains",), _HOME),
    ProductType("toaster", 0.6, (1.2, 3.2), None, 0.0, ("mains",), _HOME),
    ProductType("vacuum_cleaner", 0.8, (2.0, 7.5), None, 0.4, ("mains", "battery"), _HOME),
    ProductType("hair_dryer", 0.6, (0.35, 0.95), None, 0.0, ("mains",), _HOME + ("Maison Lune",)),
    ProductType(
        "solar_garden_light", 0.5, (0.08, 0.6), None, 1.0, ("solar",), _HOME + ("Nordlys",)
    ),
    ProductType("toy_car", 0.6, (0.2, 1.5), None, 0.85, ("battery", "usb"), _TOYS),
    ProductType("t_shirt", 1.0, (0.1, 0.3), None, 0.0, ("none",), _FASHION),
    ProductType("backpack", 0.6, (0.4, 1.6), None, 0.0, ("none",), _FASHION),
)
TYPES_BY_KEY = {t.key: t for t in PRODUCT_TYPES}


@dataclass(frozen=True)
class Language:
    nouns: dict[str, tuple[str, ...]]  # product type -> names for it
    descriptions: dict[str, tuple[str, ...]]  # product type -> description templates
    colors: tuple[str, ...]
    adjectives: tuple[str, ...]
    common: tuple[str, ...]  # phrases any description may end with
    screen_unit: str


# Templates may use {brand}, {noun}, {screen}, {weight}, {capacity}, {watts}, {color}.
GERMAN = Language(
    nouns={
        "smartphone": ("Smartphone", "Handy", "Mobiltelefon"),
        "tablet": ("Tablet", "Tablet-PC"),
        "laptop": ("Laptop", "Notebook", "Ultrabook"),
        "television": ("Fernseher", "Smart-TV", "LED-Fernseher"),
        "headphones": ("Kopfhörer", "In-Ear-Kopfhörer", "Bluetooth-Kopfhörer"),
        "smartwatch": ("Smartwatch", "Fitnessuhr"),
        "power_bank": ("Powerbank", "Zusatzakku"),
        "cordless_drill": ("Akku-Bohrschrauber", "Akkuschrauber", "Bohrmaschine"),
        "kettle": ("Wasserkocher", "Teekocher"),
        "toaster": ("Toaster", "Langschlitz-Toaster"),
        "vacuum_cleaner": ("Staubsauger", "Bodenstaubsauger", "Saugroboter"),
        "hair_dryer": ("Haartrockner", "Föhn"),
        "solar_garden_light": ("Solarleuchte", "Solar-Gartenleuchte"),
        "toy_car": ("Ferngesteuertes Auto", "RC-Auto", "Spielzeugauto"),
        "t_shirt": ("T-Shirt", "Shirt", "Baumwollshirt"),
        "backpack": ("Rucksack", "Tagesrucksack"),
    },
    descriptions={
        "smartphone": (
            "Entsperrtes {noun} mit {screen}-Zoll-Display und Dual-SIM, Akku {capacity} mAh.",
            "Schnelles {noun} mit Kamera, 5G und großem Speicher.",
        ),
        "tablet": (
            "{noun} mit {screen} Zoll Bildschirm, ideal für Streaming und Lernen.",
            "Leichtes {noun} mit Stifteingabe und langer Akkulaufzeit.",
        ),
        "laptop": (
            "{noun} mit {screen} Zoll, 16 GB RAM und SSD, Netzteil {watts} W.",
            "Leistungsstarkes {noun} für Büro und Studium mit Tastatur mit Beleuchtung.",
        ),
        "television": (
            "{noun} mit {screen} Zoll, 4K UHD und HDR, Energieklasse F.",
            "Großer {noun} mit Triple-Tuner und WLAN.",
        ),
        "headphones": (
            "Kabellose {noun} mit Geräuschunterdrückung und Ladeetui.",
            "{noun} mit satten Bässen und 30 Stunden Wiedergabe.",
        ),
        "smartwatch": (
            "{noun} mit Pulsmessung, GPS und {screen}-Zoll-Display.",
            "Wasserdichte {noun} mit Schlafanalyse.",
        ),
        "power_bank": (
            "{noun} mit {capacity} mAh, USB-C und Schnellladen.",
            "Kompakte {noun} zum Laden von Handy und Tablet unterwegs.",
        ),
        "cordless_drill": (
            "{noun} 18 V mit zwei Akkus und Ladegerät im Koffer.",
            "Kraftvoller {noun} mit Drehmomentstufen und LED-Licht.",
        ),
        "kettle": (
            "{noun} aus Edelstahl, 1,7 Liter, {watts} W, Abschaltautomatik.",
            "{noun} mit Temperaturwahl und Kalkfilter.",
        ),
        "toaster": (
            "{noun} mit 2 Schlitzen, Brötchenaufsatz, {watts} W.",
            "{noun} mit sieben Bräunungsstufen und Krümelschublade.",
        ),
        "vacuum_cleaner": (
            "{noun} beutellos, {watts} W, mit HEPA-Filter.",
            "{noun} mit Zyklontechnik und Fugendüse.",
        ),
        "hair_dryer": (
            "{noun} mit Ionen-Technologie, {watts} W, Diffusor.",
            "Leiser {noun} mit drei Heizstufen und Kaltstufe.",
        ),
        "solar_garden_light": (
            "{noun} für Garten und Terrasse, Dämmerungssensor, warmweiß.",
            "{noun} mit Solarpanel, ohne Kabel, wetterfest IP44.",
        ),
        "toy_car": (
            "{noun} mit Fernbedienung, für Kinder ab 6 Jahren.",
            "Schnelles {noun} mit Allradantrieb und Akku.",
        ),
        "t_shirt": (
            "{noun} aus 100 % Baumwolle, Rundhals, Farbe {color}.",
            "Bequemes {noun} in Regular Fit, maschinenwaschbar.",
        ),
        "backpack": (
            "{noun} mit Laptopfach, wasserabweisend, 25 Liter.",
            "Leichter {noun} für Schule und Wandern.",
        ),
    },
    colors=("schwarz", "weiß", "blau", "grau", "rot", "grün"),
    adjectives=("Neu", "Premium", "Kompakt", "Pro", "Ultra", "Classic"),
    common=("Versand aus Deutschland.", "Mit Garantie.", "Lieferung ohne Zubehör.", ""),
    screen_unit="Zoll",
)

FRENCH = Language(
    nouns={
        "smartphone": ("Smartphone", "Téléphone portable", "Mobile"),
        "tablet": ("Tablette", "Tablette tactile"),
        "laptop": ("Ordinateur portable", "PC portable", "Ultrabook"),
        "television": ("Téléviseur", "Smart TV", "TV LED"),
        "headphones": ("Casque audio", "Écouteurs", "Écouteurs Bluetooth"),
        "smartwatch": ("Montre connectée", "Montre de sport"),
        "power_bank": ("Batterie externe", "Power bank"),
        "cordless_drill": ("Perceuse visseuse sans fil", "Visseuse", "Perceuse"),
        "kettle": ("Bouilloire", "Bouilloire électrique"),
        "toaster": ("Grille-pain", "Toaster"),
        "vacuum_cleaner": ("Aspirateur", "Aspirateur traîneau", "Aspirateur robot"),
        "hair_dryer": ("Sèche-cheveux", "Séchoir"),
        "solar_garden_light": ("Lampe solaire", "Borne solaire de jardin"),
        "toy_car": ("Voiture télécommandée", "Voiture RC", "Petite voiture"),
        "t_shirt": ("T-shirt", "Tee-shirt", "Maillot en coton"),
        "backpack": ("Sac à dos", "Sac de randonnée"),
    },
    descriptions={
        "smartphone": (
            "{noun} débloqué, écran {screen} pouces, double SIM, batterie {capacity} mAh.",
            "{noun} rapide avec appareil photo, 5G et grande mémoire.",
        ),
        "tablet": (
            "{noun} écran {screen} pouces, idéale pour le streaming et les études.",
            "{noun} légère avec stylet et grande autonomie.",
        ),
        "laptop": (
            "{noun} {screen} pouces, 16 Go de RAM, SSD, chargeur {watts} W.",
            "{noun} performant pour le bureau, clavier rétroéclairé.",
        ),
        "television": (
            "{noun} {screen} pouces, 4K UHD, HDR, classe énergétique F.",
            "Grand {noun} avec tuner TNT et Wi-Fi.",
        ),
        "headphones": (
            "{noun} sans fil à réduction de bruit avec étui de charge.",
            "{noun} avec basses profondes et 30 heures d'écoute.",
        ),
        "smartwatch": (
            "{noun} avec cardiofréquencemètre, GPS et écran {screen} pouces.",
            "{noun} étanche avec suivi du sommeil.",
        ),
        "power_bank": (
            "{noun} {capacity} mAh, USB-C et charge rapide.",
            "{noun} compacte pour recharger téléphone et tablette en voyage.",
        ),
        "cordless_drill": (
            "{noun} 18 V avec deux batteries et chargeur en coffret.",
            "{noun} puissante avec réglage du couple et lampe LED.",
        ),
        "kettle": (
            "{noun} en inox, 1,7 litre, {watts} W, arrêt automatique.",
            "{noun} avec sélection de température et filtre anticalcaire.",
        ),
        "toaster": (
            "{noun} 2 fentes avec réchauffe-viennoiseries, {watts} W.",
            "{noun} à sept niveaux de brunissage et tiroir à miettes.",
        ),
        "vacuum_cleaner": (
            "{noun} sans sac, {watts} W, filtre HEPA.",
            "{noun} cyclonique avec suceur plat.",
        ),
        "hair_dryer": (
            "{noun} ionique, {watts} W, avec diffuseur.",
            "{noun} silencieux, trois températures et air froid.",
        ),
        "solar_garden_light": (
            "{noun} pour jardin et terrasse, détecteur crépusculaire, blanc chaud.",
            "{noun} avec panneau solaire, sans câble, étanche IP44.",
        ),
        "toy_car": (
            "{noun} avec télécommande, pour enfants dès 6 ans.",
            "{noun} rapide à quatre roues motrices avec batterie.",
        ),
        "t_shirt": (
            "{noun} 100 % coton, col rond, couleur {color}.",
            "{noun} confortable coupe droite, lavable en machine.",
        ),
        "backpack": (
            "{noun} avec compartiment ordinateur, déperlant, 25 litres.",
            "{noun} léger pour l'école et la randonnée.",
        ),
    },
    colors=("noir", "blanc", "bleu", "gris", "rouge", "vert"),
    adjectives=("Nouveau", "Premium", "Compact", "Pro", "Ultra", "Classique"),
    common=("Expédié depuis la France.", "Garantie deux ans.", "Livré sans accessoires.", ""),
    screen_unit="pouces",
)

ENGLISH = Language(
    nouns={
        "smartphone": ("Smartphone", "Mobile Phone", "Cell Phone"),
        "tablet": ("Tablet", "Tablet PC"),
        "laptop": ("Laptop", "Notebook", "Ultrabook"),
        "television": ("Television", "Smart TV", "LED TV"),
        "headphones": ("Headphones", "Earbuds", "Wireless Earphones"),
        "smartwatch": ("Smartwatch", "Fitness Watch"),
        "power_bank": ("Power Bank", "Portable Charger"),
        "cordless_drill": ("Cordless Drill Driver", "Combi Drill", "Drill"),
        "kettle": ("Kettle", "Electric Kettle"),
        "toaster": ("Toaster", "2-Slice Toaster"),
        "vacuum_cleaner": ("Vacuum Cleaner", "Cylinder Hoover", "Robot Vacuum"),
        "hair_dryer": ("Hair Dryer", "Hairdryer"),
        "solar_garden_light": ("Solar Light", "Solar Garden Lantern"),
        "toy_car": ("Remote Control Car", "RC Car", "Toy Car"),
        "t_shirt": ("T-Shirt", "Tee", "Cotton Top"),
        "backpack": ("Backpack", "Rucksack"),
    },
    descriptions={
        "smartphone": (
            "Unlocked {noun} with {screen}-inch display, dual SIM, {capacity} mAh battery.",
            "Fast {noun} with camera, 5G and plenty of storage.",
        ),
        "tablet": (
            "{noun} with {screen} inch screen, great for streaming and study.",
            "Lightweight {noun} with stylus support and long battery life.",
        ),
        "laptop": (
            "{noun} {screen} inch, 16 GB RAM, SSD, {watts} W charger.",
            "Powerful {noun} for work and study with backlit keyboard.",
        ),
        "television": (
            "{noun} {screen} inch, 4K UHD, HDR, energy class F.",
            "Large {noun} with Freeview tuner and Wi-Fi.",
        ),
        "headphones": (
            "Wireless {noun} with noise cancelling and charging case.",
            "{noun} with deep bass and 30 hours of playback.",
        ),
        "smartwatch": (
            "{noun} with heart-rate monitor, GPS and {screen} inch display.",
            "Waterproof {noun} with sleep tracking.",
        ),
        "power_bank": (
            "{noun} {capacity} mAh with USB-C and fast charging.",
            "Compact {noun} to top up phone and tablet on the go.",
        ),
        "cordless_drill": (
            "{noun} 18 V with two batteries and charger in a case.",
            "Powerful {noun} with torque settings and LED work light.",
        ),
        "kettle": (
            "Stainless steel {noun}, 1.7 litre, {watts} W, auto shut-off.",
            "{noun} with temperature control and limescale filter.",
        ),
        "toaster": (
            "{noun} with two slots, bun warmer, {watts} W.",
            "{noun} with seven browning levels and crumb tray.",
        ),
        "vacuum_cleaner": (
            "Bagless {noun}, {watts} W, HEPA filter.",
            "{noun} with cyclonic suction and crevice tool.",
        ),
        "hair_dryer": (
            "Ionic {noun}, {watts} W, with diffuser.",
            "Quiet {noun} with three heat settings and cool shot.",
        ),
        "solar_garden_light": (
            "{noun} for garden and patio, dusk sensor, warm white.",
            "{noun} with solar panel, no wiring, weatherproof IP44.",
        ),
        "toy_car": (
            "{noun} with remote control, for children aged 6 and up.",
            "Fast four-wheel-drive {noun} with rechargeable battery.",
        ),
        "t_shirt": (
            "{noun} in 100% cotton, crew neck, colour {color}.",
            "Comfortable regular fit {noun}, machine washable.",
        ),
        "backpack": (
            "{noun} with laptop sleeve, water repellent, 25 litres.",
            "Lightweight {noun} for school and hiking.",
        ),
    },
    colors=("black", "white", "blue", "grey", "red", "green"),
    adjectives=("New", "Premium", "Compact", "Pro", "Ultra", "Classic"),
    common=("Ships from the UK.", "Two-year guarantee.", "Accessories not included.", ""),
    screen_unit="inch",
)


@dataclass(frozen=True)
class CodeTable:
    version: str
    codes: dict[str, str]  # code -> description
    assignment: dict[str, str]  # product type -> code


def _table(
    version: str,
    codes: dict[str, tuple[str, tuple[str, ...]]],
    type_keys: frozenset[str] = frozenset(TYPES_BY_KEY),
) -> CodeTable:
    assignment = {ptype: code for code, (_, types) in codes.items() for ptype in types}
    missing = type_keys - set(assignment)
    if missing:
        raise AssertionError(
            f"code table {version} leaves product types unassigned: {sorted(missing)}"
        )
    unknown = set(assignment) - type_keys
    if unknown:
        raise AssertionError(f"code table {version} assigns unknown product types: {unknown}")
    return CodeTable(version, {code: desc for code, (desc, _) in codes.items()}, assignment)


# Each country groups product types into its own regulatory codes (loosely after the national
# WEEE/battery schemes). v2 is the regulation change: batteries and small IT move to new codes.
_DE_V1 = {
    "DE-ELG-1": ("Wärmeüberträger und Haushaltsgroßgeräte", ("kettle", "toaster")),
    "DE-ELG-2": ("Bildschirme und Monitore > 100 cm²", ("television", "laptop", "tablet")),
    "DE-ELG-4": ("Großgeräte", ("vacuum_cleaner",)),
    "DE-ELG-5": ("Kleingeräte", ("hair_dryer", "headphones", "solar_garden_light", "toy_car")),
    "DE-ELG-6": (
        "Kleine IT- und Telekommunikationsgeräte",
        ("smartphone", "smartwatch", "power_bank"),
    ),
    "DE-ELG-7": ("Elektrowerkzeuge", ("cordless_drill",)),
    "DE-NON-EE": ("Kein Elektrogerät", ("t_shirt", "backpack")),
}
_DE_V2 = {
    **{k: v for k, v in _DE_V1.items() if k not in {"DE-ELG-5", "DE-ELG-6", "DE-ELG-7"}},
    "DE-ELG-5": ("Kleingeräte", ("hair_dryer", "headphones", "cordless_drill")),
    "DE-ELG-6": ("Kleine IT- und Telekommunikationsgeräte", ("smartphone", "smartwatch")),
    "DE-BATT-LMT": (
        "Batterien für leichte Verkehrsmittel und Geräteakkus (BattG 2026)",
        ("power_bank",),
    ),
    "DE-BATT-EMB": (
        "Geräte mit fest eingebautem Akku (BattG 2026)",
        ("solar_garden_light", "toy_car"),
    ),
}
_FR_V1 = {
    "FR-DEEE-GEM": ("Gros électroménager", ("vacuum_cleaner",)),
    "FR-DEEE-PAM": ("Petits appareils en mélange", ("kettle", "toaster", "hair_dryer", "toy_car")),
    "FR-DEEE-ECR": ("Écrans", ("television", "laptop", "tablet")),
    "FR-DEEE-IT": (
        "Petits équipements informatiques et de télécommunications",
        ("smartphone", "smartwatch", "headphones"),
    ),
    "FR-DEEE-OUT": ("Outillage électrique", ("cordless_drill",)),
    "FR-DEEE-LUM": ("Lampes et luminaires", ("solar_garden_light",)),
    "FR-PIL": ("Piles et accumulateurs portables", ("power_bank",)),
    "FR-HORS": ("Hors champ DEEE", ("t_shirt", "backpack")),
}
_FR_V2 = {
    **{k: v for k, v in _FR_V1.items() if k not in {"FR-DEEE-PAM", "FR-DEEE-IT", "FR-PIL"}},
    "FR-DEEE-PAM": ("Petits appareils en mélange", ("kettle", "toaster", "hair_dryer")),
    "FR-DEEE-IT": ("Petits équipements informatiques et de télécommunications", ("smartphone",)),
    "FR-REP-PORT": (
        "Appareils portables à batterie (REP 2026)",
        ("smartwatch", "headphones", "power_bank"),
    ),
    "FR-REP-JOU": ("Jouets électriques (REP jouets)", ("toy_car",)),
}
_GB_V1 = {
    "UK-WEEE-02": (
        "Small household appliances",
        ("kettle", "toaster", "vacuum_cleaner", "hair_dryer"),
    ),
    "UK-WEEE-03": (
        "IT and telecommunications equipment",
        ("smartphone", "tablet", "laptop", "smartwatch"),
    ),
    "UK-WEEE-04": ("Consumer equipment", ("television", "headphones")),
    "UK-WEEE-06": ("Electrical and electronic tools", ("cordless_drill",)),
    "UK-WEEE-07": ("Toys, leisure and sports equipment", ("toy_car",)),
    "UK-WEEE-05": ("Lighting equipment", ("solar_garden_light",)),
    "UK-BATT-P": ("Portable batteries", ("power_bank",)),
    "UK-OUT": ("Outside WEEE scope", ("t_shirt", "backpack")),
}
_GB_V2 = {
    **{k: v for k, v in _GB_V1.items() if k not in {"UK-WEEE-03", "UK-WEEE-04", "UK-BATT-P"}},
    "UK-WEEE-03": ("IT and telecommunications equipment", ("laptop", "tablet")),
    "UK-WEEE-04": ("Consumer equipment", ("television",)),
    "UK-WEEE-14": (
        "Vapes and small rechargeable wearables (2026 amendment)",
        ("smartwatch", "headphones"),
    ),
    "UK-BATT-P": ("Portable batteries and phones with batteries", ("power_bank", "smartphone")),
}


# ---- DE batteries: a second scheme of one country --------------------------------------------
# Loose batteries sold on their own, classed after an EU-batteries-regulation-like scheme. v1 knows
# the three old categories (e-bike, e-scooter and car traction batteries count as industrial);
# v2, the regulation change, gives light means of transport and electric vehicles codes of their
# own, so a v1 champion cannot name them.


@dataclass(frozen=True)
class BatteryType:
    key: str
    share: float  # relative frequency in the catalog
    weight_kg: tuple[float, float]
    voltages: tuple[str, ...]  # nominal voltages, as printed on the product
    capacities: tuple[str, ...]  # rated capacities with their unit (mAh, Ah, Wh, kWh)
    chemistries: tuple[str, ...]
    power: tuple[str, ...]  # the record's power_source: how the battery itself is charged
    brands: tuple[str, ...]


_CELLS = ("Voltaro", "Zellwerk", "Ampera", "Kestrel", "Nordlys")
_PACKS = ("Kraftwerk", "Ironbark", "Zellwerk", "Voltaro", "Akkutec")
_AUTO = ("Startwerk", "Polaris Energie", "Bleifeld", "Ampera")
_MOBILITY = ("Velostrom", "Akkutec", "Trittwerk", "Zellwerk")
_STORAGE = ("Speicherhaus", "Sonnwerk", "Polaris Energie", "Akkutec")

BATTERY_TYPES: tuple[BatteryType, ...] = (
    BatteryType(
        "aa_cells",
        1.2,
        (0.05, 0.4),
        ("1,5",),
        ("2850 mAh", "3000 mAh", "2700 mAh"),
        ("Alkali", "Lithium"),
        ("none",),
        _CELLS,
    ),
    BatteryType(
        "button_cell",
        0.8,
        (0.003, 0.03),
        ("3", "1,55"),
        ("220 mAh", "240 mAh", "40 mAh"),
        ("Lithium", "Silberoxid"),
        ("none",),
        _CELLS,
    ),
    BatteryType(
        "rechargeable_aaa",
        0.8,
        (0.04, 0.2),
        ("1,2",),
        ("800 mAh", "950 mAh", "1100 mAh"),
        ("NiMH",),
        ("usb", "mains"),
        _CELLS,
    ),
    BatteryType(
        "laptop_battery",
        0.6,
        (0.2, 0.6),
        ("11,1", "14,8", "10,8"),
        ("4400 mAh", "5200 mAh", "56 Wh"),
        ("Li-Ion", "Li-Polymer"),
        ("mains",),
        _PACKS,
    ),
    BatteryType(
        "tool_battery",
        0.8,
        (0.35, 1.3),
        ("18", "12", "36"),
        ("2,0 Ah", "4,0 Ah", "5,0 Ah"),
        ("Li-Ion",),
        ("mains",),
        _PACKS,
    ),
    BatteryType(
        "car_starter_battery",
        1.0,
        (12.0, 26.0),
        ("12",),
        ("60 Ah", "74 Ah", "95 Ah"),
        ("Blei-Säure", "AGM", "EFB"),
        ("mains",),
        _AUTO,
    ),
    BatteryType(
        "motorcycle_battery",
        0.5,
        (1.5, 6.0),
        ("12",),
        ("6 Ah", "9 Ah", "14 Ah"),
        ("AGM", "Gel", "LiFePO4"),
        ("mains",),
        _AUTO,
    ),
    BatteryType(
        "ebike_battery",
        0.9,
        (2.2, 4.5),
        ("36", "48"),
        ("500 Wh", "625 Wh", "750 Wh"),
        ("Li-Ion",),
        ("mains",),
        _MOBILITY,
    ),
    BatteryType(
        "escooter_battery",
        0.6,
        (1.5, 7.0),
        ("36", "48", "52"),
        ("7,8 Ah", "10,4 Ah", "15 Ah"),
        ("Li-Ion",),
        ("mains",),
        _MOBILITY,
    ),
    BatteryType(
        "home_storage",
        0.5,
        (45.0, 130.0),
        ("48", "51,2"),
        ("5 kWh", "10 kWh", "15 kWh"),
        ("LiFePO4",),
        ("mains", "solar"),
        _STORAGE,
    ),
    BatteryType(
        "forklift_battery",
        0.3,
        (250.0, 1600.0),
        ("24", "48", "80"),
        ("375 Ah", "620 Ah", "930 Ah"),
        ("Blei-Säure", "LiFePO4"),
        ("mains",),
        _STORAGE,
    ),
    BatteryType(
        "ev_traction_module",
        0.5,
        (9.0, 45.0),
        ("58", "355", "400"),
        ("2,6 kWh", "5,2 kWh", "64 kWh"),
        ("NMC", "LFP"),
        ("mains",),
        _MOBILITY + ("Polaris Energie",),
    ),
)
BATTERY_TYPES_BY_KEY = {t.key: t for t in BATTERY_TYPES}

# Templates may use {brand}, {noun}, {voltage}, {capacity}, {chemistry}, {weight}, {pieces}.
GERMAN_BATTERIES = Language(
    nouns={
        "aa_cells": ("Mignon-Batterien AA", "AA Batterien", "Batterien LR6"),
        "button_cell": ("Knopfzelle", "Knopfzellen CR2032", "Uhrenbatterie"),
        "rechargeable_aaa": ("Akku AAA", "Micro-Akkus", "NiMH-Akkus AAA"),
        "laptop_battery": ("Laptop-Akku", "Notebook-Ersatzakku", "Akku für Notebook"),
        "tool_battery": ("Werkzeugakku", "Wechselakku", "Akkupack für Elektrowerkzeug"),
        "car_starter_battery": ("Autobatterie", "Starterbatterie", "KFZ-Batterie"),
        "motorcycle_battery": ("Motorradbatterie", "Rollerbatterie", "Starterbatterie Motorrad"),
        "ebike_battery": ("E-Bike-Akku", "Pedelec-Akku", "Rahmenakku"),
        "escooter_battery": ("E-Scooter-Akku", "Ersatzakku für E-Roller", "Scooter-Akku"),
        "home_storage": ("Stromspeicher", "Batteriespeicher", "Heimspeicher"),
        "forklift_battery": (
            "Staplerbatterie",
            "Antriebsbatterie Gabelstapler",
            "Traktionsbatterie",
        ),
        "ev_traction_module": (
            "Batteriemodul Elektroauto",
            "Hochvolt-Batteriemodul",
            "EV-Akkumodul",
        ),
    },
    descriptions={
        "aa_cells": (
            "{pieces} {noun}, {voltage} V, {chemistry}, lange Lagerfähigkeit.",
            "{noun} im Vorteilspack mit {pieces} Stück für Fernbedienung und Spielzeug.",
        ),
        "button_cell": (
            "{noun} {voltage} V, {capacity}, für Uhren, Waagen und Autoschlüssel.",
            "{pieces} x {noun} aus {chemistry}, kindersichere Verpackung.",
        ),
        "rechargeable_aaa": (
            "{pieces} wiederaufladbare {noun}, {capacity}, geringe Selbstentladung.",
            "{noun} {voltage} V {chemistry}, bis zu 1000 Ladezyklen.",
        ),
        "laptop_battery": (
            "{noun} {voltage} V, {capacity}, passend für viele Business-Modelle.",
            "Ersatz-{noun} mit Schutzschaltung, {chemistry}, {weight} kg.",
        ),
        "tool_battery": (
            "{noun} {voltage} V {capacity} {chemistry} mit Ladestandsanzeige.",
            "Kompatibler {noun} für Bohrschrauber und Kreissägen, {capacity}.",
        ),
        "car_starter_battery": (
            "{noun} {voltage} V {capacity}, {chemistry}, wartungsfrei, 680 A Kaltstart.",
            "{noun} für Start-Stopp-Fahrzeuge, {capacity}, einbaufertig.",
        ),
        "motorcycle_battery": (
            "{noun} {voltage} V {capacity} {chemistry}, auslaufsicher, vorgeladen.",
            "{noun} für Motorrad, Roller und Quad, {capacity}.",
        ),
        "ebike_battery": (
            "{noun} {voltage} V {capacity}, {chemistry}, abschließbar, mit Ladegerät.",
            "Ersatz-{noun} für Pedelecs mit Mittelmotor, Reichweite bis 120 km.",
        ),
        "escooter_battery": (
            "{noun} {voltage} V {capacity}, {chemistry}, mit BMS, für E-Roller.",
            "{noun} zum Nachrüsten, {capacity}, Stecker passend für gängige Scooter.",
        ),
        "home_storage": (
            "{noun} {capacity} {chemistry} für Photovoltaikanlagen, {voltage} V.",
            "Modularer {noun} mit Wechselrichter-Anschluss, {capacity}, Wandmontage.",
        ),
        "forklift_battery": (
            "{noun} {voltage} V {capacity}, {chemistry}, für Flurförderzeuge im Schichtbetrieb.",
            "{noun} mit Trog und Aquamatik, {capacity}, {weight} kg.",
        ),
        "ev_traction_module": (
            "{noun} {capacity} {chemistry}, {voltage} V, Ersatzteil für Hochvolt-Speicher.",
            "{noun} aus Rückbau, geprüft, {capacity}, nur für Fachbetriebe.",
        ),
    },
    colors=("schwarz", "grau", "blau", "silber"),
    adjectives=("Neu", "Premium", "Longlife", "Pro", "Power", "Original"),
    common=("Versand aus Deutschland.", "Mit Rücknahmehinweis.", "Gefahrgutversand.", ""),
    screen_unit="Zoll",
)

_BATTERY_TYPE_KEYS = frozenset(BATTERY_TYPES_BY_KEY)
_DE_BATTERIES_V1 = {
    "DE-BAT-GER": (
        "Gerätebatterien (versiegelt, tragbar)",
        ("aa_cells", "button_cell", "rechargeable_aaa", "laptop_battery", "tool_battery"),
    ),
    "DE-BAT-SLI": (
        "Starter-, Licht- und Zündbatterien",
        ("car_starter_battery", "motorcycle_battery"),
    ),
    "DE-BAT-IND": (
        "Industriebatterien",
        (
            "ebike_battery",
            "escooter_battery",
            "home_storage",
            "forklift_battery",
            "ev_traction_module",
        ),
    ),
}
_DE_BATTERIES_V2 = {
    **{k: v for k, v in _DE_BATTERIES_V1.items() if k != "DE-BAT-IND"},
    "DE-BAT-IND": ("Industriebatterien", ("home_storage", "forklift_battery")),
    "DE-BAT-LMT": (
        "Batterien für leichte Verkehrsmittel (BattVO 2026)",
        ("ebike_battery", "escooter_battery"),
    ),
    "DE-BAT-EV": ("Traktionsbatterien für Elektrofahrzeuge (BattVO 2026)", ("ev_traction_module",)),
}


@dataclass(frozen=True)
class Scheme:
    """A further regulatory scheme of a country: its own product types, words and code tables."""

    name: str
    language: Language
    tables: dict[str, CodeTable]
    product_types: tuple[BatteryType, ...]


@dataclass(frozen=True)
class Country:
    code: str
    language: Language
    tables: dict[str, CodeTable]
    price_currency: str
    schemes: dict[str, Scheme] = field(default_factory=dict)


DE_BATTERIES = Scheme(
    "batteries",
    GERMAN_BATTERIES,
    {
        "v1": _table("v1", _DE_BATTERIES_V1, _BATTERY_TYPE_KEYS),
        "v2": _table("v2", _DE_BATTERIES_V2, _BATTERY_TYPE_KEYS),
    },
    BATTERY_TYPES,
)

COUNTRIES: dict[str, Country] = {
    "de": Country(
        "de",
        GERMAN,
        {"v1": _table("v1", _DE_V1), "v2": _table("v2", _DE_V2)},
        "EUR",
        {"batteries": DE_BATTERIES},
    ),
    "fr": Country("fr", FRENCH, {"v1": _table("v1", _FR_V1), "v2": _table("v2", _FR_V2)}, "EUR"),
    "gb": Country("gb", ENGLISH, {"v1": _table("v1", _GB_V1), "v2": _table("v2", _GB_V2)}, "GBP"),
}
