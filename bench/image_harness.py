"""Run the images' entrypoints as SageMaker and the local backend do: subprocesses of
``$MLOPS_ML_PYTHON`` with ``PYTHONPATH=docker/common/src:docker/<image>/src``, cwd a temp dir and
``OPT_ML_DIR`` a temp /opt/ml tree; the real ``serve`` over loopback HTTP.

Used by the image benchmark (bench/images.py) and the image tests (tests/images, through
tests.support.images); it imports no test code."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from local.demodata import generate_month

REPO = Path(__file__).resolve().parents[1]
DOCKER = REPO / "docker"
PYTHON = os.environ.get("MLOPS_ML_PYTHON") or sys.executable
COUNTRY = "de"
ITEMS = 3000
NEURAL_HP = {"epochs": "3", "num_buckets": "16384", "embedding_dim": "32", "hidden_size": "64"}


def image_env(image: str, opt_ml: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SM_", "SAGEMAKER_"))}
    env.update(
        {
            "PYTHONPATH": f"{DOCKER / 'common' / 'src'}{os.pathsep}{DOCKER / image / 'src'}",
            "OPT_ML_DIR": str(opt_ml),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    env.update(extra or {})
    return env


def run_entrypoint(
    image: str,
    module: str,
    opt_ml: Path,
    env: dict[str, str] | None = None,
    timeout: float = 180,
    python: str | None = None,
) -> subprocess.CompletedProcess:
    """``python -m module`` as the image runs it (``python``: the image's interpreter; by default
    ``PYTHON`` as it is at the call, which a caller may set)."""
    workdir = opt_ml.parent / f"cwd-{module.rsplit('.', 1)[-1]}"
    workdir.mkdir(exist_ok=True)
    return subprocess.run(
        [python or PYTHON, "-m", module],
        cwd=workdir,
        env=image_env(image, opt_ml, env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def copy_into(source: Path, target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for path in source.iterdir():
        if path.is_file():
            shutil.copy(path, target / path.name)
    return target


@dataclass
class MonthData:
    root: Path
    country: str
    month: str
    version: str

    @property
    def labeled(self) -> Path:
        return self.root / self.country / self.month / "labeled"

    @property
    def unlabeled(self) -> Path:
        return self.root / self.country / self.month / "unlabeled"

    @property
    def code_table(self) -> Path:
        return self.root / self.country / "code_tables" / f"{self.version}.json"

    @property
    def golden(self) -> Path:
        """The code table's golden set (``features.jsonl``, ``labels.jsonl``)."""
        return self.root / self.country / "golden" / self.version


def make_month(root: Path, month: str, items: int = ITEMS, **kwargs) -> MonthData:
    summary = generate_month(root, COUNTRY, month, items, unlabeled_items=400, **kwargs)
    return MonthData(root, COUNTRY, month, summary.code_table_version)


def prepare_env(data: MonthData) -> dict[str, str]:
    return {
        "COUNTRY": data.country,
        "DATA_MONTH": data.month,
        "CODE_TABLE_VERSION": data.version,
        "SPLIT_SEED": "7",
    }


def stage_prepare(opt_ml: Path, data: MonthData) -> Path:
    copy_into(data.labeled, opt_ml / "processing" / "input" / "labeled")
    table_dir = opt_ml / "processing" / "input" / "code_table"
    table_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(data.code_table, table_dir / data.code_table.name)
    return opt_ml


def run_prepare(opt_ml: Path, data: MonthData) -> Path:
    """Prepare ``data`` in ``opt_ml``; return the processing output dir."""
    stage_prepare(opt_ml, data)
    result = run_entrypoint("processing", "ml_processing.prepare", opt_ml, prepare_env(data))
    if result.returncode != 0:
        raise RuntimeError(f"prepare exited with {result.returncode}:\n{result.stderr}")
    return opt_ml / "processing" / "output"


def stage_training(opt_ml: Path, prepared: Path, hyperparameters: dict[str, str]) -> Path:
    config = opt_ml / "input" / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    (config / "inputdataconfig.json").write_text(
        json.dumps(
            {
                "train": {
                    "ContentType": "application/jsonlines",
                    "TrainingInputMode": "File",
                    "S3DistributionType": "FullyReplicated",
                },
                "validation": {
                    "ContentType": "application/jsonlines",
                    "TrainingInputMode": "File",
                    "S3DistributionType": "FullyReplicated",
                },
            }
        )
    )
    (config / "resourceconfig.json").write_text(
        json.dumps(
            {"current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "eth0"}
        )
    )
    for channel in ("train", "validation"):
        copy_into(prepared / channel, opt_ml / "input" / "data" / channel)
    return opt_ml


def hyperparameters(algorithm: str, data: MonthData, **extra: str) -> dict[str, str]:
    base = {
        "algorithm": algorithm,
        "country": data.country,
        "data_month": data.month,
        "code_table_version": data.version,
    }
    return {**base, **(NEURAL_HP if algorithm == "neural" else {}), **extra}


def run_training(
    opt_ml: Path, prepared: Path, hp: dict[str, str], timeout: float = 180
) -> subprocess.CompletedProcess:
    stage_training(opt_ml, prepared, hp)
    return run_entrypoint("training", "ml_training.train", opt_ml, timeout=timeout)


def serving_root(workspace: Path, name: str, model_dir: Path) -> Path:
    opt_ml = workspace / name / "opt" / "ml"
    shutil.copytree(model_dir, opt_ml / "model", dirs_exist_ok=True)
    return opt_ml


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """The real ``serve`` entrypoint (gunicorn) on a free loopback port."""

    def __init__(
        self,
        opt_ml: Path,
        env: dict[str, str] | None = None,
        workers: int = 1,
        start_timeout: float = 180,  # importing torch alone took > 60 s at load 17
    ):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = opt_ml.parent / f"serve-{self.port}.log"
        log = self.log.open("w")
        self.process = subprocess.Popen(
            [PYTHON, "-m", "ml_inference.serve"],
            cwd=opt_ml.parent,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=image_env(
                "inference",
                opt_ml,
                {
                    "SAGEMAKER_BIND_TO_PORT": str(self.port),
                    "SAGEMAKER_MODEL_SERVER_WORKERS": str(workers),
                    **(env or {}),
                },
            ),
        )
        deadline = time.monotonic() + start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"serve exited with {self.process.returncode}: {self.log.read_text()}"
                )
            try:
                if self.get("/ping")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(
            f"serve did not answer /ping within {start_timeout:g} s: {self.log.read_text()}"
        )

    def get(self, path: str) -> tuple[int, bytes]:
        return self.request("GET", path)

    def post(
        self, body: bytes, content_type: str, accept: str | None = None
    ) -> tuple[int, bytes, str]:
        headers = {"Content-Type": content_type, **({"Accept": accept} if accept else {})}
        request = urllib.request.Request(
            self.url + "/invocations", data=body, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read(), response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as error:
            return error.code, error.read(), error.headers.get("Content-Type", "")

    def request(self, method: str, path: str) -> tuple[int, bytes]:
        request = urllib.request.Request(self.url + path, method=method)
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
