"""A real HTTP server in front of the tests' Airflow API server that fails on purpose.

``FlakyProxy(upstream)`` forwards every request to ``upstream`` (loopback only) unless a planned
failure matches: ``fail(method, path_regex, times, status=500, after_forwarding=False)``. With
``after_forwarding`` the request reaches Airflow first and only its answer is replaced (a POST
that took effect although its caller saw a 500). ``times=None`` fails forever. ``hits`` counts
the failures served per plan.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Plan:
    method: str
    path: re.Pattern[str]
    times: int | None
    status: int
    after_forwarding: bool
    hits: int = 0

    def take(self, method: str, path: str) -> bool:
        if method != self.method or not self.path.search(path):
            return False
        if self.times is not None and self.hits >= self.times:
            return False
        self.hits += 1
        return True


class FlakyProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.plans: list[Plan] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args) -> None:  # keep test output quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                plan = proxy._planned(self.command, self.path)
                status, headers, payload = None, {}, b""
                if plan is None or plan.after_forwarding:
                    status, headers, payload = proxy._forward(self, body)
                if plan is not None:
                    status, headers = plan.status, {"Content-Type": "application/json"}
                    payload = json.dumps({"detail": "injected failure"}).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _planned(self, method: str, path: str) -> Plan | None:
        with self._lock:
            return next((plan for plan in self.plans if plan.take(method, path)), None)

    def _forward(self, handler: BaseHTTPRequestHandler, body: bytes | None):
        headers = {
            k: v
            for k, v in handler.headers.items()
            if k.lower() in ("authorization", "content-type")
        }
        request = urllib.request.Request(
            self.upstream + handler.path, data=body, headers=headers, method=handler.command
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                status, payload, kind = answer.status, answer.read(), answer.headers
        except urllib.error.HTTPError as exc:
            status, payload, kind = exc.code, exc.read(), exc.headers
        return status, {"Content-Type": kind.get("Content-Type", "application/json")}, payload

    def fail(
        self,
        method: str,
        path: str,
        times: int | None,
        *,
        status: int = 500,
        after_forwarding: bool = False,
    ) -> Plan:
        plan = Plan(method, re.compile(path), times, status, after_forwarding)
        with self._lock:
            self.plans.append(plan)
        return plan

    def __enter__(self) -> FlakyProxy:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._server.shutdown()
        self._server.server_close()
