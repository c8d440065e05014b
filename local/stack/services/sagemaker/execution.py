"""Running an image's command as a local process against a relocated /opt/ml, and the I/O
around it: S3 transfers, CloudWatch Logs streams, SageMaker's config files."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import tarfile
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from .images import Launch

LOG = logging.getLogger(__name__)
CONTAINER_ROOT = "/opt/ml"
# What a process inherits from the stack's environment; everything else comes from the job.
INHERITED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ", "SYSTEMROOT")


def split_s3_uri(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"not an s3:// URI: {uri!r}")
    return parsed.netloc, parsed.path.lstrip("/")


def relocate(container_path: str, opt_ml: Path) -> Path:
    """A container path under /opt/ml → the same path under the job's relocated root."""
    if container_path == CONTAINER_ROOT or container_path.startswith(CONTAINER_ROOT + "/"):
        return opt_ml / container_path[len(CONTAINER_ROOT) :].lstrip("/")
    raise ValueError(f"local path {container_path!r} is outside {CONTAINER_ROOT}")


def download_prefix(s3: Any, uri: str, destination: Path) -> list[Path]:
    """Download every object whose key starts with the URI's key (S3Prefix semantics) into
    ``destination``, keeping the key's path below the prefix. Raises if nothing matches."""
    bucket, prefix = split_s3_uri(uri)
    destination.mkdir(parents=True, exist_ok=True)
    written = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            key = obj["Key"]
            if key.endswith("/"):
                continue
            relative = key[len(prefix) :].lstrip("/") or key.rsplit("/", 1)[-1]
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, key, str(target))
            written.append(target)
    if not written:
        raise FileNotFoundError(f"no S3 objects under {uri}")
    return written


def upload_file(s3: Any, path: Path, uri: str, kms_key_id: str | None = None) -> None:
    bucket, key = split_s3_uri(uri)
    extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id} if kms_key_id else {}
    s3.upload_file(str(path), bucket, key, ExtraArgs=extra or None)


def upload_directory(s3: Any, directory: Path, uri: str, kms_key_id: str | None = None) -> int:
    """Upload every file under ``directory`` to ``uri`` + relative path; returns the count."""
    count = 0
    base = uri.rstrip("/")
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            upload_file(s3, path, f"{base}/{path.relative_to(directory).as_posix()}", kms_key_id)
            count += 1
    return count


def make_tarball(directory: Path, tarball: Path) -> Path:
    """``model.tar.gz`` as SageMaker packs /opt/ml/model: the directory's contents at the root."""
    with tarfile.open(tarball, "w:gz") as archive:
        for path in sorted(directory.iterdir()):
            archive.add(path, arcname=path.name)
    return tarball


def extract_tarball(tarball: Path, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball, "r:gz") as archive:
        archive.extractall(directory, filter="data")


def write_json(path: Path, payload: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=str))


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LogStream:
    """One CloudWatch Logs stream, written in batches (and to a local file beside the job)."""

    def __init__(self, logs: Any, group: str, stream: str, local_file: Path | None = None):
        self.logs = logs
        self.group = group
        self.stream = stream
        self.local_file = local_file
        self._pending: list[dict[str, Any]] = []
        self._last_flush = time.monotonic()
        self._lock = threading.Lock()
        try:
            logs.create_log_group(logGroupName=group)
        except logs.exceptions.ResourceAlreadyExistsException:
            pass
        try:
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
        except logs.exceptions.ResourceAlreadyExistsException:
            pass
        if local_file is not None:
            local_file.parent.mkdir(parents=True, exist_ok=True)
        _watch(self)

    def write(self, line: str) -> None:
        with self._lock:
            # CloudWatch Logs rejects empty messages; keep the blank line visible.
            message = line or " "
            self._pending.append({"timestamp": int(time.time() * 1000), "message": message})
            if self.local_file is not None:
                with self.local_file.open("a") as handle:
                    handle.write(line + "\n")
            if len(self._pending) >= 100 or time.monotonic() - self._last_flush > 1.0:
                self._flush_locked()

    def flush_if_stale(self) -> None:
        """Flush lines that waited more than a second (a quiet job's last lines)."""
        with self._lock:
            if self._pending and time.monotonic() - self._last_flush > 1.0:
                self._flush_locked()

    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        if self._pending:
            try:
                self.logs.put_log_events(
                    logGroupName=self.group, logStreamName=self.stream, logEvents=self._pending
                )
            except Exception:  # lost log lines must not stop the job; the local file has them
                LOG.exception("writing to %s %s failed", self.group, self.stream)
            self._pending = []
        self._last_flush = time.monotonic()


_WATCHED: weakref.WeakSet[LogStream] = weakref.WeakSet()
_WATCH_LOCK = threading.Lock()
_watcher: threading.Thread | None = None


def _watch(stream: LogStream) -> None:
    """Have one background thread flush every stream's stale lines, so a job that prints
    rarely still shows its output in CloudWatch Logs within about a second."""
    global _watcher
    with _WATCH_LOCK:
        _WATCHED.add(stream)
        if _watcher is None or not _watcher.is_alive():
            _watcher = threading.Thread(
                target=_flush_stale_streams, name="log-flusher", daemon=True
            )
            _watcher.start()


def _flush_stale_streams() -> None:
    while True:
        time.sleep(1.0)
        for stream in list(_WATCHED):
            try:
                stream.flush_if_stale()
            except Exception:  # a stream whose stack has gone must not stop the others
                LOG.debug("flushing %s failed", stream.stream, exc_info=True)


class ContainerProcess:
    """An image command running as a process group, its output fed line by line to ``on_line``."""

    def __init__(
        self,
        launch: Launch,
        *,
        ml_python: str,
        opt_ml: Path,
        environment: dict[str, str],
        arguments: list[str],
        on_line: Callable[[str], None],
        cwd: Path,
    ):
        env = {name: os.environ[name] for name in INHERITED_ENV if name in os.environ}
        env.update(environment)
        env["PYTHONPATH"] = os.pathsep.join(launch.pythonpath)
        env["OPT_ML_DIR"] = str(opt_ml)
        env["PYTHONUNBUFFERED"] = "1"
        self.on_line = on_line
        self.process = subprocess.Popen(
            [ml_python, "-m", launch.module, *arguments],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,  # its own process group: a stop reaches its children too
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.on_line(line.rstrip("\n"))

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    @property
    def pid(self) -> int | None:
        """The process id while it runs (fault-injection tests kill it), else None."""
        return self.process.pid if self.running else None

    def wait(self, timeout: float | None = None) -> int | None:
        """The exit code, or None if still running after ``timeout`` seconds."""
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        self._reader.join(timeout=5)
        return code

    def terminate(self, grace_seconds: float) -> int:
        """SIGTERM to the process group, SIGKILL after ``grace_seconds``; returns the exit code."""
        self._signal(signal.SIGTERM)
        code = self.wait(grace_seconds)
        if code is None:
            self._signal(signal.SIGKILL)
            code = self.wait()
        return code if code is not None else -signal.SIGKILL

    def _signal(self, signum: int) -> None:
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            pass
