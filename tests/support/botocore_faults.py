"""Faults injected into a real botocore client (moto's, the local stack's) through its event
system: a ``before-call.<service>.<Operation>`` handler answers instead of the service, with the
error response the service would send, parsed by botocore's own protocol parser (so modeled
error fields such as DynamoDB's ``CancellationReasons`` arrive as they would from AWS). The client
is not replaced: every call the script does not fault goes through to the backend."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.parsers import create_parser

DYNAMODB_ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#"


@dataclass(frozen=True)
class Fault:
    """One error answer: HTTP status and the service's JSON error body."""

    status: int
    body: dict[str, Any]


def cancelled(*codes: str) -> Fault:
    """DynamoDB's TransactionCanceledException with one CancellationReasons code per item."""
    return Fault(
        400,
        {
            "__type": DYNAMODB_ERROR_PREFIX + "TransactionCanceledException",
            "Message": "Transaction cancelled, please refer cancellation reasons for specific "
            f"reasons [{', '.join(codes)}]",
            "CancellationReasons": [
                {"Code": code} if code == "None" else {"Code": code, "Message": f"{code} injected"}
                for code in codes
            ],
        },
    )


def dynamodb_error(code: str, status: int = 400) -> Fault:
    """A plain DynamoDB error (``TransactionConflictException``, ``ThrottlingException``...)."""
    return Fault(status, {"__type": DYNAMODB_ERROR_PREFIX + code, "message": f"{code} injected"})


def service_error(code: str, status: int = 400) -> Fault:
    """A JSON-protocol error of any service (SageMaker's ``ThrottlingException``...)."""
    return Fault(status, {"__type": code, "message": f"{code} injected"})


@dataclass
class Injected:
    """What the handler saw: ``calls`` counts every call of the operation, faulted or not."""

    script: list[Fault | None]
    calls: int = 0
    faulted: int = 0
    params: list[dict[str, Any]] = field(default_factory=list)


def inject(
    client: Any, operation: str, script: Iterable[Fault | None], *, then: Fault | None = None
) -> Injected:
    """Answer the next calls of ``operation`` on ``client`` from ``script`` (None: the real
    call); once the script is used up, answer ``then`` (None: real calls from then on)."""
    state = Injected(list(script))
    service_model = client.meta.service_model
    parser = create_parser(service_model.protocol)

    def handler(model: Any, params: dict[str, Any], **_: Any) -> Any:
        state.calls += 1
        state.params.append(params)
        fault = state.script.pop(0) if state.script else then
        if fault is None:
            return None
        state.faulted += 1
        raw = {
            "status_code": fault.status,
            "headers": {"x-amzn-requestid": f"injected-{state.calls}"},
            "body": json.dumps(fault.body).encode(),
        }
        parsed = parser.parse(raw, model.output_shape)
        error_shape = service_model.shape_for_error_code(parsed["Error"]["Code"])
        if error_shape is not None:  # what botocore's endpoint adds for a modeled error
            parsed.update(parser.parse(raw, error_shape))
        http = AWSResponse("https://injected.invalid/", fault.status, raw["headers"], None)
        return http, parsed

    event = f"before-call.{service_model.service_id.hyphenize()}.{operation}"
    client.meta.events.register(event, handler)
    return state
