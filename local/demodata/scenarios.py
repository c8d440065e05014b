"""Bad months: pure functions that turn a good month's labeled records into the ones issue 11
found to slip through, and ``rewrite_labeled`` to apply one to a generated month on disk.

Each function takes the month's records (dicts as ``generator.iter_products`` yields them) and
returns new ones (the input is left unchanged); every parameter has a default, so ``SCENARIOS``
maps a scenario's name to a one-argument function (``python -m local.demodata`` and
``make demo --bad-month`` name them). What each one should meet: the data gates of ``prepare``
(tiny, single class, blank titles, duplicates, vanished classes), the training and serving
guards (non-finite), or the golden set at evaluation (swapped labels, single class).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

Record = dict
LABEL = "label"


def _copies(records: Iterable[Record]) -> list[Record]:
    return [dict(record) for record in records]


def _by_size(records: Sequence[Record]) -> list[str]:
    """The month's classes, largest first (ties: by code)."""
    counts = Counter(record[LABEL] for record in records)
    return sorted(counts, key=lambda label: (-counts[label], label))


def swap_labels(
    records: Iterable[Record], first: str | None = None, second: str | None = None
) -> list[Record]:
    """Exchange the labels of two classes (default: the two largest): a mislabeled month."""
    out = _copies(records)
    if first is None and second is None:
        classes = _by_size(out)
        if len(classes) < 2:
            raise ValueError("swap_labels needs a month with at least two classes")
        first, second = classes[:2]
    elif first is None or second is None:
        raise ValueError("swap_labels: name both classes, or neither (the two largest)")
    if first == second:
        raise ValueError(f"swap_labels: both classes are {first!r}")
    swap = {first: second, second: first}
    for record in out:
        record[LABEL] = swap.get(record[LABEL], record[LABEL])
    return out


def single_class(records: Iterable[Record], label: str | None = None) -> list[Record]:
    """Keep the items of one class only (default: the largest): a broken export."""
    out = _copies(records)
    chosen = label or _by_size(out)[0]
    kept = [record for record in out if record[LABEL] == chosen]
    if not kept:
        raise ValueError(f"single_class: no item has label {chosen!r}")
    return kept


def blank_titles(records: Iterable[Record]) -> list[Record]:
    """Every title empty (descriptions kept): an export that lost a column."""
    return [{**record, "title": ""} for record in records]


def tiny(records: Iterable[Record], items: int = 5) -> list[Record]:
    """The first ``items`` records only: a month that is a fragment."""
    if items < 1:
        raise ValueError(f"tiny: items={items} must be at least 1")
    return _copies(records)[:items]


def non_finite(
    records: Iterable[Record],
    count: int = 3,
    value: float = 1e308,
    fields: Sequence[str] = ("weight_kg",),
) -> list[Record]:
    """``value`` (``1e308``, ``math.inf``...) in the numeric ``fields`` of the first ``count``
    records: the values that poisoned training and serving."""
    out = _copies(records)
    for record in out[:count]:
        for name in fields:
            record[name] = value
    return out


def duplicated(records: Iterable[Record], share: float = 0.5) -> list[Record]:
    """Copies of earlier items under new item_ids, until they are ``share`` of the month."""
    if not 0 <= share < 1:
        raise ValueError(f"duplicated: share={share} must be in [0, 1)")
    out = _copies(records)
    if not out:
        return out
    extra = math.ceil(len(out) * share / (1 - share))
    copies = [
        {**out[i % len(out)], "item_id": f"{out[i % len(out)]['item_id']}-dup{i}"}
        for i in range(extra)
    ]
    return out + copies


def drop_classes(
    records: Iterable[Record], labels: Sequence[str] | None = None, count: int = 2
) -> list[Record]:
    """Remove every item of ``labels`` (default: the ``count`` smallest classes): classes that
    vanish from one month to the next."""
    out = _copies(records)
    dropped = set(labels) if labels is not None else set(_by_size(out)[-count:])
    return [record for record in out if record[LABEL] not in dropped]


SCENARIOS: dict[str, Callable[[list[Record]], list[Record]]] = {
    "swapped-labels": swap_labels,
    "single-class": single_class,
    "blank-titles": blank_titles,
    "tiny": tiny,
    "non-finite": non_finite,
    "duplicates": duplicated,
    "vanished-classes": drop_classes,
}


def apply(name: str, records: Iterable[Record]) -> list[Record]:
    """The scenario ``name`` (a key of ``SCENARIOS``) with its defaults."""
    try:
        scenario = SCENARIOS[name]
    except KeyError:
        raise ValueError(
            f"bad-month scenario {name!r}: expected one of {', '.join(SCENARIOS)}"
        ) from None
    return scenario(list(records))


def rewrite_labeled(
    directory: Path | str, scenario: str | Callable[[list[Record]], list[Record]]
) -> int:
    """Apply ``scenario`` to the month's labeled records in ``directory`` (its ``*.jsonl``
    parts, in order), written back as one ``part-00000.jsonl``; returns the records written.

    Non-finite numbers are written as JSON's extensions ``Infinity``/``NaN`` (what a broken
    exporter writes); ``1e308`` stays a valid JSON number.
    """
    directory = Path(directory)
    parts = sorted(directory.glob("*.jsonl"))
    records = [
        json.loads(line)
        for part in parts
        for line in part.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    changed = apply(scenario, records) if isinstance(scenario, str) else scenario(records)
    for part in parts:
        part.unlink()
    with (directory / "part-00000.jsonl").open("w", encoding="utf-8") as handle:
        for record in changed:
            handle.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
    return len(changed)
