"""The landing contract (mlops.events) and the month a train or batch run takes from its events."""

import json
from pathlib import Path

import pytest
from mlops import events, steps
from mlops.config import enabled_models, get_model

BUCKET = "mlops-dev-data"


def _models():
    return {model.key: model for model in enabled_models()}


def _s3_message(key: str, bucket: str = BUCKET, event: str = "ObjectCreated:Put") -> dict:
    body = {
        "Records": [
            {"eventName": event, "s3": {"bucket": {"name": bucket}, "object": {"key": key}}}
        ]
    }
    return {"MessageId": "m", "ReceiptHandle": "r", "Body": json.dumps(body)}


def _watcher_extra(*messages: dict) -> dict:
    """An asset event's extra as Airflow writes it for a watcher (Trigger.submit_event)."""
    return {"from_trigger": True, "payload": {"status": "success", "message_batch": list(messages)}}


def test_queue_names_and_filters_follow_the_model():
    de, batteries = get_model("de"), get_model("de-batteries")
    assert events.queue_name("mlops-dev", de, "labeled") == "mlops-dev-landing-labeled-de"
    assert events.queue_name("mlops-dev", batteries, "unlabeled") == (
        "mlops-dev-landing-unlabeled-de-batteries"
    )
    assert events.marker_key(batteries, "2026-10", "labeled") == (
        "de/batteries/2026-10/labeled/_SUCCESS"
    )
    assert events.notification_filter(de, "labeled") == {
        "prefix": "de/2",
        "suffix": "/labeled/_SUCCESS",
    }
    with pytest.raises(ValueError, match="data kind 'predictions'"):
        events.queue_name("mlops-dev", de, "predictions")


def test_the_default_models_filters_never_overlap_a_schemes():
    assert events.overlapping_filters(_models().values()) == []


def test_a_data_prefix_inside_another_models_months_is_reported(tmp_path: Path):
    # gb's data moved under de's month space: S3 would refuse the two notifications.
    moved = get_model("gb").model_copy(update={"data_prefix": "de/2026"})
    problems = events.overlapping_filters([get_model("de"), moved])
    assert len(problems) == 2  # labeled and unlabeled
    assert "'de'" in problems[0] and "'gb'" in problems[0]


def test_a_marker_names_its_month_only_for_its_own_model_and_kind():
    de, batteries = get_model("de"), get_model("de-batteries")
    assert events.marker_month(de, "labeled", "de/2026-10/labeled/_SUCCESS") == "2026-10"
    assert events.marker_month(de, "labeled", "de/batteries/2026-10/labeled/_SUCCESS") is None
    assert events.marker_month(batteries, "labeled", "de/2026-10/labeled/_SUCCESS") is None
    assert events.marker_month(de, "unlabeled", "de/2026-10/labeled/_SUCCESS") is None
    assert events.marker_month(de, "labeled", "de/2026-13/labeled/_SUCCESS") is None
    assert events.marker_month(de, "labeled", "de/2026-10/labeled/part-0.jsonl") is None


def test_months_come_from_the_watchers_s3_records_and_the_rest_is_reported():
    de = get_model("de")
    landing = events.landing_from_events(
        de,
        "labeled",
        BUCKET,
        [
            _watcher_extra(
                _s3_message("de/2026-11/labeled/_SUCCESS"),
                _s3_message("de/2026-10/labeled/_SUCCESS"),
                {"Body": json.dumps({"Event": "s3:TestEvent", "Bucket": BUCKET})},
                _s3_message("de/2026-12/labeled/_SUCCESS", bucket="someone-elses"),
                _s3_message("de/2026-12/labeled/_SUCCESS", event="ObjectRemoved:Delete"),
                {"Body": "not json"},
            ),
            {"model_package_arn": "an event a task emitted"},
        ],
    )
    assert landing.months == ("2026-10", "2026-11")
    assert landing.month == "2026-11"
    assert len(landing.ignored) == 4
    assert any("s3:TestEvent" in item for item in landing.ignored)
    assert any("someone-elses" in item for item in landing.ignored)


def test_an_s3_key_arrives_url_encoded():
    scheme = get_model("de-batteries").model_copy(update={"data_prefix": "de/batteries v2"})
    extra = _watcher_extra(_s3_message("de/batteries+v2/2026-10/labeled/_SUCCESS"))
    assert events.landing_from_events(scheme, "labeled", BUCKET, [extra]).month == "2026-10"


def test_the_param_wins_then_the_newest_landed_month_then_the_fallback():
    de = get_model("de")
    landed = [_watcher_extra(_s3_message("de/2026-09/labeled/_SUCCESS"))]
    chosen = steps.run_month(de, "labeled", BUCKET, param="2026-01", extras=landed, fallback="x")
    assert chosen.month == "2026-01"
    chosen = steps.run_month(de, "labeled", BUCKET, param="", extras=landed, fallback="2026-11")
    assert chosen.month == "2026-09"
    chosen = steps.run_month(de, "labeled", BUCKET, param="", extras=[], fallback="2026-11")
    assert chosen.month == "2026-11"


def test_events_without_a_marker_of_the_model_start_nothing():
    de = get_model("de")
    other = [_watcher_extra(_s3_message("de/batteries/2026-09/labeled/_SUCCESS"))]
    chosen = steps.run_month(de, "labeled", BUCKET, param="", extras=other, fallback="2026-11")
    assert chosen.month is None
    assert "no labeled marker of de" in chosen.reason
    assert "de/batteries/2026-09/labeled/_SUCCESS" in chosen.reason


def test_a_run_without_a_month_is_skipped_with_its_reason():
    from airflow.sdk.exceptions import AirflowSkipException
    from mlops.run_context import month_or_skip

    with pytest.raises(AirflowSkipException, match="trained already"):
        month_or_skip(steps.RunMonth(None, "2026-10 is trained already (arn)"))
    assert month_or_skip(steps.RunMonth("2026-10", "labeled marker of 2026-10")) == "2026-10"


def test_the_dags_assets_hash_by_name_and_uri_and_serialize_as_assets():
    """Airflow hashes a DAG's schedule for every dependency it sets: the product's assets hash
    without serializing their watchers, consistently with Asset's equality."""
    from airflow.sdk import Asset
    from airflow.serialization.encoders import encode_asset_like
    from mlops.dag_factory import challenger_asset

    de = get_model("de")
    watched = events.landing_asset(de, "labeled", url_prefix="https://sqs.example/q-")
    for asset in (watched, challenger_asset(de)):
        assert hash(asset) == hash((asset.name, asset.uri))
        plain = Asset(name=asset.name, uri=asset.uri, watchers=asset.watchers, extra=asset.extra)
        assert asset == plain
        assert encode_asset_like(asset) == encode_asset_like(plain)
    assert watched.watchers  # the watcher is still there
