"""Lambda Invoke on the local stack: runs the deployed function's own code, in a subprocess.

moto keeps the functions (CreateFunction, GetFunction, ... stay with moto); this module answers
``POST /2015-03-31/functions/{name}/invocations``. The function's zip is unpacked under the stack's
workdir and its handler (``module.function``) runs in a fresh interpreter with the function's
environment variables, the stack's endpoint and dummy credentials, a context object, and the
function's Timeout. The answer has Lambda's shape: the handler's return value as the payload,
``X-Amz-Function-Error: Unhandled`` with ``errorMessage``/``errorType`` when it raised or timed
out, ``X-Amz-Log-Result`` (the last 4 KB of output) for ``LogType=Tail``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
import uuid
import zipfile
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from local.stack.server import register_service

LOG = logging.getLogger(__name__)

INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")
LOG_TAIL_BYTES = 4096

# Runs inside the function's interpreter: argv = handler, result file, request id, function
# name, ARN, memory, timeout. The event arrives on stdin; stdout/stderr are the function's log.
# The handler's module is found through PYTHONPATH = the unpacked code (Lambda's task root).
_BOOTSTRAP = r"""
import importlib, json, sys, time, traceback
handler, result_path, request_id, name, arn, memory, timeout = sys.argv[1:8]
deadline = time.monotonic() + float(timeout)

class Context:
    aws_request_id = request_id
    function_name = name
    function_version = "$LATEST"
    invoked_function_arn = arn
    memory_limit_in_mb = int(memory)
    log_group_name = "/aws/lambda/" + name
    log_stream_name = request_id

    @staticmethod
    def get_remaining_time_in_millis():
        return max(0, int((deadline - time.monotonic()) * 1000))

try:
    event = json.loads(sys.stdin.read() or "null")
    module_name, function_name = handler.rsplit(".", 1)
    result = getattr(importlib.import_module(module_name), function_name)(event, Context())
    outcome = {"error": False, "payload": json.dumps(result)}
except Exception as exc:
    traceback.print_exc()
    outcome = {"error": True, "payload": json.dumps({
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_tb(exc.__traceback__),
    })}
with open(result_path, "w") as out:
    json.dump(outcome, out)
"""


def _aws_error(status: int, code: str, message: str) -> Response:
    return Response(
        json.dumps({"Type": "User", "Message": message, "message": message}),
        status=status,
        content_type="application/json",
        headers={"x-amzn-ErrorType": code},
    )


def _region_of(environ: dict[str, Any], default: str) -> str:
    auth = environ.get("HTTP_AUTHORIZATION", "")
    if "Credential=" in auth:
        parts = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        if len(parts) == 5:
            return parts[2]
    return default


class LambdaInvoke:
    """WSGI application for Invoke; needs the stack for its endpoint, region and workdir."""

    def __init__(self, stack: Any) -> None:
        self.stack = stack
        self.code_root = Path(stack.workdir) / "lambda"
        self._unpack_lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any):
        request = Request(environ)
        return self.respond(request, _region_of(environ, self.stack.region))(
            environ, start_response
        )

    def _function(self, region: str, name: str, qualifier: str | None):
        from moto.awslambda.models import lambda_backends

        return lambda_backends[self.stack.account_id][region].get_function(name, qualifier)

    def _code_dir(self, fn: Any) -> Path:
        """The function's zip unpacked once per code version (keyed by its hash)."""
        code = fn.code_bytes or b""
        target = self.code_root / fn.function_name / hashlib.sha256(code).hexdigest()[:16]
        with self._unpack_lock:
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                staging = Path(tempfile.mkdtemp(dir=target.parent))
                with zipfile.ZipFile(io.BytesIO(code)) as archive:
                    archive.extractall(staging)
                staging.rename(target)
        return target

    def _environment(self, fn: Any, code_dir: Path) -> dict[str, str]:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
        env.update({str(k): str(v) for k, v in (fn.environment_vars or {}).items()})
        # Reserved variables, as Lambda sets them, win over the function's own.
        env.update(self.stack.environ())
        env.update(
            {
                "AWS_REGION": fn.region,
                "AWS_DEFAULT_REGION": fn.region,
                "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_EXECUTION_ENV": "AWS_Lambda_python_local",
                # botocore prefixes some operations' hosts (MWAA: "env."); a loopback IP has none.
                "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
                # Lambda imports the handler from its task root, the unpacked zip.
                "LAMBDA_TASK_ROOT": str(code_dir),
                "PYTHONPATH": str(code_dir),
                "PYTHONDONTWRITEBYTECODE": "1",
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    def run(self, fn: Any, event: bytes, request_id: str) -> tuple[bool, bytes, str]:
        """Run the handler once: (raised or timed out, payload, log output)."""
        code_dir = self._code_dir(fn)
        with tempfile.TemporaryDirectory(prefix="invoke-") as scratch:
            result_path = Path(scratch) / "result.json"
            command = [
                sys.executable,
                "-c",
                _BOOTSTRAP,
                fn.handler,
                str(result_path),
                request_id,
                fn.function_name,
                fn.function_arn,
                str(fn.memory_size),
                str(fn.timeout),
            ]
            try:
                finished = subprocess.run(
                    command,
                    input=event,
                    cwd=code_dir,
                    env=self._environment(fn, code_dir),
                    capture_output=True,
                    timeout=float(fn.timeout),
                    check=False,
                )
                output = (finished.stdout + finished.stderr).decode("utf-8", "replace")
            except subprocess.TimeoutExpired as exc:
                output = ((exc.stdout or b"") + (exc.stderr or b"")).decode("utf-8", "replace")
                message = f"{request_id} Task timed out after {fn.timeout} seconds"
                payload = {"errorMessage": message, "errorType": "Sandbox.Timedout"}
                return True, json.dumps(payload).encode(), output
            if not result_path.exists():
                payload = {
                    "errorMessage": f"RequestId: {request_id} Error: Runtime exited with "
                    f"status {finished.returncode}",
                    "errorType": "Runtime.ExitError",
                }
                return True, json.dumps(payload).encode(), output
            outcome = json.loads(result_path.read_text())
            return outcome["error"], outcome["payload"].encode(), output

    def respond(self, request: Request, region: str) -> Response:
        match = INVOKE_PATH.match(request.path)
        if request.method != "POST" or match is None:
            return _aws_error(404, "ResourceNotFoundException", "not a Lambda Invoke request")
        from moto.core.exceptions import JsonRESTError

        try:
            fn = self._function(region, match["name"], request.args.get("Qualifier"))
        except JsonRESTError as exc:
            return _aws_error(exc.code, "ResourceNotFoundException", exc.description or str(exc))
        invocation_type = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        event = request.get_data()
        try:
            json.loads(event or b"null")
        except ValueError:
            return _aws_error(400, "InvalidRequestContentException", "Could not parse request body")
        if invocation_type == "DryRun":
            return Response(status=204)
        request_id = str(uuid.uuid4())
        if invocation_type == "Event":
            threading.Thread(target=self.run, args=(fn, event, request_id), daemon=True).start()
            return Response(status=202, headers={"x-amzn-RequestId": request_id})
        failed, payload, output = self.run(fn, event, request_id)
        LOG.info("lambda %s request %s: %s", fn.function_name, request_id, output[-LOG_TAIL_BYTES:])
        headers = {"x-amzn-RequestId": request_id, "X-Amz-Executed-Version": "$LATEST"}
        if failed:
            headers["X-Amz-Function-Error"] = "Unhandled"
        if request.headers.get("X-Amz-Log-Type") == "Tail":
            tail = output.encode()[-LOG_TAIL_BYTES:]
            headers["X-Amz-Log-Result"] = base64.b64encode(tail).decode()
        return Response(payload, status=200, content_type="application/json", headers=headers)


register_service(
    "lambda",
    LambdaInvoke,
    matches=lambda environ: bool(INVOKE_PATH.match(environ.get("PATH_INFO", ""))),
)
