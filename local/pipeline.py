"""The local environment the demo, the end-to-end tests and the benchmark share.

`LocalEnvironment` starts the local AWS + SageMaker stack and a Slack webhook sink, creates the
resources the DAGs expect (local/provision.py), writes one countries file per month (the
code-table version follows the regulation change), generates and uploads a demo catalog for every
model of the chosen countries (a model is a country's default model or one of its schemes: ``de``,
``de-batteries``) and prepares an Airflow metadata DB. `run()` then runs DAGs for one model in a
worker process:

    python -m local.pipeline --model de-batteries --plan '[{"month": ..., "steps": [...]}]' \
        --result f

The worker runs its plan's DAGs in order with `dag.test()` (Airflow's embedded mode, SQLite) in
one process, so Airflow starts once per model.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from mlops.config import DAG_KINDS, Model, enabled_models, get_model, merge_scheme
from mlops.events import QUEUE_URL_PREFIX_ENV

from local.airflow_env import REPO_ROOT, airflow_environ, migrate

COUNTRIES_FILE = REPO_ROOT / "include" / "config" / "countries.yaml"
# Two CPU cores run every model's jobs locally: the demo and the end-to-end tests tune with two
# trials per model and bake a canary for 5 s instead of the countries file's budget and waits,
# which apply on AWS unchanged. (Fewer neural epochs were tried: with two random trials a low
# learning-rate draw then misses the 0.6 floor, and the country rightly gets no champion.)
LOCAL_HPO_BUDGET = {"training": {"hpo": {"max_jobs": 2, "max_parallel_jobs": 2}}}
LOCAL_CANARY = {"wait_seconds": 5, "termination_wait_seconds": 0}


def local_training_budget(entry: dict) -> dict:
    """The local budget for one model's countries-file fields (see LOCAL_HPO_BUDGET)."""
    budget = {"training": dict(LOCAL_HPO_BUDGET["training"])}
    if entry.get("endpoint", {}).get("canary"):
        budget["endpoint"] = {"canary": LOCAL_CANARY}
    return budget


_PRINT_LOCK = threading.Lock()


def say(message: str) -> None:
    with _PRINT_LOCK:
        print(message, flush=True)


def next_month(month: str) -> str:
    year, mon = map(int, month.split("-"))
    return f"{year + 1}-01" if mon == 12 else f"{year}-{mon + 1:02d}"


def return_value(outcome: dict[str, Any], task_id: str) -> Any:
    return outcome.get("xcoms", {}).get(task_id, {}).get("return_value")


# --------------------------------------------------------------------------------------------
# The worker process.
# --------------------------------------------------------------------------------------------


def dag_runs(model: Model, steps: list[str] | tuple[str, ...]) -> list[tuple[str, str]]:
    """(kind, DAG id) for each step of one model's month, in order; unknown kinds are refused."""
    return [(kind, model.dag_id(kind)) for kind in steps]


def run_steps(
    model: Model, month: str, steps: list[str], challenger: str | None, retries: int | None
) -> list[dict[str, Any]]:
    """Run ``steps`` (DAG kinds) for one model and month, stopping at the first failure.

    evaluate takes the challenger that train registered in this plan, else ``challenger``.
    """
    from local.run_dag import run

    outcomes: list[dict[str, Any]] = []
    confs: dict[str, dict[str, Any]] = {
        "train": {"data_month": month},
        "evaluate": {"model_package_arn": challenger or ""},
        "deploy": {},
        "batch_inference": {"data_month": month},
    }
    for kind, dag_id in dag_runs(model, steps):
        say(f"[{model.key}] {month} {dag_id} started")
        outcome = run(dag_id, confs[kind], retries) | {"month": month, "kind": kind}
        outcomes.append(outcome)
        failed = sorted(
            task for task, info in outcome.get("tasks", {}).items() if info["state"] == "failed"
        )
        detail = f" (failed: {', '.join(failed)})" if failed else ""
        say(
            f"[{model.key}] {month} {dag_id} {outcome['state']} in {outcome.get('seconds')} s"
            f"{detail}"
        )
        if outcome["state"] != "success":
            break
        if kind == "train":
            registered = return_value(outcome, "register_model_version")
            confs["evaluate"]["model_package_arn"] = registered["model_package_arn"]
    return outcomes


def worker_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.pipeline")
    parser.add_argument("--model", required=True, help="model key: de, de-batteries, ...")
    parser.add_argument("--plan", required=True, help="JSON list of {month, countries_file, steps}")
    parser.add_argument("--result", required=True)
    parser.add_argument("--retries", type=int, help="override every task's retries")
    args = parser.parse_args(argv)
    outcomes: list[dict[str, Any]] = []
    for entry in json.loads(args.plan):
        # Each month names its own countries file; DAG files and tasks read it at parse/run time.
        os.environ["MLOPS_COUNTRIES_FILE"] = entry["countries_file"]
        month_outcomes = run_steps(
            get_model(args.model, Path(entry["countries_file"])),
            entry["month"],
            entry.get("steps", list(DAG_KINDS)),
            entry.get("challenger"),
            args.retries,
        )
        outcomes += month_outcomes
        Path(args.result).write_text(json.dumps(outcomes, indent=2, default=str))
        if not month_outcomes or any(o["state"] != "success" for o in month_outcomes):
            return 1
    return 0


# --------------------------------------------------------------------------------------------
# The environment, driven from the calling process.
# --------------------------------------------------------------------------------------------


@dataclass
class ModelRun:
    """What one model's worker did: its DAG outcomes in order, and why it failed if it did."""

    model: str  # the model key: de, de-batteries
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    log: Path | None = None

    def last(self, kind: str) -> dict[str, Any] | None:
        found = [o for o in self.outcomes if o.get("kind") == kind]
        return found[-1] if found else None

    @property
    def ok(self) -> bool:
        return self.error is None and all(o["state"] == "success" for o in self.outcomes)


def write_countries_file(
    path: Path,
    countries: list[str],
    code_table_version: str,
    overrides: dict | Callable[[dict], dict] | None = None,
) -> Path:
    """The default countries file restricted to ``countries``, with the month's code table.

    Every model of a chosen country runs: its default model and each of its schemes, all on the
    month's code-table version. ``overrides`` (a dict, or a function of a model's fields giving
    one — e.g. the local training budget) applies to every model: merged into each country entry,
    and into each scheme where the scheme sets the value itself (what it does not set it inherits
    from its entry, which has the change already).
    """
    document = yaml.safe_load(COUNTRIES_FILE.read_text())
    wanted = set(countries)
    unknown = wanted - {entry["code"] for entry in document["countries"]}
    if unknown:
        raise SystemExit(f"countries {sorted(unknown)} are not in {COUNTRIES_FILE}")

    def changes_for(fields: dict) -> dict:
        return (overrides(fields) if callable(overrides) else overrides) or {}

    for entry in document["countries"]:
        entry["enabled"] = entry["code"] in wanted
        entry["code_table_version"] = code_table_version
        schemes = entry.get("schemes") or {}
        for scheme in schemes.values():
            scheme["code_table_version"] = code_table_version
            if not entry["enabled"]:
                scheme["enabled"] = False
        scheme_changes = {
            name: changes_for(merge_scheme(entry, scheme)) for name, scheme in schemes.items()
        }
        _merge(entry, changes_for(entry))
        for name, scheme in schemes.items():
            _merge_where_set(scheme, scheme_changes[name])
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def _merge(target: dict, changes: dict) -> None:
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


def _merge_where_set(scheme: dict, changes: dict) -> None:
    """Merge ``changes`` into a scheme's own fields, only at the values the scheme sets.

    A scheme's section merges with its entry's key by key, and a value inside a section replaces
    the inherited one whole: a change merged into a value the scheme does not set would drop the
    rest of what it inherits (e.g. a training budget without the entry's hyperparameter ranges).
    """
    for key, value in changes.items():
        if key not in scheme:
            continue
        own = scheme[key]
        if isinstance(value, dict) and isinstance(own, dict):
            _merge(own, {inner: v for inner, v in value.items() if inner in own})
        else:
            scheme[key] = value


def upload_tree(
    s3,
    local_root: Path,
    bucket: str,
    kms_key_arn: str,
    include: Callable[[Path], bool] | None = None,
) -> int:
    """Upload every file under ``local_root`` (those ``include`` admits, relative paths) with its
    path as the key, KMS-encrypted; returns how many."""
    count = 0
    for path in sorted(local_root.rglob("*")):
        if path.is_file() and (include is None or include(path.relative_to(local_root))):
            s3.upload_file(
                str(path),
                bucket,
                path.relative_to(local_root).as_posix(),
                ExtraArgs={"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_arn},
            )
            count += 1
    return count


def _reference_data(path: Path) -> bool:
    """A model's code tables and golden sets (``<prefix>/golden/<version>/``), not a month."""
    return "code_tables" in path.parts or "golden" in path.parts


class LocalEnvironment:
    """Stack + Slack sink + resources + data + Airflow DB, ready for `run()`."""

    def __init__(
        self,
        workdir: Path,
        countries: list[str],
        months: list[str],
        items: int,
        *,
        seed: int = 0,
        regulation_change_from: str | None = None,
        country_overrides: dict | Callable[[dict], dict] | None = None,
        on_slack: Callable[[dict[str, Any]], None] | None = None,
        upload: bool = True,
    ):
        self.workdir = Path(workdir).resolve()
        self.countries = countries
        self.months = months
        self.items = items
        self.seed = seed
        self.regulation_change_from = regulation_change_from or (
            months[1] if len(months) > 1 else None
        )
        self.country_overrides = country_overrides
        self.on_slack = on_slack
        # False: only the code tables go up now; each month lands later through `land`
        # (files, then the _SUCCESS marker that starts its DAG through the landing queues).
        self.upload = upload
        self.countries_files: dict[str, Path] = {}
        self.models: list[Model] = []  # the chosen countries' enabled models, in file order
        self._workers: list[subprocess.Popen] = []

    def __enter__(self) -> LocalEnvironment:
        from local.demodata import code_table_version, generate_month
        from local.provision import load_local_settings, provision, provision_landing
        from local.slack_sink import SlackSink
        from local.stack import LocalStack

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the stack's per-request lines
        shutil.rmtree(self.workdir, ignore_errors=True)
        for sub in ("results", "logs", "reports", "airflow", "data"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        self.sink = SlackSink(on_message=self.on_slack).start()
        self.stack = LocalStack(port=0, workdir=self.workdir / "stack").start()
        try:
            self.settings = provision(self.stack.client, load_local_settings())
            for month in self.months:
                version = code_table_version(month, self.regulation_change_from)
                self.countries_files[month] = write_countries_file(
                    self.workdir / f"countries-{month}.yaml",
                    self.countries,
                    version,
                    self.country_overrides,
                )
            # Every month's file has the same models; only the code-table version differs.
            self.models = enabled_models(self.countries_files[self.months[0]])
            self.landing_queue_url_prefix = provision_landing(
                self.stack.client, self.settings, self.models
            )
            for model in self.models:
                for month in self.months:
                    generate_month(
                        self.workdir / "data",
                        model.country,
                        month,
                        self.items,
                        scheme=model.scheme,
                        prefix=model.prefix,
                        seed=self.seed,
                        regulation_change_from=self.regulation_change_from,
                    )
            self.uploaded_files = upload_tree(
                self.stack.client("s3"),
                self.workdir / "data",
                self.settings["data_bucket"],
                self.settings["kms_key_arn"],
                # Code tables and golden sets are reference data, there before any month lands.
                include=None if self.upload else _reference_data,
            )
            self.env = airflow_environ(
                self.workdir / "airflow" / "template",
                self.stack.environ(),
                self.settings,
                self.sink.url,
            )
            self.env[QUEUE_URL_PREFIX_ENV] = self.landing_queue_url_prefix
            migrate(self.env)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        for worker in self._workers:  # interrupted: no worker may outlive the stack it talks to
            if worker.poll() is None:
                worker.terminate()
                try:
                    worker.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    worker.kill()
        self.stack.stop()
        self.sink.stop()

    def land(self, month: str, data_kind: str, models: list[Model] | None = None) -> list[str]:
        """What an upstream system does when a month is ready: upload each model's files of
        ``month`` and ``data_kind``, then its ``_SUCCESS`` marker last. Returns the markers."""
        from mlops.events import marker_key

        s3 = self.stack.client("s3")
        markers = []
        for model in models or self.models:
            directory = Path(model.prefix) / month / data_kind

            def in_month(path: Path, directory: Path = directory) -> bool:
                return path.parent == directory

            upload_tree(
                s3,
                self.workdir / "data",
                self.settings["data_bucket"],
                self.settings["kms_key_arn"],
                include=in_month,
            )
            key = marker_key(model, month, data_kind)
            s3.put_object(
                Bucket=self.settings["data_bucket"],
                Key=key,
                Body=b"",
                ServerSideEncryption="aws:kms",
                SSEKMSKeyId=self.settings["kms_key_arn"],
            )
            markers.append(key)
        return markers

    def plan(self, month: str, steps: list[str] | tuple[str, ...] = DAG_KINDS, **extra) -> dict:
        """One month of a worker's plan: its DAG kinds, run against the month's countries file."""
        return {
            "month": month,
            "countries_file": str(self.countries_files[month]),
            "steps": list(steps),
            **extra,
        }

    def start(
        self, model: str, plan: list[dict], *, name: str | None = None, retries: int | None = None
    ) -> tuple[subprocess.Popen, Path, Path]:
        """Start a worker for one model (by key); its own Airflow home (a copy of the migrated
        DB) is kept per name (default: the model key)."""
        name = name or model
        home = self.workdir / "airflow" / name
        if not home.exists():
            shutil.copytree(self.workdir / "airflow" / "template", home)
        result_file = self.workdir / "results" / f"{name}.json"
        result_file.unlink(missing_ok=True)
        log_file = self.workdir / "logs" / f"{name}.log"
        command = [sys.executable, "-m", "local.pipeline", "--model", model]
        command += ["--plan", json.dumps(plan), "--result", str(result_file)]
        if retries is not None:
            command += ["--retries", str(retries)]
        log = log_file.open("a")
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command,
            cwd=REPO_ROOT,
            env=self.env
            | {
                "AIRFLOW_HOME": str(home),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            },
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self._workers.append(proc)
        return proc, result_file, log_file

    @staticmethod
    def collect(
        model: str,
        proc: subprocess.Popen,
        result_file: Path,
        log_file: Path,
        *,
        follow: bool = False,
    ) -> ModelRun:
        """Wait for a worker; with ``follow``, echo its progress lines (``[key] ...``) meanwhile."""
        if follow:
            with log_file.open() as log:
                while True:
                    line = log.readline()
                    if line:
                        if line.startswith(f"[{model}] "):
                            say(line.rstrip())
                    elif proc.poll() is not None:
                        break
                    else:
                        time.sleep(0.5)
        returncode = proc.wait()
        result = ModelRun(model, log=log_file)
        if result_file.exists():
            result.outcomes = json.loads(result_file.read_text())
        if returncode != 0:
            result.error = f"a DAG run failed (log: {log_file})"
        return result

    def run(self, model: str, plan: list[dict], *, follow: bool = False, **kwargs) -> ModelRun:
        """Run one model's plan in a worker and wait for it (see `start` and `collect`)."""
        return self.collect(model, *self.start(model, plan, **kwargs), follow=follow)


if __name__ == "__main__":
    sys.exit(worker_main())
