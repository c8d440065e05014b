"""DagBag integrity: every DAG imports, exists per enabled model and is wired as designed."""

import pytest
from airflow.providers.amazon.aws.operators.sagemaker import SageMakerBaseOperator
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from mlops.config import DAG_KINDS, enabled_models
from mlops.dag_factory import fallback_cron
from mlops.params import param_specs

from tests.dags.conftest import QUEUE_URL_PREFIX

MODELS = {m.key: m for m in enabled_models()}
# DAG id -> (kind, model)
DAGS = {m.dag_id(kind): (kind, m) for kind in DAG_KINDS for m in MODELS.values()}
DAG_IDS = sorted(DAGS)

# task → its upstream tasks, per DAG kind: the pipeline diagram of docs and README.
GRAPHS = {
    "train": {
        "build_requests": set(),
        "prepare_data": {"build_requests"},
        "tuning_request": {"build_requests", "prepare_data"},
        "tune": {"prepare_data", "tuning_request"},
        "training_request": {"build_requests", "prepare_data", "tune"},
        "train_model": {"training_request"},
        "model_request": {"build_requests", "train_model"},
        "create_model": {"model_request", "train_model"},
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
        "transform_challenger_golden": {"build_requests"},
        "transform_champion_golden": {"build_requests", "has_champion"},
        "evaluation_request": {
            "build_requests",
            "transform_challenger",
            "transform_champion",
            "transform_challenger_golden",
            "transform_champion_golden",
        },
        "evaluate_models": {"evaluation_request"},
        "decide": {"build_requests", "evaluate_models"},
        "compare": {"build_requests", "decide"},
        "winner_changed": {"compare"},
        "publish_winner": {"compare", "winner_changed"},
    },
    "deploy": {
        "build_requests": set(),
        "create_endpoint_config": {"build_requests"},
        "endpoint_request": {"build_requests", "create_endpoint_config"},
        "deploy_endpoint": {"endpoint_request"},
        "verify_endpoint": {"create_endpoint_config", "deploy_endpoint"},
        "smoke_test": {"build_requests", "verify_endpoint"},
    },
    "batch_inference": {
        "plan_month": set(),
        "wait_for_input": {"plan_month"},
        "build_requests": {"plan_month", "wait_for_input"},
        "batch_transform": {"build_requests"},
        "postprocess_request": {"build_requests", "batch_transform"},
        "postprocess": {"postprocess_request"},
        "summarize": {"build_requests", "postprocess"},
    },
}


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}


def test_four_dags_per_enabled_model_and_nothing_else(dagbag):
    assert sorted(dagbag.dag_ids) == DAG_IDS


def test_the_de_batteries_scheme_has_its_own_four_dags(dagbag):
    assert {
        "train__de__batteries",
        "evaluate__de__batteries",
        "deploy__de__batteries",
        "batch_inference__de__batteries",
    } <= set(dagbag.dag_ids)


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_dag_has_owner_tags_retries_docs_and_one_run_at_a_time(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    kind, model = DAGS[dag_id]
    assert dag.default_args["owner"] == model.owner
    assert {"mlops", kind, f"country:{model.country}"} <= set(dag.tags)
    if model.scheme:
        assert f"scheme:{model.scheme}" in set(dag.tags)
    else:
        assert not [tag for tag in dag.tags if tag.startswith("scheme:")]
    assert dag.default_args["retries"] >= 1
    assert dag.doc_md and f"### {kind}__" in dag.doc_md
    assert dag.max_active_runs == 1
    assert dag.catchup is False
    assert dag.default_args["on_failure_callback"]


# A model with evaluation.approval human: a person's answer between decide and compare.
HUMAN_APPROVAL_GRAPH = GRAPHS["evaluate"] | {
    "approve": {"decide"},
    "compare": {"build_requests", "decide", "approve"},
}


def expected_graph(kind: str, model) -> dict[str, set[str]]:
    if kind == "evaluate" and model.evaluation.approval == "human":
        return HUMAN_APPROVAL_GRAPH
    return GRAPHS[kind]


def test_fr_asks_a_person_and_gb_does_not():
    # The demo's human-approved country; tests/e2e/test_loop.py drives gb without a person.
    assert MODELS["fr"].evaluation.approval == "human"
    assert MODELS["gb"].evaluation.approval == "auto"


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_task_graph_matches_the_design(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    graph = {task.task_id: set(task.upstream_task_ids) for task in dag.tasks}
    assert graph == expected_graph(*DAGS[dag_id])


@pytest.mark.parametrize(
    "key", sorted(k for k, m in MODELS.items() if m.evaluation.approval == "human")
)
def test_the_approve_task_asks_a_person_rejects_on_timeout_and_needs_no_pool(dagbag, key):
    from airflow.providers.standard.operators.hitl import HITLOperator

    model = MODELS[key]
    approve = dagbag.dags[model.dag_id("evaluate")].get_task("approve")
    assert isinstance(approve, HITLOperator)
    assert approve.options == ["Approve", "Reject"] and approve.multiple is False
    assert approve.defaults == ["Reject"]  # what the timeout sweep answers
    assert approve.response_timeout.total_seconds() == model.evaluation.approval_timeout_seconds
    assert approve.execution_timeout is None  # would fail the task before it parks
    # It parks in awaiting_input (no worker slot, no pool slot): no SageMaker pool either.
    assert (approve.pool, approve.pool_slots) == ("default_pool", 1)
    assert approve.trigger_rule == "all_success"
    # The form holds the comment only, not the DAG's run params.
    assert set(approve.serialized_params) == {"comment"}


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_every_param_is_typed_titled_and_described_for_the_trigger_form(dagbag, dag_id):
    kind, model = DAGS[dag_id]
    params = dagbag.dags[dag_id].params
    assert set(params) == set(param_specs(kind, model))
    for name in params:
        param = params.get_param(name)
        assert param.schema.get("type") and param.schema.get("title"), name
        assert param.description, name
    params.validate()  # the model's configured values are valid defaults


def test_given_hyperparameters_skip_tune_and_still_train(dagbag):
    dag = dagbag.dags["train__de"]
    assert dag.get_task("tuning_request").ignore_downstream_trigger_rules is False
    assert dag.get_task("tuning_request").downstream_task_ids == {"tune"}
    assert dag.get_task("training_request").trigger_rule == "none_failed_min_one_success"


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
    assert reporters == [expected[DAGS[dag_id][0]]]


def _asset_suffix(model) -> tuple[str, str]:
    """(name suffix, URI suffix) of a model's assets: ``de`` / ``de``, ``de__batteries`` /
    ``de/batteries``."""
    if model.scheme is None:
        return model.country, model.country
    return f"{model.country}__{model.scheme}", f"{model.country}/{model.scheme}"


@pytest.mark.parametrize("key", sorted(MODELS))
def test_challenger_asset_links_train_to_evaluate(dagbag, key):
    model = MODELS[key]
    name, uri = _asset_suffix(model)
    register = dagbag.dags[model.dag_id("train")].get_task("register_model_version")
    assert [asset.uri for asset in register.outlets] == [f"mlops://challenger/{uri}"]
    assert register.outlets[0].name == f"challenger__{name}"
    assert dagbag.dags[model.dag_id("evaluate")].schedule.name == f"challenger__{name}"


@pytest.mark.parametrize("key", sorted(MODELS))
def test_winner_asset_is_emitted_by_evaluate_and_schedules_deploy_only_with_auto_deploy(
    dagbag, key
):
    model = MODELS[key]
    name, uri = _asset_suffix(model)
    publish = dagbag.dags[model.dag_id("evaluate")].get_task("publish_winner")
    assert [asset.uri for asset in publish.outlets] == [f"mlops://winner/{uri}"]
    schedule = dagbag.dags[model.dag_id("deploy")].schedule
    if model.endpoint.auto_deploy:
        assert schedule.name == publish.outlets[0].name == f"winner__{name}"
    else:
        assert schedule is None


def _watched_queue(asset) -> str:
    (watcher,) = asset.watchers
    classpath, kwargs = watcher.trigger.serialize()
    assert classpath == "airflow.providers.amazon.aws.triggers.sqs.SqsSensorTrigger"
    return kwargs["sqs_queue"]


@pytest.mark.parametrize("key", sorted(MODELS))
def test_train_starts_when_the_models_labeled_month_lands(dagbag, key):
    model = MODELS[key]
    name, uri = _asset_suffix(model)
    schedule = dagbag.dags[model.dag_id("train")].schedule
    if model.training.schedule is not None:  # the cron fallback, off by default
        assert schedule.timetable.expression == model.training.schedule
        schedule = schedule.asset_condition
    assert schedule.name == f"landing__labeled__{name}"
    assert schedule.uri == f"mlops://landing/labeled/{uri}"
    assert _watched_queue(schedule) == f"{QUEUE_URL_PREFIX}labeled-{model.key}"


@pytest.mark.parametrize("key", sorted(MODELS))
def test_batch_inference_starts_when_the_unlabeled_month_lands_with_a_cron_fallback(dagbag, key):
    model = MODELS[key]
    name, _ = _asset_suffix(model)
    dag = dagbag.dags[model.dag_id("batch_inference")]
    assert dag.schedule.asset_condition.name == f"landing__unlabeled__{name}"
    assert _watched_queue(dag.schedule.asset_condition) == (
        f"{QUEUE_URL_PREFIX}unlabeled-{model.key}"
    )
    expected = model.batch_inference.schedule or fallback_cron(model)
    assert dag.schedule.timetable.expression == expected
    sensor = dag.get_task("wait_for_input")
    assert sensor.deferrable and sensor.wildcard_match
    assert sensor.timeout == model.batch_inference.input_timeout_seconds


@pytest.mark.parametrize("key", sorted(MODELS))
def test_a_failed_evaluation_never_reaches_the_winner_write(dagbag, key):
    dag = dagbag.dags[MODELS[key].dag_id("evaluate")]
    # compare (the only writer of the winners table) needs every upstream to succeed;
    # only the step after the optional champion transform tolerates its skip.
    assert dag.get_task("compare").trigger_rule == "all_success"
    if "approve" in dag.task_ids:  # a person's answer is needed: no answer, no write
        assert "approve" in dag.get_task("compare").upstream_task_ids
    assert dag.get_task("decide").trigger_rule == "all_success"
    assert dag.get_task("evaluate_models").trigger_rule == "all_success"
    assert dag.get_task("evaluation_request").trigger_rule == "none_failed"
