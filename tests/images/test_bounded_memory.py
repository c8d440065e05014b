"""What keeps a month's postprocess in bounded memory, whatever its volume: the profile's
counters and samples, the on-disk item ledger, one items file's ids at a time for the
positional join, and label partitions that roll over into new parts."""

from __future__ import annotations

import json
import random
import sys
import tracemalloc

import pytest
from ml_common import drift
from ml_common.contract import ContractError, ProcessingPaths
from ml_common.drift import Profiler

from tests.support.images import DOCKER

# The processing image's package, in this process (the other image tests run its entrypoints).
sys.path.insert(0, str(DOCKER / "processing" / "src"))
from ml_processing import ledger as ledger_module  # noqa: E402
from ml_processing.ledger import ItemLedger  # noqa: E402
from ml_processing.postprocess import postprocess  # noqa: E402


def _sorted_quantile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ---------------------------------------------------------------- the profile
def test_text_length_quantiles_from_the_histogram_equal_the_sorted_list():
    rng = random.Random(7)
    titles = ["x" * rng.choice([0, 1, 3, 3, 8, 20, 21, 90]) for _ in range(5_001)]
    profiler = Profiler()
    for title in titles:
        profiler.add({"title": title})
    lengths = [len(t) for t in titles]
    stats = profiler.profile()["text_length"]
    assert stats["median"] == _sorted_quantile(lengths, 0.5)
    assert stats["p95"] == _sorted_quantile(lengths, 0.95)
    assert stats["mean"] == pytest.approx(sum(lengths) / len(lengths))
    assert (stats["min"], stats["max"]) == (min(lengths), max(lengths))


def test_numeric_stats_are_exact_up_to_the_sample_size():
    values = [random.Random(1).uniform(0, 50) for _ in range(1)] + [
        float(n % 97) for n in range(999)
    ]
    profiler = Profiler(numeric_sample_size=1_000)
    for value in values:
        profiler.add({"title": "t", "weight_kg": value})
    stats = profiler.profile()["numeric_stats"]["weight_kg"]
    assert stats["median"] == _sorted_quantile(values, 0.5)
    assert stats["p95"] == _sorted_quantile(values, 0.95)


def test_numeric_values_past_the_sample_size_cost_no_memory_and_keep_exact_moments():
    profiler = Profiler(numeric_sample_size=500)
    values = [float(n) for n in range(20_000)]
    for value in values:
        profiler.add({"title": "t", "weight_kg": value})
    numeric = profiler.numeric["weight_kg"]
    assert len(numeric.sample) == 500
    stats = profiler.profile()["numeric_stats"]["weight_kg"]
    assert (stats["min"], stats["max"]) == (0.0, 19_999.0)
    assert stats["mean"] == pytest.approx(sum(values) / len(values))
    # A uniform sample: its median lands near the true one (5 % of the range).
    assert abs(stats["median"] - 10_000) < 1_000
    assert stats["p95"] > 17_000


def test_the_same_records_give_the_same_profile():
    def profile():
        profiler = Profiler(numeric_sample_size=100)
        for n in range(3_000):
            profiler.add({"title": "t" * (n % 9), "weight_kg": (n * 7919) % 1000 / 10})
        return profiler.profile()

    assert profile() == profile()


# ---------------------------------------------------------------- the ledger
@pytest.mark.parametrize("batch", [3, 1_000])  # the repeat across batches, within one
def test_the_ledger_names_an_item_answered_twice(tmp_path, monkeypatch, batch):
    monkeypatch.setattr(ledger_module, "BATCH", batch)
    with ItemLedger(tmp_path) as ledger:
        for n in range(10):
            ledger.answered(f"item-{n}")
        ledger.answered("item-4")
        with pytest.raises(ContractError, match="item item-4 answered twice"):
            ledger.totals()


def test_the_ledger_counts_missing_items_and_names_the_first(tmp_path, monkeypatch):
    monkeypatch.setattr(ledger_module, "BATCH", 4)
    with ItemLedger(tmp_path) as ledger:
        for n in range(20):
            ledger.expect(f"item-{n:02d}")
        ledger.expect("item-03")  # listed twice: one item
        for n in range(20):
            if n not in (3, 11, 17):
                ledger.answered(f"item-{n:02d}")
        assert ledger.missing(examples=2) == (3, ["item-03", "item-11"])
        assert ledger.totals() == (20, 17)
    assert not list(tmp_path.iterdir())  # its file is gone with it


# ---------------------------------------------------------------- postprocess in process
def _month(root, items, *, with_item_id=True, files=1):
    paths = ProcessingPaths(root)
    per_file = -(-items // files)
    for f in range(files):
        ids = range(f * per_file, min(items, (f + 1) * per_file))
        (paths.input("items")).mkdir(parents=True, exist_ok=True)
        (paths.input("predictions")).mkdir(parents=True, exist_ok=True)
        with (paths.input("items") / f"part-{f:05d}.jsonl").open("w") as handle:
            for n in ids:
                record = {
                    "item_id": f"item-{n:08d}",
                    "title": "drill " * (n % 7),
                    "weight_kg": n % 13,
                }
                handle.write(json.dumps(record) + "\n")
        with (paths.input("predictions") / f"part-{f:05d}.jsonl.out").open("w") as handle:
            for n in ids:
                answer = {"label": f"DE-{n % 5}", "confidence": (n % 10) / 10, "top_k": []}
                if with_item_id:
                    answer["item_id"] = f"item-{n:08d}"
                handle.write(json.dumps(answer) + "\n")
    return paths


def _peak_python_bytes(paths):
    tracemalloc.start()
    try:
        postprocess(paths, 0.5)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_postprocess_memory_does_not_grow_with_the_month(tmp_path, monkeypatch):
    """Eight times the items, in as many files of the same size: the peak of Python's
    allocations stays within 1.5 times (sets of the month's ids would make it grow eightfold).
    The numeric sample and the ledger's batch are made small, so both months fill them, as a
    real month does."""
    monkeypatch.setattr(drift, "NUMERIC_SAMPLE_SIZE", 500)
    monkeypatch.setattr(ledger_module, "BATCH", 500)
    small = _peak_python_bytes(_month(tmp_path / "small", 3_000, with_item_id=False, files=1))
    large = _peak_python_bytes(_month(tmp_path / "large", 24_000, with_item_id=False, files=8))
    assert large < 1.5 * small, (small, large)


def test_label_partitions_roll_over_into_parts(tmp_path):
    paths = _month(tmp_path, 23)
    summary = postprocess(paths, 0.5, rows_per_part=2)
    rows = {}
    for part in sorted(paths.output("predictions").glob("label=*/part-*.jsonl")):
        lines = part.read_text().splitlines()
        assert 1 <= len(lines) <= 2, part
        for line in lines:
            rows[json.loads(line)["item_id"]] = part.parent.name
    assert len(rows) == summary["rows"] == 23
    # DE-0 has items 0, 5, 10, 15, 20: three parts.
    assert len(list((paths.output("predictions") / "label=DE-0").glob("part-*.jsonl"))) == 3


def test_an_item_without_item_id_is_named(tmp_path):
    paths = _month(tmp_path, 5)
    with (paths.input("items") / "part-00000.jsonl").open("a") as handle:
        handle.write(json.dumps({"title": "no id"}) + "\n")
    with pytest.raises(ContractError, match=r"items: part-00000.jsonl:6 has no item_id"):
        postprocess(paths, 0.5)
    assert not paths.output("predictions").exists()  # nothing half-written
