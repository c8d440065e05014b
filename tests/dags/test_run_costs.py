"""The runs' costs count every SageMaker job their DAG starts: each DAG's ``JOB_TASKS`` (what its
final task describes for the costs) are exactly its job operators' tasks."""

import importlib

import pytest
from airflow.providers.amazon.aws.operators.sagemaker import (
    SageMakerProcessingOperator,
    SageMakerTrainingOperator,
    SageMakerTransformOperator,
    SageMakerTuningOperator,
)
from mlops.config import enabled_models

from tests.dags.conftest import DAGS

JOB_OPERATORS = (
    SageMakerProcessingOperator,
    SageMakerTrainingOperator,
    SageMakerTransformOperator,
    SageMakerTuningOperator,
)
# Each DAG file's kind and the task that reports the run's costs.
REPORTING = {
    "train": "register_model_version",
    "evaluate": "compare",
    "batch_inference": "summarize",
}


@pytest.mark.parametrize("kind", sorted(REPORTING))
def test_the_costs_count_every_job_operator_of_the_dag(dagbag, kind, monkeypatch):
    monkeypatch.syspath_prepend(str(DAGS))
    job_tasks = importlib.import_module(kind).JOB_TASKS
    for model in enabled_models():
        dag = dagbag.dags[model.dag_id(kind)]
        jobs = {task.task_id for task in dag.tasks if isinstance(task, JOB_OPERATORS)}
        assert set(job_tasks) == jobs, dag.dag_id
        # The reporting task comes after every job task: their results are there to describe.
        upstream = dag.get_task(REPORTING[kind]).get_flat_relative_ids(upstream=True)
        assert jobs <= upstream, dag.dag_id
