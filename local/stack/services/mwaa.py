"""MWAA InvokeRestApi on the local stack: forwards to a real Airflow API server.

``POST /restapi/{Name}`` (boto3 ``mwaa.invoke_rest_api``) becomes
``{Method} {airflow}/api/v2{Path}`` on the configured Airflow, and Airflow's answer comes back
the way MWAA shapes it: 200 with
``RestApiStatusCode`` + ``RestApiResponse``; an Airflow 4xx as ``RestApiClientException``, a 5xx
(or no answer) as ``RestApiServerException``, both carrying Airflow's status and body.

Which Airflow: ``configure(stack, api_url, username=..., password=...)``, else the environment
variables ``MLOPS_LOCAL_AIRFLOW_API_URL`` (e.g. ``http://127.0.0.1:8080``) and, for Airflow's
simple auth manager, ``MLOPS_LOCAL_AIRFLOW_USERNAME`` / ``MLOPS_LOCAL_AIRFLOW_PASSWORD`` (a JWT
is fetched from ``/auth/token``, as MWAA signs in with the caller's role). Every environment name
reaches the same Airflow.

boto3 puts the ``env.`` host prefix of this operation in front of the endpoint's host; a local
client needs ``AWS_DISABLE_HOST_PREFIX_INJECTION=true`` (the local Lambda runtime sets it).
"""

from __future__ import annotations

import json
import os
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
import weakref
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

from local.stack.server import register_service

PATH_PATTERN = re.compile(r"^/restapi/(?P<name>[A-Za-z][0-9A-Za-z_-]{0,79})$")
METHODS = frozenset({"GET", "PUT", "POST", "PATCH", "DELETE"})
TIMEOUT_SECONDS = 10  # MWAA's limit on the Airflow call
MAX_RESPONSE_BYTES = 6 * 1024 * 1024


@dataclass
class AirflowTarget:
    api_url: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def _error(status: int, code: str, message: str, **members: Any) -> Response:
    body = {"message": message, **members}
    return Response(
        json.dumps(body),
        status=status,
        content_type="application/json",
        headers={"x-amzn-ErrorType": code},
    )


class MwaaRestApi:
    """WSGI application for InvokeRestApi; everything else MWAA does is not served locally."""

    def __init__(self) -> None:
        self.target: AirflowTarget | None = None
        self._token: str | None = None
        self._lock = threading.Lock()

    def _current_target(self) -> AirflowTarget | None:
        if self.target is not None:
            return self.target
        url = os.environ.get("MLOPS_LOCAL_AIRFLOW_API_URL")
        if not url:
            return None
        return AirflowTarget(
            url,
            os.environ.get("MLOPS_LOCAL_AIRFLOW_USERNAME"),
            os.environ.get("MLOPS_LOCAL_AIRFLOW_PASSWORD"),
        )

    def _fetch_token(self, target: AirflowTarget) -> str:
        request = urllib.request.Request(  # noqa: S310 - URL comes from local configuration
            f"{target.api_url.rstrip('/')}/auth/token",
            data=json.dumps({"username": target.username, "password": target.password}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310
            return json.load(answer)["access_token"]

    def _call(
        self, target: AirflowTarget, method: str, path: str, query: Any, body: Any, *, retry=True
    ) -> tuple[int, Any]:
        url = f"{target.api_url.rstrip('/')}/api/v2{path}"
        if query:
            url += "?" + urllib.parse.urlencode(query, doseq=True)
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if target.username:
            with self._lock:
                if self._token is None:
                    self._token = self._fetch_token(target)
                headers["Authorization"] = f"Bearer {self._token}"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310
                status, raw = answer.status, answer.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read(MAX_RESPONSE_BYTES + 1)
        if status == 401 and target.username and retry:
            with self._lock:
                self._token = None  # expired JWT: sign in again once
            return self._call(target, method, path, query, body, retry=False)
        if len(raw) > MAX_RESPONSE_BYTES:
            return 502, {"detail": "Airflow response is over MWAA's 6 MB limit"}
        try:
            payload = json.loads(raw) if raw else {}
        except ValueError:
            payload = {"detail": raw.decode("utf-8", "replace")[:2000]}
        return status, payload

    def __call__(self, environ: dict[str, Any], start_response: Any):
        return self.respond(Request(environ))(environ, start_response)

    def respond(self, request: Request) -> Response:
        match = PATH_PATTERN.match(request.path)
        if request.method != "POST" or match is None:
            return _error(404, "ResourceNotFoundException", "only InvokeRestApi is served locally")
        try:
            params = json.loads(request.get_data() or b"{}")
        except ValueError:
            return _error(400, "ValidationException", "request body is not JSON")
        method, path = params.get("Method"), params.get("Path")
        if method not in METHODS:
            return _error(400, "ValidationException", f"Method must be one of {sorted(METHODS)}")
        if not isinstance(path, str) or not path.startswith("/") or len(path) > 2048:
            return _error(400, "ValidationException", "Path must start with '/' (without /api/v2)")
        target = self._current_target()
        if target is None:
            return _error(
                404,
                "ResourceNotFoundException",
                f"environment {match['name']}: no local Airflow configured "
                "(set MLOPS_LOCAL_AIRFLOW_API_URL)",
            )
        try:
            status, payload = self._call(
                target, method, path, params.get("QueryParameters"), params.get("Body")
            )
        except (OSError, KeyError, ValueError) as exc:
            return _error(
                400,
                "RestApiServerException",
                f"Airflow at {target.api_url} did not answer: {exc}",
                RestApiStatusCode=502,
                RestApiResponse={"detail": f"Airflow did not answer: {exc}"},
            )
        if status >= 500:
            return _error(
                400,
                "RestApiServerException",
                "Airflow server error",
                RestApiStatusCode=status,
                RestApiResponse=payload,
            )
        if status >= 400:
            return _error(
                400,
                "RestApiClientException",
                "Airflow client error",
                RestApiStatusCode=status,
                RestApiResponse=payload,
            )
        return Response(
            json.dumps({"RestApiStatusCode": status, "RestApiResponse": payload}),
            status=200,
            content_type="application/json",
        )


_APPS: weakref.WeakKeyDictionary[Any, MwaaRestApi] = weakref.WeakKeyDictionary()


def make_app(stack: Any) -> MwaaRestApi:
    app = MwaaRestApi()
    _APPS[stack] = app
    return app


def configure(
    stack: Any, api_url: str, *, username: str | None = None, password: str | None = None
) -> None:
    """Point this stack's MWAA at the Airflow API server ``api_url`` (before or while serving)."""
    app = _APPS.get(stack)
    if app is None:
        raise RuntimeError("the local stack is not started: configure MWAA inside `with stack:`")
    app.target = AirflowTarget(api_url, username, password)
    app._token = None


register_service(
    "airflow",
    make_app,
    matches=lambda environ: environ.get("PATH_INFO", "").startswith("/restapi/"),
)
