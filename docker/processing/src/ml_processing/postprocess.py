"""``postprocess``: join batch predictions with item ids, flag low confidence, partition by label.

In: ``processing/input/predictions/`` (transform ``.out``), ``processing/input/items/`` (the
unlabeled items that were transformed).
Out: ``processing/output/predictions/label=<code>/part-00000.jsonl``
(``item_id``, ``label``, ``confidence``, ``needs_review``, ``top_k``) and
``processing/output/summary/summary.json``. Env: ``REVIEW_THRESHOLD`` (default 0.7): confidence
below it sets ``needs_review``. Answers without an ``item_id`` are matched to items by position,
``<file>.out`` to ``<file>``, the way batch transform names its output.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ml_common.contract import ContractError, env_float, processing_paths, run_job
from ml_common.records import data_files, iter_file_lines, iter_lines

from ml_processing.predictions import iter_predictions
from ml_processing.staging import staged_outputs

DEFAULT_REVIEW_THRESHOLD = 0.7


def _item_ids(path: Path, root: Path) -> list[str]:
    ids = []
    for line in iter_file_lines(path):
        try:
            ids.append(json.loads(line.text)["item_id"])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ContractError(
                f"items: {path.relative_to(root)}:{line.number} has no item_id"
            ) from exc
    return ids


def joined_answers(predictions_dir: Path, items_dir: Path):
    """Yield (item_id, answer) for every answer; positional join for answers without item_id."""
    positional: dict[Path, list[str]] = {}
    counters: Counter = Counter()
    for line, answer in iter_predictions(predictions_dir, "batch"):
        item_id = answer.get("item_id")
        if not isinstance(item_id, str):
            relative = line.path.relative_to(predictions_dir)
            source = items_dir / (
                str(relative)[: -len(".out")] if relative.suffix == ".out" else relative
            )
            if source not in positional:
                if not source.exists():
                    raise ContractError(
                        f"predictions {relative}: no item_id and no items file {source.name}"
                    )
                positional[source] = _item_ids(source, items_dir)
            ids = positional[source]
            index = counters[source]
            counters[source] += 1
            if index >= len(ids):
                raise ContractError(
                    f"predictions {relative}: more answers than items in {source.name}"
                )
            item_id = ids[index]
        yield item_id, answer


def postprocess(paths, threshold: float) -> dict[str, Any]:
    if not 0 <= threshold <= 1:
        raise ContractError(f"REVIEW_THRESHOLD={threshold}: must be between 0 and 1")
    predictions_dir, items_dir = paths.input("predictions"), paths.input("items")
    if not data_files(predictions_dir):
        raise ContractError(f"predictions: no files in {predictions_dir}")
    expected = (
        {json.loads(line.text).get("item_id") for line in iter_lines(items_dir)}
        if data_files(items_dir)
        else None
    )
    label_counts: Counter = Counter()
    review = 0
    confidence_sum = 0.0
    seen: set[str] = set()
    with staged_outputs(paths, ["predictions", "summary"]) as out:
        handles: dict[str, Any] = {}
        try:
            for item_id, answer in joined_answers(predictions_dir, items_dir):
                if item_id in seen:
                    raise ContractError(f"predictions: item {item_id} answered twice")
                seen.add(item_id)
                label = answer["label"]
                confidence = float(answer.get("confidence", 0.0))
                needs_review = confidence < threshold
                if label not in handles:
                    partition = out["predictions"] / f"label={quote(label, safe='')}"
                    partition.mkdir()
                    handles[label] = (partition / "part-00000.jsonl").open("w", encoding="utf-8")
                row = {
                    "item_id": item_id,
                    "label": label,
                    "confidence": confidence,
                    "needs_review": needs_review,
                    "top_k": answer.get("top_k", []),
                }
                handles[label].write(json.dumps(row, ensure_ascii=False) + "\n")
                label_counts[label] += 1
                review += needs_review
                confidence_sum += confidence
        finally:
            for handle in handles.values():
                handle.close()
        if expected is not None:
            missing = expected - seen
            if missing:
                raise ContractError(
                    f"predictions miss {len(missing)} of {len(expected)} items "
                    f"(e.g. {', '.join(sorted(missing)[:3])})"
                )
        rows = len(seen)
        summary = {
            "rows": rows,
            "needs_review": review,
            "needs_review_rate": review / rows if rows else 0.0,
            "review_threshold": threshold,
            "mean_confidence": confidence_sum / rows if rows else 0.0,
            "label_counts": dict(sorted(label_counts.items())),
            "partitions": sorted(f"label={quote(label, safe='')}" for label in label_counts),
        }
        (out["summary"] / "summary.json").write_text(
            json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    return summary


def main() -> None:
    summary = postprocess(
        processing_paths(), env_float("REVIEW_THRESHOLD", DEFAULT_REVIEW_THRESHOLD)
    )
    print(f"postprocess: {summary['rows']} rows, {summary['needs_review']} need review", flush=True)


if __name__ == "__main__":
    run_job(main, lambda: processing_paths().message_file)
