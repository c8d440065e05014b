"""Shared by the image tests (tests/images): the months of the demo data they use, batch
transform as SageMaker runs it, and the image harness the benchmark shares (bench.image_harness)."""

from __future__ import annotations

import shutil
from pathlib import Path

from bench.image_harness import (
    DOCKER,
    ITEMS,
    PYTHON,
    REPO,
    MonthData,
    Server,
    copy_into,
    free_port,
    hyperparameters,
    image_env,
    make_month,
    prepare_env,
    run_entrypoint,
    run_prepare,
    run_training,
    serving_root,
    stage_prepare,
    stage_training,
)

__all__ = [
    "DOCKER",
    "ITEMS",
    "MONTH_1",
    "MONTH_2",
    "PYTHON",
    "REPO",
    "MonthData",
    "Server",
    "copy_into",
    "free_port",
    "hyperparameters",
    "image_env",
    "make_month",
    "prepare_env",
    "run_entrypoint",
    "run_prepare",
    "run_training",
    "serving_root",
    "stage_prepare",
    "stage_evaluation",
    "stage_training",
    "transform",
]

MONTH_1, MONTH_2 = "2026-10", "2026-11"  # the regulation change takes effect in MONTH_2


def transform(
    server: Server, source_dir: Path, out_dir: Path, records_per_request: int = 500
) -> Path:
    """Batch transform as SageMaker runs it: MultiRecord JSON Lines requests, ``<file>.out``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in sorted(source_dir.glob("*.jsonl")):
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        answers = []
        for start in range(0, len(lines), records_per_request):
            body = "".join(lines[start : start + records_per_request]).encode()
            status, payload, _ = server.post(body, "application/jsonlines")
            assert status == 200, payload
            answers.append(payload.decode())
        (out_dir / f"{path.name}.out").write_text("".join(answers), encoding="utf-8")
    return out_dir


def stage_evaluation(
    opt_ml: Path,
    prepared: Path,
    golden: Path,
    challenger: Server,
    champion: Server | None = None,
) -> Path:
    """The evaluate job's inputs, as the evaluate DAG stages them: each model's transform of the
    month's test features (``prepared``: prepare's output dir) and of the golden set's
    (``golden``: ``<prefix>/golden/<version>/``), the test labels and the golden labels."""
    inputs = opt_ml / "processing" / "input"
    features = opt_ml.parent / "golden-features"  # the transform input: the features file alone
    features.mkdir(parents=True, exist_ok=True)
    shutil.copy(golden / "features.jsonl", features / "features.jsonl")
    labels = inputs / "golden_labels"
    labels.mkdir(parents=True, exist_ok=True)
    shutil.copy(golden / "labels.jsonl", labels / "labels.jsonl")
    copy_into(prepared / "test_labels", inputs / "labels")
    roles = {"challenger": challenger, "champion": champion}
    for role, server in roles.items():
        if server is not None:
            transform(server, prepared / "test_features", inputs / role)
            transform(server, features, inputs / f"golden_{role}")
    return opt_ml
