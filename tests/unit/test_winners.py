"""Winners registry against moto's DynamoDB: conditional writes, history, races, and the
transient errors (throttling, transaction conflicts) injected into the real botocore client."""

import json
import threading

import boto3
import pytest
from mlops import winners
from mlops.winners import (
    CURRENT,
    WinnersRegistry,
    WinnersWriteError,
    history_table_name,
    table_key_schema,
)
from moto import mock_aws
from moto.core.botocore_stubber import BotocoreStubber

from tests.support.botocore_faults import cancelled, dynamodb_error, inject

COUNTRY = "de"
PACKAGE_ARN_PREFIX = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/mlops-de"
WINNERS_TABLE = "mlops-test-winners"


@pytest.fixture
def sleeps():
    """The backoff the registry asked for (it waits for nothing in these tests)."""
    return []


@pytest.fixture
def registry(monkeypatch, sleeps):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name="eu-west-1")
        table, history = (
            dynamodb.create_table(
                TableName=name, **table_key_schema(), BillingMode="PAY_PER_REQUEST"
            )
            for name in (WINNERS_TABLE, history_table_name(WINNERS_TABLE))
        )
        yield WinnersRegistry(table, history, sleep=sleeps.append)


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
    # Keyed by the run (its start and id), not by the wall clock of the decision.
    assert history[0]["sk"] == "HISTORY#2026-11-01T00:00:00#run1"


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
    # History is ordered by run start: the older run's decision comes first.
    assert [(h["run_id"], h["outcome"]) for h in registry.history(COUNTRY)] == [
        ("run-old", "lost_race"),
        ("run-new", "promoted"),
    ]


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


# ---------------------------------------------------------------- history in its own table
def test_history_lives_in_its_own_table_and_the_winners_table_holds_only_current(registry):
    record(registry, "m1", "run1", "2026-11-01T00:00:00", None)
    record(registry, "m2", "run2", "2026-11-02T00:00:00", 1, promote=False)
    assert [i["sk"] for i in registry.table.scan()["Items"]] == [CURRENT]
    assert registry.history_table.name == "mlops-test-winners-history"
    assert sorted(i["outcome"] for i in registry.history_table.scan()["Items"]) == [
        "kept_champion",
        "promoted",
    ]


def test_the_history_table_defaults_to_the_winners_tables_sibling(registry):
    own = WinnersRegistry(registry.table)
    assert own.history_table.name == history_table_name(WINNERS_TABLE)
    record(registry, "m1", "run1", "2026-11-01T00:00:00", None)
    assert [h["run_id"] for h in own.history(COUNTRY)] == ["run1"]


# ---------------------------------------------------------------- transient errors
def client(registry):
    return registry.table.meta.client


@pytest.mark.parametrize(
    "code", ["ThrottlingError", "TransactionConflict", "ProvisionedThroughputExceeded"]
)
def test_a_transiently_cancelled_promotion_is_tried_again_and_wins(registry, sleeps, code):
    faults = inject(
        client(registry), "TransactWriteItems", [cancelled(code, "None"), cancelled("None", code)]
    )
    result = record(registry, "m1", "run1", "2026-11-01T00:00:00", None)
    assert (result.won, result.outcome, result.version) == (True, "promoted", 1)
    assert faults.calls == 3 and len(sleeps) == 2
    assert registry.current(COUNTRY)["model_name"] == "m1"
    assert [h["outcome"] for h in registry.history(COUNTRY)] == ["promoted"]


def test_a_promotion_that_stays_conflicted_raises_and_writes_nothing(registry, sleeps):
    record(registry, "m1", "run1", "2026-11-01T00:00:00", None)
    faults = inject(
        client(registry),
        "TransactWriteItems",
        [],
        then=cancelled("TransactionConflict", "None"),
    )
    with pytest.raises(WinnersWriteError, match=r"failed 8 times .* TransactionConflict") as err:
        record(registry, "m2", "run2", "2026-11-02T00:00:00", 1)
    assert "nothing was written" in str(err.value)
    assert faults.calls == winners.WRITE_ATTEMPTS
    # Backoff between attempts, bounded: one sleep fewer than attempts, none above the cap.
    assert len(sleeps) == winners.WRITE_ATTEMPTS - 1
    assert all(0 <= s <= winners.BACKOFF_CAP_SECONDS for s in sleeps)
    current = registry.current(COUNTRY)
    assert (current["model_name"], current["version"]) == ("m1", 1)
    assert [h["run_id"] for h in registry.history(COUNTRY)] == ["run1"]


def test_a_failed_condition_on_current_is_the_only_lost_race(registry):
    record(registry, "m1", "run1", "2026-11-01T00:00:00", None)
    # The stale version fails CURRENT's condition for real (moto evaluates it): a lost race.
    result = record(registry, "m2", "run2", "2026-11-02T00:00:00", None)
    assert (result.won, result.outcome) == (False, "lost_race")
    assert registry.current(COUNTRY)["model_name"] == "m1"


def test_a_cancellation_for_another_reason_raises_instead_of_losing(registry, sleeps):
    inject(client(registry), "TransactWriteItems", [cancelled("ValidationError", "None")])
    with pytest.raises(WinnersWriteError, match=r"refused the promotion .*'ValidationError'"):
        record(registry, "m1", "run1", "2026-11-01T00:00:00", None)
    assert sleeps == [] and registry.history(COUNTRY) == []


def test_a_conflicted_history_write_is_tried_again(registry, sleeps):
    faults = inject(
        registry.history_table.meta.client,
        "PutItem",
        [dynamodb_error("TransactionConflictException")],
    )
    result = record(registry, "m1", "run1", "2026-11-01T00:00:00", None, promote=False)
    assert result.outcome == "kept_champion" and faults.calls == 2
    assert [h["outcome"] for h in registry.history(COUNTRY)] == ["kept_champion"]


def test_backoff_is_jittered_below_an_exponential_ceiling():
    for attempt in range(1, 12):
        ceiling = min(
            winners.BACKOFF_CAP_SECONDS, winners.BACKOFF_BASE_SECONDS * 2 ** (attempt - 1)
        )
        assert all(0 <= winners.backoff_seconds(attempt) <= ceiling for _ in range(20))


# ---------------------------------------------------------------- one decision per run
def test_a_retried_kept_champion_writes_no_second_history_item(registry):
    record(registry, "m1", "run1", "2026-11-01T00:00:00", None)
    first = record(
        registry, "m2", "run2", "2026-11-02T00:00:00", 1, promote=False, decided="2026-11-02T01:00"
    )
    again = record(
        registry, "m2", "run2", "2026-11-02T00:00:00", 1, promote=False, decided="2026-11-02T02:00"
    )
    assert again == first
    history = registry.history(COUNTRY)
    assert [h["run_id"] for h in history] == ["run1", "run2"]
    assert history[-1]["decided_at"] == "2026-11-02T01:00"  # the first write, not overwritten


def test_a_retried_promotion_returns_the_first_result_and_writes_nothing(registry):
    first = record(registry, "m1", "run1", "2026-11-01T00:00:00", None, decided="2026-11-01T01:00")
    # The retry read the winner its own first attempt wrote: its expected version is 1 now.
    again = record(registry, "m1", "run1", "2026-11-01T00:00:00", 1, decided="2026-11-01T02:00")
    assert again == first
    assert registry.current(COUNTRY)["version"] == 1
    assert len(registry.history(COUNTRY)) == 1


def test_a_retried_lost_race_stays_lost(registry):
    record(registry, "m1", "run1", "2026-11-01T00:00:00", None)
    first = record(registry, "m2", "run2", "2026-11-02T00:00:00", None)
    again = record(registry, "m2", "run2", "2026-11-02T00:00:00", 1)  # would win now
    assert first.outcome == again.outcome == "lost_race"
    assert registry.current(COUNTRY)["model_name"] == "m1"
    assert len(registry.history(COUNTRY)) == 2


def test_a_concurrent_attempt_of_the_same_run_wins_once(registry):
    # Another attempt of run1 records its decision between this attempt's read and its write:
    # the transaction fails on the history item's condition, and the stored result comes back.
    other = WinnersRegistry(registry.table, registry.history_table)
    state = {}

    def race(**_):
        if not state:  # the other attempt's own transaction goes through this handler too
            state["racing"] = True
            state["other"] = record(other, "m1", "run1", "2026-11-01T00:00:00", None)

    client(registry).meta.events.register("before-call.dynamodb.TransactWriteItems", race)
    result = record(registry, "m1", "run1", "2026-11-01T00:00:00", None)
    assert result == state["other"] and result.outcome == "promoted"
    assert len(registry.history(COUNTRY)) == 1


# ---------------------------------------------------------------- the client's own retries
def test_the_dynamodb_resource_retries_in_botocores_standard_mode(monkeypatch):
    from mlops.aws import RESOURCE_RETRIES, aws_resource

    extra = {"region_name": "eu-west-1"}
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps({"conn_type": "aws", "extra": extra}))
    retries = aws_resource("dynamodb").meta.client.meta.config.retries
    assert retries["mode"] == RESOURCE_RETRIES["mode"] == "standard"
    assert retries["total_max_attempts"] == RESOURCE_RETRIES["max_attempts"] + 1
    # The connection's own botocore config wins where it says something.
    extra["config_kwargs"] = {"retries": {"mode": "adaptive", "max_attempts": 9}}
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps({"conn_type": "aws", "extra": extra}))
    assert aws_resource("dynamodb").meta.client.meta.config.retries["mode"] == "adaptive"
