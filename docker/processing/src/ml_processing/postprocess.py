"""``postprocess``: join batch predictions with item ids, flag low confidence, partition by label.

In: ``processing/input/predictions/`` (transform ``.out``), ``processing/input/items/`` (the
unlabeled items that were transformed).
Out: ``processing/output/predictions/label=<code>/part-NNNNN.jsonl``
(``item_id``, ``label``, ``confidence``, ``needs_review``, ``top_k``; a new part every
``ROWS_PER_PART`` rows of a label, default 100,000) and ``processing/output/summary/summary.json``.
Env: ``REVIEW_THRESHOLD`` (default 0.7): confidence below it sets ``needs_review``.

Memory is bounded whatever the month's volume: items and answers stream, the item ids (expected,
answered, answered twice, missing) are kept on disk (``ml_processing.ledger``), the profile in
bounded counters and samples (``ml_common.drift.Profiler``).

Answers without an ``item_id`` are matched to items by position, ``<file>.out`` to ``<file>``,
the way batch transform names its output.

Drift (optional inputs): ``processing/input/reference_profile/`` (the winner's training-data
``profile.json``) and ``processing/input/capture/`` (the endpoint's captured requests of the
month, SageMaker data-capture JSON Lines). The month's items are profiled as they are read
(``ml_common.drift.Profiler``, with the predicted labels as ``label_counts``) and compared with
the reference (``compare_profiles``); so are the captured requests when there are any. Out:
``processing/output/summary/drift.json`` and the headline figures under ``drift`` in
``summary.json``. A drift input that cannot be read is reported there (``problems``), never
fatal: drift is monitoring, the month's predictions are the job.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
from ml_common.contract import ContractError, env_float, env_int, processing_paths, run_job
from ml_common.drift import Profiler, compare_profiles
from ml_common.records import data_files, iter_file_lines, iter_lines

from ml_processing.capture import CaptureStats, iter_captured
from ml_processing.ledger import ItemLedger
from ml_processing.predictions import iter_predictions
from ml_processing.staging import staged_outputs

DEFAULT_REVIEW_THRESHOLD = 0.7
DEFAULT_ROWS_PER_PART = 100_000


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
    # The item ids of the items file the answers being read belong to: one file's at a time
    # (answers come file by file), so memory is bounded by the largest input file.
    source: Path | None = None
    ids: list[str] = []
    index = 0
    for line, answer in iter_predictions(predictions_dir, "batch"):
        item_id = answer.get("item_id")
        if not isinstance(item_id, str):
            relative = line.path.relative_to(predictions_dir)
            items_file = items_dir / (
                str(relative)[: -len(".out")] if relative.suffix == ".out" else relative
            )
            if items_file != source:
                if not items_file.exists():
                    raise ContractError(
                        f"predictions {relative}: no item_id and no items file {items_file.name}"
                    )
                ids = []  # the previous file's ids go before the next file's come
                source, ids, index = items_file, _item_ids(items_file, items_dir), 0
            if index >= len(ids):
                raise ContractError(
                    f"predictions {relative}: more answers than items in {items_file.name}"
                )
            item_id = ids[index]
            index += 1
        yield item_id, answer


class Partitions:
    """``label=<code>/part-NNNNN.jsonl`` under ``root``: a label's rows go to its current part
    until it holds ``rows_per_part``, then to the next, so no output file grows with the month."""

    def __init__(self, root: Path, rows_per_part: int) -> None:
        self.root = root
        self.rows_per_part = rows_per_part
        self._open: dict[str, tuple[Any, int, int]] = {}  # label: (handle, part, rows in it)

    def write(self, label: str, row: dict[str, Any]) -> None:
        handle, part, rows = self._open.get(label) or (None, -1, 0)
        if handle is None or rows >= self.rows_per_part:
            if handle is not None:
                handle.close()
            partition = self.root / f"label={quote(label, safe='')}"
            partition.mkdir(exist_ok=True)
            part, rows = part + 1, 0
            handle = (partition / f"part-{part:05d}.jsonl").open("wb")
        # orjson writes UTF-8 unescaped, as json.dumps(ensure_ascii=False), in a third the time
        handle.write(orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE))
        self._open[label] = (handle, part, rows + 1)

    def close(self) -> None:
        for handle, _, _ in self._open.values():
            handle.close()


def postprocess(
    paths, threshold: float, rows_per_part: int = DEFAULT_ROWS_PER_PART
) -> dict[str, Any]:
    if not 0 <= threshold <= 1:
        raise ContractError(f"REVIEW_THRESHOLD={threshold}: must be between 0 and 1")
    if rows_per_part < 1:
        raise ContractError(f"ROWS_PER_PART={rows_per_part}: must be at least 1")
    predictions_dir, items_dir = paths.input("predictions"), paths.input("items")
    if not data_files(predictions_dir):
        raise ContractError(f"predictions: no files in {predictions_dir}")
    profiler = Profiler()
    label_counts: Counter = Counter()
    review = 0
    confidence_sum = 0.0
    with (
        staged_outputs(paths, ["predictions", "summary"]) as out,
        ItemLedger(paths.staging_dir) as ledger,
    ):
        has_items = bool(data_files(items_dir))
        if has_items:
            _profile_items(items_dir, profiler, ledger)
        partitions = Partitions(out["predictions"], rows_per_part)
        try:
            for item_id, answer in joined_answers(predictions_dir, items_dir):
                ledger.answered(item_id)
                label = answer["label"]
                confidence = float(answer.get("confidence", 0.0))
                needs_review = confidence < threshold
                row = {
                    "item_id": item_id,
                    "label": label,
                    "confidence": confidence,
                    "needs_review": needs_review,
                    "top_k": answer.get("top_k", []),
                }
                partitions.write(label, row)
                label_counts[label] += 1
                review += needs_review
                confidence_sum += confidence
        finally:
            partitions.close()
        expected, rows = ledger.totals()
        if has_items:
            missing, examples = ledger.missing()
            if missing:
                raise ContractError(
                    f"predictions miss {missing} of {expected} items (e.g. {', '.join(examples)})"
                )
        summary = {
            "rows": rows,
            "needs_review": review,
            "needs_review_rate": review / rows if rows else 0.0,
            "review_threshold": threshold,
            "mean_confidence": confidence_sum / rows if rows else 0.0,
            "label_counts": dict(sorted(label_counts.items())),
            "partitions": sorted(f"label={quote(label, safe='')}" for label in label_counts),
        }
        if has_items:
            profiler.labels = Counter(label_counts)  # the predicted classes
            drift = month_drift(paths, profiler.profile())
            summary["drift"] = headline(drift)
            _write_json(out["summary"] / "drift.json", drift)
        _write_json(out["summary"] / "summary.json", summary)
    return summary


def _profile_items(items_dir: Path, profiler: Profiler, ledger: ItemLedger) -> None:
    """Each of the month's items into ``profiler`` and its id into ``ledger``."""
    for line in iter_lines(items_dir):
        try:
            record = json.loads(line.text)
        except json.JSONDecodeError as exc:
            raise ContractError(f"items: {line.where} is not valid JSON ({exc.msg})") from exc
        if not isinstance(record, dict):
            raise ContractError(f"items: {line.where} is not a JSON object")
        item_id = record.get("item_id")
        if not isinstance(item_id, str):
            raise ContractError(f"items: {line.where} has no item_id")
        ledger.expect(item_id)
        profiler.add(record)


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float spelled as a string (JSON has no Infinity)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def _write_json(path: Path, value: Any) -> None:
    text = json.dumps(_finite(value), indent=2, ensure_ascii=False, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")


def read_reference(directory: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(the reference profile, None) or (None, why there is none)."""
    files = data_files(directory)
    if not files:
        return None, None
    where = files[0].name
    try:
        profile = json.loads(files[0].read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"reference_profile {where}: not valid JSON ({exc})"
    if not isinstance(profile, dict) or "n_items" not in profile:
        return None, f"reference_profile {where}: not a data profile (no n_items)"
    return profile, None


def capture_profile(directory: Path) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The profile of the captured requests (predicted labels as label_counts) and counts."""
    stats = CaptureStats()
    if not data_files(directory):
        return None, stats.as_dict()
    profiler = Profiler()
    for record, label in iter_captured(directory, stats):
        profiler.add(record, label)
    return (profiler.profile() if stats.records else None), stats.as_dict()


def month_drift(paths, batch_profile: dict[str, Any]) -> dict[str, Any]:
    """drift.json: the month's profile, the captured requests' and their drift from the
    reference (the winner's training data)."""
    reference, problem = read_reference(paths.input("reference_profile"))
    problems = [problem] if problem else []
    captured, capture_counts = capture_profile(paths.input("capture"))
    if capture_counts["skipped_events"]:
        problems.append(
            f"capture: {capture_counts['skipped_events']} of {capture_counts['events']} "
            f"captured invocations could not be read (e.g. {capture_counts['skipped_examples'][0]})"
        )
    return {
        "reference": None
        if reference is None
        else {key: reference.get(key) for key in ("n_items", "label_counts")},
        "batch": {
            "profile": batch_profile,
            "drift": None if reference is None else compare_profiles(reference, batch_profile),
        },
        "capture": None
        if captured is None and not capture_counts["events"]
        else {
            **capture_counts,
            "profile": captured,
            "drift": None
            if reference is None or captured is None
            else compare_profiles(reference, captured),
        },
        "problems": problems,
    }


HEADLINE = ("class_distance", "text_length_shift", "numeric_shift", "vanished_classes")


def headline(drift: dict[str, Any]) -> dict[str, Any]:
    """The figures summary.json carries (the batch DAG's notification and alerts read them)."""

    def figures(section: dict[str, Any] | None) -> dict[str, Any] | None:
        if not section or not section.get("drift"):
            return None
        return {key: section["drift"].get(key) for key in HEADLINE} | {
            "items": section["drift"].get("current_items")
        }

    capture = drift.get("capture")
    return {
        "reference": drift["reference"] is not None,
        "batch": figures(drift["batch"]),
        "capture": figures(capture),
        "captured_records": capture["records"] if capture else 0,
        "problems": drift["problems"],
    }


def main() -> None:
    summary = postprocess(
        processing_paths(),
        env_float("REVIEW_THRESHOLD", DEFAULT_REVIEW_THRESHOLD),
        env_int("ROWS_PER_PART", DEFAULT_ROWS_PER_PART),
    )
    print(f"postprocess: {summary['rows']} rows, {summary['needs_review']} need review", flush=True)


if __name__ == "__main__":
    run_job(main, lambda: processing_paths().message_file)
