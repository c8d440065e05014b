"""Parsing the DAG files makes no AWS, Variable or network call and imports nothing heavy;
with Airflow's parsing context only the requested DAG is built. Each check parses in a fresh
interpreter so sys.modules shows exactly what the DAG files import."""

import json
import os
import subprocess
import sys

from tests.dags.conftest import DAGS, REPO

HEAVY = ("pandas", "numpy", "torch", "sklearn", "scipy", "sagemaker")

PARSE = r"""
import json, socket, sys

calls = []

def refuse(what):
    def guard(*args, **kwargs):
        calls.append(what)
        raise RuntimeError(f"{what} at parse time")
    return guard

import botocore.client
botocore.client.BaseClient._make_api_call = refuse("AWS API call")
socket.socket.connect = refuse("network connect")
import airflow.sdk
airflow.sdk.Variable.get = classmethod(refuse("Variable.get"))

from airflow.dag_processing.dagbag import DagBag
bag = DagBag(sys.argv[1])
print(json.dumps({
    "dag_ids": sorted(bag.dag_ids),
    "import_errors": {str(k): v for k, v in bag.import_errors.items()},
    "calls": calls,
    "heavy": [m for m in sys.argv[2].split(",") if m in sys.modules],
}))
"""


def parse(extra_env: dict | None = None) -> dict:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO / "plugins"), str(REPO)]),
        **(extra_env or {}),
    }
    env.pop("AIRFLOW_VAR_MLOPS_SETTINGS", None)
    out = subprocess.run(
        [sys.executable, "-c", PARSE, str(DAGS), ",".join(HEAVY)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=180,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_parsing_makes_no_aws_variable_or_network_call_and_imports_nothing_heavy():
    result = parse()
    assert result["import_errors"] == {}
    assert result["calls"] == []
    assert result["heavy"] == []
    assert len(result["dag_ids"]) >= 12


def test_parsing_context_builds_only_the_requested_dag():
    result = parse({"_AIRFLOW_PARSING_CONTEXT_DAG_ID": "evaluate__fr"})
    assert result["import_errors"] == {}
    assert result["dag_ids"] == ["evaluate__fr"]


def test_parsing_context_of_a_scheme_dag_builds_only_that_one():
    result = parse({"_AIRFLOW_PARSING_CONTEXT_DAG_ID": "deploy__de__batteries"})
    assert result["import_errors"] == {}
    assert result["dag_ids"] == ["deploy__de__batteries"]
