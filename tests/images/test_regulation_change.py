"""The regulation-change scenario: month 2 remaps product types to new codes (code table v2), so
a model retrained on month 2 beats the month-1 champion on month-2 test data."""

from __future__ import annotations

import json

import pytest

from tests.support.images import (
    Server,
    copy_into,
    hyperparameters,
    run_entrypoint,
    run_prepare,
    run_training,
    serving_root,
    transform,
)


@pytest.fixture(scope="module")
def month_2_evaluation(workspace, month_2, linear_server):
    prepared = run_prepare(workspace / "prepare-2" / "opt" / "ml", month_2)
    train_root = workspace / "train-linear-2" / "opt" / "ml"
    result = run_training(train_root, prepared, hyperparameters("linear", month_2))
    assert result.returncode == 0, result.stderr
    challenger = Server(serving_root(workspace, "serve-linear-2", train_root / "model"))
    try:
        opt_ml = workspace / "evaluate-2" / "opt" / "ml"
        inputs = opt_ml / "processing" / "input"
        transform(challenger, prepared / "test_features", inputs / "challenger")
        transform(linear_server, prepared / "test_features", inputs / "champion")
    finally:
        challenger.stop()
    copy_into(prepared / "test_labels", inputs / "labels")
    result = run_entrypoint("processing", "ml_processing.evaluate", opt_ml, {"COUNTRY": "de"})
    assert result.returncode == 0, result.stderr
    return json.loads(
        (opt_ml / "processing" / "output" / "evaluation" / "metrics.json").read_text()
    )


def test_month_2_uses_the_new_code_table(month_1, month_2):
    assert (month_1.version, month_2.version) == ("v1", "v2")


def test_retrained_model_beats_the_month_1_champion_on_month_2_data(month_2_evaluation):
    challenger = month_2_evaluation["challenger"]["macro_f1"]
    champion = month_2_evaluation["champion"]["macro_f1"]
    assert challenger >= 0.90
    assert challenger - champion >= 0.15, (challenger, champion)


def test_champion_still_answers_with_retired_codes(month_2_evaluation):
    champion = month_2_evaluation["champion"]
    assert "DE-ELG-7" in champion["counts"]["predicted_labels_outside_truth"]
    assert champion["per_class"]["DE-BATT-LMT"]["recall"] == 0.0
