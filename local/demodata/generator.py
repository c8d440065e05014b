"""Seeded, deterministic demo catalogs written in the data bucket's layout (docs/interfaces.md).

Records are produced one at a time and written straight to part files, so a month of over a
million items needs no more memory than a thousand.
"""

from __future__ import annotations

import functools
import json
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from local.demodata.catalog import (
    COUNTRIES,
    PRODUCT_TYPES,
    BatteryType,
    CodeTable,
    Country,
    Language,
    ProductType,
    Scheme,
)

DEFAULT_REGULATION_CHANGE = "2026-11"
DEFAULT_LABEL_NOISE = 0.02
DEFAULT_PART_SIZE = 100_000
# The golden set: this many products of every product type, so every code of the table has at
# least as many items (DE: 16 types x 20 = 320 items; DE batteries: 12 x 20 = 240).
DEFAULT_GOLDEN_ITEMS_PER_TYPE = 20
GOLDEN_SEED = "golden-1"  # fixed: the golden set never changes with a demo's --seed


def _check_country(country: str) -> Country:
    try:
        return COUNTRIES[country.lower()]
    except KeyError:
        raise ValueError(
            f"country {country!r}: no demo catalog (known: {', '.join(sorted(COUNTRIES))})"
        ) from None


def _check_scheme(country: Country, scheme: str | None) -> Scheme | None:
    if scheme is None:
        return None
    try:
        return country.schemes[scheme]
    except KeyError:
        known = ", ".join(sorted(country.schemes)) or "none"
        raise ValueError(
            f"country {country.code!r}, scheme {scheme!r}: no demo catalog (known: {known})"
        ) from None


def _tables(
    country: str, scheme: str | None
) -> tuple[Country, Scheme | None, dict[str, CodeTable]]:
    catalog = _check_country(country)
    found = _check_scheme(catalog, scheme)
    return catalog, found, (found.tables if found else catalog.tables)


def data_prefix(country: str, scheme: str | None = None) -> str:
    """Where a model's data lives in the bucket by default: ``de`` or ``de/batteries``."""
    catalog, found, _ = _tables(country, scheme)
    return catalog.code if found is None else f"{catalog.code}/{found.name}"


def model_keys() -> list[str]:
    """Every demo catalog as a model key: ``de``, ``de-batteries``, ``fr``, ... (sorted)."""
    schemes = [f"{cc}-{name}" for cc, country in COUNTRIES.items() for name in country.schemes]
    return sorted([*COUNTRIES, *schemes])


def split_model_key(key: str) -> tuple[str, str | None]:
    """``de`` -> (``de``, None); ``de-batteries`` -> (``de``, ``batteries``); checked."""
    country, _, scheme = key.lower().partition("-")
    _tables(country, scheme or None)
    return country, scheme or None


def _check_month(month: str) -> str:
    parts = month.split("-")
    if (
        len(parts) != 2
        or len(parts[0]) != 4
        or not all(p.isdigit() for p in parts)
        or not 1 <= int(parts[1]) <= 12
    ):
        raise ValueError(f"month {month!r}: expected YYYY-MM")
    return month


def code_table_version(
    month: str, regulation_change_from: str | None = DEFAULT_REGULATION_CHANGE
) -> str:
    """``v2`` from the regulation-change month on (YYYY-MM compares in time order), else ``v1``."""
    _check_month(month)
    if regulation_change_from is not None and month >= _check_month(regulation_change_from):
        return "v2"
    return "v1"


def code_table(country: str, version: str, scheme: str | None = None) -> dict:
    """The code table file: ``{"codes": [{"code", "description"}...]}`` plus country, version
    (and scheme, for a scheme's table)."""
    _, found, tables = _tables(country, scheme)
    table = tables[version]
    named = {"country": country.lower()} | ({"scheme": found.name} if found else {})
    return named | {
        "version": version,
        "codes": [
            {"code": code, "description": desc} for code, desc in sorted(table.codes.items())
        ],
    }


def _round(value: float, digits: int) -> float:
    return float(f"{value:.{digits}f}")


def _product(rng: random.Random, country: Country, ptype: ProductType, item_id: str) -> dict:
    lang = country.language
    brand = rng.choice(ptype.brands)
    noun = rng.choice(lang.nouns[ptype.key])
    screen = _round(rng.uniform(*ptype.screen_in), 1) if ptype.screen_in else None
    weight = _round(rng.uniform(*ptype.weight_kg), 3)
    values = {
        "brand": brand,
        "noun": noun,
        "screen": f"{screen:g}" if screen is not None else "",
        "weight": f"{weight:g}",
        "capacity": rng.choice((5000, 10000, 20000, 4500, 3000)),
        "watts": rng.choice((900, 1200, 1800, 2000, 2200, 65, 45)),
        "color": rng.choice(lang.colors),
    }
    model = f"{rng.choice('ABCDEFGHKLMRSTXZ')}{rng.randint(1, 99)}"
    style = rng.random()
    if style < 0.55:
        title = f"{brand} {noun} {model}"
    elif style < 0.8:
        title = f"{brand} {rng.choice(lang.adjectives)} {noun} {model} {values['color']}"
    elif style < 0.93:
        title = f"{noun} {brand} {model}"
    else:  # title without the product noun: the description has to carry it
        title = f"{brand} {model} {rng.choice(lang.adjectives)}"
    description = rng.choice(lang.descriptions[ptype.key]).format(**values)
    extra = rng.choice(lang.common)
    if extra:
        description = f"{description} {extra}"
    power = rng.choice(ptype.power)
    return {
        "item_id": item_id,
        "title": title,
        "description": description,
        "brand": brand,
        "weight_kg": weight if rng.random() > 0.05 else None,
        "screen_size_in": screen if screen is None or rng.random() > 0.05 else None,
        "battery": rng.random() < ptype.battery,
        "power_source": power,
    }


def _battery_product(rng: random.Random, lang: Language, btype: BatteryType, item_id: str) -> dict:
    brand = rng.choice(btype.brands)
    noun = rng.choice(lang.nouns[btype.key])
    weight = _round(rng.uniform(*btype.weight_kg), 3)
    values = {
        "brand": brand,
        "noun": noun,
        "voltage": rng.choice(btype.voltages),
        "capacity": rng.choice(btype.capacities),
        "chemistry": rng.choice(btype.chemistries),
        "weight": f"{weight:g}".replace(".", ","),  # the catalog's language writes a comma
        "pieces": rng.choice((2, 4, 8, 10, 20)),
    }
    model = f"{rng.choice('ABCDEFGHKLMRSTXZ')}{rng.randint(1, 99)}"
    rating = f"{values['voltage']} V {values['capacity']}"
    style = rng.random()
    if style < 0.5:
        title = f"{brand} {noun} {rating}"
    elif style < 0.75:
        title = f"{brand} {rng.choice(lang.adjectives)} {noun} {model}"
    elif style < 0.9:
        title = f"{noun} {values['chemistry']} {brand} {model}"
    else:  # title without the product noun: rating, weight and description have to carry it
        title = f"{brand} {model} {rating}"
    description = rng.choice(lang.descriptions[btype.key]).format(**values)
    extra = rng.choice(lang.common)
    if extra:
        description = f"{description} {extra}"
    return {
        "item_id": item_id,
        "title": title,
        "description": description,
        "brand": brand,
        "weight_kg": weight if rng.random() > 0.05 else None,
        "screen_size_in": None,
        "battery": True,
        "power_source": rng.choice(btype.power),
    }


def iter_products(
    country: str,
    month: str,
    items: int,
    *,
    scheme: str | None = None,
    labeled: bool = True,
    seed: int = 0,
    regulation_change_from: str | None = DEFAULT_REGULATION_CHANGE,
    label_noise: float = DEFAULT_LABEL_NOISE,
) -> Iterator[dict]:
    """Yield ``items`` product records for one country (or one of its schemes) and month,
    deterministic in ``seed``."""
    catalog, found, tables = _tables(country, scheme)
    version = code_table_version(month, regulation_change_from)
    table = tables[version]
    codes = sorted(table.codes)
    kind = "labeled" if labeled else "unlabeled"
    # A scheme's streams are seeded by "<cc>/<scheme>": the country's own stay what they were.
    source = catalog.code if found is None else f"{catalog.code}/{found.name}"
    # str seeds hash with SHA-512 inside random: stable across processes and PYTHONHASHSEED.
    rng = random.Random(f"{seed}:{source}:{month}:{kind}")
    noise = random.Random(f"{seed}:{source}:{month}:{kind}:noise")  # same products at any noise
    shares = PRODUCT_TYPES if found is None else found.product_types
    weights = [t.share for t in shares]
    source_id = catalog.code if found is None else f"{catalog.code}-{found.name}"
    prefix = f"{source_id}-{month.replace('-', '')}-{'L' if labeled else 'U'}"
    for index in range(items):
        item_id = f"{prefix}{index:07d}"
        if found is None:
            ptype = rng.choices(PRODUCT_TYPES, weights)[0]
            record = _product(rng, catalog, ptype, item_id)
            key = ptype.key
        else:
            battery = rng.choices(found.product_types, weights)[0]
            record = _battery_product(rng, found.language, battery, item_id)
            key = battery.key
        if labeled:
            label = table.assignment[key]
            if noise.random() < label_noise:
                label = noise.choice([c for c in codes if c != label])
            record["label"] = label
        yield record


def golden_prefix(version: str) -> str:
    """Where a model's golden set of code table ``version`` lives below its data prefix."""
    return f"golden/{version}"


def _iter_golden_typed(
    country: str,
    version: str,
    *,
    scheme: str | None = None,
    items_per_type: int = DEFAULT_GOLDEN_ITEMS_PER_TYPE,
) -> Iterator[tuple[str, dict]]:
    """(product type, labeled record) for the golden set: ``items_per_type`` products of every
    type, round-robin over the types, each labeled with the code ``version`` assigns its type."""
    if items_per_type < 1:
        raise ValueError(f"items_per_type={items_per_type}: need at least one item per type")
    catalog, found, tables = _tables(country, scheme)
    try:
        table = tables[version]
    except KeyError:
        owner = catalog.code if found is None else f"{catalog.code}-{found.name}"
        raise ValueError(
            f"model {owner!r}: no code table {version!r} (known: {', '.join(sorted(tables))})"
        ) from None
    source = catalog.code if found is None else f"{catalog.code}/{found.name}"
    source_id = catalog.code if found is None else f"{catalog.code}-{found.name}"
    # Seeded by the model only: the same products for every month, demo seed and code table
    # (a new table relabels them; every type is there, so every code of any table has items).
    rng = random.Random(f"{GOLDEN_SEED}:{source}")
    index = 0
    for _ in range(items_per_type):
        if found is None:
            for ptype in PRODUCT_TYPES:
                record = _product(rng, catalog, ptype, f"{source_id}-golden-{version}-{index:05d}")
                index += 1
                yield ptype.key, record | {"label": table.assignment[ptype.key]}
        else:
            for btype in found.product_types:
                item_id = f"{source_id}-golden-{version}-{index:05d}"
                record = _battery_product(rng, found.language, btype, item_id)
                index += 1
                # The ground truth: the code the table assigns the type, no label noise.
                yield btype.key, record | {"label": table.assignment[btype.key]}


def iter_golden(
    country: str,
    version: str,
    *,
    scheme: str | None = None,
    items_per_type: int = DEFAULT_GOLDEN_ITEMS_PER_TYPE,
) -> Iterator[dict]:
    """The golden set of a model's code table ``version``: labeled records, every code
    represented, each label the generator's ground truth; fixed (independent of month and seed)."""
    for _, record in _iter_golden_typed(
        country, version, scheme=scheme, items_per_type=items_per_type
    ):
        yield record


@dataclass
class GoldenSummary:
    country: str
    code_table_version: str
    n_items: int
    scheme: str | None = None
    files: list[str] = field(default_factory=list)
    label_counts: dict[str, int] = field(default_factory=dict)


def _dump(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False) + "\n"  # prepare's test-split encoding


def generate_golden(
    out: Path | str,
    country: str,
    version: str,
    *,
    scheme: str | None = None,
    prefix: str | None = None,
    items_per_type: int = DEFAULT_GOLDEN_ITEMS_PER_TYPE,
) -> GoldenSummary:
    """Write ``<prefix>/golden/<version>/``: ``features.jsonl`` and ``labels.jsonl`` (the shapes
    of prepare's ``test_features`` and ``test_labels``) and ``manifest.json`` (counts per code).

    Every label is checked against the code table before anything is written: a code the table
    does not hold, or a code of the table without items, is an error."""
    cc = _check_country(country).code
    _, found, tables = _tables(cc, scheme)
    base = Path(out) / (prefix.strip("/") if prefix else data_prefix(cc, scheme))
    directory = base / golden_prefix(version)
    records = list(_iter_golden_typed(cc, version, scheme=scheme, items_per_type=items_per_type))
    table = tables[version]
    counts = Counter(record["label"] for _, record in records)
    wrong = [r["item_id"] for key, r in records if table.assignment[key] != r["label"]]
    if wrong or set(counts) != set(table.codes):
        raise AssertionError(  # pragma: no cover - the generator's own invariant
            f"golden set {cc} {version}: labels off the ground truth {wrong[:3]} or codes "
            f"without items {sorted(set(table.codes) - set(counts))}"
        )
    directory.mkdir(parents=True, exist_ok=True)
    features = directory / "features.jsonl"
    labels = directory / "labels.jsonl"
    manifest = directory / "manifest.json"
    with features.open("w", encoding="utf-8") as f, labels.open("w", encoding="utf-8") as lab:
        for _, record in records:
            f.write(_dump({k: v for k, v in record.items() if k != "label"}))
            lab.write(_dump({"item_id": record["item_id"], "label": record["label"]}))
    named = {"country": cc} | ({"scheme": found.name} if found else {})
    manifest.write_text(
        json.dumps(
            named
            | {
                "code_table_version": version,
                "n_items": len(records),
                "items_per_product_type": items_per_type,
                "label_counts": dict(sorted(counts.items())),
                "labels": "the generator's ground truth: the code the table assigns each "
                "product's type, no label noise",
            },
            ensure_ascii=False,
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    root = Path(out)
    return GoldenSummary(
        country=cc,
        scheme=scheme,
        code_table_version=version,
        n_items=len(records),
        files=[str(p.relative_to(root)) for p in (features, labels, manifest)],
        label_counts=dict(sorted(counts.items())),
    )


@dataclass
class MonthSummary:
    country: str
    month: str
    code_table_version: str
    labeled_items: int
    unlabeled_items: int
    scheme: str | None = None
    files: list[str] = field(default_factory=list)
    label_counts: dict[str, int] = field(default_factory=dict)
    golden_items: int = 0  # the code table's golden set, written with the month


def _write_parts(
    directory: Path, records: Iterator[dict], part_size: int, counts: Counter | None
) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    handle: TextIO | None = None
    try:
        for index, record in enumerate(records):
            if index % part_size == 0:
                if handle:
                    handle.close()
                path = directory / f"part-{index // part_size:05d}.jsonl"
                handle = path.open("w", encoding="utf-8")
                written.append(path)
            if counts is not None:
                counts[record["label"]] += 1
            assert handle is not None  # index 0 opened the first part
            handle.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
    finally:
        if handle:
            handle.close()
    return written


def generate_month(
    out: Path | str,
    country: str,
    month: str,
    items: int,
    *,
    scheme: str | None = None,
    prefix: str | None = None,
    unlabeled_items: int | None = None,
    seed: int = 0,
    regulation_change_from: str | None = DEFAULT_REGULATION_CHANGE,
    label_noise: float = DEFAULT_LABEL_NOISE,
    part_size: int = DEFAULT_PART_SIZE,
) -> MonthSummary:
    """Write ``<prefix>/code_tables/<version>.json``, the table's golden set
    (``<prefix>/golden/<version>/``, :func:`generate_golden`) and
    ``<prefix>/<month>/{labeled,unlabeled}/``.

    ``prefix`` defaults to :func:`data_prefix`: ``<cc>``, or ``<cc>/<scheme>`` for a scheme.
    """
    if items < 1:
        raise ValueError(f"items={items}: need at least one labeled item")
    if not 0 <= label_noise < 1:
        raise ValueError(f"label_noise={label_noise}: must be in [0, 1)")
    out = Path(out)
    cc = _check_country(country).code
    directory = out / (prefix.strip("/") if prefix else data_prefix(cc, scheme))
    version = code_table_version(month, regulation_change_from)
    unlabeled_items = max(1, items // 5) if unlabeled_items is None else unlabeled_items
    table_path = directory / "code_tables" / f"{version}.json"
    table_path.parent.mkdir(parents=True, exist_ok=True)
    table_path.write_text(
        json.dumps(code_table(cc, version, scheme), ensure_ascii=False, indent=2) + "\n",
        encoding="utf-8",
    )
    products = functools.partial(
        iter_products,
        cc,
        month,
        scheme=scheme,
        seed=seed,
        regulation_change_from=regulation_change_from,
    )
    golden = generate_golden(out, cc, version, scheme=scheme, prefix=prefix)
    counts: Counter = Counter()
    month_dir = directory / month
    files = [table_path, *(out / name for name in golden.files)]
    files += _write_parts(
        month_dir / "labeled",
        products(items, labeled=True, label_noise=label_noise),
        part_size,
        counts,
    )
    if unlabeled_items:
        files += _write_parts(
            month_dir / "unlabeled",
            products(unlabeled_items, labeled=False),
            part_size,
            None,
        )
    return MonthSummary(
        country=cc,
        scheme=scheme,
        month=month,
        code_table_version=version,
        labeled_items=items,
        unlabeled_items=unlabeled_items,
        files=[str(p.relative_to(out)) for p in files],
        label_counts=dict(sorted(counts.items())),
        golden_items=golden.n_items,
    )


def previous_month(month: str) -> str:
    year, mon = map(int, _check_month(month).split("-"))
    return f"{year - 1}-12" if mon == 1 else f"{year}-{mon - 1:02d}"


def generate_scenario(
    out: Path | str,
    countries: tuple[str, ...] = ("de", "fr", "gb"),
    months: tuple[str, ...] = ("2026-10", DEFAULT_REGULATION_CHANGE),
    items: int = 5000,
    *,
    seed: int = 0,
    regulation_change_from: str | None = DEFAULT_REGULATION_CHANGE,
) -> list[MonthSummary]:
    """The demo's data: every country, each of its schemes, and month; the regulation change
    takes effect in its month."""
    return [
        generate_month(
            out,
            cc,
            month,
            items,
            scheme=scheme,
            seed=seed,
            regulation_change_from=regulation_change_from,
        )
        for cc in countries
        for scheme in (None, *sorted(_check_country(cc).schemes))
        for month in months
    ]
