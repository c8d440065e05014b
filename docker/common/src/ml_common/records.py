"""Product records (JSON Lines) as docs/interfaces.md defines them: fields, types, reading."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ml_common.contract import ContractError

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


GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class Line:
    path: Path
    number: int  # 1-based
    text: str

    @property
    def where(self) -> str:
        return f"{self.path.name}:{self.number}"


@dataclass(frozen=True)
class ReadProblem:
    """Why (part of) a data file cannot be read as UTF-8 text lines, and where.

    ``kind`` is ``encoding`` (one line is not UTF-8: ``number`` is that line, ``offset`` the
    byte offset of the first bad byte in the file, or in its decompressed data for ``.gz``) or
    ``compression`` (a ``.gz`` is corrupt or truncated: ``number`` is the last line read whole,
    ``offset`` the decompressed bytes read; nothing after it can be read).
    """

    kind: str
    path: Path
    number: int
    offset: int
    detail: str

    @property
    def where(self) -> str:
        if self.kind == "compression":
            return f"{self.path.name} after line {self.number}"
        return f"{self.path.name}:{self.number}"

    def __str__(self) -> str:
        return f"{self.where}: {self.detail}"


class DataFileError(ContractError):
    """A data file is not UTF-8 text or not a readable ``.gz``; the message names file and line."""

    def __init__(self, problem: ReadProblem):
        super().__init__(str(problem))
        self.problem = problem


# gzip's errors for a corrupt (bad header, CRC, deflate data) or truncated (EOF) member.
_GZIP_ERRORS = (gzip.BadGzipFile, EOFError, zlib.error)


def _encoding_problem(path: Path, number: int, start: int, raw: bytes, exc) -> ReadProblem:
    bad = raw[exc.start : exc.start + 1]
    detail = (
        f"not UTF-8: byte 0x{bad.hex()} at byte offset {start + exc.start} "
        f"(column {exc.start + 1} of the line)"
    )
    if number == 1 and raw.startswith(GZIP_MAGIC) and path.suffix != ".gz":
        detail += "; the file looks gzip-compressed: name it *.gz"
    return ReadProblem("encoding", path, number, start + exc.start, detail)


def iter_file_lines(path: Path, problems: list[ReadProblem] | None = None) -> Iterator[Line]:
    """Non-blank lines of one data file (``.gz``: decompressed), split at newline bytes.

    A line that is not UTF-8, or a ``.gz`` that is corrupt or truncated: without ``problems``,
    ``DataFileError`` (a ``ContractError``: exit 2) names file, line and byte offset; with a
    list, the problem is appended and reading goes on (the bad line is skipped; a broken ``.gz``
    ends that file), so a caller can report every problem at once.
    """
    opener = gzip.open if path.suffix == ".gz" else open
    number = 0
    offset = 0
    with opener(path, "rb") as handle:
        lines = iter(handle)
        while True:
            try:
                raw = next(lines)
            except StopIteration:
                return
            except _GZIP_ERRORS as exc:
                problem = ReadProblem(
                    "compression",
                    path,
                    number,
                    offset,
                    f"corrupt or truncated gzip after {offset} decompressed bytes "
                    f"({type(exc).__name__}: {exc})",
                )
                if problems is None:
                    raise DataFileError(problem) from exc
                problems.append(problem)
                return
            number += 1
            start, offset = offset, offset + len(raw)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                problem = _encoding_problem(path, number, start, raw, exc)
                if problems is None:
                    raise DataFileError(problem) from exc
                problems.append(problem)
                continue
            if text.strip():
                yield Line(path, number, text)


def iter_lines(directory: Path, problems: list[ReadProblem] | None = None) -> Iterator[Line]:
    """Non-blank lines of every data file under ``directory`` (see ``iter_file_lines``)."""
    for path in data_files(directory):
        yield from iter_file_lines(path, problems)


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
