"""NVD records prepared on the connected machine: a bundle's one-file form of many NVD feeds.

Why: a full NVD is 1.4 GB of JSON in 400,000 records, and reading it (the decoding, then the
Python work on each record) is most of what importing it costs. cve-bin-tool's offline import
reads rows its own export flattened beforehand; a bundle does the same now. ``feeds bundle``
reads the NVD files on the connected machine with the importer's own parser
(:func:`medshield.vulns.importers.nvd._parse`) and writes the rows the importer would store into
one SQLite file, the *prepared* file; ``feeds import`` on the closed network checks that file and
merges its rows into the register in one transaction. On a SQLite register (the default) the
merge is SQL run by SQLite itself on the attached file, with no Python work per record; on
PostgreSQL the rows go through the importer's own writer.

The prepared file is hostile input like any other file, and a SQLite file can hide more than a
JSON one. It is read on connections of its own, read-only, that trust nothing of its schema;
its schema is checked before the register's connection attaches it, its values while the merge
runs (on the command line in two forked processes, on the machine's other core), and the merge
is committed only once they passed. It is refused, and nothing of it stored, unless:

* its schema is exactly :data:`SCHEMA` (no view, trigger or index that would run code or change
  what a query reads);
* it says it is this format, this version and computed its CPE keys the way this medshield does
  (:data:`medshield.matching.names.NAME_KEY_SCHEME`);
* every value has the type, form and length the register's columns take (rules built from the
  model fields: types and numbers checked in SQL, the rest in Python on the values of many
  records at once, which SQLite joins into one text),
  every configuration decodes into the matching engine's rules, every CNA entry has the shape
  the matcher reads, and every configuration and key belongs to a record.

A merge is like an import of the NVD files themselves: a record already stored is replaced only
by a later ``lastModified``, so importing the same bundle again changes nothing.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import re
import sqlite3
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import msgspec
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from medshield.matching.names import NAME_KEY_SCHEME
from medshield.vulns.importers import helpers, nvd, nvd_read
from medshield.vulns.importers.base import (
    FeedFile,
    FeedRejected,
    ImportStats,
    Progress,
    record_import,
)
from medshield.vulns.importers.nvd_read import MAX_VALUE
from medshield.vulns.models import CpeKey, FeedImport, NvdConfigurations, Vulnerability

FORMAT = "medshield-nvd-prepared"
VERSION = 1
#: the bundle manifest's format name of a prepared file, and its member name
MEMBER_FORMAT = "nvd-prepared"
PREPARED_NAME = "nvd-prepared.sqlite3"
SQLITE_MAGIC = b"SQLite format 3\x00"
#: skipped records and notes a prepared file may list
_MAX_SKIPPED = 1_000_000
_MAX_NOTES = 100
#: the register's SQLite page cache while merging (measured on a full NVD: 64 MB merged as
#: fast as 1 GB, which wrote every page at the commit, while the checks still ran, and used
#: 400 MB more memory)
_MERGE_CACHE_KIB = 64 * 1024
#: records checked at a time (their texts joined stay in the processor's cache: a full NVD
#: checked in chunks of 2,000 took about a tenth less time than in chunks of 20,000)
_CHECK_ROWS = 2_000
#: the checking processes beside the merge, and how much lower they run than it
_CHECK_SHARES = 2
_CHECK_NICENESS = 10

# The affinity of each Vulnerability field's column, as SQLite gives it to Django's columns, so a
# value is stored in the prepared file as it will be in the register.
_AFFINITY = {"DateTimeField": "datetime", "DecimalField": "decimal"}
_RECORD_COLUMNS = ("n", "vuln_id", *nvd._ROW_FIELDS)


def _record_table() -> str:
    meta = Vulnerability._meta
    columns = ["n INTEGER PRIMARY KEY", "vuln_id TEXT NOT NULL"]
    for name in nvd._ROW_FIELDS:
        kind = _AFFINITY.get(meta.get_field(name).get_internal_type(), "TEXT")
        columns.append(f"{name} {kind}")
    return f"CREATE TABLE record ({', '.join(columns)})"


#: the whole schema of a prepared file; nothing else may be in it
SCHEMA = (
    "CREATE TABLE meta (name TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL)",
    _record_table(),
    "CREATE TABLE configuration (n INTEGER PRIMARY KEY, data TEXT NOT NULL)",
    "CREATE TABLE cpe_key (n INTEGER NOT NULL, key INTEGER NOT NULL)",
    "CREATE TABLE skipped (vuln_id TEXT NOT NULL, reason TEXT NOT NULL)",
    "CREATE TABLE note (text TEXT NOT NULL)",
)
#: (type, name, table) of every schema entry, with the index SQLite makes for meta's key
_SCHEMA_ENTRIES = {
    ("table", "meta", "meta"),
    ("index", "sqlite_autoindex_meta_1", "meta"),
    ("table", "record", "record"),
    ("table", "configuration", "configuration"),
    ("table", "cpe_key", "cpe_key"),
    ("table", "skipped", "skipped"),
    ("table", "note", "note"),
}


# --- writing (the connected machine) -----------------------------------------------------------


@dataclass
class Prepared:
    """What :func:`prepare` wrote."""

    records: int = 0
    skipped: int = 0
    sources: list[str] = field(default_factory=list)


def prepare(paths: list[str], out: str, progress: Progress | None = None) -> Prepared:
    """Read the NVD files ``paths`` and write their records, prepared, into the new file ``out``.

    A CVE in several files is kept once: the record with the latest ``lastModified`` (the first
    of equal ones), as importing the files one after the other would leave it. FeedRejected
    when a file is not NVD JSON or is refused by the importer's parser.
    """
    from medshield.vulns.importers import detect

    prep = nvd._Prepare(canonical=True)
    db = sqlite3.connect(out, isolation_level=None)
    result = Prepared()
    try:
        # The register's page size: read faster by the checks and the merge (see the setting).
        db.execute(f"PRAGMA page_size = {int(settings.SQLITE_PAGE_SIZE)}")
        db.execute("PRAGMA journal_mode = OFF")  # a file being made: nothing to roll back to
        db.execute("PRAGMA synchronous = OFF")
        db.execute("BEGIN")
        for sql in SCHEMA:
            db.execute(sql)
        latest: dict[str, tuple[int, datetime.datetime]] = {}
        dropped: list[int] = []
        notes: list[str] = []
        insert_record = f"INSERT INTO record VALUES ({', '.join(['?'] * len(_RECORD_COLUMNS))})"  # noqa: S608
        total = 0
        for path in paths:
            with FeedFile(path) as feed:
                fmt, extra = detect(feed.stream.read(64 * 1024))
            if fmt != "nvd":
                raise FeedRejected(_("{path} is not an NVD file").format(path=path))
            with FeedFile(path) as feed:
                for batch in nvd._parse(feed, extra["wrapped"], prep):
                    rows = []
                    vulns = batch.vulns
                    width = nvd._VULN_WIDTH
                    for i, cve_id in enumerate(batch.ids):
                        n = total + i
                        earlier = latest.get(cve_id)
                        if earlier is not None and batch.modified[i] <= earlier[1]:
                            dropped.append(n)
                            continue
                        if earlier is not None:
                            dropped.append(earlier[0])
                        latest[cve_id] = (n, batch.modified[i])
                        rows.append((n, *vulns[i * width + 1 : (i + 1) * width]))
                    db.executemany(insert_record, rows)
                    configs = batch.configs
                    db.executemany(
                        "INSERT INTO configuration VALUES (?, ?)",
                        [(total + configs[k], configs[k + 1]) for k in range(0, len(configs), 2)],
                    )
                    keys = batch.keys
                    db.executemany(
                        "INSERT INTO cpe_key VALUES (?, ?)",
                        [(total + keys[k], keys[k + 1]) for k in range(0, len(keys), 2)],
                    )
                    db.executemany("INSERT INTO skipped VALUES (?, ?)", batch.skipped)
                    result.skipped += len(batch.skipped)
                    notes.extend(batch.notes[: max(0, _MAX_NOTES - len(notes))])
                    total += len(batch.ids)
                    if progress:
                        progress(batch.position, feed.size)
            result.sources.append(path)
        if dropped:
            db.execute("CREATE TEMP TABLE dropped (n INTEGER PRIMARY KEY)")
            db.executemany("INSERT INTO dropped VALUES (?)", [(n,) for n in set(dropped)])
            for table in ("record", "configuration", "cpe_key"):
                db.execute(f"DELETE FROM {table} WHERE n IN (SELECT n FROM dropped)")  # noqa: S608
            db.execute("DROP TABLE dropped")
        db.executemany("INSERT INTO note VALUES (?)", [(note,) for note in notes])
        result.records = len(latest)
        meta = {
            "format": FORMAT,
            "version": str(VERSION),
            "name_key_scheme": str(NAME_KEY_SCHEME),
            "records": str(result.records),
            "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        }
        db.executemany("INSERT INTO meta VALUES (?, ?)", list(meta.items()))
        db.execute("COMMIT")
        db.execute("VACUUM")  # the dropped duplicates' pages, and pages in table order
    finally:
        db.close()
    return result


# --- checking (the closed network) -------------------------------------------------------------


def _column_rules() -> list[tuple[str, str]]:
    """(column, SQL condition every row of ``record`` must meet), from the model's fields.

    They are combined with AND, the whole made false where it is NULL (a NULL value). What
    SQL does slowly is left to :func:`_check_records`, which reads the values of many records
    joined into one text: the form of the ids and datetimes, the texts' lengths, NULs
    (SQLite's text functions stop at one) and UTF-8, and the JSON's types
    (:func:`_python_checks`).
    """
    meta = Vulnerability._meta
    rules = [
        ("n", f"typeof(n) = 'integer' AND n >= 0 AND n < {_MAX_N}"),
        ("vuln_id", "typeof(vuln_id) = 'text'"),
    ]
    for name in nvd._ROW_FIELDS:
        model_field = meta.get_field(name)
        kind = model_field.get_internal_type()
        if kind == "DateTimeField":
            # The importer writes NVD's lastModified into both modified and nvd_modified, so
            # one check of the form reads both.
            rule = f"typeof({name}) = 'text'"
            if name == "nvd_modified":
                rule += " AND nvd_modified = modified"
        elif kind == "DecimalField":
            rule = (
                f"typeof({name}) IN ('integer', 'real') AND {name} BETWEEN 0 AND 10 "
                f"AND round({name}, 1) = {name}"
            )
        else:
            rule = f"typeof({name}) = 'text'"
            if kind == "JSONField":
                # Each value by itself, so that a chunk's values joined make one JSON array
                # of one item per record (_python_checks).
                rule += f" AND json_valid({name})"
        if model_field.null and name not in _NOT_NULL:
            rule = f"{name} IS NULL OR ({rule})"
        rules.append((name, rule))
    scores = " AND ".join(
        f"{c} IS NULL" if c.endswith("score") else f"{c} = ''" for c in nvd._SCORE_FIELDS
    )
    rules.append(("score_source", f"score_source = 'nvd' OR (score_source = '' AND {scores})"))
    return rules


#: nullable fields the importer always sets
_NOT_NULL = ("modified", "nvd_modified")
#: the largest record number (ids of new records are the register's next id plus it)
_MAX_N = 1 << 40


class _CnaEntry(msgspec.Struct, forbid_unknown_fields=True):
    """An entry of ``cna_affected`` as the importer writes it (nvd._cna_affected)."""

    vendor: str
    product: str
    versions: list[dict[str, str]]


#: the type each JSON field's values decode into, as the importer writes them (a CWE list of
#: strings, CNA entries of the matcher's shape)
_JSON_TYPES: dict[str, Any] = {"cwes": list[str], "cna_affected": list[_CnaEntry]}

#: datetimes as ``str(datetime)`` writes them, one a line: Django's form on SQLite, naive, to
#: the second or the microsecond (``2024-01-02 03:04:05.678000``)
_DATETIME_LINES = re.compile(
    r"(?:[0-9]{4}-[0-9]{2}-[0-9]{2} (?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(?:\.(?!000000)[0-9]{6})?\n)*"
)


def _datetimes(joined: str | None, count: int) -> bool:
    """Whether ``joined``, ``count`` values a line apart, are datetimes in Django's form on
    SQLite, naive, of dates Python can hold (year 1 on, no February 30): what
    ``str(datetime.fromisoformat(value)) == value`` with no time zone says of each, at half
    the cost (the form by one regular expression, then each distinct day)."""
    if joined is None:
        return count == 0
    lines = joined + "\n"
    if lines.count("\n") != count or _DATETIME_LINES.fullmatch(lines) is None:
        return False
    try:
        for day in {line[:10] for line in joined.split("\n")}:
            datetime.date.fromisoformat(day)
    except ValueError:
        return False
    return True


#: CVE ids, one a line, as the register's column holds them
_CVE_ID_LINES = re.compile(
    rf"(?:CVE-[0-9]{{4}}-[0-9]{{4,{Vulnerability._meta.get_field('vuln_id').max_length - 9}}}\n)*"
)


def _cve_ids(joined: str | None, count: int) -> bool:
    """Whether ``joined``, ``count`` values a line apart, are CVE ids."""
    if joined is None:
        return count == 0
    lines = joined + "\n"
    return lines.count("\n") == count and _CVE_ID_LINES.fullmatch(lines) is not None


@dataclass(frozen=True)
class _PythonCheck:
    """A column checked in Python. ``one(value)`` says whether a value is right; for speed,
    SQL joins the values of a chunk of records into one text (``joined``), and
    ``many(text, number of values)`` tests them together. ``many`` passes only when ``one``
    would pass every value; when it fails, ``one`` decides (see _refuse_value)."""

    column: str
    joined: str
    many: Callable[[str | None, int], bool]
    one: Callable[[Any], bool]


def _lines_check(column: str, lines_ok: Callable[[str | None, int], bool]) -> _PythonCheck:
    """A check of values of one line each (ids, datetimes), joined a line apart."""

    def one(value: Any) -> bool:
        if value is None:
            return lines_ok(None, 0)
        return isinstance(value, str) and "\n" not in value and lines_ok(value, 1)

    return _PythonCheck(column, f"group_concat({column}, char(10))", lines_ok, one)


def _text_check(column: str, limit: int | None) -> _PythonCheck:
    """Text of at most ``limit`` characters (no limit: bounded by the chunk, see
    _check_records), with no NUL (UTF-8 the sqlite3 module sees to). Joined a line apart, the
    values are told apart when none holds a line break (else one by one)."""

    def one(value: Any) -> bool:
        return (
            isinstance(value, str) and "\0" not in value and (limit is None or len(value) <= limit)
        )

    def many(joined: str | None, count: int) -> bool:
        if joined is None:
            return count == 0
        if "\0" in joined:
            return False
        if limit is None:
            return True
        lines = joined.split("\n")
        return len(lines) == count and max(map(len, lines)) <= limit

    return _PythonCheck(column, f"group_concat({column}, char(10))", many, one)


def _json_check(column: str, kind: Any) -> _PythonCheck:
    """JSON of ``kind``. Each value is valid JSON by itself (its SQL rule), so the values
    joined by commas inside ``[...]`` are one array of one item per record."""
    decode = msgspec.json.Decoder(list[kind]).decode  # type: ignore[valid-type]

    def many(array: str | None, count: int) -> bool:
        try:
            return array is not None and len(decode(array)) == count
        except (msgspec.ValidationError, msgspec.DecodeError):
            return False

    def one(value: Any) -> bool:
        return isinstance(value, str) and many(f"[{value}]", 1)

    return _PythonCheck(column, f"'[' || group_concat({column}, ',') || ']'", many, one)


def _python_checks() -> list[_PythonCheck]:
    """The columns checked in Python, a chunk of records at a time: the ids' and datetimes'
    form (nvd_modified is modified, see _column_rules), the texts' lengths and NULs, and the
    JSON decoded into the types the importer writes."""
    meta = Vulnerability._meta
    checks = [_lines_check("vuln_id", _cve_ids)]
    for name in nvd._ROW_FIELDS:
        model_field = meta.get_field(name)
        kind = model_field.get_internal_type()
        if kind == "DateTimeField" and name != "nvd_modified":
            checks.append(_lines_check(name, _datetimes))
        elif kind == "JSONField":
            checks.append(_json_check(name, _JSON_TYPES[name]))
        elif kind in ("CharField", "TextField"):
            checks.append(_text_check(name, model_field.max_length))
    return checks


@dataclass
class _Checked:
    records: int
    skipped: list[tuple[str, str]]
    notes: list[str]


def _orphans() -> str:
    """The refusal of configurations or keys of no record (translated when raised)."""
    return _("has configurations or CPE keys of no record, or of another type")


def _bad_value(column: str, n: Any, vuln_id: str) -> str:
    return _("has a value of {column} that is not one NVD gives (record {n}, {id!r})").format(
        column=column, n=n, id=vuln_id[:80]
    )


def _open_read_only(path: str) -> sqlite3.Connection:
    uri = f"file:{urllib.parse.quote(path)}?mode=ro"
    db = sqlite3.connect(uri, uri=True, isolation_level=None)
    # Functions named in the file's own schema (views, triggers, defaults) are not run.
    db.execute("PRAGMA trusted_schema = OFF")
    return db


def _refused(what: str) -> FeedRejected:
    return FeedRejected(_("the prepared NVD file {what}; refused").format(what=what))


def check_schema(path: str) -> None:
    """Check that the file is a prepared NVD file this medshield reads: its schema, its meta."""
    with open(path, "rb") as handle:
        if handle.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
            raise _refused(_("is not a SQLite file"))
    with _reading(path) as db:
        _check_schema(db)


def check_values(path: str) -> _Checked:
    """Check every value of a file whose schema :func:`check_schema` accepted."""
    with _reading(path) as db:
        checked = _check_share(db, 0, 1)
    assert checked is not None  # the first share counts
    return checked


def _check_share(db: sqlite3.Connection, share: int, shares: int) -> _Checked | None:
    """One of ``shares`` even parts of the checks: every ``shares``-th chunk of records from the
    ``share``-th (their values, their configurations), and a part of the whole-file checks.
    The counts come with the first share."""
    for index, (first, last) in enumerate(_chunks(db)):
        if index % shares == share:
            _check_records(db, first, last)
            _check_configurations(db, first, last)
    if share == shares - 1:
        _check_orphans(db)
    return _check_counts(db) if share == 0 else None


@contextlib.contextmanager
def _reading(path: str) -> Iterator[sqlite3.Connection]:
    try:
        db = _open_read_only(path)
    except sqlite3.Error as exc:
        raise _refused(_("cannot be opened ({error})").format(error=exc)) from None
    try:
        yield db
    except (sqlite3.Error, UnicodeDecodeError) as exc:
        # UnicodeDecodeError: text that is not UTF-8, in the schema or in a value.
        raise _refused(_("is damaged ({error})").format(error=str(exc)[:300])) from None
    finally:
        db.close()


def _check_schema(db: sqlite3.Connection) -> None:
    if db.execute("PRAGMA encoding").fetchone()[0] != "UTF-8":
        # The register is UTF-8, and SQLite attaches no file of another text encoding.
        raise _refused(_("has another schema than this medshield writes"))
    entries = db.execute("SELECT type, name, tbl_name, sql FROM sqlite_schema").fetchall()
    if {(kind, name, table) for kind, name, table, _sql in entries} != _SCHEMA_ENTRIES or {
        sql for _kind, _name, _table, sql in entries if sql is not None
    } != set(SCHEMA):
        raise _refused(_("has another schema than this medshield writes"))
    meta = dict(db.execute("SELECT name, value FROM meta LIMIT 100").fetchall())
    if meta.get("format") != FORMAT or meta.get("version") != str(VERSION):
        raise _refused(_("is not a prepared NVD file of version {version}").format(version=VERSION))
    if meta.get("name_key_scheme") != str(NAME_KEY_SCHEME):
        raise _refused(
            _(
                "was made by a medshield that computes CPE name keys differently (scheme "
                "{theirs}, this one {ours}); make the bundle again with this version, or with "
                "`feeds bundle --raw`"
            ).format(theirs=meta.get("name_key_scheme"), ours=NAME_KEY_SCHEME)
        )


def _chunks(db: sqlite3.Connection) -> Iterator[tuple[int, int]]:
    """The file's records in chunks of at most _CHECK_ROWS by their numbers (the table's
    key): (first, last), each chunk the records with ``first < n <= last``, together every
    number from the lowest to the highest."""
    low = db.execute("SELECT min(n) FROM record").fetchone()[0]
    high = db.execute("SELECT max(n) FROM record").fetchone()[0]
    if low is None:
        return  # no record: refused as such when merged
    if low < 0 or high >= _MAX_N:
        _refuse_record(db, _column_rules())
    last = low - 1
    while last != high:
        found = db.execute(
            f"SELECT n FROM record WHERE n > ? ORDER BY n LIMIT 1 OFFSET {_CHECK_ROWS - 1}",  # noqa: S608
            [last],
        ).fetchone()
        first, last = last, (high if found is None else found[0])
        yield first, last


def _check_records(db: sqlite3.Connection, first: int, last: int) -> None:
    """Every value of the records numbered ``first < n <= last``. SQLite reads them as one
    row, so that the Python work is per chunk, not per value: whether every record meets
    every SQL rule (the failed rule is named afterwards), and each of :func:`_python_checks`'
    columns joined into one text (the sqlite3 module refuses text that is not UTF-8), with
    its number of values. No text is longer than the chunk's texts: the texts of no set
    length are read one by one only when those are longer than any may be."""
    rules = _column_rules()
    checks = _python_checks()
    query = (
        f"SELECT min({_every(rules)}), "  # noqa: S608
        + ", ".join(f"{check.joined}, count({check.column})" for check in checks)
        + " FROM record WHERE n > ? AND n <= ?"
    )
    try:
        good, *read = db.execute(query, [first, last]).fetchone()
    except sqlite3.OperationalError as exc:
        if "UTF-8" not in str(exc):
            raise
        raise _refused(_("has text that is not UTF-8")) from None
    except sqlite3.DataError:
        # Joined, the chunk's texts are longer than SQLite makes a text (a gigabyte): each
        # value by itself.
        _check_records_one_by_one(db, first, last, rules, checks)
        return
    if not good:
        _refuse_record(db, rules)
    if max(len(text or "") for text in read[::2]) > MAX_VALUE:
        _refuse_long(db, first, last)
    for check, text, count in zip(checks, read[::2], read[1::2], strict=True):
        if not check.many(text, count):
            _refuse_value(db, check, first, last)


def _check_records_one_by_one(
    db: sqlite3.Connection,
    first: int,
    last: int,
    rules: list[tuple[str, str]],
    checks: list[_PythonCheck],
) -> None:
    """:func:`_check_records` of the records numbered ``first < n <= last``, one value at a
    time."""
    broken = db.execute(
        f"SELECT 1 FROM record WHERE n > ? AND n <= ? AND NOT {_every(rules)} LIMIT 1",  # noqa: S608
        [first, last],
    ).fetchone()
    if broken is not None:
        _refuse_record(db, rules)
    _refuse_long(db, first, last)
    for check in checks:
        _refuse_value(db, check, first, last)


def _refuse_long(db: sqlite3.Connection, first: int, last: int) -> None:
    """Refuse the file for a text of no set length longer than the importer writes, among the
    records numbered ``first < n <= last`` (their texts together are: rare, and then read
    one by one)."""
    meta = Vulnerability._meta
    for name in nvd._ROW_FIELDS:
        field = meta.get_field(name)
        if field.get_internal_type() in ("TextField", "JSONField") and not field.max_length:
            found = db.execute(
                f"SELECT n FROM record WHERE n > ? AND n <= ? AND length({name}) > ?",  # noqa: S608
                [first, last, MAX_VALUE],
            ).fetchone()
            if found is not None:
                raise _refused(_bad_value(name, found[0], _id_of(db, found[0])))


def _refuse_value(db: sqlite3.Connection, check: _PythonCheck, first: int, last: int) -> None:
    """Refuse the file for the first record numbered ``first < n <= last`` whose value
    ``check`` refuses, one by one; if none is (``many`` is only quick), they are right."""
    rows = db.execute(
        f"SELECT n, {check.column} FROM record WHERE n > ? AND n <= ? ORDER BY n",  # noqa: S608
        [first, last],
    )
    for n, value in rows:
        if not check.one(value):
            if isinstance(value, str) and "\0" in value:
                raise _refused(_("has text with a NUL character"))
            raise _refused(_bad_value(check.column, n, _id_of(db, n)))


def _every(rules: list[tuple[str, str]]) -> str:
    return f"coalesce({' AND '.join(f'({rule})' for _column, rule in rules)}, 0)"


def _refuse_record(db: sqlite3.Connection, rules: list[tuple[str, str]]) -> None:
    """Refuse the file for the first record that breaks a rule, naming its column."""
    row = db.execute(
        f"SELECT n, {', '.join(f'coalesce({rule}, 0)' for _c, rule in rules)} "  # noqa: S608
        f"FROM record WHERE NOT {_every(rules)} LIMIT 1"
    ).fetchone()
    if row is None:
        raise _refused(_bad_value("n", "?", ""))
    n, good = row[0], row[1:]
    column = next(c for (c, _rule), ok in zip(rules, good, strict=True) if not ok)
    value = db.execute(
        f"SELECT CAST({column} AS BLOB) FROM record WHERE n = ?",  # noqa: S608
        [n],
    ).fetchone()[0]
    if isinstance(value, bytes) and b"\0" in value:
        raise _refused(_("has text with a NUL character"))
    raise _refused(_bad_value(column, n, _id_of(db, n)))


def _id_of(db: sqlite3.Connection, n: Any) -> str:
    """Record ``n``'s CVE id as it can be shown, whatever its bytes."""
    row = db.execute("SELECT CAST(vuln_id AS BLOB) FROM record WHERE n = ?", [n]).fetchone()
    value = row[0] if row else ""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


_CONFIGURATIONS = msgspec.json.Decoder(list[nvd_read.Configuration])


def _configurations_problem(data: str) -> str:
    """What is wrong with a record's stored configurations, or "" when they are exactly what
    the importer writes (nvd._applicability): NVD's shape re-encoded by the importer's own
    types (so no field the matcher would read other than NVD's own), with no configuration or
    node left empty, operators AND or OR, and every entry a CPE 2.3 name."""
    if not isinstance(data, str):
        return "not text"  # (refused as such by _check_orphans too)
    try:
        configurations = _CONFIGURATIONS.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        return str(exc)
    if nvd._ENCODE(configurations) != data.encode():
        return "not in the importer's form"
    for config in configurations:
        if not config.nodes or config.operator not in nvd._OPERATORS:
            return "an empty configuration or another operator"
        for node in config.nodes:
            if not node.cpeMatch or node.operator not in nvd._OPERATORS:
                return "an empty node or another operator"
            for match in node.cpeMatch:
                criteria = match.criteria
                if (
                    not criteria.startswith("cpe:2.3:")
                    or len(criteria) > 400
                    or criteria.count(":") < 5
                    or ("\\" in criteria and len(nvd._CPE_SPLIT.split(criteria, 5)) < 6)
                ):
                    return f"{criteria[:80]!r} is not a CPE 2.3 name"
    return ""


def _check_counts(db: sqlite3.Connection) -> _Checked:
    """The number of records and their ids, the skipped records and notes.

    No ``PRAGMA quick_check`` (a tenth of the checking time): the checks read every row of
    every table, which is all the merge reads, and SQLite refuses a damaged page it meets
    with an error (turned into the file's refusal), so damage cannot slip into the register.
    """
    said = db.execute("SELECT value FROM meta WHERE name = 'records'").fetchone()
    records = db.execute("SELECT count(*), count(DISTINCT vuln_id) FROM record").fetchone()
    if said is None or str(records[0]) != said[0] or records[0] != records[1]:
        raise _refused(_("lists a CVE twice, or another number of records than it says"))
    skipped = db.execute(
        "SELECT vuln_id, reason FROM skipped LIMIT ?", [_MAX_SKIPPED + 1]
    ).fetchall()
    notes = [row[0] for row in db.execute("SELECT text FROM note LIMIT ?", [_MAX_NOTES + 1])]
    if (
        len(skipped) > _MAX_SKIPPED
        or len(notes) > _MAX_NOTES
        or not all(type(a) is str and type(b) is str for a, b in skipped)
        or not all(type(note) is str for note in notes)
    ):
        raise _refused(_("lists skipped records or notes of another form"))
    return _Checked(
        int(records[0]),
        [(vuln_id[:80], reason[:500]) for vuln_id, reason in skipped],
        [note[:1000] for note in notes],
    )


def _check_orphans(db: sqlite3.Connection) -> None:
    """Every configuration and key belongs to a record, and has its types: the merge on
    SQLite runs without the register's foreign keys (see _foreign_keys_off), and this
    verdict stands for them."""
    orphan = (
        db.execute(
            "SELECT 1 FROM configuration WHERE typeof(n) <> 'integer' OR typeof(data) <> 'text' "
            "OR (length(CAST(data AS BLOB)) > ? AND length(data) > ?) LIMIT 1",
            [MAX_VALUE, MAX_VALUE],
        ).fetchone()
        or db.execute(
            "SELECT 1 FROM cpe_key WHERE typeof(n) <> 'integer' OR typeof(key) <> 'integer' LIMIT 1"
        ).fetchone()
    )
    if orphan is not None:
        raise _refused(_orphans())
    for table in ("configuration", "cpe_key"):
        orphan = db.execute(
            f"SELECT 1 FROM {table} WHERE n NOT IN (SELECT n FROM record) LIMIT 1"  # noqa: S608
        ).fetchone()
        if orphan is not None:
            raise _refused(_orphans())


def _check_configurations(db: sqlite3.Connection, first: int, last: int) -> None:
    """The configurations of the records numbered ``first < n <= last`` (those of no record
    are refused by _check_orphans)."""
    rows = db.execute(
        "SELECT n, data FROM configuration WHERE n > ? AND n <= ?", [first, last]
    ).fetchall()
    for n, data in rows:
        problem = _configurations_problem(data)
        if problem:
            raise _refused(
                _("has configurations the importer does not write (record {n}: {error})").format(
                    n=n, error=problem[:200]
                )
            )


# --- merging ------------------------------------------------------------------------------------


def import_prepared(
    path: str,
    *,
    file_name: str,
    sha256: str,
    user: Any = None,
    user_name: str = "",
) -> FeedImport:
    """Check the prepared file and merge it in one transaction; the record of the import.

    FeedRejected (nothing stored) when the file is refused.
    """
    started = timezone.now()
    check_schema(path)
    stats = ImportStats()
    if _attachable():
        # The values are checked on the other core while SQLite merges; the transaction is
        # committed only once they passed.
        with _values_checked(path) as verdict:
            try:
                _attach(path)
            except sqlite3.Error as exc:
                raise _refused(_("cannot be opened ({error})").format(error=exc)) from None
            try:
                with (
                    _foreign_keys_off(),
                    transaction.atomic(),
                    nvd._page_cache(_MERGE_CACHE_KIB),
                ):
                    _merge_in_sqlite(stats)
                    _log_written_out()
                    _noted(stats, verdict())
                    return _record(stats, file_name, sha256, path, started, user, user_name)
            except DatabaseError as exc:
                # A value the register refuses (a CHECK constraint, a configuration or key of
                # no record: its foreign key), or a page SQLite could not read: nothing was
                # stored. The values' own verdict names it better.
                verdict()
                if "FOREIGN KEY" in str(exc):
                    raise _refused(_orphans()) from None
                raise _refused(_("cannot be merged ({error})").format(error=exc)) from None
            finally:
                connection.connection.execute("DETACH DATABASE prepared")
    _noted(stats, check_values(path))
    try:
        with transaction.atomic(), contextlib.closing(_batches(path)) as batches:
            writer = nvd._Writer()
            for batch in batches:
                writer.write(batch, stats)
            return _record(stats, file_name, sha256, path, started, user, user_name)
    except (sqlite3.Error, UnicodeDecodeError) as exc:
        raise _refused(_("is damaged ({error})").format(error=str(exc)[:300])) from None
    except (DatabaseError, ValueError) as exc:
        # A value the register refuses (PostgreSQL: a NUL in text): nothing was stored.
        raise _refused(_("cannot be merged ({error})").format(error=str(exc)[:300])) from None


def _noted(stats: ImportStats, checked: _Checked) -> None:
    for vuln_id, reason in checked.skipped:
        stats.skip(vuln_id, reason)
    stats.notes.extend(checked.notes[: max(0, _MAX_NOTES - len(stats.notes))])


@contextlib.contextmanager
def _values_checked(path: str) -> Iterator[Callable[[], _Checked]]:
    """A function giving :func:`check_values`' verdict (raising FeedRejected), checked in
    forked processes meanwhile when that is safe (the command line: one thread, fork), else
    now. The two parts take about as long as the merge beside them."""
    if not helpers.can_fork():
        checked = check_values(path)
        yield lambda: checked
        return
    children = [
        helpers.start(_check_part, share, path, name="medshield-nvd-check")
        for share in range(_CHECK_SHARES)
    ]
    verdict: list[_Checked | Exception] = []

    def wait() -> _Checked:
        if not verdict:
            verdict.append(_gather(children))
        if isinstance(verdict[0], Exception):
            raise verdict[0]
        return verdict[0]

    try:
        yield wait
    finally:
        for child in children:
            child.stop()


def _gather(children: list[helpers.Helper]) -> _Checked | Exception:
    """The parts' verdicts put together: the checked file, or the error to raise. A part that
    ended without one (killed) is an error, not a wait for ever."""
    found = None
    for child in children:
        while not child.receive.poll(0.5):
            if not child.process.is_alive() and not child.receive.poll(0):
                return RuntimeError("the check of the prepared NVD file ended early")
        try:
            kind, payload = child.message()
        except EOFError:
            return RuntimeError("the check of the prepared NVD file ended early")
        if kind == "refused":
            return FeedRejected(payload)
        if kind != "ok":
            return RuntimeError(f"the check of the prepared NVD file failed:\n{payload}")
        if payload is not None:
            records, skipped, notes = payload
            found = _Checked(records, [tuple(pair) for pair in skipped], notes)
    if found is None:
        return RuntimeError("the check of the prepared NVD file gave no counts")
    return found


def _check_part(share: int, path: str, report: helpers.Report) -> None:
    """A forked helper: one share of the checks, reported as ("ok", counts or None). It yields
    the processor to the merge, whose time is the import's."""
    os.nice(_CHECK_NICENESS)
    with _reading(path) as db:
        checked = _check_share(db, share, _CHECK_SHARES)
    report(("ok", None if checked is None else (checked.records, checked.skipped, checked.notes)))


def _record(
    stats: ImportStats,
    file_name: str,
    sha256: str,
    path: str,
    started: datetime.datetime,
    user: Any,
    user_name: str,
) -> FeedImport:
    if not stats.created and not stats.updated and not stats.unchanged and not stats.refused:
        raise FeedRejected(_("the prepared NVD file holds no CVE records"))
    return record_import(
        "nvd",
        stats,
        file_name=file_name,
        sha256=sha256,
        size=os.path.getsize(path),
        started=started,
        user=user,
        user_name=user_name,
    )


def _attachable() -> bool:
    """Whether SQLite itself can merge the file: a SQLite register with the UTC database time
    zone (the prepared values are in its stored form), outside a transaction (SQLite attaches
    no database inside one)."""
    return (
        connection.vendor == "sqlite"
        and getattr(connection, "timezone_name", "") == "UTC"
        and not connection.in_atomic_block
    )


def _attach(path: str) -> None:
    """Attach the file read-only as ``prepared``.

    Its schema was checked to be exactly :data:`SCHEMA` (no view or trigger), and the file lies
    in a folder only this process's user can write: the register's connection keeps trusting
    schemas, which its own CHECK constraints (JSON_VALID) need.
    """
    connection.ensure_connection()
    raw = connection.connection
    raw.execute("ATTACH DATABASE ? AS prepared", [f"file:{urllib.parse.quote(path)}?mode=ro"])


def _merge_in_sqlite(stats: ImportStats) -> None:
    """The merge as SQL on the attached file, in the open transaction.

    A plan says for each prepared record whether it is new (0), a later version of a stored one
    (1) or no later than the stored one (2). New records get ids above every id the table had,
    ``base + n``, so their configurations and keys find them without a lookup.
    """
    quote = connection.ops.quote_name
    writer = nvd._Writer()
    vulns = writer.vulns
    configs, keys = quote(NvdConfigurations._meta.db_table), quote(CpeKey._meta.db_table)
    columns = [quote(c) for c in ("id", "vuln_id", *nvd._ROW_FIELDS)] + writer.other_columns
    values = ["%s + p.n", "p.vuln_id", *(f"p.{c}" for c in nvd._ROW_FIELDS)]
    values += writer.other_literals
    insert_vulns = f"INSERT INTO {vulns} ({', '.join(columns)}) SELECT {', '.join(values)} "
    insert_configs = f"INSERT INTO {configs} (vulnerability_id, data) SELECT "
    insert_keys = f"INSERT INTO {keys} (vulnerability_id, {quote('key')}) SELECT "
    with connection.cursor() as cursor, _checks_done_elsewhere(cursor):
        if not _any_stored(cursor, vulns):
            # None stored yet (a first load): every record is new, no plan is needed.
            base = writer._first_free_id(cursor)
            cursor.execute(insert_vulns + "FROM prepared.record AS p", [base])
            stats.created += cursor.rowcount
            cursor.execute(insert_configs + "%s + n, data FROM prepared.configuration", [base])
            with _indexes_built_after(cursor, CpeKey._meta.db_table):
                cursor.execute(insert_keys + "%s + n, key FROM prepared.cpe_key", [base])
            return
        cursor.execute("DROP TABLE IF EXISTS temp.nvd_plan")
        cursor.execute("CREATE TEMP TABLE nvd_plan (n INTEGER PRIMARY KEY, pk INTEGER, state INT)")
        cursor.execute(
            "INSERT INTO temp.nvd_plan SELECT p.n, v.id, CASE WHEN v.id IS NULL THEN 0 "  # noqa: S608
            "WHEN v.nvd_modified IS NULL OR v.nvd_modified < p.nvd_modified THEN 1 ELSE 2 END "
            f"FROM prepared.record AS p LEFT JOIN {vulns} AS v ON v.vuln_id = p.vuln_id"
        )
        cursor.execute(
            "SELECT 1 FROM prepared.configuration AS c WHERE NOT EXISTS (SELECT 1 FROM "
            "temp.nvd_plan AS q WHERE q.n = c.n) UNION ALL SELECT 1 FROM prepared.cpe_key AS k "
            "WHERE NOT EXISTS (SELECT 1 FROM temp.nvd_plan AS q WHERE q.n = k.n) LIMIT 1"
        )
        if cursor.fetchone() is not None:
            raise _refused(_orphans())
        cursor.execute("SELECT state, count(*) FROM temp.nvd_plan GROUP BY state")
        counts = dict(cursor.fetchall())
        stats.created += counts.get(0, 0)
        stats.updated += counts.get(1, 0)
        stats.unchanged += counts.get(2, 0)
        if counts.get(1):
            _update_in_sqlite(cursor, vulns, configs, keys)
        base = writer._first_free_id(cursor) if counts.get(0) else 0
        if counts.get(0):
            cursor.execute(
                insert_vulns + "FROM prepared.record AS p JOIN temp.nvd_plan AS q ON q.n = p.n "
                "WHERE q.state = 0",
                [base],
            )
        target = "CASE q.state WHEN 0 THEN %s + q.n ELSE q.pk END"
        cursor.execute(
            insert_configs + f"{target}, c.data FROM prepared.configuration AS c "
            "JOIN temp.nvd_plan AS q ON q.n = c.n WHERE q.state < 2",
            [base],
        )
        cursor.execute(
            insert_keys + f"{target}, k.key FROM prepared.cpe_key AS k "
            "JOIN temp.nvd_plan AS q ON q.n = k.n WHERE q.state < 2 ORDER BY k.key",
            [base],
        )
        cursor.execute("DROP TABLE temp.nvd_plan")


def _log_written_out() -> None:
    """The register's write-ahead log, as the merge left it, written out to the disk.

    The commit's checkpoint would: it syncs the log before it copies the pages into the
    database (hundreds of megabytes after a full NVD). Done here, it runs while the checks
    finish, and the commit syncs only the pages written since.
    """
    try:
        log = os.open(f"{connection.settings_dict['NAME']}-wal", os.O_RDONLY)
    except OSError:
        return  # not a file on disk (an in-memory database), or no log
    try:
        os.fsync(log)
    finally:
        os.close(log)


@contextlib.contextmanager
def _foreign_keys_off() -> Iterator[None]:
    """The register's foreign keys off for the merge (SQLite changes them only outside a
    transaction). Looking up each configuration's and key's record was a sixth of the merge;
    the checking processes look them up at once (_check_orphans), and their verdict decides the
    commit. A plan's merge also refuses them by itself (_merge_in_sqlite)."""
    connection.disable_constraint_checking()
    try:
        yield
    finally:
        connection.enable_constraint_checking()


def _any_stored(cursor: Any, vulns: str) -> bool:
    """Whether a record of the prepared file is stored already (the register's table is read
    first: when it is empty, as on a first load, the file's records are not looked up)."""
    cursor.execute(f"SELECT 1 FROM {vulns} LIMIT 1")  # noqa: S608
    if cursor.fetchone() is None:
        return False
    cursor.execute(
        "SELECT 1 FROM prepared.record AS p WHERE EXISTS "  # noqa: S608
        f"(SELECT 1 FROM {vulns} AS v WHERE v.vuln_id = p.vuln_id) LIMIT 1"
    )
    return cursor.fetchone() is not None


@contextlib.contextmanager
def _checks_done_elsewhere(cursor: Any) -> Iterator[None]:
    """The register's CHECK constraints (JSON_VALID of the JSON fields) off for the merge: the
    checking processes decode every JSON value into its type, and their verdict decides the
    commit (SQLite parsing that JSON again was a tenth of the merge's time)."""
    cursor.execute("PRAGMA ignore_check_constraints = ON")
    try:
        yield
    finally:
        cursor.execute("PRAGMA ignore_check_constraints = OFF")


@contextlib.contextmanager
def _indexes_built_after(cursor: Any, table: str) -> Iterator[None]:
    """Into an empty table, rows are inserted before its indexes are built, in the open
    transaction: one sort per index instead of an index entry in random order for each row
    (the CPE keys are hashes; a full NVD's took a third less time). The indexes are made again
    from their own stored SQL, so the schema ends as it was."""
    cursor.execute(f"SELECT 1 FROM {connection.ops.quote_name(table)} LIMIT 1")  # noqa: S608
    if cursor.fetchone() is not None:
        yield
        return
    cursor.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
        "AND sql IS NOT NULL",
        [table],
    )
    indexes = cursor.fetchall()
    for name, _sql in indexes:
        cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    yield
    for _name, sql in indexes:
        cursor.execute(sql)


def _update_in_sqlite(cursor: Any, vulns: str, configs: str, keys: str) -> None:
    """Later versions of stored records: NVD's fields rewritten, configurations and keys
    replaced, the scores as :class:`nvd._Writer` treats them (an advisory's stay unless NVD
    scores the record; NVD's own are cleared when NVD withdrew them)."""
    quote = connection.ops.quote_name
    sets = [f"{quote(n)} = p.{n}" for n in nvd._NVD_FIELDS]
    source = f"{vulns}.{quote('score_source')}"
    for name in nvd._SCORE_FIELDS:
        cleared = "NULL" if name.endswith("score") else "''"
        sets.append(
            f"{quote(name)} = CASE WHEN p.score_source = 'nvd' THEN p.{name} "
            f"WHEN {source} = 'nvd' THEN {cleared} ELSE {vulns}.{quote(name)} END"
        )
    sets.append(
        f"{quote('score_source')} = CASE WHEN p.score_source = 'nvd' THEN 'nvd' "
        f"WHEN {source} = 'nvd' THEN '' ELSE {source} END"
    )
    cursor.execute(
        f"UPDATE {vulns} SET {', '.join(sets)} FROM prepared.record AS p "  # noqa: S608
        f"JOIN temp.nvd_plan AS q ON q.n = p.n WHERE q.state = 1 AND {vulns}.id = q.pk"
    )
    for table in (configs, keys):
        cursor.execute(
            f"DELETE FROM {table} WHERE vulnerability_id IN "  # noqa: S608
            "(SELECT pk FROM temp.nvd_plan WHERE state = 1)"
        )


def _batches(path: str) -> Iterator[nvd.Batch]:
    """The prepared records as the importer's batches, in this database's form (for a merge
    through :class:`nvd._Writer`: PostgreSQL, or inside a transaction)."""
    prep = nvd._Prepare()
    db = _open_read_only(path)
    fields = Vulnerability._meta
    kinds = [fields.get_field(name).get_internal_type() for name in nvd._ROW_FIELDS]
    try:
        last = -1
        while True:
            rows = db.execute(
                f"SELECT {', '.join(_RECORD_COLUMNS)} FROM record WHERE n > ? "  # noqa: S608
                f"ORDER BY n LIMIT {nvd._BATCH}",
                [last],
            ).fetchall()
            if not rows:
                return
            first, last = rows[0][0], rows[-1][0]
            index = {row[0]: i for i, row in enumerate(rows)}
            batch = nvd._new_batch()
            for i, row in enumerate(rows):
                values = [
                    _value(kind, value, prep) for kind, value in zip(kinds, row[2:], strict=True)
                ]
                batch.ids.append(row[1])
                batch.modified.append(_aware(row[2 + nvd._ROW_FIELDS.index("nvd_modified")]))
                batch.vulns.extend((i, row[1], *values))
            for n, data in db.execute(
                "SELECT n, data FROM configuration WHERE n BETWEEN ? AND ? ORDER BY n",
                [first, last],
            ):
                batch.configs.extend((_index_of(index, n), data))
            for n, key in db.execute(
                "SELECT n, key FROM cpe_key WHERE n BETWEEN ? AND ? ORDER BY key", [first, last]
            ):
                batch.keys.extend((_index_of(index, n), key))
            yield batch
    finally:
        db.close()


def _index_of(index: dict[int, int], n: int) -> int:
    """The batch index of record ``n``; a configuration or key of no record is refused."""
    found = index.get(n)
    if found is None:
        raise _refused(_orphans())
    return found


def _aware(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.UTC)


def _value(kind: str, value: Any, prep: nvd._Prepare) -> Any:
    """A checked prepared value in this database's form."""
    if value is None:
        return None
    if kind == "DateTimeField":
        aware = _aware(value)
        return str(aware.replace(tzinfo=None)) if prep.sqlite_utc else prep.datetime(aware)
    if kind == "DecimalField":
        from decimal import Decimal

        return prep.score(Decimal(repr(value)).quantize(Decimal("0.1")))
    if kind == "JSONField":
        return prep.json(json.loads(value))
    return value


__all__ = [
    "MEMBER_FORMAT",
    "PREPARED_NAME",
    "check_schema",
    "check_values",
    "import_prepared",
    "prepare",
]
