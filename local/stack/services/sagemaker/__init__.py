"""SageMaker and sagemaker-runtime, implemented by the project (both signed as ``sagemaker``).

Layers, each importing only those below it:
``responses`` (protocol) → ``backend`` (routing) → ``resources.*`` (state, one module per
family) → ``runners.*`` (execution: jobs and servers) → ``execution``, ``images``
(processes, S3, logs, image folders); ``exceptions`` is shared by all."""

from __future__ import annotations

from typing import Any

from local.stack.server import register_service

from .backend import SageMakerBackend
from .responses import SageMakerApp


def make_app(stack: Any) -> SageMakerApp:
    return SageMakerApp(SageMakerBackend(stack))


register_service("sagemaker", make_app)
