"""Local mode only: a throwaway PostgreSQL 15 server for Airflow's metadata DB.

``with postgres_server(directory) as url:`` initialises a cluster under ``directory/data`` (kept
between runs), starts ``postgres`` listening on a unix socket only (``listen_addresses=''``: no
TCP port at all), creates the ``airflow`` role and database, yields the SQLAlchemy URL and stops
the server on the way out (fast shutdown, as ``pg_ctl stop -m fast``; SIGKILL to its process group
if it hangs) — also on errors and Ctrl-C. Nothing here is used on MWAA.

Access control is the socket directory: it is owned by the server's user, mode 0700, and the
socket itself is 0700, so only that user (and root) can connect; authentication is ``trust`` on
that socket, so no password exists to leak. PostgreSQL refuses to run as root: as root, the
server runs as an unprivileged user (``postgres`` where the system has one, else ``nobody``) that
owns the data and socket directories.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_BIN_DIR = Path("/usr/lib/postgresql/15/bin")
BINARIES = ("initdb", "postgres")
DATABASE = "airflow"
ROLE = "airflow"
SUPERUSER = "postgres"
PORT = 5432  # only names the socket file (.s.PGSQL.5432); no TCP listener exists
# A unix socket path (sun_path) holds at most 107 bytes plus the terminating NUL.
MAX_SOCKET_PATH = 107
UNPRIVILEGED_USERS = ("postgres", "nobody")

# Tuned for a 2-core laptop/CI runner holding throwaway data. fsync, synchronous_commit and
# full_page_writes are off: a crash may lose or corrupt the local metadata DB, which is fine
# for local mode (delete the directory and start again) and never acceptable for real data.
# max_connections: scheduler, triggerer, dag-processor and api-server each keep a SQLAlchemy
# pool (5 + 10 overflow by default) and `airflow` CLI calls add their own; 100 leaves headroom.
SETTINGS = {
    "listen_addresses": "",
    "port": str(PORT),
    "unix_socket_permissions": "0700",
    "max_connections": "100",
    "shared_buffers": "32MB",
    "work_mem": "4MB",
    "maintenance_work_mem": "32MB",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "huge_pages": "off",
    "log_min_messages": "warning",
    "logging_collector": "off",
}


class PostgresError(RuntimeError):
    """The local PostgreSQL server could not be set up, started or stopped."""


@dataclass(frozen=True)
class RunAs:
    """The OS user the server runs as (``None`` fields: the caller's own user)."""

    name: str
    uid: int | None
    gid: int | None


def check_binaries(bin_dir: Path) -> None:
    """One clear error when PostgreSQL 15's server programs are not where they should be."""
    missing = [name for name in BINARIES if not os.access(bin_dir / name, os.X_OK)]
    if missing:
        raise PostgresError(
            f"PostgreSQL 15 server programs not found: {', '.join(missing)} missing in {bin_dir}. "
            "Install PostgreSQL 15 (Debian/Ubuntu: apt-get install postgresql-15) or pass the "
            "directory holding initdb and postgres."
        )


def run_as_user(name: str | None = None) -> RunAs:
    """The caller when not root; as root, ``name`` or the first unprivileged user that exists."""
    if os.geteuid() != 0:
        return RunAs(pwd.getpwuid(os.geteuid()).pw_name, None, None)
    for candidate in [name] if name else UNPRIVILEGED_USERS:
        try:
            entry = pwd.getpwnam(candidate)
        except KeyError:
            continue
        if entry.pw_uid == 0:
            raise PostgresError(f"PostgreSQL cannot run as {candidate!r}: it is a root account")
        return RunAs(candidate, entry.pw_uid, entry.pw_gid)
    raise PostgresError(
        f"running as root and no unprivileged user to run PostgreSQL as: none of "
        f"{', '.join([name] if name else UNPRIVILEGED_USERS)} exists (create one, or pass run_as=)"
    )


def _check_reachable(path: Path, user: RunAs) -> None:
    """Every directory above ``path`` must be searchable by the server's user."""
    if user.uid is None:
        return
    for parent in path.parents:
        info = parent.stat()
        if info.st_uid == user.uid:
            bit = 0o100
        elif info.st_gid == user.gid:
            bit = 0o010
        else:
            bit = 0o001
        if not info.st_mode & bit:
            raise PostgresError(
                f"PostgreSQL runs as {user.name!r}, which cannot reach {path}: {parent} is not "
                f"searchable by it (mode {oct(info.st_mode & 0o777)}); choose a data directory "
                "under a world-searchable path (e.g. under /tmp or the repository)"
            )


def _own(path: Path, user: RunAs) -> None:
    path.mkdir(parents=True, exist_ok=True)
    if user.uid is not None:
        os.chown(path, user.uid, user.gid if user.gid is not None else -1)
    path.chmod(0o700)


def _socket_dir(directory: Path, user: RunAs) -> tuple[Path, bool]:
    """``directory/socket``, or a short fresh directory under /tmp when that path is too long."""
    preferred = directory / "socket"
    if len(str(preferred / f".s.PGSQL.{PORT}").encode()) <= MAX_SOCKET_PATH:
        _own(preferred, user)
        return preferred, False
    short = Path(tempfile.mkdtemp(prefix="mlops-pg-", dir="/tmp"))  # mode 0700
    _own(short, user)
    return short, True


def _extra_groups(user: RunAs) -> list[int] | None:
    """No supplementary groups (root's) for the server's user; the caller's own otherwise."""
    return None if user.uid is None else []


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _connect(socket_dir: Path, user: str, dbname: str) -> Any:
    import psycopg2  # type: ignore[import-untyped]

    return psycopg2.connect(host=str(socket_dir), port=PORT, user=user, dbname=dbname)


def _initdb(bin_dir: Path, data: Path, user: RunAs, log: Path) -> None:
    with log.open("ab") as out:
        done = subprocess.run(  # noqa: S603 - PostgreSQL's own initdb
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                SUPERUSER,
                "--auth-local=trust",
                "--auth-host=reject",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd="/",
            user=user.uid,
            group=user.gid,
            extra_groups=_extra_groups(user),
        )
    if done.returncode != 0:
        raise PostgresError(f"initdb failed for {data}; see {log}:\n{_tail(log)}")


def _wait_ready(process: subprocess.Popen[bytes], socket_dir: Path, log: Path, timeout: float):
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise PostgresError(
                f"PostgreSQL exited with code {process.returncode} at start; see {log}:\n"
                f"{_tail(log)}"
            )
        try:
            _connect(socket_dir, SUPERUSER, "postgres").close()
            return
        except Exception:  # noqa: BLE001 - psycopg2.OperationalError until it accepts connections
            if time.monotonic() > deadline:
                raise PostgresError(
                    f"PostgreSQL did not accept connections on {socket_dir} within {timeout:.0f}s; "
                    f"see {log}:\n{_tail(log)}"
                ) from None
            time.sleep(0.2)


def _create_airflow_db(socket_dir: Path) -> None:
    connection = _connect(socket_dir, SUPERUSER, "postgres")
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (ROLE,))
            if cursor.fetchone() is None:
                cursor.execute(f"CREATE ROLE {ROLE} LOGIN")
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
            if cursor.fetchone() is None:
                cursor.execute(f"CREATE DATABASE {DATABASE} OWNER {ROLE}")
    finally:
        connection.close()


def stop(process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Fast shutdown (SIGINT, what ``pg_ctl stop -m fast`` sends), SIGKILL to the group if stuck."""
    if process.poll() is None:
        try:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # backends left by a crashed postmaster
    except ProcessLookupError:
        pass
    process.wait()


def sqlalchemy_url(socket_dir: Path) -> str:
    return f"postgresql+psycopg2://{ROLE}@/{DATABASE}?host={socket_dir}&port={PORT}"


@contextmanager
def postgres_server(
    directory: Path | str | None = None,
    *,
    bin_dir: Path | str = DEFAULT_BIN_DIR,
    run_as: str | None = None,
    start_timeout: float = 60.0,
) -> Iterator[str]:
    """Run PostgreSQL with its data in ``directory``; yields the Airflow SQLAlchemy URL.

    ``directory`` holds ``data/`` (the cluster, reused when it exists), ``postgres.log`` and
    ``socket/`` (or a short directory under /tmp when that socket path would be too long).
    ``directory=None``: a fresh directory under /tmp, removed afterwards (for tests). ``run_as``
    picks the unprivileged user when called as root.
    """
    bin_dir = Path(bin_dir)
    check_binaries(bin_dir)
    if directory is None:
        scratch = Path(tempfile.mkdtemp(prefix="mlops-pg-", dir="/tmp"))
        scratch.chmod(0o711)  # searchable (not listable) by the server's user
        try:
            with postgres_server(
                scratch, bin_dir=bin_dir, run_as=run_as, start_timeout=start_timeout
            ) as url:
                yield url
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return
    directory = Path(directory).resolve()
    user = run_as_user(run_as)
    directory.mkdir(parents=True, exist_ok=True)
    _check_reachable(directory / "data", user)
    data = directory / "data"
    log = directory / "postgres.log"
    if not (data / "PG_VERSION").exists():
        if data.exists() and any(data.iterdir()):
            raise PostgresError(f"{data} is neither empty nor a PostgreSQL data directory")
        _own(data, user)
        _initdb(bin_dir, data, user, log)
    elif user.uid is not None and data.stat().st_uid != user.uid:
        raise PostgresError(f"{data} belongs to uid {data.stat().st_uid}, not {user.name!r}")
    socket_dir, temporary_socket_dir = _socket_dir(directory, user)
    settings = SETTINGS | {"unix_socket_directories": str(socket_dir)}
    options = [part for name, value in settings.items() for part in ("-c", f"{name}={value}")]
    out = log.open("ab")
    try:
        process = subprocess.Popen(  # noqa: S603 - PostgreSQL's own server
            [str(bin_dir / "postgres"), "-D", str(data), *options],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd="/",
            start_new_session=True,  # its own group: Ctrl-C reaches us, we stop it in order
            user=user.uid,
            group=user.gid,
            extra_groups=_extra_groups(user),
        )
        try:
            _wait_ready(process, socket_dir, log, start_timeout)
            _create_airflow_db(socket_dir)
            yield sqlalchemy_url(socket_dir)
        finally:
            stop(process)
    finally:
        out.close()
        if temporary_socket_dir:
            shutil.rmtree(socket_dir, ignore_errors=True)
