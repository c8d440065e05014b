"""The SageMaker container contract, read in one place.

Everything an image needs from its environment — the /opt/ml tree (relocated by ``OPT_ML_DIR``
when run locally), hyperparameters, channels, resource config, and where failures are reported —
is read here, so the training, processing and serving code take plain arguments and can be tested
without a container.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_OPT_ML = "/opt/ml"


class ContractError(Exception):
    """Input that breaks the job's contract; the message is what the user sees in FailureReason."""


def opt_ml() -> Path:
    """The container root: ``$OPT_ML_DIR`` locally, ``/opt/ml`` in SageMaker."""
    return Path(os.environ.get("OPT_ML_DIR") or DEFAULT_OPT_ML)


def is_relocated() -> bool:
    """True when running outside a container (the local backend sets ``OPT_ML_DIR``)."""
    return bool(os.environ.get("OPT_ML_DIR"))


# ---- paths ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingPaths:
    root: Path

    @property
    def config_dir(self) -> Path:
        return self.root / "input" / "config"

    def channel(self, name: str) -> Path:
        return self.root / "input" / "data" / name

    @property
    def model_dir(self) -> Path:
        return self.root / "model"

    @property
    def output_data_dir(self) -> Path:
        return self.root / "output" / "data"

    @property
    def checkpoint_dir(self) -> Path:
        return self.root / "checkpoints"

    @property
    def failure_file(self) -> Path:
        return self.root / "output" / "failure"


@dataclass(frozen=True)
class ProcessingPaths:
    root: Path

    def input(self, name: str) -> Path:
        return self.root / "processing" / "input" / name

    def output(self, name: str) -> Path:
        return self.root / "processing" / "output" / name

    @property
    def staging_dir(self) -> Path:
        # Outside every ProcessingOutput LocalPath, so a failed job uploads nothing from it.
        return self.root / "processing" / ".staging"

    @property
    def job_config_file(self) -> Path:
        return self.root / "config" / "processingjobconfig.json"

    @property
    def message_file(self) -> Path:
        return self.root / "output" / "message"


def training_paths() -> TrainingPaths:
    return TrainingPaths(opt_ml())


def processing_paths() -> ProcessingPaths:
    return ProcessingPaths(opt_ml())


# ---- training configuration ------------------------------------------------------------------


def _read_json(path: Path, default: Any) -> Any:
    if not path.exists():
        return default
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ContractError(f"{path}: not valid JSON ({exc})") from exc


def decode_hyperparameter(value: Any) -> str:
    """SageMaker passes hyperparameters as strings; the SDK JSON-encodes them (``'"linear"'``)."""
    if not isinstance(value, str):
        return str(value)
    if len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            decoded = json.loads(value)
        except json.JSONDecodeError:
            return value
        return decoded if isinstance(decoded, str) else value
    return value


@dataclass(frozen=True)
class TrainingConfig:
    hyperparameters: dict[str, str]
    channels: dict[str, dict[str, Any]]
    current_host: str
    hosts: list[str]
    num_neurons: int
    num_gpus: int


def read_training_config(paths: TrainingPaths | None = None) -> TrainingConfig:
    """Read hyperparameters, inputdataconfig and resourceconfig JSON as SageMaker writes them."""
    paths = paths or training_paths()
    raw_hp = _read_json(paths.config_dir / "hyperparameters.json", {})
    if not isinstance(raw_hp, dict):
        raise ContractError(f"{paths.config_dir / 'hyperparameters.json'}: expected a JSON object")
    hyperparameters = {str(k): decode_hyperparameter(v) for k, v in raw_hp.items()}
    channels = _read_json(paths.config_dir / "inputdataconfig.json", {})
    resource = _read_json(paths.config_dir / "resourceconfig.json", {})
    host = resource.get("current_host", "algo-1")
    return TrainingConfig(
        hyperparameters=hyperparameters,
        channels=channels if isinstance(channels, dict) else {},
        current_host=host,
        hosts=list(resource.get("hosts", [host])),
        num_neurons=int(resource.get("num_neurons", 0) or 0),
        num_gpus=int(resource.get("num_gpus", 0) or 0),
    )


class Hyperparameters:
    """Typed access to string hyperparameters, with errors that name the parameter."""

    def __init__(self, values: Mapping[str, str]):
        self._values = dict(values)
        self._read: set[str] = set()

    def _get(self, name: str, default: Any, convert: Callable[[str], Any], kind: str) -> Any:
        self._read.add(name)
        if name not in self._values or self._values[name] == "":
            return default
        raw = self._values[name]
        try:
            return convert(raw)
        except (TypeError, ValueError) as exc:
            raise ContractError(f"hyperparameter {name}={raw!r} is not {kind}") from exc

    def str(self, name: str, default: str | None = None) -> str | None:
        return self._get(name, default, str, "a string")

    def require(self, name: str) -> str:
        value = self.str(name)
        if value is None:
            raise ContractError(f"hyperparameter {name} is required")
        return value

    def int(self, name: str, default: int) -> int:
        return self._get(name, default, lambda s: int(float(s)), "an integer")

    def float(self, name: str, default: float) -> float:
        return self._get(name, default, float, "a number")

    def bool(self, name: str, default: bool) -> bool:
        def convert(raw: str) -> bool:
            lowered = raw.strip().lower()
            if lowered in {"true", "1", "yes"}:
                return True
            if lowered in {"false", "0", "no"}:
                return False
            raise ValueError(raw)

        return self._get(name, default, convert, "a boolean (true/false)")

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.str(name, default)
        if value not in choices:
            raise ContractError(
                f"hyperparameter {name}={value!r} must be one of {', '.join(choices)}"
            )
        return value

    def unused(self) -> list[str]:
        """Names given but never read (SageMaker's own ``_``/``sagemaker_`` keys excluded)."""
        return sorted(
            k for k in self._values if k not in self._read and not k.startswith(("_", "sagemaker_"))
        )

    def as_dict(self) -> dict[str, str]:
        return dict(self._values)


# ---- reporting failures ----------------------------------------------------------------------


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_required(name: str) -> str:
    value = env_str(name)
    if value is None:
        raise ContractError(f"environment variable {name} is required")
    return value


def _env_number(name: str, default: Any, convert: Callable[[str], Any], kind: str) -> Any:
    raw = env_str(name)
    if raw is None:
        return default
    try:
        return convert(raw)
    except ValueError as exc:
        raise ContractError(f"environment variable {name}={raw!r} is not {kind}") from exc


def env_float(name: str, default: float) -> float:
    return _env_number(name, default, float, "a number")


def env_int(name: str, default: int) -> int:
    return _env_number(name, default, int, "an integer")


def write_report(path: Path, message: str) -> None:
    """Write a failure reason where SageMaker reads it (it keeps the first 1 KiB or so)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(message if message.endswith("\n") else message + "\n", encoding="utf-8")


def run_job(main: Callable[[], None], report_file: Callable[[], Path]) -> None:
    """Run ``main``; on error write the reason to ``report_file()``, exit 1 (2: contract error)."""
    try:
        main()
    except ContractError as exc:
        write_report(report_file(), str(exc))
        print(f"ERROR: {exc}", file=sys.stderr, flush=True)
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001 - last line of defence: SageMaker must learn why
        write_report(report_file(), f"{type(exc).__name__}: {exc}")
        traceback.print_exc()
        sys.exit(1)
