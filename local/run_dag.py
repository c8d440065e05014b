"""Run one DAG once with Airflow's embedded mode (``dag.test()``, what ``airflow dags test``
calls) and write the outcome as JSON: run state, each task's state, and the XComs.

    python -m local.run_dag train__de --conf '{"data_month": "2026-10"}' --result out.json

Exit status 0 only when the run succeeded. The environment (AIRFLOW_HOME, connections, the
settings Variable, AWS_ENDPOINT_URL) comes from the caller: see local/airflow_env.py.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except TypeError:
        return repr(value)


def run(dag_id: str, conf: dict[str, Any], retries: int | None = None) -> dict[str, Any]:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.xcom import XComModel
    from airflow.settings import DAGS_FOLDER
    from airflow.utils.session import create_session

    dagbag = DagBag(dag_folder=DAGS_FOLDER)
    if dagbag.import_errors:
        return {"dag_id": dag_id, "state": "import_error", "errors": dict(dagbag.import_errors)}
    dag = dagbag.get_dag(dag_id)
    if dag is None:
        return {"dag_id": dag_id, "state": "unknown_dag", "known": sorted(dagbag.dag_ids)}
    if retries is not None:
        for task in dag.tasks:
            task.retries = retries
    started = time.monotonic()
    dag_run = dag.test(run_conf=conf)
    elapsed = time.monotonic() - started
    with create_session() as session:
        tasks = {
            ti.task_id: {
                "state": str(ti.state),
                "duration": ti.duration,
                "try_number": ti.try_number,
            }
            for ti in dag_run.get_task_instances(session=session)
        }
        xcoms: dict[str, Any] = {}
        query = XComModel.get_many(run_id=dag_run.run_id, dag_ids=dag_id)
        for row in session.scalars(query):
            value = XComModel.deserialize_value(row)
            xcoms.setdefault(row.task_id, {})[row.key] = _jsonable(value)
    return {
        "dag_id": dag_id,
        "run_id": dag_run.run_id,
        "state": str(dag_run.state),
        "seconds": round(elapsed, 1),
        "tasks": tasks,
        "xcoms": xcoms,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.run_dag", description=__doc__)
    parser.add_argument("dag_id")
    parser.add_argument("--conf", default="{}", help="the run's conf, a JSON object")
    parser.add_argument("--result", type=Path, help="write the outcome here as JSON")
    parser.add_argument("--retries", type=int, help="override every task's retries")
    args = parser.parse_args(argv)
    try:
        conf = json.loads(args.conf)
    except json.JSONDecodeError as exc:
        parser.error(f"--conf is not JSON: {exc}")
    if not isinstance(conf, dict):
        parser.error("--conf must be a JSON object")
    outcome = run(args.dag_id, conf, args.retries)
    text = json.dumps(outcome, indent=2, default=str)
    if args.result:
        args.result.write_text(text)
    print(f"[run_dag] {args.dag_id}: {outcome['state']}", file=sys.stderr)
    return 0 if outcome["state"] == "success" else 1


if __name__ == "__main__":
    sys.exit(main())
