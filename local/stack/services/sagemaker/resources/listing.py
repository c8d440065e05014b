"""List*'s filters, sorting and paging, written once for every family."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..exceptions import ValidationError
from .base import Listed, Resource

DEFAULT_PAGE_SIZE = 10


def matches(entry: Listed, request: dict[str, Any]) -> bool:
    """NameContains (case-insensitive), StatusEquals and the creation/modification bounds."""
    contains = (request.get("NameContains") or "").lower()
    if contains and contains not in entry.name.lower():
        return False
    if entry.status is not None and request.get("StatusEquals"):
        if entry.status != request["StatusEquals"]:
            return False
    bounds: tuple[tuple[str, Callable[[Any], bool]], ...] = (
        ("CreationTimeAfter", lambda t: entry.created > t),
        ("CreationTimeBefore", lambda t: entry.created < t),
        ("LastModifiedTimeAfter", lambda t: entry.modified > t),
        ("LastModifiedTimeBefore", lambda t: entry.modified < t),
    )
    return all(request.get(bound) is None or keep(request[bound]) for bound, keep in bounds)


def sort_key(sort_by: str) -> Callable[[Listed], Any]:
    """SortBy Name | Status | CreationTime (the default, also for any other value)."""
    if sort_by == "Name":
        return lambda entry: entry.name
    if sort_by == "Status":
        return lambda entry: entry.status or ""
    return lambda entry: entry.created


def page(items: list[dict[str, Any]], request: dict[str, Any], result_key: str) -> dict[str, Any]:
    """One page of ``items`` (MaxResults, default 10) after the offset in NextToken."""
    token = request.get("NextToken") or "0"
    if not token.isdigit() or int(token) > len(items):
        raise ValidationError(f"Invalid pagination token: {token!r} was not given by this list.")
    start = int(token)
    size = int(request.get("MaxResults") or DEFAULT_PAGE_SIZE)
    answer: dict[str, Any] = {result_key: items[start : start + size]}
    if start + size < len(items):
        answer["NextToken"] = str(start + size)
    return answer


def list_answer(
    resources: Iterable[Resource],
    request: dict[str, Any],
    result_key: str,
    *,
    sort_by: str = "CreationTime",
    order: str = "Descending",
) -> dict[str, Any]:
    """A List* answer: the resources' summaries, filtered, sorted and paged as ``request`` asks;
    ``sort_by`` and ``order`` are the operation's documented defaults for SortBy and SortOrder
    (they differ: ListTrainingJobs Ascending, ListModels Descending, ...)."""
    entries = [entry for entry in (r.listed() for r in resources) if matches(entry, request)]
    descending = request.get("SortOrder", order) == "Descending"
    entries.sort(key=sort_key(request.get("SortBy", sort_by)), reverse=descending)
    return page([entry.summary for entry in entries], request, result_key)
