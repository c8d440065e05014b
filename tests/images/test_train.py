"""``train``: the SageMaker Training contract for both algorithms."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time

import pytest
from ml_common.model import load_model

from tests.support.images import (
    PYTHON,
    REPO,
    hyperparameters,
    image_env,
    run_entrypoint,
    run_training,
    stage_training,
)


def documented_metric_regexes() -> dict[str, re.Pattern]:
    """The MetricDefinitions regexes exactly as docs/interfaces.md states them."""
    text = (REPO / "docs" / "interfaces.md").read_text()
    macro_f1 = re.search(r"MetricDefinitions regex: `([^`]+)`", text).group(1)
    assert macro_f1 == "validation:macro_f1=([0-9.]+);"
    others = re.search(r"\(likewise `([^`]+)`, `([^`]+)`\)", text).groups()
    names = ["validation:macro_f1", *others]
    return {name: re.compile(macro_f1.replace("validation:macro_f1", name)) for name in names}


def test_metric_lines_parse_with_the_documented_regexes(trained):
    output = trained.result.stdout
    for name, regex in documented_metric_regexes().items():
        values = regex.findall(output)
        assert values, f"{name} not printed"
        assert 0.0 <= float(values[-1]) <= (1.0 if name.startswith("validation") else 10.0)


def test_the_last_printed_macro_f1_is_the_model_cards(trained):
    regex = documented_metric_regexes()["validation:macro_f1"]
    card = json.loads((trained.model_dir / "model_card.json").read_text())
    assert float(regex.findall(trained.result.stdout)[-1]) == pytest.approx(
        card["metrics"]["validation:macro_f1"], abs=1e-6
    )


def test_model_directory_holds_model_label_map_preprocessing_and_card(trained):
    names = {p.name for p in trained.model_dir.iterdir()}
    assert {"model_card.json", "label_map.json", "preprocessing.json"} <= names
    assert names & {"linear.joblib", "neural.pt"}


def test_model_card_records_provenance(trained, month_1):
    card = json.loads((trained.model_dir / "model_card.json").read_text())
    assert card["country"] == "de"
    assert card["data_month"] == month_1.month
    assert card["code_table_version"] == month_1.version
    assert card["hyperparameters"]["algorithm"] == card["algorithm"]
    assert "scikit-learn" in card["library_versions"]
    assert ("torch" in card["library_versions"]) == (card["algorithm"] == "neural")
    assert (
        card["labels"] == json.loads((trained.model_dir / "label_map.json").read_text())["labels"]
    )


def test_saved_model_loads_through_the_shared_loader_and_predicts_known_labels(trained, prepared_1):
    model = load_model(trained.model_dir)
    records = [json.loads(line) for line in (prepared_1 / "test_features/features.jsonl").open()][
        :50
    ]
    probabilities = model.predict_proba(records)
    assert probabilities.shape == (50, len(model.labels))
    assert probabilities.sum(axis=1) == pytest.approx([1.0] * 50, abs=1e-4)


def test_sdk_style_json_encoded_hyperparameters_are_accepted(workspace, prepared_1, month_1):
    hp = {k: json.dumps(v) for k, v in hyperparameters("linear", month_1).items()}
    result = run_training(workspace / "train-sdk-style" / "opt" / "ml", prepared_1, hp)
    assert result.returncode == 0, result.stderr


# ---- failures ---------------------------------------------------------------------------------


def test_unknown_algorithm_writes_the_failure_file(workspace, prepared_1, month_1):
    opt_ml = workspace / "train-bad-algorithm" / "opt" / "ml"
    hp = {**hyperparameters("linear", month_1), "algorithm": "forest"}
    result = run_training(opt_ml, prepared_1, hp)
    assert result.returncode != 0
    failure = (opt_ml / "output" / "failure").read_text()
    assert failure.strip() == "hyperparameter algorithm='forest' must be one of linear, neural"
    assert not (opt_ml / "model" / "model_card.json").exists()


def test_non_numeric_hyperparameter_is_named_in_the_failure_file(workspace, prepared_1, month_1):
    opt_ml = workspace / "train-bad-number" / "opt" / "ml"
    result = run_training(opt_ml, prepared_1, hyperparameters("neural", month_1, epochs="many"))
    assert result.returncode != 0
    assert (
        "hyperparameter epochs='many' is not an integer"
        in (opt_ml / "output" / "failure").read_text()
    )


def test_bad_record_in_a_channel_is_named_with_file_and_line(workspace, prepared_1, month_1):
    opt_ml = workspace / "train-bad-record" / "opt" / "ml"
    stage_training(opt_ml, prepared_1, hyperparameters("linear", month_1))
    validation = opt_ml / "input" / "data" / "validation" / "validation.jsonl"
    lines = validation.read_text().splitlines(keepends=True)
    validation.write_text("".join(lines[:2]) + '{"item_id": "x"}\n' + "".join(lines[2:]))
    result = run_entrypoint("training", "ml_training.train", opt_ml)
    assert result.returncode != 0
    failure = (opt_ml / "output" / "failure").read_text()
    assert failure.startswith("channel validation: validation.jsonl:3 missing field(s) title")


def test_missing_channel_is_reported(workspace, prepared_1, month_1):
    opt_ml = workspace / "train-no-channel" / "opt" / "ml"
    stage_training(opt_ml, prepared_1, hyperparameters("linear", month_1))
    for path in (opt_ml / "input" / "data" / "train").iterdir():
        path.unlink()
    result = run_entrypoint("training", "ml_training.train", opt_ml)
    assert result.returncode != 0
    assert (opt_ml / "output" / "failure").read_text().startswith("channel train: no records in")


# ---- spot interruption: SIGTERM → checkpoint → resume -----------------------------------------


def test_sigterm_saves_a_checkpoint_writes_the_failure_and_a_rerun_resumes(
    workspace, prepared_1, month_1
):
    opt_ml = workspace / "train-sigterm" / "opt" / "ml"
    stage_training(
        opt_ml, prepared_1, hyperparameters("neural", month_1, epochs="40", batch_size="64")
    )
    workdir = opt_ml.parent / "cwd"
    workdir.mkdir()
    process = subprocess.Popen(
        [PYTHON, "-m", "ml_training.train"],
        cwd=workdir,
        env=image_env("training", opt_ml),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in process.stdout:  # wait for the first finished epoch
            if line.startswith("epoch=1/"):
                break
        time.sleep(0.3)  # land inside epoch 2
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 143
    failure = (opt_ml / "output" / "failure").read_text()
    assert failure.startswith("training stopped by SIGTERM at epoch ")
    assert (opt_ml / "checkpoints" / "checkpoint.pt").exists()
    assert not (opt_ml / "model" / "model_card.json").exists()
    stopped_at = re.search(r"at epoch (\d+) batch (\d+)", failure).groups()

    # The rerun (a new spot instance with the same checkpoint S3 URI) picks up where it stopped.
    hp = hyperparameters("neural", month_1, epochs=str(int(stopped_at[0])), batch_size="64")
    (opt_ml / "input" / "config" / "hyperparameters.json").write_text(json.dumps(hp))
    (opt_ml / "output" / "failure").unlink()
    result = run_entrypoint("training", "ml_training.train", opt_ml)
    assert result.returncode == 0, result.stderr
    assert (
        f"resumed from checkpoint at epoch={stopped_at[0]} batch={stopped_at[1]}" in result.stdout
    )
    assert f"epoch={stopped_at[0]}/{stopped_at[0]}" in result.stdout
    assert "epoch=1/" not in result.stdout
    assert (opt_ml / "model" / "model_card.json").exists()


def test_neural_trains_across_processes_with_torchrun(workspace, prepared_1, month_1, free_port):
    """nproc_per_node=2 relaunches under torchrun (gloo on CPU; one process per NeuronCore on
    Trainium); rank 0 alone writes the model and prints the metrics."""
    opt_ml = workspace / "train-torchrun" / "opt" / "ml"
    stage_training(
        opt_ml, prepared_1, hyperparameters("neural", month_1, nproc_per_node="2", epochs="1")
    )
    result = run_entrypoint(
        "training", "ml_training.train", opt_ml, {"MASTER_PORT": str(free_port)}
    )
    assert result.returncode == 0, result.stderr
    assert "torch.distributed.run --nproc_per_node=2" in result.stdout
    assert result.stdout.count("model written to") == 1
    assert len(documented_metric_regexes()["validation:macro_f1"].findall(result.stdout)) == 1
    card = json.loads((opt_ml / "model" / "model_card.json").read_text())
    assert card["n_train"] == sum(1 for _ in (prepared_1 / "train" / "train.jsonl").open())
    preprocessing = json.loads((opt_ml / "model" / "preprocessing.json").read_text())
    assert (preprocessing["device"], preprocessing["world_size"]) == ("cpu", 2)


def test_tunable_linear_hyperparameters_are_used_and_unknown_ones_named(
    workspace, prepared_1, month_1
):
    """The names include/config/countries.yaml tunes (loss, alpha) reach the model."""
    opt_ml = workspace / "train-linear-tuned" / "opt" / "ml"
    hp = hyperparameters("linear", month_1, loss="modified_huber", alpha="0.001", colour="red")
    hp["_tuning_objective_metric"] = "validation:macro_f1"  # added by SageMaker HPO: not ours
    result = run_training(opt_ml, prepared_1, hp)
    assert result.returncode == 0, result.stderr
    assert "warning: hyperparameters not used by linear: colour\n" in result.stdout
    model = load_model(opt_ml / "model").model
    assert (model.loss, model.alpha) == ("modified_huber", 0.001)
