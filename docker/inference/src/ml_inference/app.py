"""The WSGI application: decode → predict → encode. Thin on purpose; gunicorn does the serving."""

from __future__ import annotations

import json
import logging
from http import HTTPStatus
from typing import Any

from ml_common.features import FeatureError
from ml_common.model import Classifier, ScoringError, predictions

from ml_inference.codecs import CONTENT_TYPES, Codec, PayloadError, media_type

log = logging.getLogger("ml_inference")


class InferenceApp:
    """GET /ping, POST /invocations, GET /execution-parameters.

    Every answer is JSON (or the requested answer type): a bad record is 400 naming it and its
    field, a record the model cannot score (non-finite probabilities) is 422 naming it, and
    anything unexpected is 500 with a short JSON message — the details go to the log, one line.
    """

    def __init__(
        self, classifier: Classifier, *, max_payload_mb: float, workers: int, top_k: int = 3
    ):
        self.classifier = classifier
        self.max_payload_bytes = int(max_payload_mb * 1024 * 1024)
        self.max_payload_mb = max_payload_mb
        self.workers = workers
        self.top_k = top_k

    def __call__(self, environ: dict[str, Any], start_response):
        try:
            return self._route(environ, start_response)
        except Exception as exc:  # noqa: BLE001 - the last line: a JSON 500, never gunicorn's HTML
            where = f"{environ.get('REQUEST_METHOD', '?')} {environ.get('PATH_INFO', '')}"
            detail = " ".join(str(exc).split())[:500]
            log.error("500: %s failed: %s: %s", where, type(exc).__name__, detail)
            return self._json(
                start_response,
                500,
                {
                    "error": f"internal error ({type(exc).__name__}) answering {where}; "
                    "the server log has the details"
                },
            )

    def _route(self, environ: dict[str, Any], start_response):
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/ping":
            return self._respond(start_response, 200, b"{}", "application/json")
        if path == "/execution-parameters":
            return self._json(
                start_response,
                200,
                {
                    "MaxConcurrentTransforms": self.workers,
                    "BatchStrategy": "MULTI_RECORD",
                    "MaxPayloadInMB": int(self.max_payload_mb),
                },
            )
        if path == "/invocations":
            if method != "POST":
                return self._error(start_response, 405, f"{method} /invocations: use POST")
            return self._invoke(environ, start_response)
        return self._error(
            start_response, 404, f"no route {method} {path}; try /ping or /invocations"
        )

    def _invoke(self, environ, start_response):
        content_type = media_type(environ.get("CONTENT_TYPE"))
        codec = CONTENT_TYPES.get(content_type)
        if codec is None:
            return self._error(
                start_response,
                415,
                f"content type {content_type or '(none)'!r} is not supported; "
                f"use one of {', '.join(CONTENT_TYPES)}",
            )
        answer_codec = self._answer_codec(environ.get("HTTP_ACCEPT"), codec)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return self._error(start_response, 400, "Content-Length is not an integer")
        if length > self.max_payload_bytes:
            return self._error(
                start_response,
                413,
                f"payload of {length} bytes exceeds "
                f"SAGEMAKER_MAX_PAYLOAD_IN_MB={self.max_payload_mb:g}",
            )
        body = (
            environ["wsgi.input"].read(length)
            if length
            else environ["wsgi.input"].read(self.max_payload_bytes + 1)
        )
        if len(body) > self.max_payload_bytes:
            return self._error(
                start_response,
                413,
                f"payload exceeds SAGEMAKER_MAX_PAYLOAD_IN_MB={self.max_payload_mb:g}",
            )
        try:
            decoded = codec.decode(body)
        except PayloadError as exc:
            return self._error(
                start_response, 400, f"invalid {content_type} payload: {exc}", **exc.details
            )
        try:
            answers = predictions(self.classifier, decoded.records, self.top_k)
        except FeatureError as exc:  # the decoder's range check should have caught it first
            error = decoded.record_error(exc.row, exc.detail, exc.field)
            return self._error(
                start_response, 400, f"invalid {content_type} payload: {error}", **error.details
            )
        except ScoringError as exc:
            error = decoded.record_error(exc.index, str(exc))
            return self._error(start_response, 422, f"cannot answer: {error}", **error.details)
        return self._respond(
            start_response, 200, answer_codec.encode(answers, decoded), answer_codec.response_type
        )

    @staticmethod
    def _answer_codec(accept: str | None, request_codec: Codec) -> Codec:
        for part in (accept or "").split(","):
            codec = CONTENT_TYPES.get(media_type(part))
            if codec is not None:
                return codec
        return request_codec

    def _json(self, start_response, status: int, payload: Any):
        return self._respond(
            start_response, status, json.dumps(payload).encode(), "application/json"
        )

    def _error(self, start_response, status: int, message: str, **details: Any):
        log.info("%s: %s", status, message)
        return self._json(start_response, status, {"error": message, **details})

    @staticmethod
    def _respond(start_response, status: int, body: bytes, content_type: str):
        start_response(
            f"{status} {HTTPStatus(status).phrase}",
            [("Content-Type", content_type), ("Content-Length", str(len(body)))],
        )
        return [body]
