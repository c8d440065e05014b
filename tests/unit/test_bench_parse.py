"""The parse bench (bench/parse.py): its 60-model countries file, and its baseline of bare DAGs
that builds the product's DAGs' tasks and dependencies with the same operator classes."""

import os

import pytest
from mlops.config import enabled_models

from bench import parse as bench
from tests.unit.conftest import DEFAULT_COUNTRIES, REPO


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    home = tmp_path_factory.mktemp("airflow-home")
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__MLOPS__LANDING_QUEUE_URL_PREFIX": bench.QUEUE_URL_PREFIX,
        "MLOPS_COUNTRIES_FILE": str(DEFAULT_COUNTRIES),
        "PYTHONPATH": os.pathsep.join([str(REPO / "plugins"), str(REPO)]),
    }


@pytest.fixture(scope="module")
def product(env):
    return bench.dag_shapes(bench.DAGS, env)


def test_the_countries_file_has_38_countries_and_60_models_of_the_files_profiles(tmp_path):
    models = enabled_models(bench.sixty_models(tmp_path / "countries.yaml"))
    assert len(models) == 60
    assert len({m.country for m in models}) == 38
    own = {"country", "scheme", "data_prefix"}
    profiles = [m.model_dump(exclude=own) for m in enabled_models(DEFAULT_COUNTRIES)]
    # every model is one of the file's enabled models under another code (or scheme name)
    # ... whose rollback alarms carry its key, since an alarm watches one endpoint
    for model in models:
        dump = model.model_dump(exclude=own)
        suffix = "-" + "-".join(filter(None, (model.country, model.scheme)))
        for alarm in dump["endpoint"]["rollback_alarms"]:
            assert alarm["name"].endswith(suffix), (model.key, alarm["name"])
            alarm["name"] = alarm["name"].removesuffix(suffix)
        assert dump in profiles, model.key
    assert sum(m.scheme is not None for m in models) == 22


def test_the_baseline_has_the_products_dags_tasks_classes_and_dependencies(product, env, tmp_path):
    baseline = bench.dag_shapes(bench.write_baseline(product, tmp_path / "baseline"), env)
    assert sorted(baseline) == sorted(product)
    for dag_id, dag in product.items():
        assert baseline[dag_id]["tasks"] == dag["tasks"], dag_id
    # the product's own classes (the approval operator) stand as their Airflow base class
    classes = {t["class"] for dag in product.values() for t in dag["tasks"]}
    assert "airflow.providers.standard.operators.hitl.HITLOperator" in classes
    assert not any(c.startswith("mlops.") for c in classes)


def test_the_baseline_is_bare_no_params_schedule_or_callbacks(product, tmp_path):
    dag_id = next(d for d in product if d.startswith("train__"))
    source = bench.bare_dag_source(dag_id, product[dag_id]["tasks"])
    assert "schedule=None" in source
    for product_only in ("mlops", "params", "pool", "callback", "Asset"):
        assert product_only not in source


def test_a_class_without_a_bare_form_fails_naming_it():
    tasks = [
        {
            "task_id": "copy",
            "class": "airflow.providers.amazon.aws.operators.s3.S3CopyObjectOperator",
            "upstream": [],
        }
    ]
    with pytest.raises(ValueError, match="S3CopyObjectOperator: add it to BARE_ARGUMENTS"):
        bench.bare_dag_source("x", tasks)


def test_the_worker_parse_takes_each_kinds_largest_dag(product):
    targets = bench.single_dag_targets(product)
    assert sorted(targets) == ["batch_inference", "deploy", "evaluate", "train"]
    for kind, (file, dag_id, task_id) in targets.items():
        assert file == f"{kind}.py"
        largest = max(len(d["tasks"]) for i, d in product.items() if i.startswith(f"{kind}__"))
        assert len(product[dag_id]["tasks"]) == largest
        assert task_id == product[dag_id]["tasks"][0]["task_id"]
    # the evaluate DAG of a model a person approves has one more task: that one is parsed
    assert any(t["task_id"] == "approve" for t in product[targets["evaluate"][1]]["tasks"])


def test_provider_modules_are_those_of_the_dags_classes(product):
    modules = bench.provider_modules(product)
    assert "airflow.providers.amazon.aws.operators.sagemaker" in modules
    assert "airflow.providers.amazon.aws.sensors.s3" in modules
    assert not any(m.startswith("mlops") for m in modules)
