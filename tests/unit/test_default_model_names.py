"""A country's default model keeps every name and request it had before models had schemes.

``golden/default_models_before_schemes.json`` was written by the library as it was before the
unit became a model (commit 631dcd9), for de, fr and gb with the local settings and the unit
tests' run: every SageMaker request, endpoint and registry group names, DAG ids, asset names and
URIs, DAG tags, winners key and S3 prefix. The default models must reproduce it exactly.
"""

import json
from pathlib import Path

import pytest
from mlops import sagemaker_requests as requests
from mlops.config import DAG_KINDS, get_model
from mlops.dag_factory import challenger_asset, dag_tags, winner_asset
from mlops.naming import endpoint_name, model_package_group_name

from tests.unit.conftest import DEFAULT_COUNTRIES

GOLDEN = json.loads(
    (Path(__file__).parent / "golden" / "default_models_before_schemes.json").read_text()
)
TUNED = {"learning_rate": "0.001", "hidden_size": "128"}
MODEL_DATA = "s3://mlops-local-models/de/runs/x/training/job/output/model.tar.gz"


def _before_the_golden_set(request: dict) -> dict:
    """The evaluate request without its golden-set inputs (added after the golden file was
    written; tests/unit/test_sagemaker_requests.py covers them)."""
    inputs = [i for i in request["ProcessingInputs"] if not i["InputName"].startswith("golden_")]
    assert len(inputs) == len(request["ProcessingInputs"]) - 3
    return {**request, "ProcessingInputs": inputs}


def every_request(settings, model, run) -> dict:
    prepare = requests.prepare_request(settings, model, run)
    # Added since the golden file: the data gates' thresholds (config, not names).
    environment = prepare["Environment"]
    prepare["Environment"] = {k: v for k, v in environment.items() if not k.startswith("GATE_")}
    out = requests.processing_outputs(prepare)
    split = (out["train"], out["validation"])
    return {
        "prepare": prepare,
        "tuning": requests.tuning_request(settings, model, run, *split),
        "training": requests.training_request(settings, model, run, *split, TUNED),
        "model": requests.model_request(settings, model, run, MODEL_DATA),
        "model_package": requests.model_package_request(
            settings,
            model,
            run,
            model_data_url=MODEL_DATA,
            model_name="m",
            training_job_name="t",
            test_features_uri=out["test_features"],
            test_labels_uri=out["test_labels"],
            metrics={"validation:macro_f1": 0.91},
        ),
        **{
            f"transform_{role}": requests.evaluation_transform_request(
                settings,
                model,
                run,
                role=role,
                model_name="m",
                test_features_uri=out["test_features"],
            )
            for role in ("challenger", "champion")
        },
        "evaluate": _before_the_golden_set(
            requests.evaluate_request(
                settings,
                model,
                run,
                challenger_output_uri="s3://b/c/",
                champion_output_uri="s3://b/d/",
                test_labels_uri=out["test_labels"],
                golden_challenger_output_uri="s3://b/cg/",
                golden_champion_output_uri="s3://b/dg/",
                golden_labels_uri="s3://b/golden/labels.jsonl",
            )
        ),
        "transform_batch": requests.batch_transform_request(settings, model, run, model_name="m"),
        "postprocess": requests.postprocess_request(
            settings, model, run, predictions_uri="s3://b/raw/"
        ),
        "endpoint_config": requests.endpoint_config_request(settings, model, run, model_name="m"),
        "endpoint": requests.endpoint_request(settings, model, run, endpoint_config_name="cfg"),
        "smoke_invocation": requests.smoke_invocation(settings, model),
    }


def _with_the_serverless_rules(model, golden: dict) -> dict:
    """The golden requests as they are since the serverless rules (written after the golden
    file; tests/unit/test_sagemaker_requests.py covers them): a serverless model's Model has no
    network isolation nor VpcConfig, its endpoint config no data capture."""
    if model.endpoint.serverless is None:
        return golden
    drop = {
        "model": ("EnableNetworkIsolation", "VpcConfig"),
        "endpoint_config": ("DataCaptureConfig",),
    }
    return {
        name: {k: v for k, v in request.items() if k not in drop.get(name, ())}
        for name, request in golden.items()
    }


@pytest.mark.parametrize("code", sorted(GOLDEN))
def test_every_request_of_a_default_model_is_unchanged(code, settings, run):
    model = get_model(code, DEFAULT_COUNTRIES)
    assert model.scheme is None
    expected = _with_the_serverless_rules(model, GOLDEN[code]["requests"])
    assert every_request(settings, model, run) == expected


@pytest.mark.parametrize("code", sorted(GOLDEN))
def test_names_ids_assets_and_keys_of_a_default_model_are_unchanged(code, settings):
    golden = GOLDEN[code]
    model = get_model(code, DEFAULT_COUNTRIES)
    assert endpoint_name(settings.name_prefix, model.key) == golden["endpoint_name"]
    assert (
        model_package_group_name(settings.name_prefix, model.key) == golden["model_package_group"]
    )
    assert [model.dag_id(kind) for kind in DAG_KINDS] == golden["dag_ids"]
    for role, asset in (("challenger", challenger_asset(model)), ("winner", winner_asset(model))):
        assert [asset.name, asset.uri] == golden["assets"][role]
    assert dag_tags("KIND", model) == golden["dag_tags"]
    assert model.key == golden["winners_pk"]
    assert model.prefix == golden["prefix"]
