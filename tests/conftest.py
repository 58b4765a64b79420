"""Shared fixtures: a throwaway PostgreSQL cluster per test session and store URLs.

``db_url`` is parametrized over SQLite and PostgreSQL, so every store test runs on both. The
PostgreSQL cluster is created with ``initdb``/``pg_ctl`` (as the ``postgres`` user via
``runuser`` when the tests run as root, because initdb refuses root), with trust auth on a
random free port and its socket in a temporary directory; it is stopped at session end. Each
test gets a fresh database in it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_USER = "territory"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres_user(args: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return args
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.skip("running as root and runuser is missing: cannot start PostgreSQL as postgres")
    return [runuser, "-u", "postgres", "--", *args]


def _missing_pg_binaries() -> str | None:
    missing = [name for name in ("initdb", "pg_ctl", "postgres") if shutil.which(name) is None]
    return ", ".join(missing) or None


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """URL prefix ``postgresql+psycopg://territory@127.0.0.1:PORT`` of a throwaway cluster."""
    missing = _missing_pg_binaries()
    if missing:
        pytest.skip(f"PostgreSQL server binaries not on PATH ({missing}): install PostgreSQL")
    folder = Path(tempfile.mkdtemp(prefix="territory-pg-"))
    folder.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(folder, user="postgres")
    data, port = folder / "data", _free_port()
    run = dict(check=True, capture_output=True, text=True, timeout=120)
    subprocess.run(
        _as_postgres_user(["initdb", "-D", str(data), "-A", "trust", "-U", PG_USER, "--no-sync",
                           "-E", "UTF8"]), **run)
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        _as_postgres_user(["pg_ctl", "-D", str(data), "-w", "-l", str(folder / "log"), "-o",
                           options, "start"]), **run)
    try:
        yield f"postgresql+psycopg://{PG_USER}@127.0.0.1:{port}"
    finally:
        subprocess.run(
            _as_postgres_user(["pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop"]),
            capture_output=True, timeout=120,
        )
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database in the session's cluster (dropped afterwards)."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    dsn = postgres_server.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(f"{dsn}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{postgres_server}/{name}"
    with psycopg.connect(f"{dsn}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file store in the test's temporary directory."""
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """A fresh store URL, once on SQLite and once on a real PostgreSQL."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))
