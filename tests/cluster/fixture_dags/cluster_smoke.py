"""A tiny DAG for the cluster tests: a Python task, then one that defers to the triggerer."""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger
from airflow.sdk import DAG, BaseOperator, task


class DeferOnce(BaseOperator):
    """Defers to a TimeDeltaTrigger; only a running triggerer can bring it back."""

    def execute(self, context):
        self.defer(trigger=TimeDeltaTrigger(timedelta(seconds=2)), method_name="resume")

    def resume(self, context, event=None):
        return "resumed after the trigger fired"


with DAG("cluster_smoke", schedule=None, catchup=False, is_paused_upon_creation=False):

    @task
    def echo(**context):
        return context["dag_run"].conf.get("word", "")

    echo() >> DeferOnce(task_id="defer")
