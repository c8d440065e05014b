"""``evaluate``: score challenger (and champion) transform output against the held-out labels
and against the model's golden set.

In: ``processing/input/challenger/``, optional ``processing/input/champion/`` (transform ``.out``
files), ``processing/input/labels/`` (``item_id``, ``label``); the golden set's:
``processing/input/golden_challenger/``, ``golden_champion/`` (with a champion, and only then),
``golden_labels/``. The golden set is required: an evaluation without it fails.
Out: ``processing/output/evaluation/`` with ``metrics.json`` (its ``golden`` section: the same
metrics on the golden set), ``per_item.jsonl`` and ``per_item_golden.jsonl`` (for the paired
significance tests) and ``report.html``.
Env: ``COUNTRY``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ml_common.contract import ContractError, env_required, processing_paths, run_job
from ml_common.records import data_files, read_jsonl

from ml_processing.predictions import predictions_by_item
from ml_processing.report import render_report
from ml_processing.staging import staged_outputs


def read_labels(directory: Path, what: str = "labels") -> dict[str, str]:
    labels: dict[str, str] = {}
    try:
        for record in read_jsonl(directory):
            if (
                not isinstance(record, dict)
                or not isinstance(record.get("item_id"), str)
                or not isinstance(record.get("label"), str)
            ):
                raise ContractError(
                    f"{what}: expected objects with item_id and label, got {str(record)[:80]}"
                )
            labels[record["item_id"]] = record["label"]
    except ValueError as exc:
        raise ContractError(f"{what}: {exc}") from exc
    if not labels:
        raise ContractError(f"{what}: no records in {directory}")
    return labels


def model_metrics(truth: list[str], predicted: list[str]) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class scores over the true labels; confusion over all labels seen."""
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    classes = sorted(set(truth))
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=classes, zero_division=0
    )
    all_labels = sorted(set(truth) | set(predicted))
    matrix = confusion_matrix(truth, predicted, labels=all_labels)
    correct = sum(t == p for t, p in zip(truth, predicted, strict=True))
    return {
        "accuracy": float(accuracy_score(truth, predicted)),
        "macro_f1": float(f1.mean()),
        "per_class": {
            c: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for c, p, r, f, s in zip(classes, precision, recall, f1, support, strict=True)
        },
        "confusion_matrix": {"labels": all_labels, "matrix": matrix.tolist()},
        "counts": {
            "n_items": len(truth),
            "correct": int(correct),
            "incorrect": len(truth) - int(correct),
            "predicted_labels_outside_truth": sorted(set(predicted) - set(truth)),
        },
    }


def _aligned(name: str, labels: dict[str, str], answers: dict[str, dict]) -> list[str]:
    missing = [item for item in labels if item not in answers]
    if missing:
        raise ContractError(
            f"{name} predictions miss {len(missing)} of {len(labels)} labeled items "
            f"(e.g. {', '.join(missing[:3])}); "
            "was the transform run on the same test_features?"
        )
    return [answers[item]["label"] for item in labels]


@dataclass(frozen=True)
class Scored:
    """One labeled set scored: its labels and each model's answers, item by item."""

    labels: dict[str, str]
    challenger: list[str]
    champion: list[str] | None

    def metrics(self) -> dict[str, Any]:
        truth = list(self.labels.values())
        return {
            "challenger": model_metrics(truth, self.challenger),
            "champion": model_metrics(truth, self.champion) if self.champion is not None else None,
            "n_items": len(self.labels),
        }

    def rows(self) -> Iterator[dict[str, Any]]:
        """per_item rows: the paired correctness the significance tests count."""
        champion = self.champion
        for index, (item_id, label) in enumerate(self.labels.items()):
            yield {
                "item_id": item_id,
                "label": label,
                "challenger_label": self.challenger[index],
                "challenger_correct": self.challenger[index] == label,
                "champion_label": champion[index] if champion is not None else None,
                "champion_correct": (champion[index] == label) if champion is not None else None,
            }


def _score(
    paths, labels_input: str, challenger_input: str, champion_input: str, what: str
) -> Scored:
    """Read one set's labels and both models' transform output, aligned item by item."""
    labels = read_labels(paths.input(labels_input), f"{what}labels")
    challenger_dir = paths.input(challenger_input)
    if not data_files(challenger_dir):
        raise ContractError(f"{what}challenger predictions: no files in {challenger_dir}")
    name = f"{what}challenger"
    challenger = _aligned(name, labels, predictions_by_item(challenger_dir, name))
    champion_dir = paths.input(champion_input)
    name = f"{what}champion"
    champion = (
        _aligned(name, labels, predictions_by_item(champion_dir, name))
        if data_files(champion_dir)
        else None
    )
    return Scored(labels, challenger, champion)


def _write_rows(path: Path, rows: Iterator[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def evaluate(paths, country: str) -> dict[str, Any]:
    test = _score(paths, "labels", "challenger", "champion", "")
    golden = _score(paths, "golden_labels", "golden_challenger", "golden_champion", "golden set ")
    if (test.champion is None) != (golden.champion is None):
        scored, unscored = (
            ("test set", "golden set")
            if golden.champion is None
            else (
                "golden set",
                "test set",
            )
        )
        raise ContractError(
            f"champion predictions for the {scored} but none for the {unscored}: "
            "the champion is scored on both sets or on neither"
        )
    scored_test = test.metrics()
    metrics = {
        "country": country,
        "challenger": scored_test["challenger"],
        "champion": scored_test["champion"],
        "n_items": scored_test["n_items"],
        "golden": golden.metrics(),
    }
    with staged_outputs(paths, ["evaluation"]) as out:
        directory = out["evaluation"]
        (directory / "metrics.json").write_text(
            json.dumps(metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        _write_rows(directory / "per_item.jsonl", test.rows())
        _write_rows(directory / "per_item_golden.jsonl", golden.rows())
        (directory / "report.html").write_text(render_report(country, metrics), encoding="utf-8")
    return metrics


def main() -> None:
    metrics = evaluate(processing_paths(), env_required("COUNTRY"))
    for name, scored in (("test set", metrics), ("golden set", metrics["golden"])):
        champion = scored["champion"]
        print(
            f"evaluate: {name}: challenger macro_f1={scored['challenger']['macro_f1']:.4f}"
            + (f", champion macro_f1={champion['macro_f1']:.4f}" if champion else ", no champion")
            + f" ({scored['n_items']} items)",
            flush=True,
        )


if __name__ == "__main__":
    run_job(main, lambda: processing_paths().message_file)
