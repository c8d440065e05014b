"""Numbers that cannot poison a model or a batch (issue 11, item 3).

``1e308``, ``Infinity``, ``NaN`` and out-of-range values in a numeric field are errors naming the
file:line (prepare, training) or the record (serving) and the field; a diverging training run
stops with a FailureReason and writes no model; the server never answers HTML, never a null
confidence, and never 500 for a record its decoder accepts.
"""

from __future__ import annotations

import json
import shutil
import socket
import sys
from pathlib import Path

import numpy as np
import pytest
from ml_common import features
from ml_common.contract import ContractError
from ml_common.model import LINEAR_WEIGHTS, NEURAL_WEIGHTS, load_model, save_model
from ml_common.records import NUMERIC_RANGES, field_error

# The training image's package, for the tests that call its functions in-process (its entrypoint
# runs with its own PYTHONPATH; only ml_common is installed in the test environment).
_TRAINING_SRC = str(Path(__file__).parents[2] / "docker" / "training" / "src")
if _TRAINING_SRC not in sys.path:
    sys.path.insert(0, _TRAINING_SRC)

from tests.support.images import (  # noqa: E402 - after the image's source path
    Server,
    hyperparameters,
    prepare_env,
    run_entrypoint,
    run_training,
    serving_root,
    stage_prepare,
    stage_training,
)

RECORD = {
    "item_id": "nf-1",
    "title": "Kraftwerk Akku-Bohrschrauber X12",
    "description": "Akkuschrauber 18 V mit zwei Akkus und Ladegerät im Koffer.",
    "brand": "Kraftwerk",
    "weight_kg": 1.6,
    "screen_size_in": None,
    "battery": True,
    "power_source": "battery",
}
TELEVISION = {
    **RECORD,
    "item_id": "nf-tv",
    "title": "Belcasa Fernseher 55 Zoll",
    "description": "Fernseher mit 55 Zoll, 4K UHD und HDR, Energieklasse F.",
    "brand": "Belcasa",
    "weight_kg": 14.0,
    "screen_size_in": 55.0,
    "battery": False,
    "power_source": "mains",
}

# (field, JSON text of the value, how the error quotes it): what Python's json reads from files.
POISONS = {
    "1e308": ("screen_size_in", "1e308", "got 1e+308"),
    "weight_1e308": ("weight_kg", "1e308", "got 1e+308"),  # log1p: finite, but 177 ≫ 1
    "Infinity": ("screen_size_in", "Infinity", "got inf"),
    "NaN": ("weight_kg", "NaN", "got nan"),
    "negative": ("weight_kg", "-2.5", "got -2.5"),
}


def _poison(line: str, field: str, text: str) -> str:
    """``line`` (a JSON record) with ``field`` set to the raw JSON text ``text``."""
    record = json.loads(line)
    record[field] = "__POISON__"
    return json.dumps(record).replace('"__POISON__"', text)


# ---- the contract and the featurizer -----------------------------------------------------------


def test_the_documented_ranges_keep_every_feature_finite_and_small():
    edges = [
        {"weight_kg": w, "screen_size_in": s}
        for w in NUMERIC_RANGES["weight_kg"]
        for s in NUMERIC_RANGES["screen_size_in"]
    ]
    matrix = features.numeric_matrix(edges)
    assert np.isfinite(matrix).all() and np.abs(matrix).max() < 100
    for field, (_low, high) in NUMERIC_RANGES.items():
        ok = {**RECORD, "label": "X", field: high}
        assert field_error(ok, require_label=True) is None
        for bad in (high * 1.001, -0.001, float("inf"), float("nan"), 10**400):
            error = field_error({**ok, field: bad}, require_label=True)
            assert error and error.startswith(f"field {field} must be a finite number in"), bad


@pytest.mark.parametrize(
    ("value", "feature"),
    [(1e308, "screen_size_ft"), (float("nan"), "screen_size_ft"), (10**400, "screen_size_ft")],
)
def test_the_featurizer_refuses_a_value_whose_feature_is_not_finite(value, feature):
    with pytest.raises(features.FeatureError) as caught:
        features.numeric_matrix([RECORD, {**RECORD, "screen_size_in": value}])
    assert (caught.value.row, caught.value.feature, caught.value.field) == (
        1,
        feature,
        "screen_size_in",
    )


# ---- prepare -----------------------------------------------------------------------------------


@pytest.mark.parametrize("poison", list(POISONS))
def test_prepare_refuses_a_non_finite_or_out_of_range_number_with_file_and_line(
    workspace, month_1, poison
):
    field, text, quoted = POISONS[poison]
    opt_ml = stage_prepare(workspace / f"nf-prepare-{poison}" / "opt" / "ml", month_1)
    data_file = opt_ml / "processing" / "input" / "labeled" / "part-00000.jsonl"
    lines = data_file.read_text(encoding="utf-8").splitlines()
    lines[6] = _poison(lines[6], field, text)
    data_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_entrypoint("processing", "ml_processing.prepare", opt_ml, prepare_env(month_1))
    assert result.returncode == 2, result.stderr
    message = (opt_ml / "output" / "message").read_text()
    assert f"part-00000.jsonl:7 field {field} must be a finite number in [" in message
    assert quoted in message
    assert not any((opt_ml / "processing" / "output").rglob("*.jsonl"))


# ---- training: refused inputs ------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["linear", "neural"])
@pytest.mark.parametrize("poison", ["1e308", "weight_1e308", "Infinity", "NaN"])
def test_training_refuses_non_finite_numbers_naming_file_line_and_field(
    workspace, prepared_1, month_1, algorithm, poison
):
    field, text, quoted = POISONS[poison]
    opt_ml = workspace / f"nf-train-{algorithm}-{poison}" / "opt" / "ml"
    stage_training(opt_ml, prepared_1, hyperparameters(algorithm, month_1))
    train_file = opt_ml / "input" / "data" / "train" / "train.jsonl"
    lines = train_file.read_text(encoding="utf-8").splitlines()
    lines[2] = _poison(lines[2], field, text)
    train_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_entrypoint("training", "ml_training.train", opt_ml)
    assert result.returncode == 2, result.stderr
    failure = (opt_ml / "output" / "failure").read_text()
    assert failure.startswith(
        f"channel train: train.jsonl:3 field {field} must be a finite number in ["
    ), failure
    assert quoted in failure
    assert not (opt_ml / "model" / "model_card.json").exists()


# ---- training: divergence ----------------------------------------------------------------------


def test_neural_stops_on_a_non_finite_loss_and_writes_no_model(workspace, prepared_1, month_1):
    """learning_rate=1e20 with finite inputs: the first AdamW steps make the logits overflow."""
    opt_ml = workspace / "nf-neural-diverges" / "opt" / "ml"
    hp = hyperparameters("neural", month_1, learning_rate="1e20", epochs="2")
    result = run_training(opt_ml, prepared_1, hp)
    assert result.returncode == 2, result.stderr
    failure = (opt_ml / "output" / "failure").read_text()
    assert failure.startswith("neural training diverged: the loss is "), failure
    assert " at epoch 1 batch " in failure and "learning_rate=1e+20" in failure
    assert "train:loss=" not in result.stdout  # never a "0.000000" loss for a NaN
    assert not (opt_ml / "model" / "model_card.json").exists()
    assert not (opt_ml / "model" / NEURAL_WEIGHTS).exists()
    assert not (opt_ml / "checkpoints" / "checkpoint.pt").exists()  # nothing to resume from


def test_a_checkpoint_with_non_finite_weights_is_not_resumed(tmp_path, capsys):
    import torch
    from ml_training.neural import CHECKPOINT_FILE, load_checkpoint

    labels, settings = ["A", "B"], {"num_buckets": 8}
    state = {"labels": labels, "settings": settings, "model": {"w": torch.ones(2)}}
    torch.save(state, tmp_path / CHECKPOINT_FILE)
    assert load_checkpoint(tmp_path, labels, settings) is not None
    state["model"]["w"][1] = float("nan")
    torch.save(state, tmp_path / CHECKPOINT_FILE)
    assert load_checkpoint(tmp_path, labels, settings) is None
    assert "holds non-finite weights (w): starting afresh" in capsys.readouterr().out


def test_linear_refuses_an_overflowing_fit(workspace, prepared_1, month_1):
    opt_ml = workspace / "nf-linear-diverges" / "opt" / "ml"
    result = run_training(opt_ml, prepared_1, hyperparameters("linear", month_1, alpha="1e-300"))
    assert result.returncode == 2, result.stderr
    failure = (opt_ml / "output" / "failure").read_text()
    assert failure.startswith("linear training diverged (alpha=1e-300)"), failure
    assert not (opt_ml / "model" / "model_card.json").exists()


def test_linear_checks_its_weights_after_fit(linear_model):
    from ml_training.linear import check_weights

    classifier = load_model(linear_model.model_dir)
    check_weights(classifier, 1e-5)  # a trained model passes
    classifier.model.coef_[0, 0] = np.nan
    with pytest.raises(ContractError, match=r"coef_ not finite after fit; no model written"):
        check_weights(classifier, 1e-5)


def test_a_model_with_non_finite_weights_is_never_written(tmp_path, linear_model):
    classifier = load_model(linear_model.model_dir)
    classifier.model.intercept_[0] = np.inf
    with pytest.raises(ValueError, match="weights are not finite"):
        save_model(tmp_path / "model", classifier, "linear", {}, {})
    assert not (tmp_path / "model").exists()


def test_a_metric_that_is_not_finite_is_never_printed_as_a_number():
    from ml_training.metrics import metric_line

    assert metric_line("train", "loss", 0.25) == "train:loss=0.250000;"
    for value in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="not finite"):
            metric_line("train", "loss", value)


# ---- serving -----------------------------------------------------------------------------------

SERVED_POISONS = {
    "json_1e308": (
        json.dumps({"instances": [RECORD, {**RECORD, "item_id": "nf-2", "screen_size_in": 1e308}]}),
        "application/json",
        {"record": "instances[1]", "index": 1, "item_id": "nf-2", "field": "screen_size_in"},
        "got 1e+308",
    ),
    "json_weight_1e308": (
        json.dumps([{**RECORD, "weight_kg": 1e308}]),
        "application/json",
        {"record": "[0]", "index": 0, "item_id": "nf-1", "field": "weight_kg"},
        "got 1e+308",
    ),
    "json_nan_literal": (
        json.dumps({**RECORD, "item_id": "nf-3", "weight_kg": float("nan")}),  # writes NaN
        "application/json",
        {"record": "body", "index": 0, "item_id": "nf-3", "field": "weight_kg"},
        "got nan",
    ),
    "jsonlines_infinity": (
        json.dumps(RECORD) + "\n" + json.dumps({**RECORD, "screen_size_in": float("inf")}),
        "application/jsonlines",
        {"record": "line 2", "index": 1, "item_id": "nf-1", "field": "screen_size_in"},
        "got inf",
    ),
    "csv_inf": (
        "c-1,Cuisinette Wasserkocher Z3,Wasserkocher,Cuisinette,1.1,,false,mains\n"
        "c-2,Belcasa Fernseher,Fernseher 4K,Belcasa,14,inf,false,mains\n",
        "text/csv",
        {"record": "row 2", "index": 1, "item_id": "c-2", "field": "screen_size_in"},
        "got inf",
    ),
    "csv_negative_weight": (
        "c-1,Cuisinette Wasserkocher Z3,Wasserkocher,Cuisinette,-1,,false,mains\n",
        "text/csv",
        {"record": "row 1", "index": 0, "item_id": "c-1", "field": "weight_kg"},
        "got -1.0",
    ),
}


@pytest.fixture(params=["linear", "neural"])
def server(request):
    return request.getfixturevalue(f"{request.param}_server")


@pytest.mark.parametrize("case", list(SERVED_POISONS))
def test_server_answers_400_json_naming_the_record_and_field(server, case):
    body, content_type, named, quoted = SERVED_POISONS[case]
    status, payload, answer_type = server.post(body.encode(), content_type)
    assert (status, answer_type) == (400, "application/json"), payload
    error = json.loads(payload)
    assert {k: error.get(k) for k in named} == named
    assert error["error"].startswith(f"invalid {content_type} payload: {named['record']}: field ")
    assert quoted in error["error"] and f'(item_id "{named["item_id"]}")' in error["error"]
    assert f"[INFO] 400: {error['error']}" in server.log.read_text()  # one log line
    assert server.get("/ping")[0] == 200  # the worker lives on


def _raw_request(server: Server, data: bytes) -> tuple[str, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return status, {k.lower(): v for k, v in headers.items()}, body


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"NOT AN HTTP REQUEST\r\n\r\n", "400"),
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", "414"),
    ],
    ids=["bad_request_line", "request_line_too_long"],
)
def test_gunicorns_own_errors_are_json_not_html(linear_server, request_bytes, status):
    status_line, headers, body = _raw_request(linear_server, request_bytes)
    assert status_line.split(" ")[1] == status, status_line
    assert headers["content-type"] == "application/json"
    assert b"<html" not in body.lower()
    assert json.loads(body)["error"]


def _copy_model(source, target):
    shutil.copytree(source, target)
    return target


@pytest.fixture(scope="module")
def broken_linear_server(workspace, linear_model):
    """A real model artifact that fails at predict: its vectorizer does not match the weights."""
    import joblib
    from sklearn.feature_extraction.text import TfidfVectorizer

    model_dir = _copy_model(linear_model.model_dir, workspace / "nf-broken-linear-model")
    parts = joblib.load(model_dir / LINEAR_WEIGHTS)
    parts["vectorizer"] = TfidfVectorizer().fit(["alpha beta", "beta gamma"])
    joblib.dump(parts, model_dir / LINEAR_WEIGHTS)
    server = Server(serving_root(workspace, "nf-serve-broken", model_dir))
    yield server
    server.stop()


def test_an_unexpected_error_is_a_short_json_500_and_one_log_line(broken_linear_server):
    status, payload, answer_type = broken_linear_server.post(
        json.dumps(RECORD).encode(), "application/json"
    )
    assert (status, answer_type) == (500, "application/json")
    error = json.loads(payload)["error"]
    assert error.startswith("internal error (ValueError) answering POST /invocations")
    assert "Traceback" not in error and "features" not in error  # details stay in the log
    log = broken_linear_server.log.read_text()
    lines = [line for line in log.splitlines() if "POST /invocations failed" in line]
    assert len(lines) == 1 and "ValueError: X has " in lines[0], log
    assert "Traceback" not in log


@pytest.fixture(scope="module")
def overflowing_neural_server(workspace, neural_model):
    """Finite weights that overflow for any record with a screen: its probabilities are NaN."""
    import torch

    model_dir = _copy_model(neural_model.model_dir, workspace / "nf-overflowing-neural-model")
    state = torch.load(model_dir / NEURAL_WEIGHTS, weights_only=True)
    embedding_dim = state["embedding.weight"].shape[1]
    column = embedding_dim + features.NUMERIC_FEATURES.index("screen_size_ft")
    state["mlp.0.weight"][:, column] = 3e38  # the float32 maximum is 3.4e38: still finite
    torch.save(state, model_dir / NEURAL_WEIGHTS)
    server = Server(serving_root(workspace, "nf-serve-overflowing", model_dir))
    yield server
    server.stop()


def test_non_finite_probabilities_are_an_error_naming_the_record_never_a_null(
    overflowing_neural_server,
):
    body = json.dumps({"instances": [RECORD, TELEVISION]}).encode()
    status, payload, answer_type = overflowing_neural_server.post(body, "application/json")
    assert (status, answer_type) == (422, "application/json"), payload
    error = json.loads(payload)
    assert (error["record"], error["index"], error["item_id"]) == ("instances[1]", 1, "nf-tv")
    assert "probabilities for this record are not finite" in error["error"]
    assert b"null" not in payload and b'"confidence"' not in payload
    status, payload, _ = overflowing_neural_server.post(
        json.dumps(RECORD).encode(), "application/json"
    )
    assert status == 200 and json.loads(payload)["confidence"] > 0  # records without a screen


def test_a_model_with_non_finite_weights_is_never_served(workspace, neural_model):
    import torch

    model_dir = _copy_model(neural_model.model_dir, workspace / "nf-nan-neural-model")
    state = torch.load(model_dir / NEURAL_WEIGHTS, weights_only=True)
    state["mlp.3.bias"][0] = float("nan")
    torch.save(state, model_dir / NEURAL_WEIGHTS)
    with pytest.raises(ValueError, match="weights are not finite"):
        load_model(model_dir)
    with pytest.raises(RuntimeError, match=r"weights are not finite \(mlp\.3\.bias\)"):
        Server(serving_root(workspace, "nf-serve-nan", model_dir))
