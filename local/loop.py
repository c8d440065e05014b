"""The monthly loop on Airflow's real components, driven only the way people and upstream systems
drive it: data lands, a person deploys where the model asks for one, and everyone watches.

For each month (the month's countries file replaces the last one first, as a merged change would:
the second month brings the regulation change):

  every model's labeled month lands (its files, then ``_SUCCESS``) → S3 event → SQS → the landing
  asset's watcher (triggerer) → train → challenger asset → evaluate → winner asset → deploy (by
  itself with ``auto_deploy``; else a person triggers it through the API, as GitLab's deploy job
  does through the trigger Lambda) → the unlabeled month lands → batch_inference.

The driver starts nothing else: it uploads, triggers the human deploys, answers the approval a
model with ``evaluation.approval: human`` asks for (as its named approver, through the REST API:
``answer_approval``), and follows the runs through the Airflow REST API. Runs that skipped
their first task (an ``s3:TestEvent``, a replayed marker) are kept for the timeline and not
waited for.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from mlops.config import Model

from local.airflow_cluster import AirflowClient, AirflowCluster, ClusterError
from local.airflow_env import REPO_ROOT
from local.pipeline import LocalEnvironment, ModelRun

# The first task of each kind: skipped when the run has nothing to do.
FIRST_TASK = {
    "train": "build_requests",
    "evaluate": "build_requests",
    "deploy": "build_requests",
    "batch_inference": "plan_month",
}
# The XComs the demo's table and the tests read, by kind.
RESULT_TASKS = {
    "train": ("build_requests", "register_model_version"),
    "evaluate": (
        "build_requests",
        "transform_champion",
        "transform_champion_golden",
        "evaluate_models",
        "decide",
        "approve",
        "compare",
    ),
    "deploy": ("verify_endpoint", "smoke_test"),
    "batch_inference": ("plan_month", "batch_transform", "summarize"),
}
TERMINAL = ("success", "failed")
# evaluate's human-in-the-loop task (evaluation.approval: human; mlops.approval).
APPROVAL_TASK = "approve"


def _now() -> datetime:
    return datetime.now(UTC)


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _hitl_path(dag_id: str, run_id: str, task_id: str) -> str:
    return (
        f"/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}/taskInstances/"
        f"{quote(task_id, safe='')}/-1/hitlDetails"
    )


def approval_request(
    api: AirflowClient, dag_id: str, run_id: str, task_id: str = APPROVAL_TASK
) -> dict[str, Any]:
    """The run's approval request as the UI shows it: subject, body (the recommendation),
    options, and the answer once there is one (``responded_by_user``, ``responded_at``)."""
    return dict(api.call("GET", _hitl_path(dag_id, run_id, task_id)))


def answer_approval(
    api: AirflowClient,
    dag_id: str,
    run_id: str,
    *,
    approve: bool,
    comment: str = "",
    task_id: str = APPROVAL_TASK,
) -> dict[str, Any]:
    """Answer a pending approval as the user ``api`` is signed in as, what Approve/Reject in the
    UI's Required Actions does: ``PATCH .../taskInstances/<task>/-1/hitlDetails``. Airflow
    records the signed-in user as the responder (409 if it was answered already). Returns
    Airflow's record: ``responded_by``, ``responded_at``, ``chosen_options``, ``params_input``."""
    body = {
        "chosen_options": ["Approve" if approve else "Reject"],
        "params_input": {"comment": comment},
    }
    return dict(api.call("PATCH", _hitl_path(dag_id, run_id, task_id), body))


@dataclass
class Landed:
    """One marker the driver wrote: which model, month and kind, and when."""

    model: str
    month: str
    kind: str
    key: str
    at: datetime


@dataclass
class LoopResult:
    """Every model's outcomes (in ``local.pipeline.ModelRun`` form, for the demo's table), the
    markers written, and the driver's own actions (the human deploys)."""

    runs: dict[str, ModelRun]
    landed: list[Landed] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    # Bad months the driver was told to expect (``bad_months``), as the system refused them:
    # model, month, where (prepare's data gates or the evaluation) and the reasons it gave.
    refusals: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(run.ok for run in self.runs.values())


def onboard(
    local: LocalEnvironment,
    cluster: AirflowCluster,
    countries_file: Path,
    environment_name: str = "mlops-local",
) -> str:
    """What GitLab's ``sync-airflow`` job does after a deployment, the same way: the SageMaker
    pools (tasks in a pool that does not exist wait forever) and every model's DAGs unpaused,
    through MWAA InvokeRestApi (the local stack's MWAA forwards to ``cluster``). Its output."""
    from local.stack.services import mwaa

    mwaa.configure(local.stack, cluster.url, username=cluster.username, password=cluster.password)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    env |= local.stack.environ() | {"MWAA_ENVIRONMENT_NAME": environment_name}
    command = [sys.executable, str(REPO_ROOT / "scripts" / "sync_airflow.py")]
    command += ["--environment", "local", "--countries-file", str(countries_file)]
    done = subprocess.run(  # noqa: S603 - the repository's own script
        command, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        raise ClusterError(f"sync_airflow failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout


class LoopDriver:
    """Lands months and follows each model's runs through the API (see the module docstring)."""

    def __init__(
        self,
        local: LocalEnvironment,
        api: AirflowClient,
        countries_file: Path,
        *,
        say: Callable[[str], None] = print,
        run_timeout: float = 1800.0,
        poll: float = 3.0,
        bad_months: dict[str, str] | None = None,
        approver: AirflowClient | None = None,
    ):
        """``bad_months``: model key → the month whose labeled data is known to be bad (the
        demo's ``--bad-month``): its refusal (a failed data gate, or an evaluation that keeps the
        champion) is the expected outcome, recorded in ``result.refusals``; a promotion of it is
        the model's failure."""
        self.local = local
        self.bad_months = dict(bad_months or {})
        self.api = api
        # Who answers the approvals of human-approved models (their own login); None: nobody,
        # such a model's evaluation then waits until its timeout rejects.
        self.approver = approver
        self.countries_file = countries_file
        self.say = say
        self.run_timeout = run_timeout
        self.poll = poll
        self.result = LoopResult({m.key: ModelRun(m.key) for m in local.models})
        self._lock = threading.Lock()

    # -- the API -------------------------------------------------------------------------------

    def xcom(self, dag_id: str, run_id: str, task_id: str) -> Any:
        path = (
            f"/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}/taskInstances/"
            f"{quote(task_id, safe='')}/xcomEntries/return_value?deserialize=true&stringify=false"
        )
        try:
            return self.api.call("GET", path).get("value")
        except ClusterError as error:
            if "404" in str(error):
                return None
            raise

    def wait_run(self, model: Model, kind: str, after: datetime) -> dict[str, Any]:
        """The first run of ``model``'s ``kind`` DAG queued after ``after`` that did not skip its
        first task, once finished: ``{"dag_id", "run_id", "state", "run", "tasks"}``."""
        dag_id = model.dag_id(kind)
        deadline = time.monotonic() + self.run_timeout
        seen_skipped: set[str] = set()
        while True:
            runs = sorted(
                (r for r in self.api.runs(dag_id) if (_time(r.get("queued_at")) or after) >= after),
                key=lambda r: r.get("queued_at") or "",
            )
            for run in runs:
                if run["state"] not in TERMINAL:
                    break  # runs of one DAG go in order (max_active_runs=1): wait for this one
                if run["dag_run_id"] in seen_skipped:
                    continue
                tasks = {
                    ti["task_id"]: ti["state"]
                    for ti in self.api.task_instances(dag_id, run["dag_run_id"])
                }
                if tasks.get(FIRST_TASK[kind]) == "skipped":
                    seen_skipped.add(run["dag_run_id"])
                    continue
                return {
                    "dag_id": dag_id,
                    "run_id": run["dag_run_id"],
                    "state": run["state"],
                    "run": run,
                    "tasks": tasks,
                }
            if time.monotonic() > deadline:
                states = [(r["dag_run_id"], r["state"]) for r in runs]
                raise ClusterError(
                    f"{dag_id}: no finished run queued after {after.isoformat()} within "
                    f"{self.run_timeout:.0f} s (runs: {states})"
                )
            time.sleep(self.poll)

    def wait_approval(self, model: Model, after: datetime) -> str | None:
        """The run id of ``model``'s first evaluate run queued after ``after`` (its first task
        not skipped) once its approve task waits for a person (``awaiting_input``); None when
        that run finished without asking (the policy refused the challenger, or it failed)."""
        dag_id = model.dag_id("evaluate")
        deadline = time.monotonic() + self.run_timeout
        while True:
            runs = sorted(
                (r for r in self.api.runs(dag_id) if (_time(r.get("queued_at")) or after) >= after),
                key=lambda r: r.get("queued_at") or "",
            )
            for run in runs:
                tasks = {
                    ti["task_id"]: ti["state"]
                    for ti in self.api.task_instances(dag_id, run["dag_run_id"])
                }
                if tasks.get(FIRST_TASK["evaluate"]) == "skipped":
                    continue
                if tasks.get(APPROVAL_TASK) == "awaiting_input":
                    return str(run["dag_run_id"])
                if run["state"] in TERMINAL:
                    return None
                break  # this run is still on its way to the approval
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"{dag_id}: no run queued after {after.isoformat()} asked for approval within "
                    f"{self.run_timeout:.0f} s"
                )
            time.sleep(self.poll)

    def approve(self, model: Model, month: str, after: datetime) -> None:
        """What the model's approver does: read the recommendation, approve it (API)."""
        if self.approver is None:
            return
        run_id = self.wait_approval(model, after)
        if run_id is None:
            return  # nothing to approve: the run is over
        dag_id = model.dag_id("evaluate")
        request = approval_request(self.approver, dag_id, run_id)
        recommendation = (request.get("body") or "").splitlines()[0].strip("* ")
        answer = answer_approval(
            self.approver,
            dag_id,
            run_id,
            approve=True,
            comment=f"{month}: report read, recommendation followed (make demo)",
        )
        who, at = answer["responded_by"]["name"], answer["responded_at"]
        with self._lock:
            self.result.actions.append(
                {"at": _now(), "model": model.key, "action": f"approved by {who} ({run_id})"}
            )
        self.say(f"[{model.key}] {month} {dag_id}: approved by {who} at {at} ({recommendation})")

    # -- what upstream systems and people do ----------------------------------------------------

    def write_countries(self, text: str) -> None:
        """Replace the countries file in one step (a reader never sees half of it)."""
        partial = self.countries_file.with_suffix(".partial")
        partial.write_text(text)
        os.replace(partial, self.countries_file)

    def land(self, month: str, kind: str, models: list[Model]) -> dict[str, datetime]:
        landed: dict[str, datetime] = {}
        for model in models:
            at = _now()
            (key,) = self.local.land(month, kind, [model])
            with self._lock:
                self.result.landed.append(Landed(model.key, month, kind, key, at))
            landed[model.key] = at
        self.say(f"{month}: {kind} data landed for {', '.join(m.key for m in models)}")
        return landed

    # -- following one model ----------------------------------------------------------------------

    def _record(
        self,
        model: Model,
        month: str,
        kind: str,
        found: dict[str, Any],
        *,
        may_fail: bool = False,
    ) -> dict[str, Any]:
        xcoms = {
            task: {"return_value": self.xcom(found["dag_id"], found["run_id"], task)}
            for task in RESULT_TASKS[kind]
            if found["tasks"].get(task) == "success"
        }
        outcome = {
            "dag_id": found["dag_id"],
            "run_id": found["run_id"],
            "state": found["state"],
            "month": month,
            "kind": kind,
            "run_type": found["run"].get("run_type"),
            "run": found["run"],
            "tasks": {task: {"state": state} for task, state in found["tasks"].items()},
            "xcoms": xcoms,
        }
        run = self.result.runs[model.key]
        with self._lock:
            run.outcomes.append(outcome)
            if found["state"] != "success" and not may_fail:
                failed = sorted(t for t, s in found["tasks"].items() if s == "failed")
                run.error = run.error or f"{found['dag_id']} {found['run_id']} failed: {failed}"
        self.say(
            f"[{model.key}] {month} {found['dag_id']} {found['state']} "
            f"({found['run'].get('run_type')})"
        )
        return outcome

    def follow_labeled(self, model: Model, month: str, landed_at: datetime) -> None:
        """train → evaluate → deploy of one model's month, as the events chain them."""
        bad = self.bad_months.get(model.key) == month
        train = self._record(
            model, month, "train", self.wait_run(model, "train", landed_at), may_fail=bad
        )
        if train["state"] != "success":
            if bad:
                self._refused_by_gates(model, month, train, landed_at)
            return
        # The asset event is emitted before the run ends: what it starts is queued after the start.
        started = _time(train["run"].get("start_date")) or landed_at
        if model.evaluation.approval == "human":
            self.approve(model, month, started)
        evaluate = self._record(model, month, "evaluate", self.wait_run(model, "evaluate", started))
        if evaluate["state"] != "success":
            return
        comparison = evaluate["xcoms"].get("compare", {}).get("return_value") or {}
        if bad:
            self._refused_by_evaluation(model, month, evaluate, comparison)
        if not comparison.get("winner_changed"):
            return  # the champion stays: nothing to deploy
        started = _time(evaluate["run"].get("start_date")) or started
        if not model.endpoint.auto_deploy:
            # A person deploys the new winner (GitLab's deploy job, or the UI): here, the API.
            run_id = f"manual__deploy__{model.key}__{month}__{int(time.time())}"
            self.api.trigger_dag(model.dag_id("deploy"), {}, run_id=run_id)
            with self._lock:
                self.result.actions.append(
                    {"at": _now(), "model": model.key, "action": f"deploy triggered ({run_id})"}
                )
        self._record(model, month, "deploy", self.wait_run(model, "deploy", started))

    def _refused_by_gates(
        self, model: Model, month: str, train: dict[str, Any], landed_at: datetime
    ) -> None:
        """A bad month's train run failed: a refusal only if prepare refused the data (its
        FailureReason holds the gates' reasons); any other failure is the model's failure."""
        failed = sorted(t for t, s in train["tasks"].items() if s == "failed")
        reason = (
            self._prepare_failure(model, month, landed_at) if failed == ["prepare_data"] else ""
        )
        run = self.result.runs[model.key]
        with self._lock:
            if reason:
                self.result.refusals.append(
                    {"model": model.key, "month": month, "by": "data gates", "reasons": reason}
                )
            else:
                run.error = run.error or (
                    f"{train['dag_id']} {train['run_id']} failed: {failed} (not a data refusal)"
                )
        if reason:
            self.say(f"[{model.key}] {month} refused by the data gates: {reason}")

    def _prepare_failure(self, model: Model, month: str, landed_at: datetime) -> str:
        """The FailureReason of the model's failed prepare job for ``month`` (since landing)."""
        sagemaker = self.local.stack.client("sagemaker")
        pages = sagemaker.get_paginator("list_processing_jobs").paginate(
            StatusEquals="Failed", CreationTimeAfter=landed_at
        )
        for page in pages:
            for summary in page["ProcessingJobSummaries"]:
                job = sagemaker.describe_processing_job(
                    ProcessingJobName=summary["ProcessingJobName"]
                )
                env = job.get("Environment") or {}
                if (
                    env.get("DATA_MONTH") == month
                    and job["ProcessingInputs"]
                    and any(
                        i["InputName"] == "labeled"
                        and i["S3Input"]["S3Uri"]
                        .rstrip("/")
                        .endswith(f"{model.prefix}/{month}/labeled")
                        for i in job["ProcessingInputs"]
                    )
                ):
                    return str(job.get("FailureReason") or "")
        return ""

    def _refused_by_evaluation(
        self, model: Model, month: str, evaluate: dict[str, Any], comparison: dict[str, Any]
    ) -> None:
        run = self.result.runs[model.key]
        if comparison.get("winner_changed"):
            with self._lock:
                run.error = run.error or f"the bad month {month} of {model.key} was promoted"
            self.say(f"[{model.key}] FAILED: the bad month {month} was promoted")
            return
        decided = evaluate["xcoms"].get("decide", {}).get("return_value") or {}
        reasons = "; ".join((decided.get("decision") or {}).get("reasons") or [])
        with self._lock:
            self.result.refusals.append(
                {"model": model.key, "month": month, "by": "evaluation", "reasons": reasons}
            )
        self.say(f"[{model.key}] {month} refused by the evaluation: {reasons}")

    def follow_unlabeled(self, model: Model, month: str, landed_at: datetime) -> None:
        self._record(
            model, month, "batch_inference", self.wait_run(model, "batch_inference", landed_at)
        )

    def _each(self, models: list[Model], target: Callable[[Model], None]) -> None:
        def guarded(model: Model) -> None:
            try:
                target(model)
            except Exception as error:  # noqa: BLE001 - reported as the model's failure
                run = self.result.runs[model.key]
                with self._lock:
                    run.error = run.error or f"{type(error).__name__}: {error}"
                self.say(f"[{model.key}] FAILED: {error}")

        threads = [
            threading.Thread(target=guarded, args=(m,), name=f"loop-{m.key}") for m in models
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    # -- the months -----------------------------------------------------------------------------

    def month(self, month: str, countries_text: str | None = None) -> None:
        """One month for every model still healthy: labeled lands, the chain runs, then the
        unlabeled month lands and batch runs."""
        if countries_text is not None:
            self.write_countries(countries_text)
        models = [m for m in self.local.models if self.result.runs[m.key].ok]
        landed = self.land(month, "labeled", models)
        self._each(models, lambda m: self.follow_labeled(m, month, landed[m.key]))
        models = [m for m in models if self.result.runs[m.key].ok]
        if not models:
            return
        landed = self.land(month, "unlabeled", models)
        self._each(models, lambda m: self.follow_unlabeled(m, month, landed[m.key]))


# --------------------------------------------------------------------------------------------
# The timeline: which DAG ran when, started by what.
# --------------------------------------------------------------------------------------------


def timeline(api: AirflowClient, models: list[Model], origin: datetime) -> list[dict[str, Any]]:
    """Every run of the models' DAGs, oldest first, with what started it."""
    rows = []
    for model in models:
        for kind in FIRST_TASK:
            dag_id = model.dag_id(kind)
            for run in api.runs(dag_id):
                started_by = run.get("run_type") or "?"
                if started_by == "asset_triggered":
                    events = api.call(
                        "GET",
                        f"/dags/{quote(dag_id, safe='')}/dagRuns/"
                        f"{quote(run['dag_run_id'], safe='')}/upstreamAssetEvents",
                    ).get("asset_events", [])
                    names = sorted({e.get("name") or e.get("uri", "?") for e in events})
                    started_by = "asset " + ", ".join(names)
                tasks = {
                    ti["task_id"]: ti["state"]
                    for ti in api.task_instances(dag_id, run["dag_run_id"])
                }
                state = run["state"]
                if tasks.get(FIRST_TASK[kind]) == "skipped":
                    state = "skipped (nothing to do)"
                rows.append(
                    {
                        "dag_id": dag_id,
                        "run_id": run["dag_run_id"],
                        "state": state,
                        "started_by": started_by,
                        "queued": _offset(run.get("queued_at"), origin),
                        "start": _offset(run.get("start_date"), origin),
                        "end": _offset(run.get("end_date"), origin),
                        "start_at": run.get("start_date"),
                        "end_at": run.get("end_date"),
                    }
                )
    return sorted(rows, key=lambda row: (row["start"] is None, row["start"] or 0.0))


def _offset(value: str | None, origin: datetime) -> float | None:
    moment = _time(value)
    return None if moment is None else (moment - origin).total_seconds()


def timeline_lines(rows: list[dict[str, Any]], landed: list[Landed], origin: datetime) -> list[str]:
    """The timeline as text: markers landing and runs, in time order, seconds since ``origin``."""
    entries: list[tuple[float, str]] = [
        ((item.at - origin).total_seconds(), f"{'':>7}  upload    s3://…/{item.key}")
        for item in landed
    ]
    for row in rows:
        start = row["start"] if row["start"] is not None else row["queued"] or 0.0
        took = "" if row["end"] is None or row["start"] is None else f"{row['end'] - start:6.0f}s"
        entries.append(
            (start, f"{took:>7}  {row['dag_id']:<32} {row['state']:<24} by {row['started_by']}")
        )
    lines = ["timeline (seconds since the stack was ready; duration; DAG; state; started by)"]
    lines += [f"{at:7.0f}s {text}" for at, text in sorted(entries, key=lambda e: e[0])]
    return lines


# --------------------------------------------------------------------------------------------
# The SageMaker work the loop ran, from the jobs' own times (for make bench).
# --------------------------------------------------------------------------------------------

_JOB_LISTS = {
    # kind: (list call, summaries key, name key, describe call, start field, end field)
    "processing": (
        "list_processing_jobs",
        "ProcessingJobSummaries",
        "ProcessingJobName",
        "describe_processing_job",
        "ProcessingStartTime",
        "ProcessingEndTime",
    ),
    "tuning": (
        "list_hyper_parameter_tuning_jobs",
        "HyperParameterTuningJobSummaries",
        "HyperParameterTuningJobName",
        "describe_hyper_parameter_tuning_job",
        "CreationTime",
        "HyperParameterTuningEndTime",
    ),
    "training": (
        "list_training_jobs",
        "TrainingJobSummaries",
        "TrainingJobName",
        "describe_training_job",
        "TrainingStartTime",
        "TrainingEndTime",
    ),
    "transform": (
        "list_transform_jobs",
        "TransformJobSummaries",
        "TransformJobName",
        "describe_transform_job",
        "TransformStartTime",
        "TransformEndTime",
    ),
}


def sagemaker_jobs(sagemaker: Any) -> list[dict[str, Any]]:
    """Every processing, tuning, training and transform job: name, kind, start and end (ISO),
    billable seconds where SageMaker reports them."""
    jobs = []
    for kind, (listing, key, name_key, describe, start, end) in _JOB_LISTS.items():
        token = None
        while True:
            page = getattr(sagemaker, listing)(
                MaxResults=100, **({"NextToken": token} if token else {})
            )
            for summary in page.get(key, []):
                described = getattr(sagemaker, describe)(**{name_key: summary[name_key]})
                jobs.append(
                    {
                        "kind": kind,
                        "name": summary[name_key],
                        "start": _iso(described.get(start)),
                        "end": _iso(described.get(end)),
                        "billable_seconds": described.get("BillableTimeInSeconds"),
                    }
                )
            token = page.get("NextToken")
            if not token:
                break
    return jobs


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value
