"""SageMaker and sagemaker-runtime, implemented by the project (both signed as ``sagemaker``)."""

from local.stack.server import register_service

from .models import SageMakerBackend
from .responses import SageMakerApp


def make_app(stack):
    return SageMakerApp(SageMakerBackend(stack))


register_service("sagemaker", make_app)
