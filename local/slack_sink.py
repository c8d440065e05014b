"""A Slack incoming-webhook stand-in on loopback: records what the notifiers post.

The Slack provider's webhook connection takes a full URL as its password, so in local mode the
`slack_webhook` connection points here and every notification shows in the demo's output.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LOOPBACK = "127.0.0.1"


class SlackSink:
    """``with SlackSink() as sink: sink.url`` — messages land in ``sink.messages``."""

    def __init__(self, port: int = 0, on_message: Callable[[dict[str, Any]], None] | None = None):
        self.port = port
        self.on_message = on_message
        self.messages: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("SlackSink is not started")
        return f"http://{LOOPBACK}:{self._server.server_port}/services/local/demo/webhook"

    def _record(self, message: dict[str, Any]) -> None:
        with self._lock:
            self.messages.append(message)
        if self.on_message is not None:
            self.on_message(message)

    def start(self) -> SlackSink:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    message = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    self.send_response(400)
                    self.end_headers()
                    self.wfile.write(b"invalid_payload")
                    return
                sink._record(message)
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok")  # what Slack answers

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((LOOPBACK, self.port), Handler)
        threading.Thread(target=self._server.serve_forever, name="slack-sink", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> SlackSink:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
