"""A month refused by prepare's data gates fails the prepare_data task: nothing downstream of it
may then run (no tuning, training or registration is paid for or recorded)."""

import pytest

# The trigger rules under which a task never runs once an upstream task failed (a failure
# propagates as upstream_failed, which these count as failed too).
STOPPED_BY_A_FAILURE = {"all_success", "none_failed", "none_failed_min_one_success"}


@pytest.mark.parametrize("dag_id", ["train__de", "train__de__batteries", "train__gb"])
def test_nothing_downstream_of_prepare_runs_after_it_fails(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    downstream = dag.get_task("prepare_data").get_flat_relatives(upstream=False)
    assert {"tune", "train_model", "create_model", "register_model_version"} <= {
        task.task_id for task in downstream
    }
    runs_anyway = {
        task.task_id: task.trigger_rule
        for task in downstream
        if task.trigger_rule not in STOPPED_BY_A_FAILURE
    }
    assert not runs_anyway
