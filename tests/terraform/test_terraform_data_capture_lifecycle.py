"""The endpoints' captured data expires: the model bucket's lifecycle has one rule per model's
data-capture prefix (the prefixes the endpoint configs write to, listed in landing_models.json by
scripts/terraform_models.py), after ``data_capture_retention_days`` (30 by default)."""

from __future__ import annotations

import json

from mlops import config
from mlops import sagemaker_requests as requests
from mlops.naming import RunIdentity
from mlops.settings import parse_settings

from tests.support.terraform import DEPLOY, MODULES, REPO, labelled_blocks, named_blocks, parse

BUCKET = MODULES / "s3_bucket"
PLATFORM = MODULES / "platform"
MODELS_FILE = DEPLOY / "landing_models.json"
SETTINGS = REPO / "include" / "config" / "settings.local.json"


def _variables(path) -> dict:
    return dict(named_blocks(path / "variables.tf", "variable"))


def _lifecycle() -> dict:
    [body] = [
        b
        for t, _, b in labelled_blocks(BUCKET / "main.tf", "resource")
        if t == "aws_s3_bucket_lifecycle_configuration"
    ]
    return body


def test_the_bucket_module_expires_each_prefix_it_is_given():
    dynamic = [d["rule"] for d in _lifecycle().get("dynamic", []) if "rule" in d]
    assert len(dynamic) == 1
    rule = dynamic[0]
    assert rule["for_each"] == "${var.prefix_expirations}"
    [content] = rule["content"]
    assert content["status"] == "Enabled"
    assert content["filter"] == [{"prefix": "${rule.key}"}]
    assert content["expiration"] == [{"days": "${rule.value}"}]
    # The bucket is versioned: the expired objects' versions go too.
    assert content["noncurrent_version_expiration"] == [{"noncurrent_days": 1}]
    assert _variables(BUCKET)["prefix_expirations"]["default"] == {}


def test_the_model_bucket_expires_the_data_capture_prefixes_after_the_retention():
    [model_bucket] = [
        b for n, b in named_blocks(PLATFORM / "main.tf", "module") if n == "model_bucket"
    ]
    expirations = model_bucket["prefix_expirations"]
    assert "var.data_capture_prefixes" in expirations
    assert "=> var.data_capture_retention_days" in expirations
    assert _variables(PLATFORM)["data_capture_retention_days"]["default"] == 30
    assert _variables(DEPLOY)["data_capture_retention_days"]["default"] == 30
    [platform] = [b for n, b in named_blocks(DEPLOY / "main.tf", "module") if n == "platform"]
    assert platform["data_capture_prefixes"] == "${local.data_capture_prefixes}"
    assert platform["data_capture_retention_days"] == "${var.data_capture_retention_days}"
    deploy_locals = {
        k: v for block in parse(DEPLOY / "main.tf")["locals"] for k, v in block.items()
    }
    assert deploy_locals["data_capture_prefixes"].endswith(".data_capture_prefixes}")


def test_the_listed_prefixes_are_where_every_endpoint_captures():
    listed = json.loads(MODELS_FILE.read_text())["data_capture_prefixes"]
    settings = parse_settings(json.loads(SETTINGS.read_text()))
    run = RunIdentity(run_id="r", data_month="2026-10", code_version="c")
    models = config.enabled_models(REPO / "include" / "config" / "countries.yaml")
    assert set(listed) == {model.key for model in models}
    for model in models:
        request = requests.endpoint_config_request(settings, model, run, model_name="m")
        destination = request.get("DataCaptureConfig", {}).get(
            "DestinationS3Uri", requests.data_capture_uri(settings, model)
        )
        assert destination == f"s3://{settings.model_bucket}/{listed[model.key]}"
