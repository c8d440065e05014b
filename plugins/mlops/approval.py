"""A person's approval of a promotion (``evaluation.approval: human``): evaluate's ``approve`` task.

Airflow 3's human-in-the-loop operator (``HITLOperator``, apache-airflow-providers-standard): the
task writes a request (subject, Markdown body, options ``Approve``/``Reject``, a ``comment``
field) that a person answers in the UI (Browse → Required Actions, or the run's task) or through
the REST API (``PATCH /api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/approve/-1/
hitlDetails``). On Airflow 3.3 the task then parks in the ``awaiting_input`` state: its worker
process exits, no slot of any pool is held, no trigger runs; the answer (or the scheduler's
timeout sweep, which answers the default ``Reject`` with no responder) schedules it again, and
its value is the answer: ``chosen_options``, ``params_input``, ``responded_by_user``
(``{"id", "name"}``, None on a timeout), ``responded_at``. ``compare`` applies it
(``steps.apply_human_decision``).

Only a promotion the policy allows is put to a person: a challenger the policy refuses is rejected
without asking (the task returns ``{"asked": False}`` at once), so nobody waits days to confirm a
rejection. Imported at parse time only for models that ask for a person.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import Param
from airflow.sdk.definitions.param import ParamsDict

from mlops.config import Model

APPROVAL_TASK_ID = "approve"


class PromotionApproval(HITLOperator):
    """Ask a person to approve or reject the promotion ``decided`` (decide's value) recommends."""

    template_fields = (*HITLOperator.template_fields, "decided")

    def __init__(self, *, model: Model, decided: Any, **kwargs: Any) -> None:
        from mlops.steps import APPROVAL_OPTIONS, COMMENT_MAX, REJECT

        # The DAG's run params arrive here too (Airflow merges them into every task's); the
        # request's form keeps only the task's own (source "task"): the comment.
        params = ParamsDict(kwargs.pop("params", None) or {})
        params["comment"] = Param(
            "",
            type="string",
            maxLength=COMMENT_MAX,
            title="Comment",
            description="why; recorded with the decision and on the model package",
            source="task",
        )
        super().__init__(
            subject=f"{model.label}: promote the challenger?",  # the month is added at run time
            options=list(APPROVAL_OPTIONS),
            # What the scheduler answers when nobody did within the timeout: the safe option.
            defaults=[REJECT],
            multiple=False,
            params=params,
            response_timeout=timedelta(seconds=model.evaluation.approval_timeout_seconds),
            **kwargs,
        )
        self.model = model
        self.decided = decided

    def execute(self, context: Any) -> Any:
        from mlops import steps
        from mlops.settings import load_settings

        decided: Mapping[str, Any] = self.decided
        if not decided["decision"]["promote"]:
            self.log.info(
                "The policy refuses the challenger (%s): nothing to approve, nobody is asked",
                "; ".join(decided["decision"].get("reasons", [])),
            )
            return {"asked": False}
        settings = load_settings()
        self.subject, self.body = steps.approval_request(
            self.model, decided, region=settings.region
        )
        self._notify_waiting(context, settings)
        return super().execute(context)

    def _notify_waiting(self, context: Any, settings: Any) -> None:
        """Slack and SNS: the request waits, with the link to answer it."""
        from mlops.notifications import deliver

        ti = context["ti"]
        link = self.generate_link_to_ui(task_instance=ti, base_url=settings.airflow_base_url)
        timeout = self.model.evaluation.approval_timeout_seconds
        text = "\n".join(
            [
                f"⏳ {ti.dag_id} waits for a person: {self.subject}",
                f"run: {ti.run_id}",
                f"report: {self.decided['report_uri']}",
                f"no answer within {timeout} s rejects the challenger",
                f"answer: {link}",
            ]
        )
        subject = f"[{self.model.label}] approval needed: {ti.run_id}"[:100]
        deliver(context, settings, subject, text, what=f"{ti.dag_id} {ti.run_id} approval")
