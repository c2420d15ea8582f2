"""NVD CVE API 2.0 JSON: API responses, the NVD 2.0 feed files, and single ``cve`` records.

Records are streamed: the file is read in chunks and each record parsed whole by the C decoder
of :mod:`json`, so a yearly feed of hundreds of megabytes is read in constant memory, and written
in batches. A record is updated only when its ``lastModified`` is
later than the one stored; an older or equal one is left alone, which makes a re-import write
nothing. Its ``configurations`` are flattened into :class:`~medshield.vulns.models.CpeMatch`
rows (replaced as a whole when the record changes).

Spec: https://nvd.nist.gov/developers/vulnerabilities ("CVE API" response schema).
"""

from __future__ import annotations

import codecs
import contextlib
import datetime
import json
import re
from collections.abc import Iterator
from typing import Any

from django.db import connection
from django.utils.translation import gettext as _

from medshield.vulns.importers.base import (
    CVE_RE,
    FeedFile,
    FeedRejected,
    ImportStats,
    Progress,
    cvss3_from_vector,
    cvss4_from_vector,
    decimal_score,
    fast_insert,
    parse_datetime,
    severity_of,
    text,
    upsert_vulnerabilities,
)
from medshield.vulns.models import CpeMatch, Vulnerability

#: records per write: larger than the shared BATCH, as each batch costs a few queries
_BATCH = 4000

_CPE_SPLIT = re.compile(r"(?<!\\):")
_MATCH_FIELDS = (
    "config",
    "config_and",
    "config_negate",
    "node",
    "node_and",
    "node_negate",
    "vulnerable",
    "criteria",
    "part",
    "vendor",
    "product",
    "version",
    "start",
    "start_incl",
    "end",
    "end_incl",
)


#: text decoded per read; a record is parsed from it as a whole by the C JSON decoder
_CHUNK = 1 << 20
#: the largest a single record (or any other top-level value) may be; NVD's largest are ~1 MB
_MAX_VALUE = 64 << 20
_SPACE = re.compile(r"[ \t\n\r]*")
_NUMBER_TAIL = re.compile(r"[0-9.eE+-]*")
_NUMBERS = (int, float)


class _JSONStream:
    """A JSON text read in chunks, each top-level value or record parsed whole by ``json``.

    The C decoder of the standard library is faster than an event parser building the same
    objects, and its own recursion limit (about a thousand levels) bounds the nesting: a deeper
    value raises RecursionError at once, without a walk over every value of every record.
    """

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.scan = json.JSONDecoder().raw_decode
        self.buf = ""
        self.pos = 0
        self.eof = False

    def _fill(self) -> bool:
        """Read more text; False at the end of the file."""
        if self.eof:
            return False
        pending = len(self.buf) - self.pos
        if pending > _MAX_VALUE:
            raise FeedRejected(
                _("a value of the JSON is larger than {mb} MB; refused").format(mb=_MAX_VALUE >> 20)
            )
        data = self.stream.read(max(_CHUNK, pending))
        try:
            text = self.decoder.decode(data, final=not data)
        except UnicodeDecodeError:
            raise FeedRejected(_("the file is not UTF-8 text")) from None
        self.eof = not data
        self.buf = self.buf[self.pos :] + text
        self.pos = 0
        return True

    def peek(self) -> str:
        """The next character that is not white space ("" at the end of the file)."""
        while True:
            self.pos = _SPACE.match(self.buf, self.pos).end()
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._fill():
                return ""

    def expect(self, chars: str) -> str:
        char = self.peek()
        if not char or char not in chars:
            raise _Malformed(f"expected {chars!r} at {char!r}" if char else "unexpected end")
        self.pos += 1
        return char

    def value(self) -> Any:
        """The next value, parsed whole."""
        if not self.peek():
            raise _Malformed("unexpected end")
        while True:
            try:
                value, end = self.scan(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                # Only an error at the end of the text read may be a value cut by the read; an
                # error before it is the file's, and is reported without reading on.
                if _cut_short(exc, len(self.buf)) and self._fill():
                    continue
                raise _Malformed(str(exc)) from None
            except RecursionError:
                raise FeedRejected(
                    _("a record nests deeper than any NVD record; refused")
                ) from None
            # A number followed by nothing but number characters up to the end of the text read
            # ("1" of "12", "1" of "1.5") may go on in the next read: read on and parse again.
            if type(value) in _NUMBERS and _NUMBER_TAIL.fullmatch(self.buf, end) and self._fill():
                continue
            self.pos = end
            return value


class _Malformed(Exception):
    """The JSON text is not well formed or ends early."""


def _cut_short(error: json.JSONDecodeError, length: int) -> bool:
    """Whether ``error`` may come from a value that goes on after the ``length`` read so far.

    The decoder reports a string without its closing quote at the string's start, and every
    other cut (in a number, a word, a ``\\u`` escape, between values) within a few characters
    of the end.
    """
    return error.pos >= length - 16 or error.msg.startswith("Unterminated string")


def _items(reader: _JSONStream) -> Iterator[Any]:
    """The items of the top-level ``vulnerabilities`` array (of every one, as ijson would)."""
    reader.expect("{")
    if reader.peek() == "}":
        reader.pos += 1
        return
    while True:
        if reader.peek() != '"':
            reader.expect('"')
        key = reader.value()
        reader.expect(":")
        if key == "vulnerabilities" and reader.peek() == "[":
            reader.pos += 1
            if reader.peek() == "]":
                reader.pos += 1
            else:
                while True:
                    yield reader.value()
                    if reader.expect(",]") == "]":
                        break
        else:
            reader.value()
        if reader.expect(",}") == "}":
            return


def _records(feed: FeedFile, wrapped: bool) -> Iterator[Any]:
    """The ``cve`` objects of the file, one at a time."""
    reader = _JSONStream(feed.stream)
    if wrapped:
        for item in _items(reader):
            if not isinstance(item, dict):
                raise FeedRejected(_("an entry of 'vulnerabilities' is not an object"))
            yield item.get("cve")
    else:
        yield reader.value()
    if reader.peek():
        raise _Malformed("trailing data after the JSON value")


def _metric(metrics: dict[str, Any], *keys: str) -> dict[str, Any] | None:
    """The cvssData of the first Primary (NVD's own) metric of ``keys``, else the first one."""
    for key in keys:
        entries = metrics.get(key)
        if not isinstance(entries, list):
            continue
        entries = [
            e for e in entries if isinstance(e, dict) and isinstance(e.get("cvssData"), dict)
        ]
        for entry in entries:
            if entry.get("type") == "Primary":
                return entry["cvssData"]
        if entries:
            return entries[0]["cvssData"]
    return None


def _scores(metrics: Any) -> dict[str, Any]:
    if not isinstance(metrics, dict):
        return {}
    values: dict[str, Any] = {}
    v3 = _metric(metrics, "cvssMetricV31", "cvssMetricV30")
    if v3 is not None:
        vector = text(v3.get("vectorString"), 100)
        score = decimal_score(v3.get("baseScore"))
        if score is None and vector:
            # The score is missing from the record: compute it rather than drop the vector.
            computed = cvss3_from_vector(vector)
            score = computed[0] if computed else None
        if score is not None:
            severity = str(v3.get("baseSeverity") or "").upper() or severity_of(score)
            values.update(cvss3_score=score, cvss3_vector=vector, cvss3_severity=severity[:8])
    v4 = _metric(metrics, "cvssMetricV40")
    if v4 is not None:
        vector = text(v4.get("vectorString"), 200)
        score = decimal_score(v4.get("baseScore"))
        if score is None and vector:
            computed = cvss4_from_vector(vector)
            score = computed[0] if computed else None
        if score is not None:
            severity = str(v4.get("baseSeverity") or "").upper() or severity_of(score)
            values.update(cvss4_score=score, cvss4_vector=vector, cvss4_severity=severity[:8])
    return values


def _cwes(weaknesses: Any) -> list[str]:
    found: list[str] = []
    for weakness in weaknesses if isinstance(weaknesses, list) else []:
        if not isinstance(weakness, dict):
            continue
        for description in weakness.get("description") or []:
            value = description.get("value") if isinstance(description, dict) else None
            # NVD-CWE-noinfo / NVD-CWE-Other say "no CWE": not a weakness id.
            if isinstance(value, str) and value.startswith("CWE-") and value not in found:
                found.append(value)
    return found


def _matches(cve_id: str, configurations: Any, stats: ImportStats) -> list[tuple[Any, ...]]:
    """The configurations of a record as CpeMatch rows (values in :data:`_MATCH_FIELDS` order).

    Runs for every range of every record (four per record in NVD), so it is kept lean: one
    lookup per key, and a plain split of the CPE name unless it holds an escape.
    """
    rows: list[tuple[Any, ...]] = []
    if not isinstance(configurations, list):
        return rows
    append = rows.append
    for c, config in enumerate(configurations):
        if not isinstance(config, dict):
            continue
        config_and = str(config.get("operator") or "OR").upper() == "AND"
        config_negate = bool(config.get("negate"))
        config_no = min(c, 32767)
        for n, node in enumerate(config.get("nodes") or []):
            if not isinstance(node, dict):
                continue
            node_and = str(node.get("operator") or "OR").upper() == "AND"
            node_negate = bool(node.get("negate"))
            node_no = min(n, 32767)
            for match in node.get("cpeMatch") or []:
                criteria = match.get("criteria") if isinstance(match, dict) else None
                if isinstance(criteria, str):
                    parts = (
                        criteria.split(":") if "\\" not in criteria else _CPE_SPLIT.split(criteria)
                    )
                else:
                    parts = []
                if len(parts) < 6 or parts[0] != "cpe" or parts[1] != "2.3" or len(criteria) > 400:
                    stats.notes.append(
                        _("{id}: CPE match {criteria!r} is not a CPE 2.3 name; left out").format(
                            id=cve_id, criteria=criteria
                        )
                    )
                    continue
                get = match.get
                start_incl = get("versionStartIncluding")
                start = start_incl or get("versionStartExcluding")
                end_incl = get("versionEndIncluding")
                end = end_incl or get("versionEndExcluding")
                append(
                    (
                        config_no,
                        config_and,
                        config_negate,
                        node_no,
                        node_and,
                        node_negate,
                        bool(get("vulnerable", True)),
                        criteria,
                        parts[2][:1],
                        parts[3][:150],
                        parts[4][:200],
                        parts[5][:100],
                        text(start, 100) if start else "",
                        "versionStartIncluding" in match,
                        text(end, 100) if end else "",
                        "versionEndIncluding" in match,
                    )
                )
    return rows


def _cna_affected(affected: Any) -> list[dict[str, Any]]:
    """The CNA ``affected[].affectedData[]`` entries, kept to the keys the matcher reads."""
    out: list[dict[str, Any]] = []
    for block in affected if isinstance(affected, list) else []:
        for data in (block.get("affectedData") or []) if isinstance(block, dict) else []:
            if not isinstance(data, dict):
                continue
            versions = [
                {k: v for k, v in version.items() if isinstance(v, str)}
                for version in data.get("versions") or []
                if isinstance(version, dict)
            ]
            out.append(
                {
                    "vendor": text(data.get("vendor"), 200),
                    "product": text(data.get("product"), 300),
                    "versions": versions,
                }
            )
    return out


def _said(
    record: dict[str, Any], modified: datetime.datetime, stats: ImportStats
) -> dict[str, Any]:
    descriptions = record.get("descriptions")
    description = ""
    if isinstance(descriptions, list):
        english = [
            d.get("value") for d in descriptions if isinstance(d, dict) and d.get("lang") == "en"
        ]
        description = english[0] if english and isinstance(english[0], str) else ""
    said = {
        "description": description,
        "published": parse_datetime(record.get("published")),
        "modified": modified,
        "nvd_modified": modified,
        "nvd_status": text(record.get("vulnStatus"), 30),
        "cwes": _cwes(record.get("weaknesses")),
        "cna_affected": _cna_affected(record.get("affected")),
        **_scores(record.get("metrics")),
        "_matches": _matches(record["id"], record.get("configurations"), stats),
    }
    return said


_SCORE_FIELDS = (
    "cvss3_score",
    "cvss3_vector",
    "cvss3_severity",
    "cvss4_score",
    "cvss4_vector",
    "cvss4_severity",
)


def _merge(row: Vulnerability | None, said: dict[str, Any]) -> dict[str, Any]:
    """NVD owns description, dates, CWEs and (over the advisories) the scores."""
    if row is not None and row.nvd_modified and row.nvd_modified >= said["nvd_modified"]:
        return {}  # the stored record is as new or newer
    values = {
        k: said[k]
        for k in (
            "description",
            "published",
            "modified",
            "nvd_modified",
            "nvd_status",
            "cwes",
            "cna_affected",
        )
    }
    if "cvss3_score" in said or "cvss4_score" in said:
        for name in _SCORE_FIELDS:
            values[name] = said.get(name, None if name.endswith("score") else "")
        values["score_source"] = "nvd"
    elif row is not None and row.score_source == "nvd":
        # NVD withdrew its scores: clear them rather than keep stale numbers.
        for name in _SCORE_FIELDS:
            values[name] = None if name.endswith("score") else ""
        values["score_source"] = ""
    return values


def import_nvd(feed: FeedFile, *, wrapped: bool, progress: Progress | None) -> ImportStats:
    """Import an NVD CVE API 2.0 file (``wrapped``: a ``{"vulnerabilities": [...]}`` response)."""
    stats = ImportStats()
    new_rows = _NewRows()
    with _page_cache():
        return _import(feed, wrapped, progress, stats, new_rows)


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


def _import(
    feed: FeedFile,
    wrapped: bool,
    progress: Progress | None,
    stats: ImportStats,
    new_rows: _NewRows,
) -> ImportStats:
    for batch in _batches(feed, wrapped, stats):
        _write(batch, stats, new_rows)
        if progress:
            progress(feed.position(), feed.size)
    if progress:
        progress(feed.size, feed.size)
    if not stats.created and not stats.updated and not stats.unchanged and not stats.refused:
        raise FeedRejected(_("the file holds no CVE records"))
    return stats


def _batches(
    feed: FeedFile, wrapped: bool, stats: ImportStats
) -> Iterator[dict[str, dict[str, Any]]]:
    """What the file says of each record (see :func:`_said`), by batches of :data:`_BATCH`."""
    batch: dict[str, dict[str, Any]] = {}
    match_id = CVE_RE.match
    try:
        for position, record in enumerate(_records(feed, wrapped)):
            cve_id = record.get("id") if type(record) is dict else None
            if not isinstance(cve_id, str):
                raise FeedRejected(
                    _("record {n} has no CVE 'id'; not an NVD CVE record").format(n=position + 1)
                )
            if not match_id(cve_id):
                raise FeedRejected(_("{id!r} is not a CVE id").format(id=cve_id))
            modified = parse_datetime(record.get("lastModified"))
            if modified is None:
                raise FeedRejected(
                    _("{id}: 'lastModified' is missing or not a date").format(id=cve_id)
                )
            if record.get("vulnStatus") == "Rejected":
                # A rejected CVE names no vulnerability (STYLE rule 10: skip and say why).
                stats.skip(cve_id, _("rejected by its CNA"))
                continue
            batch[cve_id] = _said(record, modified, stats)
            if len(batch) >= _BATCH:
                yield batch
                batch = {}
        if batch:
            yield batch
    except _Malformed as exc:
        raise FeedRejected(
            _("the JSON is malformed or truncated ({error})").format(error=str(exc)[:200])
        ) from None


class _NewRows:
    """INSERT rows for records not yet stored, prepared without model instances.

    What :func:`upsert_vulnerabilities` would write for a new row (``_merge(None, said)`` plus
    the model defaults), but with the backend form of each value computed directly: building a
    Vulnerability and preparing every value through the field API was most of the import's time.
    """

    def __init__(self) -> None:
        meta = Vulnerability._meta
        self.fields = [f for f in meta.concrete_fields if not f.primary_key]
        self.names = [f.name for f in self.fields]
        self.index = {name: i for i, name in enumerate(self.names)}
        self.template = [
            None if f.get_default() is None else f.get_db_prep_save(f.get_default(), connection)
            for f in self.fields
        ]
        self.prepare: list[Any] = []
        utc = connection.vendor == "sqlite" and getattr(connection, "timezone_name", "") == "UTC"
        for f in self.fields:
            kind = f.get_internal_type()
            if kind == "DateTimeField" and utc:
                self.prepare.append(_sqlite_utc)
            elif kind in ("DateTimeField", "DecimalField", "JSONField", "DateField"):
                self.prepare.append(_cached_prep(f))
            else:
                self.prepare.append(None)
        #: name -> (position, conversion or None), one lookup per value
        self.slots = {name: (i, self.prepare[i]) for name, i in self.index.items()}
        self.id_slot = self.index["vuln_id"]

    def row(self, vuln_id: str, values: dict[str, Any]) -> tuple[Any, ...]:
        row = self.template.copy()
        slots = self.slots
        row[self.id_slot] = vuln_id
        for name, value in values.items():
            i, convert = slots[name]
            row[i] = value if convert is None or value is None else convert(value)
        return tuple(row)


def _sqlite_utc(value: datetime.datetime) -> str:
    """What Django stores in SQLite for an aware datetime when the database time zone is UTC."""
    if value.tzinfo is datetime.UTC:
        return value.isoformat(" ")[:-6]  # str() of the naive time, without "+00:00"
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC).replace(tzinfo=None)
    return str(value)


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


def _write(batch: dict[str, dict[str, Any]], stats: ImportStats, new_rows: _NewRows) -> None:
    stored = dict(
        Vulnerability.objects.filter(vuln_id__in=list(batch)).values_list("vuln_id", "nvd_modified")
    )
    fresh = [cve_id for cve_id in batch if cve_id not in stored]
    # A stored record as new or newer than the file's is left alone without loading it.
    older = {
        cve_id: said
        for cve_id, said in batch.items()
        if cve_id in stored and (stored[cve_id] is None or stored[cve_id] < said["nvd_modified"])
    }
    stats.unchanged += len(stored) - len(older)
    ids: dict[str, int] = {}
    updated: list[str] = []
    if older:
        ids, created, updated, unchanged = upsert_vulnerabilities(older, _merge)
        stats.updated += len(updated)
        stats.unchanged += len(unchanged)
        # The ranges of a changed record are replaced whole: NVD re-issues them on every change.
        if updated:
            CpeMatch.objects.filter(vulnerability_id__in=[ids[i] for i in updated]).delete()
    if fresh:
        fast_insert(
            Vulnerability,
            new_rows.names,
            [new_rows.row(cve_id, _merge(None, batch[cve_id])) for cve_id in fresh],
            prepared=True,
        )
        ids.update(Vulnerability.objects.filter(vuln_id__in=fresh).values_list("vuln_id", "pk"))
        stats.created += len(fresh)
    names = ["vulnerability", *_MATCH_FIELDS]
    fast_insert(
        CpeMatch,
        names,
        [
            (pk, *match)
            for cve_id in (*fresh, *updated)
            for pk in (ids[cve_id],)
            for match in batch[cve_id]["_matches"]
        ],
        prepared=True,
    )
