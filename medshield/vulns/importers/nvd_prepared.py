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
  model fields, checked over the whole file in SQL and, for datetimes and JSON, in Python),
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
import sqlite3
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import msgspec
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
#: records checked at a time
_CHECK_ROWS = 20_000

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

    They are combined with AND, the whole made false where it is NULL (a NULL value). SQLite's
    lengths and patterns stop at a NUL character: text holding one is refused in Python
    (_check_text, _check_records).
    """
    meta = Vulnerability._meta
    rules = [
        ("n", f"typeof(n) = 'integer' AND n >= 0 AND n < {_MAX_N}"),
        (
            "vuln_id",
            "typeof(vuln_id) = 'text' AND vuln_id GLOB "
            "'CVE-[0-9][0-9][0-9][0-9]-[0-9][0-9][0-9][0-9]*' AND substr(vuln_id, 10) NOT GLOB "
            f"'*[^0-9]*' AND length(vuln_id) <= {meta.get_field('vuln_id').max_length}",
        ),
    ]
    for name in nvd._ROW_FIELDS:
        model_field = meta.get_field(name)
        kind = model_field.get_internal_type()
        if kind == "DateTimeField":
            # Their form is checked in Python (_python_checks). The importer writes NVD's
            # lastModified into both modified and nvd_modified, so one check reads both.
            rule = f"typeof({name}) = 'text'"
            if name == "nvd_modified":
                rule += " AND nvd_modified = modified"
        elif kind == "DecimalField":
            rule = (
                f"typeof({name}) IN ('integer', 'real') AND {name} BETWEEN 0 AND 10 "
                f"AND round({name}, 1) = {name}"
            )
        else:  # text, and JSON (whose content is checked in Python)
            limit = model_field.max_length or MAX_VALUE
            rule = f"typeof({name}) = 'text' AND length({name}) <= {limit}"
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


_JSON_TYPES: dict[str, Any] = {
    "cwes": msgspec.json.Decoder(list[str]),
    "cna_affected": msgspec.json.Decoder(list[_CnaEntry]),
}


def _json_of(decoder: Any) -> Callable[[tuple[Any, ...]], bool]:
    """A test of a column of JSON texts: each decodes into ``decoder``'s type."""

    def test(values: tuple[Any, ...]) -> bool:
        texts = [value for value in values if value != "[]"]
        try:
            all(map(decoder.decode, texts))
        except (msgspec.ValidationError, msgspec.DecodeError, TypeError):
            return False
        return True

    return test


def _datetimes(values: tuple[Any, ...]) -> bool:
    """Whether every value is a datetime as Django stores it on SQLite (naive, to the second
    or the microsecond: ``2024-01-02 03:04:05.678000``), or None.

    Parsed and written back by C code over the whole column: a value is in that form, and a
    date Python can hold (year 1 on, no February 30), when ``str(fromisoformat(value))``
    gives it back.
    """
    texts = [value for value in values if value is not None]
    try:
        return list(map(str, map(datetime.datetime.fromisoformat, texts))) == texts
    except (TypeError, ValueError):
        return False


def _python_checks() -> list[tuple[str, Callable[[tuple[Any, ...]], bool]]]:
    """(column, test of a column of values) checked in Python: datetimes (nvd_modified is
    modified, see _column_rules), and JSON decoded into the types the importer writes (a CWE
    list of strings, CNA entries of the matcher's shape)."""
    meta = Vulnerability._meta
    checks: list[tuple[str, Callable[[tuple[Any, ...]], bool]]] = []
    for name in nvd._ROW_FIELDS:
        kind = meta.get_field(name).get_internal_type()
        if kind == "DateTimeField" and name != "nvd_modified":
            checks.append((name, _datetimes))
        elif kind == "JSONField":
            checks.append((name, _json_of(_JSON_TYPES[name])))
    return checks


@dataclass
class _Checked:
    records: int
    skipped: list[tuple[str, str]]
    notes: list[str]


def _orphans() -> str:
    """The refusal of configurations or keys of no record (translated when raised)."""
    return _("has configurations or CPE keys of no record, or of another type")


def _bad_value(column: str, n: Any, vuln_id: Any) -> str:
    return _("has a value of {column} that is not one NVD gives (record {n}, {id!r})").format(
        column=column, n=n, id=str(vuln_id)[:80]
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
        _check_records(db)
        return _check_rest(db)


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


def _check_records(db: sqlite3.Connection) -> None:
    """Every value of every record."""
    # One pass over the records: the SQL rules as one flag, then the Python checks; the
    # failed rule is named.
    rules = _column_rules()
    checks = _python_checks()
    every_rule = f"coalesce({' AND '.join(f'({rule})' for _column, rule in rules)}, 0)"
    query = (
        f"SELECT n, vuln_id, {every_rule}, {', '.join(c for c, _test in checks)} "  # noqa: S608
        "FROM record"
    )
    cursor = db.execute(query)
    while rows := cursor.fetchmany(_CHECK_ROWS):
        columns = list(zip(*rows, strict=True))
        if "\0" in "".join(columns[1]):
            raise _refused(_("has text with a NUL character"))
        if 0 in columns[2]:
            n, vuln_id = rows[columns[2].index(0)][:2]
            row = db.execute(
                f"SELECT {', '.join(f'coalesce({rule}, 0)' for _c, rule in rules)} "  # noqa: S608
                "FROM record WHERE n = ?",
                [n],
            ).fetchone()
            column = next(c for (c, _rule), good in zip(rules, row, strict=True) if not good)
            raise _refused(_bad_value(column, n, vuln_id))
        for (name, test), values in zip(checks, columns[3:], strict=True):
            if not test(values):
                # Which record: tested one by one (only when the file is refused).
                n, vuln_id = next(
                    row[:2] for row, value in zip(rows, values, strict=True) if not test((value,))
                )
                raise _refused(_bad_value(name, n, vuln_id))


def _check_text(db: sqlite3.Connection) -> None:
    """The record's text columns not read otherwise are UTF-8: SQLite stores any bytes, and
    the register would fail reading them later. Descriptions are read as bytes, a chunk
    joined and decoded at once; the short columns are joined by SQLite into one text per
    chunk, which the sqlite3 module decodes. Values are lines apart, so that no two can make
    one character."""
    read = {"n", "vuln_id", "description"} | {name for name, _test in _python_checks()}
    short = " || char(10) || ".join(f"coalesce({c}, '')" for c in _RECORD_COLUMNS if c not in read)
    try:
        cursor = db.execute("SELECT CAST(description AS BLOB) FROM record")
        while rows := cursor.fetchmany(_CHECK_ROWS):
            joined = b"\n".join([row[0] or b"" for row in rows])
            joined.decode("utf-8")
            if b"\0" in joined:
                raise _refused(_("has text with a NUL character"))
        last = -1
        while True:
            last, text = db.execute(
                f"SELECT max(n), group_concat(line, char(10)) FROM (SELECT n, {short} AS line "  # noqa: S608
                f"FROM record WHERE n > ? ORDER BY n LIMIT {_CHECK_ROWS})",
                [last],
            ).fetchone()
            if last is None:
                break
            if "\0" in text:
                raise _refused(_("has text with a NUL character"))
    except (UnicodeDecodeError, TypeError):
        raise _refused(_("has text that is not UTF-8")) from None
    except sqlite3.OperationalError as exc:
        if "UTF-8" not in str(exc):
            raise
        raise _refused(_("has text that is not UTF-8")) from None


_CONFIGURATIONS = msgspec.json.Decoder(list[nvd_read.Configuration])


def _configurations_problem(data: str) -> str:
    """What is wrong with a record's stored configurations, or "" when they are exactly what
    the importer writes (nvd._applicability): NVD's shape re-encoded by the importer's own
    types (so no field the matcher would read other than NVD's own), with no configuration or
    node left empty, operators AND or OR, and every entry a CPE 2.3 name."""
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


def _check_rest(db: sqlite3.Connection) -> _Checked:
    """The counts, the configurations and keys, the skipped records and notes.

    No ``PRAGMA quick_check`` (a tenth of the checking time): the checks read every row of
    every table, which is all the merge reads, and SQLite refuses a damaged page it meets
    with an error (turned into the file's refusal), so damage cannot slip into the register.
    """
    said = db.execute("SELECT value FROM meta WHERE name = 'records'").fetchone()
    records = db.execute("SELECT count(*), count(DISTINCT vuln_id) FROM record").fetchone()
    if said is None or str(records[0]) != said[0] or records[0] != records[1]:
        raise _refused(_("lists a CVE twice, or another number of records than it says"))
    _check_text(db)
    # Of the records' range: one of no record inside it is refused by the merge (the
    # register's foreign keys, or the plan; see _merge_in_sqlite and _batches). Looking each one
    # up here would cost a tenth of the checking time.
    low, high = db.execute("SELECT min(n), max(n) FROM record").fetchone()
    orphan = db.execute(
        "SELECT 1 FROM configuration WHERE typeof(n) <> 'integer' OR typeof(data) <> 'text' "
        "OR length(data) > ? OR n NOT BETWEEN ? AND ? LIMIT 1",
        [MAX_VALUE, low, high],
    ).fetchone()
    orphan = (
        orphan
        or db.execute(
            "SELECT 1 FROM cpe_key WHERE typeof(n) <> 'integer' OR typeof(key) <> 'integer' "
            "OR n NOT BETWEEN ? AND ? LIMIT 1",
            [low, high],
        ).fetchone()
    )
    if orphan is not None:
        raise _refused(_orphans())
    cursor = db.execute("SELECT n, data FROM configuration")
    while rows := cursor.fetchmany(_CHECK_ROWS):
        for n, data in rows:
            problem = _configurations_problem(data)
            if problem:
                raise _refused(
                    _(
                        "has configurations the importer does not write (record {n}: {error})"
                    ).format(n=n, error=problem[:200])
                )
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
                with transaction.atomic(), nvd._page_cache(_MERGE_CACHE_KIB):
                    _merge_in_sqlite(stats)
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
        helpers.start(_check_part, part, path, name="medshield-nvd-check")
        for part in (_check_records, _check_rest)
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


def _check_part(
    part: Callable[[sqlite3.Connection], _Checked | None], path: str, report: helpers.Report
) -> None:
    """A forked helper: one part of the checks, reported as ("ok", counts or None)."""
    with _reading(path) as db:
        checked = part(db)
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
        cursor.execute(
            "SELECT 1 FROM prepared.record AS p WHERE EXISTS "  # noqa: S608
            f"(SELECT 1 FROM {vulns} AS v WHERE v.vuln_id = p.vuln_id) LIMIT 1"
        )
        if cursor.fetchone() is None:
            # None stored yet (a first load): every record is new, no plan is needed.
            base = writer._first_free_id(cursor)
            cursor.execute(insert_vulns + "FROM prepared.record AS p", [base])
            cursor.execute(insert_configs + "%s + n, data FROM prepared.configuration", [base])
            with _indexes_built_after(cursor, CpeKey._meta.db_table):
                cursor.execute(insert_keys + "%s + n, key FROM prepared.cpe_key", [base])
            cursor.execute("SELECT count(*) FROM prepared.record")
            stats.created += cursor.fetchone()[0]
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
