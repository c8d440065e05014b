"""Winners registry in DynamoDB: the current winner per model plus an append-only history.

Keys (docs/interfaces.md): ``pk`` = the model key (``de``, ``de-batteries``), ``sk`` =
``CURRENT`` or ``HISTORY#<decided_at ISO>#<run_id>``. The ``CURRENT`` item carries ``version``
for optimistic locking: a promotion writes it only if the version is still the one the run read
when it started comparing *and* the stored winner comes from an older run, in one transaction
with its history item. So two concurrent runs cannot both win and an older run cannot replace a
newer winner.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

CURRENT = "CURRENT"
HISTORY = "HISTORY#"
# The table's keys, written once: the local stack and the tests create the table from these, and
# tests/terraform checks terraform/modules/winners_table against them.
PARTITION_KEY = "pk"  # the model key: "de", "de-batteries"
SORT_KEY = "sk"  # CURRENT | HISTORY#<decided_at>#<run_id>


def table_key_schema() -> dict[str, list[dict[str, str]]]:
    """The KeySchema and AttributeDefinitions arguments of CreateTable for a winners table."""
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


def history_key(decided_at: str, run_id: str) -> str:
    return f"{HISTORY}{decided_at}#{run_id}"


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
    version: int | None
    history_sk: str


class WinnersRegistry:
    """Reads and writes one winners table (a boto3 ``dynamodb`` resource ``Table``)."""

    def __init__(self, table: Any):
        self.table = table

    def current(self, model_key: str) -> dict[str, Any] | None:
        """The model's winner (strongly consistent read), or None before the first one."""
        item = self.table.get_item(Key={"pk": model_key, "sk": CURRENT}, ConsistentRead=True).get(
            "Item"
        )
        return _from_dynamo(item) if item else None

    def history(self, model_key: str) -> list[dict[str, Any]]:
        """Every recorded decision for the model, oldest first."""
        from boto3.dynamodb.conditions import Key

        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(model_key) & Key("sk").begins_with(HISTORY),
            "ConsistentRead": True,
        }
        while True:
            page = self.table.query(**kwargs)
            items.extend(_from_dynamo(page["Items"]))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

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
        """Append the decision to the history; on promotion, conditionally replace CURRENT.

        ``candidate``: model_name, model_package_arn, metrics, test_set_uri, image_digest, ...
        ``expected_version``: the CURRENT version read before comparing (None: there was none).
        """
        sk = history_key(decided_at, run_id)
        entry = {
            "pk": model_key,
            "sk": sk,
            "run_id": run_id,
            "run_started_at": run_started_at,
            "decided_at": decided_at,
            "decision": decision,
            **candidate,
        }
        if not decision.get("promote"):
            self._append({**entry, "outcome": "kept_champion"})
            return RecordResult(False, "kept_champion", expected_version, sk)

        new_version = (expected_version or 0) + 1
        current = {
            "pk": model_key,
            "sk": CURRENT,
            "version": new_version,
            "run_id": run_id,
            "run_started_at": run_started_at,
            "decided_at": decided_at,
            "history_sk": sk,
            **candidate,
        }
        if expected_version is None:
            condition = "attribute_not_exists(pk)"
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
        client = self.table.meta.client
        try:
            client.transact_write_items(
                TransactItems=[
                    {"Put": put_current},
                    {
                        "Put": {
                            "TableName": self.table.name,
                            "Item": _to_dynamo({**entry, "outcome": "promoted"}),
                            "ConditionExpression": "attribute_not_exists(sk)",
                        }
                    },
                ]
            )
        except client.exceptions.TransactionCanceledException:
            stored = self.current(model_key)
            if stored and stored.get("run_id") == run_id:
                # A retry of the run that already won: report the stored result, write nothing.
                return RecordResult(True, "promoted", stored["version"], stored["history_sk"])
            self._append({**entry, "outcome": "lost_race"})
            return RecordResult(False, "lost_race", expected_version, sk)
        return RecordResult(True, "promoted", new_version, sk)

    def _append(self, entry: dict[str, Any]) -> None:
        self.table.put_item(Item=_to_dynamo(entry), ConditionExpression="attribute_not_exists(sk)")
