"""``evaluate``: score challenger (and champion) transform output against the held-out labels.

In: ``processing/input/challenger/``, optional ``processing/input/champion/`` (transform ``.out``
files), ``processing/input/labels/`` (``item_id``, ``label``).
Out: ``processing/output/evaluation/`` with ``metrics.json``, ``per_item.jsonl`` (for the
paired significance test) and ``report.html``.
Env: ``COUNTRY``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ml_common.contract import ContractError, env_required, processing_paths, run_job
from ml_common.records import data_files, read_jsonl

from ml_processing.predictions import predictions_by_item
from ml_processing.report import render_report
from ml_processing.staging import staged_outputs


def read_labels(directory: Path) -> dict[str, str]:
    labels: dict[str, str] = {}
    try:
        for record in read_jsonl(directory):
            if (
                not isinstance(record, dict)
                or not isinstance(record.get("item_id"), str)
                or not isinstance(record.get("label"), str)
            ):
                raise ContractError(
                    f"labels: expected objects with item_id and label, got {str(record)[:80]}"
                )
            labels[record["item_id"]] = record["label"]
    except ValueError as exc:
        raise ContractError(f"labels: {exc}") from exc
    if not labels:
        raise ContractError(f"labels: no records in {directory}")
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


def evaluate(paths, country: str) -> dict[str, Any]:
    labels = read_labels(paths.input("labels"))
    truth = list(labels.values())
    challenger_dir = paths.input("challenger")
    if not data_files(challenger_dir):
        raise ContractError(f"challenger predictions: no files in {challenger_dir}")
    challenger = _aligned("challenger", labels, predictions_by_item(challenger_dir, "challenger"))
    champion_dir = paths.input("champion")
    champion = (
        _aligned("champion", labels, predictions_by_item(champion_dir, "champion"))
        if data_files(champion_dir)
        else None
    )
    metrics = {
        "country": country,
        "challenger": model_metrics(truth, challenger),
        "champion": model_metrics(truth, champion) if champion is not None else None,
        "n_items": len(labels),
    }
    with staged_outputs(paths, ["evaluation"]) as out:
        directory = out["evaluation"]
        (directory / "metrics.json").write_text(
            json.dumps(metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        with (directory / "per_item.jsonl").open("w", encoding="utf-8") as handle:
            for index, (item_id, label) in enumerate(labels.items()):
                row = {
                    "item_id": item_id,
                    "label": label,
                    "challenger_label": challenger[index],
                    "challenger_correct": challenger[index] == label,
                    "champion_label": champion[index] if champion is not None else None,
                    "champion_correct": (champion[index] == label)
                    if champion is not None
                    else None,
                }
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        (directory / "report.html").write_text(render_report(country, metrics), encoding="utf-8")
    return metrics


def main() -> None:
    metrics = evaluate(processing_paths(), env_required("COUNTRY"))
    champion = metrics["champion"]
    print(
        f"evaluate: challenger macro_f1={metrics['challenger']['macro_f1']:.4f}"
        + (f", champion macro_f1={champion['macro_f1']:.4f}" if champion else ", no champion"),
        flush=True,
    )


if __name__ == "__main__":
    run_job(main, lambda: processing_paths().message_file)
