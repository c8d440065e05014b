"""What the job families share (training, processing, transform; tuning in part): a job resource
that is its runner's handle (``runners.job.RunningJob``), and Create/Describe/List/Stop."""

from __future__ import annotations

import threading
from typing import Any, ClassVar, Generic, TypeVar

from ..exceptions import ResourceInUse, ResourceNotFound, SageMakerError, ValidationError
from ..runners.job import Container, Ending, JobRunner
from .base import Family, Resource, Shared, Store, now
from .listing import list_answer

NOT_FOUND = "Requested resource not found."
DUPLICATE_JOB = (
    "Job name must be unique within an AWS account and region, and a job with this name "
    "already exists ({arn})"
)


class JobResource(Resource):
    """A job's describe document, its stop signal, and the container that runs it now."""

    STATUS_KEY: ClassVar[str]
    START_KEY: ClassVar[str]
    END_KEY: ClassVar[str]
    STOPPABLE = ("InProgress", "Stopping")

    def __init__(self, lock: threading.RLock, description: dict[str, Any]):
        super().__init__(lock, description)
        self.stop_requested = threading.Event()
        self.container: Container | None = None
        self.runner: JobRunner | None = None

    @property
    def status(self) -> str:
        return str(self.description[self.STATUS_KEY])

    # ---- the runner's handle (runners.job.RunningJob) ------------------------------------------
    def document(self) -> dict[str, Any]:
        return self.describe()

    def begin(self) -> None:
        with self.lock:
            self.description[self.START_KEY] = now()

    def progress(self, step: str, message: str) -> None:
        """Only training jobs record SecondaryStatus steps."""

    def record(self, **fields: Any) -> None:
        with self.lock:
            self.description.update(fields)

    def finish(self, ending: Ending) -> None:
        with self.lock:
            end = now()
            self.description[self.STATUS_KEY] = ending.status
            self.description[self.END_KEY] = end
            self.description["LastModifiedTime"] = end
            if ending.reason:
                self.description["FailureReason"] = ending.reason
            if ending.exit_message:
                self.description["ExitMessage"] = ending.exit_message

    # ---- stopping ----------------------------------------------------------------------------
    def request_stop(self) -> None:
        """StopXJob: Stopping now, the runner ends it (ValidationError if it is not running)."""
        with self.lock:
            if self.status not in self.STOPPABLE:
                raise ValidationError(
                    f"The job {self.name} is not in progress (status {self.status})."
                )
            self.description[self.STATUS_KEY] = "Stopping"
            self.description["LastModifiedTime"] = now()
            self.stopping()
        self.stop_requested.set()

    def stopping(self) -> None:
        """What else a stop records (called with the lock held)."""

    def running_pid(self) -> int | None:
        container = self.container
        return container.pid if container is not None and container.running else None

    def shut_down(self) -> None:
        """The stack is stopping: stop the job and its container now."""
        self.stop_requested.set()
        container = self.container
        if container is not None and container.running:
            container.terminate(grace_seconds=2)

    def join(self, timeout: float) -> None:
        thread = self.runner.thread if self.runner is not None else None
        if thread is not None:
            thread.join(timeout=timeout)


J = TypeVar("J", bound=JobResource)


class JobFamily(Family, Generic[J]):
    """Training, processing or transform jobs: kept by name, each run by its runner."""

    KIND: ClassVar[str]  # "training", "processing", "transform": the runner thread's name
    ARN_RESOURCE: ClassVar[str]  # "training-job", ...
    RESULT_KEY: ClassVar[str]  # List*'s result key
    DUPLICATE: ClassVar[str] = DUPLICATE_JOB
    LIST_ORDER: ClassVar[str] = "Ascending"  # List*'s documented default SortOrder
    STOPPABLE_STATES = JobResource.STOPPABLE

    def __init__(self, shared: Shared):
        super().__init__(shared)
        self.jobs: Store[J] = Store(self.lock, self.not_found)

    def not_found(self, name: str) -> SageMakerError:
        return ValidationError(NOT_FOUND)

    def add(self, job: J, request: dict[str, Any], runner: JobRunner) -> None:
        """Keep ``job`` (ResourceInUse if its name is taken), tag it and start its runner."""
        with self.lock:
            self.jobs.add(job, lambda: ResourceInUse(self.DUPLICATE.format(arn=job.arn)))
            self.tags.tag(job.arn, request.get("Tags"))
            job.runner = runner
        runner.start(f"{self.KIND}-job")

    def describe(self, name: str) -> dict[str, Any]:
        return self.jobs.get(name).describe()

    def list(self, request: dict[str, Any]) -> dict[str, Any]:
        return list_answer(self.jobs, request, self.RESULT_KEY, order=self.LIST_ORDER)

    def stop(self, name: str) -> dict[str, Any]:
        self.jobs.get(name).request_stop()
        return {}

    def delete(self, name: str) -> dict[str, Any]:
        """DeleteXJob: only a job in a terminal state (ResourceInUse while it runs)."""
        with self.lock:
            job = self.jobs.find(name)
            if job is None:
                raise ResourceNotFound(f"Could not find job {name}.")
            if job.status in self.STOPPABLE_STATES:
                raise ResourceInUse(
                    f"The job {name} is {job.status}: only a Completed, Failed or Stopped job "
                    "can be deleted (stop it first)."
                )
            self.jobs.remove(name)
            self.tags.forget(job.arn)
        return {}

    def owns(self, arn: str) -> bool:
        return self.jobs.holds(arn)

    def running_pid(self, name: str) -> int | None:
        job = self.jobs.find(name)
        return job.running_pid() if job is not None else None

    def shut_down(self) -> None:
        jobs = self.jobs.values()
        for job in jobs:
            job.shut_down()

    def join(self, timeout: float) -> None:
        for job in self.jobs.values():
            job.join(timeout)
