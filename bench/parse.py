"""Parse-time benchmark of the DAG package at the seed's scale → bench/results/parse.json.

The product: dags/ on a generated countries file of 38 countries and 60 models (each country's
default model and 22 schemes; the file's enabled entries and schemes cycled, as bench/cost.py's
workload), 240 DAGs, with the landing queues configured (``[mlops] landing_queue_url_prefix``,
as Terraform sets it on MWAA: train and batch_inference are watched on SQS).

The baseline: 240 bare DAG files, one per product DAG, with the same tasks (ids, operator
classes: the real SageMaker operators, S3 sensor, TaskFlow and human-in-the-loop classes) and
the same dependencies, and nothing of the product (no params, schedule, callbacks, pools,
assets, countries file). Its shape is read from the product's own DagBag, so the two never drift
(``bare_dag_source``; tests/unit/test_bench_parse.py checks the round trip).

Every measurement is a fresh interpreter that imports Airflow and the provider modules of those
operator classes first, then times what is asked of it, as wall and process CPU time (other jobs
on a shared machine inflate CPU time less). Rounds interleave the measurements. Figures:

- ``dagbag_ratio``: product DagBag ÷ baseline DagBag (medians), goal ≤ 1.5;
- ``single_dag_s``: what a worker parses before it runs a task: one DAG file with Airflow's
  parsing context set to one DAG id and task id (``_airflow_parsing_context_manager`` and a
  ``BundleDagBag`` of the file, as ``airflow.sdk.execution_time.task_runner`` does), per DAG
  kind; the slowest kind's median is held to 0.15 s.

Run: ``.venv/bin/python -m bench.parse [--repeats N]``.
"""

from __future__ import annotations

import argparse
import copy
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DAGS = ROOT / "dags"
COUNTRIES_FILE = ROOT / "include" / "config" / "countries.yaml"
COUNTRIES = 38
MODELS = 60
REPEATS = 5
GOAL_DAGBAG_RATIO = 1.5
GOAL_SINGLE_DAG_S = 0.15
# As Terraform sets it on MWAA (mlops.events): the landing assets get their SQS watchers.
LETTERS = "abcdefghijklmnopqrstuvwxyz"
QUEUE_URL_PREFIX = "https://sqs.eu-central-1.amazonaws.com/123456789012/mlops-dev-landing-"

# Imports Airflow and the providers (argv[3]: module names), then parses argv[2] as argv[1] asks:
# "dagbag" (a DagBag of a folder) or "worker:<dag_id>:<task_id>" (one file, as a worker does).
MEASURE = r"""
import json, sys, time
mode, target, modules = sys.argv[1], sys.argv[2], [m for m in sys.argv[3].split(",") if m]
t0, c0 = time.perf_counter(), time.process_time()
import gc, importlib
import airflow, airflow.sdk
from airflow.sdk import DAG, task
from airflow.dag_processing.dagbag import BundleDagBag, DagBag
from airflow.sdk.definitions._internal.dag_parsing_context import _airflow_parsing_context_manager
for module in modules:
    importlib.import_module(module)
# As Airflow's DAG processor does before it forks its file processors: the collector never
# rescans the modules imported so far (a full collection of them would land on the parse).
gc.freeze()
t1, c1 = time.perf_counter(), time.process_time()
if mode == "dagbag":
    bag = DagBag(target)
else:
    _, dag_id, task_id = mode.split(":")
    with _airflow_parsing_context_manager(dag_id=dag_id, task_id=task_id):
        bag = BundleDagBag(target, safe_mode=False, load_op_links=False,
                           bundle_path=sys.argv[4], bundle_name="dags-folder")
t2, c2 = time.perf_counter(), time.process_time()
print(json.dumps({"import_s": t1 - t0, "import_cpu_s": c1 - c0,
                  "parse_s": t2 - t1, "parse_cpu_s": c2 - c1,
                  "dag_ids": sorted(bag.dag_ids),
                  "errors": {str(k): v for k, v in bag.import_errors.items()}}))
"""

# The product's DagBag → each DAG's tasks: id, the Airflow class it is built on, upstream ids.
SHAPES = r"""
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(sys.argv[1])
if bag.import_errors:
    sys.exit(f"import errors: {bag.import_errors}")

def airflow_class(task):
    # The first class of its MRO that is not the product's (mlops.approval's HITL subclass).
    for cls in type(task).__mro__:
        if not cls.__module__.split(".")[0] == "mlops":
            return f"{cls.__module__}.{cls.__qualname__}"

print(json.dumps({
    dag_id: {"file": dag.fileloc.rsplit("/", 1)[-1], "tasks": [
        {"task_id": t.task_id, "class": airflow_class(t), "upstream": sorted(t.upstream_task_ids)}
        for t in dag.tasks]}
    for dag_id, dag in sorted(bag.dags.items())
}))
"""


def sixty_models(path: Path, source: Path = COUNTRIES_FILE) -> Path:
    """A countries file of 38 countries and 60 models from ``source``'s enabled profiles.

    Countries cycle through the enabled entries (codes aa, ab, ...); the 22 schemes cycle through
    the schemes of those entries, each on a copy of its own entry (a second pass names them
    ``<scheme>2``), so every model is one of the file's enabled models under another code.
    """
    entries = yaml.safe_load(source.read_text())["countries"]
    profiles = [entry for entry in entries if entry.get("enabled", True)]
    if not any(profile.get("schemes") for profile in profiles):
        raise ValueError(f"{source}: no enabled entry has schemes to make 60 models from")
    countries = []
    for i in range(COUNTRIES):
        country = copy.deepcopy(profiles[i % len(profiles)])
        country["code"] = LETTERS[i // 26] + LETTERS[i % 26]
        for field in ("enabled", "data_prefix"):
            country.pop(field, None)
        countries.append((country, country.pop("schemes", None) or {}))
    schemes, round_ = MODELS - COUNTRIES, 1
    while schemes:
        for country, offered in countries:
            for name, overrides in offered.items():
                if schemes:
                    own = name if round_ == 1 else f"{name}{round_}"
                    country.setdefault("schemes", {})[own] = copy.deepcopy(overrides)
                    schemes -= 1
        round_ += 1
    for country, _ in countries:
        _own_alarms(country, country["code"])
        for scheme, overrides in (country.get("schemes") or {}).items():
            _own_alarms(overrides, f"{country['code']}-{scheme}")
    path.write_text(yaml.safe_dump({"countries": [country for country, _ in countries]}))
    return path


def _own_alarms(entry: dict, key: str) -> None:
    """Suffix the rollback alarms an entry names with its model's key: an alarm watches one
    endpoint, so the copies of one profile may not share its alarm names."""
    for alarm in (entry.get("endpoint") or {}).get("rollback_alarms") or []:
        alarm["name"] = f"{alarm['name']}-{key}"


# How a bare DAG builds a task of each class: a TaskFlow decorator, or the class with the fewest
# arguments it takes. A class missing here fails the bench (and its test), naming it.
TASKFLOW = {
    "airflow.providers.standard.decorators.python._PythonDecoratedOperator": "task",
    "airflow.providers.standard.decorators.short_circuit._ShortCircuitDecoratedOperator": (
        "task.short_circuit"
    ),
}
BARE_ARGUMENTS = {
    "airflow.providers.amazon.aws.operators.sagemaker.SageMakerBaseOperator": "config={}",
    "airflow.providers.amazon.aws.sensors.s3.S3KeySensor": "bucket_key='s3://bucket/key'",
    "airflow.providers.standard.operators.hitl.HITLOperator": (
        "subject='approve?', options=['Approve', 'Reject']"
    ),
}


def _split(path: str) -> tuple[str, str]:
    module, _, name = path.rpartition(".")
    return module, name


def _bare_arguments(path: str) -> str:
    module, name = _split(path)
    cls = getattr(importlib.import_module(module), name)
    for base in cls.__mro__:
        found = BARE_ARGUMENTS.get(f"{base.__module__}.{base.__qualname__}")
        if found is not None:
            return found
    raise ValueError(
        f"bench.parse: no bare form for operator class {path}: add it to BARE_ARGUMENTS"
    )


def provider_modules(shapes: Mapping[str, Any]) -> list[str]:
    """The modules of every operator class the DAGs use (imported before any timing)."""
    return sorted({_split(t["class"])[0] for dag in shapes.values() for t in dag["tasks"]})


def bare_dag_source(dag_id: str, tasks: list[Mapping[str, Any]]) -> str:
    """A DAG file that builds ``dag_id`` with these tasks and dependencies and nothing else."""
    imports: dict[str, set[str]] = {}
    for t in tasks:
        if t["class"] not in TASKFLOW:
            module, name = _split(t["class"])
            imports.setdefault(module, set()).add(name)
    lines = ["from airflow.sdk import DAG, task"]
    lines += [f"from {m} import {', '.join(sorted(imports[m]))}" for m in sorted(imports)]
    lines += ["", f"with DAG(dag_id={dag_id!r}, schedule=None):"]
    names = {t["task_id"]: f"t{i}" for i, t in enumerate(tasks)}
    for t in tasks:
        name = names[t["task_id"]]
        if t["class"] in TASKFLOW:
            lines += [
                f"    @{TASKFLOW[t['class']]}(task_id={t['task_id']!r})",
                f"    def {name}():",
                "        return None",
                f"    {name} = {name}()",
            ]
        else:
            arguments = _bare_arguments(t["class"])
            lines.append(
                f"    {name} = {_split(t['class'])[1]}(task_id={t['task_id']!r}, {arguments})"
            )
    for t in tasks:
        if t["upstream"]:
            upstream = ", ".join(names[u] for u in t["upstream"])
            lines.append(f"    {names[t['task_id']]}.set_upstream([{upstream}])")
    return "\n".join(lines) + "\n"


def write_baseline(shapes: Mapping[str, Any], folder: Path) -> Path:
    """One bare DAG file per product DAG under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for dag_id, dag in shapes.items():
        (folder / f"{dag_id}.py").write_text(bare_dag_source(dag_id, dag["tasks"]))
    return folder


def dag_shapes(folder: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """Each DAG's tasks (id, Airflow class, upstream ids), from a DagBag of ``folder`` parsed in
    a fresh interpreter (dags/: the product's, on the countries file ``env`` names)."""
    out = _python(["-c", SHAPES, str(folder)], env)
    return json.loads(out.splitlines()[-1])


def _python(args: list[str], env: Mapping[str, str]) -> str:
    proc = subprocess.run(
        [sys.executable, *args], env=dict(env), capture_output=True, text=True, timeout=600
    )
    if proc.returncode != 0:
        raise RuntimeError(f"bench.parse: {args[:1]} failed:\n{proc.stderr[-4000:]}")
    return proc.stdout


def measure(mode: str, target: Path, modules: Iterable[str], env: Mapping[str, str]) -> dict:
    out = _python(["-c", MEASURE, mode, str(target), ",".join(modules), str(DAGS)], env)
    result = json.loads(out.strip().splitlines()[-1])
    if result["errors"]:
        raise RuntimeError(f"bench.parse: {mode} of {target}: import errors {result['errors']}")
    return result


def single_dag_targets(shapes: Mapping[str, Any]) -> dict[str, tuple[str, str, str]]:
    """Per DAG kind: (file, dag id, task id) of the kind's DAG with the most tasks (the first
    one of that size), and its first task."""
    chosen: dict[str, tuple[str, str, str]] = {}
    sizes: dict[str, int] = {}
    for dag_id, dag in shapes.items():
        kind = dag_id.split("__")[0]
        if len(dag["tasks"]) > sizes.get(kind, 0):
            sizes[kind] = len(dag["tasks"])
            chosen[kind] = (dag["file"], dag_id, dag["tasks"][0]["task_id"])
    return chosen


def _median(runs: list[dict], key: str) -> float:
    return round(statistics.median(run[key] for run in runs), 4)


def _figures(runs: list[dict]) -> dict[str, float]:
    return {
        "parse_s": _median(runs, "parse_s"),
        "parse_cpu_s": _median(runs, "parse_cpu_s"),
        "import_s": _median(runs, "import_s"),
    }


def run(repeats: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-parse-") as tmp:
        countries = sixty_models(Path(tmp) / "countries.yaml")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_VAR")},
            "AIRFLOW_HOME": tmp,
            "AIRFLOW__MLOPS__LANDING_QUEUE_URL_PREFIX": QUEUE_URL_PREFIX,
            "MLOPS_COUNTRIES_FILE": str(countries),
            "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT)]),
            # Bytecode cached (as an installed package and a DAG processor have it), in the
            # temporary folder: every measurement after the first loads it instead of compiling.
            "PYTHONPYCACHEPREFIX": str(Path(tmp) / "pycache"),
        }
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        shapes = dag_shapes(DAGS, env)
        modules = provider_modules(shapes)
        baseline = write_baseline(shapes, Path(tmp) / "baseline")
        singles = single_dag_targets(shapes)
        measure("dagbag", baseline, modules, env)  # compiles the baseline: not a figure
        runs: dict[str, list[dict]] = {"product": [], "baseline": []}
        runs.update({kind: [] for kind in singles})
        for round_ in range(repeats):
            order = ["product", "baseline"] if round_ % 2 == 0 else ["baseline", "product"]
            for what in [*order, *singles]:
                if what == "product":
                    result = measure("dagbag", DAGS, modules, env)
                elif what == "baseline":
                    result = measure("dagbag", baseline, modules, env)
                else:
                    file, dag_id, task_id = singles[what]
                    result = measure(f"worker:{dag_id}:{task_id}", DAGS / file, modules, env)
                    if result["dag_ids"] != [dag_id]:
                        raise RuntimeError(f"bench.parse: {file} for {dag_id}: {result['dag_ids']}")
                runs[what].append(result)
            print(f"round {round_ + 1}/{repeats} done", file=sys.stderr, flush=True)

    for what in ("product", "baseline"):
        if runs[what][0]["dag_ids"] != sorted(shapes):
            raise RuntimeError(f"bench.parse: the {what} DagBag has other DAGs than the product")
    product, bare = _figures(runs["product"]), _figures(runs["baseline"])
    single = {
        kind: {"dag_id": singles[kind][1], "task_id": singles[kind][2], **_figures(runs[kind])}
        for kind in singles
    }
    slowest = max(single, key=lambda kind: single[kind]["parse_s"])
    result: dict[str, Any] = {
        "countries": COUNTRIES,
        "models": MODELS,
        "dags": len(shapes),
        "tasks": sum(len(dag["tasks"]) for dag in shapes.values()),
        "repeats": repeats,
        "provider_modules": modules,
        "airflow_and_providers_import_s": _median(
            [r for rs in runs.values() for r in rs], "import_s"
        ),
        "product_dagbag": product,
        "baseline_dagbag": bare,
        "dagbag_ratio": round(product["parse_s"] / bare["parse_s"], 3),
        "dagbag_cpu_ratio": round(product["parse_cpu_s"] / bare["parse_cpu_s"], 3),
        "dagbag_ratio_goal": GOAL_DAGBAG_RATIO,
        "single_dag": single,
        "single_dag_slowest_kind": slowest,
        "single_dag_s": single[slowest]["parse_s"],
        "single_dag_cpu_s": max(figures["parse_cpu_s"] for figures in single.values()),
        "single_dag_goal_s": GOAL_SINGLE_DAG_S,
        "cpu_count": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    result["within_goal"] = {
        "dagbag_ratio": result["dagbag_ratio"] <= GOAL_DAGBAG_RATIO,
        "dagbag_cpu_ratio": result["dagbag_cpu_ratio"] <= GOAL_DAGBAG_RATIO,
        "single_dag": result["single_dag_s"] <= GOAL_SINGLE_DAG_S,
        "single_dag_cpu": result["single_dag_cpu_s"] <= GOAL_SINGLE_DAG_S,
    }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=REPEATS, help="rounds (medians of them)")
    args = parser.parse_args(argv)
    result = run(args.repeats)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "parse.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
