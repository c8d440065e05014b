"""SageMaker's protocol layer: route, parse, validate against botocore's service model, shape
responses and errors. The state and behaviour live behind ``backend.SageMakerBackend``.

Control plane: JSON protocol, ``X-Amz-Target: SageMaker.<Operation>``, answered by the handler
the backend routes the operation to, ``<operation in snake case>(request) -> dict``.
sagemaker-runtime: REST, ``POST /endpoints/<name>/invocations``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

import botocore.session
from botocore.exceptions import ParamValidationError
from botocore.model import OperationNotFoundError, Shape
from botocore.utils import parse_timestamp
from botocore.validate import validate_parameters
from werkzeug.wrappers import Request, Response

from . import rules
from .exceptions import ModelError, SageMakerError, UnknownOperation, ValidationError

if TYPE_CHECKING:
    from .backend import SageMakerBackend

LOG = logging.getLogger(__name__)

INVOCATIONS_PATH = re.compile(r"^/endpoints/(?P<endpoint>[^/]+)/invocations$")


@cache
def service_model(name: str = "sagemaker"):
    """botocore's model of a service (``sagemaker`` or ``sagemaker-runtime``)."""
    return botocore.session.get_session().get_service_model(name)


def _walk(value: Any, shape: Shape, visit: Callable[[Any, Shape, str], Any], path: str) -> Any:
    """Rebuild ``value`` with ``visit`` applied to every scalar, following ``shape``."""
    if value is None:
        return None
    if shape.type_name == "structure" and isinstance(value, dict):
        return {
            key: _walk(item, shape.members[key], visit, f"{path}.{key}")
            if key in shape.members
            else item
            for key, item in value.items()
        }
    if shape.type_name == "list" and isinstance(value, list):
        return [_walk(item, shape.member, visit, f"{path}[{i}]") for i, item in enumerate(value)]
    if shape.type_name == "map" and isinstance(value, dict):
        return {
            key: _walk(item, shape.value, visit, f"{path}.{key}") for key, item in value.items()
        }
    return visit(value, shape, path)


def _parse_scalar(value: Any, shape: Shape, path: str) -> Any:
    if shape.type_name == "timestamp" and isinstance(value, int | float | str):
        try:
            return parse_timestamp(value)
        except (ValueError, TypeError) as err:
            raise ValidationError(f"Invalid timestamp at {path}: {value!r}") from err
    return value


def _check_constraints(value: Any, shape: Shape, path: str) -> Any:
    """What botocore.validate leaves to the service: maximum lengths, patterns and enums."""
    meta = shape.metadata
    if shape.type_name == "string" and isinstance(value, str):
        if "max" in meta and len(value) > meta["max"]:
            raise ValidationError(
                f"1 validation error detected: Value '{value}' at '{path}' failed to satisfy "
                f"constraint: Member must have length less than or equal to {meta['max']}"
            )
        if shape.enum and value not in shape.enum:
            raise ValidationError(
                f"1 validation error detected: Value '{value}' at '{path}' failed to satisfy "
                f"constraint: Member must satisfy enum value set: [{', '.join(shape.enum)}]"
            )
        pattern = meta.get("pattern")
        if pattern and not _fullmatch(pattern, value):
            raise ValidationError(
                f"1 validation error detected: Value '{value}' at '{path}' failed to satisfy "
                f"constraint: Member must satisfy regular expression pattern: {pattern}"
            )
    if shape.type_name in ("integer", "long", "double", "float") and isinstance(value, int | float):
        if "max" in meta and value > meta["max"]:
            raise ValidationError(
                f"1 validation error detected: Value '{value}' at '{path}' failed to satisfy "
                f"constraint: Member must have value less than or equal to {meta['max']}"
            )
    return value


@cache
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern, re.DOTALL)
    except re.error:  # Java-only syntax in a few SageMaker patterns: leave those to the service
        return None


def _fullmatch(pattern: str, value: str) -> bool:
    compiled = _compiled(pattern)
    # SageMaker applies its patterns to the whole value (Java matches()), anchored or not.
    return compiled is None or compiled.fullmatch(value) is not None


def parse_request(operation: str, body: bytes) -> dict[str, Any]:
    """Decode and validate a control-plane request as SageMaker does (botocore's input shape,
    then the service's own rules: ``rules.py``); ValidationError if not."""
    try:
        op_model = service_model().operation_model(operation)
    except OperationNotFoundError as err:
        raise UnknownOperation(f"SageMaker has no operation {operation!r}") from err
    try:
        params = json.loads(body or b"{}")
    except json.JSONDecodeError as err:
        raise ValidationError(f"{operation}: request body is not JSON: {err}") from err
    if not isinstance(params, dict):
        raise ValidationError(f"{operation}: request body must be a JSON object")
    shape = op_model.input_shape
    if shape is None:
        return {}
    params = _walk(params, shape, _parse_scalar, operation)
    try:
        validate_parameters(params, shape)
    except ParamValidationError as err:
        raise ValidationError(f"{operation}: {err.kwargs.get('report', err)}") from err
    _walk(params, shape, _check_constraints, operation)
    rules.check(operation, params)
    return params


CHECK_OUTPUT_VARIABLE = "MLOPS_LOCAL_CHECK_OUTPUT"


class OutputShapeError(SageMakerError):
    """The stack's own answer does not fit botocore's output shape (a bug of the stack)."""


def check_output(operation: str, answer: dict[str, Any]) -> None:
    """OutputShapeError unless ``answer`` validates against the operation's output shape
    (required members, types, enums, lengths: what a client's parser relies on)."""
    shape = service_model().operation_model(operation).output_shape
    if shape is None:
        return
    try:
        validate_parameters(answer, shape)
        _walk(answer, shape, _check_constraints, operation)
    except (ParamValidationError, ValidationError) as err:
        report = err.kwargs.get("report", err) if isinstance(err, ParamValidationError) else err
        raise OutputShapeError(
            f"the local stack's {operation} answer does not fit botocore's output shape: {report}"
        ) from err


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.timestamp()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def json_response(payload: dict[str, Any], status: int = 200) -> Response:
    return Response(
        json.dumps(payload, default=_json_default),
        status=status,
        content_type="application/x-amz-json-1.1",
    )


def error_response(err: SageMakerError) -> Response:
    """AWS's JSON error shape: ``__type`` and ``message``, the code also in x-amzn-ErrorType."""
    body: dict[str, Any] = {"__type": err.code, "message": err.message, "Message": err.message}
    body.update(err.extra)
    response = json_response(body, status=err.status)
    response.headers["x-amzn-ErrorType"] = err.code
    return response


class SageMakerApp:
    """The WSGI application for the SageMaker control plane and sagemaker-runtime.

    ``check_outputs`` (default: ``$MLOPS_LOCAL_CHECK_OUTPUT`` set to 1, as the tests set it)
    validates every answer against botocore's output shape and answers a misfit as a 500
    naming it, so that no test passes over a malformed answer."""

    def __init__(self, backend: SageMakerBackend, check_outputs: bool | None = None):
        self.backend = backend
        if check_outputs is None:
            check_outputs = os.environ.get(CHECK_OUTPUT_VARIABLE) == "1"
        self.check_outputs = check_outputs

    def close(self) -> None:
        self.backend.shutdown()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]):
        request = Request(environ)
        try:
            match = INVOCATIONS_PATH.match(request.path)
            if match and request.method == "POST":
                response = self.invoke_endpoint(match["endpoint"], request)
            else:
                response = self.control_plane(request)
        except SageMakerError as err:
            response = error_response(err)
        except Exception as err:  # an unexpected bug answers 500 with its text, never hangs
            LOG.exception("SageMaker request failed")
            response = error_response(SageMakerError(f"{type(err).__name__}: {err}"))
        return response(environ, start_response)

    def control_plane(self, request: Request) -> Response:
        target = request.headers.get("X-Amz-Target", "")
        prefix, _, operation = target.partition(".")
        if prefix != "SageMaker" or not operation:
            raise UnknownOperation(f"expected X-Amz-Target SageMaker.<Operation>, got {target!r}")
        params = parse_request(operation, request.get_data())
        handler = self.backend.handler(operation)
        if handler is None:
            raise UnknownOperation(f"SageMaker {operation} is not implemented by the local stack")
        answer = handler(params) or {}
        if self.check_outputs:
            check_output(operation, answer)
        return json_response(answer)

    def invoke_endpoint(self, endpoint_name: str, request: Request) -> Response:
        try:
            answer = self.backend.invoke_endpoint(
                endpoint_name,
                body=request.get_data(),
                content_type=request.headers.get("Content-Type", "application/octet-stream"),
                accept=request.headers.get("Accept"),
                target_variant=request.headers.get("X-Amzn-SageMaker-Target-Variant"),
            )
        except ModelError as err:
            response = error_response(err)
            response.headers["x-amzn-ErrorType"] = f"{err.code}:"
            return response
        response = Response(answer.body, status=200, content_type=answer.content_type)
        response.headers["x-Amzn-Invoked-Production-Variant"] = answer.variant
        return response
