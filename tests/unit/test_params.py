"""mlops.params: the run params of each DAG kind, as Airflow validates them, as the trigger Lambda
and trigger-dag validate them (include/trigger_lambda/conf_schema.py against the generated
conf_schemas.json), and where they take effect (the step functions)."""

from __future__ import annotations

import copy
import importlib.util
import json
import pickle

import jsonschema
import pytest
from airflow.sdk.definitions.param import ParamsDict
from airflow.sdk.exceptions import ParamValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mlops import params, steps
from mlops.config import get_model
from mlops.naming import RunIdentity

from tests.support.param_cases import INVALID_CONFS, SECRET, VALID_CONFS
from tests.unit.conftest import DEFAULT_COUNTRIES, REPO

LAMBDA_DIR = REPO / "include" / "trigger_lambda"
DE = get_model("de", DEFAULT_COUNTRIES)
FR = get_model("fr", DEFAULT_COUNTRIES)
GB = get_model("gb", DEFAULT_COUNTRIES)
BATTERIES = get_model("de-batteries", DEFAULT_COUNTRIES)
RUN = {"run_id": "manual__x", "data_month": "2026-10", "code_version": "abc1234"}
PREPARED = {
    "Processing": {
        "ProcessingOutputConfig": {
            "Outputs": [
                {"OutputName": name, "S3Output": {"S3Uri": f"s3://data/de/2026-10/{name}/"}}
                for name in ("train", "validation", "test_features", "test_labels")
            ]
        }
    }
}


def _conf_schema_module():
    spec = importlib.util.spec_from_file_location("conf_schema", LAMBDA_DIR / "conf_schema.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


conf_schema = _conf_schema_module()


def kind_and_model(dag_id: str):
    kind, _, key = dag_id.partition("__")
    return kind, get_model(key.replace("__", "-"), DEFAULT_COUNTRIES)


def airflow_validate(dag_id: str, conf: dict) -> dict:
    """What Airflow does with a triggered run's conf: the DAG's params updated, then validated."""
    kind, model = kind_and_model(dag_id)
    dag_params = copy.deepcopy(ParamsDict(params.airflow_params(kind, model)))
    dag_params.update(conf)
    return dag_params.validate()


def test_the_lambdas_schema_file_is_generated_from_the_specs():
    assert (LAMBDA_DIR / "conf_schemas.json").read_text() == params.conf_schemas_text()
    assert params.main(["--check"]) == 0


@pytest.mark.parametrize(("dag_id", "conf", "field"), INVALID_CONFS)
def test_airflow_params_refuse_each_invalid_value(dag_id, conf, field):
    kind, model = kind_and_model(dag_id)
    name = field.split(".")[1]
    if name not in params.param_specs(kind, model):
        # Airflow keeps unknown conf keys; the Lambda and trigger-dag refuse them.
        airflow_validate(dag_id, conf)
        return
    with pytest.raises(ParamValidationError, match=f"param {name}"):
        airflow_validate(dag_id, conf)


@pytest.mark.parametrize(("dag_id", "conf", "field"), INVALID_CONFS)
def test_the_lambdas_check_refuses_each_naming_the_field_not_the_value(dag_id, conf, field):
    schemas = conf_schema.load_schemas(LAMBDA_DIR / "conf_schemas.json")
    with pytest.raises(conf_schema.ConfError) as refused:
        conf_schema.validate_conf(dag_id, conf, schemas)
    assert refused.value.field == field
    assert SECRET not in str(refused.value) and "987654" not in str(refused.value)


@pytest.mark.parametrize(("dag_id", "conf"), VALID_CONFS)
def test_valid_confs_pass_both_and_airflow_fills_the_models_defaults(dag_id, conf):
    schemas = conf_schema.load_schemas(LAMBDA_DIR / "conf_schemas.json")
    conf_schema.validate_conf(dag_id, conf, schemas)
    resolved = airflow_validate(dag_id, conf)
    kind, model = kind_and_model(dag_id)
    assert set(resolved) == set(params.param_specs(kind))
    if kind == "train" and "hpo_max_jobs" not in conf:
        assert resolved["hpo_max_jobs"] == model.training.hpo.max_jobs


def test_each_model_offers_only_its_accelerators_instance_types():
    assert params.training_instance_types(DE) == ["ml.trn1.2xlarge", "ml.trn1.32xlarge"]
    assert all(t.startswith(("ml.g5.", "ml.g4dn.")) for t in params.training_instance_types(FR))
    with pytest.raises(ParamValidationError, match="instance_type"):
        airflow_validate("train__de", {"instance_type": "ml.g5.xlarge"})  # a GPU type for DE
    airflow_validate("train__fr", {"instance_type": "ml.g5.2xlarge"})


def test_every_param_has_a_title_and_a_description():
    for kind in ("train", "evaluate", "deploy", "batch_inference"):
        for name, spec in params.param_specs(kind, GB).items():
            assert spec["title"] and spec["description"], (kind, name)
            assert "type" in spec, (kind, name)


def test_a_schema_keyword_the_lambda_cannot_enforce_is_refused_when_loaded():
    with pytest.raises(ValueError, match="minLength"):
        conf_schema.check_schema({"type": "object", "properties": {"x": {"minLength": 2}}})


json_leaf = (
    st.none() | st.booleans() | st.integers(-5, 600) | st.floats(-2, 2) | st.text(max_size=12)
)
json_value = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
param_values = (
    json_value
    | st.sampled_from(["2026-10", "2026-13", "", "ml.m5.xlarge", "ml.trn1.2xlarge", "x" * 300])
    | st.dictionaries(st.sampled_from(["lr", "country", "9x", "a.b"]), json_value, max_size=3)
)


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(
    kind=st.sampled_from(["train", "evaluate", "deploy", "batch_inference"]),
    data=st.data(),
)
def test_the_lambdas_check_agrees_with_the_jsonschema_package(kind, data):
    schema = params.conf_schema(kind)
    names = [*schema["properties"], "unknown"]
    conf = data.draw(st.dictionaries(st.sampled_from(names), param_values, max_size=3))
    expected = jsonschema.Draft202012Validator(schema).is_valid(conf)
    try:
        conf_schema.validate(conf, schema)
        ours = True
    except conf_schema.ConfError:
        ours = False
    assert ours == expected, conf


# ---------------------------------------------------------------- where the params take effect
def _tuning(model, run_params, settings):
    return steps.tuning_request_after_prepare(
        settings,
        params.model_for_train(model, run_params),
        RUN,
        PREPARED,
        hyperparameters=params.given_hyperparameters(run_params),
    )


def test_an_hpo_budget_param_sets_the_tuning_jobs_limits(settings):
    configured = _tuning(GB, {}, settings)["HyperParameterTuningJobConfig"]["ResourceLimits"]
    limits = _tuning(GB, {"hpo_max_jobs": 9, "hpo_max_parallel_jobs": 3}, settings)[
        "HyperParameterTuningJobConfig"
    ]["ResourceLimits"]
    assert (limits["MaxNumberOfTrainingJobs"], limits["MaxParallelTrainingJobs"]) == (9, 3)
    assert (configured["MaxNumberOfTrainingJobs"], configured["MaxParallelTrainingJobs"]) == (
        GB.training.hpo.max_jobs,
        GB.training.hpo.max_parallel_jobs,
    )
    # Three waves of the child job's limit: the tuning job's own limit follows the budget.
    assert limits["MaxRuntimeInSeconds"] == 3 * GB.training.max_runtime_seconds


def test_more_parallel_jobs_than_jobs_is_refused_naming_both_params():
    with pytest.raises(params.ParamsError, match="train__gb.*hpo_max_jobs.*hpo_max_parallel_jobs"):
        params.model_for_train(GB, {"hpo_max_jobs": 2, "hpo_max_parallel_jobs": 3})


def test_an_instance_type_param_sets_the_training_resources(settings):
    tuning = _tuning(DE, {"instance_type": "ml.trn1.32xlarge"}, settings)
    assert tuning["TrainingJobDefinition"]["ResourceConfig"]["InstanceType"] == "ml.trn1.32xlarge"
    with pytest.raises(params.ParamsError, match="instance_type"):
        params.model_for_train(DE, {"instance_type": "ml.m5.xlarge"})


def test_given_hyperparameters_skip_tuning_and_train_with_them(settings):
    run_params = {"hyperparameters": {"alpha": "0.001", "loss": "log_loss"}}
    assert _tuning(GB, run_params, settings) is None  # the short-circuit: tune is skipped
    training = steps.training_request_after_tuning(
        settings,
        params.model_for_train(GB, run_params),
        RUN,
        PREPARED,
        None,
        hyperparameters=params.given_hyperparameters(run_params),
    )
    run = RunIdentity(**RUN)
    from mlops.sagemaker_requests import static_hyperparameters

    assert training["HyperParameters"] == {
        **static_hyperparameters(GB, run),
        "alpha": "0.001",
        "loss": "log_loss",
    }


def test_hyperparameters_may_not_replace_the_runs_own():
    with pytest.raises(params.ParamsError, match="country"):
        params.given_hyperparameters({"hyperparameters": {"country": "fr"}})


def test_training_without_a_tuning_result_or_hyperparameters_fails_clearly(settings):
    with pytest.raises(ValueError, match="train__gb: no tuning result"):
        steps.training_request_after_tuning(settings, GB, RUN, PREPARED, None)


def test_a_canary_percent_param_sets_the_blue_green_canary(settings):
    created = {"EndpointConfig": {"EndpointConfigName": "cfg-1"}}
    request = steps.endpoint_request_after_config(
        settings, params.model_for_deploy(DE, {"canary_percent": 30}), RUN, created
    )
    routing = request["DeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing["CanarySize"] == {"Type": "CAPACITY_PERCENT", "Value": 30}
    assert routing["WaitIntervalInSeconds"] == DE.endpoint.canary.wait_seconds
    # A model without a canary gets one for this run.
    no_canary = steps.endpoint_request_after_config(
        settings, params.model_for_deploy(BATTERIES, {"canary_percent": 5}), RUN, created
    )
    assert no_canary["DeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"][
        "CanarySize"
    ] == {"Type": "CAPACITY_PERCENT", "Value": 5}


def test_a_canary_percent_on_a_serverless_endpoint_is_refused():
    with pytest.raises(params.ParamsError, match="deploy__fr.*serverless"):
        params.model_for_deploy(FR, {"canary_percent": 10})


def test_a_review_threshold_param_reaches_the_postprocess_job(settings):
    transformed = {"Transform": {"TransformOutput": {"S3OutputPath": "s3://m/raw/"}}}
    request = steps.postprocess_request_after_transform(
        settings, params.model_for_batch(GB, {"review_threshold": 0.42}), RUN, transformed
    )
    assert request["Environment"]["REVIEW_THRESHOLD"] == "0.42"
    configured = steps.postprocess_request_after_transform(settings, GB, RUN, transformed)
    assert configured["Environment"]["REVIEW_THRESHOLD"] == str(GB.batch_inference.review_threshold)


def test_the_models_config_is_unchanged_by_a_runs_params():
    before = json.dumps(GB.model_dump(), sort_keys=True)
    params.model_for_train(GB, {"hpo_max_jobs": 9, "hpo_max_parallel_jobs": 3})
    params.model_for_batch(GB, {"review_threshold": 0.1})
    assert json.dumps(GB.model_dump(), sort_keys=True) == before


@pytest.mark.parametrize("kind", ["train", "evaluate", "deploy", "batch_inference"])
def test_the_dag_params_schemas_are_shared_by_every_copy_and_read_only(kind):
    """Airflow deep-copies a DAG's params into every task: the copies share each schema."""
    dag_params = ParamsDict(params.airflow_params(kind, DE))
    copied = copy.deepcopy(dag_params)
    for name in dag_params:
        schema = dag_params.get_param(name).schema
        assert copied.get_param(name).schema is schema
        with pytest.raises(TypeError, match="read-only"):
            schema["type"] = "string"
        with pytest.raises(TypeError, match="read-only"):
            schema.update({"type": "string"})
    assert copied.validate() == dag_params.validate()
    schema = dag_params.get_param(name).schema
    assert copy.copy(schema) is schema
    assert pickle.loads(pickle.dumps(schema)) == schema


@pytest.mark.parametrize("kind", ["train", "evaluate", "deploy", "batch_inference"])
def test_the_dag_params_declare_draft_7_and_keep_the_specs(kind):
    """Airflow checks each param's schema against its draft's metaschema at DAG construction:
    draft 7's is the cheap one. Each schema is its spec otherwise."""
    specs = params.param_specs(kind, DE)
    for name, param in params.airflow_params(kind, DE).items():
        assert jsonschema.validators.validator_for(param.schema) is jsonschema.Draft7Validator
        jsonschema.Draft7Validator.check_schema(param.schema)
        spec = dict(specs[name])
        assert param.value == spec.pop("default")
        assert param.description == spec.pop("description")
        assert {k: v for k, v in param.schema.items() if k != "$schema"} == spec
