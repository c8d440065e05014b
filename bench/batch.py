"""A month at the seed's volume through the local stack's batch path → bench/results/batch.json.

The seed scores 3.3M items a month over 38 countries. This bench pushes that month (``--items``,
default 3,300,000) through what ``batch_inference__<cc>`` runs, on the local stack started as its
own process (``python -m local.stack``):

- **the month**: 38 countries (``COUNTRIES``, in rank order), items split by a Zipf law with
  exponent 1 over the ranks (share of rank r ∝ 1/r: the first country takes 24 %, the last
  0.6 %), rounded by largest remainder to the exact total. Items come from the demo generator
  (``local.demodata.iter_products``), which has three catalogs (DE, FR, GB): country r takes
  catalog ``CATALOGS[r % 3]`` with its own seed. Each country's items are written in parts of
  ``--part-items`` (100,000: the generator's own part size, about 25 MB) and uploaded to
  ``s3://<data>/<cc>/<month>/unlabeled/`` one part at a time, ``_SUCCESS`` last, as an uploader
  does (one part on disk at a time: nothing of the month is held in memory).
- **the models**: one small model per catalog, trained as the images train
  (``bench.image_harness``: prepare, then training, ``--training-items`` labeled items) with the
  countries file's algorithm of that catalog (DE and FR ``neural``, GB ``linear``); the countries
  of a catalog share its SageMaker Model. Each country is the countries file's model of its
  catalog under its own code (``Model.model_copy``): its requests are the product's.
- **the run**: per country, largest first, two at a time (the stack's job slots: its cores), the
  batch DAG's two jobs with the product's request builders: ``batch_transform_request``
  (SplitType Line, MultiRecord, MaxPayloadInMB 6, the server's MaxConcurrentTransforms) then
  ``postprocess_request`` (with the catalog's training-data profile as the drift reference);
  each country's ``summary.json`` must count its items.

Figures: end-to-end items/s (first CreateTransformJob to the last postprocess job's end) ÷ the
models' raw in-process predict items/s on the same cores (``bench.predict_rate``: one thread,
items per CPU-second, × the cores; weighted by each model's share of the items); the same ratio in
CPU-seconds (raw predict CPU-seconds ÷ the CPU-seconds the stack and its processes spent), which
a loaded machine does not skew; wall times; the peak RSS (``VmHWM``) of each process by role
(stack — the transform runner is a thread of it —, inference server master and workers,
postprocess), sampled from /proc.

    nice -n 19 .venv/bin/python -m bench.batch --items 100000   # develop
    .venv/bin/python -m bench.batch                            # the month: 3.3M items
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import psutil
from botocore.config import Config
from mlops import sagemaker_requests as requests
from mlops.config import Model, get_model
from mlops.naming import RunIdentity
from mlops.settings import Settings, parse_settings

from bench import image_harness
from bench.image_harness import MonthData, hyperparameters, run_prepare, run_training
from local.demodata import generate_month, iter_products
from local.provision import load_local_settings, provision
from local.stack.services.sagemaker.execution import make_tarball

ROOT = Path(__file__).resolve().parent.parent

RESULT = ROOT / "bench" / "results" / "batch.json"
# The images' interpreter: runs the trainings, the raw predict, the stack's jobs and servers.
ML_PYTHON = os.environ.get("MLOPS_ML_PYTHON") or str(ROOT / ".venv-ml" / "bin" / "python")
GOAL = 0.6
MONTH = "2026-10"
SEED_ITEMS = 3_300_000
# 38 markets in rank order (the Zipf law's ranks): the largest first.
COUNTRIES = (
    "de fr gb it es nl pl se be at ch dk fi no ie pt cz hu ro gr sk bg hr si lt lv ee lu "
    "us ca mx br jp au in tr ae sa"
).split()
CATALOGS = ("de", "fr", "gb")
ZIPF_EXPONENT = 1.0
RAW_RECORDS = 5_000
SAMPLE_SECONDS = 0.25
POLL_SECONDS = 0.2  # as the stack's own runners poll: the end of a job is seen within 0.2 s


def zipf_split(total: int, n: int, exponent: float = ZIPF_EXPONENT) -> list[int]:
    """``total`` items over ``n`` ranks, share of rank r ∝ 1/r^exponent, exact by largest
    remainder."""
    weights = [1 / (rank**exponent) for rank in range(1, n + 1)]
    exact = [total * w / sum(weights) for w in weights]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(n), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


# ---------------------------------------------------------------- processes and their memory
def _role(process: psutil.Process, stack_pid: int) -> str | None:
    try:
        if process.pid == stack_pid:
            return "stack"
        cmdline = " ".join(process.cmdline())
        if "ml_inference.serve" in cmdline:
            parent = process.parent()
            worker = parent is not None and "ml_inference.serve" in " ".join(parent.cmdline())
            return "inference_worker" if worker else "inference_master"
        if "ml_processing.postprocess" in cmdline:
            return "postprocess"
    except psutil.Error:
        return None
    return "other"


def _peak_rss_kb(pid: int) -> int | None:
    """VmHWM: the process's peak resident set size so far, in kB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class MemorySampler:
    """Every SAMPLE_SECONDS: each process of the stack's tree, its role, its job (the job's
    directory is the process's working directory) and its peak RSS."""

    def __init__(self, stack_pid: int):
        self.stack_pid = stack_pid
        self.peaks: dict[int, dict[str, Any]] = {}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
        self.sample()

    def _run(self) -> None:
        while not self._done.wait(SAMPLE_SECONDS):
            self.sample()

    def sample(self) -> None:
        try:
            stack = psutil.Process(self.stack_pid)
            tree = [stack, *stack.children(recursive=True)]
        except psutil.Error:
            return
        for process in tree:
            peak = _peak_rss_kb(process.pid)
            if peak is None:
                continue
            seen = self.peaks.get(process.pid)
            # A job's process is the stack's fork until it execs the image's command, and
            # exec starts a new peak: until its role is known, look again each time.
            if seen is None or seen["role"] == "other":
                role = _role(process, self.stack_pid)
                if role is None:
                    continue
                try:
                    job = Path(process.cwd()).name if role != "stack" else ""
                except psutil.Error:
                    job = ""
                seen = self.peaks[process.pid] = {"role": role, "job": job, "kb": 0}
            seen["kb"] = max(seen["kb"], peak)

    def by_role(self) -> dict[str, dict[str, Any]]:
        roles: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for seen in self.peaks.values():
            roles[seen["role"]].append(seen)
        summary = {}
        for role, processes in sorted(roles.items()):
            top = max(processes, key=lambda p: p["kb"])
            summary[role] = {
                "processes": len(processes),
                "peak_rss_mb": round(top["kb"] / 1024, 1),
                "peak_job": top["job"],
            }
        return summary

    def by_job(self, role: str) -> dict[str, float]:
        """The peak RSS (MB) of ``role``'s process in each job."""
        jobs: dict[str, float] = {}
        for seen in self.peaks.values():
            if seen["role"] == role:
                jobs[seen["job"]] = max(jobs.get(seen["job"], 0.0), round(seen["kb"] / 1024, 1))
        return jobs


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and of its children it has waited for."""
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system + times.children_user + times.children_system


# ---------------------------------------------------------------- the stack
class StackProcess:
    """``python -m local.stack --port 0`` as its own process (its log in ``workdir``)."""

    def __init__(self, workdir: Path):
        workdir.mkdir(parents=True, exist_ok=True)
        self.log = (workdir / "stack.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local.stack", "--port", "0", "--workdir", str(workdir)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env={
                **os.environ,
                "MLOPS_ML_PYTHON": ML_PYTHON,
                "PYTHONPATH": f"{ROOT / 'plugins'}{os.pathsep}{ROOT}",
            },
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("AWS_ENDPOINT_URL="):
            self.stop()
            raise RuntimeError(f"the local stack did not start; see {workdir / 'stack.log'}")
        self.endpoint_url = line.strip().split("=", 1)[1]

    @property
    def pid(self) -> int:
        return self.process.pid

    def client(self, service: str) -> Any:
        return boto3.session.Session().client(
            service,
            endpoint_url=self.endpoint_url,
            region_name="eu-west-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's placeholder
            config=Config(retries={"max_attempts": 2, "mode": "standard"}),
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


# ---------------------------------------------------------------- models
def train_models(work: Path, training_items: int) -> dict[str, dict[str, Any]]:
    """One model per catalog with its countries-file algorithm: its directory and the training
    data's profile. Models already trained in ``work`` with as many items are reused."""
    trained = {}
    work = work / f"models-{training_items}"
    for catalog in CATALOGS:
        algorithm = get_model(catalog).training.algorithm
        opt_ml = work / f"train-{catalog}" / "opt" / "ml"
        prepared = work / f"prepare-{catalog}" / "opt" / "ml" / "processing" / "output"
        if (opt_ml / "model").is_dir() and (prepared / "profile" / "profile.json").is_file():
            trained[catalog] = {
                "algorithm": algorithm,
                "model_dir": opt_ml / "model",
                "profile": prepared / "profile" / "profile.json",
                "training_s": None,
            }
            print(f"{catalog}: {algorithm} model reused from {opt_ml}", flush=True)
            continue
        data_root = work / "training-data" / catalog
        summary = generate_month(data_root, catalog, MONTH, training_items, unlabeled_items=0)
        data = MonthData(data_root, catalog, MONTH, summary.code_table_version)
        prepared = run_prepare(work / f"prepare-{catalog}" / "opt" / "ml", data)
        started = time.perf_counter()
        result = run_training(opt_ml, prepared, hyperparameters(algorithm, data))
        if result.returncode != 0:
            raise RuntimeError(f"{catalog} ({algorithm}) training failed: {result.stderr[-2000:]}")
        trained[catalog] = {
            "algorithm": algorithm,
            "model_dir": opt_ml / "model",
            "profile": prepared / "profile" / "profile.json",
            "training_s": round(time.perf_counter() - started, 1),
        }
        print(f"{catalog}: {algorithm} trained in {trained[catalog]['training_s']} s", flush=True)
    return trained


def raw_rates(work: Path, trained: dict[str, dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Each model's in-process predict rate on its catalog's unlabeled items."""
    rates = {}
    for catalog, model in trained.items():
        sample = work / f"raw-{catalog}.jsonl"
        with sample.open("w", encoding="utf-8") as handle:
            for record in iter_products(catalog, MONTH, RAW_RECORDS, labeled=False, seed=999):
                handle.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        out = subprocess.run(
            [ML_PYTHON, "-m", "bench.predict_rate", str(model["model_dir"]), str(sample)],
            cwd=ROOT,
            env={
                **os.environ,
                "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "docker" / "common" / "src")]),
            },
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            raise RuntimeError(f"raw predict rate of {catalog} failed: {out.stderr[-2000:]}")
        rates[catalog] = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{catalog}: raw {rates[catalog]}", flush=True)
    return rates


# ---------------------------------------------------------------- the month
def country_model(code: str, catalog: str) -> Model:
    """The countries file's model of ``catalog`` under the country code ``code``."""
    return get_model(catalog).model_copy(update={"country": code, "data_prefix": None})


def upload_month(
    s3: Any, settings: Settings, work: Path, plan: list[dict[str, Any]], part_items: int
) -> dict[str, Any]:
    """Write and upload every country's unlabeled parts (one part on disk at a time)."""
    part = work / "part.jsonl"
    parts, size = 0, 0
    for entry in plan:
        records = iter_products(
            entry["catalog"], MONTH, entry["items"], labeled=False, seed=entry["rank"]
        )
        prefix = f"{entry['country']}/{MONTH}/unlabeled"
        index, left = 0, entry["items"]
        while left > 0:
            count = min(part_items, left)
            with part.open("w", encoding="utf-8") as handle:
                for _ in range(count):
                    record = next(records)
                    handle.write(
                        json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
                    )
            size += part.stat().st_size
            s3.upload_file(str(part), settings.data_bucket, f"{prefix}/part-{index:05d}.jsonl")
            index, left, parts = index + 1, left - count, parts + 1
        s3.put_object(Bucket=settings.data_bucket, Key=f"{prefix}/_SUCCESS", Body=b"")
    part.unlink(missing_ok=True)
    return {"parts": parts, "bytes": size, "mean_part_mb": round(size / parts / 2**20, 1)}


def wait_for(describe: Any, status_key: str, what: str, deadline: float) -> dict[str, Any]:
    while True:
        described = describe()
        status = described[status_key]
        if status == "Completed":
            return described
        if status in ("Failed", "Stopped"):
            raise RuntimeError(f"{what} {status}: {described.get('FailureReason')}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} still {status} at the bench's deadline")
        time.sleep(POLL_SECONDS)


def run_country(
    stack: StackProcess, settings: Settings, entry: dict[str, Any], deadline: float
) -> dict[str, Any]:
    """The batch DAG's transform and postprocess for one country; its rows and job seconds."""
    sagemaker, s3 = stack.client("sagemaker"), stack.client("s3")
    model = country_model(entry["country"], entry["catalog"])
    run = RunIdentity(run_id=f"bench-batch-{entry['country']}", data_month=MONTH)
    transform = requests.batch_transform_request(
        settings, model, run, model_name=entry["model_name"]
    )
    started = time.monotonic()
    sagemaker.create_transform_job(**transform)
    name = transform["TransformJobName"]
    described = wait_for(
        lambda: sagemaker.describe_transform_job(TransformJobName=name),
        "TransformJobStatus",
        f"transform {name}",
        deadline,
    )
    transformed = time.monotonic()
    postprocess = requests.postprocess_request(
        settings,
        model,
        run,
        predictions_uri=described["TransformOutput"]["S3OutputPath"],
        reference_profile_uri=entry["profile_uri"],
    )
    sagemaker.create_processing_job(**postprocess)
    job = postprocess["ProcessingJobName"]
    wait_for(
        lambda: sagemaker.describe_processing_job(ProcessingJobName=job),
        "ProcessingJobStatus",
        f"postprocess {job}",
        deadline,
    )
    summary_uri = requests.processing_outputs(postprocess)["summary"] + "summary.json"
    bucket, key = summary_uri.removeprefix("s3://").split("/", 1)
    summary = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    if summary["rows"] != entry["items"]:
        raise RuntimeError(
            f"{entry['country']}: postprocess wrote {summary['rows']} rows for "
            f"{entry['items']} items"
        )
    return {
        "country": entry["country"],
        "items": entry["items"],
        "rows": summary["rows"],
        "transform_s": round(transformed - started, 1),
        "postprocess_s": round(time.monotonic() - transformed, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.batch",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--items", type=int, default=SEED_ITEMS, help="the month's items")
    parser.add_argument("--part-items", type=int, default=100_000, help="items per input file")
    parser.add_argument("--training-items", type=int, default=5_000, help="labeled, per model")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds for the run")
    parser.add_argument("--workdir", help="where the run's temp dir goes (default: /tmp)")
    parser.add_argument(
        "--models", help="train the models here, or reuse those trained here (default: per run)"
    )
    parser.add_argument("--result", default=str(RESULT), help="where the figures go")
    parser.add_argument("--note", default="", help="how the machine was (kept with the figures)")
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    image_harness.PYTHON = ML_PYTHON
    # A SIGTERM (timeout, Ctrl-C's cousin) unwinds: the stack process and its jobs are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results: dict[str, Any] = {
        "machine": {
            "cpus": cores,
            "python": platform.python_version(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "note": args.note,
        "goal": {"end_to_end_over_raw_predict": GOAL},
        "items": args.items,
        "countries": len(COUNTRIES),
        "split": f"Zipf, exponent {ZIPF_EXPONENT}, over the countries in rank order",
    }
    counts = zipf_split(args.items, len(COUNTRIES))
    if min(counts) < 1:
        parser.error(f"--items {args.items} leaves {COUNTRIES[-1]} without an item")
    plan = [
        {"rank": rank, "country": code, "catalog": CATALOGS[rank % len(CATALOGS)], "items": n}
        for rank, (code, n) in enumerate(zip(COUNTRIES, counts, strict=True))
    ]
    with tempfile.TemporaryDirectory(prefix="bench-batch-", dir=args.workdir) as tmp:
        work = Path(tmp)
        trained = train_models(Path(args.models or work), args.training_items)
        rates = raw_rates(work, trained)
        stack = StackProcess(work / "stack")
        try:
            settings_dict = provision(stack.client, load_local_settings())
            settings = parse_settings(settings_dict)
            s3, sagemaker = stack.client("s3"), stack.client("sagemaker")
            models_run = RunIdentity(run_id="bench-batch-models", data_month=MONTH)
            for catalog, model in trained.items():
                tarball = make_tarball(model["model_dir"], work / f"{catalog}-model.tar.gz")
                base = f"bench-batch/{catalog}"
                s3.upload_file(str(tarball), settings.model_bucket, f"{base}/model.tar.gz")
                s3.upload_file(str(model["profile"]), settings.model_bucket, f"{base}/profile.json")
                request = requests.model_request(
                    settings,
                    get_model(catalog),
                    models_run,
                    f"s3://{settings.model_bucket}/{base}/model.tar.gz",
                )
                sagemaker.create_model(**request)
                model["model_name"] = request["ModelName"]
                model["profile_uri"] = f"s3://{settings.model_bucket}/{base}/profile.json"
            for entry in plan:
                entry["model_name"] = trained[entry["catalog"]]["model_name"]
                entry["profile_uri"] = trained[entry["catalog"]]["profile_uri"]
            started = time.perf_counter()
            uploaded = upload_month(s3, settings, work, plan, args.part_items)
            upload_s = time.perf_counter() - started
            print(f"uploaded {args.items} items in {upload_s:.0f} s: {uploaded}", flush=True)
            stack_after_upload_mb = _peak_rss_kb(stack.pid) / 1024
            rss_after_upload_mb = psutil.Process(stack.pid).memory_info().rss / 2**20
            cpu_before = cpu_seconds(stack.pid)
            deadline = time.monotonic() + args.timeout
            with MemorySampler(stack.pid) as memory:
                started = time.perf_counter()
                with ThreadPoolExecutor(max_workers=cores) as pool:
                    ordered = sorted(plan, key=lambda e: -e["items"])
                    per_country = list(
                        pool.map(lambda e: run_country(stack, settings, e, deadline), ordered)
                    )
                wall = time.perf_counter() - started
            e2e_cpu = cpu_seconds(stack.pid) - cpu_before
            rss_end_mb = psutil.Process(stack.pid).memory_info().rss / 2**20
        finally:
            stack.stop()
    raw_cpu = sum(e["items"] / rates[e["catalog"]]["predict_proba_records_per_cpu_s"] for e in plan)
    raw_items_per_s = args.items / (raw_cpu / cores)
    items_per_s = args.items / wall
    results.update(
        {
            "part_items": args.part_items,
            "input": uploaded,
            "per_country": per_country,
            "models": {
                catalog: {
                    "algorithm": m["algorithm"],
                    "training_items": args.training_items,
                    "raw_predict": rates[catalog],
                    "countries": [e["country"] for e in plan if e["catalog"] == catalog],
                }
                for catalog, m in trained.items()
            },
            "upload_wall_s": round(upload_s, 1),
            "end_to_end_wall_s": round(wall, 1),
            "end_to_end_items_per_s": round(items_per_s),
            "raw_predict_items_per_s_on_cores": round(raw_items_per_s),
            "end_to_end_over_raw_predict": round(items_per_s / raw_items_per_s, 3),
            "end_to_end_cpu_s": round(e2e_cpu, 1),
            "raw_predict_cpu_s": round(raw_cpu, 1),
            "cpu_raw_over_end_to_end": round(raw_cpu / e2e_cpu, 3),
            "memory": {
                **memory.by_role(),
                "postprocess_peak_rss_mb_by_job": memory.by_job("postprocess"),
                "inference_worker_peak_rss_mb_by_job": memory.by_job("inference_worker"),
                "stack_peak_rss_mb_after_upload": round(stack_after_upload_mb, 1),
                "stack_rss_mb_after_upload": round(rss_after_upload_mb, 1),
                "stack_rss_mb_at_end": round(rss_end_mb, 1),
            },
        }
    )
    # The five smallest countries' jobs are nearly all fixed cost (server start and stop,
    # process start): what each of the month's 38 job pairs pays whatever its size.
    smallest = sorted(per_country, key=lambda c: c["items"])[:5]
    results["fixed_cost_per_country_s"] = {
        "transform_median": statistics.median(c["transform_s"] for c in smallest),
        "postprocess_median": statistics.median(c["postprocess_s"] for c in smallest),
        "countries": [c["country"] for c in smallest],
    }
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["goal_met"] = results["end_to_end_over_raw_predict"] >= GOAL
    Path(args.result).parent.mkdir(parents=True, exist_ok=True)
    Path(args.result).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({k: v for k, v in results.items() if k != "per_country"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
