"""``medshield backup`` then ``restore`` into an empty database reproduces it exactly.

Real processes on real databases: a demo hospital is loaded into a SQLite file (and a
PostgreSQL database of our own), backed up, restored into a second, empty database, and every
row of every table is compared. A damaged backup and a database already in use are refused.
"""

from __future__ import annotations

import hashlib
import io
import sqlite3
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.safety.conftest import child_env, medshield

PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
PG_SOURCE = "h_safety_backup"
PG_TARGET = "h_safety_restore"

# The command line speaks the default language, Japanese: these are its messages.
IN_USE = "既にデータがあります"  # "the database already holds data"
UNUSABLE = "使用できる medshield のバックアップではありません"  # "is not a usable medshield backup"


def sqlite_rows(path: Path) -> dict[str, tuple[int, str]]:
    """{table: (rows, SHA-256 of the rows in rowid order)} of every table of a SQLite file."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        out = {}
        for table in tables:
            rows = conn.execute(f'SELECT * FROM "{table}" ORDER BY rowid').fetchall()  # noqa: S608
            out[table] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
        return out
    finally:
        conn.close()


@pytest.fixture(scope="module")
def hospital_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder holding the demo hospital (migrated, loaded, with its history)."""
    data = tmp_path_factory.mktemp("source")
    env = child_env(data)
    medshield("migrate", "--no-input", "-v", "0", env=env)
    medshield("demo", "load", env=env)
    return data


def test_backup_then_restore_into_an_empty_database_is_exact(
    hospital_db: Path, tmp_path: Path
) -> None:
    backup = tmp_path / "hospital.backup"
    out = medshield("backup", str(backup), env=child_env(hospital_db)).stdout
    assert "sha256" in out
    assert backup.stat().st_mode & 0o077 == 0, "a backup is readable by its owner only"
    with tarfile.open(backup) as tar:
        assert sorted(tar.getnames()) == ["SHA256SUMS", "database.sqlite3", "manifest.json"]

    target = tmp_path / "empty"
    medshield("restore", str(backup), env=child_env(target))
    source_rows = sqlite_rows(hospital_db / "medshield.sqlite3")
    restored_rows = sqlite_rows(target / "medshield.sqlite3")
    assert source_rows["assets_asset"][0] >= 300
    assert source_rows["core_objectchange"][0] > 0
    assert restored_rows == source_rows

    # The restored database is a working medshield: nothing left to migrate, the check passes.
    plan = medshield("migrate", "--plan", env=child_env(target)).stdout
    assert "No planned migration operations" in plan


def test_a_database_in_use_is_not_overwritten_without_force(
    hospital_db: Path, tmp_path: Path
) -> None:
    backup = tmp_path / "hospital.backup"
    medshield("backup", str(backup), env=child_env(hospital_db))
    target = tmp_path / "in-use"
    env = child_env(target)
    medshield("migrate", "--no-input", "-v", "0", env=env)
    medshield("createuser", "someone", env={**env, "MEDSHIELD_PASSWORD": "a-long-password-1"})
    before = sqlite_rows(target / "medshield.sqlite3")
    refused = medshield("restore", str(backup), env=env, check=False)
    assert refused.returncode != 0
    assert IN_USE in refused.stderr and "--force" in refused.stderr
    assert sqlite_rows(target / "medshield.sqlite3") == before
    medshield("restore", str(backup), "--force", env=env)
    assert sqlite_rows(target / "medshield.sqlite3") == sqlite_rows(
        hospital_db / "medshield.sqlite3"
    )


def _rewrite_member(source: Path, target: Path, name: str, change: object) -> None:
    with tarfile.open(source) as old, tarfile.open(target, "w") as new:
        for member in old.getmembers():
            data = old.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == name:
                data = change(data)  # type: ignore[operator]
                member.size = len(data)
            new.addfile(member, io.BytesIO(data))


def _flip(offset_fraction: float) -> object:
    def change(data: bytes) -> bytes:
        at = int(len(data) * offset_fraction)
        return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]

    return change


@pytest.mark.parametrize(
    ("member", "change", "words"),
    [
        # "the database copy does not match its SHA-256 checksum", "the manifest does not
        # match its checksum"
        ("database.sqlite3", _flip(0.5), "SHA-256 チェックサムと一致しません"),
        ("manifest.json", lambda d: d.replace(b'"vendor"', b'"vendoR"'), "マニフェストが"),
        ("SHA256SUMS", lambda d: b"0" * 64 + d[64:], "マニフェストが"),
    ],
    ids=["payload", "manifest", "sums"],
)
def test_a_damaged_backup_is_refused_and_changes_nothing(
    hospital_db: Path, tmp_path: Path, member: str, change: object, words: str
) -> None:
    good = tmp_path / "good.backup"
    medshield("backup", str(good), env=child_env(hospital_db))
    bad = tmp_path / "bad.backup"
    _rewrite_member(good, bad, member, change)
    target = tmp_path / "target"
    env = child_env(target)
    medshield("migrate", "--no-input", "-v", "0", env=env)
    before = sqlite_rows(target / "medshield.sqlite3")
    refused = medshield("restore", str(bad), env=env, check=False)
    assert refused.returncode != 0
    assert UNUSABLE in refused.stderr
    assert words in refused.stderr
    assert sqlite_rows(target / "medshield.sqlite3") == before


def test_a_truncated_or_foreign_file_is_refused(hospital_db: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.backup"
    medshield("backup", str(good), env=child_env(hospital_db))
    data = good.read_bytes()
    env = child_env(tmp_path / "target")
    for name, content in (("cut", data[: len(data) // 2]), ("text", b"hello\n" * 100)):
        path = tmp_path / name
        path.write_bytes(content)
        refused = medshield("restore", str(path), env=env, check=False)
        assert refused.returncode != 0
        assert UNUSABLE in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr


# --- PostgreSQL ------------------------------------------------------------------------------


def _pg_admin() -> object:
    psycopg = pytest.importorskip("psycopg")
    try:
        return psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")


@pytest.fixture
def pg_databases() -> Iterator[tuple[str, str]]:
    admin = _pg_admin()
    for name in (PG_SOURCE, PG_TARGET):
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[attr-defined]
        admin.execute(f'CREATE DATABASE "{name}"')  # type: ignore[attr-defined]
    try:
        yield (
            f"postgres://postgres@127.0.0.1:5432/{PG_SOURCE}",
            f"postgres://postgres@127.0.0.1:5432/{PG_TARGET}",
        )
    finally:
        for name in (PG_SOURCE, PG_TARGET):
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[attr-defined]
        admin.close()  # type: ignore[attr-defined]


def pg_rows(url: str, *, sequences: bool = True) -> dict[str, tuple[int, str]]:
    """{table: (rows, SHA-256 of the sorted rows)}, and the sequences' positions if asked."""
    import psycopg

    out = {}
    with psycopg.connect(url) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        for table in tables:
            rows = conn.execute(f'SELECT * FROM "{table}"').fetchall()  # noqa: S608
            rows.sort(key=repr)
            out[table] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
        if sequences:
            positions = conn.execute(
                "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'"
            ).fetchall()
            out["sequences"] = (len(positions), repr(sorted(positions)))
    return out


def test_postgresql_backup_then_restore_is_exact(
    pg_databases: tuple[str, str], tmp_path: Path
) -> None:
    source, target = pg_databases
    env = child_env(tmp_path / "src", source)
    medshield("migrate", "--no-input", "-v", "0", env=env)
    medshield("demo", "load", env=env)
    backup = tmp_path / "pg.backup"
    medshield("backup", str(backup), env=env)
    with tarfile.open(backup) as tar:
        assert "database.pgdump" in tar.getnames()
    medshield("restore", str(backup), env=child_env(tmp_path / "dst", target))
    expected = pg_rows(source)
    assert expected["assets_asset"][0] >= 300
    assert pg_rows(target) == expected
    # A second restore into the now full database is refused.
    again = medshield("restore", str(backup), env=child_env(tmp_path / "dst", target), check=False)
    assert again.returncode != 0 and IN_USE in again.stderr


def _page_size(path: Path) -> tuple[int, str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return (
            conn.execute("PRAGMA page_size").fetchone()[0],
            conn.execute("PRAGMA journal_mode").fetchone()[0],
        )
    finally:
        conn.close()


def _with_small_pages(source: Path, data: Path) -> Path:
    """A copy of the register in ``data`` with SQLite's default 4 KiB pages, as registers made
    before they had 16 KiB ones are."""
    data.mkdir()
    copy = data / "medshield.sqlite3"
    conn = sqlite3.connect(source / "medshield.sqlite3")
    conn.execute("VACUUM INTO ?", [str(copy)])
    conn.close()
    conn = sqlite3.connect(copy)
    conn.execute("PRAGMA page_size = 4096")
    conn.execute("VACUUM")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    assert _page_size(copy) == (4096, "wal")
    return copy


def test_a_backup_restores_whatever_the_page_sizes(hospital_db: Path, tmp_path: Path) -> None:
    """A register made before new ones had 16 KiB pages keeps its 4 KiB pages: its backups
    restore into a new register (and a new register's into it), taking the backup's page size,
    back in WAL mode."""
    old = _with_small_pages(hospital_db, tmp_path / "old")
    rows = sqlite_rows(old)
    old_backup, new_backup = tmp_path / "old.backup", tmp_path / "new.backup"
    medshield("backup", str(old_backup), env=child_env(old.parent))
    medshield("backup", str(new_backup), env=child_env(hospital_db))

    fresh = tmp_path / "fresh"
    medshield("restore", str(old_backup), env=child_env(fresh))
    assert sqlite_rows(fresh / "medshield.sqlite3") == rows
    assert _page_size(fresh / "medshield.sqlite3") == (4096, "wal")

    medshield("restore", str(new_backup), "--force", env=child_env(old.parent))
    assert sqlite_rows(old) == sqlite_rows(hospital_db / "medshield.sqlite3")
    assert _page_size(old) == (16384, "wal")
