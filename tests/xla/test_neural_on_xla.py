"""The Trainium branch of ``neural`` run for real: PyTorch/XLA on torch-xla's CPU device.

``make test-xla`` runs this folder with .venv-xla's interpreter (torch-xla 2.9.0 on torch
2.9.0, PJRT_DEVICE=CPU): the training entrypoint runs there with ``device=xla``, exactly as the
Neuron image runs it (torch_xla device, MpDeviceLoader, xm.optimizer_step, padded bags, xm.save),
while prepare and serve run in .venv-ml (``MLOPS_ML_PYTHON``: plain CPU torch, no torch_xla), as
the processing and inference images do. So a model or checkpoint that only loads where torch_xla
is installed fails here. Without torch_xla (the default ``make test``) the module is skipped.
"""

from __future__ import annotations

import importlib.util
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.images import (
    MONTH_1,
    PYTHON,
    MonthData,
    Server,
    hyperparameters,
    image_env,
    make_month,
    run_entrypoint,
    run_prepare,
    serving_root,
    stage_training,
    transform,
)

# Collected and skipped one by one (a module-level skip alone would make pytest exit 5).
pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("torch_xla") is None,
    reason="torch_xla is not installed here: the XLA branch runs under `make test-xla` (.venv-xla)",
)

XLA_PYTHON = sys.executable  # the training image's interpreter here: .venv-xla
XLA_ENV = {"PJRT_DEVICE": "CPU"}
TIMEOUT = 900  # 3 epochs with XLA compilation on a loaded 2-core machine
LOSS = re.compile(r"^train:loss=([0-9.]+);$", re.M)
MACRO_F1 = re.compile(r"^validation:macro_f1=([0-9.]+);$", re.M)


def train_on_xla(opt_ml: Path, prepared: Path, hp: dict[str, str]) -> subprocess.CompletedProcess:
    stage_training(opt_ml, prepared, hp)
    return run_entrypoint(
        "training", "ml_training.train", opt_ml, XLA_ENV, timeout=TIMEOUT, python=XLA_PYTHON
    )


def run_in_ml_env(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, "-c", code, *args], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def inference_python() -> str:
    """.venv-ml's interpreter, which must not have torch_xla (the inference image has none)."""
    probe = run_in_ml_env(
        "import importlib.util, sys; sys.exit(importlib.util.find_spec('torch_xla') is not None)"
    )
    assert probe.returncode == 0, (
        f"MLOPS_ML_PYTHON={PYTHON} has torch_xla: it must name .venv-ml's python (CPU torch)"
    )
    return PYTHON


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("xla")


@pytest.fixture(scope="module")
def month(workspace) -> MonthData:
    return make_month(workspace / "data", MONTH_1)


@pytest.fixture(scope="module")
def prepared(workspace, month, inference_python) -> Path:
    return run_prepare(workspace / "prepare" / "opt" / "ml", month)


@pytest.fixture(scope="module")
def xla_training(workspace, prepared, month) -> tuple[Path, subprocess.CompletedProcess]:
    opt_ml = workspace / "train-xla" / "opt" / "ml"
    result = train_on_xla(opt_ml, prepared, hyperparameters("neural", month, device="xla"))
    assert result.returncode == 0, result.stderr[-4000:]
    return opt_ml, result


def test_neural_trains_through_the_xla_branch(xla_training):
    opt_ml, result = xla_training
    preprocessing = json.loads((opt_ml / "model" / "preprocessing.json").read_text())
    assert (preprocessing["device"], preprocessing["world_size"]) == ("xla", 1)
    card = json.loads((opt_ml / "model" / "model_card.json").read_text())
    assert card["library_versions"]["torch"].startswith("2.9.")
    losses = [float(v) for v in LOSS.findall(result.stdout)]
    assert len(losses) == 3, result.stdout
    assert losses[0] > losses[1] > losses[2], f"the loss does not decrease: {losses}"
    # 16 product types in the demo data: chance is ~0.06; the CPU branch reaches ~0.95 here.
    macro_f1 = float(MACRO_F1.findall(result.stdout)[-1])
    assert macro_f1 >= 0.85, result.stdout
    assert card["metrics"]["validation:macro_f1"] == pytest.approx(macro_f1, abs=1e-6)
    assert re.search(r"^train:items_per_second=[0-9.]+;$", result.stdout, re.M)
    # Every op compiled by XLA: none left to torch_xla's host fallback (EmbeddingBag was, with a
    # transfer each way at every step).
    report = re.search(r"^xla: (\d+) graph compilations .*$", result.stdout, re.M)
    assert report, result.stdout
    assert report.group(0).endswith("ops run on the host, not XLA: none"), report.group(0)


def test_the_xla_model_serves_on_cpu_torch(xla_training, workspace, prepared, inference_python):
    """The inference image (CPU torch, no torch_xla) serves what the XLA run saved."""
    opt_ml, _ = xla_training
    # The worker imports torch and scikit-learn before /ping answers: over a minute at times on
    # the loaded 2-core machine this runs on, next to the XLA trainings.
    server = Server(serving_root(workspace, "serve-xla", opt_ml / "model"), start_timeout=300)
    try:
        out = transform(server, prepared / "test_features", workspace / "transform-xla")
    finally:
        server.stop()
    answers = [json.loads(line) for p in sorted(out.glob("*.out")) for line in p.open()]
    labels = {
        r["item_id"]: r["label"]
        for p in sorted((prepared / "test_labels").glob("*.jsonl"))
        for r in map(json.loads, p.open())
    }
    assert len(answers) == len(labels) > 0
    correct = sum(answer["label"] == labels[answer["item_id"]] for answer in answers)
    assert correct / len(answers) >= 0.85


def test_the_xla_checkpoint_loads_and_resumes_on_cpu_torch(
    xla_training, workspace, prepared, month
):
    """The checkpoint SageMaker uploads holds CPU tensors only: plain torch loads it without a
    map_location, and a CPU run resumes training from it."""
    opt_ml, _ = xla_training
    checkpoint = opt_ml / "checkpoints" / "checkpoint.pt"
    load = run_in_ml_env(
        "import json, sys, torch\n"
        "state = torch.load(sys.argv[1], weights_only=True)\n"
        "def walk(v):\n"
        "    if torch.is_tensor(v): yield v\n"
        "    elif isinstance(v, dict): yield from (t for x in v.values() for t in walk(x))\n"
        "    elif isinstance(v, (list, tuple)): yield from (t for x in v for t in walk(x))\n"
        "devices = [str(t.device) for t in walk(state)]\n"
        "print(json.dumps({'epoch': state['epoch'], 'devices': devices}))\n",
        str(checkpoint),
    )
    assert load.returncode == 0, load.stderr[-3000:]
    loaded = json.loads(load.stdout)
    assert loaded["epoch"] == 3
    # model (4 tensors + embedding) and AdamW's state (step, exp_avg, exp_avg_sq per parameter)
    assert len(loaded["devices"]) >= 5 + 3 * 5 and set(loaded["devices"]) == {"cpu"}

    resumed = workspace / "resume-cpu" / "opt" / "ml"
    (resumed / "checkpoints").mkdir(parents=True)
    (resumed / "checkpoints" / "checkpoint.pt").write_bytes(checkpoint.read_bytes())
    stage_training(resumed, prepared, hyperparameters("neural", month, device="cpu", epochs="4"))
    result = run_entrypoint("training", "ml_training.train", resumed, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resumed from checkpoint at epoch=4 batch=0" in result.stdout
    assert "epoch=4/4" in result.stdout and "epoch=1/" not in result.stdout


def test_sigterm_on_xla_saves_a_checkpoint_and_a_rerun_resumes_on_xla(workspace, prepared, month):
    """Spot interruption on Trainium: SIGTERM mid-epoch → xm.save'd checkpoint, exit 143; the
    rerun on the xla device picks up at the saved batch."""
    opt_ml = workspace / "train-xla-sigterm" / "opt" / "ml"
    hp = hyperparameters("neural", month, device="xla", epochs="40", batch_size="64")
    stage_training(opt_ml, prepared, hp)
    workdir = opt_ml.parent / "cwd"
    workdir.mkdir()
    process = subprocess.Popen(
        [XLA_PYTHON, "-m", "ml_training.train"],
        cwd=workdir,
        env=image_env("training", opt_ml, XLA_ENV),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in process.stdout:  # the first epoch is done (and compiled): stop inside epoch 2
            if line.startswith("epoch=1/"):
                break
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 143, stderr[-3000:]
    failure = (opt_ml / "output" / "failure").read_text()
    assert failure.startswith("training stopped by SIGTERM at epoch 2 batch "), failure
    assert (opt_ml / "checkpoints" / "checkpoint.pt").exists()
    assert not (opt_ml / "checkpoints" / "checkpoint.tmp").exists()
    assert not (opt_ml / "model" / "model_card.json").exists()
    batch = re.search(r"at epoch 2 batch (\d+)", failure).group(1)

    hp["epochs"] = "2"
    (opt_ml / "input" / "config" / "hyperparameters.json").write_text(json.dumps(hp))
    (opt_ml / "output" / "failure").unlink()
    started = time.monotonic()
    result = run_entrypoint(
        "training", "ml_training.train", opt_ml, XLA_ENV, timeout=TIMEOUT, python=XLA_PYTHON
    )
    assert result.returncode == 0, (time.monotonic() - started, result.stderr[-3000:])
    assert f"resumed from checkpoint at epoch=2 batch={batch}" in result.stdout
    assert "epoch=2/2" in result.stdout and "epoch=1/" not in result.stdout
    preprocessing = json.loads((opt_ml / "model" / "preprocessing.json").read_text())
    assert preprocessing["device"] == "xla"
