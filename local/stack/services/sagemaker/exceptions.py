"""SageMaker's errors, as the service names them and with the HTTP status it answers them with."""

from __future__ import annotations


class SageMakerError(Exception):
    """An error the protocol layer turns into AWS's JSON error shape."""

    code = "InternalFailure"
    status = 500

    def __init__(self, message: str, **extra: object):
        super().__init__(message)
        self.message = message
        self.extra = extra


class ValidationError(SageMakerError):
    code = "ValidationException"
    status = 400


class ResourceNotFound(SageMakerError):
    code = "ResourceNotFound"
    status = 400


class ResourceInUse(SageMakerError):
    code = "ResourceInUse"
    status = 400


class Conflict(SageMakerError):
    """The resource's state forbids the change (a group that still has versions)."""

    code = "ConflictException"
    status = 400


class ResourceLimitExceeded(SageMakerError):
    code = "ResourceLimitExceeded"
    status = 400


class UnknownOperation(SageMakerError):
    code = "UnknownOperationException"
    status = 400


class RuntimeValidationError(SageMakerError):
    """sagemaker-runtime's spelling of a validation error (unknown endpoint, bad variant)."""

    code = "ValidationError"
    status = 400


class ModelError(SageMakerError):
    """sagemaker-runtime: the model container answered InvokeEndpoint with an error."""

    code = "ModelError"
    status = 424
