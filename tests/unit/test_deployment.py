"""Deployment checks: the endpoint must serve the new config and answer with a label."""

import json

import pytest
from mlops.deployment import DeploymentError, check_serves_new_config, smoke_prediction


def described(status: str, config: str, reason: str | None = None) -> dict:
    description = {
        "EndpointName": "mlops-de",
        "EndpointStatus": status,
        "EndpointConfigName": config,
    }
    if reason:
        description["FailureReason"] = reason
    return description


def test_in_service_on_the_new_config_passes():
    check_serves_new_config(described("InService", "epc-new"), "epc-new")


def test_rollback_to_the_old_config_fails_saying_so():
    rolled_back = described("InService", "epc-old", "Alarm mlops-de-endpoint-5xx fired")
    with pytest.raises(DeploymentError, match="InService on config epc-old.*rolled back.*5xx"):
        check_serves_new_config(rolled_back, "epc-new")


def test_failed_endpoint_fails_with_its_reason():
    with pytest.raises(DeploymentError, match="is Failed.*image pull error"):
        check_serves_new_config(described("Failed", "epc-new", "image pull error"), "epc-new")


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"label": "DE-1", "confidence": 0.9}),
        json.dumps([{"label": "DE-1", "confidence": 0.9}]),
        json.dumps({"predictions": [{"label": "DE-1", "confidence": 0.9}]}).encode(),
    ],
    ids=["object", "list", "predictions"],
)
def test_smoke_answer_yields_the_prediction(body):
    assert smoke_prediction("mlops-de", body)["label"] == "DE-1"


def test_non_json_answer_is_rejected_naming_the_endpoint():
    with pytest.raises(DeploymentError, match="mlops-de answered non-JSON"):
        smoke_prediction("mlops-de", b"<html>502</html>")


def test_answer_without_label_is_rejected():
    with pytest.raises(DeploymentError, match="without a label"):
        smoke_prediction("mlops-de", json.dumps({"confidence": 0.9}))
