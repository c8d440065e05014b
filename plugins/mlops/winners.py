"""Winners registry in DynamoDB: the current winner per model, and an append-only history.

Two tables with the same keys (docs/interfaces.md): ``pk`` = the model key (``de``,
``de-batteries``). The winners table holds one item per model, ``sk`` = ``CURRENT``, carrying
``version`` for optimistic locking. The history table (``<winners table>-history`` by default)
holds one item per evaluation run, ``sk`` = ``HISTORY#<run_started_at>#<run_id>``: deterministic
per run, so a retried task finds its own decision instead of writing a second one. History items
are only ever written with PutItem guarded by ``attribute_not_exists`` (the MWAA role may not
update or delete them: terraform/modules/mwaa).

A promotion writes ``CURRENT`` only if its version is still the one the run read before comparing
*and* the stored winner comes from an older run, in one transaction with the run's history item.
So two concurrent runs cannot both win and an older run cannot replace a newer winner. Only a
failed condition on ``CURRENT`` is a lost race: a throttled or conflicting transaction is tried
again (bounded, with jittered backoff) and, when the attempts run out, raises
``WinnersWriteError`` with nothing written, so the task fails and Airflow retries it.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

CURRENT = "CURRENT"
HISTORY = "HISTORY#"
HISTORY_TABLE_SUFFIX = "-history"
# The tables' keys, written once: the local stack and the tests create the tables from these,
# and tests/terraform checks terraform/modules/winners_table against them.
PARTITION_KEY = "pk"  # the model key: "de", "de-batteries"
SORT_KEY = "sk"  # winners table: CURRENT; history table: HISTORY#<run_started_at>#<run_id>

# Transient failures of a write, tried again up to WRITE_ATTEMPTS times in all, sleeping a random
# share (full jitter) of BACKOFF_BASE_SECONDS * 2**(attempt - 1), at most BACKOFF_CAP_SECONDS,
# between attempts. The client's own botocore retries (plugins/mlops/aws.py) come first for
# throttled single requests; they never retry a cancelled transaction.
WRITE_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 0.05
BACKOFF_CAP_SECONDS = 2.0
# CancellationReasons codes of a TransactionCanceledException that say "try again".
TRANSIENT_CANCELLATION_CODES = frozenset(
    {"ThrottlingError", "TransactionConflict", "ProvisionedThroughputExceeded"}
)
# Error codes of a request that say "try again" (after botocore's own retries, for most).
TRANSIENT_ERROR_CODES = frozenset(
    {
        "TransactionConflictException",
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "InternalServerError",
    }
)
CONDITION_FAILED = "ConditionalCheckFailed"

T = TypeVar("T")


class WinnersWriteError(RuntimeError):
    """A decision could not be recorded (transient errors outlasted the retries, or DynamoDB
    refused it for a reason that is not a lost race); nothing was written."""


def history_table_name(winners_table: str) -> str:
    """The default name of the history table of ``winners_table``."""
    return winners_table + HISTORY_TABLE_SUFFIX


def table_key_schema() -> dict[str, list[dict[str, str]]]:
    """The KeySchema and AttributeDefinitions arguments of CreateTable, for either table."""
    return {
        "KeySchema": [
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": SORT_KEY, "AttributeType": "S"},
        ],
    }


def history_key(run_started_at: str, run_id: str) -> str:
    """The history sort key of one evaluation run: the same on every retry of its tasks."""
    return f"{HISTORY}{run_started_at}#{run_id}"


def backoff_seconds(attempt: int) -> float:
    """How long to wait after failed attempt ``attempt`` (1-based): full jitter, capped."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
    return random.uniform(0, ceiling)


def cancellation_codes(error: Any) -> list[str]:
    """The CancellationReasons codes of a TransactionCanceledException, one per item."""
    reasons = error.response.get("CancellationReasons") or []
    return [str(reason.get("Code", "None")) for reason in reasons]


def _error_code(error: Any) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _transient(error: Any) -> list[str]:
    """What made ``error`` worth another attempt (empty: it is not transient)."""
    code = _error_code(error)
    if code == "TransactionCanceledException":
        codes = cancellation_codes(error)
        if CONDITION_FAILED in codes:
            return []  # a condition decided: retrying cannot change the answer
        return codes if TRANSIENT_CANCELLATION_CODES.intersection(codes) else []
    return [code] if code in TRANSIENT_ERROR_CODES else []


def _to_dynamo(value: Any) -> Any:
    # DynamoDB numbers must be Decimal; a JSON round trip converts nested floats in one pass.
    return json.loads(json.dumps(value), parse_float=Decimal)


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_dynamo(v) for v in value]
    return value


@dataclass(frozen=True)
class RecordResult:
    won: bool
    outcome: str  # promoted | kept_champion | lost_race
    version: int | None  # the winner version the run made (promoted) or decided against
    history_sk: str


def _sibling_table(table: Any, name: str) -> Any:
    """A boto3 ``Table`` resource named ``name`` on the same client as ``table``."""
    return type(table)(name, client=table.meta.client)


class WinnersRegistry:
    """Reads and writes one model registry: a winners table and its history table (boto3
    ``dynamodb`` resource ``Table`` objects; the history table defaults to
    ``<winners table>-history`` on the same client)."""

    def __init__(
        self,
        table: Any,
        history_table: Any = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.table = table
        self.history_table = (
            history_table
            if history_table is not None
            else _sibling_table(table, history_table_name(table.name))
        )
        self._sleep = sleep

    def current(self, model_key: str) -> dict[str, Any] | None:
        """The model's winner (strongly consistent read), or None before the first one."""
        item = self.table.get_item(
            Key={PARTITION_KEY: model_key, SORT_KEY: CURRENT}, ConsistentRead=True
        ).get("Item")
        return _from_dynamo(item) if item else None

    def history(self, model_key: str) -> list[dict[str, Any]]:
        """Every recorded decision for the model, oldest run first."""
        from boto3.dynamodb.conditions import Key

        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key(PARTITION_KEY).eq(model_key)
            & Key(SORT_KEY).begins_with(HISTORY),
            "ConsistentRead": True,
        }
        while True:
            page = self.history_table.query(**kwargs)
            items.extend(_from_dynamo(page["Items"]))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def recorded(self, model_key: str, *, run_id: str, run_started_at: str) -> RecordResult | None:
        """The decision this evaluation run already recorded, or None."""
        sk = history_key(run_started_at, run_id)
        item = self.history_table.get_item(
            Key={PARTITION_KEY: model_key, SORT_KEY: sk}, ConsistentRead=True
        ).get("Item")
        if not item:
            return None
        entry = _from_dynamo(item)
        outcome = str(entry["outcome"])
        version = entry.get("version")
        return RecordResult(outcome == "promoted", outcome, version, sk)

    def record(
        self,
        *,
        model_key: str,
        candidate: dict[str, Any],
        decision: dict[str, Any],
        run_id: str,
        run_started_at: str,
        decided_at: str,
        expected_version: int | None,
    ) -> RecordResult:
        """Record the run's decision once; on promotion, conditionally replace CURRENT.

        ``candidate``: model_name, model_package_arn, metrics, test_set_uri, image_digest, ...
        ``expected_version``: the CURRENT version read before comparing (None: there was none).
        Idempotent per run (``run_id``, ``run_started_at``): a run that already recorded its
        decision gets that first result back and nothing is written again.
        """
        prior = self.recorded(model_key, run_id=run_id, run_started_at=run_started_at)
        if prior is not None:
            return prior
        sk = history_key(run_started_at, run_id)
        entry = {
            PARTITION_KEY: model_key,
            SORT_KEY: sk,
            "run_id": run_id,
            "run_started_at": run_started_at,
            "decided_at": decided_at,
            "decision": decision,
            **candidate,
        }
        if not decision.get("promote"):
            return self._append(entry, "kept_champion", expected_version)

        new_version = (expected_version or 0) + 1
        current = {
            PARTITION_KEY: model_key,
            SORT_KEY: CURRENT,
            "version": new_version,
            "run_id": run_id,
            "run_started_at": run_started_at,
            "decided_at": decided_at,
            "history_sk": sk,
            **candidate,
        }
        if expected_version is None:
            condition = f"attribute_not_exists({PARTITION_KEY})"
            values: dict[str, Any] = {}
        else:
            condition = "version = :expected AND run_started_at < :started"
            values = {":expected": expected_version, ":started": run_started_at}
        put_current: dict[str, Any] = {
            "TableName": self.table.name,
            "Item": _to_dynamo(current),
            "ConditionExpression": condition,
        }
        if values:
            put_current["ExpressionAttributeValues"] = values
        put_history = {
            "TableName": self.history_table.name,
            "Item": _to_dynamo({**entry, "outcome": "promoted", "version": new_version}),
            "ConditionExpression": f"attribute_not_exists({SORT_KEY})",
        }
        client = self.table.meta.client
        try:
            self._retrying(
                f"the promotion of run {run_id} for {model_key}",
                lambda: client.transact_write_items(
                    TransactItems=[{"Put": put_current}, {"Put": put_history}]
                ),
            )
        except client.exceptions.TransactionCanceledException as exc:
            codes = cancellation_codes(exc) + ["None", "None"]
            if codes[1] == CONDITION_FAILED:
                # A concurrent attempt of this very run recorded its decision first.
                return self._recorded_or_fail(model_key, run_id, run_started_at, exc)
            if codes[0] != CONDITION_FAILED:
                raise WinnersWriteError(
                    f"winners table {self.table.name}: DynamoDB refused the promotion of run "
                    f"{run_id} for {model_key} (cancellation reasons {codes[:2]}); "
                    "nothing was written"
                ) from exc
            stored = self.current(model_key)
            if stored and stored.get("run_id") == run_id:
                # This run's own promotion (recorded before its history used this key).
                return RecordResult(True, "promoted", stored["version"], stored["history_sk"])
            return self._append(entry, "lost_race", expected_version)
        return RecordResult(True, "promoted", new_version, sk)

    def _append(self, entry: dict[str, Any], outcome: str, version: int | None) -> RecordResult:
        """Put the run's history item unless it exists; the stored result wins if it does."""
        item = _to_dynamo({**entry, "outcome": outcome, "version": version})
        client = self.history_table.meta.client
        try:
            self._retrying(
                f"the {outcome} decision of run {entry['run_id']} for {entry[PARTITION_KEY]}",
                lambda: self.history_table.put_item(
                    Item=item, ConditionExpression=f"attribute_not_exists({SORT_KEY})"
                ),
            )
        except client.exceptions.ConditionalCheckFailedException as exc:
            return self._recorded_or_fail(
                entry[PARTITION_KEY], entry["run_id"], entry["run_started_at"], exc
            )
        return RecordResult(outcome == "promoted", outcome, version, entry[SORT_KEY])

    def _recorded_or_fail(
        self, model_key: str, run_id: str, run_started_at: str, cause: Exception
    ) -> RecordResult:
        prior = self.recorded(model_key, run_id=run_id, run_started_at=run_started_at)
        if prior is None:
            raise WinnersWriteError(
                f"history table {self.history_table.name}: the history item of run {run_id} "
                f"for {model_key} exists by its condition but cannot be read back"
            ) from cause
        return prior

    def _retrying(self, what: str, call: Callable[[], T]) -> T:
        """``call()``, tried again on transient errors; WinnersWriteError when they outlast
        WRITE_ATTEMPTS. Any other error (a failed condition among them) is raised as is."""
        from botocore.exceptions import ClientError

        reasons: Sequence[str] = ()
        last: Exception | None = None
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                return call()
            except ClientError as exc:
                reasons = _transient(exc)
                if not reasons:
                    raise
                last = exc
                if attempt < WRITE_ATTEMPTS:
                    self._sleep(backoff_seconds(attempt))
        raise WinnersWriteError(
            f"winners table {self.table.name}: {what} failed {WRITE_ATTEMPTS} times on "
            f"transient DynamoDB errors (last: {', '.join(reasons)}); nothing was written, "
            "the task fails and its retry records the decision"
        ) from last
