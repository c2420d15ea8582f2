"""An import killed with SIGKILL half-way leaves the database exactly as it was.

A real ``medshield register import`` of a large register runs in a child process against a
database file (and a PostgreSQL database of our own). Once it is demonstrably writing (it has
reported the assets stage done and holds the write lock) it is killed without warning; every
row of every table must then be as before, and importing the same file again must succeed.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from medshield.demo.generator import build_demo_document
from tests.safety.conftest import MEDSHIELD, child_env, medshield
from tests.safety.test_backup import pg_rows, sqlite_rows

PG_DB = "h_safety_kill"

#: assets in the file that is killed half-way: big enough to take seconds to write
BIG = 3_000


@pytest.fixture(scope="module")
def big_register(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "register.json"
    path.write_text(json.dumps(build_demo_document(assets=BIG, seed=2)), encoding="utf-8")
    return path


def _kill_mid_import(env: dict[str, str], path: Path, writing: Callable[[], bool]) -> str:
    """Start the import, wait for the assets stage and the held write lock, SIGKILL it."""
    child = subprocess.Popen(
        [*MEDSHIELD, "register", "import", str(path)],
        env={**env, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert child.stderr is not None
    seen = b""
    deadline = time.monotonic() + 240
    try:
        while b"assets: " not in seen:
            if time.monotonic() > deadline or child.poll() is not None:
                pytest.fail(f"the import did not reach its assets stage: {seen.decode()}")
            ready, _, _ = select.select([child.stderr], [], [], 1)
            if ready:
                seen += os.read(child.stderr.fileno(), 65536)
        assert writing(), "the import should be holding its write transaction"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL, "the import finished before it was killed"
    return seen.decode()


def test_sqlite_import_killed_midway_changes_nothing(big_register: Path, tmp_path: Path) -> None:
    env = child_env(tmp_path)
    medshield("migrate", "--no-input", "-v", "0", env=env)
    medshield("demo", "load", env=env)  # a register that is not empty, so "unchanged" matters
    db = tmp_path / "medshield.sqlite3"
    before = sqlite_rows(db)

    def writing() -> bool:
        probe = sqlite3.connect(db, timeout=0)
        try:
            probe.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            return "locked" in str(exc)
        else:
            probe.rollback()
            return False
        finally:
            probe.close()

    progress = _kill_mid_import(env, big_register, writing)
    assert "validate: 1/1" in progress
    assert sqlite_rows(db) == before
    integrity = sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone()[0]
    assert integrity == "ok"

    medshield("register", "import", str(big_register), env=env, timeout=600)
    count = sqlite3.connect(db).execute("SELECT COUNT(*) FROM assets_asset").fetchone()[0]
    assert count >= BIG


@pytest.fixture
def pg_database() -> Iterator[str]:
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(
            "postgres://postgres@127.0.0.1:5432/postgres", autocommit=True, connect_timeout=3
        )
    except psycopg.OperationalError:
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    admin.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
    admin.execute(f'CREATE DATABASE "{PG_DB}"')
    try:
        yield f"postgres://postgres@127.0.0.1:5432/{PG_DB}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
        admin.close()


def test_postgresql_import_killed_midway_changes_nothing(
    big_register: Path, tmp_path: Path, pg_database: str
) -> None:
    import psycopg

    env = child_env(tmp_path, pg_database)
    medshield("migrate", "--no-input", "-v", "0", env=env)
    medshield("demo", "load", env=env)
    # Sequences are not transactional: a rolled-back insert still uses up its ids.
    before = pg_rows(pg_database, sequences=False)

    def writing() -> bool:
        with psycopg.connect(pg_database) as probe:
            held = probe.execute(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "WHERE c.relname = 'assets_asset' AND l.mode = 'ShareRowExclusiveLock' "
                "AND l.granted"
            ).fetchone()
        return bool(held and held[0])

    _kill_mid_import(env, big_register, writing)
    # The server notices the dead client and rolls its transaction back.
    for _ in range(100):
        if not writing():
            break
        time.sleep(0.1)
    assert pg_rows(pg_database, sequences=False) == before
    medshield("register", "import", str(big_register), env=env, timeout=600)
    with psycopg.connect(pg_database) as conn:
        count = conn.execute("SELECT COUNT(*) FROM assets_asset").fetchone()[0]  # type: ignore[index]
    assert count >= BIG
