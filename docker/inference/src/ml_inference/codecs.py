"""Content types the server speaks, in one table: how to decode records and encode answers."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from ml_common.records import FIELD_ORDER, inference_record_error


class PayloadError(ValueError):
    """The request body cannot be read as the content type it claims; becomes HTTP 400."""


@dataclass(frozen=True)
class Decoded:
    records: list[dict[str, Any]]
    shape: str  # "single" | "instances" | "list" | "lines" | "rows": how to shape the answer


def _check(records: list[Any], where: Callable[[int], str]) -> list[dict[str, Any]]:
    for index, record in enumerate(records):
        error = inference_record_error(record)
        if error:
            raise PayloadError(f"{where(index)}: {error}")
    return records


def decode_json(body: bytes) -> Decoded:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"application/json body is not valid JSON: {exc}") from exc
    if isinstance(payload, dict) and "instances" in payload:
        instances = payload["instances"]
        if not isinstance(instances, list):
            raise PayloadError('"instances" must be a list of product records')
        return Decoded(_check(instances, lambda i: f"instances[{i}]"), "instances")
    if isinstance(payload, list):
        return Decoded(_check(payload, lambda i: f"[{i}]"), "list")
    return Decoded(_check([payload], lambda i: "body"), "single")


def decode_jsonlines(body: bytes) -> Decoded:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"application/jsonlines body is not UTF-8: {exc}") from exc
    records = []
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise PayloadError(f"line {number}: not valid JSON ({exc})") from exc
        error = inference_record_error(record)
        if error:
            raise PayloadError(f"line {number}: {error}")
        records.append(record)
    return Decoded(records, "lines")


def _csv_value(name: str, raw: str, row: int) -> Any:
    if raw == "":
        return None
    if name in ("weight_kg", "screen_size_in"):
        try:
            return float(raw)
        except ValueError:
            raise PayloadError(
                f"row {row}: column {name} must be a number, got {raw[:40]!r}"
            ) from None
    if name == "battery":
        lowered = raw.strip().lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        raise PayloadError(f"row {row}: column battery must be true/false, got {raw[:40]!r}")
    return raw


def decode_csv(body: bytes) -> Decoded:
    """Rows of the FIELD_ORDER columns (item_id, title, ..., power_source); header optional."""
    try:
        rows = list(csv.reader(io.StringIO(body.decode("utf-8"))))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise PayloadError(f"text/csv body cannot be read: {exc}") from exc
    records = []
    for number, row in enumerate(rows, start=1):
        if not row or (number == 1 and row[0] == FIELD_ORDER[0]):
            continue
        if len(row) != len(FIELD_ORDER):
            raise PayloadError(
                f"row {number}: expected {len(FIELD_ORDER)} columns "
                f"({','.join(FIELD_ORDER)}), got {len(row)}"
            )
        record = {
            name: _csv_value(name, raw, number) for name, raw in zip(FIELD_ORDER, row, strict=True)
        }
        error = inference_record_error(record)
        if error:
            raise PayloadError(f"row {number}: {error}")
        records.append(record)
    return Decoded(records, "rows")


# orjson: C serialisation, compact, UTF-8; several times faster than json.dumps per answer.
def encode_json(answers: list[dict], decoded: Decoded) -> bytes:
    if decoded.shape == "single":
        return orjson.dumps(answers[0])
    if decoded.shape == "instances":
        return orjson.dumps({"predictions": answers})
    return orjson.dumps(answers)


def encode_jsonlines(answers: list[dict], decoded: Decoded) -> bytes:
    return b"".join(orjson.dumps(a, option=orjson.OPT_APPEND_NEWLINE) for a in answers)


def encode_csv(answers: list[dict], decoded: Decoded) -> bytes:
    """``item_id,label,confidence,top_k`` rows; top_k as ``label:score|label:score``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for a in answers:
        top = "|".join(f"{t['label']}:{t['score']}" for t in a["top_k"])
        writer.writerow([a.get("item_id", ""), a["label"], a["confidence"], top])
    return out.getvalue().encode()


@dataclass(frozen=True)
class Codec:
    decode: Callable[[bytes], Decoded]
    encode: Callable[[list[dict], Decoded], bytes]
    response_type: str


JSON = Codec(decode_json, encode_json, "application/json")
JSONLINES = Codec(decode_jsonlines, encode_jsonlines, "application/jsonlines")
CSV = Codec(decode_csv, encode_csv, "text/csv")

CONTENT_TYPES: dict[str, Codec] = {
    "application/json": JSON,
    "application/jsonlines": JSONLINES,
    "application/x-jsonlines": JSONLINES,
    "application/jsonl": JSONLINES,
    "text/csv": CSV,
}


def media_type(header: str | None) -> str:
    return (header or "").split(";", 1)[0].strip().lower()
