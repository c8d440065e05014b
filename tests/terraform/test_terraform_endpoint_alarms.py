"""The canary rollback alarms exist: every alarm a model's AutoRollbackConfiguration names (the
countries file's endpoint.rollback_alarms) is a CloudWatch alarm terraform/ creates under that
exact name, on that model's endpoint and variant, watching what the entry says."""

from __future__ import annotations

import importlib.util
import json

import pytest
from mlops import config, naming
from mlops import sagemaker_requests as requests
from mlops.settings import parse_settings
from mlops.steps import RunIdentity

from tests.support.terraform import (
    DEPLOY,
    MODULES,
    REPO,
    as_list,
    labelled_blocks,
    named_blocks,
    parse,
)

COUNTRIES_FILE = REPO / "include" / "config" / "countries.yaml"
MODELS_FILE = DEPLOY / "landing_models.json"
ALARMS = MODULES / "endpoint_alarms" / "main.tf"
SETTINGS = REPO / "include" / "config" / "settings.local.json"
ENDPOINT = "${var.name_prefix}-${each.value.model_key}"

_spec = importlib.util.spec_from_file_location(
    "terraform_models", REPO / "scripts" / "terraform_models.py"
)
terraform_models = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(terraform_models)


def _resources() -> dict[str, dict]:
    return {
        n: b
        for t, n, b in labelled_blocks(ALARMS, "resource")
        if t == "aws_cloudwatch_metric_alarm"
    }


def _module_call(path, name) -> dict:
    (body,) = [b for n, b in named_blocks(path, "module") if n == name]
    return body


def _locals(path) -> dict:
    return {k: v for block in parse(path).get("locals", []) for k, v in block.items()}


def _created(document: dict) -> dict[str, tuple[str, dict]]:
    """The alarms modules/endpoint_alarms creates from a models file: per name, the resource
    (errors or latency) and its entry. Each resource's for_each is checked to be exactly the
    filter on its metric in test_each_alarm_resource_takes_the_entries_of_its_metric."""
    return {
        name: (entry["metric"], entry)
        for name, entry in document["endpoint_alarms"].items()
        if entry["metric"] in _resources()
    }


def _rollback_alarm_names(settings, models) -> dict[str, str]:
    """Per alarm name the rollback of a CreateEndpoint request names, the model's key."""
    run = RunIdentity(run_id="r", data_month="2026-10", code_version="c")
    named = {}
    for model in models:
        request = requests.endpoint_request(settings, model, run, endpoint_config_name="c")
        rollback = request.get("DeploymentConfig", {}).get("AutoRollbackConfiguration", {})
        for alarm in rollback.get("Alarms", []):
            named[alarm["AlarmName"]] = model.key
    return named


@pytest.fixture(scope="module")
def settings():
    return parse_settings(json.loads(SETTINGS.read_text()))


def test_every_alarm_a_rollback_names_is_created_on_its_models_endpoint(settings):
    models = config.enabled_models(COUNTRIES_FILE)
    named = _rollback_alarm_names(settings, models)
    assert named, "no model of the countries file deploys with rollback alarms"
    created = _created(json.loads(MODELS_FILE.read_text()))
    missing = sorted(set(named) - set(created))
    assert missing == [], f"rollback alarms terraform/ does not create: {missing}"
    for name, model_key in named.items():
        assert created[name][1]["model_key"] == model_key, name
        assert created[name][1]["variant_name"] == requests.VARIANT_NAME, name


def test_a_country_whose_alarms_terraform_lacks_fails_the_check(tmp_path, capsys):
    # A new country with a canary and alarms, the models file not regenerated: the check fails.
    countries = tmp_path / "countries.yaml"
    countries.write_text(
        COUNTRIES_FILE.read_text()
        + """
  - code: pl
    code_table_version: "2026-01"
    endpoint:
      canary: {percent: 10}
      rollback_alarms: [{name: mlops-pl-endpoint-5xx, metric: errors}]
"""
    )
    output = tmp_path / "landing_models.json"
    output.write_text(MODELS_FILE.read_text())
    assert (
        terraform_models.main(
            ["--countries-file", str(countries), "--output", str(output), "--check"]
        )
        == 1
    )
    assert "is out of date" in capsys.readouterr().err
    assert terraform_models.main(["--countries-file", str(countries), "--output", str(output)]) == 0
    created = _created(json.loads(output.read_text()))
    assert created["mlops-pl-endpoint-5xx"][1]["model_key"] == "pl"


def test_each_alarm_resource_takes_the_entries_of_its_metric():
    resources = _resources()
    assert set(resources) == {"errors", "latency"}
    for metric, body in resources.items():
        assert body["for_each"] == (
            f'${{{{for name, alarm in var.alarms : name => alarm if alarm.metric == "{metric}"}}}}'
        )
        assert body["alarm_name"] == "${each.key}"
        assert body["treat_missing_data"] == "notBreaching"
        assert body["alarm_actions"] == ["${var.alarm_topic_arn}"]
        assert body["threshold"] == "${each.value.threshold}"
        assert body["evaluation_periods"] == "${each.value.evaluation_periods}"


def test_the_latency_alarm_watches_the_endpoints_average_model_latency():
    latency = _resources()["latency"]
    assert (latency["namespace"], latency["metric_name"], latency["statistic"]) == (
        "AWS/SageMaker",
        "ModelLatency",
        "Average",
    )
    assert latency["dimensions"] == {
        "EndpointName": ENDPOINT,
        "VariantName": "${each.value.variant_name}",
    }


def test_the_errors_alarm_sums_5xx_and_model_errors_of_the_endpoint():
    errors = _resources()["errors"]
    assert _locals(ALARMS)["error_metrics"] == ["Invocation5XXErrors", "InvocationModelErrors"]
    (expression,) = as_list(errors["metric_query"])
    assert expression["expression"] == "FILL(m0, 0) + FILL(m1, 0)"
    assert expression["return_data"] is True
    (queries,) = as_list(errors["dynamic"])
    (content,) = as_list(queries["metric_query"]["content"])
    assert queries["metric_query"]["for_each"] == "${local.error_metrics}"
    assert content["id"] == "m${metric_query.key}"
    (metric,) = as_list(content["metric"])
    assert (metric["namespace"], metric["metric_name"], metric["stat"]) == (
        "AWS/SageMaker",
        "${metric_query.value}",
        "Sum",
    )
    assert metric["dimensions"] == {
        "EndpointName": ENDPOINT,
        "VariantName": "${each.value.variant_name}",
    }


def test_the_alarms_endpoint_name_is_the_librarys():
    # Terraform writes <name_prefix>-<model key>, as mlops.naming does.
    assert naming.endpoint_name("mlops", "de-batteries") == "mlops-de-batteries"


def test_the_deploy_root_and_the_platform_pass_the_alarms_on():
    assert _locals(DEPLOY / "main.tf")["endpoint_alarms"] == "${local.models_file.endpoint_alarms}"
    assert _module_call(DEPLOY / "main.tf", "platform")["endpoint_alarms"] == (
        "${local.endpoint_alarms}"
    )
    call = _module_call(MODULES / "platform" / "main.tf", "endpoint_alarms")
    assert call["source"] == "../endpoint_alarms"
    assert call["alarms"] == "${var.endpoint_alarms}"
    assert call["name_prefix"] == "${var.name_prefix}"
