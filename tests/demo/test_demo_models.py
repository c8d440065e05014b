"""The demo runs models, not countries: which models a local run has, what each runs, and what
the final table shows — checked without starting the stack or Airflow."""

from __future__ import annotations

import pytest
from mlops.config import DAG_KINDS, enabled_models, get_model

from local.demo import demo_failures, latest_unlabeled_product, table_lines
from local.demodata import generate_month
from local.pipeline import (
    dag_runs,
    local_training_budget,
    write_countries_file,
)

MONTHS = ["2026-10", "2026-11"]


@pytest.fixture
def demo_file(tmp_path):
    return write_countries_file(
        tmp_path / "countries.yaml", ["de", "fr", "gb"], "v2", local_training_budget
    )


def test_the_demo_countries_have_four_models_on_the_month_code_table(demo_file):
    models = enabled_models(demo_file)
    assert [m.key for m in models] == ["de", "de-batteries", "fr", "gb"]
    assert {m.code_table_version for m in models} == {"v2"}
    assert get_model("de-batteries", demo_file).prefix == "de/batteries"


def test_the_local_budget_reaches_every_model_and_keeps_what_it_inherits(demo_file):
    for model in enabled_models(demo_file):
        hpo = model.training.hpo
        assert (hpo.max_jobs, hpo.max_parallel_jobs) == (2, 2), model.key
        assert hpo.ranges, model.key
    de, batteries = get_model("de", demo_file), get_model("de-batteries", demo_file)
    assert de.endpoint.canary.wait_seconds == 5
    assert batteries.training.algorithm == "linear"
    assert set(batteries.training.hpo.ranges) == {"alpha", "loss"}
    assert batteries.endpoint.canary is None  # the scheme deploys without canary


def test_a_country_not_chosen_has_none_of_its_models_enabled(tmp_path):
    path = write_countries_file(tmp_path / "countries.yaml", ["gb"], "v1")
    assert [m.key for m in enabled_models(path)] == ["gb"]


def test_each_model_runs_its_own_dags(demo_file):
    batteries = get_model("de-batteries", demo_file)
    assert dag_runs(batteries, DAG_KINDS) == [
        ("train", "train__de__batteries"),
        ("evaluate", "evaluate__de__batteries"),
        ("deploy", "deploy__de__batteries"),
        ("batch_inference", "batch_inference__de__batteries"),
    ]
    assert [dag for _, dag in dag_runs(get_model("de", demo_file), DAG_KINDS)] == [
        "train__de",
        "evaluate__de",
        "deploy__de",
        "batch_inference__de",
    ]


def test_a_default_model_samples_its_own_months_not_its_schemes(tmp_path):
    for month in MONTHS:
        generate_month(tmp_path, "de", month, 5, unlabeled_items=2)
        generate_month(tmp_path, "de", month, 5, scheme="batteries", unlabeled_items=2)
    assert latest_unlabeled_product(tmp_path / "de")["item_id"].startswith("de-202611-U")
    assert latest_unlabeled_product(tmp_path / "de" / "batteries")["item_id"].startswith(
        "de-batteries-202611-U"
    )


def _row(model: str, key: str, *, ok: bool = True, promoted: bool = True) -> dict:
    decision = {
        "month": "2026-11",
        "outcome": "promoted" if promoted else "rejected",
        "winner_changed": promoted,
        "challenger_macro_f1": 0.95,
        "champion_macro_f1": 0.47,
        "p_value": 0.001,
        "reasons": "challenger wins",
        "report": f"reports/{key}-2026-11-report.html",
    }
    return {
        "model": model,
        "key": key,
        "ok": ok,
        "error": None if ok else "a DAG run failed",
        "champion": f"mlops-{key}-v2",
        "champion_month": "2026-11",
        "champion_version": 2,
        "decisions": [decision],
    }


def test_the_table_has_one_block_per_model():
    lines = table_lines([_row("DE", "de"), _row("DE batteries", "de-batteries")])
    headers = [line for line in lines if line and not line.startswith((" ", "\n", "="))]
    assert headers == ["DE  OK", "DE batteries  OK"]
    assert "  champion        mlops-de-batteries-v2 (data 2026-11, winners version 2)" in lines
    assert lines[-1] == "=" * 100


def test_failures_and_kept_champions_are_named_by_model():
    rows = [
        _row("DE", "de"),
        _row("DE batteries", "de-batteries", promoted=False),
        _row("FR", "fr", ok=False),
    ]
    assert demo_failures(rows) == (["FR"], ["DE batteries"])


def _bad_row(key, *, ok=True, promoted=True):
    return {
        "model": key.upper(),
        "key": key,
        "ok": ok,
        "error": None if ok else "boom",
        "decisions": [{"winner_changed": True}, {"winner_changed": promoted}],
    }


def test_a_bad_month_may_keep_its_champion_and_the_others_must_still_win():
    rows = [_bad_row("de", promoted=False), _bad_row("gb")]
    assert demo_failures(rows, {"de": "swapped-labels"}) == ([], [])
    # Without the bad month, the same table is a failed demo: de's challenger did not win.
    assert demo_failures(rows) == ([], ["DE"])
    # A bad month never excuses another model's loss.
    assert demo_failures([_bad_row("de"), _bad_row("gb", promoted=False)], {"de": "tiny"}) == (
        [],
        ["GB"],
    )


def test_bad_month_flags_name_a_model_of_the_demo_and_a_known_scenario(demo_file):
    from local.demo import DEFAULT_BAD_MONTH, parse_bad_months

    models = enabled_models(demo_file)
    assert parse_bad_months(["de", "de-batteries:tiny"], models) == {
        "de": DEFAULT_BAD_MONTH,
        "de-batteries": "tiny",
    }
    with pytest.raises(SystemExit, match="'it' is not one of this demo's models"):
        parse_bad_months(["it"], models)
    with pytest.raises(SystemExit, match="unknown scenario 'rotten'"):
        parse_bad_months(["de:rotten"], models)
