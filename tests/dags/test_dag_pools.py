"""Every SageMaker operator of every generated DAG queues in a pool the sync creates (counting
deferred tasks), holding the slots its model's config asks for; the DAGs start unpaused."""

import pytest
import yaml
from airflow.providers.amazon.aws.operators.sagemaker import SageMakerBaseOperator
from mlops.config import DAG_KINDS, enabled_models
from mlops.pools import POOLS_FILE, load_pools, task_slots

MODELS = {m.dag_id(kind): m for kind in DAG_KINDS for m in enabled_models()}
ENVIRONMENTS = sorted(yaml.safe_load(POOLS_FILE.read_text())["environments"])


@pytest.mark.parametrize("dag_id", sorted(MODELS))
def test_every_sagemaker_operator_holds_its_models_slots_of_a_synced_pool(dagbag, dag_id):
    operators = [
        task for task in dagbag.dags[dag_id].tasks if isinstance(task, SageMakerBaseOperator)
    ]
    assert operators, f"{dag_id} has no SageMaker operator"
    for environment in ENVIRONMENTS:
        synced = {pool.name: pool for pool in load_pools(environment)}
        for task in operators:
            assert task.pool in synced, f"{dag_id}.{task.task_id}: pool {task.pool} is not synced"
            assert synced[task.pool].include_deferred, f"{task.pool} must count deferred tasks"
            assert task.pool_slots <= synced[task.pool].slots, (environment, task.task_id)
    for task in operators:
        assert (task.pool, task.pool_slots) == task_slots(MODELS[dag_id], task.task_id)


def test_a_tuning_task_holds_max_parallel_jobs_times_instances(dagbag):
    for dag_id, model in MODELS.items():
        if dag_id.startswith("train__"):
            tune = dagbag.dags[dag_id].get_task("tune")
            training = model.training
            assert tune.pool_slots == training.hpo.max_parallel_jobs * training.instance_count
            assert dagbag.dags[dag_id].get_task("train_model").pool_slots == (
                training.instance_count
            )


@pytest.mark.parametrize("dag_id", sorted(MODELS))
def test_dags_start_unpaused(dagbag, dag_id):
    assert dagbag.dags[dag_id].is_paused_upon_creation is False
