"""The data gates of ``prepare``: what a month must pass before any paid training starts.

Each gate compares one number of the month (or of its drift from the reference month, the
model's last accepted one) with one threshold of the countries file (``gates:`` of the model,
``Gates`` in plugins/mlops/config.py). The job reads the thresholds from environment variables
``GATE_<FIELD>`` (``GATE_MIN_ITEMS=100``); an absent one takes its default below, the same as
config.py's (tests/unit checks that they agree). A result is a dict: ``name`` (the threshold's
field), ``passed``, ``value``, ``threshold``, ``detail`` (a sentence with both), ``skipped``.

Which classes count (``min_classes``, ``max_small_class_share``): after the split, a class is
*testable* when it has at least ``min_train_items_per_class`` items in train,
``min_validation_items_per_class`` in validation and ``min_test_items_per_class`` in test. The
month needs ``min_classes`` testable classes, and the classes that are not testable (a long
tail of rare codes) may hold at most ``max_small_class_share`` of its items.

Duplicates (``max_duplicate_share``): an item whose title, description and brand (case and
whitespace ignored) are those of an earlier item of the month under another item_id.

Drift (only with a reference profile; without one, on a model's first month, the drift gates
are skipped and say so): ``ml_common.drift.compare_profiles`` against the reference, with the
month's code table. A regulation change (the month's code table version differs from the
reference's) legitimately changes the label set: classes the new table retired are not
vanished, classes new in the table are allowed, and the class distance is taken over the codes
both tables hold, against ``max_class_distance_table_change`` (kept codes may change meaning).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from ml_common.contract import ContractError
from ml_common.drift import compare_profiles

ENV_PREFIX = "GATE_"
MESSAGE_LIMIT = 1000  # SageMaker keeps about 1 KiB of the failure message
LISTED = 5  # classes named in a detail


@dataclass(frozen=True)
class GateSettings:
    """The thresholds; defaults as in plugins/mlops/config.py ``Gates``."""

    min_items: int = 100
    min_classes: int = 2
    min_train_items_per_class: int = 5
    min_validation_items_per_class: int = 1
    min_test_items_per_class: int = 1
    max_small_class_share: float = 0.05
    max_empty_text_share: float = 0.1
    max_duplicate_share: float = 0.1
    max_class_distance: float = 0.2
    max_class_distance_table_change: float = 0.4
    max_vanished_classes: int = 0
    max_new_classes: int = 2
    max_text_length_shift: float = 0.5

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GateSettings:
        """The thresholds in ``GATE_<FIELD>`` variables; an unknown ``GATE_`` name is an error
        (the DAG side and the image disagree about the gates)."""
        environ = os.environ if environ is None else environ
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, raw in environ.items():
            if not key.startswith(ENV_PREFIX):
                continue
            name = key[len(ENV_PREFIX) :].lower()
            if name not in known:
                raise ContractError(
                    f"environment variable {key}: no such data gate "
                    f"(known: {', '.join(ENV_PREFIX + n.upper() for n in known)})"
                )
            kind = int if known[name].type in ("int", int) else float
            try:
                value = kind(raw)
            except ValueError:
                raise ContractError(
                    f"environment variable {key}={raw!r} is not "
                    f"{'an integer' if kind is int else 'a number'}"
                ) from None
            if value < 0 or (name.endswith("_share") and value > 1):
                raise ContractError(f"environment variable {key}={raw!r} is out of range")
            values[name] = value
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class MonthFacts:
    """What the gates judge, counted by ``prepare``'s scan and split."""

    n_items: int
    label_counts: Mapping[str, int]
    split_counts: Mapping[str, Mapping[str, int]]  # split -> label -> items
    empty_text: int
    duplicates: int
    duplicate_conflicts: int  # duplicates whose label differs from the first item's


def _gate(
    name: str, passed: bool, value: Any, threshold: Any, detail: str, skipped: bool = False
) -> dict[str, Any]:
    return {
        "name": name,
        "passed": bool(passed),
        "value": value,
        "threshold": threshold,
        "detail": detail,
        "skipped": skipped,
    }


def _listed(names: Iterable[str], limit: int = LISTED) -> str:
    names = list(names)
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def data_gates(settings: GateSettings, facts: MonthFacts) -> list[dict[str, Any]]:
    """The gates on the month itself: size, classes, empty text, duplicates."""
    s = settings
    n = facts.n_items
    minimums = {
        "train": s.min_train_items_per_class,
        "validation": s.min_validation_items_per_class,
        "test": s.min_test_items_per_class,
    }

    def split_items(label: str) -> dict[str, int]:
        return {split: int(facts.split_counts[split].get(label, 0)) for split in minimums}

    testable = sorted(
        label
        for label in facts.label_counts
        if all(split_items(label)[split] >= k for split, k in minimums.items())
    )
    small = sorted(
        (label for label in facts.label_counts if label not in testable),
        key=lambda label: (facts.label_counts[label], label),
    )
    small_items = sum(facts.label_counts[label] for label in small)
    rule = ", ".join(f"≥{k} {split}" for split, k in minimums.items())
    classes = len(facts.label_counts)
    only = f" (the month holds the single class {next(iter(facts.label_counts))})"
    small_share = _share(small_items, n)
    empty_share = _share(facts.empty_text, n)
    duplicate_share = _share(facts.duplicates, n)
    return [
        _gate(
            "min_items",
            n >= s.min_items,
            n,
            s.min_items,
            f"{n} labeled items (minimum {s.min_items})",
        ),
        _gate(
            "min_classes",
            len(testable) >= s.min_classes,
            len(testable),
            s.min_classes,
            f"{len(testable)} of {classes} classes have {rule} items (minimum {s.min_classes})"
            + (only if classes == 1 else ""),
        ),
        _gate(
            "max_small_class_share",
            small_share <= s.max_small_class_share,
            round(small_share, 6),
            s.max_small_class_share,
            f"{len(small)} classes lack {rule} items; they hold {small_share:.1%} of the "
            f"items (maximum {s.max_small_class_share:.1%})"
            + (
                ": "
                + _listed(
                    f"{label} ({'/'.join(str(v) for v in split_items(label).values())})"
                    for label in small
                )
                + " train/validation/test"
                if small
                else ""
            ),
        ),
        _gate(
            "max_empty_text_share",
            empty_share <= s.max_empty_text_share,
            round(empty_share, 6),
            s.max_empty_text_share,
            f"{facts.empty_text} of {n} items ({empty_share:.1%}) have an empty title "
            f"(maximum {s.max_empty_text_share:.1%})",
        ),
        _gate(
            "max_duplicate_share",
            duplicate_share <= s.max_duplicate_share,
            round(duplicate_share, 6),
            s.max_duplicate_share,
            f"{facts.duplicates} of {n} items ({duplicate_share:.1%}) repeat the title, "
            f"description and brand of an earlier item under another item_id, "
            f"{facts.duplicate_conflicts} of them with another label "
            f"(maximum {s.max_duplicate_share:.1%})",
        ),
    ]


DRIFT_GATES = (
    "max_class_distance",
    "max_vanished_classes",
    "max_new_classes",
    "max_text_length_shift",
)


def drift_against(
    reference: Mapping[str, Any],
    profile: Mapping[str, Any],
    codes: Iterable[str],
    code_table_version: str,
) -> dict[str, Any]:
    """``compare_profiles`` of the month against the reference, with the month's code table,
    plus ``reference`` (its month, table version, items) and ``table_change`` (None, or the
    regulation change: ``from``, ``to``, ``retired_classes``, ``new_in_table``)."""
    codes = set(codes)
    ref_version = reference.get("code_table_version")
    changed = ref_version is not None and ref_version != code_table_version
    current: Mapping[str, Any] = profile
    new_in_table: list[str] = []
    if changed:
        ref_codes = set(reference.get("label_counts") or {}) | set(
            reference.get("codes_without_items") or []
        )
        new_in_table = sorted(codes - ref_codes)
        # The distance over the codes both tables hold: classes new in the table are allowed.
        current = {
            **profile,
            "label_counts": {
                label: n for label, n in profile["label_counts"].items() if label in ref_codes
            },
        }
    drift = compare_profiles(reference, current, codes=codes)
    drift["reference"] = {
        "data_month": reference.get("data_month"),
        "code_table_version": ref_version,
        "n_items": reference.get("n_items"),
    }
    drift["table_change"] = (
        {
            "from": ref_version,
            "to": code_table_version,
            "retired_classes": drift["retired_classes"],
            "new_in_table": new_in_table,
        }
        if changed
        else None
    )
    return drift


def drift_gates(settings: GateSettings, drift: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The gates on the drift from the reference month; skipped (passed) without a reference."""
    s = settings
    thresholds = {
        "max_class_distance": s.max_class_distance,
        "max_vanished_classes": s.max_vanished_classes,
        "max_new_classes": s.max_new_classes,
        "max_text_length_shift": s.max_text_length_shift,
    }
    if drift is None:
        return [
            _gate(
                name,
                True,
                None,
                threshold,
                "skipped: no reference profile (the model has no accepted month with a "
                "profile yet)",
                skipped=True,
            )
            for name, threshold in thresholds.items()
        ]
    ref = drift["reference"]
    against = f"the reference month {ref.get('data_month')} ({ref.get('code_table_version')})"
    change = drift.get("table_change")
    regulation = ""
    if change:
        regulation = f"regulation change {change['from']} → {change['to']}: "
    results = []

    distance = drift["class_distance"]
    limit = s.max_class_distance_table_change if change else s.max_class_distance
    where = (
        f"over the codes both tables hold, threshold max_class_distance_table_change {limit}"
        if change
        else f"threshold {limit}"
    )
    results.append(
        _gate(
            "max_class_distance",
            distance is None or distance <= limit,
            None if distance is None else round(distance, 6),
            limit,
            f"{regulation}class distribution distance (Jensen-Shannon) "
            + ("not measurable (no labels on one side)" if distance is None else f"{distance:.3f}")
            + f" to {against}, {where}",
        )
    )

    vanished = drift["vanished_classes"]
    results.append(
        _gate(
            "max_vanished_classes",
            len(vanished) <= s.max_vanished_classes,
            len(vanished),
            s.max_vanished_classes,
            f"{regulation}{len(vanished)} classes of {against} have no item this month"
            + (f": {_listed(vanished)}" if vanished else "")
            + f" (maximum {s.max_vanished_classes})"
            + (
                f"; retired by the new table, not counted: {_listed(change['retired_classes'])}"
                if change and change["retired_classes"]
                else ""
            ),
        )
    )

    new = drift["new_classes"]
    results.append(
        _gate(
            "max_new_classes",
            len(new) <= s.max_new_classes,
            len(new),
            s.max_new_classes,
            f"{regulation}{len(new)} classes have items this month and none in {against}"
            + (f": {_listed(new)}" if new else "")
            + f" (maximum {s.max_new_classes})"
            + (
                f"; new in the table, allowed: {_listed(change['new_in_table'])}"
                if change and change["new_in_table"]
                else ""
            ),
        )
    )

    shift = drift["text_length_shift"]
    results.append(
        _gate(
            "max_text_length_shift",
            shift is None or abs(shift) <= s.max_text_length_shift,
            None if shift is None else round(shift, 6),
            s.max_text_length_shift,
            "mean title length "
            + ("not comparable" if shift is None else f"moved by {shift:+.1%}")
            + f" from {against} (maximum ±{s.max_text_length_shift:.0%})",
        )
    )
    return results


def failure_message(country: str, data_month: str, gates: list[dict[str, Any]]) -> str | None:
    """The FailureReason of a month that fails gates (None when all pass): the failed gates'
    names first, then each one's detail, cut to what SageMaker keeps."""
    failed = [g for g in gates if not g["passed"]]
    if not failed:
        return None
    head = (
        f"data gates failed for country {country} {data_month} "
        f"({len(failed)} of {len(gates)}: {', '.join(g['name'] for g in failed)}): "
    )
    message = head + " | ".join(f"{g['name']}: {g['detail']}" for g in failed)
    if len(message) > MESSAGE_LIMIT:
        message = message[: MESSAGE_LIMIT - 30].rstrip() + " ... (all in the job log)"
    return message


def summary(gates: list[dict[str, Any]]) -> str:
    """One line for the log and the notification: ``12 passed (drift skipped: no reference)``."""
    passed = sum(1 for g in gates if g["passed"] and not g["skipped"])
    failed = [g["name"] for g in gates if not g["passed"]]
    skipped = [g["name"] for g in gates if g["skipped"]]
    parts = [f"{passed} passed"]
    if failed:
        parts.append(f"{len(failed)} failed ({', '.join(failed)})")
    if skipped:
        parts.append(f"{len(skipped)} skipped (no reference profile)")
    return ", ".join(parts)
