"""Environment settings: the local file is valid; bad settings name the field."""

import json

import pytest
from mlops.settings import SettingsError, load_settings, parse_settings


def test_local_settings_file_is_valid(settings_dict):
    settings = parse_settings(settings_dict)
    assert settings.environment == "local"
    assert settings.subnet_ids == []
    assert settings.poll_interval_seconds == 2


def test_missing_key_is_named(settings_dict):
    del settings_dict["winners_table"]
    with pytest.raises(SettingsError, match="field 'winners_table': Field required"):
        parse_settings(settings_dict)


def test_bad_role_arn_is_named(settings_dict):
    with pytest.raises(SettingsError, match="field 'sagemaker_execution_role_arn'"):
        parse_settings(settings_dict | {"sagemaker_execution_role_arn": "my-role"})


def test_invalid_json_names_the_source():
    with pytest.raises(SettingsError, match="Variable mlops_settings: not valid JSON"):
        parse_settings("{", "Variable mlops_settings")


def test_variable_is_read_from_the_environment_at_run_time(monkeypatch, settings_dict):
    monkeypatch.setenv("AIRFLOW_VAR_MLOPS_SETTINGS", json.dumps(settings_dict))
    assert load_settings().winners_table == settings_dict["winners_table"]


def test_unset_variable_says_where_it_should_come_from(monkeypatch):
    monkeypatch.delenv("AIRFLOW_VAR_MLOPS_SETTINGS", raising=False)
    with pytest.raises(SettingsError, match="airflow/variables/mlops_settings"):
        load_settings()


def test_the_winners_history_table_defaults_to_the_winners_tables_sibling(settings_dict):
    assert "winners_history_table" not in settings_dict  # derived, so renaming one renames both
    assert parse_settings(settings_dict).winners_history_table == "mlops-local-winners-history"
    named = parse_settings(settings_dict | {"winners_history_table": "audit-history"})
    assert named.winners_history_table == "audit-history"
