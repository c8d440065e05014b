"""SageMaker's backend: one store per resource family and the routing of operations to them.

Every family module under ``resources/`` owns its resources and operations,
``<operation in snake case>(request) -> response``; the protocol layer (responses.py) has
already validated ``request`` against botocore's model. Jobs run in threads through
``runners/``, servers in processes."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from botocore import xform_name

from .images import ImageFolder, configured_images
from .resources.base import Family, Region, Shared, now
from .resources.endpoint import Endpoints
from .resources.endpoint_config import EndpointConfigs
from .resources.model import Models
from .resources.processing import ProcessingJobs
from .resources.registry import ModelRegistry
from .resources.tags import Tags
from .resources.training import TrainingJobs
from .resources.transform import TransformJobs
from .resources.tuning import TuningJobs
from .runners.job import RunnerContext

Handler = Callable[[dict[str, Any]], dict[str, Any]]
JOB_JOIN_SECONDS = 10


class Stack(Protocol):
    """What the backend reads of the stack it serves (``local.stack.LocalStack`` is one)."""

    region: str
    account_id: str
    workdir: Path
    ml_python: str
    extra_images: dict[str, ImageFolder]
    stop_grace_seconds: float
    job_slots: int

    def client(self, service: str) -> Any: ...


class SageMakerBackend:
    """All SageMaker state of one stack, kept in memory, behind one lock."""

    def __init__(self, stack: Stack):
        self.region = Region(stack.region, stack.account_id)
        self.lock = threading.RLock()
        self.closing = threading.Event()
        self.context = context = RunnerContext(
            client=stack.client,
            workdir=Path(stack.workdir),
            ml_python=stack.ml_python,
            # $MLOPS_LOCAL_IMAGES' settings file, then the stack's own (tests') extra images
            images={**configured_images(), **stack.extra_images},
            stop_grace_seconds=stack.stop_grace_seconds,
            slots=threading.BoundedSemaphore(stack.job_slots),
            clock=now,
            region=stack.region,
            account_id=stack.account_id,
            cpus_per_job=max(1, (os.cpu_count() or 1) // stack.job_slots),
        )
        self.tags = Tags(self.lock, self._is_known)
        shared = Shared(self.lock, self.region, self.tags, context)
        self.training = TrainingJobs(shared)
        self.processing = ProcessingJobs(shared)
        self.models = Models(shared)
        self.transform = TransformJobs(shared, self.models)
        self.tuning = TuningJobs(shared, self.training, self.closing)
        self.endpoint_configs = EndpointConfigs(shared, self.models)
        self.endpoints = Endpoints(shared, self.endpoint_configs, self.models)
        self.registry = ModelRegistry(shared)
        self.families: tuple[Family, ...] = (
            self.training,
            self.processing,
            self.transform,
            self.tuning,
            self.models,
            self.endpoint_configs,
            self.endpoints,
            self.registry,
        )
        self._routes: dict[str, Handler] = {
            operation: getattr(family, operation)
            for family in (*self.families, self.tags)
            for operation in family.OPERATIONS
        }
        # sagemaker-runtime InvokeEndpoint (REST, not routed by operation name)
        self.invoke_endpoint = self.endpoints.invoke_endpoint

    def handler(self, operation: str) -> Handler | None:
        """The family method answering ``operation`` (``CreateTrainingJob``), if implemented."""
        return self._routes.get(xform_name(operation))

    def _is_known(self, arn: str) -> bool:
        return any(family.owns(arn) for family in self.families)

    # ---- for fault injection and the stack's lifecycle ----------------------------------------
    def container_pid(self, job_name: str) -> int | None:
        """The process id of a running training/processing/transform job's container (for
        fault-injection tests that kill it as a lost instance would die), else None."""
        for family in (self.training, self.processing, self.transform):
            pid = family.running_pid(job_name)
            if pid is not None:
                return pid
        return None

    def server_pids(self, endpoint_name: str) -> list[int]:
        """The process ids of an endpoint's running inference servers (empty if none)."""
        return self.endpoints.server_pids(endpoint_name)

    def shutdown(self) -> None:
        """End every job and server process (the stack is stopping)."""
        self.closing.set()
        jobs = (self.training, self.processing, self.transform)
        for family in jobs:
            family.shut_down()
        self.endpoints.close()
        for family in jobs:
            family.join(JOB_JOIN_SECONDS)
        self.context.retirements.join(JOB_JOIN_SECONDS)
