"""``train``: the SageMaker Training entrypoint for both algorithms.

Reads hyperparameters (strings), channels ``train`` and ``validation`` and the resource config
through ml_common.contract; prints ``<split>:<metric>=<float>;`` lines; writes the model
directory (weights, label map, preprocessing, model_card.json). Errors go to
``/opt/ml/output/failure``; SIGTERM saves a checkpoint, writes the failure and exits 143.
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from ml_common import features
from ml_common.contract import (
    ContractError,
    Hyperparameters,
    TrainingConfig,
    read_training_config,
    run_job,
    training_paths,
    write_report,
)
from ml_common.model import save_model
from ml_common.records import field_error, iter_lines

ALGORITHMS = ("linear", "neural")
SIGTERM_EXIT = 143


def load_channel(directory: Path, channel: str) -> list[dict]:
    """Every record of a channel, validated; errors name the channel, file and line.

    Two checks: each record against the contract (field_error: types, and numbers finite and
    in range), then the numeric features the models will see (finite, or the featurizer and the
    contract disagree): a NaN/inf feature would turn every weight into NaN.
    """
    records = []
    for line in iter_lines(directory):
        try:
            record = json.loads(line.text)
        except json.JSONDecodeError as exc:
            raise ContractError(
                f"channel {channel}: {line.where} is not valid JSON ({exc.msg})"
            ) from exc
        error = field_error(record, require_label=True)
        if error:
            raise ContractError(f"channel {channel}: {line.where} {error}")
        records.append(record)
    if not records:
        raise ContractError(f"channel {channel}: no records in {directory}")
    try:
        features.numeric_matrix(records)
    except features.FeatureError as exc:
        # records[i] is the i-th non-blank line: find its file:line again only on this path.
        line = next(itertools.islice(iter_lines(directory), exc.row, None))
        raise ContractError(f"channel {channel}: {line.where} {exc.detail}") from exc
    return records


def library_versions(algorithm: str) -> dict[str, str]:
    names = ["numpy", "scikit-learn", "scipy"] + (["torch"] if algorithm == "neural" else [])
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def processes_per_host(hp: Hyperparameters, config: TrainingConfig) -> int:
    """``nproc_per_node`` (default: one per NeuronCore, else per GPU, else 1)."""
    requested = hp.str("nproc_per_node", "auto")
    if requested != "auto":
        try:
            return max(1, int(requested))
        except ValueError as exc:
            raise ContractError(
                f"hyperparameter nproc_per_node={requested!r} is not an integer or auto"
            ) from exc
    return config.num_neurons or config.num_gpus or 1


def relaunch_under_torchrun(nproc: int, config: TrainingConfig) -> None:
    """Start one process per NeuronCore/GPU (and node) with torchrun, replacing this process."""
    hosts = sorted(config.hosts)
    command = [
        sys.executable,  # `python -m torch.distributed.run` is torchrun, without relying on PATH
        "-m",
        "torch.distributed.run",
        f"--nproc_per_node={nproc}",
        f"--nnodes={len(hosts)}",
        f"--node_rank={hosts.index(config.current_host)}",
        f"--master_addr={hosts[0] if len(hosts) > 1 else '127.0.0.1'}",
        f"--master_port={os.environ.get('MASTER_PORT', '29500')}",
        "-m",
        "ml_training.train",
    ]
    print("launching: " + " ".join(command), flush=True)
    os.execv(command[0], command)  # noqa: S606 - fixed argv, no shell


def train(paths, config: TrainingConfig, stop) -> dict | None:
    """Train the algorithm the hyperparameters name; write the model directory; return the card."""
    hp = Hyperparameters(config.hyperparameters)
    algorithm = hp.choice("algorithm", "linear", ALGORITHMS)
    card = {
        "country": hp.require("country"),
        "data_month": hp.require("data_month"),
        "code_table_version": hp.require("code_table_version"),
        "algorithm": algorithm,
    }
    train_records = load_channel(paths.channel("train"), "train")
    validation_records = load_channel(paths.channel("validation"), "validation")
    if algorithm == "linear":
        from ml_training.linear import train_linear

        classifier, metrics, preprocessing = train_linear(train_records, validation_records, hp)
    else:
        nproc = processes_per_host(hp, config)
        if (nproc > 1 or len(config.hosts) > 1) and "LOCAL_RANK" not in os.environ:
            relaunch_under_torchrun(nproc, config)
        from ml_training.neural import train_neural

        classifier, metrics, preprocessing = train_neural(
            train_records, validation_records, hp, paths.checkpoint_dir, stop
        )
        if classifier is None:  # not rank 0: only rank 0 writes the model
            return None
    unused = hp.unused()
    if unused:
        print(f"warning: hyperparameters not used by {algorithm}: {', '.join(unused)}", flush=True)
    card.update(
        {
            "metrics": metrics,
            "hyperparameters": hp.as_dict(),
            "labels": list(classifier.labels),
            "n_train": len(train_records),
            "n_validation": len(validation_records),
            "library_versions": library_versions(algorithm),
            "training_job_name": os.environ.get("TRAINING_JOB_NAME"),
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )
    save_model(paths.model_dir, classifier, algorithm, preprocessing, card)
    return card


def main() -> None:
    from ml_training.neural import StopSignal, TrainingStopped

    paths = training_paths()
    stop = StopSignal()
    stop.install()
    try:
        card = train(paths, read_training_config(paths), stop)
    except TrainingStopped as exc:
        write_report(paths.failure_file, str(exc))
        print(f"STOPPED: {exc}", file=sys.stderr, flush=True)
        sys.exit(SIGTERM_EXIT)
    if card is not None:
        print(
            f"model written to {paths.model_dir} "
            f"({card['algorithm']}, {card['country']} {card['data_month']})"
        )


if __name__ == "__main__":
    run_job(main, lambda: training_paths().failure_file)
