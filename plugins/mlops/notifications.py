"""Slack and SNS notifications on success and failure, with model, run, link and key metrics.

The provider notifiers do the sending (SlackWebhookNotifier from the Slack provider, SnsNotifier
from the Amazon provider); this module formats the message and picks topic and connection from the
environment settings, which are only known at run time, so ``RunNotifier`` builds them then.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow.sdk import BaseNotifier

from mlops.sagemaker_jobs import job_in_request

if TYPE_CHECKING:
    from mlops.settings import Settings
    from mlops.steps import Reported

log = logging.getLogger(__name__)
# Not "metrics": a TaskFlow task returning a dict pushes each key, and compare returns "metrics".
METRICS_XCOM_KEY = "notification_metrics"
# The warnings a successful step raised (batch drift past its thresholds): one warning message.
ALERTS_XCOM_KEY = "notification_alerts"
SNS_SUBJECT_MAX = 100


def run_link(base_url: str, dag_id: str, run_id: str) -> str:
    """Link to the DAG run in the Airflow 3 UI."""
    return f"{base_url.rstrip('/')}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def format_message(
    *,
    succeeded: bool,
    dag_id: str,
    run_id: str,
    link: str,
    metrics: Mapping[str, Any] | None = None,
    error: str | None = None,
    task_id: str | None = None,
    job: str | None = None,
) -> tuple[str, str]:
    """(subject, text) of a notification; the subject fits SNS's 100 characters, one line."""
    kind, _, model = dag_id.partition("__")
    country, _, scheme = model.partition("__")
    status = "succeeded" if succeeded else "FAILED"
    label = " ".join(part for part in (country.upper(), scheme) if part) or "?"
    subject = f"[{label}] {kind} {status}: {run_id}"
    subject = " ".join(subject.split())[:SNS_SUBJECT_MAX]
    lines = [
        f"{'✅' if succeeded else '❌'} {dag_id} {status}",
        f"country: {country or '?'}",
        *([f"scheme: {scheme}"] if scheme else []),
        f"run: {run_id}",
    ]
    if task_id and not succeeded:
        lines.append(f"failed task: {task_id}")
    if error and not succeeded:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        lines.append(f"error: {first_line[:500]}")
    if job and not succeeded:
        lines.append(job)
    for name, value in sorted((metrics or {}).items()):
        lines.append(f"{name}: {_format_value(value)}")
    lines.append(f"link: {link}")
    return subject, "\n".join(lines)


def format_warning(
    *,
    dag_id: str,
    run_id: str,
    link: str,
    alerts: list[str],
    metrics: Mapping[str, Any] | None = None,
    what: str = "drift",
) -> tuple[str, str]:
    """(subject, text) of a warning: the run succeeded, but ``alerts`` need a person's look."""
    kind, _, model = dag_id.partition("__")
    country, _, scheme = model.partition("__")
    label = " ".join(part for part in (country.upper(), scheme) if part) or "?"
    subject = f"[{label}] {kind} WARNING {what}: {run_id}"
    subject = " ".join(subject.split())[:SNS_SUBJECT_MAX]
    lines = [
        f"⚠️ {dag_id} succeeded with {len(alerts)} {what} warning{'s' * (len(alerts) != 1)}",
        f"country: {country or '?'}",
        *([f"scheme: {scheme}"] if scheme else []),
        f"run: {run_id}",
        *(f"warning: {alert}" for alert in alerts),
    ]
    for name, value in sorted((metrics or {}).items()):
        lines.append(f"{name}: {_format_value(value)}")
    lines.append(f"link: {link}")
    return subject, "\n".join(lines)


def failed_job_line(sagemaker: Any, request: Any) -> str | None:
    """``job <name>: <status> — <FailureReason>`` for the job a failed SageMaker task started.

    In deferrable mode the provider's exception names the job but not why it failed; SageMaker's
    FailureReason is what a person needs to act on.
    """
    found = job_in_request(request)
    if found is None:
        return None
    kind, name = found
    try:
        described = getattr(sagemaker, kind.describe_operation)(**{kind.name_field: name})
    except Exception:  # the job may never have been created: nothing to add
        return None
    reason = described.get("FailureReason") or "no failure reason given"
    # Whole: SageMaker keeps a FailureReason to 1024 characters, and a data gate lists them all.
    return f"job {name}: {described.get(kind.status_field)} — {reason}"[:1200]


def with_metrics(context: Mapping[str, Any], outcome: Reported) -> dict[str, Any]:
    """Push a step's notification metrics for the success notifier; the step's value to return."""
    context["ti"].xcom_push(key=METRICS_XCOM_KEY, value=outcome.metrics)
    return outcome.value


def with_alerts(context: Mapping[str, Any], alerts: list[str]) -> None:
    """Push a step's warnings for ``AlertNotifier`` (an empty list sends nothing)."""
    context["ti"].xcom_push(key=ALERTS_XCOM_KEY, value=list(alerts))


def sns_notifier(topic_arn: str, subject: str, text: str) -> Any:
    from airflow.providers.amazon.aws.notifications.sns import SnsNotifier

    return SnsNotifier(target_arn=topic_arn, subject=subject, message=text)


def slack_notifier(connection_id: str, text: str) -> Any:
    from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

    return SlackWebhookNotifier(slack_webhook_conn_id=connection_id, text=text)


def deliver(
    context: Mapping[str, Any], settings: Settings, subject: str, text: str, *, what: str
) -> None:
    """``subject``/``text`` to SNS and Slack; one channel failing does not stop the other."""
    senders = (
        ("sns", sns_notifier(settings.sns_topic_arn, subject, text)),
        ("slack", slack_notifier(settings.slack_connection_id, text)),
    )
    for channel, sender in senders:
        try:
            sender.notify(context)
        except Exception:  # a broken channel must not hide the other one
            log.exception("%s notification for %s failed", channel, what)


class RunNotifier(BaseNotifier):
    """Task callback: the run's outcome to SNS and Slack (one failing does not stop the other)."""

    def __init__(self, *, succeeded: bool, metrics_task_id: str | None = None):
        super().__init__()
        self.succeeded = succeeded
        self.metrics_task_id = metrics_task_id

    def __deepcopy__(self, memo: dict[int, Any]) -> RunNotifier:
        # Immutable after __init__; Airflow deep-copies default_args into every task at parse time.
        return self

    def notify(self, context: Mapping[str, Any]) -> None:
        from mlops.settings import load_settings

        settings = load_settings()
        ti = context["ti"]
        dag_id = ti.dag_id
        run_id = ti.run_id
        metrics = None
        if self.metrics_task_id:
            metrics = ti.xcom_pull(task_ids=self.metrics_task_id, key=METRICS_XCOM_KEY)
        exception = context.get("exception")
        job = None
        if not self.succeeded and hasattr(context.get("task"), "config"):
            from mlops.aws import aws_client

            try:
                job = failed_job_line(aws_client("sagemaker"), context["task"].config)
            except Exception:  # the notification matters more than its detail
                log.exception("could not describe the failed job of %s", ti.task_id)
        subject, text = format_message(
            succeeded=self.succeeded,
            dag_id=dag_id,
            run_id=run_id,
            link=run_link(settings.airflow_base_url, dag_id, run_id),
            metrics=metrics,
            error=None if exception is None else f"{type(exception).__name__}: {exception}",
            task_id=ti.task_id,
            job=job,
        )
        deliver(context, settings, subject, text, what=f"{dag_id} {run_id}")


class AlertNotifier(BaseNotifier):
    """Task success callback: a warning to SNS and Slack when the step pushed alerts
    (``with_alerts``); nothing when it pushed none. The run's own success notification is sent
    as usual: a warning is a second message, so a subscriber can route it."""

    def __init__(self, *, alerts_task_id: str, what: str = "drift"):
        super().__init__()
        self.alerts_task_id = alerts_task_id
        self.what = what

    def __deepcopy__(self, memo: dict[int, Any]) -> AlertNotifier:
        return self

    def notify(self, context: Mapping[str, Any]) -> None:
        from mlops.settings import load_settings

        ti = context["ti"]
        alerts = ti.xcom_pull(task_ids=self.alerts_task_id, key=ALERTS_XCOM_KEY) or []
        if not alerts:
            return
        settings = load_settings()
        metrics = ti.xcom_pull(task_ids=self.alerts_task_id, key=METRICS_XCOM_KEY)
        subject, text = format_warning(
            dag_id=ti.dag_id,
            run_id=ti.run_id,
            link=run_link(settings.airflow_base_url, ti.dag_id, ti.run_id),
            alerts=[str(alert) for alert in alerts],
            metrics=metrics,
            what=self.what,
        )
        deliver(context, settings, subject, text, what=f"{ti.dag_id} {ti.run_id} warning")


def on_failure() -> list[RunNotifier]:
    return [RunNotifier(succeeded=False)]


def on_success(metrics_task_id: str | None = None) -> list[RunNotifier]:
    return [RunNotifier(succeeded=True, metrics_task_id=metrics_task_id)]


def on_success_or_warning(task_id: str, what: str = "drift") -> list[BaseNotifier]:
    """The success notification with ``task_id``'s metrics, and a warning if it raised alerts."""
    return [*on_success(task_id), AlertNotifier(alerts_task_id=task_id, what=what)]
