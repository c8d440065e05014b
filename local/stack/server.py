"""One loopback HTTP endpoint for every AWS API the project uses.

Requests are dispatched by the service name in the SigV4 credential scope
(``Credential=<key>/<date>/<region>/<service>/aws4_request``): services registered here
(SageMaker, sagemaker-runtime, and whatever other modules under ``local/stack/services/`` add)
answer first, moto answers everything else (S3, DynamoDB, SNS, KMS, Logs, ECR, STS, IAM,
Secrets Manager) in the same process.

Adding a service is one call at the import of a module in ``local/stack/services/``::

    register_service("airflow", make_mwaa_app)   # make_mwaa_app(stack) -> WSGI application

The factory runs when a stack starts; if the application has a ``close()`` method it is called
when the stack stops (end child processes there).
"""

from __future__ import annotations

import atexit
import ctypes
import gc
import importlib
import logging
import os
import pkgutil
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from werkzeug.serving import BaseWSGIServer

LOG = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_REGION = "eu-west-1"
DEFAULT_ACCOUNT_ID = "123456789012"
# moto keeps each S3 object in a SpooledTemporaryFile that moves to disk past this many bytes
# (moto's default is about 5 MiB). A month's many objects of a few MiB (predictions partitions,
# small countries' parts and .out files) would otherwise all stay in the stack's memory, which
# then grows with the data held; past this size an object costs a temp file (one open file
# descriptor) instead. MOTO_S3_DEFAULT_KEY_BUFFER_SIZE set in the environment wins.
S3_IN_MEMORY_OBJECT_BYTES = 256 * 1024

# glibc's mallopt(3) parameters, and what the stack sets: every allocation of 1 MiB or more is
# its own mapping, given back to the kernel when freed.
BODY_BYTES_PER_COLLECTION = 64 * 1024 * 1024
M_MMAP_THRESHOLD, M_ARENA_MAX = -3, -8
MMAP_THRESHOLD_BYTES = 1024 * 1024
ARENA_MAX = 2


def _content_length(value: str | None) -> int:
    try:
        return max(0, int(value or 0))
    except ValueError:
        return 0


class BodyCollector:
    """Runs the cycle collector each time ``threshold`` bytes of request and response bodies
    have passed through the stack.

    moto keeps each request (its body included) in a reference cycle, which only the cyclic
    garbage collector frees; Python runs that collector by the number of objects allocated,
    not their size, so a month's bodies of tens of MB each piled up in the stack between two
    full collections (380 MB to 1 GB over a 3.3M-item month). A full collection costs tens of
    milliseconds; once every 64 MiB of bodies it is a few seconds over a month."""

    def __init__(self, threshold: int = BODY_BYTES_PER_COLLECTION) -> None:
        self.threshold = threshold
        self.collections = 0
        self._bytes = 0
        self._lock = threading.Lock()

    def passed(self, size: int) -> None:
        with self._lock:
            self._bytes += size
            if self._bytes < self.threshold:
                return
            self._bytes = 0
            self.collections += 1
        gc.collect()


def return_large_buffers() -> bool:
    """Have glibc give every large buffer back to the kernel once it is freed (mallopt; False
    where the C library is not glibc).

    moto reads and writes an S3 object as one bytes value (a PUT's body, a multipart upload's
    parts joined, a GET's body, a ranged GET's whole object): tens of MB a request at a month's
    volume. With glibc's defaults the mmap threshold rises to the largest block freed (up to
    32 MiB), such blocks then come from the heaps of the request threads' arenas (up to 8 per
    core) and stay there: the stack's resident memory grew with the data that passed through
    it (380 MB to 1 GB over a 3.3M-item month). A fixed 1 MiB threshold keeps them mappings, and
    two arenas keep the small-object heaps few. No library offers the knob; MALLOC_ARENA_MAX and
    MALLOC_MMAP_THRESHOLD_ in the environment would only apply to a process started with them,
    and the stack also runs inside other processes (tests, the demo's Airflow)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter is linked with
    except (OSError, AttributeError):  # pragma: no cover - not glibc (musl, macOS)
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) and mallopt(M_ARENA_MAX, ARENA_MAX))


WSGIApplication = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
ServiceFactory = Callable[["LocalStack"], WSGIApplication]


@dataclass(frozen=True)
class ServiceRoute:
    """A project-implemented service: requests signed for ``signing_name`` that ``matches``."""

    signing_name: str
    factory: ServiceFactory
    matches: Callable[[dict[str, Any]], bool] | None = None


_ROUTES: list[ServiceRoute] = []
_RUNNING: set[int] = set()  # ids of the stacks started in this process
_RUNNING_LOCK = threading.Lock()


def register_service(
    signing_name: str,
    factory: ServiceFactory,
    *,
    matches: Callable[[dict[str, Any]], bool] | None = None,
) -> None:
    """Serve requests signed for ``signing_name`` (and accepted by ``matches(environ)``, if
    given) with the WSGI application ``factory(stack)`` instead of moto. Later registrations
    are tried first, so a more specific route may be added after a broad one."""
    _ROUTES.insert(0, ServiceRoute(signing_name, factory, matches))


def signing_service(environ: dict[str, Any]) -> str | None:
    """The service name of a SigV4-signed request's credential scope, lower-cased."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    if "Credential=" not in auth:
        return None
    scope = auth.split("Credential=", 1)[1].split(",", 1)[0].strip()
    parts = scope.split("/")
    return parts[3].lower() if len(parts) == 5 else None


def _load_service_modules() -> None:
    """Import every module under local/stack/services/; each registers its routes at import."""
    import local.stack.services as services

    for module in pkgutil.iter_modules(services.__path__):
        importlib.import_module(f"{services.__name__}.{module.name}")


class _Dispatcher:
    def __init__(self, routes: list[tuple[ServiceRoute, WSGIApplication]], fallback: Any):
        self.routes = routes
        self.fallback = fallback

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]):
        service = signing_service(environ)
        for route, app in self.routes:
            if route.signing_name == service and (route.matches is None or route.matches(environ)):
                return app(environ, start_response)
        return self.fallback(environ, start_response)


def default_ml_python() -> str:
    """The interpreter that runs image entrypoints: $MLOPS_ML_PYTHON, else the repo's .venv-ml."""
    configured = os.environ.get("MLOPS_ML_PYTHON")
    if configured:
        return configured
    candidate = REPO_ROOT / ".venv-ml" / "bin" / "python"
    return str(candidate) if candidate.exists() else sys.executable


class LocalStack:
    """The embedded AWS + SageMaker backend, served from a thread of the calling process.

    ``extra_images`` maps more ECR repository names to image folders (tests register tiny
    fixture images this way); ``job_slots`` bounds concurrently running SageMaker jobs
    (default: the number of cores).
    """

    def __init__(
        self,
        port: int = 0,
        workdir: str | os.PathLike[str] | None = None,
        *,
        region: str = DEFAULT_REGION,
        extra_images: dict[str, Any] | None = None,
        job_slots: int | None = None,
        ml_python: str | None = None,
        stop_grace_seconds: float = 10.0,
    ):
        self.port = port
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="local-stack-")).resolve()
        self.region = region
        self.account_id = DEFAULT_ACCOUNT_ID
        self.extra_images = dict(extra_images or {})
        self.job_slots = job_slots or os.cpu_count() or 2
        self.ml_python = ml_python or default_ml_python()
        self.stop_grace_seconds = stop_grace_seconds
        self.repo_root = REPO_ROOT
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._apps: list[WSGIApplication] = []
        self._services: dict[str, WSGIApplication] = {}
        self._dispatcher: _Dispatcher | None = None
        self._bodies = BodyCollector()

    @property
    def endpoint_url(self) -> str:
        if self._server is None:
            raise RuntimeError("LocalStack is not started: use it as a context manager or start()")
        return f"http://{LOOPBACK}:{self._server.server_port}"

    def environ(self) -> dict[str, str]:
        """Environment variables that point boto3 (and Airflow's AWS hooks) at this stack."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",  # noqa: S105 - moto's placeholder, not a secret
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            # Host prefixes (MWAA's "<env>.", sagemaker-runtime's none) would leave loopback.
            "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
        }

    def service(self, signing_name: str) -> WSGIApplication:
        """The running application of a project-implemented service (e.g. ``"sagemaker"``)."""
        return self._services[signing_name]

    def client(self, service: str):
        """A boto3 client for ``service`` on this stack."""
        return boto3.session.Session().client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's placeholder
            config=Config(
                retries={"max_attempts": 2, "mode": "standard"}, inject_host_prefix=False
            ),
        )

    def _dispatch(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if self._dispatcher is None:
            raise RuntimeError("LocalStack received a request before it started")
        body = _content_length(environ.get("CONTENT_LENGTH"))

        def start(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            answer = next((v for k, v in headers if k.lower() == "content-length"), None)
            self._bodies.passed(body + _content_length(answer))
            return start_response(status, headers, *args)

        return self._dispatcher(environ, start)

    def start(self) -> LocalStack:
        from moto.moto_api._internal import moto_api_backend
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        self.workdir.mkdir(parents=True, exist_ok=True)
        os.environ.setdefault("MOTO_S3_DEFAULT_KEY_BUFFER_SIZE", str(S3_IN_MEMORY_OBJECT_BYTES))
        return_large_buffers()
        # One access-log line per AWS call drowns the DAG and job logs; keep warnings only.
        access_log = logging.getLogger("werkzeug")
        if access_log.level == logging.NOTSET:
            access_log.setLevel(logging.WARNING)
        # moto keeps its state per process: stacks running side by side in one process share
        # it; the first one to start begins from empty services.
        with _RUNNING_LOCK:
            if not _RUNNING:
                moto_api_backend.reset()
            _RUNNING.add(id(self))
        _load_service_modules()
        # Bind first (port 0 picks a free port): service factories may need endpoint_url.
        server = make_server(
            LOOPBACK, self.port, self._dispatch, threaded=True, request_handler=MotoRequestHandler
        )
        self._server = server
        routes = []
        try:
            for route in _ROUTES:
                routes.append((route, route.factory(self)))
        except BaseException:  # a service that cannot start (bad settings): leave nothing bound
            for _, app in routes:
                getattr(app, "close", lambda: None)()
            server.server_close()
            self._server = None
            with _RUNNING_LOCK:
                _RUNNING.discard(id(self))
            raise
        self._apps = [app for _, app in routes]
        self._services = {}
        for route, app in reversed(routes):  # the first registration of a name is its service
            self._services.setdefault(route.signing_name, app)
        self._dispatcher = _Dispatcher(routes, DomainDispatcherApplication(create_backend_app))
        self._thread = threading.Thread(
            target=server.serve_forever, name="local-stack", daemon=True
        )
        self._thread.start()
        # A caller that exits without stop() must not leave job or server processes behind.
        atexit.register(self.stop)
        LOG.info("local stack serving on %s (workdir %s)", self.endpoint_url, self.workdir)
        return self

    def stop(self) -> None:
        """Stop every job and server process, then the HTTP server. Safe to call twice."""
        if self._server is None:
            return
        atexit.unregister(self.stop)
        for app in self._apps:
            close = getattr(app, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:  # one service failing to close must not keep others running
                    LOG.exception("closing a local stack service failed")
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        with _RUNNING_LOCK:
            _RUNNING.discard(id(self))
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
