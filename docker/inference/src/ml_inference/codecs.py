"""Content types the server speaks, in one table: how to decode records and encode answers."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from ml_common.records import FIELD_ORDER, inference_record_error

_FIELD = re.compile(r"field (\w+)")


class PayloadError(ValueError):
    """The request body cannot be read as the content type it claims; becomes HTTP 400.

    ``details`` (for the JSON error body) name the record — ``record`` as the request spells its
    place (``instances[3]``, ``line 4``, ``row 2``), ``index`` (0-based among the request's
    records), ``item_id`` when the record has one — and the ``field``, where they are known.
    """

    def __init__(self, message: str, **details: Any):
        super().__init__(message)
        self.details = {k: v for k, v in details.items() if v is not None}


@dataclass(frozen=True)
class Decoded:
    records: list[dict[str, Any]]
    shape: str  # "single" | "instances" | "list" | "lines" | "rows": how to shape the answer
    numbers: list[int] | None = None  # the line/row number of each record ("lines", "rows")

    def where(self, index: int) -> str:
        """Where record ``index`` is in the request, as its sender counts."""
        if self.shape == "single":
            return "body"
        if self.shape == "instances":
            return f"instances[{index}]"
        if self.shape == "list":
            return f"[{index}]"
        kind = "line" if self.shape == "lines" else "row"
        return f"{kind} {self.numbers[index] if self.numbers else index + 1}"

    def record_error(self, index: int, message: str, field: str | None = None) -> PayloadError:
        """An error about record ``index``: its place, its item_id if it has one, the field."""
        record = self.records[index] if index < len(self.records) else None
        item_id = record.get("item_id") if isinstance(record, dict) else None
        if not (isinstance(item_id, str) and item_id):
            item_id = None
        if field is None:
            match = _FIELD.match(message)
            field = match.group(1) if match else None
        named = f" (item_id {json.dumps(item_id, ensure_ascii=False)[:80]})" if item_id else ""
        return PayloadError(
            f"{self.where(index)}: {message}{named}",
            record=self.where(index),
            index=index,
            item_id=item_id,
            field=field,
        )


def _check(decoded: Decoded) -> Decoded:
    for index, record in enumerate(decoded.records):
        error = inference_record_error(record)
        if error:
            raise decoded.record_error(index, error)
    return decoded


def _json_decoded(payload: Any) -> Decoded:
    if isinstance(payload, dict) and "instances" in payload:
        instances = payload["instances"]
        if not isinstance(instances, list):
            raise PayloadError('"instances" must be a list of product records')
        return Decoded(instances, "instances")
    if isinstance(payload, list):
        return Decoded(payload, "list")
    return Decoded([payload], "single")


def _explain_non_strict(text: bytes, decoded: Callable[[Any], Decoded]) -> None:
    """Raise the record/field error for JSON that orjson refuses but Python reads.

    orjson is strict: ``NaN``, ``Infinity`` and numbers beyond a double (``1e400``) are not JSON.
    Python's json reads them (as nan, inf and int), so the error can name the record and field
    rather than only a byte offset. Nothing it reads is ever scored: when no record is at fault,
    the caller reports orjson's error.
    """
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError):
        return
    _check(decoded(payload))


def decode_json(body: bytes) -> Decoded:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        _explain_non_strict(body, _json_decoded)
        raise PayloadError(f"application/json body is not valid JSON: {exc}") from exc
    return _check(_json_decoded(payload))


def decode_jsonlines(body: bytes) -> Decoded:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"application/jsonlines body is not UTF-8: {exc}") from exc
    records: list[Any] = []
    numbers: list[int] = []
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            _explain_non_strict(
                line,
                lambda payload, n=number: Decoded([*records, payload], "lines", [*numbers, n]),
            )
            raise PayloadError(
                f"line {number}: not valid JSON ({exc})", record=f"line {number}"
            ) from exc
        records.append(record)
        numbers.append(number)
    return _check(Decoded(records, "lines", numbers))


def _csv_value(name: str, raw: str, row: int) -> Any:
    if raw == "":
        return None
    if name in ("weight_kg", "screen_size_in"):
        try:
            return float(raw)  # "inf", "nan" and "1e999" are floats: the range check names them
        except ValueError:
            raise PayloadError(
                f"row {row}: column {name} must be a number, got {raw[:40]!r}",
                record=f"row {row}",
                field=name,
            ) from None
    if name == "battery":
        lowered = raw.strip().lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        raise PayloadError(
            f"row {row}: column battery must be true/false, got {raw[:40]!r}",
            record=f"row {row}",
            field=name,
        )
    return raw


def decode_csv(body: bytes) -> Decoded:
    """Rows of the FIELD_ORDER columns (item_id, title, ..., power_source); header optional."""
    try:
        rows = list(csv.reader(io.StringIO(body.decode("utf-8"))))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise PayloadError(f"text/csv body cannot be read: {exc}") from exc
    records = []
    numbers = []
    for number, row in enumerate(rows, start=1):
        if not row or (number == 1 and row[0] == FIELD_ORDER[0]):
            continue
        if len(row) != len(FIELD_ORDER):
            raise PayloadError(
                f"row {number}: expected {len(FIELD_ORDER)} columns "
                f"({','.join(FIELD_ORDER)}), got {len(row)}",
                record=f"row {number}",
            )
        records.append(
            {
                name: _csv_value(name, raw, number)
                for name, raw in zip(FIELD_ORDER, row, strict=True)
            }
        )
        numbers.append(number)
    return _check(Decoded(records, "rows", numbers))


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
