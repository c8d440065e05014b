"""`make bundle` output: the layout MWAA takes, and the DAGs parse from an MWAA-like folder."""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CONSTRAINTS = (
    '--constraint "https://raw.githubusercontent.com/apache/airflow/'
    'constraints-3.3.1/constraints-3.12.txt"'
)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist") / "mwaa"
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "bundle_mwaa.py"), str(out)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return out


def test_bundle_has_dags_plugins_zip_and_requirements(bundle):
    top = sorted(p.name for p in bundle.iterdir())
    assert top == ["dags", "plugins.zip", "requirements.txt"]
    dags = sorted(p.name for p in (bundle / "dags").iterdir())
    assert dags == [
        ".airflowignore",
        "batch_inference.py",
        "config",
        "deploy.py",
        "evaluate.py",
        "train.py",
    ]
    for name in ("countries.yaml", "instance_prices.yaml"):
        assert (bundle / "dags" / "config" / name).read_text() == (
            REPO / "include" / "config" / name
        ).read_text()


def test_requirements_start_with_the_mwaa_constraints_line_and_hold_no_ml_library(bundle):
    lines = (bundle / "requirements.txt").read_text().splitlines()
    assert lines[0] == CONSTRAINTS
    packages = [line.split("==")[0].lower() for line in lines[1:] if line and line[0] != "#"]
    assert not {"numpy", "pandas", "torch", "scikit-learn", "sagemaker"} & set(packages)


def test_plugins_zip_holds_the_library_at_its_root_without_caches(bundle):
    names = zipfile.ZipFile(bundle / "plugins.zip").namelist()
    assert "mlops/__init__.py" in names
    assert "mlops/config.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_bundle_is_reproducible(bundle, tmp_path):
    again = tmp_path / "again"
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "bundle_mwaa.py"), str(again)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert (again / "plugins.zip").read_bytes() == (bundle / "plugins.zip").read_bytes()


PARSE_IN_MWAA_LAYOUT = r"""
import json, sys
from airflow.dag_processing.dagbag import DagBag
from mlops.config import countries_file_path
from mlops.costs import load_price_table, price_table_path
bag = DagBag(sys.argv[1])
print(json.dumps({
    "dag_ids": sorted(bag.dag_ids),
    "import_errors": {str(k): v for k, v in bag.import_errors.items()},
    "countries_file": str(countries_file_path()),
    "prices_file": str(price_table_path()),
    "prices_regions": sorted(load_price_table().regions),
    "mlops_from": __import__("mlops").__file__,
}))
"""


def test_dags_parse_from_an_mwaa_like_airflow_home(bundle, tmp_path):
    home = tmp_path / "usr" / "local" / "airflow"
    (home / "plugins").mkdir(parents=True)
    subprocess.run(["cp", "-r", str(bundle / "dags"), str(home / "dags")], check=True)
    (home / "requirements").mkdir()
    (home / "requirements" / "requirements.txt").write_bytes(
        (bundle / "requirements.txt").read_bytes()
    )
    zipfile.ZipFile(bundle / "plugins.zip").extractall(home / "plugins")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW", "MLOPS_", "PYTHONPATH"))
    }
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(home / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            # MWAA puts the plugins folder on sys.path; nothing from the repository is.
            "PYTHONPATH": str(home / "plugins"),
        }
    )
    out = subprocess.run(
        [sys.executable, "-c", PARSE_IN_MWAA_LAYOUT, str(home / "dags")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["import_errors"] == {}
    from mlops.config import DAG_KINDS, enabled_models

    models = enabled_models(REPO / "include" / "config" / "countries.yaml")
    assert result["dag_ids"] == sorted(m.dag_id(kind) for kind in DAG_KINDS for m in models)
    assert result["countries_file"] == str(home / "dags" / "config" / "countries.yaml")
    # The runs' cost estimates find the price table the bundle ships beside the countries file.
    assert result["prices_file"] == str(home / "dags" / "config" / "instance_prices.yaml")
    assert result["prices_regions"]
    assert result["mlops_from"].startswith(str(home / "plugins"))
