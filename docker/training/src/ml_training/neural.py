"""``neural``: a hashed n-gram EmbeddingBag + MLP text classifier in PyTorch.

One script for every device, chosen at run time: Trainium through PyTorch/XLA (xla device,
MpDeviceLoader, xm.optimizer_step; one process per NeuronCore under torchrun), CUDA with mixed
precision (torch.autocast + GradScaler), else CPU. A checkpoint is written to
``/opt/ml/checkpoints`` after every epoch and when SIGTERM arrives, and training resumes from it,
so managed spot training loses at most the batch in flight.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from ml_common import features
from ml_common.contract import ContractError, Hyperparameters
from ml_common.model import (
    NeuralClassifier,
    build_network,
    hashing_vectorizer,
    non_finite_tensors,
)

from ml_training.metrics import classification_scores, emit

CHECKPOINT_FILE = "checkpoint.pt"
# Steps between reads of the device-side "first non-finite loss" marker: one host sync per this
# many steps (the exact step is recorded on the device, so the report names it either way).
LOSS_CHECK_STEPS = 32
XLA_PAD = 512  # pad bag indices to a multiple of this on XLA so graphs are not recompiled per batch


class TrainingStopped(Exception):
    """SIGTERM arrived (spot interruption or StopTrainingJob); a checkpoint was saved."""


class StopSignal:
    """Turns SIGTERM into a flag the training loop checks between batches."""

    def __init__(self):
        self.received = False

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._handle)

    def _handle(self, signum, frame) -> None:  # noqa: ARG002 - signal handler signature
        self.received = True


# ---- device and distribution -----------------------------------------------------------------


@dataclass
class Runtime:
    kind: str  # "xla" | "cuda" | "cpu"
    device: Any
    rank: int
    world_size: int
    xm: Any = None  # torch_xla.core.xla_model when kind == "xla"

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _xla_available() -> bool:
    try:
        import torch_xla  # noqa: F401 - only present in the Neuron image
    except ImportError:
        return False
    return True


def select_runtime(requested: str) -> Runtime:
    """Pick xla (Trainium), cuda or cpu; join the process group when torchrun started us."""
    import torch
    import torch.distributed as dist

    kind = requested
    if requested == "auto":
        if _xla_available():
            kind = "xla"
        elif torch.cuda.is_available():
            kind = "cuda"
        else:
            kind = "cpu"
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if kind == "xla":
        if not _xla_available():
            raise ContractError(
                "hyperparameter device=xla but torch_xla is not installed in this image"
            )
        import torch_xla.core.xla_model as xm

        if world_size > 1 and not dist.is_initialized():
            import torch_xla.distributed.xla_backend  # noqa: F401 - registers the "xla" backend

            dist.init_process_group("xla", init_method="xla://")
        import torch_xla

        # torch_xla.device() since 2.7; xm.xla_device() on older Neuron SDKs.
        device = torch_xla.device() if hasattr(torch_xla, "device") else xm.xla_device()
        return Runtime("xla", device, rank, world_size, xm)
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise ContractError("hyperparameter device=cuda but no CUDA device is visible")
        torch.cuda.set_device(local_rank)
        if world_size > 1 and not dist.is_initialized():
            dist.init_process_group("nccl")
        return Runtime("cuda", torch.device("cuda", local_rank), rank, world_size)
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group("gloo")
    return Runtime("cpu", torch.device("cpu"), rank, world_size)


# ---- data ------------------------------------------------------------------------------------


class BatchDataset:
    """Map-style dataset whose items are whole batches (CSR slices → EmbeddingBag inputs, and
    each index's row for the network's XLA path)."""

    def __init__(
        self, matrix, numeric: np.ndarray, targets: np.ndarray, batches: list[np.ndarray], pad: int
    ):
        self.matrix, self.numeric, self.targets, self.batches, self.pad = (
            matrix,
            numeric,
            targets,
            batches,
            pad,
        )

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index: int):
        import torch

        rows = self.batches[index]
        part = self.matrix[rows]
        indices = part.indices.astype(np.int64)
        weights = part.data.astype(np.float32)
        bag_ids = np.repeat(np.arange(len(rows), dtype=np.int64), np.diff(part.indptr))
        if self.pad:
            # Zero-weight entries in the last bag leave every sum unchanged and fix the shape.
            extra = (-len(indices)) % self.pad
            indices = np.concatenate([indices, np.zeros(extra, dtype=np.int64)])
            weights = np.concatenate([weights, np.zeros(extra, dtype=np.float32)])
            bag_ids = np.concatenate([bag_ids, np.full(extra, len(rows) - 1, dtype=np.int64)])
        return (
            torch.from_numpy(indices),
            torch.from_numpy(part.indptr[:-1].astype(np.int64)),
            torch.from_numpy(weights),
            torch.from_numpy(self.numeric[rows]),
            torch.from_numpy(self.targets[rows]),
            torch.from_numpy(bag_ids),
        )


def epoch_batches(
    n_items: int, batch_size: int, seed: int, epoch: int, rank: int, world: int
) -> list[np.ndarray]:
    """This rank's batches for ``epoch``: a seeded permutation, sharded by rank (same on resume)."""
    order = np.random.default_rng(seed + epoch).permutation(n_items)
    # Equal shares, so every rank runs the same number of steps (collectives would hang otherwise).
    order = order[: len(order) - len(order) % world][rank::world]
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


# ---- checkpoints -----------------------------------------------------------------------------


def save_checkpoint(runtime: Runtime, directory: Path, state: dict) -> Path:
    import torch

    path = directory / CHECKPOINT_FILE
    tmp = path.with_suffix(".tmp")
    if runtime.kind == "xla":
        # xm.save moves the tensors to CPU (so the file loads without torch_xla), writes on each
        # host's local master and is a rendezvous: every rank calls it. It neither creates the
        # directory nor writes atomically, so both are done here, as on the other devices.
        writes = runtime.xm.is_master_ordinal(local=True)
        if writes:
            directory.mkdir(parents=True, exist_ok=True)
        runtime.xm.save(state, str(tmp))
        if writes:
            os.replace(tmp, path)
        return path
    if runtime.is_main:
        directory.mkdir(parents=True, exist_ok=True)
        torch.save(state, tmp)
        os.replace(tmp, path)  # never leave a half-written checkpoint behind
    return path


def load_checkpoint(directory: Path, labels: list[str], settings: dict) -> dict | None:
    import torch

    path = directory / CHECKPOINT_FILE
    if not path.exists():
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    if state.get("labels") != labels or state.get("settings") != settings:
        print(
            f"checkpoint {path} is from a different label set or architecture: starting afresh",
            flush=True,
        )
        return None
    bad = non_finite_tensors(state.get("model", {}))
    if bad:  # written by a diverged run: resuming would only train NaN further
        print(
            f"checkpoint {path} holds non-finite weights ({', '.join(bad[:5])}): starting afresh",
            flush=True,
        )
        return None
    return state


# ---- training --------------------------------------------------------------------------------


class Divergence:
    """Stops training at the first non-finite loss, naming epoch and batch, without a sync per step.

    ``mark`` records on the device the first batch whose loss is NaN or ±inf; ``check`` reads
    that marker (one host sync) and raises ContractError: the FailureReason, exit 2, and no
    checkpoint or model is written after it.
    """

    def __init__(self, torch, device, epoch: int, first_batch: int, learning_rate: float):
        self.torch, self.epoch, self.learning_rate = torch, epoch, learning_rate
        # The batch number is counted on the device too: a Python int per step would be a new
        # constant in every XLA graph (a recompilation per step on Trainium).
        self.batch = torch.full((), first_batch - 1, dtype=torch.int64, device=device)
        self.first = torch.full((), -1, dtype=torch.int64, device=device)
        self.loss = torch.zeros((), dtype=torch.float32, device=device)

    def mark(self, loss) -> None:
        """Count one batch; remember it if its loss is the epoch's first non-finite one."""
        loss = loss.detach().float()
        self.batch = self.batch + 1
        bad = ~self.torch.isfinite(loss) & (self.first < 0)
        self.first = self.torch.where(bad, self.batch, self.first)
        self.loss = self.torch.where(bad, loss, self.loss)

    def check(self) -> None:
        first = int(self.first.cpu())
        if first >= 0:
            raise ContractError(
                f"neural training diverged: the loss is {float(self.loss.cpu())} at epoch "
                f"{self.epoch + 1} batch {first} (learning_rate={self.learning_rate:g}); "
                "training stopped, no model written. Lower learning_rate, or check the inputs"
            )


def _settings(hp: Hyperparameters) -> dict[str, Any]:
    return {
        "num_buckets": hp.int("num_buckets", 65536),
        "ngram_max": hp.int("ngram_max", 2),
        "embedding_dim": hp.int("embedding_dim", 64),
        "hidden_size": hp.int("hidden_size", 128),
    }


def xla_report() -> str:
    """One line on the XLA run: graph compilations (each one a neuronx-cc compile on Trainium)
    and the operations torch_xla ran on the host instead (a transfer each way, every step)."""
    import torch_xla.debug.metrics as met

    compiled = met.metric_data("CompileTime")
    count, seconds = (compiled[0], compiled[1] / 1e9) if compiled else (0, 0.0)
    fallbacks = sorted(name for name in met.counter_names() if name.startswith("aten::"))
    return (
        f"xla: {count} graph compilations ({seconds:.1f} s); "
        f"ops run on the host, not XLA: {', '.join(fallbacks) or 'none'}"
    )


def _bags(runtime: Runtime, bag_ids):
    """The network's gather + scatter-add path on XLA (no EmbeddingBag lowering), else None."""
    return bag_ids if runtime.kind == "xla" else None


def _predict_labels(
    network, dataset: BatchDataset, runtime: Runtime, labels: list[str]
) -> list[str]:
    import torch

    network.eval()
    out: list[str] = []
    # no_grad, not inference_mode: torch_xla refuses inference tensors ("Cannot set
    # version_counter for inference tensor"), and the scores are the same.
    with torch.no_grad():
        for i in range(len(dataset)):
            indices, offsets, weights, numeric, _, bag_ids = (
                t.to(runtime.device) for t in dataset[i]
            )
            logits = network(indices, offsets, weights, numeric, _bags(runtime, bag_ids))
            out.extend(labels[j] for j in logits.argmax(dim=1).cpu().tolist())
    network.train()
    return out


def train_neural(
    train: Sequence[dict[str, Any]],
    validation: Sequence[dict[str, Any]],
    hp: Hyperparameters,
    checkpoint_dir: Path,
    stop: StopSignal,
) -> tuple[NeuralClassifier | None, dict[str, float], dict[str, Any]]:
    """Train (resuming from ``checkpoint_dir``); return (classifier on CPU, metrics, preprocessing).

    On ranks other than 0 the classifier is None: only rank 0 writes the model.
    """
    import torch
    from torch import nn

    settings = _settings(hp)
    epochs = hp.int("epochs", 8)
    batch_size = hp.int("batch_size", 256)
    learning_rate = hp.float("learning_rate", 0.005)
    if not 0 < learning_rate < float("inf"):
        raise ContractError(
            f"hyperparameter learning_rate={learning_rate!r} must be a finite number above 0"
        )
    dropout = hp.float("dropout", 0.2)
    seed = hp.int("seed", 0)
    runtime = select_runtime(hp.choice("device", "auto", ("auto", "cpu", "cuda", "xla")))
    torch.manual_seed(seed)

    labels = sorted({r["label"] for r in train})
    label_index = {label: i for i, label in enumerate(labels)}
    preprocessing = {
        "version": features.PREPROCESSING_VERSION,
        "vectorizer": "hashing",
        **settings,
        "numeric_features": list(features.NUMERIC_FEATURES),
    }
    vectorizer = hashing_vectorizer(preprocessing)

    def dataset_for(records, batches):
        targets = np.array([label_index.get(r["label"], -100) for r in records], dtype=np.int64)
        return BatchDataset(
            vectorizer.transform(features.texts(records)).tocsr(),
            features.numeric_matrix(records),
            targets,
            batches,
            XLA_PAD if runtime.kind == "xla" else 0,
        )

    train_data = dataset_for(train, [])
    validation_batches = [
        np.arange(i, min(i + 1024, len(validation))) for i in range(0, len(validation), 1024)
    ]
    validation_data = dataset_for(validation, validation_batches)

    network = build_network(
        settings["num_buckets"],
        settings["embedding_dim"],
        settings["hidden_size"],
        len(labels),
        dropout,
    ).to(runtime.device)
    optimizer = torch.optim.AdamW(network.parameters(), lr=learning_rate, weight_decay=1e-4)
    use_amp = runtime.kind == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=hp.float("label_smoothing", 0.05))

    start_epoch, start_batch = 0, 0
    state = load_checkpoint(checkpoint_dir, labels, settings)
    if state is not None:
        network.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if use_amp and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        start_epoch, start_batch = int(state["epoch"]), int(state["batch"])
        if runtime.is_main:
            print(
                f"resumed from checkpoint at epoch={start_epoch + 1} batch={start_batch}",
                flush=True,
            )

    trained = network
    if runtime.world_size > 1:
        from torch.nn.parallel import DistributedDataParallel

        if runtime.kind == "cuda":
            trained = DistributedDataParallel(network, device_ids=[runtime.device.index])
        elif runtime.kind == "cpu":
            trained = DistributedDataParallel(network)
        # xla: xm.optimizer_step all-reduces the gradients itself

    def checkpoint(epoch: int, batch: int) -> Path:
        return save_checkpoint(
            runtime,
            checkpoint_dir,
            {
                "epoch": epoch,
                "batch": batch,
                "labels": labels,
                "settings": settings,
                "model": network.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scaler": scaler.state_dict() if use_amp else {},
            },
        )

    metrics: dict[str, float] = {}
    network.train()
    for epoch in range(start_epoch, epochs):
        train_data.batches = epoch_batches(
            len(train), batch_size, seed, epoch, runtime.rank, runtime.world_size
        )
        first = start_batch if epoch == start_epoch else 0
        indices_of_batches = list(range(first, len(train_data)))
        loader = torch.utils.data.DataLoader(
            torch.utils.data.Subset(train_data, indices_of_batches), batch_size=None, shuffle=False
        )
        if runtime.kind == "xla":
            from torch_xla.distributed.parallel_loader import MpDeviceLoader

            loader = MpDeviceLoader(loader, runtime.device)
        # Summed on the device and read once per epoch: a per-step .item() would force a host
        # sync each step (and an XLA graph execution on Trainium). Likewise the first step whose
        # loss is NaN/inf is marked on the device and read every LOSS_CHECK_STEPS steps.
        total_loss, seen = torch.zeros((), device=runtime.device), 0
        divergence = Divergence(torch, runtime.device, epoch, first, learning_rate)
        started = time.perf_counter()
        for position, batch in zip(indices_of_batches, loader, strict=False):
            if stop.received:
                divergence.check()  # never checkpoint weights a non-finite loss has updated
                path = checkpoint(epoch, position)
                raise TrainingStopped(
                    f"training stopped by SIGTERM at epoch {epoch + 1} batch {position}; "
                    f"checkpoint saved to {path}"
                )
            indices, offsets, weights, numeric, targets, bag_ids = (
                t.to(runtime.device) for t in batch
            )
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(device_type="cuda", dtype=torch.float16, enabled=use_amp):
                logits = trained(indices, offsets, weights, numeric, _bags(runtime, bag_ids))
                loss = loss_fn(logits, targets)
            if runtime.kind == "xla":
                loss.backward()
                runtime.xm.optimizer_step(optimizer)  # all-reduces gradients across NeuronCores
            else:
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            total_loss += loss.detach().float() * len(targets)
            seen += len(targets)
            divergence.mark(loss)
            if (position + 1) % LOSS_CHECK_STEPS == 0:
                divergence.check()
        divergence.check()  # before the checkpoint: a rerun must not resume from NaN weights
        # The check read the device: every step of the epoch has run (XLA executes lazily).
        items_per_second = seen / max(time.perf_counter() - started, 1e-9)
        checkpoint(epoch + 1, 0)
        if runtime.is_main:
            predicted = _predict_labels(network, validation_data, runtime, labels)
            scores = classification_scores([r["label"] for r in validation], predicted)
            print(f"epoch={epoch + 1}/{epochs}", flush=True)
            metrics = {
                "train:loss": float(total_loss.cpu()) / max(seen, 1),
                **{f"validation:{k}": v for k, v in scores.items()},
            }
            emit("train", {"loss": metrics["train:loss"], "items_per_second": items_per_second})
            emit("validation", scores)
    if runtime.kind == "xla" and runtime.is_main:
        print(xla_report(), flush=True)
    if stop.received:
        raise TrainingStopped(
            f"training stopped by SIGTERM after the last epoch; checkpoint in {checkpoint_dir}"
        )
    if not metrics and runtime.is_main:  # resumed after the last epoch: score the restored model
        predicted = _predict_labels(network, validation_data, runtime, labels)
        scores = classification_scores([r["label"] for r in validation], predicted)
        metrics = {f"validation:{k}": v for k, v in scores.items()}
        emit("validation", scores)
    if not runtime.is_main:
        return None, metrics, preprocessing
    cpu_network = build_network(
        settings["num_buckets"],
        settings["embedding_dim"],
        settings["hidden_size"],
        len(labels),
        0.0,
    )
    cpu_state = {k: v.detach().cpu() for k, v in network.state_dict().items()}
    bad = non_finite_tensors(cpu_state)
    if bad:
        raise ContractError(
            f"neural training diverged (learning_rate={learning_rate:g}): "
            f"weights {', '.join(bad[:5])} are not finite; no model written"
        )
    cpu_network.load_state_dict(cpu_state)
    preprocessing["device"] = runtime.kind
    preprocessing["world_size"] = runtime.world_size
    return NeuralClassifier(cpu_network, preprocessing, labels), metrics, preprocessing
