"""DagBag integrity: every DAG imports, exists per enabled country and is wired as designed."""

import pytest
from airflow.providers.amazon.aws.operators.sagemaker import SageMakerBaseOperator
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from mlops.config import enabled_countries

from tests.dags.conftest import KINDS

COUNTRIES = {c.code: c for c in enabled_countries()}
DAG_IDS = sorted(f"{kind}__{cc}" for kind in KINDS for cc in COUNTRIES)

# task → its upstream tasks, per DAG kind: the pipeline diagram of docs and README.
GRAPHS = {
    "train": {
        "build_requests": set(),
        "prepare_data": {"build_requests"},
        "tuning_config": {"build_requests", "prepare_data"},
        "tune": {"prepare_data", "tuning_config"},
        "training_config": {"build_requests", "prepare_data", "tune"},
        "train_model": {"training_config", "tune"},
        "model_config": {"build_requests", "train_model"},
        "create_model": {"model_config", "train_model"},
        "register_model_version": {
            "build_requests",
            "prepare_data",
            "train_model",
            "create_model",
        },
    },
    "evaluate": {
        "build_requests": set(),
        "transform_challenger": {"build_requests"},
        "has_champion": {"build_requests"},
        "transform_champion": {"build_requests", "has_champion"},
        "evaluation_config": {"build_requests", "transform_challenger", "transform_champion"},
        "evaluate_models": {"evaluation_config"},
        "compare": {"build_requests", "evaluate_models"},
        "winner_changed": {"compare"},
        "publish_winner": {"compare", "winner_changed"},
    },
    "deploy": {
        "build_requests": set(),
        "create_endpoint_config": {"build_requests"},
        "endpoint_config": {"build_requests", "create_endpoint_config"},
        "deploy_endpoint": {"endpoint_config"},
        "verify_endpoint": {"create_endpoint_config", "deploy_endpoint"},
        "smoke_test": {"build_requests", "verify_endpoint"},
    },
    "batch_inference": {
        "plan_month": set(),
        "wait_for_input": {"plan_month"},
        "build_requests": {"plan_month", "wait_for_input"},
        "batch_transform": {"build_requests"},
        "postprocess_config": {"build_requests", "batch_transform"},
        "postprocess": {"postprocess_config"},
        "summarize": {"build_requests", "postprocess"},
    },
}


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}


def test_four_dags_per_enabled_country_and_nothing_else(dagbag):
    assert sorted(dagbag.dag_ids) == DAG_IDS


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_dag_has_owner_tags_retries_docs_and_one_run_at_a_time(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    kind, cc = dag_id.split("__")
    assert dag.default_args["owner"] == COUNTRIES[cc].owner
    assert {"mlops", kind, f"country:{cc}"} <= set(dag.tags)
    assert dag.default_args["retries"] >= 1
    assert dag.doc_md and f"### {kind}__" in dag.doc_md
    assert dag.max_active_runs == 1
    assert dag.catchup is False
    assert dag.default_args["on_failure_callback"]


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_task_graph_matches_the_design(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    graph = {task.task_id: set(task.upstream_task_ids) for task in dag.tasks}
    assert graph == GRAPHS[dag_id.split("__")[0]]


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_every_param_is_typed_for_the_trigger_form(dagbag, dag_id):
    params = dagbag.dags[dag_id].params
    assert params
    for name in params:
        assert params.get_param(name).schema.get("type") == "string", name


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_sagemaker_operators_and_sensor_wait_deferrably_with_sized_waits(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    for task in dag.tasks:
        if isinstance(task, SageMakerBaseOperator | S3KeySensor):
            assert task._pre_execute_hook is not None, task.task_id
            if hasattr(task, "deferrable"):
                if task.task_id not in ("create_model", "create_endpoint_config"):
                    assert task.deferrable, task.task_id


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_success_notification_on_the_final_reporting_task(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    reporters = [task.task_id for task in dag.tasks if task.on_success_callback]
    expected = {
        "train": "register_model_version",
        "evaluate": "compare",
        "deploy": "smoke_test",
        "batch_inference": "summarize",
    }
    assert reporters == [expected[dag_id.split("__")[0]]]


@pytest.mark.parametrize("cc", sorted(COUNTRIES))
def test_challenger_asset_links_train_to_evaluate(dagbag, cc):
    register = dagbag.dags[f"train__{cc}"].get_task("register_model_version")
    assert [asset.uri for asset in register.outlets] == [f"mlops://challenger/{cc}"]
    assert register.outlets[0].name == f"challenger__{cc}"
    assert dagbag.dags[f"evaluate__{cc}"].schedule.name == f"challenger__{cc}"


@pytest.mark.parametrize("cc", sorted(COUNTRIES))
def test_winner_asset_is_emitted_by_evaluate_and_schedules_deploy_only_with_auto_deploy(dagbag, cc):
    publish = dagbag.dags[f"evaluate__{cc}"].get_task("publish_winner")
    assert [asset.uri for asset in publish.outlets] == [f"mlops://winner/{cc}"]
    schedule = dagbag.dags[f"deploy__{cc}"].schedule
    if COUNTRIES[cc].endpoint.auto_deploy:
        assert schedule.name == publish.outlets[0].name == f"winner__{cc}"
    else:
        assert schedule is None


@pytest.mark.parametrize("cc", sorted(COUNTRIES))
def test_batch_inference_runs_on_the_countrys_cron(dagbag, cc):
    dag = dagbag.dags[f"batch_inference__{cc}"]
    assert dag.schedule == COUNTRIES[cc].batch_inference.schedule
    sensor = dag.get_task("wait_for_input")
    assert sensor.deferrable and sensor.wildcard_match
    assert sensor.timeout == COUNTRIES[cc].batch_inference.input_timeout_seconds


@pytest.mark.parametrize("cc", sorted(COUNTRIES))
def test_a_failed_evaluation_never_reaches_the_winner_write(dagbag, cc):
    dag = dagbag.dags[f"evaluate__{cc}"]
    # compare (the only writer of the winners table) needs every upstream to succeed;
    # only the step after the optional champion transform tolerates its skip.
    assert dag.get_task("compare").trigger_rule == "all_success"
    assert dag.get_task("evaluate_models").trigger_rule == "all_success"
    assert dag.get_task("evaluation_config").trigger_rule == "none_failed"
