"""``neural`` training throughput on torch-xla's CPU device (the Trainium branch) vs plain CPU.

Run in .venv-xla (``make bench-xla``; torch-xla 2.9.0 on torch 2.9.0): the training entrypoint
trains the same prepared month twice with the same torch, ``device=xla`` (PJRT_DEVICE=CPU) and
``device=cpu``, and each epoch's ``train:items_per_second`` line (items trained ÷ the epoch's step
time, read after the epoch's device sync) is collected. The first epoch includes XLA's graph
compilations, so it is reported apart from the later ones. Writes ``bench/results/xla.json``.

This measures the XLA code path's overhead on a CPU, not Trainium: XLA's CPU backend is no
stand-in for a NeuronCore's speed.
"""

from __future__ import annotations

import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

from bench.image_harness import (
    COUNTRY,
    hyperparameters,
    make_month,
    run_entrypoint,
    run_prepare,
    stage_training,
)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "results" / "xla.json"
ITEMS = 3000
EPOCHS = 4
ITEMS_PER_SECOND = re.compile(r"^train:items_per_second=([0-9.]+);$", re.M)
MACRO_F1 = re.compile(r"^validation:macro_f1=([0-9.]+);$", re.M)
XLA_REPORT = re.compile(
    r"^xla: (\d+) graph compilations \(([0-9.]+) s\); ops run on the host, not XLA: (.*)$", re.M
)
DEVICES = {"xla_cpu": ("xla", {"PJRT_DEVICE": "CPU"}), "cpu": ("cpu", {})}


def train_once(workspace: Path, prepared: Path, month, name: str) -> dict:
    device, env = DEVICES[name]
    opt_ml = workspace / f"train-{name}" / "opt" / "ml"
    stage_training(
        opt_ml, prepared, hyperparameters("neural", month, device=device, epochs=str(EPOCHS))
    )
    started = time.monotonic()
    result = run_entrypoint(
        "training", "ml_training.train", opt_ml, env, timeout=1800, python=sys.executable
    )
    wall = time.monotonic() - started
    if result.returncode != 0:
        raise RuntimeError(f"training on {name} exited {result.returncode}:\n{result.stderr}")
    per_epoch = [float(v) for v in ITEMS_PER_SECOND.findall(result.stdout)]
    if len(per_epoch) != EPOCHS:
        raise RuntimeError(f"{name}: expected {EPOCHS} items/s lines:\n{result.stdout}")
    preprocessing = json.loads((opt_ml / "model" / "preprocessing.json").read_text())
    compiled = XLA_REPORT.search(result.stdout)
    xla = (
        {
            "graph_compilations": int(compiled.group(1)),
            "compile_s": float(compiled.group(2)),
            "host_fallback_ops": compiled.group(3),
        }
        if compiled
        else {}
    )
    return {
        **xla,
        "device": preprocessing["device"],
        "wall_s_incl_process_start": round(wall, 2),
        "items_per_s_per_epoch": [round(v, 1) for v in per_epoch],
        "first_epoch_items_per_s": round(per_epoch[0], 1),
        "later_epochs_median_items_per_s": round(statistics.median(per_epoch[1:]), 1),
        "validation_macro_f1": float(MACRO_F1.findall(result.stdout)[-1]),
    }


def main() -> int:
    versions = {name: metadata.version(name) for name in ("torch", "torch-xla")}
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-xla-") as tmp:
        workspace = Path(tmp)
        month = make_month(workspace / "data", "2026-10", items=ITEMS)
        prepared = run_prepare(workspace / "prepare" / "opt" / "ml", month)
        n_train = sum(1 for _ in (prepared / "train" / "train.jsonl").open())
        runs = {name: train_once(workspace, prepared, month, name) for name in DEVICES}
    xla, cpu = runs["xla_cpu"], runs["cpu"]
    results = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_start": [round(v, 2) for v in load_start],
            "load_average_at_end": [round(v, 2) for v in os.getloadavg()],
        },
        "versions": versions,
        "gpu": "not lent in this task (device status: not drawn): no CUDA run",
        "trainium": "not run: no Neuron device; PyPI's Neuron packages are placeholders",
        "country": COUNTRY,
        "items": ITEMS,
        "n_train": n_train,
        "epochs": EPOCHS,
        "runs": runs,
        "xla_over_cpu_later_epochs": round(
            xla["later_epochs_median_items_per_s"] / cpu["later_epochs_median_items_per_s"], 3
        ),
        "xla_over_cpu_first_epoch": round(
            xla["first_epoch_items_per_s"] / cpu["first_epoch_items_per_s"], 3
        ),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
