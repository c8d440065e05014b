"""Fixtures of the local-Airflow suite (local/postgres.py, local/airflow_cluster.py)."""

import shutil
import tempfile
from pathlib import Path

import pytest


@pytest.fixture
def scratch():
    """A fresh directory the PostgreSQL server's user can reach (pytest's tmp dirs are 0700)."""
    path = Path(tempfile.mkdtemp(prefix="mlops-test-", dir="/tmp"))
    path.chmod(0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)
