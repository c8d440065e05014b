"""local/postgres.py: a real PostgreSQL 15, unprivileged, socket only, stopped without leftovers."""

import os
import stat
from pathlib import Path

import psutil
import pytest
import sqlalchemy

from local.postgres import PostgresError, postgres_server


def _postmaster(data: Path) -> psutil.Process:
    return psutil.Process(int((data / "postmaster.pid").read_text().splitlines()[0]))


def _uid_and_inet_sockets(process: psutil.Process) -> tuple[int, int] | None:
    try:
        return process.uids().real, len(process.net_connections(kind="inet"))
    except psutil.NoSuchProcess:
        return None


def _processes_using(path: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if str(path) in " ".join(process.info["cmdline"] or []):
            found.append(process)
    return found


def _query(url: str, sql: str):
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.begin() as connection:
            result = connection.execute(sqlalchemy.text(sql))
            return result.scalar() if result.returns_rows else None
    finally:
        engine.dispose()


def test_runs_unprivileged_on_a_private_socket_only_and_stops_cleanly(scratch):
    directory = scratch / "pg"
    with postgres_server(directory) as url:
        assert _query(url, "SHOW listen_addresses") == ""
        assert _query(url, "SELECT current_user") == "airflow"
        postmaster = _postmaster(directory / "data")
        tree = [postmaster, *postmaster.children(recursive=True)]  # its background workers
        expected_uid = os.getuid() if os.getuid() != 0 else directory.joinpath("data").stat().st_uid
        assert expected_uid != 0
        seen = [_uid_and_inet_sockets(p) for p in tree]  # a closing backend may be gone: None
        assert {entry for entry in seen if entry is not None} == {(expected_uid, 0)}
        assert seen[0] is not None
        socket_dir = directory / "socket"
        info = socket_dir.stat()
        assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (expected_uid, 0o700)
    assert not any(p.is_running() for p in tree)
    assert _processes_using(directory) == []


def test_keeps_its_data_between_runs(scratch):
    with postgres_server(scratch / "pg") as url:
        _query(url, "CREATE TABLE kept AS SELECT 'from the first run' AS note")
    with postgres_server(scratch / "pg") as url:
        assert _query(url, "SELECT note FROM kept") == "from the first run"


def test_a_long_directory_gets_a_short_socket_directory(scratch):
    directory = scratch.joinpath(*["d" * 30] * 4) / "pg"
    assert len(str(directory / "socket" / ".s.PGSQL.5432")) > 107
    with postgres_server(directory) as url:
        socket_dir = Path(url.split("host=")[1].split("&")[0])
        assert socket_dir.parent == Path("/tmp")
        assert _query(url, "SELECT 1") == 1
    assert not socket_dir.exists()


def test_stops_on_an_error_inside_the_block(scratch):
    directory = scratch / "pg"
    with pytest.raises(KeyboardInterrupt), postgres_server(directory):
        postmaster = _postmaster(directory / "data")
        raise KeyboardInterrupt
    assert not postmaster.is_running()


def test_missing_binaries_give_one_clear_error(scratch):
    nowhere = scratch / "no-postgres-here"
    with pytest.raises(PostgresError) as raised, postgres_server(scratch / "pg", bin_dir=nowhere):
        pass
    assert str(raised.value).startswith(
        f"PostgreSQL 15 server programs not found: initdb, postgres missing in {nowhere}."
    )
    assert not (scratch / "pg").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the server to another user")
def test_a_directory_the_server_user_cannot_reach_is_named(tmp_path):
    # pytest's base temp dir is 0700 root: the unprivileged server user cannot traverse it
    with pytest.raises(PostgresError, match="cannot reach") as raised:
        with postgres_server(tmp_path / "pg"):
            pass
    assert str(tmp_path / "pg" / "data") in str(raised.value)
