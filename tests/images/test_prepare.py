"""``prepare``: validation of labeled data, stratified seeded splits, nothing written if bad."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tests.support.images import make_month, prepare_env, run_entrypoint, stage_prepare

OUTPUT_FILES = [
    "train/train.jsonl",
    "validation/validation.jsonl",
    "test_features/features.jsonl",
    "test_labels/labels.jsonl",
    "profile/profile.json",
]


def _lines(path):
    return [json.loads(line) for line in path.open(encoding="utf-8")]


def test_prepare_writes_every_documented_output(prepared_1):
    for name in OUTPUT_FILES:
        assert (prepared_1 / name).stat().st_size > 0, name


def test_splits_partition_the_items_without_overlap(prepared_1, month_1):
    source = {r["item_id"] for r in _lines(month_1.labeled / "part-00000.jsonl")}
    train = {r["item_id"] for r in _lines(prepared_1 / "train/train.jsonl")}
    validation = {r["item_id"] for r in _lines(prepared_1 / "validation/validation.jsonl")}
    test = {r["item_id"] for r in _lines(prepared_1 / "test_features/features.jsonl")}
    assert train | validation | test == source
    assert len(train) + len(validation) + len(test) == len(source)


def test_splits_are_stratified_by_label(prepared_1):
    train = Counter(r["label"] for r in _lines(prepared_1 / "train/train.jsonl"))
    test = Counter(r["label"] for r in _lines(prepared_1 / "test_labels/labels.jsonl"))
    for label, n_train in train.items():
        if n_train >= 100:
            share = test[label] / (n_train + test[label])
            assert 0.09 <= share <= 0.14, (label, share)


def test_test_features_carry_no_label_and_labels_carry_only_id_and_label(prepared_1):
    features = _lines(prepared_1 / "test_features/features.jsonl")
    labels = _lines(prepared_1 / "test_labels/labels.jsonl")
    assert all("label" not in r for r in features)
    assert all(set(r) == {"item_id", "label"} for r in labels)
    assert [r["item_id"] for r in features] == [r["item_id"] for r in labels]


def test_profile_counts_items_and_splits(prepared_1, month_1):
    profile = json.loads((prepared_1 / "profile/profile.json").read_text())
    assert profile["n_items"] == 3000
    assert profile["code_table_version"] == month_1.version
    assert sum(s["n_items"] for s in profile["splits"].values()) == 3000
    assert profile["missing_values"]["weight_kg"] > 0  # the demo data leaves some weights out


def test_same_seed_gives_the_same_split(workspace, month_1, prepared_1):
    opt_ml = stage_prepare(workspace / "prepare-again" / "opt" / "ml", month_1)
    result = run_entrypoint("processing", "ml_processing.prepare", opt_ml, prepare_env(month_1))
    assert result.returncode == 0, result.stderr
    again = opt_ml / "processing" / "output" / "test_labels" / "labels.jsonl"
    assert again.read_text() == (prepared_1 / "test_labels/labels.jsonl").read_text()


# ---- bad data ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_month(workspace):
    return make_month(workspace / "small-data", "2026-10", items=200)


def _run_with(workspace, small_month, name, mutate):
    opt_ml = stage_prepare(workspace / f"bad-{name}" / "opt" / "ml", small_month)
    data_file = opt_ml / "processing" / "input" / "labeled" / "part-00000.jsonl"
    lines = data_file.read_text(encoding="utf-8").splitlines()
    data_file.write_text("\n".join(mutate(lines)) + "\n", encoding="utf-8")
    result = run_entrypoint("processing", "ml_processing.prepare", opt_ml, prepare_env(small_month))
    message_file = opt_ml / "output" / "message"
    message = message_file.read_text() if message_file.exists() else ""
    return result, message, opt_ml / "processing" / "output"


def _edit(line: str, **changes) -> str:
    record = json.loads(line)
    for key, value in changes.items():
        if value is KeyError:
            record.pop(key)
        else:
            record[key] = value
    return json.dumps(record)


BAD_DATA = {
    "missing_column": (
        lambda lines: [_edit(lines[0], brand=KeyError), *lines[1:]],
        "part-00000.jsonl:1 missing field(s) brand",
    ),
    "wrong_type": (
        lambda lines: [*lines[:4], _edit(lines[4], weight_kg="heavy"), *lines[5:]],
        'part-00000.jsonl:5 field weight_kg must be number or null, got "heavy"',
    ),
    "boolean_as_number": (
        lambda lines: [*lines[:2], _edit(lines[2], screen_size_in=True), *lines[3:]],
        "part-00000.jsonl:3 field screen_size_in must be number or null, got true",
    ),
    "unknown_label": (
        lambda lines: [*lines[:9], _edit(lines[9], label="DE-XX-99"), *lines[10:]],
        "1 labels not in code table v1.json: part-00000.jsonl:10 label 'DE-XX-99'",
    ),
    "duplicate_item_id": (
        lambda lines: [*lines, _edit(lines[3], title="another")],
        "1 duplicate item_ids: 'de-202610-L0000003' at part-00000.jsonl:201 and part-00000.jsonl:4",
    ),
    "not_json": (
        lambda lines: [*lines[:7], "{not json", *lines[8:]],
        "1 lines that are not JSON: part-00000.jsonl:8",
    ),
    "empty_input": (lambda lines: [], "no records in"),
}


@pytest.mark.parametrize("case", list(BAD_DATA))
def test_bad_data_fails_with_a_message_naming_the_problem_and_writes_nothing(
    workspace, small_month, case
):
    mutate, expected = BAD_DATA[case]
    result, message, output = _run_with(workspace, small_month, case, mutate)
    assert result.returncode != 0
    assert expected in message
    assert "country de" in message
    assert not output.exists() or not any(output.rglob("*.jsonl"))


def test_many_problems_are_counted_and_the_first_few_quoted(workspace, small_month):
    def mutate(lines):
        return [_edit(line, label="DE-XX-99") if i < 12 else line for i, line in enumerate(lines)]

    result, message, _ = _run_with(workspace, small_month, "many", mutate)
    assert result.returncode != 0
    assert "12 labels not in code table" in message
    assert "and 7 more" in message


def test_code_table_version_must_match_the_file(workspace, small_month):
    opt_ml = stage_prepare(workspace / "bad-version" / "opt" / "ml", small_month)
    env = {**prepare_env(small_month), "CODE_TABLE_VERSION": "v9"}
    result = run_entrypoint("processing", "ml_processing.prepare", opt_ml, env)
    assert result.returncode != 0
    assert "does not match CODE_TABLE_VERSION=v9" in (opt_ml / "output" / "message").read_text()
