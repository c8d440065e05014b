"""Tags of every resource, by ARN (AddTags, ListTags, DeleteTags)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from ..exceptions import ResourceLimitExceeded, ResourceNotFound

MAX_TAGS = 50


class Tags:
    """ARN → key → value. ``is_known(arn)`` says whether a resource with that ARN exists."""

    OPERATIONS = ("add_tags", "list_tags", "delete_tags")

    def __init__(self, lock: threading.RLock, is_known: Callable[[str], bool]):
        self.lock = lock
        self.is_known = is_known
        self._tags: dict[str, dict[str, str]] = {}

    def tag(self, arn: str, tags: Iterable[dict[str, str]] | None) -> None:
        """Add ``tags`` (a request's Tags list) to ``arn``."""
        if tags:
            with self.lock:
                self._tags.setdefault(arn, {}).update({t["Key"]: t.get("Value", "") for t in tags})

    def forget(self, arn: str) -> None:
        """Drop the tags of a deleted resource."""
        with self.lock:
            self._tags.pop(arn, None)

    def _require_known(self, arn: str) -> None:
        with self.lock:
            known = arn in self._tags or self.is_known(arn)
        if not known:
            raise ResourceNotFound(f"Resource {arn} not found.")

    def _listed(self, arn: str) -> list[dict[str, str]]:
        return [{"Key": k, "Value": v} for k, v in self._tags.get(arn, {}).items()]

    def add_tags(self, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["ResourceArn"]
        self._require_known(arn)
        with self.lock:
            if len(self._tags.get(arn, {})) + len(request["Tags"]) > MAX_TAGS:
                raise ResourceLimitExceeded(f"Resource {arn} would have more than 50 tags.")
            self.tag(arn, request["Tags"])
            return {"Tags": self._listed(arn)}

    def list_tags(self, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["ResourceArn"]
        self._require_known(arn)
        with self.lock:
            return {"Tags": self._listed(arn)}

    def delete_tags(self, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["ResourceArn"]
        self._require_known(arn)
        with self.lock:
            for key in request["TagKeys"]:
                self._tags.get(arn, {}).pop(key, None)
        return {}
