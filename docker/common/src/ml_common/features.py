"""Preprocessing shared by training and inference: the text to vectorise and numeric attributes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ml_common.records import quote_number

PREPROCESSING_VERSION = 1
POWER_SOURCES = ("mains", "battery", "usb", "solar", "none")
NUMERIC_FEATURES = (
    "log_weight_kg",
    "weight_missing",
    "screen_size_ft",
    "screen_missing",
    "battery",
    *(f"power_{p}" for p in POWER_SOURCES),
    "power_other",
)


def record_text(record: dict[str, Any]) -> str:
    """Title, brand and description in one string (the brand is a strong hint for some types)."""
    return (
        f"{record.get('title') or ''} {record.get('brand') or ''} {record.get('description') or ''}"
    )


def texts(records: Sequence[dict[str, Any]]) -> list[str]:
    return [record_text(r) for r in records]


# The record field each scaled numeric feature comes from (the others are 0/1 indicators).
SOURCE_FIELDS = {"log_weight_kg": "weight_kg", "screen_size_ft": "screen_size_in"}


class FeatureError(ValueError):
    """A record whose numeric features are not finite (its field was outside the contract)."""

    def __init__(self, row: int, feature: str, value: Any):
        self.row, self.feature, self.field, self.value = row, feature, SOURCE_FIELDS[feature], value
        self.detail = (
            f"feature {feature} is not finite (field {self.field} = {quote_number(value)}, "
            "outside ml_common.records.NUMERIC_RANGES)"
        )
        super().__init__(f"record {row}: {self.detail}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def numeric_matrix(records: Sequence[dict[str, Any]]) -> np.ndarray:
    """The numeric/boolean attributes as a dense float32 matrix, scaled to roughly [0, 1].

    ``log1p(weight_kg) / 4`` and ``screen_size_in / 12``: within the record contract's ranges
    (ml_common.records.NUMERIC_RANGES) at most ≈ 2.9 and ≈ 83. Outside them a value can overflow
    (``1e308 / 12`` is ``inf`` in float32; ``log1p`` of a 400-digit integer raises) or poison
    a model with NaN, so a non-finite feature raises :class:`FeatureError` naming the record
    rather than reaching a model: the callers validate first, this is the last line.

    Column-wise (the serving hot path: about half the time of writing numpy cells row by row):
    each field read in one pass, converted by numpy, the power source looked up once per
    distinct value. A batch holding anything else than numbers and nulls in a numeric field, or
    a value that cannot be featurised, goes through :func:`numeric_rows`, the per-record
    definition, so the answer (or the error) is the one it gives.
    """
    n = len(records)
    out = np.zeros((n, len(NUMERIC_FEATURES)), dtype=np.float32)
    if n == 0:
        return out
    for column, name in enumerate(("weight_kg", "screen_size_in")):
        values = [r.get(name) for r in records]
        if not _NUMBER_OR_NONE.issuperset(map(type, values)):  # a bool, a string...
            return numeric_rows(records)
        try:
            array = np.array(values, dtype=np.float64)  # None is NaN here
        except OverflowError:  # an integer too large for a float
            return numeric_rows(records)
        with np.errstate(invalid="ignore"):
            present = array >= 0  # False for None (NaN), negatives and -inf
        if int(np.isnan(array).sum()) != values.count(None):  # a NaN value: an error
            return numeric_rows(records)
        kept = array[present]
        if column == 0:  # math.log1p, as numeric_rows: the same bits on any platform
            kept = np.fromiter(map(math.log1p, kept.tolist()), np.float64, len(kept)) / 4.0
        else:
            kept = kept / 12.0
        with np.errstate(over="ignore"):  # a float32 overflow is inf: the check below
            out[present, 2 * column] = kept
        out[:, 2 * column + 1] = ~present
    out[:, 4] = [r.get("battery") is True for r in records]
    sources = [r.get("power_source") for r in records]
    try:
        index = {s: _power_column(s) for s in set(sources)}
    except TypeError:  # an unhashable value (a list...)
        index = None
    columns = [_power_column(s) for s in sources] if index is None else [index[s] for s in sources]
    out[np.arange(n), columns] = 1.0
    if not np.isfinite(out[:, [0, 2]]).all():  # 1e308 / 12 overflows float32
        return numeric_rows(records)
    return out


_NUMBER_OR_NONE = frozenset((int, float, type(None)))
_POWER_INDEX = {p: 5 + i for i, p in enumerate(POWER_SOURCES)}


def _power_column(source: Any) -> int:
    return _POWER_INDEX.get(str(source or "").lower(), len(NUMERIC_FEATURES) - 1)


def numeric_rows(records: Sequence[dict[str, Any]]) -> np.ndarray:
    """:func:`numeric_matrix` record by record: the definition, and the error path."""
    out = np.zeros((len(records), len(NUMERIC_FEATURES)), dtype=np.float32)
    power_index = {p: 5 + i for i, p in enumerate(POWER_SOURCES)}
    other = len(NUMERIC_FEATURES) - 1
    # A float32 overflow (1e308 / 12) becomes inf, reported below with its record.
    with np.errstate(over="ignore"):
        for row, record in enumerate(records):
            weight = record.get("weight_kg")
            if _is_number(weight) and weight >= 0:
                try:
                    out[row, 0] = math.log1p(weight) / 4.0
                except OverflowError:  # an integer too large for a float
                    raise FeatureError(row, "log_weight_kg", weight) from None
            elif _is_number(weight) and weight != weight:  # NaN: not "missing", an error
                raise FeatureError(row, "log_weight_kg", weight)
            else:
                out[row, 1] = 1.0
            screen = record.get("screen_size_in")
            if _is_number(screen) and screen >= 0:
                try:
                    out[row, 2] = screen / 12.0
                except OverflowError:
                    raise FeatureError(row, "screen_size_ft", screen) from None
            elif _is_number(screen) and screen != screen:
                raise FeatureError(row, "screen_size_ft", screen)
            else:
                out[row, 3] = 1.0
            out[row, 4] = 1.0 if record.get("battery") is True else 0.0
            out[row, power_index.get(str(record.get("power_source") or "").lower(), other)] = 1.0
    finite = np.isfinite(out[:, [0, 2]])  # the indicator columns are 0/1 by construction
    if not finite.all():
        row, column = (int(i) for i in np.argwhere(~finite)[0])
        feature = ("log_weight_kg", "screen_size_ft")[column]
        raise FeatureError(row, feature, records[row].get(SOURCE_FIELDS[feature]))
    return out
