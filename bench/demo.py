"""Demo benchmark: `make demo` (every model of DE, FR, GB — 4 models — x 2 months, on Airflow's
real components) and what the orchestration costs around the SageMaker work.

Figures, all from the run's own records (the demo's summary.json, the jobs' times as SageMaker
describes them, the task and trigger logs Airflow wrote):

- **wall ÷ critical path**: the demo's wall time over the critical path of its SageMaker jobs. A
  model's jobs in a month form one chain (prepare → tuning → training → transforms → evaluate →
  batch transform → postprocess; the two evaluation transforms run side by side), and the months
  follow each other, so the critical path is, per month, the longest union of one model's job
  intervals, summed over the months. Endpoint creation and updates are not jobs: they count as
  orchestration here.
- **worker-slot seconds ÷ job-wait seconds**: for every deferred SageMaker task, the seconds its
  LocalExecutor worker held a slot (its task log's lines before the deferral and after the resume)
  over the seconds the triggerer waited for the job (its trigger log).
- **marker → train running**: seconds from a month's labeled ``_SUCCESS`` upload to the start of
  the train run it caused (the watcher's poll, the scheduler's loop, a worker's start).

    .venv/bin/python -m bench.demo      writes bench/results/demo.json
"""

from __future__ import annotations

import json
import statistics
import time
from datetime import datetime
from pathlib import Path

from local.demo import main as demo_main

ROOT = Path(__file__).resolve().parent.parent
RESULT = ROOT / "bench" / "results" / "demo.json"
WORKDIR = ROOT / ".local-stack" / "bench-demo"
OVERHEAD_GOAL = 1.2
SLOT_SHARE_GOAL = 0.10
LATENCY_GOAL_SECONDS = 30.0


def _t(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def union_seconds(intervals: list[tuple[datetime, datetime]]) -> float:
    """The length of the union of time intervals."""
    total, end = 0.0, None
    for start, stop in sorted(intervals):
        if end is None or start > end:
            total += (stop - start).total_seconds()
            end = stop
        elif stop > end:
            total += (stop - end).total_seconds()
            end = stop
    return total


def critical_path(jobs: list[dict], months: list[tuple[datetime, datetime]], keys: list[str]):
    """Σ over months of max over models of the union of that model's job intervals (a job
    belongs to the model whose key its name carries: ``<prefix>-<key>-<kind>-<digest>``; the
    longest key that matches wins, so ``de-batteries`` jobs are not ``de``'s)."""
    per_month = []
    for begin, finish in months:
        by_model: dict[str, list[tuple[datetime, datetime]]] = {}
        for job in jobs:
            if not job["start"] or not job["end"]:
                continue
            start, end = _t(job["start"]), _t(job["end"])
            if not begin <= start < finish:
                continue
            owner = max((k for k in keys if f"-{k}-" in job["name"]), key=len, default=None)
            if owner is not None:
                by_model.setdefault(owner, []).append((start, end))
        per_month.append(max((union_seconds(v) for v in by_model.values()), default=0.0))
    return sum(per_month), per_month


def _lines(path: Path) -> list[tuple[datetime, dict]]:
    out = []
    for raw in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(raw)
            out.append((_t(record["timestamp"]), record))
        except (ValueError, KeyError, TypeError):
            continue
    return out


def slot_and_wait(task_logs: Path) -> tuple[float, float, int]:
    """(worker-slot seconds, job-wait seconds, deferred tasks) over every attempt log that has a
    trigger log (``attempt=N.log.trigger.M.log``) next to it."""
    slot = wait = 0.0
    count = 0
    for trigger_log in sorted(task_logs.rglob("attempt=*.log.trigger.*.log")):
        attempt_log = trigger_log.with_name(trigger_log.name.split(".trigger.")[0])
        trigger_lines, task_lines = _lines(trigger_log), _lines(attempt_log)
        if not trigger_lines or not task_lines:
            continue
        waited_from, waited_to = trigger_lines[0][0], trigger_lines[-1][0]
        before = [t for t, _ in task_lines if t <= waited_from]
        after = [t for t, _ in task_lines if t >= waited_to]
        if not before:
            continue
        count += 1
        wait += (waited_to - waited_from).total_seconds()
        slot += (before[-1] - before[0]).total_seconds()
        if after:
            slot += (after[-1] - after[0]).total_seconds()
    return slot, wait, count


def marker_latencies(summary: dict) -> list[float]:
    """Seconds from each labeled marker to the start of the train run that trained its month."""
    latencies = []
    runs = [
        r
        for r in summary["timeline"]
        if r["dag_id"].startswith("train__") and r["start_at"] and "skipped" not in r["state"]
    ]
    for landed in summary["landed"]:
        if landed["kind"] != "labeled":
            continue
        key = landed["model"].replace("-", "__")
        at = _t(landed["at"])
        starts = [
            _t(r["start_at"])
            for r in runs
            if r["dag_id"] == f"train__{key}" and _t(r["start_at"]) >= at
        ]
        if starts:
            latencies.append((min(starts) - at).total_seconds())
    return latencies


def main() -> int:
    started = time.monotonic()
    exit_code = demo_main(["--workdir", str(WORKDIR)])
    wall = time.monotonic() - started
    summary = json.loads((WORKDIR / "summary.json").read_text())
    keys = [row["key"] for row in summary["models"]]
    labeled = sorted(_t(item["at"]) for item in summary["landed"] if item["kind"] == "labeled")
    months = len(labeled) // max(1, len(keys))
    boundaries = [labeled[i * len(keys)] for i in range(months)]
    windows = list(
        zip(
            boundaries,
            [*boundaries[1:], datetime.max.replace(tzinfo=labeled[0].tzinfo)],
            strict=True,
        )
    )
    path, per_month = critical_path(summary["jobs"], windows, keys)
    slot, wait, deferred = slot_and_wait(Path(summary["task_logs"]))
    latencies = marker_latencies(summary)
    result = {
        "models_x_months": f"{len(keys)} x {months}",
        "demo_exit_code": exit_code,
        "wall_seconds": round(wall, 1),
        "demo_seconds": round(summary["seconds"], 1),
        "sagemaker_jobs": len(summary["jobs"]),
        "critical_path_seconds": round(path, 1),
        "critical_path_per_month_seconds": [round(x, 1) for x in per_month],
        "wall_over_critical_path": round(summary["seconds"] / path, 2) if path else None,
        "wall_over_critical_path_goal": OVERHEAD_GOAL,
        "deferred_tasks": deferred,
        "worker_slot_seconds": round(slot, 1),
        "job_wait_seconds": round(wait, 1),
        "slot_over_wait": round(slot / wait, 3) if wait else None,
        "slot_over_wait_goal": SLOT_SHARE_GOAL,
        "marker_to_train_running_seconds": {
            "median": round(statistics.median(latencies), 1) if latencies else None,
            "max": round(max(latencies), 1) if latencies else None,
            "samples": len(latencies),
        },
        "marker_to_train_running_goal_seconds": LATENCY_GOAL_SECONDS,
        "slack_notifications": summary.get("slack_messages"),
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return exit_code


if __name__ == "__main__":
    raise SystemExit(main())
