"""Checks of a deployment: does the endpoint serve the new config, does it answer sensibly."""

from __future__ import annotations

import json
from typing import Any


class DeploymentError(RuntimeError):
    """The endpoint does not serve what was deployed, or answers nonsense."""


def check_serves_new_config(description: dict[str, Any], expected_config: str) -> None:
    """Raise unless DescribeEndpoint shows InService on ``expected_config``.

    After an automatic rollback (alarm during canary, failed update) SageMaker reports the
    endpoint InService on the *old* config, so InService alone proves nothing.
    """
    name = description.get("EndpointName", "?")
    status, serving = description.get("EndpointStatus"), description.get("EndpointConfigName")
    if status == "InService" and serving == expected_config:
        return
    if status == "InService":
        raise DeploymentError(
            f"endpoint {name} is InService on config {serving}, not on the new config "
            f"{expected_config}: the deployment was rolled back "
            f"(reason: {description.get('FailureReason') or 'not given'})"
        )
    raise DeploymentError(
        f"endpoint {name} is {status} (config {serving}), expected InService on "
        f"{expected_config}: {description.get('FailureReason') or 'no FailureReason'}"
    )


def smoke_prediction(endpoint: str, body: bytes | str) -> dict[str, Any]:
    """The prediction in an InvokeEndpoint answer; raise if it is not one."""
    text = body.decode() if isinstance(body, bytes) else body
    try:
        answer = json.loads(text)
    except json.JSONDecodeError:
        raise DeploymentError(f"endpoint {endpoint} answered non-JSON: {text[:200]!r}") from None
    if isinstance(answer, dict) and isinstance(answer.get("predictions"), list):
        answer = answer["predictions"]
    prediction = answer[0] if isinstance(answer, list) and answer else answer
    if not isinstance(prediction, dict) or "label" not in prediction:
        raise DeploymentError(f"endpoint {endpoint} answered without a label: {text[:200]}")
    return prediction
