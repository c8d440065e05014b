"""The local stack's Lambda Invoke and MWAA InvokeRestApi, driven through boto3 as AWS would be."""

from __future__ import annotations

import base64
import io
import json
import zipfile

import boto3
import pytest
from botocore.config import Config

from tests.support.trigger import FUNCTION_NAME, MWAA_ENVIRONMENT


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def deploy(stack):
    role = stack.client("iam").get_role(RoleName=f"{FUNCTION_NAME}-role")["Role"]["Arn"]

    def deploy(name: str, source: str, timeout: int = 10, env: dict | None = None) -> str:
        stack.client("lambda").create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": _zip(source)},
            Timeout=timeout,
            Environment={"Variables": env or {}},
        )
        return name

    return deploy


def invoke(stack, name: str, event, **kwargs) -> tuple[dict, object]:
    response = stack.client("lambda").invoke(
        FunctionName=name, Payload=json.dumps(event).encode(), **kwargs
    )
    return response, json.loads(response["Payload"].read())


def test_invoke_runs_the_functions_code_with_its_environment_and_context(stack, deploy):
    name = deploy(
        "echo",
        "import os\n"
        "def handler(event, context):\n"
        "    return {'event': event, 'greeting': os.environ['GREETING'],\n"
        "            'request_id': context.aws_request_id,\n"
        "            'endpoint': os.environ['AWS_ENDPOINT_URL']}\n",
        env={"GREETING": "hallo"},
    )
    response, payload = invoke(stack, name, {"x": 1})
    assert "FunctionError" not in response
    assert payload["event"] == {"x": 1}
    assert payload["greeting"] == "hallo"
    assert payload["endpoint"] == stack.endpoint_url
    assert payload["request_id"] == response["ResponseMetadata"]["RequestId"]


def test_a_raising_handler_answers_unhandled_with_its_error_and_log_tail(stack, deploy):
    name = deploy("raiser", "def handler(event, context):\n    raise ValueError('no good')\n")
    response, payload = invoke(stack, name, {}, LogType="Tail")
    assert response["FunctionError"] == "Unhandled"
    assert (payload["errorType"], payload["errorMessage"]) == ("ValueError", "no good")
    assert "ValueError: no good" in base64.b64decode(response["LogResult"]).decode()


def test_a_handler_past_its_timeout_is_stopped_and_reported(stack, deploy):
    name = deploy(
        "sleeper", "import time\ndef handler(event, context):\n    time.sleep(30)\n", timeout=1
    )
    response, payload = invoke(stack, name, {})
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Sandbox.Timedout"
    assert "timed out after 1 seconds" in payload["errorMessage"]


def test_invoking_an_unknown_function_is_resource_not_found(stack):
    client = stack.client("lambda")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName="no-such-function", Payload=b"{}")


def test_other_lambda_calls_stay_with_moto(stack):
    config = stack.client("lambda").get_function(FunctionName=FUNCTION_NAME)["Configuration"]
    assert config["Handler"] == "handler.handler"
    assert config["Environment"]["Variables"]["MWAA_ENVIRONMENT_NAME"] == MWAA_ENVIRONMENT


def mwaa_client(stack):
    # botocore puts "env." before the host for this operation; a loopback IP cannot take it.
    return boto3.client(
        "mwaa",
        endpoint_url=stack.endpoint_url,
        region_name=stack.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106
        config=Config(inject_host_prefix=False),
    )


def test_invoke_rest_api_forwards_to_airflow_api_v2_and_wraps_the_answer(stack):
    answer = mwaa_client(stack).invoke_rest_api(
        Name=MWAA_ENVIRONMENT,
        Method="GET",
        Path="/dags",
        QueryParameters={"dag_id_pattern": "train"},
    )
    assert answer["RestApiStatusCode"] == 200
    assert {d["dag_id"] for d in answer["RestApiResponse"]["dags"]} >= {"train__de", "train__fr"}


def test_an_airflow_4xx_is_a_rest_api_client_exception_with_airflows_status_and_body(stack):
    client = mwaa_client(stack)
    with pytest.raises(client.exceptions.RestApiClientException) as raised:
        client.invoke_rest_api(Name=MWAA_ENVIRONMENT, Method="GET", Path="/dags/no_such_dag")
    assert raised.value.response["RestApiStatusCode"] == 404
    assert "no_such_dag" in raised.value.response["RestApiResponse"]["detail"]


def test_an_event_invocation_answers_202_and_runs_the_handler_in_the_background(
    stack, deploy, tmp_path
):
    import time

    marker = tmp_path / "ran.json"
    name = deploy(
        "async-writer",
        "import json, os\n"
        "def handler(event, context):\n"
        "    open(os.environ['MARKER'] + '.tmp', 'w').write(json.dumps(event))\n"
        "    os.replace(os.environ['MARKER'] + '.tmp', os.environ['MARKER'])\n",
        env={"MARKER": str(marker)},
    )
    response = stack.client("lambda").invoke(
        FunctionName=name, InvocationType="Event", Payload=b'{"n": 3}'
    )
    assert response["StatusCode"] == 202
    deadline = time.monotonic() + 30
    while not marker.exists():
        assert time.monotonic() < deadline, "the event invocation never ran"
        time.sleep(0.2)
    assert json.loads(marker.read_text()) == {"n": 3}
