"""The monthly cost projection (bench/cost.py) is the seed's workload on the countries file's
instance choices, priced with the runs' own cost code."""

import json

import pytest
from mlops import costs
from mlops.config import enabled_models

from bench import cost as bench
from tests.unit.conftest import DEFAULT_COUNTRIES, REPO

PRICES = {"ml.m5.large": 0.1, "ml.m5.xlarge": 0.2, "ml.g5.xlarge": 1.0, "ml.trn1.2xlarge": 2.0}


@pytest.fixture
def projection(tmp_path, settings):
    path = tmp_path / "prices.yaml"
    path.write_text(
        json.dumps(
            {
                "source": "test",
                "as_of": "2026-11-30",
                "currency": "USD",
                "regions": {"us-east-1": PRICES, "eu-west-1": {"ml.m5.large": 0.1}},
            }
        )
    )
    images = json.loads((REPO / "bench" / "results" / "images.json").read_text())
    models = enabled_models(DEFAULT_COUNTRIES)
    return models, bench.project(models, costs.load_price_table(path), images, settings)


def test_the_workload_is_38_countries_and_60_models_of_the_files_profiles(projection):
    models, result = projection
    counts = result["workload"]["models_per_profile"]
    assert sum(counts.values()) == 60
    defaults = {m.key for m in models if m.scheme is None}
    assert sum(n for key, n in counts.items() if key in defaults) == 38
    assert result["workload"]["items_per_model"] == 55_000


def test_the_ceiling_bills_every_job_to_its_limit_and_the_endpoints_all_month(projection):
    models, result = projection
    counts = result["workload"]["models_per_profile"]
    by_key = {m.key: m for m in models}
    lines = result["regions"]["us-east-1"]["lines"]
    tuning_hours = sum(
        n
        * by_key[key].training.hpo.max_jobs
        * by_key[key].training.instance_count
        * by_key[key].training.max_runtime_seconds
        / 3600
        for key, n in counts.items()
    )
    assert lines["tuning (training jobs)"]["ceiling_instance_hours"] == pytest.approx(
        tuning_hours, abs=0.1
    )
    endpoint_cost = sum(
        n * 730 * by_key[key].endpoint.instance_count * PRICES[by_key[key].endpoint.instance_type]
        for key, n in counts.items()
        if by_key[key].endpoint.serverless is None
    )
    endpoints = lines["endpoints (real-time, 730 h)"]
    assert endpoints["ceiling_usd"] == endpoints["expected_usd"] == pytest.approx(endpoint_cost)
    total = result["regions"]["us-east-1"]["total"]
    assert total["ceiling_usd"] == pytest.approx(
        sum(line["ceiling_usd"] for line in lines.values()), abs=0.05
    )
    assert total["expected_usd"] < total["ceiling_usd"]


def test_a_region_that_does_not_price_a_type_leaves_the_total_unknown_naming_it(projection):
    _, result = projection
    region = result["regions"]["eu-west-1"]
    assert region["total"]["expected_usd"] is None
    assert any("no price for ml.trn1.2xlarge in eu-west-1" in r for r in region["cost_unknown"])
    assert region["lines"]["batch transform"]["priced_part_expected_usd"] == 0
    assert region["lines"]["endpoints (real-time, 730 h)"]["expected_usd"] > 0
