"""What the seed's workload costs on SageMaker in a month, projected → bench/results/cost.json.

The workload: 38 countries and 60 models (each country's default model and 22 schemes) with the
countries file's instance choices: the file's enabled default models are cycled over the 38
countries (de, fr, gb, de, ...) and its enabled schemes over the 22 schemes (de-batteries);
3.3M items a month spread evenly, 55,000 per model, both labeled and unlabeled. A model's month:
one train run (prepare, tuning with the model's ``hpo.max_jobs`` training jobs, the final
training), one evaluate run with a champion (four transforms and the evaluate job), one batch
run (transform and postprocess) and its endpoint for the month (730 hours, AWS's month).

Every job is taken from the request the DAGs send for the model (``mlops.sagemaker_requests``):
its instance type, instance count and limit. Two figures per line:

- **ceiling**: every job runs to its limit: the ``StoppingCondition.MaxRuntimeInSeconds`` of
  processing and training jobs (what SageMaker can bill at most; managed spot bills less),
  the DAG's wait budget for transforms (SageMaker has no limit for them: past it the run fails);
- **expected**: per job a billed start-up and wind-down (``OVERHEAD_SECONDS``, assumed: image
  pull, input download, output upload, not measured here) plus the compute ``make bench``
  measured on this 2-core machine (``bench/results/images.json``: training seconds per item,
  batch records per second of one server) for the month's items; processing jobs and the golden
  set's transforms count the overhead only (seconds of compute on 55,000 items). Accelerated
  instances are assumed no faster than these 2 cores, and spot saves nothing: an upper side.

Jobs and endpoints are priced with the instance price table (``mlops.costs``, the code the runs
report with) in each of its regions; a type a region does not price leaves the line's cost
unknown, named. Serverless endpoints bill per request: not projected.

Run: ``.venv/bin/python -m bench.cost`` (a second: no job runs).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops import costs
from mlops import sagemaker_requests as requests
from mlops.config import Model, enabled_models
from mlops.naming import RunIdentity
from mlops.settings import parse_settings

ROOT = Path(__file__).resolve().parent.parent
RESULT = ROOT / "bench" / "results" / "cost.json"
IMAGES_RESULT = ROOT / "bench" / "results" / "images.json"
SETTINGS_FILE = ROOT / "include" / "config" / "settings.local.json"

COUNTRIES = 38
MODELS = 60
ITEMS_PER_MONTH = 3_300_000
HOURS_PER_MONTH = 730
OVERHEAD_SECONDS = 120
TRAIN_SHARE, TEST_SHARE = 0.8, 0.1  # prepare's split: VALIDATION_FRACTION = TEST_FRACTION = 0.1
BENCH_NEURAL_EPOCHS = 5  # bench/images.py trains the neural model with epochs=5
LINES = (
    "prepare",
    "tuning (training jobs)",
    "final training",
    "evaluation transforms",
    "evaluate job",
    "batch transform",
    "postprocess",
    "endpoints (real-time, 730 h)",
)


@dataclass(frozen=True)
class Projected:
    """One job (or endpoint) of one model's month, ``count`` times."""

    line: str
    instance_type: str
    instance_count: int
    ceiling_seconds: int
    expected_seconds: int
    count: int = 1


def workload(models: list[Model]) -> Counter[str]:
    """How many of the 60 models take each enabled model's profile (by model key)."""
    defaults = [m.key for m in models if m.scheme is None]
    schemes = [m.key for m in models if m.scheme is not None] or defaults
    counts: Counter[str] = Counter(defaults[i % len(defaults)] for i in range(COUNTRIES))
    counts.update(schemes[i % len(schemes)] for i in range(MODELS - COUNTRIES))
    return counts


def measured_rates(images: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Training seconds per training item and epoch, batch records per second, by algorithm."""
    rates = {}
    for algorithm in ("linear", "neural"):
        training = images["training"][algorithm]
        epochs = BENCH_NEURAL_EPOCHS if algorithm == "neural" else 1
        server = images["inference"][algorithm]["server_1_worker"]
        rates[algorithm] = {
            # per item and epoch (the linear model makes one pass)
            "training_seconds_per_item_epoch": training["wall_s"] / training["n_train"] / epochs,
            "transform_records_per_second": server["multirecord_records_per_s"],
        }
    return rates


def _processing(line: str, request: dict[str, Any], expected: int) -> Projected:
    cluster = request["ProcessingResources"]["ClusterConfig"]
    return Projected(
        line,
        cluster["InstanceType"],
        cluster["InstanceCount"],
        request["StoppingCondition"]["MaxRuntimeInSeconds"],
        expected,
    )


def _transform(line: str, request: dict[str, Any], budget: int, items: float, rate: float):
    resources = request["TransformResources"]
    count = resources["InstanceCount"]
    compute = items / (rate * count) if items else 0.0
    return Projected(
        line, resources["InstanceType"], count, budget, round(OVERHEAD_SECONDS + compute)
    )


def model_month(settings: Any, model: Model, rates: dict[str, dict[str, float]]) -> list[Any]:
    """The jobs and the endpoint of one model's month, from the requests the DAGs send; a
    serverless endpoint is returned as the text of why it is not projected."""
    run = RunIdentity(run_id="bench__cost", data_month="2026-10", code_version="bench")
    items = ITEMS_PER_MONTH / MODELS
    rate = rates[model.training.algorithm]
    neural = model.training.algorithm == "neural"
    epochs = int(model.training.hyperparameters.get("epochs", "8")) if neural else 1
    per_item = rate["training_seconds_per_item_epoch"] * epochs
    training_expected = round(OVERHEAD_SECONDS + TRAIN_SHARE * items * per_item)
    prepare = requests.prepare_request(settings, model, run)
    tuning = requests.tuning_request(settings, model, run, "s3://b/train/", "s3://b/val/")
    training = requests.training_request(settings, model, run, "s3://b/train/", "s3://b/val/", {})
    jobs: list[Any] = [_processing("prepare", prepare, OVERHEAD_SECONDS)]
    for line, request, count in (
        (
            "tuning (training jobs)",
            tuning["TrainingJobDefinition"],
            tuning["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxNumberOfTrainingJobs"],
        ),
        ("final training", training, 1),
    ):
        resources = request["ResourceConfig"]
        jobs.append(
            Projected(
                line,
                resources["InstanceType"],
                resources["InstanceCount"],
                request["StoppingCondition"]["MaxRuntimeInSeconds"],
                training_expected,
                count,
            )
        )
    budget = model.evaluation.max_runtime_seconds
    for role in ("challenger", "champion"):
        for test_set, test_items in (("test", TEST_SHARE * items), ("golden", 0.0)):
            request = requests.evaluation_transform_request(
                settings,
                model,
                run,
                role=role,
                model_name="m",
                test_features_uri="s3://b/t",
                test_set=test_set,
            )
            jobs.append(
                _transform(
                    "evaluation transforms",
                    request,
                    budget,
                    test_items,
                    rate["transform_records_per_second"],
                )
            )
    evaluate = requests.evaluate_request(
        settings,
        model,
        run,
        challenger_output_uri="s3://b/c/",
        champion_output_uri="s3://b/p/",
        test_labels_uri="s3://b/l",
        golden_challenger_output_uri="s3://b/gc/",
        golden_champion_output_uri="s3://b/gp/",
        golden_labels_uri="s3://b/gl",
    )
    jobs.append(_processing("evaluate job", evaluate, OVERHEAD_SECONDS))
    batch = requests.batch_transform_request(settings, model, run, model_name="m")
    jobs.append(
        _transform(
            "batch transform",
            batch,
            model.batch_inference.max_runtime_seconds,
            items,
            rate["transform_records_per_second"],
        )
    )
    post = requests.postprocess_request(settings, model, run, predictions_uri="s3://b/p/")
    jobs.append(_processing("postprocess", post, OVERHEAD_SECONDS))
    variant = requests.endpoint_config_request(settings, model, run, model_name="m")[
        "ProductionVariants"
    ][0]
    if "ServerlessConfig" in variant:
        jobs.append(
            f"{model.key}: serverless endpoint ({variant['ServerlessConfig']['MemorySizeInMB']} "
            "MB): billed per request and GB-second, not projected"
        )
    else:
        month = HOURS_PER_MONTH * 3600
        jobs.append(
            Projected(
                "endpoints (real-time, 730 h)",
                variant["InstanceType"],
                variant["InitialInstanceCount"],
                month,
                month,
            )
        )
    return jobs


def price(
    projected: list[tuple[Projected, int]], table: costs.PriceTable, region: str
) -> dict[str, Any]:
    """Each line's jobs, instance-hours and cost, expected and ceiling, in ``region``; a line
    with an unpriced type has its cost None, its priced part and the reasons."""
    figures = ("expected", "ceiling")
    lines = {
        line: {
            "jobs": 0,
            **{f"{f}_{unit}": 0.0 for f in figures for unit in ("instance_hours", "usd")},
        }
        for line in LINES
    }
    unknown: dict[str, set[str]] = {line: set() for line in LINES}
    for job, models in projected:
        entry, times = lines[job.line], job.count * models
        entry["jobs"] += times
        for figure in figures:
            usage = costs.JobUsage(
                task_id=job.line,
                kind="projected",
                job=job.line,
                instance_type=job.instance_type,
                instance_count=job.instance_count,
                seconds_per_instance=getattr(job, f"{figure}_seconds"),
            )
            cost = costs.job_cost(usage, table, region)
            entry[f"{figure}_instance_hours"] += times * usage.billable_seconds / 3600
            if cost["estimated_cost_usd"] is None:
                unknown[job.line].add(cost["cost_unknown"].replace(f"{ROOT}/", ""))
            else:
                entry[f"{figure}_usd"] += times * cost["estimated_cost_usd"]
    total: dict[str, Any] = {f"{f}_usd": 0.0 for f in figures}
    for line, entry in lines.items():
        for figure in figures:
            key = f"{figure}_usd"
            entry[f"{figure}_instance_hours"] = round(entry[f"{figure}_instance_hours"], 1)
            entry[key] = round(entry[key], 2)
            total[key] += entry[key]
            if unknown[line]:
                entry[f"priced_part_{key}"], entry[key] = entry[key], None
        if unknown[line]:
            entry["cost_unknown"] = sorted(unknown[line])
    reasons = sorted(set().union(*unknown.values()))
    for figure in figures:
        key = f"{figure}_usd"
        total[key] = round(total[key], 2)
        if reasons:
            total[f"priced_part_{key}"], total[key] = total[key], None
    result: dict[str, Any] = {"lines": lines, "total": total}
    if reasons:
        result["cost_unknown"] = reasons
    return result


def _usd(value: float | None, part: float | None = None) -> str:
    if value is None:
        return f"unknown (priced part {part:,.2f})" if part else "unknown"
    return f"{value:,.2f}"


def table_text(region: str, priced: dict[str, Any]) -> str:
    """The region's projection as a Markdown table."""
    rows = [
        f"Projected monthly SageMaker cost, {MODELS} models, {region} (USD)",
        "",
        "| line | jobs (endpoints) / month | expected instance-h | expected USD "
        "| ceiling instance-h | ceiling USD |",
        "|---|---|---|---|---|---|",
    ]
    for line, entry in priced["lines"].items():
        rows.append(
            f"| {line} | {entry['jobs']} | {entry['expected_instance_hours']:,.1f} "
            f"| {_usd(entry['expected_usd'], entry.get('priced_part_expected_usd'))} "
            f"| {entry['ceiling_instance_hours']:,.1f} "
            f"| {_usd(entry['ceiling_usd'], entry.get('priced_part_ceiling_usd'))} |"
        )
    total = priced["total"]
    rows.append(
        f"| **total** | | | **{_usd(total['expected_usd'], total.get('priced_part_expected_usd'))}"
        f"** | | **{_usd(total['ceiling_usd'], total.get('priced_part_ceiling_usd'))}** |"
    )
    rows += [f"- {reason}" for reason in priced.get("cost_unknown", [])]
    return "\n".join(rows)


def project(
    models: list[Model], table: costs.PriceTable, images: dict[str, Any], settings: Any
) -> dict[str, Any]:
    """The whole projection: workload, assumptions, and per region its lines and totals."""
    counts = workload(models)
    by_key = {m.key: m for m in models}
    rates = measured_rates(images)
    projected: list[tuple[Projected, int]] = []
    serverless: list[str] = []
    for key, number in sorted(counts.items()):
        for job in model_month(settings, by_key[key], rates):
            if isinstance(job, str):
                serverless.append(f"{number} models like {job}")
            else:
                projected.append((job, number))
    regions = {region: price(projected, table, region) for region in sorted(table.regions)}
    for priced in regions.values():
        priced["not_projected"] = serverless
    return {
        "workload": {
            "countries": COUNTRIES,
            "models": MODELS,
            "items_per_month": ITEMS_PER_MONTH,
            "items_per_model": round(ITEMS_PER_MONTH / MODELS),
            "models_per_profile": dict(sorted(counts.items())),
            "hours_per_month": HOURS_PER_MONTH,
        },
        "assumptions": {
            "overhead_seconds_per_job": OVERHEAD_SECONDS,
            "measured_rates": rates,
            "rates_from": "bench/results/images.json (this 2-core machine, CPU)",
            "accelerated_instances": "no faster than the measured CPU",
            "spot_savings": "none assumed",
            "evaluate_runs": "with a champion: four transforms",
        },
        "price_source": table.label,
        "regions": regions,
    }


def main() -> int:
    settings = parse_settings(json.loads(SETTINGS_FILE.read_text()))
    table = costs.load_price_table()
    images = json.loads(IMAGES_RESULT.read_text())
    result = project(enabled_models(), table, images, settings)
    texts = [table_text(region, priced) for region, priced in result["regions"].items()]
    result["tables"] = texts
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2) + "\n")
    for text in texts:
        print(text + "\n")
    for note in next(iter(result["regions"].values()))["not_projected"]:
        print(f"not projected: {note}")
    print(f"prices: {result['price_source']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
