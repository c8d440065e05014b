"""Hypothesis strategies for requests drawn from botocore's input shapes.

A structure keeps its required members and draws any subset of its optional ones (nested
optional members only down to ``depth``); strings are drawn from the member's enum, its pattern
(when Python can read it) or at and between its length bounds; numbers across and at their
bounds; lists and maps at their minimum size and a little above. ``names`` replaces the value
of a member by name wherever it occurs (to point requests at resources that exist).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from botocore.model import Shape
from hypothesis import strategies as st

MAX_COLLECTION = 3
MAX_STRING = 80
DEFAULT_DEPTH = 4


@cache
def _pattern(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _bounded(low: int, high: int | None, cap: int) -> tuple[int, int]:
    top = cap if high is None else min(high, max(cap, low))
    return low, max(low, top)


def strings(shape: Shape) -> st.SearchStrategy[str]:
    """Enum values; else strings of the member's pattern at lengths within its bounds (or, with
    no pattern Python can read, text at and between the bounds)."""
    if shape.enum:
        return st.sampled_from(list(shape.enum))
    meta = shape.metadata
    low, high = _bounded(int(meta.get("min", 0)), meta.get("max"), MAX_STRING)
    compiled = _pattern(meta["pattern"]) if meta.get("pattern") else None
    if compiled is None:
        edges = st.sampled_from(sorted({low, high, min(low + 1, high)})).map(lambda n: "a" * n)
        text = st.text(
            st.characters(min_codepoint=32, max_codepoint=126), min_size=low, max_size=high
        )
        return edges | text
    return st.from_regex(compiled, fullmatch=True).filter(lambda s: low <= len(s) <= high)


def numbers(shape: Shape) -> st.SearchStrategy[Any]:
    meta = shape.metadata
    low, high = meta.get("min"), meta.get("max")
    if shape.type_name in ("integer", "long"):
        low = int(low) if low is not None else -(2**31)
        high = int(high) if high is not None else 2**31 - 1
        return st.sampled_from(sorted({low, high})) | st.integers(low, high)
    return st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False, width=32)


def values(
    shape: Shape,
    names: Mapping[str, st.SearchStrategy[Any]] | None = None,
    depth: int = DEFAULT_DEPTH,
    force: frozenset[str] = frozenset(),
    omit: frozenset[str] = frozenset(),
) -> st.SearchStrategy[Any]:
    """Values of ``shape`` that botocore's shape accepts (lengths, ranges, enums, patterns
    where they can be read), with ``names`` standing in for the members they name; members
    named in ``force`` are always set, those in ``omit`` never (wherever they occur)."""
    names = names or {}
    kind = shape.type_name

    def member(key: str, inner: Shape) -> st.SearchStrategy[Any]:
        if key in names:
            return names[key]
        return values(inner, names, depth - 1, force, omit)

    if kind == "structure":
        required = {
            key: member(key, shape.members[key])
            for key in shape.members
            if key in shape.required_members or (key in force and key not in omit)
        }
        optional = (
            {
                key: member(key, inner)
                for key, inner in shape.members.items()
                if key not in required and key not in omit
            }
            if depth > 0
            else {}
        )
        union = shape.metadata.get("union")
        if union and optional:  # a union sets exactly one member
            return st.one_of(
                [st.fixed_dictionaries({key: strategy}) for key, strategy in optional.items()]
            )
        return st.fixed_dictionaries(required, optional=optional)
    if kind == "list":
        low = int(shape.metadata.get("min", 0))
        high = min(shape.metadata.get("max", MAX_COLLECTION), max(low + 1, MAX_COLLECTION))
        items = values(shape.member, names, depth - 1, force, omit)
        return st.lists(items, min_size=low, max_size=high)
    if kind == "map":
        low = int(shape.metadata.get("min", 0))
        return st.dictionaries(
            values(shape.key, names, depth - 1, force, omit),
            values(shape.value, names, depth - 1, force, omit),
            min_size=low,
            max_size=max(low, 2),
        )
    if kind == "string":
        return strings(shape)
    if kind in ("integer", "long", "float", "double"):
        return numbers(shape)
    if kind == "boolean":
        return st.booleans()
    if kind == "timestamp":
        return st.datetimes(
            min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1)
        ).map(lambda t: t.replace(tzinfo=dt.UTC))
    if kind == "blob":
        return st.binary(max_size=16)
    raise ValueError(f"no strategy for shape type {kind}")
