"""The regulation-change scenario: month 2 remaps product types to new codes (code table v2), so
a model retrained on month 2 beats the month-1 champion on month-2 test data — for DE's default
model and for its batteries scheme, whose v2 gives e-bike and EV batteries codes of their own."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from local.demodata import generate_month
from tests.support.images import (
    ITEMS,
    MONTH_1,
    MONTH_2,
    MonthData,
    Server,
    hyperparameters,
    run_entrypoint,
    run_prepare,
    run_training,
    serving_root,
    stage_evaluation,
)


def _train_linear(workspace: Path, name: str, prepared: Path, data: MonthData) -> Path:
    train_root = workspace / f"train-linear-{name}" / "opt" / "ml"
    result = run_training(train_root, prepared, hyperparameters("linear", data))
    assert result.returncode == 0, result.stderr
    return train_root / "model"


def _evaluate(
    workspace: Path, name: str, prepared: Path, golden: Path, challenger: Server, champion: Server
):
    """The evaluate entrypoint on ``prepared``'s test split and the golden set, both models
    transformed."""
    opt_ml = workspace / f"evaluate-{name}" / "opt" / "ml"
    stage_evaluation(opt_ml, prepared, golden, challenger, champion)
    result = run_entrypoint("processing", "ml_processing.evaluate", opt_ml, {"COUNTRY": "de"})
    assert result.returncode == 0, result.stderr
    return json.loads(
        (opt_ml / "processing" / "output" / "evaluation" / "metrics.json").read_text()
    )


@pytest.fixture(scope="module")
def month_2_evaluation(workspace, month_2, linear_server):
    prepared = run_prepare(workspace / "prepare-2" / "opt" / "ml", month_2)
    model_dir = _train_linear(workspace, "2", prepared, month_2)
    challenger = Server(serving_root(workspace, "serve-linear-2", model_dir))
    try:
        return _evaluate(workspace, "2", prepared, month_2.golden, challenger, linear_server)
    finally:
        challenger.stop()


@dataclass
class SchemeMonthData(MonthData):
    """A scheme's month, laid out under ``<cc>/<scheme>/`` (the country stays ``country``)."""

    scheme: str = "batteries"

    @property
    def labeled(self) -> Path:
        return self.root / self.country / self.scheme / self.month / "labeled"

    @property
    def unlabeled(self) -> Path:
        return self.root / self.country / self.scheme / self.month / "unlabeled"

    @property
    def code_table(self) -> Path:
        return self.root / self.country / self.scheme / "code_tables" / f"{self.version}.json"

    @property
    def golden(self) -> Path:
        return self.root / self.country / self.scheme / "golden" / self.version


@pytest.fixture(scope="module")
def batteries_evaluation(workspace):
    """DE batteries: the month-1 model as champion against one retrained on month 2."""
    servers: list[Server] = []
    try:
        prepared, golden = {}, {}
        for month in (MONTH_1, MONTH_2):
            summary = generate_month(
                workspace / "data", "de", month, ITEMS, scheme="batteries", unlabeled_items=50
            )
            data = SchemeMonthData(workspace / "data", "de", month, summary.code_table_version)
            golden[month] = data.golden
            name = f"batteries-{month}"
            prepared[month] = run_prepare(workspace / f"prepare-{name}" / "opt" / "ml", data)
            model_dir = _train_linear(workspace, name, prepared[month], data)
            servers.append(Server(serving_root(workspace, f"serve-{name}", model_dir)))
        champion, challenger = servers
        return _evaluate(
            workspace, "batteries", prepared[MONTH_2], golden[MONTH_2], challenger, champion
        )
    finally:
        for server in servers:
            server.stop()


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


def test_batteries_retrained_model_beats_its_month_1_champion(batteries_evaluation):
    challenger = batteries_evaluation["challenger"]["macro_f1"]
    champion = batteries_evaluation["champion"]["macro_f1"]
    assert challenger >= 0.90
    assert challenger - champion >= 0.15, (challenger, champion)


def test_batteries_champion_cannot_name_the_new_categories(batteries_evaluation):
    champion = batteries_evaluation["champion"]
    assert champion["per_class"]["DE-BAT-LMT"]["recall"] == 0.0
    assert champion["per_class"]["DE-BAT-EV"]["recall"] == 0.0
