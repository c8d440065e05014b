"""What the MWAA execution role may do to the winners tables (terraform/modules/mwaa): read and
conditionally replace the CURRENT items; only append to and read the history, never rewrite or
delete it (docs/interfaces.md, "DynamoDB winners table")."""

from __future__ import annotations

import pytest

from tests.support.terraform import MODULES, all_labelled_blocks, as_list, named_blocks, parse

WINNERS = "${var.winners_table_arn}"
HISTORY = "${var.winners_history_table_arn}"
# What the code calls on each table (mlops.winners): GetItem and a Put inside
# TransactWriteItems (authorised as PutItem) on the winners; PutItem, GetItem, Query on history.
WINNERS_ACTIONS = {"dynamodb:GetItem", "dynamodb:PutItem"}
HISTORY_ACTIONS = {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"}
REWRITES = {
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:DeleteTable",
    "dynamodb:PartiQLDelete",
    "dynamodb:PartiQLUpdate",
    "dynamodb:UpdateItem",
}


def _execution_statements() -> list[dict]:
    (document,) = [
        body
        for path, name, body in all_labelled_blocks("data", "aws_iam_policy_document")
        if path.parent.name == "mwaa" and name == "execution"
    ]
    return as_list(document["statement"])


def _dynamodb(statements: list[dict], effect: str, resource: str) -> set[str]:
    """The dynamodb actions ``effect`` statements grant on ``resource`` (or on everything)."""
    actions: set[str] = set()
    for statement in statements:
        if statement.get("effect", "Allow") != effect:
            continue
        resources = as_list(statement.get("resources"))
        if resource in resources or "*" in resources:
            actions |= {a for a in as_list(statement["actions"]) if a.startswith("dynamodb:")}
    return actions


@pytest.fixture(scope="module")
def statements() -> list[dict]:
    return _execution_statements()


def test_no_statement_grants_dynamodb_wildcards(statements):
    for statement in statements:
        actions = as_list(statement["actions"])
        assert not [a for a in actions if a.startswith("dynamodb:") and "*" in a], statement
        if any(a.startswith("dynamodb:") for a in actions):
            assert "*" not in as_list(statement.get("resources")), statement.get("sid")


def test_the_winners_table_allows_only_reading_and_the_conditional_put(statements):
    assert _dynamodb(statements, "Allow", WINNERS) == WINNERS_ACTIONS


def test_the_history_table_allows_only_appending_and_reading(statements):
    allowed = _dynamodb(statements, "Allow", HISTORY)
    assert allowed == HISTORY_ACTIONS
    assert not allowed & REWRITES


def test_rewriting_or_deleting_history_is_denied_whatever_else_the_role_gets(statements):
    assert _dynamodb(statements, "Deny", HISTORY) >= REWRITES
    assert not _dynamodb(statements, "Deny", HISTORY) & HISTORY_ACTIONS


def test_the_platform_gives_the_role_both_tables_of_the_winners_module():
    (mwaa,) = [
        b for n, b in named_blocks(MODULES / "platform" / "main.tf", "module") if n == "mwaa"
    ]
    assert mwaa["winners_table_arn"] == "${module.winners_table.arn}"
    assert mwaa["winners_history_table_arn"] == "${module.winners_table.history_arn}"
    outputs = dict(named_blocks(MODULES / "winners_table" / "outputs.tf", "output"))
    assert outputs["history_arn"]["value"] == "${aws_dynamodb_table.history.arn}"
    assert outputs["arn"]["value"] == "${aws_dynamodb_table.this.arn}"
    settings: dict = {}
    for block in parse(MODULES / "platform" / "main.tf")["locals"]:
        settings.update(block.get("settings", {}))
    assert settings["winners_history_table"] == "${module.winners_table.history_name}"
