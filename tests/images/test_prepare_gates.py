"""``prepare``'s data gates and malformed-input errors, through the real entrypoint: each bad
month of issue 11 is refused (exit 2, the reasons in the message, nothing written), each by its
own test; a good month and a regulation change pass, with the results in profile.json."""

from __future__ import annotations

import gzip
import json
import random
from dataclasses import dataclass
from pathlib import Path

import pytest

from local.demodata import scenarios
from tests.support.images import MonthData, make_month, prepare_env, run_entrypoint, stage_prepare

ITEMS = 600
LABELED = ("processing", "input", "labeled")


@dataclass
class Outcome:
    returncode: int
    message: str
    output: Path
    stdout: str

    @property
    def profile(self) -> dict:
        return json.loads((self.output / "profile" / "profile.json").read_text())

    @property
    def failed_gates(self) -> list[str]:
        """The failed gates the message names: ``(2 of 9: min_items, min_classes): ...``."""
        head = self.message.partition("): ")[0]
        assert "data gates failed" in head, self.message
        return head.rpartition(": ")[2].split(", ")

    def wrote_nothing(self) -> bool:
        return not self.output.exists() or not any(p.is_file() for p in self.output.rglob("*"))


def _records(data: MonthData) -> list[dict]:
    text = (data.labeled / "part-00000.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _jsonl(records: list[dict]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


def run_month(
    workspace: Path,
    name: str,
    data: MonthData,
    *,
    files: dict[str, bytes] | None = None,
    reference: dict | None = None,
    env: dict[str, str] | None = None,
) -> Outcome:
    """prepare on ``data``, its labeled files replaced by ``files`` (name -> bytes)."""
    opt_ml = stage_prepare(workspace / f"gates-{name}" / "opt" / "ml", data)
    labeled = opt_ml.joinpath(*LABELED)
    if files is not None:
        for path in labeled.iterdir():
            path.unlink()
        for file_name, content in files.items():
            (labeled / file_name).write_bytes(content)
    if reference is not None:
        directory = opt_ml / "processing" / "input" / "reference_profile"
        directory.mkdir(parents=True)
        (directory / "profile.json").write_text(json.dumps(reference))
    result = run_entrypoint(
        "processing", "ml_processing.prepare", opt_ml, {**prepare_env(data), **(env or {})}
    )
    message_file = opt_ml / "output" / "message"
    message = message_file.read_text() if message_file.exists() else ""
    return Outcome(result.returncode, message, opt_ml / "processing" / "output", result.stdout)


def refused(outcome: Outcome) -> Outcome:
    assert outcome.returncode == 2, (outcome.returncode, outcome.message)
    assert outcome.wrote_nothing()
    assert 0 < len(outcome.message) <= 1024  # what SageMaker keeps of a FailureReason
    return outcome


@pytest.fixture(scope="module")
def month(workspace) -> MonthData:
    return make_month(workspace / "gates-data", "2026-10", items=ITEMS)


@pytest.fixture(scope="module")
def records(month) -> list[dict]:
    return _records(month)


@pytest.fixture(scope="module")
def reference(workspace) -> dict:
    """The profile of the month before (the same code table): the drift gates' reference."""
    data = make_month(workspace / "gates-data", "2026-09", items=ITEMS)
    outcome = run_month(workspace, "reference", data)
    assert outcome.returncode == 0, outcome.message
    return outcome.profile


# ---- a good month ----------------------------------------------------------------------------


def test_a_first_month_passes_with_the_drift_gates_skipped(workspace, month):
    outcome = run_month(workspace, "first", month)
    assert outcome.returncode == 0, outcome.message
    profile = outcome.profile
    gates = {g["name"]: g for g in profile["gates"]}
    assert set(gates) >= {"min_items", "min_classes", "max_empty_text_share", "max_class_distance"}
    assert all(g["passed"] for g in gates.values())
    assert {n for n, g in gates.items() if g["skipped"]} == {
        "max_class_distance",
        "max_vanished_classes",
        "max_new_classes",
        "max_text_length_shift",
    }
    assert "no reference profile" in gates["max_class_distance"]["detail"]
    assert profile["drift"] is None
    assert "4 skipped (no reference profile)" in profile["gates_summary"]
    # The profile is one compare_profiles reads: the next month's reference.
    assert profile["text_length"]["mean"] > 0 and profile["label_counts"]


def test_a_good_month_passes_the_drift_gates_against_its_reference(workspace, month, reference):
    outcome = run_month(workspace, "good-drift", month, reference=reference)
    assert outcome.returncode == 0, outcome.message
    profile = outcome.profile
    assert not [g for g in profile["gates"] if g["skipped"] or not g["passed"]]
    assert profile["drift"]["reference"]["data_month"] == "2026-09"
    assert profile["drift"]["class_distance"] < 0.2
    assert profile["drift"]["table_change"] is None


# ---- bad months: each refused by its gate ------------------------------------------------------


def test_a_tiny_month_is_refused(workspace, month, records):
    outcome = refused(
        run_month(workspace, "tiny", month, files={"part.jsonl": _jsonl(scenarios.tiny(records))})
    )
    assert "min_items" in outcome.failed_gates
    assert "min_items: 5 labeled items (minimum 100)" in outcome.message
    assert "country de 2026-10" in outcome.message


def test_a_single_class_month_is_refused(workspace, month, records):
    single = scenarios.single_class(records)
    outcome = refused(run_month(workspace, "single", month, files={"part.jsonl": _jsonl(single)}))
    assert outcome.failed_gates == ["min_classes"]
    assert f"the month holds the single class {single[0]['label']}" in outcome.message


def test_a_month_with_empty_titles_is_refused(workspace, month, records):
    blank = scenarios.blank_titles(records)
    outcome = refused(run_month(workspace, "blank", month, files={"part.jsonl": _jsonl(blank)}))
    assert outcome.failed_gates == ["max_empty_text_share"]
    assert f"{ITEMS} of {ITEMS} items (100.0%) have an empty title" in outcome.message


def test_a_month_of_duplicates_is_refused(workspace, month, records):
    copies = scenarios.duplicated(records, share=0.3)
    outcome = refused(run_month(workspace, "dups", month, files={"part.jsonl": _jsonl(copies)}))
    assert outcome.failed_gates == ["max_duplicate_share"]
    extra = len(copies) - ITEMS
    share = f"{extra / len(copies):.1%}"
    assert f"{extra} of {len(copies)} items ({share}) repeat the title" in outcome.message


def test_a_month_whose_classes_vanished_is_refused(workspace, month, records, reference):
    remaining = scenarios.drop_classes(records, count=2)
    gone = sorted({r["label"] for r in records} - {r["label"] for r in remaining})
    outcome = refused(
        run_month(
            workspace,
            "vanished",
            month,
            files={"part.jsonl": _jsonl(remaining)},
            reference=reference,
        )
    )
    assert "max_vanished_classes" in outcome.failed_gates
    assert "2 classes of the reference month 2026-09 (v1) have no item this month: " in (
        outcome.message
    )
    assert ", ".join(gone) in outcome.message


def test_a_month_whose_class_distribution_moved_is_refused(workspace, month, records, reference):
    largest = max({r["label"] for r in records}, key=[r["label"] for r in records].count)
    rng = random.Random(3)
    skewed = [r for r in records if r["label"] == largest or rng.random() < 0.15]
    outcome = refused(
        run_month(
            workspace, "distance", month, files={"part.jsonl": _jsonl(skewed)}, reference=reference
        )
    )
    assert outcome.failed_gates == ["max_class_distance"]
    assert "class distribution distance (Jensen-Shannon)" in outcome.message


def test_thresholds_come_from_the_environment(workspace, month):
    outcome = refused(run_month(workspace, "env", month, env={"GATE_MIN_ITEMS": "1000"}))
    assert outcome.failed_gates == ["min_items"]
    assert f"{ITEMS} labeled items (minimum 1000)" in outcome.message


def test_an_unknown_gate_setting_is_refused(workspace, month):
    outcome = refused(run_month(workspace, "env-unknown", month, env={"GATE_MIN_ITEM": "10"}))
    assert "GATE_MIN_ITEM: no such data gate" in outcome.message


# ---- a regulation change -------------------------------------------------------------------


def test_a_regulation_change_passes_the_drift_gates_on_the_new_table(workspace):
    """v1 -> v2 retires DE-ELG-7 and adds two battery codes: neither vanished nor new."""
    before = make_month(workspace / "gates-reg", "2026-10", items=ITEMS)
    after = make_month(workspace / "gates-reg", "2026-11", items=ITEMS)
    assert (before.version, after.version) == ("v1", "v2")
    first = run_month(workspace, "reg-v1", before)
    assert first.returncode == 0, first.message
    outcome = run_month(workspace, "reg-v2", after, reference=first.profile)
    assert outcome.returncode == 0, outcome.message
    profile = outcome.profile
    change = profile["drift"]["table_change"]
    assert change["from"] == "v1" and change["to"] == "v2"
    assert change["retired_classes"] == ["DE-ELG-7"]
    assert set(change["new_in_table"]) == {"DE-BATT-EMB", "DE-BATT-LMT"}
    gates = {g["name"]: g for g in profile["gates"]}
    assert all(g["passed"] and not g["skipped"] for g in gates.values())
    assert gates["max_vanished_classes"]["value"] == 0
    assert (
        "retired by the new table, not counted: DE-ELG-7"
        in (gates["max_vanished_classes"]["detail"])
    )
    assert gates["max_new_classes"]["value"] == 0
    assert (
        "new in the table, allowed: DE-BATT-EMB, DE-BATT-LMT"
        in (gates["max_new_classes"]["detail"])
    )
    assert gates["max_class_distance"]["threshold"] == 0.4  # max_class_distance_table_change
    assert "regulation change v1 → v2" in gates["max_class_distance"]["detail"]


# ---- malformed input: exit 2 with file and line ----------------------------------------------


def test_a_non_utf8_byte_is_reported_with_file_line_and_offset(workspace, month):
    raw = (month.labeled / "part-00000.jsonl").read_bytes()
    lines = raw.splitlines(keepends=True)
    bad = lines[7].replace(b'"title": "', b'"title": "\xff', 1)
    if bad == lines[7]:  # the generator writes compact JSON
        bad = lines[7].replace(b'"title":"', b'"title":"\xff', 1)
    assert bad != lines[7]
    column = bad.index(b"\xff")
    offset = sum(len(line) for line in lines[:7]) + column
    content = b"".join([*lines[:7], bad, *lines[8:]])
    outcome = refused(run_month(workspace, "utf8", month, files={"part-00000.jsonl": content}))
    assert "country de" in outcome.message
    assert "1 lines that are not UTF-8" in outcome.message
    assert (
        f"part-00000.jsonl:8: not UTF-8: byte 0xff at byte offset {offset} "
        f"(column {column + 1} of the line)"
    ) in outcome.message


@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_a_broken_gzip_file_is_reported_with_the_line_reached(workspace, month, damage):
    raw = (month.labeled / "part-00000.jsonl").read_bytes()
    packed = bytearray(gzip.compress(raw))
    if damage == "truncated":
        packed = packed[: len(packed) // 2]
    else:  # flip bytes in the middle of the deflate stream
        middle = len(packed) // 2
        packed[middle : middle + 8] = bytes(b ^ 0xFF for b in packed[middle : middle + 8])
    outcome = refused(
        run_month(workspace, f"gz-{damage}", month, files={"part-00000.jsonl.gz": bytes(packed)})
    )
    assert "unreadable compressed files: part-00000.jsonl.gz after line " in outcome.message
    assert "corrupt or truncated gzip" in outcome.message


def test_a_file_that_is_not_gzip_despite_its_name_is_reported(workspace, month):
    raw = (month.labeled / "part-00000.jsonl").read_bytes()
    outcome = refused(run_month(workspace, "gz-fake", month, files={"part-00000.jsonl.gz": raw}))
    assert "part-00000.jsonl.gz after line 0: corrupt or truncated gzip" in outcome.message


def test_every_kind_of_problem_is_listed_with_a_total(workspace, month, records):
    lines = _jsonl(records).splitlines(keepends=True)
    lines[2] = b'{"item_id": "x", "title": "\xfe"}\n'
    lines[4] = b"{not json\n"
    lines[6] = json.dumps({**records[6], "brand": None}).encode() + b"\n"
    outcome = refused(run_month(workspace, "kinds", month, files={"p.jsonl": b"".join(lines)}))
    assert f"({ITEMS - 1} lines read, 3 problems)" in outcome.message
    for expected in (
        "1 lines that are not UTF-8: p.jsonl:3",
        "1 lines that are not JSON: p.jsonl:5",
        "1 records with bad fields: p.jsonl:7 field brand is null",
    ):
        assert expected in outcome.message


def test_an_unpaired_surrogate_escape_is_a_bad_record_not_a_crash(workspace, month, records):
    lines = _jsonl(records).splitlines(keepends=True)
    lines[3] = json.dumps({**records[3], "title": "\ud800"}).encode() + b"\n"
    outcome = refused(run_month(workspace, "surrogate", month, files={"p.jsonl": b"".join(lines)}))
    assert "p.jsonl:4 field title holds an unpaired surrogate escape" in outcome.message
