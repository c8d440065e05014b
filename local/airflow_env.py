"""The environment that wires Airflow (embedded `dag.test()` or `airflow standalone`) to the
local stack: its own AIRFLOW_HOME and SQLite DB, this repository's dags/ and plugins/, the
`mlops_settings` Variable, the AWS connection pointing at the stack, and the Slack webhook
connection pointing at the local sink. Nothing here is used on MWAA.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
AIRFLOW_BIN = REPO_ROOT / ".venv" / "bin" / "airflow"


def airflow_environ(
    airflow_home: Path,
    stack_environ: dict[str, str],
    settings: dict[str, Any],
    slack_webhook_url: str,
) -> dict[str, str]:
    """Environment variables for an Airflow process that runs the DAGs against the stack."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(stack_environ)
    endpoint_url = stack_environ["AWS_ENDPOINT_URL"]
    env.update(
        {
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "AIRFLOW_VAR_MLOPS_SETTINGS": json.dumps(settings),
            "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(
                {
                    "conn_type": "aws",
                    "extra": {"endpoint_url": endpoint_url, "region_name": settings["region"]},
                }
            ),
            f"AIRFLOW_CONN_{settings['slack_connection_id'].upper()}": json.dumps(
                {"conn_type": "slackwebhook", "password": slack_webhook_url}
            ),
            "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "plugins"), str(REPO_ROOT)]),
        }
    )
    return env


def migrate(env: dict[str, str]) -> None:
    """Create the Airflow metadata DB (SQLite) under AIRFLOW_HOME."""
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [str(AIRFLOW_BIN), "db", "migrate"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def database_environ(database_url: str) -> dict[str, str]:
    """Airflow's metadata-DB settings for a PostgreSQL URL from local/postgres.py.

    Airflow 3.3 also opens an async engine, deriving ``postgresql+asyncpg://`` from the URL. Where
    asyncpg is not installed an empty async URL switches that engine off (what needs it: the
    dag-run ``/wait`` endpoint and the task/asset state store) instead of failing every command.
    """
    env = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database_url}
    if importlib.util.find_spec("asyncpg") is None:
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] = ""
    return env
