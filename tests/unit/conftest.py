import json
from pathlib import Path

import pytest
from mlops.config import load_models
from mlops.naming import RunIdentity
from mlops.settings import Settings, parse_settings

REPO = Path(__file__).resolve().parents[2]
LOCAL_SETTINGS = REPO / "include" / "config" / "settings.local.json"
DEFAULT_COUNTRIES = REPO / "include" / "config" / "countries.yaml"


@pytest.fixture
def settings_dict() -> dict:
    return json.loads(LOCAL_SETTINGS.read_text())


@pytest.fixture
def settings(settings_dict) -> Settings:
    return parse_settings(settings_dict)


@pytest.fixture
def vpc_settings(settings_dict) -> Settings:
    return parse_settings(
        settings_dict | {"subnet_ids": ["subnet-0a1b2c3d"], "security_group_ids": ["sg-0a1b2c3d"]}
    )


@pytest.fixture
def run() -> RunIdentity:
    return RunIdentity(
        run_id="manual__2026-11-22T03:23:26.123456+00:00",
        data_month="2026-10",
        code_version="abc1234",
    )


@pytest.fixture
def models():
    """Every model of the default countries file, in file order (de, de-batteries, fr, ...)."""
    return load_models(DEFAULT_COUNTRIES)
