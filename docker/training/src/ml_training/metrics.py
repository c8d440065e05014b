"""Metrics and the one line format the DAGs' MetricDefinitions regexes read."""

from __future__ import annotations

import math
from collections.abc import Sequence

METRIC_LINE = "{split}:{name}={value:.6f};"


def metric_line(split: str, name: str, value: float) -> str:
    """``validation:macro_f1=0.931200;``: fixed-point, never an exponent: ``([0-9.]+)`` matches.

    A NaN or infinite value raises: printed as ``0.000000`` it would read as a perfect loss.
    """
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"metric {split}:{name} is {value}: not finite, not printed")
    return METRIC_LINE.format(split=split, name=name, value=max(0.0, value))


def emit(split: str, values: dict[str, float]) -> None:
    for name, value in values.items():
        print(metric_line(split, name, value), flush=True)


def classification_scores(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, float]:
    """Accuracy and macro-F1 over the labels present in ``truth``."""
    from sklearn.metrics import accuracy_score, f1_score

    labels = sorted(set(truth))
    return {
        "accuracy": float(accuracy_score(truth, predicted)),
        "macro_f1": float(
            f1_score(truth, predicted, labels=labels, average="macro", zero_division=0)
        ),
    }
