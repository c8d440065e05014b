"""Session fixtures: one demo dataset, prepared once, one trained model per algorithm."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.images import (
    MONTH_1,
    MONTH_2,
    MonthData,
    Server,
    hyperparameters,
    make_month,
    run_prepare,
    run_training,
    serving_root,
)
from tests.support.images import (
    free_port as _free_port,
)

# ---- session fixtures: one demo dataset, prepared once, one model per algorithm -----------------


@pytest.fixture(scope="session")
def workspace(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("images")


@pytest.fixture(scope="session")
def month_1(workspace) -> MonthData:
    return make_month(workspace / "data", MONTH_1)


@pytest.fixture(scope="session")
def month_2(workspace) -> MonthData:
    return make_month(workspace / "data", MONTH_2)


@pytest.fixture(scope="session")
def prepared_1(workspace, month_1) -> Path:
    return run_prepare(workspace / "prepare-1" / "opt" / "ml", month_1)


@dataclass
class TrainedModel:
    opt_ml: Path
    result: subprocess.CompletedProcess

    @property
    def model_dir(self) -> Path:
        return self.opt_ml / "model"


def _train(workspace: Path, name: str, prepared: Path, hp: dict[str, str]) -> TrainedModel:
    opt_ml = workspace / name / "opt" / "ml"
    result = run_training(opt_ml, prepared, hp)
    assert result.returncode == 0, result.stderr
    return TrainedModel(opt_ml, result)


@pytest.fixture(scope="session")
def linear_model(workspace, prepared_1, month_1) -> TrainedModel:
    return _train(workspace, "train-linear", prepared_1, hyperparameters("linear", month_1))


@pytest.fixture(scope="session")
def neural_model(workspace, prepared_1, month_1) -> TrainedModel:
    return _train(workspace, "train-neural", prepared_1, hyperparameters("neural", month_1))


@pytest.fixture(scope="session", params=["linear", "neural"])
def trained(request) -> TrainedModel:
    return request.getfixturevalue(f"{request.param}_model")


@pytest.fixture(scope="session")
def linear_server(workspace, linear_model):
    server = Server(serving_root(workspace, "serve-linear", linear_model.model_dir))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def neural_server(workspace, neural_model):
    server = Server(serving_root(workspace, "serve-neural", neural_model.model_dir))
    yield server
    server.stop()


@pytest.fixture
def free_port() -> int:
    return _free_port()
