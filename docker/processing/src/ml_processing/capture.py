"""Reading an endpoint's captured data (SageMaker data capture, JSON Lines).

Each line of a capture file is one invocation::

    {"captureData": {"endpointInput": {"observedContentType": "application/json",
                                       "mode": "INPUT", "data": "...", "encoding": "JSON"},
                     "endpointOutput": {... "mode": "OUTPUT" ...}},
     "eventMetadata": {"eventId": "...", "inferenceTime": "..."}, "eventVersion": "0"}

``encoding`` is ``JSON`` or ``CSV`` (the data is the body as text) or ``BASE64`` (any other
content type). The body is decoded the way the inference server decodes it: ``application/json``
(one record, a list, or ``{"instances": [...]}``), JSON Lines, or ``text/csv`` in the records'
field order (``ml_common.records.FIELD_ORDER``, header row optional). The answers give the
predicted labels. An invocation that cannot be read is skipped and counted, never fatal: captured
traffic is monitoring input, and one odd request must not stop a month's batch.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ml_common.records import FIELD_ORDER, iter_lines

MAX_EXAMPLES = 5
_NUMBERS = ("weight_kg", "screen_size_in")


@dataclass
class CaptureStats:
    events: int = 0
    records: int = 0
    skipped: int = 0
    examples: list[str] = field(default_factory=list)

    def skip(self, where: str, why: str) -> None:
        self.skipped += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(f"{where}: {why}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "records": self.records,
            "skipped_events": self.skipped,
            "skipped_examples": list(self.examples),
        }


def _body(part: Any) -> tuple[str, str]:
    """(media type, text) of a captured endpointInput/endpointOutput."""
    if not isinstance(part, dict) or not isinstance(part.get("data"), str):
        raise ValueError("no data")
    media = str(part.get("observedContentType") or "").split(";", 1)[0].strip().lower()
    encoding = str(part.get("encoding") or "").upper()
    data = part["data"]
    if encoding == "BASE64":
        try:
            data = base64.b64decode(data, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ValueError(f"BASE64 data cannot be decoded ({exc})") from exc
    elif encoding not in ("JSON", "CSV"):
        raise ValueError(f"unknown encoding {encoding or 'none'}")
    return media, data


def _csv_value(name: str, raw: str) -> Any:
    if raw == "":
        return None
    if name in _NUMBERS:
        return float(raw)
    if name == "battery":
        return raw.strip().lower() in ("true", "1")
    return raw


def _csv_rows(text: str) -> list[list[str]]:
    return [row for row in csv.reader(io.StringIO(text)) if row]


def _json_values(text: str) -> list[Any]:
    """One JSON document (an object, a list, ``{"instances"|"predictions": [...]}``), else JSON
    Lines: whatever the content type said, a body the server answered is one of these."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    for key in ("instances", "predictions"):
        if isinstance(value, dict) and isinstance(value.get(key), list):
            return list(value[key])
    return value if isinstance(value, list) else [value]


def decode_records(media: str, text: str) -> list[dict[str, Any]]:
    """The product records of a request body, as the inference server reads them."""
    if media == "text/csv":
        rows = _csv_rows(text)
        if rows and rows[0][:1] == [FIELD_ORDER[0]]:
            rows = rows[1:]
        records = []
        for row in rows:
            if len(row) != len(FIELD_ORDER):
                raise ValueError(f"a CSV row has {len(row)} columns, not {len(FIELD_ORDER)}")
            records.append(
                {name: _csv_value(name, raw) for name, raw in zip(FIELD_ORDER, row, strict=True)}
            )
        return records
    records = _json_values(text)
    if not all(isinstance(record, dict) for record in records):
        raise ValueError("a record is not a JSON object")
    return records


def decode_labels(media: str, text: str) -> list[str]:
    """The predicted labels of an answer body (``item_id,label,confidence,top_k`` for CSV)."""
    if media == "text/csv":
        return [row[1] for row in _csv_rows(text) if len(row) > 1]
    return [
        str(answer["label"])
        for answer in _json_values(text)
        if isinstance(answer, dict) and isinstance(answer.get("label"), str)
    ]


def iter_captured(
    directory: Path, stats: CaptureStats
) -> Iterator[tuple[dict[str, Any], str | None]]:
    """(record, predicted label or None) for every readable captured request record."""
    for line in iter_lines(directory):
        stats.events += 1
        try:
            event = json.loads(line.text)
            data = event["captureData"]
            media, text = _body(data.get("endpointInput"))
            records = decode_records(media, text)
            labels: list[str | None] = []
            if data.get("endpointOutput"):
                out_media, out_text = _body(data["endpointOutput"])
                labels = list(decode_labels(out_media, out_text))
            if len(labels) != len(records):
                labels = [None] * len(records)  # no output captured, or it does not line up
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            stats.skip(line.where, str(exc)[:200] or type(exc).__name__)
            continue
        for record, label in zip(records, labels, strict=True):
            stats.records += 1
            yield record, label
