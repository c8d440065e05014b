"""Product records (JSON Lines) as docs/interfaces.md defines them: fields, types, reading."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# field -> (allowed Python types, nullable)
FEATURE_FIELDS: dict[str, tuple[tuple[type, ...], bool]] = {
    "item_id": ((str,), False),
    "title": ((str,), False),
    "description": ((str,), False),
    "brand": ((str,), False),
    "weight_kg": ((int, float), True),
    "screen_size_in": ((int, float), True),
    "battery": ((bool,), False),
    "power_source": ((str,), False),
}
LABEL_FIELD = "label"
FIELD_ORDER = list(FEATURE_FIELDS)  # the column order of text/csv payloads
TYPE_NAMES = {str: "string", int: "number", float: "number", bool: "boolean"}

# The documented range (inclusive) of each numeric field (docs/interfaces.md, "Data layout"):
# anything else — NaN, ±Infinity, a negative weight, 1e308 — is an error naming the field, in
# prepare, training and serving alike. The bounds keep every feature features.numeric_matrix
# derives finite and small (log1p(100000)/4 ≈ 2.9, 1000/12 ≈ 83), so no value the contract
# accepts can overflow a float32 feature or poison a model.
NUMERIC_RANGES: dict[str, tuple[float, float]] = {
    "weight_kg": (0.0, 100_000.0),  # 100 t: a forklift or EV battery is ~1.6 t
    "screen_size_in": (0.0, 1_000.0),  # 25 m diagonal: beyond the largest LED walls
}


def quote_number(value: Any) -> str:
    """A number as the error message quotes it (``inf``, ``nan``, ``1e+308``), at most 40 chars."""
    if isinstance(value, int) and value.bit_length() > 128:
        # str() of a huge int is slow and, past 4300 digits, refused: quote its size instead.
        return f"an integer of {len(hex(abs(value))) - 2} hex digits"
    text = repr(value) if isinstance(value, float) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def numeric_error(name: str, value: int | float) -> str | None:
    """Why the number ``value`` of numeric field ``name`` is unusable, or None when it is in range.

    One chained comparison: it is false for NaN and ±inf as well as for anything outside the
    field's range (integers of any size included, without converting them to float).
    """
    low, high = NUMERIC_RANGES[name]
    if low <= value <= high:
        return None
    return f"field {name} must be a finite number in [{low:g}, {high:g}], got {quote_number(value)}"


def field_error(record: Any, *, require_label: bool) -> str | None:
    """Why ``record`` is not a valid product record, or None when it is."""
    if not isinstance(record, dict):
        return f"expected a JSON object, got {type(record).__name__}"
    fields = dict(FEATURE_FIELDS)
    if require_label:
        fields[LABEL_FIELD] = ((str,), False)
    missing = [name for name in fields if name not in record]
    if missing:
        return f"missing field(s) {', '.join(missing)}"
    for name, (types, nullable) in fields.items():
        value = record[name]
        if value is None:
            if not nullable:
                return f"field {name} is null"
            continue
        # bool is an int subclass: a boolean weight is a type error, not 1.0 kg.
        if isinstance(value, bool) and bool not in types:
            ok = False
        else:
            ok = isinstance(value, types)
        if not ok:
            wanted = " or ".join(sorted({TYPE_NAMES[t] for t in types}))
            null = " or null" if nullable else ""
            return f"field {name} must be {wanted}{null}, got {json.dumps(value)[:40]}"
        if name in NUMERIC_RANGES:
            error = numeric_error(name, value)
            if error:
                return error
    if record["item_id"] == "":
        return "field item_id is empty"
    return None


def data_files(directory: Path) -> list[Path]:
    """Data files under ``directory``, recursively and sorted (``.gz`` too; hidden ones skipped)."""
    if not directory.exists():
        return []
    return sorted(
        p
        for p in directory.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(directory).parts)
    )


def _open_text(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


@dataclass(frozen=True)
class Line:
    path: Path
    number: int  # 1-based
    text: str

    @property
    def where(self) -> str:
        return f"{self.path.name}:{self.number}"


def iter_file_lines(path: Path) -> Iterator[Line]:
    """Non-blank lines of one data file."""
    with _open_text(path) as handle:
        for number, text in enumerate(handle, start=1):
            if text.strip():
                yield Line(path, number, text)


def iter_lines(directory: Path) -> Iterator[Line]:
    """Non-blank lines of every data file under ``directory``."""
    for path in data_files(directory):
        yield from iter_file_lines(path)


def read_jsonl(directory: Path) -> Iterator[dict[str, Any]]:
    """Parsed objects of every data file under ``directory``; a bad line raises with file:line."""
    for line in iter_lines(directory):
        try:
            yield json.loads(line.text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{line.where}: not valid JSON ({exc.msg})") from exc


def write_jsonl(path: Path, records) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
            handle.write("\n")
            count += 1
    return count


# (field, exact types JSON decoding produces): the per-record check on the serving hot path.
_DECODED_TYPES = tuple((name, frozenset(types)) for name, (types, _) in FEATURE_FIELDS.items())
_RANGES = tuple(NUMERIC_RANGES.items())


def inference_record_error(record: Any) -> str | None:
    """Why ``record`` cannot be scored, or None. Lenient: absent attributes count as missing."""
    if type(record) is not dict:
        return f"expected a JSON object, got {type(record).__name__}"
    for name, allowed in _DECODED_TYPES:
        value = record.get(name)
        # Exact type test: a JSON true is bool, never accepted as a number.
        if value is not None and type(value) not in allowed:
            types = FEATURE_FIELDS[name][0]
            wanted = " or ".join(sorted({TYPE_NAMES[t] for t in types}))
            return f"field {name} must be {wanted} or null, got {json.dumps(value)[:40]}"
    for name, (low, high) in _RANGES:
        value = record.get(name)
        if value is not None and not low <= value <= high:  # NaN and ±inf fail it too
            return numeric_error(name, value)
    if not (record.get("title") or record.get("description")):
        return "record has neither title nor description"
    return None
