"""``prepare``: validate a country's labeled products and write seeded, stratified splits.

In: ``processing/input/labeled/`` (JSON Lines), ``processing/input/code_table/`` (one JSON file).
Out: ``train/train.jsonl``, ``validation/validation.jsonl``, ``test_features/features.jsonl``,
``test_labels/labels.jsonl``, ``profile/profile.json`` under ``processing/output/``.
Optional in: ``processing/input/reference_profile/`` (the ``profile.json`` of the model's last
accepted month: the drift gates' reference; absent on a first month, then they are skipped).
Env: ``COUNTRY``, ``DATA_MONTH``, ``CODE_TABLE_VERSION``, ``SPLIT_SEED``, optionally
``VALIDATION_FRACTION`` / ``TEST_FRACTION`` (0.1 each) and the gates' thresholds ``GATE_<FIELD>``
(``ml_processing.gates``). Malformed data (not UTF-8, a corrupt ``.gz``, not JSON, bad fields,
unknown labels, duplicate ids) or a failed data gate: exit 2, the reasons with file:line (the
first few of each kind, and how many in all) in ``/opt/ml/output/message``, nothing written.
``profile.json`` holds the month's profile, the gate results (``gates``) and the drift from the
reference (``drift``, null without one).
"""

from __future__ import annotations

import json
import random
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ml_common.contract import (
    ContractError,
    env_float,
    env_int,
    env_required,
    processing_paths,
    run_job,
)
from ml_common.drift import Profiler
from ml_common.records import (
    FEATURE_FIELDS,
    LABEL_FIELD,
    ReadProblem,
    data_files,
    field_error,
    iter_lines,
)

from ml_processing.gates import (
    MESSAGE_LIMIT,
    GateSettings,
    MonthFacts,
    data_gates,
    drift_against,
    drift_gates,
    failure_message,
    summary,
)
from ml_processing.staging import staged_outputs

OUTPUTS = ["train", "validation", "test_features", "test_labels", "profile"]
MAX_LISTED = 5  # problems of each kind quoted in the message; the counts cover all of them
MAX_LOGGED = 50  # ... and in the job log
TEXT_FIELDS = ("item_id", "title", "description", "brand", "power_source", LABEL_FIELD)
DUPLICATE_FIELDS = ("title", "description", "brand")
READ_KINDS = {"encoding": "lines that are not UTF-8", "compression": "unreadable compressed files"}


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
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ContractError(
            f"code table {files[0].name}: expected "
            f'{{"codes": [{{"code", "description"}}...]}} ({exc})'
        ) from exc
    if not codes:
        raise ContractError(f"code table {files[0].name}: no codes")
    return files[0], codes


class Problems:
    """Counts validation problems by kind, keeping the first few of each with file:line."""

    def __init__(self):
        self.counts: Counter[str] = Counter()
        self.by_kind: dict[str, list[str]] = defaultdict(list)

    def add(self, kind: str, detail: str) -> None:
        self.counts[kind] += 1
        if len(self.by_kind[kind]) < MAX_LOGGED:
            self.by_kind[kind].append(detail)

    def add_read(self, problem: ReadProblem) -> None:
        self.add(READ_KINDS[problem.kind], str(problem))

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def _listing(self, limit: int) -> list[str]:
        parts = []
        # Unreadable bytes first: they cause what follows (a corrupt .gz decompresses garbage).
        order = [READ_KINDS["compression"], READ_KINDS["encoding"]]
        kinds = sorted(self.counts, key=lambda kind: order.index(kind) if kind in order else 2)
        for kind in kinds:
            count = self.counts[kind]
            shown = "; ".join(self.by_kind[kind][:limit])
            more = f"; and {count - limit} more" if count > limit else ""
            parts.append(f"{count} {kind}: {shown}{more}")
        return parts

    def message(self, country: str, n_lines: int) -> str:
        """Every kind with its count, quoting as many of each as fit in a FailureReason."""
        head = (
            f"labeled data for country {country} is invalid ({n_lines} lines read, "
            f"{self.total} problems): "
        )
        for limit in range(MAX_LISTED, 0, -1):
            message = head + " | ".join(self._listing(limit))
            if len(message) <= MESSAGE_LIMIT:
                return message
        return message[: MESSAGE_LIMIT - 30].rstrip() + " ... (all in the job log)"

    def log(self) -> str:
        return "\n".join(self._listing(MAX_LOGGED))


def _normalized(value: Any) -> str:
    return " ".join(str(value).casefold().split())


@dataclass
class Scan:
    """What the first pass learnt: the valid records' ids and labels, and the month's facts."""

    item_ids: list[str]
    labels: list[str]
    missing: Counter[str]
    profiler: Profiler
    duplicates: int
    duplicate_conflicts: int


def scan(labeled_dir: Path, codes: set[str], country: str, table_name: str) -> Scan:
    """First pass: validate every line (every problem counted, the first few quoted)."""
    problems = Problems()
    read_problems: list[ReadProblem] = []
    first_seen: dict[str, str] = {}
    labels: list[str] = []
    missing: Counter[str] = Counter()
    profiler = Profiler()
    contents: dict[int, str] = {}  # hash of the normalized title/description/brand -> label
    duplicates = conflicts = 0
    n_lines = 0
    for line in iter_lines(labeled_dir, read_problems):
        n_lines += 1
        try:
            record = json.loads(line.text)
        except json.JSONDecodeError as exc:
            problems.add("lines that are not JSON", f"{line.where} ({exc.msg})")
            continue
        except RecursionError:
            problems.add("lines that are not JSON", f"{line.where} (nested too deeply)")
            continue
        error = field_error(record, require_label=True)
        if error:
            problems.add("records with bad fields", f"{line.where} {error}")
            continue
        unencodable = [
            name for name in TEXT_FIELDS if not record[name].isascii() and _surrogate(record[name])
        ]
        if unencodable:
            problems.add(
                "records with text that is not Unicode",
                f"{line.where} field {unencodable[0]} holds an unpaired surrogate escape",
            )
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
        label = record[LABEL_FIELD]
        labels.append(label)
        profiler.add(record, label)
        for name in FEATURE_FIELDS:
            if record[name] is None:
                missing[name] += 1
        key = hash(tuple(_normalized(record[name]) for name in DUPLICATE_FIELDS))
        if key in contents:
            duplicates += 1
            conflicts += contents[key] != label
        else:
            contents[key] = label
    for problem in read_problems:
        problems.add_read(problem)
    if problems.total:
        print(problems.log(), file=sys.stderr, flush=True)
        raise ContractError(problems.message(country, n_lines))
    if n_lines == 0:
        raise ContractError(f"labeled data for country {country}: no records in {labeled_dir}")
    return Scan(list(first_seen), labels, missing, profiler, duplicates, conflicts)


def _surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def read_reference_profile(directory: Path) -> dict[str, Any] | None:
    """The reference profile (the last accepted month's profile.json), or None without one."""
    files = [p for p in data_files(directory) if p.suffix == ".json"]
    if not files:
        return None
    if len(files) > 1:
        raise ContractError(
            f"reference profile: expected one .json file in {directory}, found {len(files)} "
            f"({', '.join(p.name for p in files)})"
        )
    try:
        reference = json.loads(files[0].read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ContractError(f"reference profile {files[0].name}: not valid JSON ({exc})") from exc
    if not isinstance(reference, dict) or not isinstance(reference.get("label_counts"), dict):
        raise ContractError(
            f"reference profile {files[0].name}: not a prepare profile (no label_counts)"
        )
    return reference


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


def _split_counts(labels: list[str], splits: list[str]) -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = {s: Counter() for s in ("train", "validation", "test")}
    for label, split in zip(labels, splits, strict=True):
        counts[split][label] += 1
    return counts


def build_profile(
    found: Scan,
    counts: dict[str, Counter[str]],
    codes: set[str],
    *,
    country: str,
    data_month: str,
    code_table_version: str,
    seed: int,
) -> dict[str, Any]:
    """The month's profile: ``ml_common.drift.Profiler``'s fields plus prepare's own."""
    label_counts = Counter(found.labels)
    profiled = found.profiler.profile()
    n_items = len(found.labels)
    return {
        "country": country,
        "data_month": data_month,
        "code_table_version": code_table_version,
        "split_seed": seed,
        **profiled,
        "n_labels": len(label_counts),
        "codes_without_items": sorted(codes - set(label_counts)),
        "splits": {
            s: {"n_items": sum(c.values()), "label_counts": dict(sorted(c.items()))}
            for s, c in counts.items()
        },
        "missing_values": {name: found.missing.get(name, 0) for name in FEATURE_FIELDS},
        "numeric": {
            name: None if stats is None else {k: stats[k] for k in ("min", "max", "mean", "median")}
            for name, stats in profiled["numeric_stats"].items()
        },
        "duplicates": {
            "items": found.duplicates,
            "share": found.duplicates / n_items if n_items else 0.0,
            "with_another_label": found.duplicate_conflicts,
        },
    }


def prepare(
    paths,
    country: str,
    data_month: str,
    code_table_version: str,
    seed: int,
    validation_fraction: float = 0.1,
    test_fraction: float = 0.1,
    gate_settings: GateSettings | None = None,
) -> dict:
    """Validate, split, gate and write; return the profile (with ``gates`` and ``drift``)."""
    gate_settings = gate_settings or GateSettings()
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
    reference = read_reference_profile(paths.input("reference_profile"))
    labeled_dir = paths.input("labeled")
    found = scan(labeled_dir, codes, country, table_file.name)
    splits = assign_splits(found.labels, seed, validation_fraction, test_fraction)
    counts = _split_counts(found.labels, splits)
    profile = build_profile(
        found,
        counts,
        codes,
        country=country,
        data_month=data_month,
        code_table_version=code_table_version,
        seed=seed,
    )
    facts = MonthFacts(
        n_items=profile["n_items"],
        label_counts=profile["label_counts"],
        split_counts=counts,
        empty_text=found.profiler.empty_text,
        duplicates=found.duplicates,
        duplicate_conflicts=found.duplicate_conflicts,
    )
    drift = drift_against(reference, profile, codes, code_table_version) if reference else None
    gates = data_gates(gate_settings, facts) + drift_gates(gate_settings, drift)
    profile["gates"] = gates
    profile["gates_summary"] = summary(gates)
    profile["drift"] = drift
    print(f"prepare: data gates: {profile['gates_summary']}", flush=True)
    for gate in gates:
        print(f"  {'ok  ' if gate['passed'] else 'FAIL'} {gate['name']}: {gate['detail']}")
    failed = failure_message(country, data_month, gates)
    if failed:
        raise ContractError(failed)

    split_of = dict(zip(found.item_ids, splits, strict=True))
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
        gate_settings=GateSettings.from_env(),
    )
    splits = ", ".join(f"{s}={v['n_items']}" for s, v in profile["splits"].items())
    print(
        f"prepare: {profile['country']} {profile['data_month']}: "
        f"{profile['n_items']} items, {splits}",
        flush=True,
    )


if __name__ == "__main__":
    run_job(main, lambda: processing_paths().message_file)
