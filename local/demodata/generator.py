"""Seeded, deterministic demo catalogs written in the data bucket's layout (docs/interfaces.md).

Records are produced one at a time and written straight to part files, so a month of over a
million items needs no more memory than a thousand.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from local.demodata.catalog import COUNTRIES, PRODUCT_TYPES, Country, ProductType

DEFAULT_REGULATION_CHANGE = "2026-11"
DEFAULT_LABEL_NOISE = 0.02
DEFAULT_PART_SIZE = 100_000


def _check_country(country: str) -> Country:
    try:
        return COUNTRIES[country.lower()]
    except KeyError:
        raise ValueError(
            f"country {country!r}: no demo catalog (known: {', '.join(sorted(COUNTRIES))})"
        ) from None


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


def code_table(country: str, version: str) -> dict:
    """The code table file: ``{"codes": [{"code", "description"}...]}`` plus country, version."""
    table = _check_country(country).tables[version]
    return {
        "country": country.lower(),
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


def iter_products(
    country: str,
    month: str,
    items: int,
    *,
    labeled: bool = True,
    seed: int = 0,
    regulation_change_from: str | None = DEFAULT_REGULATION_CHANGE,
    label_noise: float = DEFAULT_LABEL_NOISE,
) -> Iterator[dict]:
    """Yield ``items`` product records for one country and month, deterministic in ``seed``."""
    catalog = _check_country(country)
    version = code_table_version(month, regulation_change_from)
    table = catalog.tables[version]
    codes = sorted(table.codes)
    kind = "labeled" if labeled else "unlabeled"
    # str seeds hash with SHA-512 inside random: stable across processes and PYTHONHASHSEED.
    rng = random.Random(f"{seed}:{catalog.code}:{month}:{kind}")
    noise = random.Random(
        f"{seed}:{catalog.code}:{month}:{kind}:noise"
    )  # same products at any noise
    weights = [t.share for t in PRODUCT_TYPES]
    prefix = f"{catalog.code}-{month.replace('-', '')}-{'L' if labeled else 'U'}"
    for index in range(items):
        ptype = rng.choices(PRODUCT_TYPES, weights)[0]
        record = _product(rng, catalog, ptype, f"{prefix}{index:07d}")
        if labeled:
            label = table.assignment[ptype.key]
            if noise.random() < label_noise:
                label = noise.choice([c for c in codes if c != label])
            record["label"] = label
        yield record


@dataclass
class MonthSummary:
    country: str
    month: str
    code_table_version: str
    labeled_items: int
    unlabeled_items: int
    files: list[str] = field(default_factory=list)
    label_counts: dict[str, int] = field(default_factory=dict)


def _write_parts(
    directory: Path, records: Iterator[dict], part_size: int, counts: Counter | None
) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    handle = None
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
    unlabeled_items: int | None = None,
    seed: int = 0,
    regulation_change_from: str | None = DEFAULT_REGULATION_CHANGE,
    label_noise: float = DEFAULT_LABEL_NOISE,
    part_size: int = DEFAULT_PART_SIZE,
) -> MonthSummary:
    """Write ``<cc>/code_tables/<version>.json`` and ``<cc>/<month>/{labeled,unlabeled}/``."""
    if items < 1:
        raise ValueError(f"items={items}: need at least one labeled item")
    if not 0 <= label_noise < 1:
        raise ValueError(f"label_noise={label_noise}: must be in [0, 1)")
    out = Path(out)
    cc = _check_country(country).code
    version = code_table_version(month, regulation_change_from)
    unlabeled_items = max(1, items // 5) if unlabeled_items is None else unlabeled_items
    table_path = out / cc / "code_tables" / f"{version}.json"
    table_path.parent.mkdir(parents=True, exist_ok=True)
    table_path.write_text(
        json.dumps(code_table(cc, version), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    common = {"seed": seed, "regulation_change_from": regulation_change_from}
    counts: Counter = Counter()
    month_dir = out / cc / month
    files = [table_path]
    files += _write_parts(
        month_dir / "labeled",
        iter_products(cc, month, items, labeled=True, label_noise=label_noise, **common),
        part_size,
        counts,
    )
    if unlabeled_items:
        files += _write_parts(
            month_dir / "unlabeled",
            iter_products(cc, month, unlabeled_items, labeled=False, **common),
            part_size,
            None,
        )
    return MonthSummary(
        country=cc,
        month=month,
        code_table_version=version,
        labeled_items=items,
        unlabeled_items=unlabeled_items,
        files=[str(p.relative_to(out)) for p in files],
        label_counts=dict(sorted(counts.items())),
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
    """The demo's data: every country and month; the regulation change takes effect in its month."""
    return [
        generate_month(
            out, cc, month, items, seed=seed, regulation_change_from=regulation_change_from
        )
        for cc in countries
        for month in months
    ]
