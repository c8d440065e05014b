"""Data profiles and the drift between two of them.

A profile summarises a set of product records (labeled or not) in a small JSON-able dict; the
prepare job writes one per training month (``profile.json``) and the batch job one per scored
month. ``compare_profiles`` says how far a month moved from a reference month: the distance
between their class distributions, the classes that vanished or appeared, and the shift of the
title length and of the numeric fields. Gates and alerts apply thresholds to that result; this
module decides nothing.

The class distance is the Jensen–Shannon distance with base-2 logarithms: symmetric, 0 for equal
distributions, 1 for disjoint ones, defined when a class is missing on one side (where the
Kullback–Leibler divergence is infinite). Written here in a few lines: numpy is not needed for
dicts of a few hundred counts.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

PROFILE_VERSION = 1
TEXT_FIELD = "title"
NUMERIC_FIELDS = ("weight_kg", "screen_size_in")


# Numeric values kept for the median and p95: all of them up to this many, past it a uniform
# sample of this many (reservoir sampling), so a field costs at most this many floats whatever
# the month's volume. Count, min, max and mean stay exact.
NUMERIC_SAMPLE_SIZE = 100_000


def _quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _histogram_quantile(counts: list[tuple[int, int]], total: int, q: float) -> int:
    """The value at rank ``int(q * total)`` of the values ``counts`` (value, count), in value
    order: what ``_quantile`` gives on the expanded, sorted list, without expanding it."""
    rank = min(total - 1, int(q * total))
    seen = 0
    for value, count in counts:
        seen += count
        if seen > rank:
            return value
    raise ValueError("rank beyond the histogram")  # unreachable: the counts sum to total


class NumericStats:
    """One numeric field's count, min, max and sum, exact, and a bounded sample for quantiles:
    every value while there are at most ``sample_size``, then a uniform sample of that many
    (Algorithm R, seeded: the same records give the same profile)."""

    def __init__(self, sample_size: int | None = None, seed: int = 0) -> None:
        self.sample_size = NUMERIC_SAMPLE_SIZE if sample_size is None else sample_size
        self.count = 0
        self.total = 0.0
        self.low = math.inf
        self.high = -math.inf
        self.sample: list[float] = []
        self._random = random.Random(seed)

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.low = min(self.low, value)
        self.high = max(self.high, value)
        if len(self.sample) < self.sample_size:
            self.sample.append(value)
            return
        slot = self._random.randrange(self.count)
        if slot < self.sample_size:
            self.sample[slot] = value

    def stats(self) -> dict[str, float] | None:
        if not self.count:
            return None
        ordered = sorted(self.sample)
        return {
            "min": self.low,
            "max": self.high,
            "mean": self.total / self.count,
            "median": _quantile(ordered, 0.5),
            "p95": _quantile(ordered, 0.95),
        }


class Profiler:
    """Accumulates a profile one record at a time, in memory bounded whatever the number of
    records: text lengths as a histogram (exact quantiles from it), numeric fields as
    ``NumericStats`` (exact count, min, max and mean; quantiles from a bounded sample, exact up
    to ``NUMERIC_SAMPLE_SIZE`` values). A month of millions of records costs a few megabytes.
    """

    def __init__(self, numeric_sample_size: int | None = None) -> None:
        self.n_items = 0
        self.labels: Counter[str] = Counter()
        self.title_lengths: Counter[int] = Counter()
        self.empty_text = 0
        self.numeric: dict[str, NumericStats] = {
            name: NumericStats(numeric_sample_size) for name in NUMERIC_FIELDS
        }
        self.missing: Counter[str] = Counter()

    def add(self, record: Mapping[str, Any], label: str | None = None) -> None:
        self.n_items += 1
        if label is not None:
            self.labels[label] += 1
        title = str(record.get(TEXT_FIELD) or "").strip()
        if not title:
            self.empty_text += 1
        self.title_lengths[len(title)] += 1
        for name in NUMERIC_FIELDS:
            value = record.get(name)
            if value is None:
                self.missing[name] += 1
            elif isinstance(value, int | float) and not isinstance(value, bool):
                if math.isfinite(value):
                    self.numeric[name].add(float(value))

    def _text_length(self) -> dict[str, float] | None:
        if not self.n_items:
            return None
        counts = sorted(self.title_lengths.items())
        total = sum(n for _, n in counts)
        return {
            "min": float(counts[0][0]),
            "max": float(counts[-1][0]),
            "mean": sum(length * n for length, n in counts) / total,
            "median": float(_histogram_quantile(counts, total, 0.5)),
            "p95": float(_histogram_quantile(counts, total, 0.95)),
        }

    def profile(self) -> dict[str, Any]:
        return {
            "profile_version": PROFILE_VERSION,
            "n_items": self.n_items,
            "label_counts": dict(sorted(self.labels.items())),
            "empty_text_share": self.empty_text / self.n_items if self.n_items else 0.0,
            "text_length": self._text_length(),
            "numeric_stats": {name: stats.stats() for name, stats in self.numeric.items()},
            "missing": {name: self.missing.get(name, 0) for name in NUMERIC_FIELDS},
        }


def profile_records(
    records: Iterable[Mapping[str, Any]], *, label_field: str | None = None
) -> dict[str, Any]:
    """The profile of ``records``; with ``label_field``, their class distribution too."""
    profiler = Profiler()
    for record in records:
        profiler.add(record, str(record[label_field]) if label_field else None)
    return profiler.profile()


def class_distance(reference: Mapping[str, float], current: Mapping[str, float]) -> float | None:
    """Jensen–Shannon distance (base 2, in [0, 1]) between two count maps; None if one is empty."""
    total_ref, total_cur = sum(reference.values()), sum(current.values())
    if total_ref <= 0 or total_cur <= 0:
        return None
    divergence = 0.0
    for label in set(reference) | set(current):
        p = reference.get(label, 0) / total_ref
        q = current.get(label, 0) / total_cur
        m = (p + q) / 2
        if p > 0:
            divergence += 0.5 * p * math.log2(p / m)
        if q > 0:
            divergence += 0.5 * q * math.log2(q / m)
    return math.sqrt(max(0.0, min(1.0, divergence)))


def _relative_shift(reference: Mapping[str, Any] | None, current: Mapping[str, Any] | None):
    if not reference or not current:
        return None
    base = float(reference["mean"])
    if base == 0:
        return None if float(current["mean"]) == 0 else math.inf
    return (float(current["mean"]) - base) / abs(base)


def compare_profiles(
    reference: Mapping[str, Any],
    current: Mapping[str, Any],
    *,
    codes: Iterable[str] | None = None,
) -> dict[str, Any]:
    """How far ``current`` moved from ``reference`` (two profiles).

    ``codes``: the current code table's codes. When given, classes of the reference that the
    table no longer holds are ``retired_classes`` (a regulation change removed them), not
    ``vanished_classes``, and the class distance is taken over the codes both sides can hold.
    ``class_distance`` is None when either side has no labels (an unlabeled month: batch drift
    compares predicted label counts, passed in as the current ``label_counts``).
    """
    ref_counts = dict(reference.get("label_counts") or {})
    cur_counts = dict(current.get("label_counts") or {})
    table = set(codes) if codes is not None else None
    retired: list[str] = []
    if table is not None:
        retired = sorted(label for label in ref_counts if label not in table)
        ref_counts = {label: n for label, n in ref_counts.items() if label in table}
    vanished = sorted(
        label for label, n in ref_counts.items() if n > 0 and not cur_counts.get(label)
    )
    new = sorted(label for label, n in cur_counts.items() if n > 0 and not ref_counts.get(label))
    ref_numeric = reference.get("numeric_stats") or {}
    cur_numeric = current.get("numeric_stats") or {}
    return {
        "reference_items": reference.get("n_items"),
        "current_items": current.get("n_items"),
        "class_distance": class_distance(ref_counts, cur_counts),
        "vanished_classes": vanished,
        "new_classes": new,
        "retired_classes": retired,
        "text_length_shift": _relative_shift(
            reference.get("text_length"), current.get("text_length")
        ),
        "empty_text_share": {
            "reference": reference.get("empty_text_share"),
            "current": current.get("empty_text_share"),
        },
        "numeric_shift": {
            name: _relative_shift(ref_numeric.get(name), cur_numeric.get(name))
            for name in sorted(set(ref_numeric) | set(cur_numeric))
        },
    }
