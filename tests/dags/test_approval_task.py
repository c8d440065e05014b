"""evaluate's ``approve`` task (evaluation.approval: human) as the DAG file builds it.

What it does once a person or the timeout answered runs on Airflow's real components in
tests/e2e/test_human_approval_evaluate_dag.py; here, what needs no Airflow run.
"""

import copy

import pytest
from mlops.config import enabled_models

HUMAN = [m for m in enabled_models() if m.evaluation.approval == "human"]


@pytest.fixture
def approve(dagbag):
    (model,) = HUMAN[:1]
    return copy.deepcopy(dagbag.dags[model.dag_id("evaluate")].get_task("approve"))


def test_a_challenger_the_policy_refuses_is_not_put_to_anyone(approve, monkeypatch):
    # No settings, no Airflow API: returning before the request is written is the only way out.
    monkeypatch.delenv("AIRFLOW_VAR_MLOPS_SETTINGS", raising=False)
    approve.decided = {"decision": {"promote": False, "reasons": ["macro_f1 0.41 < floor 0.6"]}}
    assert approve.execute({}) == {"asked": False}


def test_the_request_takes_decides_value_and_nothing_else_from_upstream(approve):
    assert approve.upstream_task_ids == {"decide"}
    assert approve.downstream_task_ids == {"compare"}
    assert "decided" in approve.template_fields
