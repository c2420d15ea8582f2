"""Consistent online backups of the whole database, and their verified restore.

A backup is one tar file holding three members:

* ``database.sqlite3`` (SQLite, copied with the online backup API, so writers may go on) or
  ``database.pgdump`` (PostgreSQL, ``pg_dump --format=custom`` run inside a snapshot exported
  from a REPEATABLE READ transaction);
* ``manifest.json``: format, database vendor, the applied migrations (the schema version), the
  row count of every table as of the same snapshot, and the SHA-256 of the payload;
* ``SHA256SUMS``: the SHA-256 of the manifest and of the payload, so that a damaged or edited
  backup is refused before anything is touched.

Restoring verifies the checksums, refuses a backup made by a newer medshield (migrations this
code does not know) and a database that already holds data (unless forced), restores, and then
counts every table again against the manifest. Backups hold the hospital's map of weak points,
so they are written owner-only (0600).
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.apps import apps
from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader
from django.utils.translation import gettext as _

FORMAT = "medshield-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
PAYLOADS = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}

#: the largest manifest accepted (a real one is a few KB)
_MAX_MANIFEST = 4 * 1024 * 1024

#: tables migrate fills by itself: rows there do not make a database "in use"
_FILLED_BY_MIGRATE = {"auth_group", "auth_permission", "auth_group_permissions"}


class BackupError(Exception):
    """The backup or restore was refused or failed; the message says why."""


@dataclass(frozen=True)
class BackupInfo:
    """What a backup holds, as its manifest says."""

    path: Path
    vendor: str
    created: str
    migrations: list[tuple[str, str]]
    counts: dict[str, int]
    sha256: str

    @property
    def rows(self) -> int:
        return sum(self.counts.values())


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _applied_migrations() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        if "django_migrations" not in connection.introspection.table_names(cursor):
            return []
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
        return [(str(app), str(name)) for app, name in cursor.fetchall()]


def _count_tables(conn: Any, tables: list[str], quote: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    cursor = conn.cursor()
    try:
        for table in sorted(tables):
            cursor.execute(f"SELECT COUNT(*) FROM {quote(table)}")  # noqa: S608 - our tables
            counts[table] = int(cursor.fetchone()[0])
    finally:
        cursor.close()
    return counts


def _sqlite_quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sqlite_tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ).fetchall()
    return [str(r[0]) for r in rows]


def _pg_env() -> dict[str, str]:
    """Environment for pg_dump/pg_restore: the connection settings, password not on argv."""
    settings_dict = connection.settings_dict
    env = dict(os.environ)
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER")):
        if settings_dict.get(key):
            env[var] = str(settings_dict[key])
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = str(settings_dict["PASSWORD"])
    env["PGDATABASE"] = str(settings_dict["NAME"])
    return env


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            _("{tool} is not installed; it is needed to back up or restore PostgreSQL").format(
                tool=name
            )
        )
    return found


def _check_pg_versions(tool: str) -> None:
    """pg_dump refuses a newer server; say so plainly before it does."""
    out = subprocess.run([tool, "--version"], capture_output=True, text=True, check=True).stdout
    tool_major = int(out.split()[-1].split(".")[0])
    connection.ensure_connection()
    server_major = connection.connection.info.server_version // 10000
    if tool_major < server_major:
        raise BackupError(
            _(
                "{tool} is version {tool_major} but the server is PostgreSQL {server}; install "
                "the client tools of version {server} or later"
            ).format(tool=Path(tool).name, tool_major=tool_major, server=server_major)
        )


def _dump_sqlite(payload: Path) -> dict[str, int]:
    connection.ensure_connection()
    source: sqlite3.Connection = connection.connection  # type: ignore[assignment]
    target = sqlite3.connect(payload)
    try:
        # One step (pages=-1): the copy is of a single moment even while others write.
        source.backup(target)
        # A self-contained file (no -wal/-shm beside it), readable read-only at restore.
        target.execute("PRAGMA journal_mode=DELETE")
    finally:
        target.close()
    copy = sqlite3.connect(f"file:{payload}?mode=ro", uri=True)
    try:
        return _count_tables(copy, _sqlite_tables(copy), _sqlite_quote)
    finally:
        copy.close()


def _dump_postgresql(payload: Path) -> dict[str, int]:
    tool = _pg_tool("pg_dump")
    _check_pg_versions(tool)
    # The counts and the dump must describe one moment: export this transaction's snapshot and
    # have pg_dump read through it.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = str(cursor.fetchone()[0])
        tables = connection.introspection.table_names(cursor)
        counts = _count_tables(connection, tables, connection.ops.quote_name)
        result = subprocess.run(
            [tool, "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
             f"--file={payload}"],
            env=_pg_env(), capture_output=True, text=True,
        )  # fmt: skip
    if result.returncode != 0:
        raise BackupError(_("pg_dump failed: {why}").format(why=result.stderr.strip()))
    return counts


def backup(out: str | Path) -> BackupInfo:
    """Write a backup of the default database to ``out`` (replaced atomically, mode 0600)."""
    out = Path(out)
    vendor = connection.vendor
    if vendor not in PAYLOADS:
        raise BackupError(_("cannot back up a {vendor} database").format(vendor=vendor))
    migrations = _applied_migrations()
    with tempfile.TemporaryDirectory(prefix="medshield-backup-") as tmp:
        payload = Path(tmp) / PAYLOADS[vendor]
        counts = _dump_sqlite(payload) if vendor == "sqlite" else _dump_postgresql(payload)
        sha = _sha256_file(payload)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "vendor": vendor,
            "payload": payload.name,
            "sha256": sha,
            "migrations": migrations,
            "counts": counts,
        }
        manifest_bytes = json.dumps(manifest, indent=2, ensure_ascii=False).encode("utf-8")
        sums = (
            f"{hashlib.sha256(manifest_bytes).hexdigest()}  {MANIFEST}\n{sha}  {payload.name}\n"
        ).encode("ascii")
        partial = out.with_name(f".{out.name}.partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh, tarfile.open(fileobj=fh, mode="w") as tar:
            for name, data in ((SUMS, sums), (MANIFEST, manifest_bytes)):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                info.mode = 0o600
                tar.addfile(info, io.BytesIO(data))
            tar.add(payload, arcname=payload.name, recursive=False)
        os.replace(partial, out)
    return BackupInfo(out, vendor, str(manifest["created"]), migrations, counts, sha)


# --- restore ---------------------------------------------------------------------------------


def _damaged(path: Path, why: str) -> BackupError:
    return BackupError(
        _("{path} is not a usable medshield backup: {why}").format(path=path.name, why=why)
    )


def _member(tar: tarfile.TarFile, name: str, path: Path) -> tarfile.TarInfo:
    try:
        member = tar.getmember(name)
    except KeyError:
        raise _damaged(path, _("{name} is missing").format(name=name)) from None
    if not member.isfile():
        raise _damaged(path, _("{name} is not a file").format(name=name))
    return member


def _read_small(tar: tarfile.TarFile, member: tarfile.TarInfo, path: Path) -> bytes:
    if member.size > _MAX_MANIFEST:
        raise _damaged(path, _("{name} is too large").format(name=member.name))
    stream = tar.extractfile(member)
    assert stream is not None
    return stream.read()


@contextlib.contextmanager
def open_backup(path: str | Path) -> Iterator[tuple[BackupInfo, Path]]:
    """Verify a backup and yield (its manifest, the payload extracted to a private temp file)."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(_("{path}: no such file").format(path=path))
    with tempfile.TemporaryDirectory(prefix="medshield-restore-") as tmp:
        try:
            with tarfile.open(path, mode="r:") as tar:
                sums_raw = _read_small(tar, _member(tar, SUMS, path), path)
                manifest_raw = _read_small(tar, _member(tar, MANIFEST, path), path)
                sums: dict[str, str] = {}
                for line in sums_raw.decode("ascii", "replace").splitlines():
                    digest, _sep, name = line.partition("  ")
                    sums[name.strip()] = digest.strip()
                if sums.get(MANIFEST) != hashlib.sha256(manifest_raw).hexdigest():
                    raise _damaged(path, _("the manifest does not match its checksum"))
                try:
                    manifest = json.loads(manifest_raw)
                except ValueError:
                    raise _damaged(path, _("the manifest is not JSON")) from None
                if manifest.get("format") != FORMAT or manifest.get("vendor") not in PAYLOADS:
                    raise _damaged(path, _("the manifest is not a medshield backup manifest"))
                name = PAYLOADS[manifest["vendor"]]
                if manifest.get("payload") != name or sums.get(name) != manifest.get("sha256"):
                    raise _damaged(path, _("the manifest and the checksums disagree"))
                member = _member(tar, name, path)
                payload = Path(tmp) / name
                stream = tar.extractfile(member)
                assert stream is not None
                digest = hashlib.sha256()
                with payload.open("wb") as out:
                    while chunk := stream.read(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise _damaged(path, str(exc) or type(exc).__name__) from None
        if digest.hexdigest() != manifest["sha256"]:
            raise _damaged(
                path,
                _("the database copy does not match its SHA-256 checksum (the file is damaged)"),
            )
        info = BackupInfo(
            path,
            manifest["vendor"],
            str(manifest.get("created", "")),
            [(str(a), str(n)) for a, n in manifest.get("migrations", [])],
            {str(k): int(v) for k, v in manifest.get("counts", {}).items()},
            manifest["sha256"],
        )
        yield info, payload


def holds_data() -> list[str]:
    """The tables of this database's medshield and user models that hold rows."""
    full: list[str] = []
    with connection.cursor() as cursor:
        existing = set(connection.introspection.table_names(cursor))
        for config in apps.get_app_configs():
            if not (config.name.startswith("medshield.") or config.label == "auth"):
                continue
            for model in config.get_models(include_auto_created=True):
                table = model._meta.db_table
                # Groups and permissions are written by migrate itself (the roles).
                if table in _FILLED_BY_MIGRATE or table not in existing or table in full:
                    continue
                cursor.execute(f"SELECT 1 FROM {connection.ops.quote_name(table)} LIMIT 1")  # noqa: S608
                if cursor.fetchone() is not None:
                    full.append(table)
    return full


def _check_schema(info: BackupInfo) -> None:
    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    unknown = [f"{a}.{n}" for a, n in info.migrations if (a, n) not in known]
    if unknown:
        raise BackupError(
            _(
                "the backup was made by a newer medshield: this version does not know the "
                "migrations {names}; upgrade medshield first"
            ).format(names=", ".join(unknown[:5]))
        )


def _restore_sqlite(payload: Path) -> None:
    connection.ensure_connection()
    target: sqlite3.Connection = connection.connection  # type: ignore[assignment]
    source = sqlite3.connect(f"file:{payload}?mode=ro", uri=True)
    try:
        # SQLite copies into a database in WAL mode only pages of its own size. A backup of
        # another page size (4 KiB, from a register made before they had 16 KiB) is copied with
        # the target out of WAL mode, and the target takes the backup's page size.
        resized = _page_size(source) != _page_size(target)
        if resized and _journal_mode(target, "DELETE") != "delete":
            raise BackupError(
                _(
                    "the backup's database pages are of another size than this database's; "
                    "stop every other medshield process using it, then restore again"
                )
            )
        # Replaces every page of the target in one step, under its write lock.
        source.backup(target)
        if resized:
            _journal_mode(target, "WAL")
    finally:
        source.close()
    connection.close()


def _page_size(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA page_size").fetchone()[0])


def _journal_mode(db: sqlite3.Connection, mode: str) -> str:
    """Set the journal mode; the mode the database is in after (unchanged while others use it)."""
    try:
        return str(db.execute(f"PRAGMA journal_mode={mode}").fetchone()[0]).lower()
    except sqlite3.OperationalError:
        return ""


def _restore_postgresql(payload: Path) -> None:
    tool = _pg_tool("pg_restore")
    result = subprocess.run(
        [tool, "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
         "--clean", "--if-exists", f"--dbname={connection.settings_dict['NAME']}", str(payload)],
        env=_pg_env(), capture_output=True, text=True,
    )  # fmt: skip
    if result.returncode != 0:
        raise BackupError(_("pg_restore failed: {why}").format(why=result.stderr.strip()))


def _current_counts(tables: list[str]) -> dict[str, int]:
    connection.ensure_connection()
    with connection.cursor() as cursor:
        existing = set(connection.introspection.table_names(cursor))
    missing = [t for t in tables if t not in existing]
    if missing:
        raise BackupError(
            _("after the restore these tables are missing: {tables}").format(
                tables=", ".join(missing[:5])
            )
        )
    return _count_tables(connection, tables, connection.ops.quote_name)


def restore(path: str | Path, *, force: bool = False) -> BackupInfo:
    """Restore a backup into the default database, then check every table's row count."""
    with open_backup(path) as (info, payload):
        if info.vendor != connection.vendor:
            raise BackupError(
                _("the backup is of a {backup} database; this one is {here}").format(
                    backup=info.vendor, here=connection.vendor
                )
            )
        _check_schema(info)
        if not force:
            full = holds_data()
            if full:
                raise BackupError(
                    _(
                        "the database already holds data (in {tables}); restore into an empty "
                        "database, or add --force to replace everything in it"
                    ).format(tables=", ".join(full[:5]))
                )
        if info.vendor == "sqlite":
            _restore_sqlite(payload)
        else:
            connection.close()
            _restore_postgresql(payload)
    counts = _current_counts(sorted(info.counts))
    wrong = {t: (n, counts[t]) for t, n in info.counts.items() if counts[t] != n}
    if wrong:
        details = ", ".join(f"{t}: {want} → {got}" for t, (want, got) in sorted(wrong.items()))
        raise BackupError(
            _("the restored row counts differ from the backup's: {details}").format(details=details)
        )
    return info
