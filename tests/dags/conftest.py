import os
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "dags"

# DagBag parsing needs an AIRFLOW_HOME; keep it out of the user's ~/airflow.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="mlops-dags-tests-"))
# The landing queues' URL prefix, as Terraform sets it in MWAA's configuration (mlops.events):
# with it, train and batch_inference are watched on their SQS queues.
QUEUE_URL_PREFIX = "https://sqs.eu-central-1.amazonaws.com/123456789012/mlops-dev-landing-"
os.environ["AIRFLOW__MLOPS__LANDING_QUEUE_URL_PREFIX"] = QUEUE_URL_PREFIX


@pytest.fixture(scope="session")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(str(DAGS))
