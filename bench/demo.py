"""Demo benchmark: wall time of `make demo` (every model of 3 countries — DE, DE batteries, FR,
GB — x 2 months) and how much of the SageMaker job time held an Airflow worker slot.

The worker logs of `dag.test()` mark each task's start and end, the moment a deferrable operator
hands its wait to the trigger ("Pausing task as DEFERRED"), and the trigger's run ("running
trigger in line" ... "Trigger completed"). For every deferred task:

    slot seconds = (first start -> deferred) + (resume -> end)      the worker was busy
    wait seconds = trigger start -> trigger completed               the job ran, no slot held

The figure reported is sum(slot) / sum(wait): worker-slot seconds per second of SageMaker job
wait. It overstates the share (slot time before the job is created counts too), so it is an upper
bound of the goal's "share of job time during which a worker slot was held".

    .venv/bin/python -m bench.demo      writes bench/results/demo.json
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime
from pathlib import Path

from local.demo import main as demo_main

ROOT = Path(__file__).resolve().parent.parent
RESULT = ROOT / "bench" / "results" / "demo.json"
WORKDIR = ROOT / ".local-stack" / "bench-demo"
BUDGET_SECONDS = 300
SLOT_SHARE_GOAL = 0.10

STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z ")
RUNNING = re.compile(r"\[DAG TEST\] running task <TaskInstance: ([\w.-]+)\.([\w-]+) ")
DEFERRED = re.compile(r"Pausing task as DEFERRED\..*task_id=([\w-]+)")
TRIGGER_START = "[DAG TEST] running trigger in line"
TRIGGER_END = "[DAG TEST] Trigger completed"
END = re.compile(r"\[DAG TEST\] end task task_id=([\w-]+)")


def deferred_task_times(log_text: str) -> list[dict]:
    """Per deferred task: worker-slot seconds and trigger-wait seconds (see module doc)."""
    tasks: list[dict] = []
    current: dict | None = None
    last_mark: datetime | None = None
    for line in log_text.splitlines():
        stamp = STAMP.match(line)
        if not stamp:
            continue
        moment = datetime.fromisoformat(stamp.group(1))
        if running := RUNNING.search(line):
            if current is None or current["task"] != running.group(2):
                current = {"task": running.group(2), "slot": 0.0, "wait": 0.0, "deferred": False}
                tasks.append(current)
            last_mark = moment
        elif current is None:
            continue
        elif DEFERRED.search(line):
            current["slot"] += (moment - last_mark).total_seconds()
            current["deferred"] = True
        elif TRIGGER_START in line:
            last_mark = moment
        elif TRIGGER_END in line:
            current["wait"] += (moment - last_mark).total_seconds()
        elif END.search(line):
            if current["deferred"]:
                current["slot"] += (moment - last_mark).total_seconds()
            current = None
    return [task for task in tasks if task["deferred"]]


def main() -> int:
    started = time.monotonic()
    exit_code = demo_main(["--workdir", str(WORKDIR)])
    wall = time.monotonic() - started
    deferred = []
    for log in sorted((WORKDIR / "logs").glob("*.log")):
        deferred += deferred_task_times(log.read_text(errors="replace"))
    slot = sum(task["slot"] for task in deferred)
    wait = sum(task["wait"] for task in deferred)
    summary = json.loads((WORKDIR / "summary.json").read_text()) if exit_code == 0 else {}
    result = {
        "models_x_months": f"{len(summary['models'])} x 2" if summary else None,
        "demo_exit_code": exit_code,
        "wall_seconds": round(wall, 1),
        "wall_budget_seconds": BUDGET_SECONDS,
        "deferred_tasks": len(deferred),
        "worker_slot_seconds": round(slot, 1),
        "job_wait_seconds": round(wait, 1),
        "slot_share_of_job_time": round(slot / wait, 3) if wait else None,
        "slot_share_goal": SLOT_SHARE_GOAL,
        "slack_notifications": summary.get("slack_messages"),
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return exit_code


if __name__ == "__main__":
    raise SystemExit(main())
