"""SageMaker pools: the slots a task holds follow the model's config, the pools file's sizes per
environment, and the check that refuses a task its pool could never fit."""

import textwrap

import pytest
import yaml
from mlops.config import load_models
from mlops.pools import (
    FAMILIES,
    POOLS_FILE,
    TASK_POOLS,
    PoolsConfigError,
    load_pools,
    oversized_tasks,
    pool_args,
    task_slots,
)

SIZED = """
countries:
  - code: nl
    code_table_version: v1
    training:
      instance_count: 3
      hpo: {max_jobs: 8, max_parallel_jobs: 4}
    endpoint: {instance_count: 5}
    batch_inference: {instance_count: 6}
    schemes:
      packaging:
        endpoint: {serverless: {memory_mb: 2048, max_concurrency: 5}}
"""


@pytest.fixture
def sized_models(tmp_path):
    path = tmp_path / "countries.yaml"
    path.write_text(SIZED)
    return {model.key: model for model in load_models(path)}


def write_pools(tmp_path, text: str):
    path = tmp_path / "pools.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_a_tuning_task_holds_parallel_jobs_times_instances(sized_models):
    nl = sized_models["nl"]
    assert task_slots(nl, "tune") == ("sagemaker_tuning", 4 * 3)
    assert pool_args(nl, "tune") == {"pool": "sagemaker_tuning", "pool_slots": 12}


def test_training_transform_and_hosting_hold_their_instance_counts(sized_models):
    nl = sized_models["nl"]
    assert task_slots(nl, "train_model") == ("sagemaker_training", 3)
    assert task_slots(nl, "batch_transform") == ("sagemaker_transform", 6)
    assert task_slots(nl, "deploy_endpoint") == ("sagemaker_hosting", 5)


def test_a_serverless_endpoint_holds_one_hosting_slot(sized_models):
    assert task_slots(sized_models["nl-packaging"], "deploy_endpoint") == ("sagemaker_hosting", 1)


def test_one_instance_jobs_and_api_calls_hold_one_slot(sized_models):
    nl = sized_models["nl"]
    for task_id in ("prepare_data", "evaluate_models", "postprocess"):
        assert task_slots(nl, task_id) == ("sagemaker_processing", 1)
    for task_id in (
        "transform_challenger",
        "transform_champion",
        "transform_challenger_golden",
        "transform_champion_golden",
    ):
        assert task_slots(nl, task_id) == ("sagemaker_transform", 1)
    for task_id in ("create_model", "create_endpoint_config"):
        assert task_slots(nl, task_id) == ("sagemaker_api", 1)


def test_a_task_without_a_pool_is_an_error_naming_it(sized_models):
    with pytest.raises(KeyError, match="'smoke_test' has no pool"):
        task_slots(sized_models["nl"], "smoke_test")


def test_every_environment_of_the_pools_file_sizes_every_family_and_counts_deferred():
    environments = yaml.safe_load(POOLS_FILE.read_text())["environments"]
    assert {"local", "dev", "prod"} <= set(environments)
    for environment, sizes in environments.items():
        pools = {pool.name: pool for pool in load_pools(environment)}
        assert set(pools) == {f"sagemaker_{family}" for family in FAMILIES}
        for family, size in sizes.items():
            assert pools[f"sagemaker_{family}"].slots == size
        assert all(pool.include_deferred for pool in pools.values())
        assert all(pool.settings()["include_deferred"] is True for pool in pools.values())


def test_the_shipped_models_fit_every_environments_pools(models):
    for environment in yaml.safe_load(POOLS_FILE.read_text())["environments"]:
        assert oversized_tasks(load_pools(environment), models) == []


def test_a_task_bigger_than_its_pool_is_named_with_model_and_sizes(sized_models):
    pools = load_pools("dev")
    tuning = next(pool.slots for pool in pools if pool.name == "sagemaker_tuning")
    assert tuning < 12  # the fixture's nl tune needs 4 x 3
    problems = oversized_tasks(pools, [sized_models["nl"]])
    assert (
        f"model 'nl', task tune: needs 12 slots of pool sagemaker_tuning, which has {tuning}"
        in (problems)
    )


def test_every_task_family_has_a_pool():
    assert {family for family, _ in TASK_POOLS.values()} <= set(FAMILIES)


def test_an_environment_missing_from_the_file_is_named(tmp_path):
    path = write_pools(
        tmp_path,
        """
        environments:
          dev: {processing: 1, tuning: 1, training: 1, transform: 1, hosting: 1, api: 1}
        """,
    )
    with pytest.raises(PoolsConfigError, match=r"pools.yaml: no pools for environment 'qa'.*dev"):
        load_pools("qa", path)


def test_a_missing_or_zero_size_names_environment_and_field(tmp_path):
    path = write_pools(
        tmp_path,
        """
        environments:
          dev: {processing: 0, tuning: 1, training: 1, transform: 1, api: 1}
        """,
    )
    with pytest.raises(PoolsConfigError) as raised:
        load_pools("dev", path)
    message = str(raised.value)
    assert "field 'environments.dev.processing'" in message
    assert "field 'environments.dev.hosting': Field required" in message


def test_a_missing_pools_file_is_named(tmp_path):
    with pytest.raises(PoolsConfigError, match="nope.yaml: pools file not found"):
        load_pools("dev", tmp_path / "nope.yaml")
