"""Preprocessing shared by training and inference: the text to vectorise and numeric attributes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

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


def numeric_matrix(records: Sequence[dict[str, Any]]) -> np.ndarray:
    """The numeric/boolean attributes as a dense float32 matrix, scaled to roughly [0, 1]."""
    out = np.zeros((len(records), len(NUMERIC_FEATURES)), dtype=np.float32)
    power_index = {p: 5 + i for i, p in enumerate(POWER_SOURCES)}
    other = len(NUMERIC_FEATURES) - 1
    for row, record in enumerate(records):
        weight = record.get("weight_kg")
        if isinstance(weight, int | float) and not isinstance(weight, bool) and weight >= 0:
            out[row, 0] = math.log1p(weight) / 4.0
        else:
            out[row, 1] = 1.0
        screen = record.get("screen_size_in")
        if isinstance(screen, int | float) and not isinstance(screen, bool) and screen >= 0:
            out[row, 2] = screen / 12.0
        else:
            out[row, 3] = 1.0
        out[row, 4] = 1.0 if record.get("battery") is True else 0.0
        out[row, power_index.get(str(record.get("power_source") or "").lower(), other)] = 1.0
    return out
