"""NVD CVE API 2.0 JSON: API responses, the NVD 2.0 feed files, and single ``cve`` records.

Records are streamed (:mod:`~medshield.vulns.importers.nvd_read` decodes pieces of a few MB with
msgspec, keeping only the stored fields) and written in batches with plain DB-API
``executemany``, so a yearly feed of hundreds of megabytes is read in bounded memory. A record
is updated only when its ``lastModified`` is later than the one stored; an older or equal one
is left alone, which makes a re-import write nothing. Its ``configurations`` are stored as one
compact JSON value (:class:`~medshield.vulns.models.NvdConfigurations`) with the distinct
vendor/product names of its vulnerable entries as integer keys
(:class:`~medshield.vulns.models.CpeKey`), both replaced as a whole when the record changes.

Why not a row per ``cpeMatch`` entry, as before: a full NVD is 1.6 million entries, and writing
them as 17-column rows under two indexes was most of the import (and of cve-bin-tool's, which
does the same). Per record one JSON value and one or two integer keys are about a fifth of the
bytes and a third of the index entries; the matcher reads whole configurations anyway.

On SQLite a large file is parsed in a forked process while this one writes: the machine's
second core does the decoding, and only ready-made values cross the pipe (as MessagePack). The
database work stays in the process that holds the transaction, so a refusal still stores nothing.

Spec: https://nvd.nist.gov/developers/vulnerabilities ("CVE API" response schema).
"""

from __future__ import annotations

import contextlib
import datetime
import gc
import itertools
import json
import os
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, NamedTuple

import msgspec
from django.db import connection
from django.utils.translation import gettext as _

from medshield.matching.names import normal_hash, normalize_name
from medshield.vulns.importers import helpers, nvd_read
from medshield.vulns.importers.base import (
    CVE_RE,
    FeedFile,
    FeedRejected,
    ImportStats,
    Progress,
    cvss3_from_vector,
    cvss4_from_vector,
    decimal_score,
    parse_datetime,
    severity_of,
    text,
)
from medshield.vulns.importers.nvd_read import Configuration, Cve, Metric, Metrics
from medshield.vulns.models import CpeKey, NvdConfigurations, Vulnerability

#: records per write
_BATCH = 2000
#: rows per INSERT statement (at most 19 parameters each: far below every backend's limit)
_ROWS_PER_INSERT = 50
#: key rows per INSERT statement (two parameters each)
_KEYS_PER_INSERT = 250
#: files from this size on (bytes on disk) are parsed in a second process, when that is safe
WORKER_MIN_BYTES = 8 << 20
#: notes (left-out CPE names) kept per file
_MAX_NOTES = 100

_CPE_SPLIT = re.compile(r"(?<!\\):")
_ENCODE = msgspec.json.Encoder().encode
#: (CPE vendor, product) -> CpeKey key, kept for the life of the process: NVD names about
#: 100,000 pairs, the same ones year after year, and normalising a name is the costly part. A
#: forked parser sends back the pairs it added, so the next file's parser starts with them.
_NAME_KEYS: dict[tuple[str, str], int] = {}
_MAX_NAME_KEYS = 400_000
#: the Vulnerability fields NVD owns, in the order :func:`_values` gives them
_NVD_FIELDS = (
    "description",
    "published",
    "modified",
    "nvd_modified",
    "nvd_status",
    "cwes",
    "cna_affected",
)
_SCORE_FIELDS = (
    "cvss3_score",
    "cvss3_vector",
    "cvss3_severity",
    "cvss4_score",
    "cvss4_vector",
    "cvss4_severity",
)
_ROW_FIELDS = (*_NVD_FIELDS, *_SCORE_FIELDS, "score_source")
_NO_SCORES = (None, "", "", None, "", "", "")

#: one parsed record: (CVE id, NVD lastModified, the values of _ROW_FIELDS in the backend's
#: form, its NvdConfigurations.data or None, its CpeKey keys)
Parsed = tuple[str, datetime.datetime, tuple[Any, ...], str | None, list[int]]


# --- from a Cve struct to values ----------------------------------------------------------------


def _metric(entries: list[Metric]) -> Any:
    """The cvssData of the first Primary (NVD's own) entry, else of the first one."""
    first = None
    for entry in entries:
        if entry.cvssData is not None:
            if entry.type == "Primary":
                return entry.cvssData
            if first is None:
                first = entry.cvssData
    return first


def _score(data: Any, limit: int, compute: Any) -> tuple[Decimal, str, str] | None:
    vector = text(data.vectorString, limit)
    score = decimal_score(data.baseScore)
    if score is None and vector:
        # The score is missing from the record: compute it rather than drop the vector.
        computed = compute(vector)
        score = computed[0] if computed else None
    if score is None:
        return None
    severity = str(data.baseSeverity or "").upper() or severity_of(score)
    return score, vector, severity[:8]


def _score_key(data: Any) -> Any:
    if data is None:
        return None
    score, severity = data.baseScore, data.baseSeverity
    # The types too: True == 1 as a key, but True is no score.
    return data.vectorString, score, severity, type(score), type(severity)


def _scores(v3: Any, v4: Any) -> tuple[Any, ...]:
    """The six score fields and the score source ("nvd", or "" when NVD gives no score)."""
    three = _score(v3, 100, cvss3_from_vector) if v3 is not None else None
    four = _score(v4, 200, cvss4_from_vector) if v4 is not None else None
    if three is None and four is None:
        return _NO_SCORES
    return (*(three or (None, "", "")), *(four or (None, "", "")), "nvd")


def _cwes(cve: Cve) -> list[str]:
    found: list[str] = []
    for weakness in cve.weaknesses:
        for description in weakness.description:
            value = description.value
            # NVD-CWE-noinfo / NVD-CWE-Other say "no CWE": not a weakness id.
            if type(value) is str and value.startswith("CWE-") and value not in found:
                found.append(value)
    return found


def _cna_affected(cve: Cve) -> list[dict[str, Any]]:
    """The CNA ``affected[].affectedData[]`` entries, kept to the keys the matcher reads."""
    return [
        {
            "vendor": text(data.vendor, 200),
            "product": text(data.product, 300),
            "versions": [
                {k: v for k, v in version.items() if isinstance(v, str)}
                for version in data.versions
                if isinstance(version, dict)
            ],
        }
        for block in cve.affected
        for data in block.affectedData
    ]


def _values(cve: Cve, modified: Any, prep: _Prepare) -> tuple[Any, ...]:
    """What NVD says of the record, in :data:`_ROW_FIELDS` order, in ``prep``'s form."""
    description = ""
    for entry in cve.descriptions:
        if entry.lang == "en":
            description = entry.value if type(entry.value) is str else ""
            break
    metrics = cve.metrics
    scores = _NO_SCORES if metrics is None else prep.scores(metrics)
    return (
        description,
        prep.time(cve.published, aware=False)[1],
        modified,
        modified,
        text(cve.vulnStatus, 30),
        prep.json(_cwes(cve)),
        prep.json(_cna_affected(cve)),
        *scores,
    )


class _Prepare:
    """The backend form of the values NVD gives, computed where the records are parsed.

    With ``raw`` the Python values the model takes (for comparing with the ORM in tests).
    On SQLite with the UTC database time zone (the default), NVD's times ("2024-01-02T03:04:05.
    678", UTC without a zone) become the text Django stores without an aware datetime in
    between: the conversion through the field was a fifth of the parse time.
    """

    def __init__(self, raw: bool = False, canonical: bool = False) -> None:
        meta = Vulnerability._meta
        self.raw = raw
        self.sqlite_utc = canonical or (
            not raw
            and connection.vendor == "sqlite"
            and getattr(connection, "timezone_name", "") == "UTC"
        )
        identity = _identity
        self.known_scores: dict[Any, tuple[Any, ...]] = {}
        if canonical:
            # SQLite's stored form with the UTC database time zone, whatever this machine's
            # database is: what a prepared NVD file holds (nvd_prepared).
            self.score, self.json, self.datetime = str, _json_text, _utc_text
            return
        self.score = identity if raw else _cached_prep(meta.get_field("cvss3_score"))
        self.json = identity if raw else _cached_prep(meta.get_field("cwes"))
        self.datetime = identity if raw else _cached_prep(meta.get_field("modified"))

    def scores(self, metrics: Metrics) -> tuple[Any, ...]:
        """The score fields of the record (:func:`_scores`) in this form.

        Remembered by what they are computed from: NVD uses a few thousand distinct vectors.
        """
        v3 = _metric(metrics.cvssMetricV31) or _metric(metrics.cvssMetricV30)
        v4 = _metric(metrics.cvssMetricV40)
        key = (_score_key(v3), _score_key(v4))
        try:
            known = self.known_scores.get(key)
        except TypeError:  # not hashable: not what NVD writes, but not refused here either
            return self._prepared(_scores(v3, v4))
        if known is not None:
            return known
        if len(self.known_scores) > 10_000:
            self.known_scores.clear()
        found = self.known_scores[key] = self._prepared(_scores(v3, v4))
        return found

    def _prepared(self, scores: tuple[Any, ...]) -> tuple[Any, ...]:
        if not scores[-1]:
            return scores
        score = self.score
        return (
            score(scores[0]) if scores[0] is not None else None,
            scores[1],
            scores[2],
            score(scores[3]) if scores[3] is not None else None,
            *scores[4:],
        )

    def time(self, value: Any, aware: bool = True) -> tuple[datetime.datetime | None, Any]:
        """(datetime, backend form) of an NVD time; (None, None) when it is not one.

        The datetime is aware unless ``aware`` is False (then it is only tested for None).
        """
        if self.sqlite_utc and type(value) is str:
            try:
                naive = datetime.datetime.fromisoformat(value)
            except ValueError:
                naive = None
            if naive is not None and naive.tzinfo is None:
                return (naive.replace(tzinfo=datetime.UTC) if aware else naive), str(naive)
        aware = parse_datetime(value)
        return aware, (None if aware is None else self.datetime(aware))


def _identity(value: Any) -> Any:
    return value


def _json_text(value: Any) -> str:
    """A JSONField value as Django writes it on SQLite."""
    return json.dumps(value)


def _utc_text(value: datetime.datetime) -> str:
    """An aware datetime as Django writes it on SQLite with the UTC database time zone."""
    return str(value.astimezone(datetime.UTC).replace(tzinfo=None))


def _applicability(
    cve_id: str, configurations: list[Configuration], notes: list[str], hashes: dict[Any, int]
) -> tuple[str | None, set[int]]:
    """A record's configurations as NvdConfigurations.data, and its CpeKey keys.

    The configurations are stored re-encoded as msgspec decoded them (NVD's JSON less the fields
    the matcher does not read), which costs no Python work per entry. What is done per entry
    (four per record in NVD) is kept lean: the CPE name checked and split, plainly unless it
    holds an escape, and the key of a vendor/product pair computed once (``hashes`` lives as
    long as the process, see :data:`_NAME_KEYS`). A record with an entry that is not a CPE 2.3
    name, an empty node or an operator NVD does not write is cleaned first (:func:`_cleaned`).
    """
    keys: set[int] = set()
    clean = True
    for config in configurations:
        if not config.nodes or config.operator not in _OPERATORS:
            clean = False
        for node in config.nodes:
            if not node.cpeMatch or node.operator not in _OPERATORS:
                clean = False
            for match in node.cpeMatch:
                criteria = match.criteria
                if not criteria.startswith("cpe:2.3:") or len(criteria) > 400:
                    clean = False
                    continue
                parts = (
                    criteria.split(":", 5)
                    if "\\" not in criteria
                    else _CPE_SPLIT.split(criteria, 5)
                )
                if len(parts) < 6:
                    clean = False
                elif match.vulnerable:
                    pair = (parts[3], parts[4])
                    key = hashes.get(pair)
                    if key is None:
                        key = hashes[pair] = normal_hash(
                            normalize_name(parts[3]), normalize_name(parts[4])
                        )
                    keys.add(key)
    if not clean:
        configurations = _cleaned(cve_id, configurations, notes)
    return (_ENCODE(configurations).decode() if configurations else None), keys


_OPERATORS = ("OR", "AND")


def _cleaned(
    cve_id: str, configurations: list[Configuration], notes: list[str]
) -> list[Configuration]:
    """The configurations without the entries that are not CPE 2.3 names (noted), the nodes
    and configurations left empty (the matcher has nothing to test in them), and with the
    operator AND or OR."""
    replace = msgspec.structs.replace
    configs = []
    for config in configurations:
        nodes = []
        for node in config.nodes:
            matches = []
            for match in node.cpeMatch:
                criteria = match.criteria
                parts = _CPE_SPLIT.split(criteria, 5) if criteria.startswith("cpe:2.3:") else ()
                if len(parts) < 6 or len(criteria) > 400:
                    if len(notes) < _MAX_NOTES:
                        notes.append(_left_out(cve_id, criteria))
                    continue
                matches.append(match)
            if matches:
                nodes.append(replace(node, cpeMatch=matches, operator=_operator(node.operator)))
        if nodes:
            configs.append(replace(config, nodes=nodes, operator=_operator(config.operator)))
    return configs


def _operator(value: str) -> str:
    return "AND" if value.strip().upper() == "AND" else "OR"


def _left_out(cve_id: str, criteria: Any) -> str:
    return _("{id}: CPE match {criteria!r} is not a CPE 2.3 name; left out").format(
        id=cve_id, criteria=criteria
    )


def _said(cve: Cve, stats: ImportStats) -> dict[str, Any]:
    """What the file says of a record, as model field values, ``_configurations`` (the
    NvdConfigurations.data, or None) and ``_keys`` (the CpeKey keys, sorted): for tests."""
    modified = parse_datetime(cve.lastModified)
    said = dict(zip(_ROW_FIELDS, _values(cve, modified, _Prepare(raw=True)), strict=True))
    data, keys = _applicability(cve.id, cve.configurations, stats.notes, {})
    said["_configurations"] = data
    said["_keys"] = sorted(keys)
    return said


# --- parsing ------------------------------------------------------------------------------------


class Batch(NamedTuple):
    """What the parser hands the writer for up to :data:`_BATCH` records, flat.

    Flat lists of plain values cross the pipe from the parser process cheaply and go straight
    into multi-row INSERTs as parameters, without a Python object per row on the writer's side.
    """

    #: the CVE ids, in file order
    ids: list[str]
    #: their NVD lastModified (aware datetimes)
    modified: list[datetime.datetime]
    #: per record: its index in the batch, its id, then the values of _ROW_FIELDS
    vulns: list[Any]
    #: per record with configurations: its index in the batch, then NvdConfigurations.data
    configs: list[Any]
    #: per CpeKey row: the index of its record in the batch, then the key (ordered by key); while
    #: the batch is filled, (key, index) pairs
    keys: list[Any]
    notes: list[str]
    #: records skipped, with why
    skipped: list[tuple[str, str]]
    #: bytes of the file read so far
    position: int


_VULN_WIDTH = 2 + len(_ROW_FIELDS)


def _parse(feed: FeedFile, wrapped: bool, prep: _Prepare | None = None) -> Iterator[Batch]:
    """The file's records as ready values (in ``prep``'s form, by default the database's), by
    batches of :data:`_BATCH`."""
    prep = prep or _Prepare()
    if len(_NAME_KEYS) > _MAX_NAME_KEYS:
        _NAME_KEYS.clear()
    hashes = _NAME_KEYS
    match_id = CVE_RE.match
    batch = _new_batch()
    position = 0
    try:
        for cves in nvd_read.records(feed, wrapped):
            for cve in cves:
                position += 1
                cve_id = cve.id if cve is not None else None
                if type(cve_id) is not str:
                    raise FeedRejected(
                        _("record {n} has no CVE 'id'; not an NVD CVE record").format(n=position)
                    )
                if not match_id(cve_id):
                    raise FeedRejected(_("{id!r} is not a CVE id").format(id=cve_id))
                modified, stored_form = prep.time(cve.lastModified)
                if modified is None:
                    raise FeedRejected(
                        _("{id}: 'lastModified' is missing or not a date").format(id=cve_id)
                    )
                if cve.vulnStatus == "Rejected":
                    # A rejected CVE names no vulnerability (STYLE rule 10: skip and say why).
                    batch.skipped.append((cve_id, _("rejected by its CNA")))
                    continue
                index = len(batch.ids)
                batch.ids.append(cve_id)
                batch.modified.append(modified)
                batch.vulns.append(index)
                batch.vulns.append(cve_id)
                batch.vulns.extend(_values(cve, stored_form, prep))
                if cve.configurations:
                    data, keys = _applicability(cve_id, cve.configurations, batch.notes, hashes)
                    if data is not None:
                        batch.configs.append(index)
                        batch.configs.append(data)
                    for key in keys:
                        batch.keys.append((key, index))
                if index + 1 >= _BATCH:
                    yield _ready(batch, feed)
                    batch = _new_batch()
    except nvd_read.Malformed as exc:
        raise FeedRejected(
            _("the JSON is malformed or truncated ({error})").format(error=str(exc)[:200])
        ) from None
    yield _ready(batch, feed)


def _ready(batch: Batch, feed: FeedFile) -> Batch:
    """The batch to hand over, its key rows sorted by key and flat.

    Keys are hashes: inserted in random order, each one lands on another page of the index,
    which took a third more time than inserting each batch's keys in order.
    """
    batch.keys.sort()
    return batch._replace(
        keys=[value for key, index in batch.keys for value in (index, key)],
        position=feed.position(),
    )


def _new_batch() -> Batch:
    return Batch([], [], [], [], [], [], [], 0)


def _use_worker(feed: FeedFile) -> bool:
    """Whether to parse in a forked process: SQLite, a large file, two cores, no other threads.

    Forking a process that runs other threads (a web server's) could copy a lock some thread
    holds; the command line is single-threaded. The values that cross the pipe are in SQLite's
    form (PostgreSQL's JSON values are adapter objects, not plain values).
    """
    return (
        connection.vendor == "sqlite"
        and feed.size >= WORKER_MIN_BYTES
        and (os.cpu_count() or 1) > 1
        and helpers.can_fork()
    )


def _worker(feed: FeedFile, wrapped: bool, report: helpers.Report) -> None:
    """The forked parser: reports each batch, then ("done", the name keys it added)."""
    gc.disable()  # short-lived, and its data has no cycles
    known = len(_NAME_KEYS)
    for batch in _parse(feed, wrapped):
        report(("batch", batch))
    added: list[Any] = []
    for (vendor, product), key in itertools.islice(
        _NAME_KEYS.items(), known if len(_NAME_KEYS) >= known else 0, None
    ):
        added += (vendor, product, key)
    report(("done", added))


def _parsed_in_worker(feed: FeedFile, wrapped: bool) -> Iterator[Batch]:
    # MessagePack, not pickle: a batch is flat lists of strings, numbers and datetimes, which
    # msgspec packs and unpacks in a third of pickle's time (datetimes come back aware, UTC).
    helper = helpers.start(_worker, feed, wrapped, name="medshield-nvd-parser")
    try:
        while True:
            try:
                kind, payload = helper.message()
            except EOFError:
                raise RuntimeError("the NVD parser process ended without a result") from None
            if kind == "batch":
                yield Batch(*payload)
            elif kind == "done":
                if len(_NAME_KEYS) + len(payload) // 3 > _MAX_NAME_KEYS:
                    _NAME_KEYS.clear()
                for at in range(0, len(payload), 3):
                    _NAME_KEYS[payload[at], payload[at + 1]] = payload[at + 2]
                return
            elif kind == "refused":
                raise FeedRejected(payload)
            else:
                raise RuntimeError(f"the NVD parser process failed:\n{payload}")
    finally:
        helper.stop()


# --- writing ------------------------------------------------------------------------------------


def import_nvd(feed: FeedFile, *, wrapped: bool, progress: Progress | None) -> ImportStats:
    """Import an NVD CVE API 2.0 file (``wrapped``: a ``{"vulnerabilities": [...]}`` response)."""
    stats = ImportStats()
    writer = _Writer()
    batches = _parsed_in_worker(feed, wrapped) if _use_worker(feed) else _parse(feed, wrapped)
    # closing(): a failed write stops (and waits for) the parser process at once.
    with _page_cache(), _no_gc(), contextlib.closing(batches):
        for batch in batches:
            for cve_id, reason in batch.skipped:
                stats.skip(cve_id, reason)
            stats.notes.extend(batch.notes[: max(0, _MAX_NOTES - len(stats.notes))])
            writer.write(batch, stats)
            if progress:
                progress(batch.position, feed.size)
    if progress:
        progress(feed.size, feed.size)
    if not stats.created and not stats.updated and not stats.unchanged and not stats.refused:
        raise FeedRejected(_("the file holds no CVE records"))
    return stats


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """The cyclic collector paused while a file is imported.

    An import allocates millions of short-lived tuples without cycles; the collector's passes
    over them cost a third of the parse time and free nothing that reference counting does not.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextlib.contextmanager
def _page_cache(kib: int = 256 * 1024) -> Iterator[None]:
    """A larger SQLite page cache while importing, restored afterwards.

    SQLite's default 2 MB cache makes every insert into the (vendor, product) and foreign key
    indexes of 1.6 million ranges a page read once the indexes outgrow it. cache_size only sets
    how much memory this connection may use: it changes nothing durable, inside a transaction too.
    """
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA cache_size = -{int(kib)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(before)}")


def _default_literal(field: Any) -> str:
    """The model default of ``field`` as an SQL literal (defaults are code, never input).

    The INSERT names the fields NVD sets as parameters and the others as these constants:
    binding a dozen defaults per row was a good part of the time the rows took to write.
    """
    value = field.get_default()
    if isinstance(value, list | dict):
        value = json.dumps(value)
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no SQL literal for the default of {field}")


def _cached_prep(field: Any) -> Any:
    """The field's own preparation, remembered for values that repeat a lot.

    Scores, dates and lists of strings (the CWEs of a record) are remembered; other lists and
    objects (the CNA's affected entries) are prepared each time.
    """
    cache: dict[Any, Any] = {}

    def prepare(value: Any) -> Any:
        if isinstance(value, list | dict):
            if type(value) is not list or not all(type(v) is str for v in value):
                return field.get_db_prep_save(value, connection)
            key: Any = (list, *value)  # the list's strings, apart from any scalar key
        else:
            key = value
        try:
            return cache[key]
        except KeyError:
            prepared = cache[key] = field.get_db_prep_save(value, connection)
            if len(cache) > 10_000:
                cache.clear()
            return prepared

    return prepare


class _Insert:
    """An INSERT of many rows, :data:`_ROWS_PER_INSERT` per statement.

    A statement of many rows costs a quarter less than one ``executemany`` step per row: the
    per-statement work of the driver and of SQLite's VM is paid once per group.
    """

    def __init__(self, head: str, values: list[str]) -> None:
        row = f"({', '.join(values)})"
        self.one = f"{head} VALUES {row}"
        self.group = f"{head} VALUES {', '.join([row] * _ROWS_PER_INSERT)}"
        self.sqlite = connection.vendor == "sqlite"
        if self.sqlite:
            # Run on the sqlite3 cursor itself with its own placeholders: Django's wrapper
            # rewrites %s to ? with a regular expression on every call.
            self.one = self.one.replace("%s", "?")
            self.group = self.group.replace("%s", "?")

    def run(self, cursor: Any, rows: list[Any]) -> None:
        """INSERT ``rows`` with ``cursor`` (Django's), in the connection's open transaction."""
        if self.sqlite:
            connection.ensure_connection()
            cursor = connection.connection.cursor()
        size = _ROWS_PER_INSERT
        whole = len(rows) - len(rows) % size
        for start in range(0, whole, size):
            params: list[Any] = []
            for row in rows[start : start + size]:
                params += row
            cursor.execute(self.group, params)
        if whole < len(rows):
            cursor.executemany(self.one, rows[whole:])


class _FlatInsert:
    """SQLite INSERTs of rows given flat, each led by an offset added to a base id.

    ``?1`` is the base; each row's first value is its record's index in the batch, so its id
    (or its vulnerability's id) is ``?1 + index`` computed by SQLite rather than in Python.
    """

    def __init__(
        self,
        head: str,
        width: int,
        literals: list[str] | None = None,
        rows: int = _ROWS_PER_INSERT,
    ) -> None:
        self.head = head
        self.width = width
        self.literals = literals or []
        self.rows = rows
        self.statements: dict[int, str] = {}

    def _sql(self, rows: int) -> str:
        sql = self.statements.get(rows)
        if sql is None:
            parts = []
            for row in range(rows):
                first = 2 + row * self.width
                values = [f"?1 + ?{first}"]
                values += [f"?{first + i}" for i in range(1, self.width)]
                parts.append(f"({', '.join([*values, *self.literals])})")
            sql = self.statements[rows] = f"{self.head} VALUES {', '.join(parts)}"
        return sql

    def run(self, cursor: Any, base: int, flat: list[Any]) -> None:
        step = self.width * self.rows
        whole = len(flat) - len(flat) % step
        group = self._sql(self.rows)
        for start in range(0, whole, step):
            cursor.execute(group, [base, *flat[start : start + step]])
        if whole < len(flat):
            cursor.execute(self._sql((len(flat) - whole) // self.width), [base, *flat[whole:]])


def _records(batch: Batch) -> list[Parsed]:
    """The batch as one tuple per record (for the general path of the writer)."""
    vulns = batch.vulns
    configs = dict(zip(batch.configs[::2], batch.configs[1::2], strict=True))
    keys: dict[int, list[int]] = {}
    for index, key in zip(batch.keys[::2], batch.keys[1::2], strict=True):
        keys.setdefault(index, []).append(key)
    return [
        (
            cve_id,
            batch.modified[i],
            tuple(vulns[i * _VULN_WIDTH + 2 : (i + 1) * _VULN_WIDTH]),
            configs.get(i),
            keys.get(i, []),
        )
        for i, cve_id in enumerate(batch.ids)
    ]


class _Writer:
    """Writes batches of parsed records with DB-API ``executemany`` in the open transaction."""

    def __init__(self) -> None:
        quote = connection.ops.quote_name
        meta = Vulnerability._meta
        self.sqlite = connection.vendor == "sqlite"
        vulns = quote(meta.db_table)
        self.vulns = vulns
        # Table and column names come from the models and are quoted; values are parameters,
        # apart from the model defaults of the fields NVD does not set (see _default_literal).
        given = ["vuln_id", *_ROW_FIELDS]
        if self.sqlite:
            given.insert(0, "id")  # ids are given: no read-back of 400,000 ids
        others = [f for f in meta.concrete_fields if not f.primary_key and f.name not in given]
        columns = [quote(meta.get_field(n).column) for n in given]
        columns += [quote(f.column) for f in others]
        values = ["%s"] * len(given) + [_default_literal(f) for f in others]
        #: the columns NVD does not set, and their defaults (for nvd_prepared's INSERT)
        self.other_columns = [quote(f.column) for f in others]
        self.other_literals = [_default_literal(f) for f in others]
        self.insert_vulns = _Insert(f"INSERT INTO {vulns} ({', '.join(columns)})", values)
        configs, keys = NvdConfigurations._meta, CpeKey._meta
        self.configs = quote(configs.db_table)
        self.keys = quote(keys.db_table)
        insert_configs = (
            f"INSERT INTO {self.configs} ({quote(configs.get_field('vulnerability').column)}, "
            f"{quote(configs.get_field('data').column)})"
        )
        insert_keys = (
            f"INSERT INTO {self.keys} ({quote(keys.get_field('vulnerability').column)}, "
            f"{quote(keys.get_field('key').column)})"
        )
        self.insert_configs = _Insert(insert_configs, ["%s", "%s"])
        self.insert_keys = _Insert(insert_keys, ["%s", "%s"])
        if self.sqlite:
            self.flat_vulns = _FlatInsert(
                f"INSERT INTO {vulns} ({', '.join(columns)})",
                _VULN_WIDTH,
                [_default_literal(f) for f in others],
            )
            self.flat_configs = _FlatInsert(insert_configs, 2, rows=_KEYS_PER_INSERT)
            self.flat_keys = _FlatInsert(insert_keys, 2, rows=_KEYS_PER_INSERT)
        nvd_set = ", ".join(f"{quote(n)} = %s" for n in _NVD_FIELDS)
        scored = ", ".join(f"{quote(n)} = %s" for n in (*_SCORE_FIELDS, "score_source"))
        source = quote("score_source")
        # NVD withdrew its scores: clear them rather than keep stale numbers; an advisory's stay.
        cleared = ", ".join(
            f"{quote(n)} = CASE WHEN {source} = 'nvd' THEN "
            f"{'NULL' if n.endswith('score') else chr(39) * 2} ELSE {quote(n)} END"
            for n in _SCORE_FIELDS
        )
        cleared += f", {source} = CASE WHEN {source} = 'nvd' THEN '' ELSE {source} END"
        self.update_scored = f"UPDATE {vulns} SET {nvd_set}, {scored} WHERE id = %s"  # noqa: S608
        self.update_unscored = f"UPDATE {vulns} SET {nvd_set}, {cleared} WHERE id = %s"  # noqa: S608
        self.next_id: int | None = None

    def _first_free_id(self, cursor: Any) -> int:
        """The id SQLite's AUTOINCREMENT would give next: above every id the table ever had."""
        cursor.execute(f"SELECT max(id) FROM {self.vulns}")  # noqa: S608
        highest = cursor.fetchone()[0] or 0
        cursor.execute(
            "SELECT seq FROM sqlite_sequence WHERE name = %s", [Vulnerability._meta.db_table]
        )
        found = cursor.fetchone()
        return max(highest, found[0] if found else 0) + 1

    def _stored(self, cursor: Any, ids: list[str]) -> dict[str, tuple[int, Any]]:
        """vuln_id -> (pk, NVD lastModified) of the ids already stored.

        Raw SQL: the ORM's ``__in`` lookup prepares each of thousands of parameters in Python.
        """
        if not ids:
            return {}
        if self.sqlite:
            # A yearly feed's ids are one range no stored id falls in, the first time: one
            # probe of the index rather than thousands. SQLite compares text byte by byte, as
            # min() and max() do (PostgreSQL's collation may not).
            cursor.execute(
                f"SELECT 1 FROM {self.vulns} WHERE vuln_id BETWEEN %s AND %s LIMIT 1",  # noqa: S608
                [min(ids), max(ids)],
            )
            if cursor.fetchone() is None:
                return {}
        cursor.execute(
            f"SELECT vuln_id, id, nvd_modified FROM {self.vulns} "  # noqa: S608
            f"WHERE vuln_id IN ({', '.join(['%s'] * len(ids))})",
            ids,
        )
        convert = self.to_datetime
        return {vuln_id: (pk, convert(modified)) for vuln_id, pk, modified in cursor.fetchall()}

    def to_datetime(self, value: Any) -> datetime.datetime | None:
        """A stored datetime as the aware datetime the ORM would give."""
        if value is None or (isinstance(value, datetime.datetime) and value.tzinfo is not None):
            return value
        if hasattr(connection.ops, "convert_datetimefield_value"):  # SQLite, MySQL, Oracle
            return connection.ops.convert_datetimefield_value(value, None, connection)
        return value

    def write(self, batch: Batch, stats: ImportStats) -> None:
        if not batch.ids:
            return
        with connection.cursor() as cursor:
            stored = self._stored(cursor, batch.ids)
            if self.sqlite and not stored and len(set(batch.ids)) == len(batch.ids):
                # All new (a first load): the flat values go in as they came, under ids
                # given in file order, so the ranges find their record's id by its index.
                first = self._take_ids(cursor, len(batch.ids))
                raw = connection.connection.cursor()
                self.flat_vulns.run(raw, first, batch.vulns)
                self.flat_configs.run(raw, first, batch.configs)
                self.flat_keys.run(raw, first, batch.keys)
                stats.created += len(batch.ids)
                return
            self._write_records(cursor, _records(batch), stored, stats)

    def _take_ids(self, cursor: Any, count: int) -> int:
        if self.next_id is None:
            self.next_id = self._first_free_id(cursor)
        first = self.next_id
        self.next_id += count
        return first

    def _write_records(
        self,
        cursor: Any,
        records: list[Parsed],
        stored: dict[str, tuple[int, Any]],
        stats: ImportStats,
    ) -> None:
        """Records some of which are stored already, or repeated, or for PostgreSQL."""
        # A CVE repeated in a batch: its latest version wins (the first of equal ones), as it
        # does between batches and files (and in nvd_prepared).
        wanted: dict[str, Parsed] = {}
        for record in records:
            seen = wanted.get(record[0])
            if seen is None or seen[1] < record[1]:
                wanted[record[0]] = record
        fresh: list[Parsed] = []
        older: list[tuple[int, Parsed]] = []
        for vuln_id, record in wanted.items():
            found = stored.get(vuln_id)
            if found is None:
                fresh.append(record)
            elif found[1] is None or found[1] < record[1]:
                older.append((found[0], record))
            else:
                stats.unchanged += 1  # the stored record is as new or newer
        pks: dict[str, int] = {}
        if older:
            self._update(cursor, older)
            pks.update((record[0], pk) for pk, record in older)
        if fresh:
            pks.update(self._insert(cursor, fresh))
        stats.created += len(fresh)
        stats.updated += len(older)
        configs: list[tuple[int, str]] = []
        keys: list[tuple[int, int]] = []
        for record in (*fresh, *(record for _pk, record in older)):
            pk = pks[record[0]]
            if record[3] is not None:
                configs.append((pk, record[3]))
            keys += [(pk, key) for key in record[4]]
        self.insert_configs.run(cursor, configs)
        self.insert_keys.run(cursor, keys)

    def _update(self, cursor: Any, older: list[tuple[int, Parsed]]) -> None:
        """New versions of stored records: NVD's fields rewritten, their ranges replaced."""
        scored, unscored = [], []
        width = len(_NVD_FIELDS)
        for pk, (_id, _modified, values, _data, _keys) in older:
            if values[-1] == "nvd":
                scored.append((*values, pk))
            else:
                unscored.append((*values[:width], pk))
        cursor.executemany(self.update_scored, scored)
        cursor.executemany(self.update_unscored, unscored)
        # NVD re-issues the configurations whole on every change.
        pks = [pk for pk, _record in older]
        marks = ", ".join(["%s"] * len(pks))
        cursor.execute(f"DELETE FROM {self.configs} WHERE vulnerability_id IN ({marks})", pks)  # noqa: S608
        cursor.execute(f"DELETE FROM {self.keys} WHERE vulnerability_id IN ({marks})", pks)  # noqa: S608

    def _insert(self, cursor: Any, fresh: list[Parsed]) -> dict[str, int]:
        if not self.sqlite:
            self.insert_vulns.run(cursor, [(record[0], *record[2]) for record in fresh])
            return dict(
                Vulnerability.objects.filter(
                    vuln_id__in=[record[0] for record in fresh]
                ).values_list("vuln_id", "pk")
            )
        first = self._take_ids(cursor, len(fresh))
        self.insert_vulns.run(
            cursor, [(pk, record[0], *record[2]) for pk, record in enumerate(fresh, first)]
        )
        return {record[0]: pk for pk, record in enumerate(fresh, first)}
