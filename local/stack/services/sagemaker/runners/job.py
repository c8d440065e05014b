"""The skeleton every job runner shares (training, processing, batch transform).

A runner waits for a slot (bounded by cores), runs the kind's work (relocate /opt/ml under the
stack's workdir, write the container's config files, download inputs, run the image's command,
stream its output to CloudWatch Logs, upload outputs) and reports how the job ended: one
``Ending`` through the job's status callback, whatever happened — a stop, a timeout, the
container's failure, a request SageMaker would refuse, or a bug of the stack."""

from __future__ import annotations

import datetime as dt
import shutil
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from .. import execution
from ..images import ImageFolder, Launch, UnknownImage

FAILURE_TEXT_LIMIT = 1024  # SageMaker keeps FailureReason up to 1024 characters
POLL_SECONDS = 0.2

Exit = Literal["exited", "stopped", "timeout"]


class JobFailed(Exception):
    """Ends a job as Failed; the message is its FailureReason."""


class Retirements:
    """Containers whose job has ended, stopping in the background: a batch transform is
    complete once its answers are uploaded, and its model server's graceful stop (seconds of
    a server's shutdown loop) need not hold the job or its slot. The stack's shutdown waits
    for them (``join``), so none outlives it."""

    def __init__(self) -> None:
        self._threads: dict[threading.Thread, Container] = {}
        self._lock = threading.Lock()

    def retire(self, container: Container, grace_seconds: float) -> None:
        def stop() -> None:
            try:
                container.terminate(grace_seconds)
            finally:
                with self._lock:
                    self._threads.pop(thread, None)

        thread = threading.Thread(target=stop, name="retire-container", daemon=True)
        with self._lock:
            self._threads[thread] = container
        thread.start()

    def pids(self) -> list[int]:
        """The process ids of the retired containers still stopping."""
        with self._lock:
            containers = list(self._threads.values())
        return [pid for c in containers if (pid := c.pid) is not None]

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))


@dataclass(frozen=True)
class RunnerContext:
    """What runners may use of the stack: boto3 clients on it, its files, the ML interpreter,
    the clock and the job slots."""

    client: Callable[[str], Any]  # service name → boto3 client on the stack
    workdir: Path  # jobs' and endpoints' files live under <workdir>/sagemaker/
    ml_python: str  # the interpreter that runs image entrypoints
    images: dict[str, ImageFolder]  # more ECR repositories → image folders (tests' images)
    stop_grace_seconds: float  # SIGTERM → SIGKILL
    slots: threading.BoundedSemaphore  # concurrently running jobs
    clock: Callable[[], dt.datetime]
    region: str
    account_id: str
    retirements: Retirements = field(default_factory=Retirements)
    cpus_per_job: int = 1  # the machine's cores ÷ the job slots: what a job's "instance" has

    def job_root(self, kind: str, name: str) -> Path:
        """A fresh ``<workdir>/sagemaker/<kind>/<name>`` holding an empty ``opt_ml``."""
        root = self.workdir / "sagemaker" / kind / name
        if root.exists():
            shutil.rmtree(root)
        (root / "opt_ml").mkdir(parents=True)
        return root


class Container(Protocol):
    """A running container (a process, or a model server): what stopping the stack needs."""

    @property
    def running(self) -> bool: ...

    @property
    def pid(self) -> int | None: ...

    def terminate(self, grace_seconds: float) -> Any: ...


@dataclass(frozen=True)
class Ending:
    """How a job ended, as its describe document records it.

    ``step``/``message``: the final SecondaryStatus transition (training jobs);
    ``exit_message``: the container's /opt/ml/output/message (processing jobs)."""

    status: Literal["Completed", "Failed", "Stopped"]
    reason: str | None = None
    step: str | None = None
    message: str | None = None
    exit_message: str | None = None

    def __post_init__(self) -> None:
        if self.reason is not None:
            object.__setattr__(self, "reason", self.reason[:FAILURE_TEXT_LIMIT])


class RunningJob(Protocol):
    """A runner's handle on its job (the job resource implements it)."""

    stop_requested: threading.Event
    container: Container | None

    def document(self) -> dict[str, Any]:
        """The job's describe document now (its request and what the stack added)."""
        ...

    def begin(self) -> None:
        """The job got a slot and starts (records its start time)."""
        ...

    def progress(self, step: str, message: str) -> None:
        """A SecondaryStatus step (training jobs record them; others ignore them)."""
        ...

    def record(self, **fields: Any) -> None:
        """Set describe fields (e.g. FinalMetricDataList)."""
        ...

    def finish(self, ending: Ending) -> None:
        """The status callback: the job ended."""
        ...


@dataclass
class Outcome:
    """How the container ended: exited (with its code), stopped, or past MaxRuntimeInSeconds."""

    exit: Exit
    code: int = 0
    root: Path = field(default_factory=Path)


class JobRunner(ABC):
    """Runs one job in a thread: ``run()`` is the shared skeleton; subclasses say what runs
    (``execute``) and what each way of ending means for their kind (``conclude``, and the
    ``stopped_while_queued`` / ``failed`` endings)."""

    def __init__(self, context: RunnerContext, job: RunningJob):
        self.context = context
        self.job = job
        self.thread: threading.Thread | None = None

    def start(self, name: str) -> None:
        """Run the job in a daemon thread named ``name``."""
        self.thread = threading.Thread(target=self.run, name=name, daemon=True)
        self.thread.start()

    def run(self) -> None:
        if not self._acquire_slot():
            self.job.finish(self.stopped_while_queued())
            return
        try:
            self.job.begin()
            self.job.finish(self.conclude(self.execute()))
        except Exception as err:  # a stack bug fails the job visibly instead of hanging it
            self.job.finish(self.failed(err))
        finally:
            self.job.container = None
            self.context.slots.release()

    def _acquire_slot(self) -> bool:
        """Wait for a job slot; False if the job was stopped (or the stack closed) while queued."""
        while not self.job.stop_requested.is_set():
            if self.context.slots.acquire(timeout=POLL_SECONDS):
                return True
        return False

    @abstractmethod
    def execute(self) -> Outcome:
        """Prepare, run and supervise the container."""

    @abstractmethod
    def conclude(self, outcome: Outcome) -> Ending:
        """What the container's ending means (uploading outputs on the way where it should)."""

    def stopped_while_queued(self) -> Ending:
        return Ending("Stopped")

    def failed(self, err: Exception) -> Ending:
        """A request the stack refuses at run time, or a bug of the stack."""
        if isinstance(err, JobFailed | UnknownImage):
            return Ending("Failed", str(err))
        return Ending("Failed", f"InternalServerError: {err}")

    # ---- helpers the kinds share ---------------------------------------------------------------
    def launch(
        self,
        process: Callable[[], execution.ContainerProcess],
        max_runtime: int | None,
        root: Path,
        started: Callable[[], None] | None = None,
    ) -> Outcome:
        """Start the container (unless the job was stopped first), call ``started`` once it
        runs, and supervise it."""
        if self.job.stop_requested.is_set():
            return Outcome("stopped", 0, root)
        container = process()
        self.job.container = container
        if started is not None:
            started()
        exit, code = self.supervise(container, max_runtime)
        return Outcome(exit, code, root)

    def supervise(
        self, process: execution.ContainerProcess, max_runtime: int | None
    ) -> tuple[Exit, int]:
        """Wait for the container: ('exited' | 'stopped' | 'timeout', exit code)."""
        started = time.monotonic()
        grace = self.context.stop_grace_seconds
        while True:
            code = process.wait(timeout=POLL_SECONDS)
            if code is not None:
                return "exited", code
            if self.job.stop_requested.is_set():
                return "stopped", process.terminate(grace)
            if max_runtime and time.monotonic() - started > max_runtime:
                return "timeout", process.terminate(grace)

    def container_process(
        self,
        launch: Launch,
        opt_ml: Path,
        environment: dict[str, str],
        arguments: list[str],
        on_line: Callable[[str], None],
        cwd: Path,
    ) -> Callable[[], execution.ContainerProcess]:
        """A deferred start of the image command ``launch`` against ``opt_ml``."""
        return lambda: execution.ContainerProcess(
            launch,
            ml_python=self.context.ml_python,
            opt_ml=opt_ml,
            environment=environment,
            arguments=arguments,
            on_line=on_line,
            cwd=cwd,
        )


def read_text(path: Path) -> str | None:
    """A container's message file (failure, message), trimmed to SageMaker's limit."""
    if path.is_file():
        text = path.read_text(errors="replace").strip()
        return text[:FAILURE_TEXT_LIMIT] if text else None
    return None


def download_inputs(s3: Any, uri: str, destination: Path, what: str) -> None:
    """S3Prefix download of ``uri``; JobFailed with SageMaker's wording if it cannot be read."""
    try:
        execution.download_prefix(s3, uri, destination)
    except FileNotFoundError as err:
        raise JobFailed(
            f'ClientError: Data download failed: No S3 objects found under S3 URL "{uri}" '
            f"given in {what}. Please ensure that the bucket exists and that objects exist "
            "under that S3 prefix."
        ) from err
    except Exception as err:  # botocore errors: bucket missing, access denied, ...
        raise JobFailed(f"ClientError: Data download failed for {what} ({uri}): {err}") from err


def relocated(container_path: str, opt_ml: Path, what: str) -> Path:
    """``execution.relocate`` with a JobFailed naming ``what`` for a path outside /opt/ml."""
    try:
        return execution.relocate(container_path, opt_ml)
    except ValueError as err:
        raise JobFailed(f"ClientError: {what}: {err}") from err


def max_runtime(document: dict[str, Any]) -> int | None:
    """StoppingCondition.MaxRuntimeInSeconds, if the job has one."""
    value = (document.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
    return int(value) if value else None
