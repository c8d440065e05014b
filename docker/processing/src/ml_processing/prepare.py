"""``prepare``: validate a country's labeled products and write seeded, stratified splits.

In: ``processing/input/labeled/`` (JSON Lines), ``processing/input/code_table/`` (one JSON file).
Out: ``train/train.jsonl``, ``validation/validation.jsonl``, ``test_features/features.jsonl``,
``test_labels/labels.jsonl``, ``profile/profile.json`` under ``processing/output/``.
Env: ``COUNTRY``, ``DATA_MONTH``, ``CODE_TABLE_VERSION``, ``SPLIT_SEED``, and optionally
``VALIDATION_FRACTION`` / ``TEST_FRACTION`` (0.1 each). Bad data: exit non-zero, the reason in
``/opt/ml/output/message``, nothing written downstream.
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from pathlib import Path

from ml_common.contract import (
    ContractError,
    env_float,
    env_int,
    env_required,
    processing_paths,
    run_job,
)
from ml_common.records import FEATURE_FIELDS, LABEL_FIELD, data_files, field_error, iter_lines

from ml_processing.staging import staged_outputs

OUTPUTS = ["train", "validation", "test_features", "test_labels", "profile"]
MAX_LISTED = 5  # problems quoted in the message; the count covers all of them


def read_code_table(directory: Path) -> tuple[Path, set[str]]:
    files = [p for p in data_files(directory) if p.suffix == ".json"]
    if len(files) != 1:
        raise ContractError(
            f"code table: expected exactly one .json file in {directory}, found {len(files)}"
            f"{' (' + ', '.join(p.name for p in files) + ')' if files else ''}"
        )
    try:
        table = json.loads(files[0].read_text(encoding="utf-8"))
        codes = {entry["code"] for entry in table["codes"]}
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ContractError(
            f"code table {files[0].name}: expected "
            f'{{"codes": [{{"code", "description"}}...]}} ({exc})'
        ) from exc
    if not codes:
        raise ContractError(f"code table {files[0].name}: no codes")
    return files[0], codes


class Problems:
    """Collects validation problems by kind, quoting the first few of each with file:line."""

    def __init__(self):
        self.by_kind: dict[str, list[str]] = defaultdict(list)

    def add(self, kind: str, detail: str) -> None:
        self.by_kind[kind].append(detail)

    def message(self, country: str, n_lines: int) -> str:
        parts = []
        for kind, details in self.by_kind.items():
            shown = "; ".join(details[:MAX_LISTED])
            more = f"; and {len(details) - MAX_LISTED} more" if len(details) > MAX_LISTED else ""
            parts.append(f"{len(details)} {kind}: {shown}{more}")
        return (
            f"labeled data for country {country} is invalid ({n_lines} lines read): "
            + " | ".join(parts)
        )


def scan(labeled_dir: Path, codes: set[str], country: str, table_name: str):
    """First pass: validate every line; return (item ids, labels, per-field stats)."""
    problems = Problems()
    first_seen: dict[str, str] = {}
    labels: list[str] = []
    missing = Counter()
    numeric: dict[str, list[float]] = {"weight_kg": [], "screen_size_in": []}
    n_lines = 0
    for line in iter_lines(labeled_dir):
        n_lines += 1
        try:
            record = json.loads(line.text)
        except json.JSONDecodeError as exc:
            problems.add("lines that are not JSON", f"{line.where} ({exc.msg})")
            continue
        error = field_error(record, require_label=True)
        if error:
            problems.add("records with bad fields", f"{line.where} {error}")
            continue
        if record[LABEL_FIELD] not in codes:
            problems.add(
                f"labels not in code table {table_name}",
                f"{line.where} label {record[LABEL_FIELD]!r}",
            )
        item_id = record["item_id"]
        if item_id in first_seen:
            problems.add(
                "duplicate item_ids", f"{item_id!r} at {line.where} and {first_seen[item_id]}"
            )
            continue
        first_seen[item_id] = line.where
        labels.append(record[LABEL_FIELD])
        for name in FEATURE_FIELDS:
            if record[name] is None:
                missing[name] += 1
        for name, values in numeric.items():
            if record[name] is not None:
                values.append(float(record[name]))
    if n_lines == 0:
        raise ContractError(f"labeled data for country {country}: no records in {labeled_dir}")
    if problems.by_kind:
        raise ContractError(problems.message(country, n_lines))
    return list(first_seen), labels, missing, numeric


def assign_splits(labels: list[str], seed: int, validation: float, test: float) -> list[str]:
    """Stratified: each label's items are shuffled with ``seed`` and cut by the fractions."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for index, label in enumerate(labels):
        by_label[label].append(index)
    split = ["train"] * len(labels)
    rng = random.Random(seed)
    for label in sorted(by_label):
        indices = by_label[label]
        rng.shuffle(indices)
        n = len(indices)
        n_test = round(n * test) if n >= 3 else 0
        n_validation = round(n * validation) if n >= 3 else 0
        for i in indices[:n_test]:
            split[i] = "test"
        for i in indices[n_test : n_test + n_validation]:
            split[i] = "validation"
    return split


def _stats(values: list[float]) -> dict | None:
    if not values:
        return None
    ordered = sorted(values)
    return {
        "min": ordered[0],
        "max": ordered[-1],
        "mean": sum(ordered) / len(ordered),
        "median": ordered[len(ordered) // 2],
    }


def prepare(
    paths,
    country: str,
    data_month: str,
    code_table_version: str,
    seed: int,
    validation_fraction: float = 0.1,
    test_fraction: float = 0.1,
) -> dict:
    """Validate, split and write; return the profile."""
    if not (
        0 <= validation_fraction < 1
        and 0 <= test_fraction < 1
        and validation_fraction + test_fraction < 1
    ):
        raise ContractError(
            f"VALIDATION_FRACTION={validation_fraction} and TEST_FRACTION={test_fraction}: "
            "each must be in [0, 1) and together below 1"
        )
    table_file, codes = read_code_table(paths.input("code_table"))
    if table_file.stem != code_table_version:
        raise ContractError(
            f"code table file {table_file.name} does not match "
            f"CODE_TABLE_VERSION={code_table_version}"
        )
    labeled_dir = paths.input("labeled")
    item_ids, labels, missing, numeric = scan(labeled_dir, codes, country, table_file.name)
    splits = assign_splits(labels, seed, validation_fraction, test_fraction)
    split_of = dict(zip(item_ids, splits, strict=True))
    counts = {s: Counter() for s in ("train", "validation", "test")}
    with staged_outputs(paths, OUTPUTS) as out:
        handles = {
            "train": (out["train"] / "train.jsonl").open("w", encoding="utf-8"),
            "validation": (out["validation"] / "validation.jsonl").open("w", encoding="utf-8"),
            "test_features": (out["test_features"] / "features.jsonl").open("w", encoding="utf-8"),
            "test_labels": (out["test_labels"] / "labels.jsonl").open("w", encoding="utf-8"),
        }
        try:
            seen: set[str] = set()
            for line in iter_lines(labeled_dir):
                record = json.loads(line.text)
                item_id = record["item_id"]
                if item_id in seen:  # pragma: no cover - scan() rejects duplicates
                    continue
                seen.add(item_id)
                split = split_of[item_id]
                counts[split][record[LABEL_FIELD]] += 1
                clean = {name: record[name] for name in (*FEATURE_FIELDS, LABEL_FIELD)}
                if split == "test":
                    label = clean.pop(LABEL_FIELD)
                    handles["test_features"].write(json.dumps(clean, ensure_ascii=False) + "\n")
                    handles["test_labels"].write(
                        json.dumps({"item_id": item_id, "label": label}, ensure_ascii=False) + "\n"
                    )
                else:
                    handles[split].write(json.dumps(clean, ensure_ascii=False) + "\n")
        finally:
            for handle in handles.values():
                handle.close()
        label_counts = Counter(labels)
        profile = {
            "country": country,
            "data_month": data_month,
            "code_table_version": code_table_version,
            "split_seed": seed,
            "n_items": len(labels),
            "n_labels": len(label_counts),
            "codes_without_items": sorted(codes - set(label_counts)),
            "label_counts": dict(sorted(label_counts.items())),
            "splits": {
                s: {"n_items": sum(c.values()), "label_counts": dict(sorted(c.items()))}
                for s, c in counts.items()
            },
            "missing_values": {name: missing.get(name, 0) for name in FEATURE_FIELDS},
            "numeric": {name: _stats(values) for name, values in numeric.items()},
        }
        (out["profile"] / "profile.json").write_text(
            json.dumps(profile, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    return profile


def main() -> None:
    paths = processing_paths()
    profile = prepare(
        paths,
        country=env_required("COUNTRY"),
        data_month=env_required("DATA_MONTH"),
        code_table_version=env_required("CODE_TABLE_VERSION"),
        seed=env_int("SPLIT_SEED", 0),
        validation_fraction=env_float("VALIDATION_FRACTION", 0.1),
        test_fraction=env_float("TEST_FRACTION", 0.1),
    )
    splits = ", ".join(f"{s}={v['n_items']}" for s, v in profile["splits"].items())
    print(
        f"prepare: {profile['country']} {profile['data_month']}: "
        f"{profile['n_items']} items, {splits}",
        flush=True,
    )


if __name__ == "__main__":
    run_job(main, lambda: processing_paths().message_file)
