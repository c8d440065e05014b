"""``serve``: gunicorn in front of the WSGI app, configured from SageMaker's environment.

Port ``SAGEMAKER_BIND_TO_PORT`` (8080); ``0.0.0.0`` in the container, ``127.0.0.1`` when
``OPT_ML_DIR`` is set (local runs never listen beyond loopback). Workers
``SAGEMAKER_MODEL_SERVER_WORKERS`` (default: CPU count), timeout
``SAGEMAKER_MODEL_SERVER_TIMEOUT`` (60 s), payload limit ``SAGEMAKER_MAX_PAYLOAD_IN_MB`` (6).
Each worker loads the model from ``/opt/ml/model`` once, after the fork.

No answer is HTML: the WSGI app answers JSON for everything it sees, and gunicorn's own error
responses (a request it cannot parse, a header too large, an exception escaping the app) are
written as ``{"error": "..."}`` by :func:`write_json_error`, which replaces gunicorn's HTML
page writer in this process and its workers.
"""

from __future__ import annotations

import ctypes
import gc
import json
import logging
import os
import sys

from gunicorn import util as gunicorn_util
from gunicorn.app.base import BaseApplication
from ml_common.contract import ContractError, env_float, env_int, is_relocated, opt_ml


def write_json_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's ``util.write_error`` (same signature and framing), with a JSON body.

    gunicorn calls it for requests it rejects before the app runs (malformed request line or
    headers, 400/414/431/501...) and for an exception the app lets escape (500, message empty).
    """
    message = f"{reason}: {mesg}" if mesg else reason
    body = json.dumps({"error": message}).encode()  # ASCII: non-ASCII request bytes escaped
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    )
    gunicorn_util.write_nonblock(sock, head.encode("latin-1") + body)


def install_json_error_pages() -> None:
    """Make gunicorn answer its own errors in JSON (workers inherit it through the fork)."""
    if not callable(getattr(gunicorn_util, "write_error", None)):  # pragma: no cover
        raise RuntimeError("gunicorn.util.write_error is gone: check write_json_error's seam")
    gunicorn_util.write_error = write_json_error


def app_logging() -> None:
    """Route the app's log ("ml_inference": one line per refused request) to gunicorn's log."""
    error_log = logging.getLogger("gunicorn.error")
    app_log = logging.getLogger("ml_inference")
    app_log.handlers = list(error_log.handlers)
    app_log.setLevel(error_log.level)
    app_log.propagate = False


def freeze_heap() -> None:
    """Move everything alive now (modules, the model) out of the cyclic collector's sight.

    A MultiRecord request allocates tens of thousands of dicts and lists (records, answers),
    so the collector runs full collections mid-request, and each one walked the ~200k objects
    that importing torch and scikit-learn leaves behind: a third of the answer-building time.
    Frozen objects are never collected, which is right for what lives as long as the worker.
    """
    gc.collect()
    gc.freeze()


# glibc's mallopt(3) parameters and the values the worker sets
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
TRIM_THRESHOLD_BYTES = 256 * 1024 * 1024
MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024  # glibc's largest on 64-bit


def keep_freed_memory() -> bool:
    """Let glibc keep the memory a request freed for the next one (mallopt; False if not glibc).

    Everything a request allocates (body, records, answers: megabytes for 1000 records) is free
    once it is answered; with glibc's defaults the heap is trimmed back to the kernel and the next
    request faults its pages in again: ~1000 page faults and ~3 ms of system time per
    1000-record request, a tenth of the server's CPU. No library offers this knob; glibc's own
    mallopt(3), through ctypes, is the call (the MALLOC_TRIM_THRESHOLD_ environment variable
    would only apply to a process started with it). The worker then holds on to its peak heap
    (a few tens of MB at SAGEMAKER_MAX_PAYLOAD_IN_MB) plus at most 256 MiB freed.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter is linked with
    except (OSError, AttributeError):  # pragma: no cover - not glibc (musl, macOS)
        return False
    return bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
        and mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
    )


class ModelServer(BaseApplication):
    def __init__(self, options: dict, app_options: dict):
        self.options = options
        self.app_options = app_options
        install_json_error_pages()
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        # Runs in each worker (preload_app is off): one model per worker process.
        from ml_common.model import load_model

        from ml_inference.app import InferenceApp

        app_logging()
        app = InferenceApp(load_model(opt_ml() / "model"), **self.app_options)
        freeze_heap()
        keep_freed_memory()
        return app


def server_options() -> tuple[dict, dict]:
    workers = env_int("SAGEMAKER_MODEL_SERVER_WORKERS", os.cpu_count() or 1)
    if workers < 1:
        raise ContractError(f"SAGEMAKER_MODEL_SERVER_WORKERS={workers}: need at least 1")
    host = "127.0.0.1" if is_relocated() else "0.0.0.0"  # noqa: S104 - the container's port 8080 is the contract
    port = env_int("SAGEMAKER_BIND_TO_PORT", 8080)
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": env_int("SAGEMAKER_MODEL_SERVER_THREADS", 2),
        "timeout": env_int("SAGEMAKER_MODEL_SERVER_TIMEOUT", 60),
        "keepalive": 75,  # longer than the SageMaker front end's idle timeout (60 s)
        "preload_app": False,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": os.environ.get("SAGEMAKER_MODEL_SERVER_LOG_LEVEL", "info"),
        "proc_name": "ml_inference",
        # No control socket: one per $HOME would clash between servers and needs a writable home.
        "control_socket_disable": True,
    }
    app_options = {
        "max_payload_mb": env_float("SAGEMAKER_MAX_PAYLOAD_IN_MB", 6.0),
        "workers": workers,
        "top_k": env_int("TOP_K", 3),
    }
    return options, app_options


def main() -> None:
    model_dir = opt_ml() / "model"
    if not (model_dir / "preprocessing.json").exists():
        print(
            f"ERROR: no model in {model_dir} (expected the training image's output)",
            file=sys.stderr,
        )
        sys.exit(2)
    try:
        options, app_options = server_options()
    except ContractError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        sys.exit(2)
    ModelServer(options, app_options).run()


if __name__ == "__main__":
    main()
