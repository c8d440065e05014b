"""An asset event whose consuming DAG is paused is lost for it: say so, loudly.

Airflow queues no run for a paused DAG when an asset it is scheduled on gets an event, and
unpausing it later does not replay the event. The tasks that emit a model's challenger (train →
evaluate) and winner (evaluate → deploy, with ``auto_deploy``) events ask Airflow whether the
consumer is paused (Task SDK ``ti.get_dag``) and, when it is, log an error and notify Slack + SNS
with the commands that unpause it and start the run the event would have started.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from mlops.config import Model
from mlops.notifications import SNS_SUBJECT_MAX, deliver

log = logging.getLogger(__name__)


def paused_message(
    model: Model, downstream: str, event: str, emitter: str, run_id: str, conf: Mapping[str, Any]
) -> tuple[str, str]:
    """(subject, text) of the report: which DAG, which event, how to unpause and re-trigger."""
    subject = f"[{model.label}] {downstream} is PAUSED: {event} not consumed"[:SNS_SUBJECT_MAX]
    retrigger = json.dumps(dict(conf), sort_keys=True)
    text = "\n".join(
        [
            f"⚠️ {downstream} is paused: it will not run for this event",
            f"event: {event}, emitted by {emitter} (run {run_id})",
            "Airflow queues no run for a paused DAG; unpausing it does not replay the event.",
            f"unpause: airflow dags unpause {downstream} (or the UI toggle; "
            "scripts/sync_airflow.py unpauses every enabled model's DAGs)",
            f"re-trigger: scripts/trigger-dag --dag {downstream} --conf '{retrigger}'",
        ]
    )
    return subject, text


def report_paused_downstream(
    context: Mapping[str, Any],
    model: Model,
    kind: str,
    event: str,
    conf: Mapping[str, Any],
    *,
    is_paused: Callable[[str], bool] | None = None,
) -> bool:
    """Report when the model's ``kind`` DAG, which ``event`` schedules, is paused.

    ``is_paused`` looks a DAG up by id (default: the Task SDK's ``ti.get_dag``). True when the
    DAG is paused and it was reported. Never raises: the event must still be emitted.
    """
    downstream = model.dag_id(kind)
    ti = context["ti"]
    lookup = is_paused or (lambda dag_id: bool(ti.get_dag(dag_id).is_paused))
    try:
        paused = lookup(downstream)
    except Exception:
        log.exception("could not check whether %s (scheduled on %s) is paused", downstream, event)
        return False
    if not paused:
        return False
    subject, text = paused_message(model, downstream, event, ti.dag_id, ti.run_id, conf)
    log.error("%s", text)
    try:
        from mlops.settings import load_settings

        deliver(context, load_settings(), subject, text, what=f"paused {downstream}")
    except Exception:
        log.exception("could not notify that %s is paused", downstream)
    return True
