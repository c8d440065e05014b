"""What tasks read from their Airflow context, with plain mappings standing in for it."""

from datetime import UTC, datetime
from types import SimpleNamespace

from mlops.run_context import data_month, run_moment, run_started_at, triggering_extras


def test_the_month_param_wins_over_the_run_moment():
    context = {"data_interval_end": datetime(2026, 11, 2, tzinfo=UTC)}
    assert data_month("2026-07", context) == "2026-07"
    assert data_month("", context) == "2026-10"


def test_a_run_without_data_interval_takes_now():
    assert run_moment({}).tzinfo is not None


def test_run_start_is_iso_utc():
    started = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)
    assert run_started_at({"dag_run": SimpleNamespace(start_date=started)}) == started.isoformat()


def test_triggering_extras_are_flattened_oldest_first():
    events = {
        "challenger__de": [SimpleNamespace(extra={"model_package_arn": "a"})],
        "other": [SimpleNamespace(extra=None), SimpleNamespace(extra={"model_package_arn": "b"})],
    }
    assert triggering_extras({"triggering_asset_events": events}) == [
        {"model_package_arn": "a"},
        {},
        {"model_package_arn": "b"},
    ]
    assert triggering_extras({}) == []
