"""Winners registry against moto's DynamoDB: conditional writes, history, races."""

import threading

import boto3
import pytest
from mlops.winners import CURRENT, WinnersRegistry, table_key_schema
from moto import mock_aws
from moto.core.botocore_stubber import BotocoreStubber

COUNTRY = "de"
PACKAGE_ARN_PREFIX = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/mlops-de"


@pytest.fixture
def registry(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name="eu-west-1")
        table = dynamodb.create_table(
            TableName="mlops-test-winners",
            **table_key_schema(),
            BillingMode="PAY_PER_REQUEST",
        )
        yield WinnersRegistry(table)


def candidate(model: str, macro_f1: float = 0.9) -> dict:
    return {
        "model_name": model,
        "model_package_arn": f"{PACKAGE_ARN_PREFIX}/{model}",
        "metrics": {"macro_f1": macro_f1, "accuracy": 0.95},
        "test_set_uri": "s3://mlops-local-models/de/runs/x/prepare/test_features/",
        "image_digest": "sha256:abc",
        "data_month": "2026-10",
    }


def record(registry, model, run, started, expected, promote=True, decided="2026-11-22T04:00:00"):
    return registry.record(
        model_key=COUNTRY,
        candidate=candidate(model),
        decision={"promote": promote, "reasons": ["because"]},
        run_id=run,
        run_started_at=started,
        decided_at=decided,
        expected_version=expected,
    )


def test_no_winner_before_the_first_run(registry):
    assert registry.current(COUNTRY) is None


def test_first_promotion_creates_current_with_version_1(registry):
    result = record(registry, "m1", "run1", "2026-11-01T00:00:00", None)
    assert result.won and result.version == 1
    current = registry.current(COUNTRY)
    assert current["model_name"] == "m1"
    assert current["version"] == 1
    assert current["metrics"]["macro_f1"] == 0.9


def test_promotion_bumps_the_version_and_keeps_history(registry):
    record(registry, "m1", "run1", "2026-11-01T00:00:00", None, decided="2026-11-01T01:00:00")
    result = record(registry, "m2", "run2", "2026-11-02T00:00:00", 1, decided="2026-11-02T01:00:00")
    assert result.won and result.version == 2
    assert registry.current(COUNTRY)["model_name"] == "m2"
    history = registry.history(COUNTRY)
    assert [h["model_name"] for h in history] == ["m1", "m2"]
    assert all(h["outcome"] == "promoted" for h in history)
    assert history[0]["sk"].startswith("HISTORY#2026-11-01T01:00:00#run1")


def test_rejected_challenger_is_recorded_but_does_not_change_the_winner(registry):
    record(registry, "m1", "run1", "2026-11-01T00:00:00", None)
    result = record(registry, "m2", "run2", "2026-11-02T00:00:00", 1, promote=False)
    assert not result.won and result.outcome == "kept_champion"
    assert registry.current(COUNTRY)["model_name"] == "m1"
    assert registry.history(COUNTRY)[-1]["outcome"] == "kept_champion"


def test_stale_version_cannot_overwrite(registry):
    record(registry, "m1", "run1", "2026-11-01T00:00:00", None)
    record(registry, "m2", "run2", "2026-11-02T00:00:00", 1)
    result = record(registry, "m3", "run3", "2026-11-03T00:00:00", 1)
    assert not result.won and result.outcome == "lost_race"
    assert registry.current(COUNTRY)["model_name"] == "m2"


def test_older_run_cannot_overwrite_a_newer_winner(registry):
    record(registry, "newer", "run-new", "2026-11-05T00:00:00", None)
    # The older run read the current version (1) but started before the newer winner's run.
    result = record(registry, "older", "run-old", "2026-11-04T00:00:00", 1)
    assert not result.won
    current = registry.current(COUNTRY)
    assert current["model_name"] == "newer" and current["version"] == 1
    assert registry.history(COUNTRY)[-1]["outcome"] == "lost_race"


def test_retry_of_the_winning_run_reports_the_win_without_writing_again(registry):
    first = record(registry, "m1", "run1", "2026-11-01T00:00:00", None, decided="2026-11-01T01:00")
    again = record(registry, "m1", "run1", "2026-11-01T00:00:00", None, decided="2026-11-01T02:00")
    assert first.won and again.won and again.version == 1
    assert len(registry.history(COUNTRY)) == 1


@pytest.fixture
def serialised_moto(monkeypatch):
    """DynamoDB applies conditional writes to one item one at a time; moto's in-memory backend
    does not guard itself against threads, so each API call is made atomic here. The writers
    still read, decide and write concurrently."""
    lock = threading.Lock()
    original = BotocoreStubber.__call__

    def atomic(self, *args, **kwargs):
        with lock:
            return original(self, *args, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", atomic)


@pytest.mark.parametrize("expected", [None, 1], ids=["first-winner", "replacing-a-winner"])
def test_concurrent_writers_produce_exactly_one_winner(registry, serialised_moto, expected):
    if expected:
        record(registry, "m0", "run0", "2026-11-01T00:00:00", None, decided="2026-11-01T00:00")
    writers = 8
    barrier = threading.Barrier(writers)
    results = {}

    def write(i: int) -> None:
        # boto3 resources are not thread-safe: each writer has its own session, as tasks do.
        session = boto3.session.Session(region_name="eu-west-1")
        own = WinnersRegistry(session.resource("dynamodb").Table(registry.table.name))
        barrier.wait()
        results[i] = record(
            own,
            f"m{i + 1}",
            f"run-{i + 1}",
            f"2026-11-02T00:00:0{i}",
            expected,
            decided=f"2026-11-02T01:00:0{i}",
        )

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winners = [i for i, result in results.items() if result.won]
    assert len(winners) == 1
    current = registry.current(COUNTRY)
    assert current["model_name"] == f"m{winners[0] + 1}"
    assert current["version"] == (expected or 0) + 1
    outcomes = sorted(result.outcome for result in results.values())
    assert outcomes == ["lost_race"] * (writers - 1) + ["promoted"]
    assert len(registry.history(COUNTRY)) == writers + (1 if expected else 0)


def test_current_item_uses_the_documented_keys(registry):
    record(registry, "m1", "run1", "2026-11-01T00:00:00", None)
    item = registry.table.get_item(Key={"pk": COUNTRY, "sk": CURRENT})["Item"]
    assert item["pk"] == "de" and item["sk"] == "CURRENT" and int(item["version"]) == 1
