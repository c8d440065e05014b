"""Terraform agrees with the rest of the project: the Airflow pin, the settings the DAG package
reads (docs/interfaces.md), the DAG ids the trigger Lambda may start, the ECR and secret names."""

from __future__ import annotations

import re

import pytest

from tests.support.terraform import (
    DEPLOY,
    MODULES,
    REPO,
    all_labelled_blocks,
    named_blocks,
    parse,
    variable_default,
)

INTERFACES = (REPO / "docs" / "interfaces.md").read_text(encoding="utf-8")


def _settings_keys() -> list[str]:
    section = INTERFACES.split("## Environment settings", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE)


SETTINGS_KEYS = _settings_keys()


def _platform_locals() -> dict:
    merged: dict = {}
    for block in parse(MODULES / "platform" / "main.tf")["locals"]:
        merged.update(block)
    return merged


def test_interfaces_lists_the_settings_keys():
    assert len(SETTINGS_KEYS) >= 19
    assert {"data_bucket", "kms_key_arn", "airflow_base_url", "enable_network_isolation"} <= set(
        SETTINGS_KEYS
    )


def test_mwaa_airflow_version_equals_the_python_pin():
    pin = re.search(
        r"^apache-airflow==([0-9.]+)$", (REPO / "requirements-dev.txt").read_text(), re.MULTILINE
    )
    assert pin, "requirements-dev.txt has no apache-airflow== pin"
    (environment,) = [b for _, _, b in all_labelled_blocks("resource", "aws_mwaa_environment")]
    assert environment["airflow_version"] == "${var.airflow_version}"
    assert variable_default("mwaa", "airflow_version") == pin.group(1)
    assert variable_default("platform", "airflow_version") == pin.group(1)
    overrides = [
        (path, name)
        for path in [*MODULES.glob("*/main.tf"), DEPLOY / "main.tf"]
        for name, body in named_blocks(path, "module")
        if "airflow_version" in body and body["airflow_version"] != "${var.airflow_version}"
    ]
    assert overrides == []


def test_the_settings_object_has_exactly_the_documented_keys():
    settings = _platform_locals()["settings"]
    assert sorted(settings) == sorted(SETTINGS_KEYS)


def test_every_setting_is_an_output_of_the_deploy_root_with_the_same_name():
    outputs = dict(named_blocks(DEPLOY / "outputs.tf", "output"))
    missing = [key for key in SETTINGS_KEYS if key not in outputs]
    assert missing == [], f"terraform/deploy/outputs.tf lacks {missing}"
    wrong = [
        k for k in SETTINGS_KEYS if outputs[k]["value"] != f"${{module.platform.settings.{k}}}"
    ]
    assert wrong == []


def test_settings_are_written_to_the_airflow_variable_secret():
    (call,) = [
        b
        for n, b in named_blocks(MODULES / "platform" / "main.tf", "module")
        if n == "airflow_secrets"
    ]
    assert call["settings"] == "${local.settings}"
    assert call["settings_variable_name"] == "mlops_settings"
    assert _platform_locals()["variables_prefix"] == "airflow/variables"
    (secret,) = [
        b
        for _, n, b in all_labelled_blocks("resource", "aws_secretsmanager_secret")
        if n == "settings"
    ]
    assert secret["name"] == "${var.variables_prefix}/${var.settings_variable_name}"


def test_mwaa_reads_variables_and_connections_through_the_secrets_manager_backend():
    locals_ = {}
    for block in parse(MODULES / "mwaa" / "main.tf")["locals"]:
        locals_.update(block)
    options = locals_["airflow_configuration_options"]
    backend = "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend"
    assert f'"secrets.backend" = "{backend}"' in options
    assert re.search(r"connections_prefix\s*=\s*var\.connections_prefix", options)
    assert re.search(r"variables_prefix\s*=\s*var\.variables_prefix", options)


def test_slack_connection_secret_is_created_without_a_value():
    assert _platform_locals()["connections_prefix"] == "airflow/connections"
    assert variable_default("platform", "slack_connection_id") == "slack_webhook"
    versions = [
        n for _, n, _ in all_labelled_blocks("resource", "aws_secretsmanager_secret_version")
    ]
    assert versions == ["settings"]  # no version (no value in state) for connections


def test_ecr_repositories_are_named_after_the_images_under_the_name_prefix():
    images = _platform_locals()["images"]
    assert sorted(images.values()) == sorted(
        f"${{var.name_prefix}}/{image}"
        for image in ("processing", "training", "training-neuron", "inference")
    )


def test_winners_table_has_the_key_schema_the_library_uses():
    from mlops.winners import HISTORY_TABLE_SUFFIX, table_key_schema

    schema = table_key_schema()
    keys = {k["KeyType"]: k["AttributeName"] for k in schema["KeySchema"]}
    tables = {n: b for _, n, b in all_labelled_blocks("resource", "aws_dynamodb_table")}
    # The winners (CURRENT) and their append-only history, named as mlops.settings derives it.
    assert sorted(tables) == ["history", "this"]
    assert tables["history"]["name"] == "${var.name}" + HISTORY_TABLE_SUFFIX
    for table in tables.values():
        assert (table["hash_key"], table["range_key"]) == (keys["HASH"], keys["RANGE"])
        assert {(a["name"], a["type"]) for a in table["attribute"]} == {
            (a["AttributeName"], a["AttributeType"]) for a in schema["AttributeDefinitions"]
        }
        assert table["point_in_time_recovery"][0]["enabled"] is True
        assert table["deletion_protection_enabled"] == "${var.deletion_protection}"
    assert variable_default("winners_table", "deletion_protection") is True


def test_trigger_lambda_gets_the_documented_environment():
    (function,) = [b for _, _, b in all_labelled_blocks("resource", "aws_lambda_function")]
    assert function["handler"] == "handler.handler"
    assert function["runtime"] == "python3.12"
    variables = function["environment"][0]["variables"]
    assert set(variables) == {
        "MWAA_ENVIRONMENT_NAME",
        "ALLOWED_DAG_PATTERNS",
        "MAX_CONF_BYTES",
        "AIRFLOW_UI_BASE_URL",
    }


# --- the DAG ids the trigger Lambda may start --------------------------------------------------


@pytest.fixture
def generated_dag_ids() -> list[str]:
    """Every DAG id the package generates for include/config/countries.yaml: one set of four per
    enabled model (a country's default model and each of its schemes), by the library's rule."""
    from mlops import config

    models = config.enabled_models(REPO / "include" / "config" / "countries.yaml")
    assert any(model.scheme for model in models), "the countries file has no scheme model"
    return [model.dag_id(kind) for kind in config.DAG_KINDS for model in models]


def _allowed(patterns: list[str], dag_id: str) -> bool:
    return any(re.fullmatch(pattern, dag_id) for pattern in patterns)


def test_default_patterns_allow_every_generated_dag_id(generated_dag_ids):
    patterns = variable_default("trigger_lambda", "allowed_dag_patterns")
    refused = [dag_id for dag_id in generated_dag_ids if not _allowed(patterns, dag_id)]
    assert refused == []


@pytest.mark.parametrize(
    "dag_id",
    [
        "train__deu",
        "cleanup__de",
        "train__DE",
        "train_de",
        "deploy__de; drop",
        "train__de\n",
        "train__de__b",
        "train__de__batteries__x",
        "train__de_batteries",
        "train__de__Batteries",
    ],
)
def test_default_patterns_refuse_other_dag_ids(dag_id):
    assert not _allowed(variable_default("trigger_lambda", "allowed_dag_patterns"), dag_id)


def test_platform_and_lambda_module_share_the_default_patterns():
    assert variable_default("platform", "allowed_dag_patterns") == variable_default(
        "trigger_lambda", "allowed_dag_patterns"
    )


def test_default_patterns_are_the_ones_docs_interfaces_states():
    documented = re.search(
        r"`ALLOWED_DAG_PATTERNS` \(comma-separated regular expressions, default\s+`([^`]+)`",
        INTERFACES,
    )
    assert documented, "docs/interfaces.md no longer states the ALLOWED_DAG_PATTERNS default"
    assert variable_default("trigger_lambda", "allowed_dag_patterns") == documented.group(1).split(
        ","
    )


def test_default_patterns_and_conf_limit_match_the_lambda_handler():
    handler_file = REPO / "include" / "trigger_lambda" / "handler.py"
    if not handler_file.is_file():
        pytest.skip("include/trigger_lambda/handler.py is not there yet")
    from tests.support.trigger import load_handler_module

    handler = load_handler_module()
    assert variable_default(
        "trigger_lambda", "allowed_dag_patterns"
    ) == handler.DEFAULT_ALLOWED_DAG_PATTERNS.split(",")
    assert variable_default("trigger_lambda", "max_conf_bytes") == handler.DEFAULT_MAX_CONF_BYTES


# --- the settings model of the DAG package (plugins/mlops/settings.py) --------------------------


def _settings_model():
    try:
        from mlops.settings import Settings
    except ImportError:
        pytest.skip("plugins/mlops/settings.py is not there yet")
    return Settings


def test_terraform_settings_give_every_field_the_package_requires():
    model = _settings_model()
    required = {name for name, field in model.model_fields.items() if field.is_required()}
    settings = _platform_locals()["settings"]
    assert required - set(settings) == set()
    assert set(settings) - set(model.model_fields) == set()


def _terraform_regex(module: str, variable: str) -> str:
    for name, body in named_blocks(MODULES / module / "variables.tf", "variable"):
        if name == variable:
            (validation,) = body["validation"]
            found = re.search(r'regex\("(.+?)", var\.' + variable + r"\)", validation["condition"])
            assert found, f"{module}.{variable}: no regex in its validation"
            return found.group(1).replace("\\\\", "\\")
    raise KeyError(variable)


@pytest.mark.parametrize(
    "candidate",
    [
        "mlops",
        "ml-ops",
        "a",
        "abcdefghijkl",
        "abcdefghijklm",
        "ml--ops",
        "-mlops",
        "mlops-",
        "MLops",
    ],
)
@pytest.mark.parametrize("module", ["platform", "mwaa", "sagemaker_execution_role"])
def test_name_prefix_validation_accepts_what_the_package_accepts(module, candidate):
    package_pattern = _settings_model().model_fields["name_prefix"].metadata[0].pattern
    terraform = re.fullmatch(_terraform_regex(module, "name_prefix"), candidate) is not None
    package = re.fullmatch(package_pattern, candidate) is not None
    assert terraform == package, f"{candidate!r}: terraform {terraform}, package {package}"


# --- the MWAA bundle ------------------------------------------------------------------------------


def _mwaa_locals() -> dict:
    merged: dict = {}
    for block in parse(MODULES / "mwaa" / "main.tf")["locals"]:
        merged.update(block)
    return merged


@pytest.mark.parametrize(
    ("argument", "local", "upload", "path"),
    [
        (
            "requirements_s3_object_version",
            "requirements_ver",
            "requirements",
            "requirements_s3_path",
        ),
        ("plugins_s3_object_version", "plugins_ver", "plugins", "plugins_s3_path"),
        ("startup_script_s3_object_version", "startup_ver", "startup", "startup_script_s3_path"),
    ],
)
def test_mwaa_runs_the_uploaded_version_of_each_bundle_file(argument, local, upload, path):
    (environment,) = [b for _, _, b in all_labelled_blocks("resource", "aws_mwaa_environment")]
    assert environment[argument] == f"${{local.{local}}}"
    assert f"aws_s3_object.{upload}[0].version_id" in _mwaa_locals()[local]
    (obj,) = [b for _, n, b in all_labelled_blocks("resource", "aws_s3_object") if n == upload]
    # A changed file has a new hash, so Terraform uploads a new version and updates MWAA to it.
    assert obj["source_hash"].startswith("${filemd5(")
    assert obj["key"] == f"${{var.{path}}}"
    assert obj["source"] == f"${{var.bundle_dir}}/${{var.{path}}}"


def test_mwaa_takes_dags_from_the_dags_folder_the_ci_syncs():
    assert variable_default("mwaa", "dag_s3_path") == "dags/"
    assert variable_default("gitlab_oidc", "dag_s3_path") == "dags/"
    assert variable_default("gitlab_oidc", "mwaa_bundle_keys") == [
        variable_default("mwaa", "requirements_s3_path"),
        variable_default("mwaa", "plugins_s3_path"),
        variable_default("mwaa", "startup_script_s3_path"),
    ]
