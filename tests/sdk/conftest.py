"""Fixtures of the SDK tool's suite (run from .venv-sdk): the local stack in a subprocess of the
Airflow environment (.venv: moto and the stack's own pins, which the SDK's clash with), the
project's resources provisioned on it as Terraform makes them, and a settings file naming them.

The SDK reaches the stack as it would reach AWS: through boto3's ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
from pathlib import Path

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
# The stack's interpreter: the Airflow side's environment, where moto and the stack's pins live.
STACK_PYTHON = Path(os.environ.get("MLOPS_STACK_PYTHON") or ROOT / ".venv" / "bin" / "python")
STARTUP_SECONDS = 180


@pytest.fixture(scope="session")
def stack_environ(tmp_path_factory):
    """Start ``python -m local.stack --port 0``; yield the environment that points boto3 at it."""
    if not STACK_PYTHON.exists():
        pytest.fail(f"the local stack needs the Airflow environment: {STACK_PYTHON} (make venv)")
    workdir = tmp_path_factory.mktemp("stack")
    stderr = (workdir / "stack.log").open("w")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT)]),
        "MLOPS_ML_PYTHON": os.environ.get("MLOPS_ML_PYTHON")
        or str(ROOT / ".venv-ml" / "bin" / "python"),
    }
    process = subprocess.Popen(
        [str(STACK_PYTHON), "-m", "local.stack", "--port", "0", "--workdir", str(workdir)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        start_new_session=True,
    )
    try:
        endpoint = _endpoint_line(process, workdir / "stack.log")
        yield {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",  # noqa: S105 - moto's placeholder, not a secret
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_REGION": "eu-west-1",
            "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
            # No profile or credentials file of the machine's user leaks in.
            "AWS_CONFIG_FILE": str(workdir / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(workdir / "no-aws-credentials"),
            # The SDK checks the execution role with iam:SimulatePrincipalPolicy, which the
            # stack's IAM (moto's) does not implement (HTTP 500): its documented switch off.
            "SAGEMAKER_VALIDATE_ROLE": "false",
        }
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        stderr.close()


def _endpoint_line(process: subprocess.Popen, log: Path) -> str:
    """The stack prints ``AWS_ENDPOINT_URL=<url>`` once it listens; anything else is a failure."""
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    ready = selector.select(timeout=STARTUP_SECONDS)
    line = process.stdout.readline().strip() if ready else ""
    if not line.startswith("AWS_ENDPOINT_URL=http://127.0.0.1:"):
        process.kill()
        raise RuntimeError(
            f"the local stack did not start within {STARTUP_SECONDS}s (said {line!r}); "
            f"its log:\n{log.read_text()[-3000:]}"
        )
    return line.split("=", 1)[1]


@pytest.fixture(scope="session")
def aws(stack_environ):
    """The process environment pointed at the stack for the session (the SDK reads it)."""
    saved = {key: os.environ.get(key) for key in stack_environ}
    os.environ.update(stack_environ)
    yield boto3.Session(region_name=stack_environ["AWS_REGION"])
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def settings_file(aws, tmp_path_factory):
    """The local settings with the resources provisioned on the stack (KMS key, buckets, role)."""
    from local.provision import load_local_settings, provision

    settings = provision(aws.client, load_local_settings())
    path = tmp_path_factory.mktemp("settings") / "settings.json"
    path.write_text(json.dumps(settings))
    return path
