"""Environment settings: one JSON object, Airflow Variable ``mlops_settings``.

On MWAA the Variable comes from Secrets Manager (``airflow/variables/mlops_settings``, written by
Terraform); locally from ``AIRFLOW_VAR_MLOPS_SETTINGS``. Loaded at task run time only, never at
DAG parse time.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mlops.winners import history_table_name

SETTINGS_VARIABLE = "mlops_settings"


class SettingsError(ValueError):
    """The settings object is missing or invalid; the message names the field."""


class Settings(BaseModel):
    # defer_build: DAG files import this module at parse time, but settings are only validated
    # at run time, so the validator is built then, not on every parse.
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    environment: str
    region: str
    name_prefix: str = Field(pattern=r"^[a-z0-9](-?[a-z0-9]){0,11}$")
    data_bucket: str
    model_bucket: str
    kms_key_arn: str
    sagemaker_execution_role_arn: str = Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+")
    subnet_ids: list[str] = Field(default_factory=list)
    security_group_ids: list[str] = Field(default_factory=list)
    winners_table: str
    # The winners' append-only history (its own table: the MWAA role may only put, get and
    # query there); default "<winners_table>-history".
    winners_history_table: str = ""
    sns_topic_arn: str
    slack_connection_id: str
    processing_image_uri: str
    training_image_uri: str
    training_neuron_image_uri: str
    inference_image_uri: str
    poll_interval_seconds: int = Field(default=60, ge=1, le=3600)
    airflow_base_url: str = ""
    enable_network_isolation: bool = True
    code_version: str = "unknown"

    @model_validator(mode="before")
    @classmethod
    def _derive_history_table(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("winners_history_table"):
            if isinstance(data.get("winners_table"), str):
                return {**data, "winners_history_table": history_table_name(data["winners_table"])}
        return data


def parse_settings(value: str | dict[str, Any], source: str = SETTINGS_VARIABLE) -> Settings:
    """Validate a settings JSON string or dict; ``source`` names where it came from in errors."""
    try:
        data = json.loads(value) if isinstance(value, str) else value
    except json.JSONDecodeError as exc:
        raise SettingsError(f"{source}: not valid JSON: {exc}") from None
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"field '{'.'.join(map(str, err['loc'])) or '-'}': {err['msg']}" for err in exc.errors()
        )
        raise SettingsError(f"{source}: invalid settings: {problems}") from None


def load_settings() -> Settings:
    """Read the ``mlops_settings`` Variable (call inside tasks, never at parse time)."""
    from airflow.sdk import Variable

    raw = Variable.get(SETTINGS_VARIABLE, default=None)
    if raw is None:
        raise SettingsError(
            f"Airflow Variable '{SETTINGS_VARIABLE}' is not set (on MWAA: secret "
            f"airflow/variables/{SETTINGS_VARIABLE}; locally: AIRFLOW_VAR_MLOPS_SETTINGS)"
        )
    return parse_settings(raw, f"Variable {SETTINGS_VARIABLE}")
