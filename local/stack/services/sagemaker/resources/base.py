"""What every resource family shares: the clock, ARNs, the resource object's describe/summary
contract and the per-family store."""

from __future__ import annotations

import copy
import datetime as dt
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from ..exceptions import SageMakerError
from ..runners.job import RunnerContext
from .tags import Tags


def now() -> dt.datetime:
    """The stack's clock: timezone-aware UTC, as SageMaker's timestamps are."""
    return dt.datetime.now(dt.UTC)


def compact(description: dict[str, Any]) -> dict[str, Any]:
    """A describe answer from a stored document: a deep copy without unset (None) fields."""
    return copy.deepcopy({k: v for k, v in description.items() if v is not None})


def without(request: dict[str, Any], *keys: str) -> dict[str, Any]:
    """The request's fields that a describe document repeats (all but ``keys``)."""
    return {k: v for k, v in request.items() if k not in keys}


@dataclass(frozen=True)
class Region:
    """Where the stack's resources live; names their ARNs."""

    name: str
    account_id: str

    def arn(self, resource: str, name: str) -> str:
        """``arn:aws:sagemaker:<region>:<account>:<resource>/<name>``, lower-cased as SageMaker."""
        return f"arn:aws:sagemaker:{self.name}:{self.account_id}:{resource}/{name.lower()}"


@dataclass(frozen=True)
class Listed:
    """What List* filters and sorts a resource by, and the summary it answers with."""

    name: str
    status: str | None
    created: dt.datetime
    modified: dt.datetime
    summary: dict[str, Any]


class Resource:
    """One SageMaker resource. ``describe()`` is its Describe* answer; ``summary(description)``
    its entry in List* (by default the ``SUMMARY_KEYS`` of the describe answer that are set).
    ``lock`` is the stack's state lock, held while the document changes."""

    NAME_KEY: ClassVar[str]
    ARN_KEY: ClassVar[str]
    STATUS_KEY: ClassVar[str | None] = None
    SUMMARY_KEYS: ClassVar[tuple[str, ...]]
    # Kept for List* (filters, summaries) but not a member of the Describe* output shape.
    DESCRIBE_HIDES: ClassVar[tuple[str, ...]] = ()

    def __init__(self, lock: threading.RLock, description: dict[str, Any]):
        self.lock = lock
        self.description = description

    @property
    def name(self) -> str:
        return str(self.description[self.NAME_KEY])

    @property
    def arn(self) -> str:
        return str(self.description[self.ARN_KEY])

    def describe(self) -> dict[str, Any]:
        described = self.stored()
        for key in self.DESCRIBE_HIDES:
            described.pop(key, None)
        return described

    def stored(self) -> dict[str, Any]:
        """A copy of the whole document, what List* filters and summarises."""
        with self.lock:
            return compact(self.description)

    def summary(self, description: dict[str, Any]) -> dict[str, Any]:
        return {k: description[k] for k in self.SUMMARY_KEYS if description.get(k) is not None}

    def listed(self) -> Listed:
        description = self.stored()
        created = description["CreationTime"]
        return Listed(
            name=description[self.NAME_KEY],
            status=description.get(self.STATUS_KEY) if self.STATUS_KEY else None,
            created=created,
            modified=description.get("LastModifiedTime", created),
            summary=self.summary(description),
        )


@dataclass(frozen=True)
class Shared:
    """What every family works with: the stack's state lock, its region, the tags of all
    resources, and what runners may use."""

    lock: threading.RLock
    region: Region
    tags: Tags
    context: RunnerContext


class Family:
    """One resource family: its operations (``OPERATIONS``, routed by the backend) over what
    it shares with the others."""

    OPERATIONS: ClassVar[tuple[str, ...]]

    def __init__(self, shared: Shared):
        self.lock = shared.lock
        self.region = shared.region
        self.tags = shared.tags
        self.context = shared.context

    def owns(self, arn: str) -> bool:
        """Whether one of the family's resources has ``arn`` (tags need to know)."""
        raise NotImplementedError


R = TypeVar("R", bound=Resource)


class Store(Generic[R]):
    """One family's resources by name, in creation order, guarded by the stack's state lock."""

    def __init__(self, lock: threading.RLock, not_found: Callable[[str], SageMakerError]):
        self.lock = lock
        self._not_found = not_found
        self._items: dict[str, R] = {}

    def add(self, resource: R, already_exists: Callable[[], SageMakerError]) -> None:
        """Keep ``resource``; ``already_exists()`` is raised if its name is taken."""
        with self.lock:
            if resource.name in self._items:
                raise already_exists()
            self._items[resource.name] = resource

    def find(self, name: str) -> R | None:
        with self.lock:
            return self._items.get(name)

    def get(self, name: str) -> R:
        """The resource named ``name``, or the family's not-found error."""
        found = self.find(name)
        if found is None:
            raise self._not_found(name)
        return found

    def remove(self, name: str) -> None:
        with self.lock:
            self._items.pop(name, None)

    def holds(self, arn: str) -> bool:
        """Whether one of the resources has ``arn``."""
        return any(resource.arn == arn for resource in self.values())

    def __contains__(self, name: object) -> bool:
        with self.lock:
            return name in self._items

    def values(self) -> list[R]:
        """A snapshot of the resources, oldest first."""
        with self.lock:
            return list(self._items.values())

    def __iter__(self) -> Iterator[R]:
        return iter(self.values())
