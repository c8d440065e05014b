"""The batch run's drift: what its notification shows and when it warns. Pure.

The postprocess job compares the month's items (with their predicted labels) and the endpoint's
captured requests with the winner's training-data profile and writes the headline figures under
``drift`` in summary.json (``ml_processing.postprocess.headline``). This module turns them into
notification metrics and alerts: an alert for each figure past the model's
``batch_inference.drift_alert_*`` threshold (strictly past: a figure equal to its threshold does
not alert), and for each problem the job reported (an unreadable reference or capture): the run
still succeeds, its notification is a warning.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

NOT_COMPUTED = "not computed"


def _number(value: Any) -> float | None:
    """A figure as a float (``"inf"`` spelled as a string in JSON included); None if absent."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _section_alerts(name: str, figures: Mapping[str, Any], thresholds: Any) -> list[str]:
    alerts = []
    distance = _number(figures.get("class_distance"))
    if distance is not None and distance > thresholds.drift_alert_class_distance:
        alerts.append(
            f"{name}: class distance {distance:.3f} > {thresholds.drift_alert_class_distance} "
            "(predicted labels vs the winner's training labels)"
        )
    shift = _number(figures.get("text_length_shift"))
    if shift is not None and abs(shift) > thresholds.drift_alert_text_length_shift:
        alerts.append(
            f"{name}: title length shift {shift:+.1%} beyond "
            f"±{thresholds.drift_alert_text_length_shift:.0%}"
        )
    for field, value in sorted((figures.get("numeric_shift") or {}).items()):
        shift = _number(value)
        if shift is not None and abs(shift) > thresholds.drift_alert_numeric_shift:
            alerts.append(
                f"{name}: {field} mean shift {shift:+.1%} beyond "
                f"±{thresholds.drift_alert_numeric_shift:.0%}"
            )
    return alerts


def drift_alerts(drift: Mapping[str, Any] | None, thresholds: Any) -> list[str]:
    """One line per figure past its threshold, and per problem the job reported.

    ``thresholds``: the model's ``batch_inference`` section (``drift_alert_*``).
    """
    if not drift:
        return []
    alerts: list[str] = []
    for name, title in (("batch", "month's items"), ("capture", "captured requests")):
        figures = drift.get(name)
        if figures:
            alerts += _section_alerts(title, figures, thresholds)
    alerts += [f"drift input: {problem}" for problem in drift.get("problems") or []]
    return alerts


def _figure(value: Any) -> Any:
    number = _number(value)
    return NOT_COMPUTED if number is None else number


def drift_metrics(drift: Mapping[str, Any] | None, *, reference_note: str = "") -> dict[str, Any]:
    """The drift figures for the batch run's notification (flat ``name: value`` lines)."""
    if not drift or not drift.get("reference"):
        why = reference_note or "no reference profile"
        return {"drift": f"{NOT_COMPUTED} ({why})"}
    metrics: dict[str, Any] = {}
    for name in ("batch", "capture"):
        figures = drift.get(name)
        if not figures:
            if name == "capture":
                metrics["drift_capture"] = "no captured requests this month"
            continue
        metrics[f"drift_{name}_class_distance"] = _figure(figures.get("class_distance"))
        metrics[f"drift_{name}_text_length_shift"] = _figure(figures.get("text_length_shift"))
        shifts = {
            field: number
            for field, value in (figures.get("numeric_shift") or {}).items()
            if (number := _number(value)) is not None
        }
        if shifts:
            field = max(shifts, key=lambda key: abs(shifts[key]))
            metrics[f"drift_{name}_largest_numeric_shift"] = f"{field} {shifts[field]:+.4f}"
        vanished = figures.get("vanished_classes") or []
        if vanished:
            metrics[f"drift_{name}_vanished_classes"] = ", ".join(map(str, vanished[:10]))
    if drift.get("captured_records"):
        metrics["drift_captured_records"] = drift["captured_records"]
    return metrics
