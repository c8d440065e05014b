"""Reading batch-transform output (``.out`` files) from the inference image."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from ml_common.contract import ContractError
from ml_common.records import Line, iter_lines


def _answers(line: Line, name: str) -> list[Any]:
    try:
        # orjson: the inference image writes answers with it (strict JSON, no NaN); a month's
        # millions of answers parse in a third of json's time.
        value = orjson.loads(line.text)
    except orjson.JSONDecodeError as exc:
        raise ContractError(
            f"{name} predictions: {line.where} is not valid JSON ({exc.msg})"
        ) from exc
    if isinstance(value, dict) and "predictions" in value:  # application/json with "instances"
        value = value["predictions"]
    return value if isinstance(value, list) else [value]


def iter_predictions(directory: Path, name: str) -> Iterator[tuple[Line, dict[str, Any]]]:
    """(line, answer) for each answer; a transform ``JoinSource: Input`` record is unwrapped."""
    for line in iter_lines(directory):
        for answer in _answers(line, name):
            if isinstance(answer, dict) and "SageMakerOutput" in answer:
                source = answer.get("SageMakerInput") or {}
                answer = dict(answer["SageMakerOutput"])
                if "item_id" not in answer and isinstance(source, dict) and "item_id" in source:
                    answer["item_id"] = source["item_id"]
            if not isinstance(answer, dict) or not isinstance(answer.get("label"), str):
                raise ContractError(
                    f"{name} predictions: {line.where} is not an answer with a label"
                )
            yield line, answer


def predictions_by_item(directory: Path, name: str) -> dict[str, dict[str, Any]]:
    """``{item_id: answer}``; every answer must carry the item_id it belongs to."""
    by_item: dict[str, dict[str, Any]] = {}
    for line, answer in iter_predictions(directory, name):
        item_id = answer.get("item_id")
        if not isinstance(item_id, str):
            raise ContractError(
                f"{name} predictions: {line.where} has no item_id; "
                "transform JSON Lines records that carry item_id"
            )
        by_item[item_id] = answer
    return by_item
