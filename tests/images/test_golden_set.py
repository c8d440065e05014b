"""The golden set: the demo generator's fixed, correctly labeled set per model and code table, the
evaluate job's scores on it, and the decision it changes — with real months trained, served and
evaluated by the images (months made as tests/images/conftest.py makes them).

The two bad months of the issue: one whose labels of two classes are swapped (its own test set is
swapped too, so on the month alone the challenger wins big over a good champion) and one that
holds a single class (on a first run the floor on its own test set is all there was). The
month's splits are cut here, as prepare cuts them, rather than by prepare itself: prepare's data
gates may refuse such months earlier, and this is the check behind them.
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from ml_common.records import FEATURE_FIELDS, field_error
from mlops.comparison import Policy, decide

from local.demodata import code_table, generate_golden, generate_month, iter_golden
from local.demodata.catalog import COUNTRIES
from local.demodata.generator import DEFAULT_GOLDEN_ITEMS_PER_TYPE, _iter_golden_typed
from tests.support.images import (
    Server,
    hyperparameters,
    run_entrypoint,
    run_training,
    serving_root,
    stage_evaluation,
)

# DE's comparison policy (include/config/countries.yaml: floor 0.60, margin 0.005, recall drop
# 0.05; the default significance level 0.05).
DE_POLICY = Policy(absolute_floor=0.60, margin=0.005, max_recall_drop=0.05)
SWAPPED = ("DE-ELG-1", "DE-ELG-2")  # kettles and toasters <-> screens (TVs, laptops, tablets)


# ---------------------------------------------------------------- the generator's golden set
@pytest.mark.parametrize("scheme", [None, "batteries"])
@pytest.mark.parametrize("version", ["v1", "v2"])
def test_every_golden_label_is_the_generators_ground_truth_and_every_code_has_items(
    scheme, version
):
    catalog = COUNTRIES["de"]
    table = (catalog.schemes[scheme] if scheme else catalog).tables[version]
    typed = list(_iter_golden_typed("de", version, scheme=scheme))
    assert all(record["label"] == table.assignment[key] for key, record in typed)
    counts = Counter(record["label"] for _, record in typed)
    assert set(counts) == {c["code"] for c in code_table("de", version, scheme)["codes"]}
    assert min(counts.values()) >= DEFAULT_GOLDEN_ITEMS_PER_TYPE
    assert 200 <= len(typed) <= 400  # a paired test has power, the demo stays fast
    assert all(field_error(record, require_label=True) is None for _, record in typed)
    assert len({record["item_id"] for _, record in typed}) == len(typed)


def test_the_golden_set_is_fixed_whatever_the_month_or_the_seed(tmp_path):
    first = generate_month(tmp_path / "a", "de", "2026-11", 30, seed=1)
    later = generate_month(tmp_path / "b", "de", "2027-03", 30, seed=9)
    assert first.code_table_version == later.code_table_version == "v2"
    for name in ("features.jsonl", "labels.jsonl", "manifest.json"):
        a = (tmp_path / "a" / "de" / "golden" / "v2" / name).read_bytes()
        assert a == (tmp_path / "b" / "de" / "golden" / "v2" / name).read_bytes(), name
    assert list(iter_golden("de", "v2")) == list(iter_golden("de", "v2"))
    assert first.golden_items == 320


def test_the_golden_set_has_the_shapes_of_prepares_test_split(tmp_path):
    summary = generate_golden(tmp_path, "gb", "v1")
    directory = tmp_path / "gb" / "golden" / "v1"
    assert summary.files == [
        "gb/golden/v1/features.jsonl",
        "gb/golden/v1/labels.jsonl",
        "gb/golden/v1/manifest.json",
    ]
    features = [json.loads(line) for line in (directory / "features.jsonl").open()]
    labels = [json.loads(line) for line in (directory / "labels.jsonl").open()]
    assert all(list(f) == list(FEATURE_FIELDS) for f in features)  # no label, prepare's order
    assert all(set(label) == {"item_id", "label"} for label in labels)
    assert [f["item_id"] for f in features] == [label["item_id"] for label in labels]
    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["code_table_version"] == "v1" and manifest["n_items"] == len(labels)
    assert manifest["label_counts"] == dict(sorted(Counter(x["label"] for x in labels).items()))


def test_the_regulation_change_relabels_the_golden_set_with_the_new_table():
    v1 = {r["item_id"].split("-")[-1]: r["label"] for r in iter_golden("de", "v1")}
    v2 = {r["item_id"].split("-")[-1]: r["label"] for r in iter_golden("de", "v2")}
    assert "DE-BATT-LMT" in set(v2.values()) - set(v1.values())
    assert {r["title"] for r in iter_golden("de", "v1")} == {
        r["title"] for r in iter_golden("de", "v2")
    }  # the same products: only the table's codes differ


def test_a_scheme_and_a_custom_prefix_keep_their_golden_sets_apart(tmp_path):
    generate_golden(tmp_path, "de", "v1", scheme="batteries", prefix="/eu/batt/")
    assert (tmp_path / "eu" / "batt" / "golden" / "v1" / "labels.jsonl").exists()
    with pytest.raises(ValueError, match="model 'de-batteries': no code table 'v7'"):
        generate_golden(tmp_path, "de", "v7", scheme="batteries")


# ---------------------------------------------------------------- the evaluate job's golden scores
def _run_evaluate(opt_ml: Path) -> Path:
    result = run_entrypoint("processing", "ml_processing.evaluate", opt_ml, {"COUNTRY": "de"})
    assert result.returncode == 0, result.stderr
    return opt_ml / "processing" / "output" / "evaluation"


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open()]


@pytest.fixture(scope="module")
def scored(workspace, prepared_1, month_1, linear_server, neural_server) -> Path:
    opt_ml = workspace / "golden-evaluate" / "opt" / "ml"
    stage_evaluation(opt_ml, prepared_1, month_1.golden, neural_server, linear_server)
    return _run_evaluate(opt_ml)


def test_metrics_json_scores_both_models_on_the_golden_set_too(scored, month_1):
    metrics = json.loads((scored / "metrics.json").read_text())
    golden = metrics["golden"]
    n_golden = sum(1 for _ in (month_1.golden / "labels.jsonl").open())
    assert golden["n_items"] == n_golden != metrics["n_items"]
    for name in ("challenger", "champion"):
        assert set(golden[name]) == set(metrics[name])  # the same metric shapes
        assert golden[name]["counts"]["n_items"] == n_golden
        assert set(golden[name]["per_class"]) == {
            c["code"] for c in code_table("de", "v1")["codes"]
        }
        assert golden[name]["macro_f1"] >= 0.9, name  # good models on clean labels
    rows = _rows(scored / "per_item_golden.jsonl")
    assert len(rows) == n_golden
    assert set(rows[0]) == set(_rows(scored / "per_item.jsonl")[0])
    assert sum(r["champion_correct"] for r in rows) == golden["champion"]["counts"]["correct"]
    html = (scored / "report.html").read_text()
    assert "<h2>Golden set</h2>" in html and f"{n_golden} items of the model's golden set" in html


def test_an_evaluation_without_the_golden_set_fails_saying_so(
    workspace, prepared_1, month_1, linear_server
):
    opt_ml = workspace / "golden-missing" / "opt" / "ml"
    stage_evaluation(opt_ml, prepared_1, month_1.golden, linear_server)
    (opt_ml / "processing" / "input" / "golden_labels" / "labels.jsonl").unlink()
    result = run_entrypoint("processing", "ml_processing.evaluate", opt_ml, {"COUNTRY": "de"})
    assert result.returncode != 0
    assert "golden set labels: no records in" in (opt_ml / "output" / "message").read_text()
    assert not (opt_ml / "processing" / "output" / "evaluation").exists()


def test_a_champion_scored_on_the_test_set_only_fails(
    workspace, prepared_1, month_1, linear_server
):
    opt_ml = workspace / "golden-champion-once" / "opt" / "ml"
    stage_evaluation(opt_ml, prepared_1, month_1.golden, linear_server, linear_server)
    for answer in (opt_ml / "processing" / "input" / "golden_champion").iterdir():
        answer.unlink()
    result = run_entrypoint("processing", "ml_processing.evaluate", opt_ml, {"COUNTRY": "de"})
    assert result.returncode != 0
    message = (opt_ml / "output" / "message").read_text()
    assert "champion predictions for the test set but none for the golden set" in message


# ---------------------------------------------------------------- bad months, real models
def split_like_prepare(records: list[dict], out: Path, seed: int = 7) -> Path:
    """prepare's output layout for ``records``: stratified 80/10/10 train, validation, test
    (test features without the label, test labels ``item_id``/``label``)."""
    by_label: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        by_label[record["label"]].append(record)
    rng = random.Random(seed)
    splits: dict[str, list[dict]] = {"train": [], "validation": [], "test": []}
    for label in sorted(by_label):
        items = by_label[label]
        rng.shuffle(items)
        tenth = round(len(items) * 0.1)
        splits["test"] += items[:tenth]
        splits["validation"] += items[tenth : 2 * tenth]
        splits["train"] += items[2 * tenth :]

    def write(name: str, rows: list[dict]) -> None:
        (out / name).mkdir(parents=True, exist_ok=True)
        file = (
            "labels" if name == "test_labels" else "features" if name == "test_features" else name
        )
        with (out / name / f"{file}.jsonl").open("w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)

    write("train", splits["train"])
    write("validation", splits["validation"])
    write("test_features", [{k: v for k, v in r.items() if k != "label"} for r in splits["test"]])
    write("test_labels", [{"item_id": r["item_id"], "label": r["label"]} for r in splits["test"]])
    return out


def month_records(month_data, seed: int) -> list[dict]:
    """Another labeled month of DE's catalog under the same code table (its own items)."""
    root = month_data.root.parent / f"data-seed-{seed}"
    generate_month(root, "de", month_data.month, 3000, seed=seed, unlabeled_items=0)
    return [
        json.loads(line)
        for part in sorted((root / "de" / month_data.month / "labeled").glob("*.jsonl"))
        for line in part.open()
    ]


def evaluate_month(workspace: Path, name: str, prepared: Path, golden: Path, challenger, champion):
    """The real evaluate job on the month's test set and the golden set; decide's inputs."""
    opt_ml = workspace / f"evaluate-{name}" / "opt" / "ml"
    stage_evaluation(opt_ml, prepared, golden, challenger, champion)
    evaluation = _run_evaluate(opt_ml)
    return (
        json.loads((evaluation / "metrics.json").read_text()),
        _rows(evaluation / "per_item.jsonl"),
        _rows(evaluation / "per_item_golden.jsonl"),
    )


def train_and_serve(workspace: Path, name: str, prepared: Path, hp: dict) -> Server:
    opt_ml = workspace / f"train-{name}" / "opt" / "ml"
    result = run_training(opt_ml, prepared, hp)
    assert result.returncode == 0, result.stderr
    return Server(serving_root(workspace, f"serve-{name}", opt_ml / "model"))


@pytest.fixture(scope="module")
def swapped_month(workspace, month_1, linear_server):
    """A month whose labels of two classes are swapped, trained (linear), against the good
    month-1 linear champion."""
    records = month_records(month_1, seed=11)
    swap = {SWAPPED[0]: SWAPPED[1], SWAPPED[1]: SWAPPED[0]}
    for record in records:
        record["label"] = swap.get(record["label"], record["label"])
    prepared = split_like_prepare(records, workspace / "swapped" / "prepared")
    challenger = train_and_serve(workspace, "swapped", prepared, hyperparameters("linear", month_1))
    try:
        return evaluate_month(
            workspace, "swapped", prepared, month_1.golden, challenger, linear_server
        )
    finally:
        challenger.stop()


def test_a_swapped_month_is_refused_against_a_good_champion_because_of_the_golden_set(
    swapped_month,
):
    metrics, per_item, per_item_golden = swapped_month
    decision = decide(
        metrics["challenger"],
        metrics["champion"],
        per_item,
        DE_POLICY,
        golden=metrics["golden"],
        golden_per_item=per_item_golden,
    )
    # The month alone says the challenger is much better: its test set is swapped too.
    gain = metrics["challenger"]["macro_f1"] - metrics["champion"]["macro_f1"]
    assert gain >= 0.1, gain
    assert decision.p_value < DE_POLICY.significance_level
    test_reasons = [r for r in decision.reasons if not r.startswith("golden set: ")]
    assert any("meets margin" in r for r in test_reasons), test_reasons
    assert any(r.startswith("no class recall drops") for r in test_reasons), test_reasons
    # The golden set says otherwise, and refuses it.
    assert not decision.promote, decision.reasons
    [regression] = [
        r for r in decision.reasons if r.startswith("golden set: significant regression")
    ]
    assert decision.golden_p_value < 1e-6, regression
    assert decision.golden_discordant["champion_only"] >= 50  # the swapped classes' items
    golden = metrics["golden"]
    for code in SWAPPED:
        assert golden["challenger"]["per_class"][code]["recall"] < 0.1
        assert golden["champion"]["per_class"][code]["recall"] > 0.9


def test_a_swapped_month_on_a_first_run_is_refused_by_the_golden_class_recall(swapped_month):
    """No champion: the month's own (swapped) test set passes the floor, and so does the golden
    set's mean — the other classes carry it; the two swapped classes' recall there refuses it."""
    metrics, per_item, _ = swapped_month
    golden = {**metrics["golden"], "champion": None}
    decision = decide(
        metrics["challenger"], None, per_item, DE_POLICY, golden=golden, golden_per_item=[]
    )
    assert golden["challenger"]["macro_f1"] >= DE_POLICY.absolute_floor
    assert f"golden set: macro_f1 {golden['challenger']['macro_f1']:.4f} ≥" in decision.reasons[2]
    assert not decision.promote, decision.reasons
    [weak] = [r for r in decision.reasons if r.startswith("golden set: class recall below")]
    assert all(code in weak for code in SWAPPED), weak


@pytest.fixture(scope="module")
def single_class_month(workspace, month_1):
    """A month holding one class only, trained (neural), on a first run: no champion."""
    records = [r for r in month_records(month_1, seed=12) if r["label"] == "DE-ELG-6"]
    assert len(records) > 300
    prepared = split_like_prepare(records, workspace / "single-class" / "prepared")
    challenger = train_and_serve(
        workspace, "single-class", prepared, hyperparameters("neural", month_1)
    )
    try:
        return evaluate_month(workspace, "single-class", prepared, month_1.golden, challenger, None)
    finally:
        challenger.stop()


def test_a_single_class_month_is_refused_on_a_first_run_by_the_golden_floor(single_class_month):
    metrics, per_item, per_item_golden = single_class_month
    assert metrics["champion"] is None and metrics["golden"]["champion"] is None
    decision = decide(
        metrics["challenger"],
        None,
        per_item,
        DE_POLICY,
        golden=metrics["golden"],
        golden_per_item=per_item_golden,
    )
    # On its own one-class test set the model is perfect: the floor there passes.
    assert metrics["challenger"]["macro_f1"] >= DE_POLICY.absolute_floor
    assert decision.reasons[0].startswith(f"macro_f1 {metrics['challenger']['macro_f1']:.4f} ≥")
    assert not decision.promote, decision.reasons
    golden_f1 = metrics["golden"]["challenger"]["macro_f1"]
    assert golden_f1 < 0.2
    assert f"golden set: macro_f1 {golden_f1:.4f} < absolute floor 0.6000" in decision.reasons
