"""What every feed importer shares: safe reading, refusal, counting and vulnerability upserts.

Files come from outside the hospital (carried in on a USB stick or a bundle), so reading is
defensive before it is clever: a gzip is inflated through a meter that stops a bomb early, the
format is decided from the first bytes of content (never the file name), and every problem is a
:class:`FeedRejected` whose message names it. Importers run inside one transaction opened by
:func:`medshield.vulns.importers.import_path`, so a refusal half-way leaves nothing behind.
"""

from __future__ import annotations

import datetime
import gzip
import io
import re
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from medshield.vulns.models import FeedImport, Vulnerability

#: rows per bulk statement
BATCH = 500

#: how far a record may nest; real feeds stay under 12 (CSAF branches are the deepest)
MAX_DEPTH = 64

#: a gzip may inflate this many times its compressed size once it passed GZIP_RATIO_FLOOR;
#: real feeds inflate 4x (EPSS) to 20x (NVD JSON), bombs 1000x
GZIP_MAX_RATIO = 200
GZIP_RATIO_FLOOR = 4 * 1024 * 1024
#: compressed bytes handed to the inflater per read; small, so the ratio is measured finely
_GZIP_READ = 16 * 1024

CVE_RE = re.compile(r"^CVE-\d{4}-\d{4,}$")

#: (bytes done, bytes in all) while a file is read
Progress = Callable[[int, int], None]


class FeedRejected(Exception):
    """The file was refused; the message says why. Nothing of the file was stored."""


def max_decompressed_bytes() -> int:
    """The most a compressed feed may inflate to: 20 times the upload limit unless configured.

    ``FEED_MAX_DECOMPRESSED_MB`` in the settings overrides it (a whole-NVD dump is ~3 GB).
    """
    configured = getattr(settings, "FEED_MAX_DECOMPRESSED_MB", None)
    megabytes = int(configured) if configured else 20 * int(settings.MAX_UPLOAD_MB)
    return megabytes * 1024 * 1024


@dataclass
class ImportStats:
    """How many records a file created, updated, left unchanged or skipped (with why)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: int = 0
    notes: list[str] = field(default_factory=list)

    def skip(self, record: str, reason: str) -> None:
        """Count a record skipped with ``reason``; the first hundred reasons are kept."""
        self.refused += 1
        if len(self.notes) < 100:
            self.notes.append(f"{record}: {reason}")


def record_import(
    kind: str,
    stats: ImportStats,
    *,
    file_name: str,
    sha256: str,
    size: int,
    started: datetime.datetime,
    user: Any = None,
    user_name: str = "",
) -> FeedImport:
    """The record of an import that succeeded (inside its transaction)."""
    return FeedImport.objects.create(
        kind=kind,
        file_name=file_name[-300:],
        sha256=sha256,
        size=size,
        started=started,
        finished=timezone.now(),
        created=stats.created,
        updated=stats.updated,
        unchanged=stats.unchanged,
        refused=stats.refused,
        notes="\n".join(stats.notes),
        user=user,
        user_name=user_name[:150],
    )


class _CountingReader(io.RawIOBase):
    """Counts the bytes read from the underlying (compressed) file."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        # GzipFile asks for 128 KiB at a time; handing it less keeps the count close to what
        # was actually inflated, so a bomb is caught after a few MB rather than tens.
        data = self.raw.read(min(len(buffer), _GZIP_READ))
        buffer[: len(data)] = data
        self.count += len(data)
        return len(data)


class _InflateMeter(io.RawIOBase):
    """Inflates a gzip stream and refuses it the moment it looks like a bomb.

    Two limits: an absolute size (:func:`max_decompressed_bytes`) and, once past 4 MiB, a
    ratio to the compressed bytes read so far, so a 2 GB bomb stops after a few MB.
    """

    def __init__(self, raw: IO[bytes], limit: int) -> None:
        self.counter = _CountingReader(raw)
        self.gzip = gzip.GzipFile(fileobj=self.counter, mode="rb")
        self.limit = limit
        self.out = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self.gzip.read(len(buffer))
        except EOFError:
            raise FeedRejected(_("the gzip file is truncated")) from None
        except (OSError, zlib.error) as exc:
            raise FeedRejected(_("the gzip file is damaged: {error}").format(error=exc)) from None
        self.out += len(data)
        if self.out > self.limit:
            raise FeedRejected(
                _("the gzip file inflates to more than {mb} MB; refused as a possible bomb").format(
                    mb=self.limit // (1024 * 1024)
                )
            )
        if self.out > GZIP_RATIO_FLOOR and self.out > GZIP_MAX_RATIO * max(self.counter.count, 1):
            raise FeedRejected(
                _(
                    "the gzip file inflates more than {ratio} times its size; refused as a "
                    "possible bomb"
                ).format(ratio=GZIP_MAX_RATIO)
            )
        buffer[: len(data)] = data
        return len(data)


class FeedFile:
    """A feed file opened for reading: transparently gunzipped, with byte progress."""

    def __init__(self, path: str, *, max_inflated: int | None = None) -> None:
        self.path = path
        self.raw: IO[bytes] = open(path, "rb")  # noqa: SIM115 - closed by close()
        self.raw.seek(0, io.SEEK_END)
        self.size = self.raw.tell()
        self.raw.seek(0)
        magic = self.raw.read(2)
        self.raw.seek(0)
        self.compressed = magic == b"\x1f\x8b"
        self.meter: _InflateMeter | None = None
        if self.compressed:
            self.meter = _InflateMeter(self.raw, max_inflated or max_decompressed_bytes())
            self.stream: IO[bytes] = io.BufferedReader(self.meter, buffer_size=256 * 1024)
        else:
            self.stream = self.raw

    def position(self) -> int:
        """How many bytes of the file on disk were read so far (for progress)."""
        if self.meter is not None:
            return self.meter.counter.count
        return self.raw.tell()

    def close(self) -> None:
        self.raw.close()

    def __enter__(self) -> FeedFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_depth(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` nests no deeper than ``limit`` lists/objects (iterative, no recursion).

    Walks level by level with exact type tests: this runs on every NVD record, so it is
    written for speed (a third of the cost of a per-node ``isinstance`` walk).
    """
    containers = (dict, list)
    level = [value] if type(value) in containers else []
    for _depth in range(limit):
        if not level:
            return True
        below: list[Any] = []
        for item in level:
            # A list comprehension, not a generator: no frame resumed per value.
            below += [
                v for v in (item.values() if type(item) is dict else item) if type(v) in containers
            ]
        level = below
    return not level


def parse_datetime(value: Any) -> datetime.datetime | None:
    """An ISO 8601 time as an aware datetime; NVD writes UTC without a zone, so UTC is assumed."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return parsed


def parse_date(value: Any) -> datetime.date | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def decimal_score(value: Any) -> Decimal | None:
    """A CVSS base score (0.0-10.0) as a one-place Decimal; None when absent or out of range."""
    if value is None or isinstance(value, bool):
        return None
    try:
        score = Decimal(str(value)).quantize(Decimal("0.1"))
    except (InvalidOperation, ValueError):
        return None
    return score if Decimal(0) <= score <= Decimal(10) else None


def severity_of(score: Decimal | None) -> str:
    """The CVSS v3/v4 qualitative rating of a base score."""
    if score is None:
        return ""
    if score == 0:
        return "NONE"
    if score < 4:
        return "LOW"
    if score < 7:
        return "MEDIUM"
    if score < 9:
        return "HIGH"
    return "CRITICAL"


def cvss3_from_vector(vector: str) -> tuple[Decimal, str] | None:
    """Base score and severity computed from a CVSS 3.x vector; None when it is not valid."""
    from cvss import CVSS3
    from cvss.exceptions import CVSSError

    try:
        parsed = CVSS3(vector)
    except (CVSSError, ValueError, KeyError):
        return None
    score = decimal_score(parsed.base_score)
    if score is None:
        return None
    return score, severity_of(score)


def cvss4_from_vector(vector: str) -> tuple[Decimal, str] | None:
    """Base score and severity computed from a CVSS 4.0 vector; None when it is not valid."""
    from cvss import CVSS4
    from cvss.exceptions import CVSSError

    try:
        parsed = CVSS4(vector)
    except (CVSSError, ValueError, KeyError):
        return None
    score = decimal_score(parsed.base_score)
    if score is None:
        return None
    return score, severity_of(score)


#: which feed's scores win on a vulnerability (NVD analysed the record itself)
SCORE_RANK = {"": 0, "jvn": 1, "csaf": 2, "nvd": 3}


def merge_aliases(vuln_id: str, current: Iterable[str], new: Iterable[str]) -> list[str]:
    """The sorted union of aliases, never naming the vulnerability's own id."""
    return sorted({a for a in (*current, *new) if a and a != vuln_id})


Merge = Callable[[Vulnerability | None, dict[str, Any]], dict[str, Any]]


def upsert_vulnerabilities(
    wanted: dict[str, dict[str, Any]], merge: Merge
) -> tuple[dict[str, int], list[str], list[str], list[str]]:
    """Create or update the vulnerabilities of one batch, writing only what changes.

    ``wanted`` maps a vulnerability id to what the feed says; ``merge(existing, said)`` returns
    the field values the row should get (a new row when ``existing`` is None). Fields whose
    value is already stored are not written, so re-importing a file writes nothing.

    Returns (id → pk of every row), and the ids created, updated and left unchanged.
    """
    existing = {
        v.vuln_id: v for v in Vulnerability.objects.filter(vuln_id__in=list(wanted)).iterator()
    }
    to_create: list[Vulnerability] = []
    to_update: list[Vulnerability] = []
    changed_fields: set[str] = set()
    created: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    for vuln_id, said in wanted.items():
        row = existing.get(vuln_id)
        values = merge(row, said)
        if row is None:
            to_create.append(Vulnerability(vuln_id=vuln_id, **values))
            created.append(vuln_id)
            continue
        diff = {name: v for name, v in values.items() if getattr(row, name) != v}
        if not diff:
            unchanged.append(vuln_id)
            continue
        for name, value in diff.items():
            setattr(row, name, value)
        changed_fields.update(diff)
        to_update.append(row)
        updated.append(vuln_id)
    if to_create:
        # Every field is written so that database defaults never differ from model defaults.
        names = [f.name for f in Vulnerability._meta.concrete_fields if not f.primary_key]
        fast_insert(Vulnerability, names, [tuple(getattr(v, n) for n in names) for v in to_create])
    if to_update:
        Vulnerability.objects.bulk_update(to_update, sorted(changed_fields), batch_size=BATCH)
    ids = {v.vuln_id: v.pk for v in existing.values()}
    if to_create:
        # bulk_create sets pks on PostgreSQL and SQLite 3.35+, but reading them back keeps
        # this independent of the backend's RETURNING support.
        ids.update(Vulnerability.objects.filter(vuln_id__in=created).values_list("vuln_id", "pk"))
    return ids, created, updated, unchanged


def secondary_merge(source: str) -> Merge:
    """The merge of a feed that describes a vulnerability but does not own it (CSAF, JVN, KEV).

    It fills the title, description and CWEs only while they are blank, adds aliases, and sets
    the scores when no higher-ranked feed (see :data:`SCORE_RANK`) gave them.
    """

    def merge(row: Vulnerability | None, said: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in ("title", "description", "published"):
            if said.get(name) and (row is None or not getattr(row, name)):
                values[name] = said[name]
        if said.get("title_ja"):
            values["title_ja"] = said["title_ja"]
        if said.get("cwes") and (row is None or not row.cwes):
            values["cwes"] = said["cwes"]
        vuln_id = said["vuln_id"]
        values["aliases"] = merge_aliases(
            vuln_id, row.aliases if row else [], said.get("aliases", [])
        )
        current_rank = SCORE_RANK.get(row.score_source if row else "", 0)
        if said.get("cvss3_score") is not None and SCORE_RANK[source] >= current_rank:
            values.update(
                cvss3_score=said["cvss3_score"],
                cvss3_vector=said["cvss3_vector"],
                cvss3_severity=said["cvss3_severity"],
                score_source=source,
            )
            if said.get("cvss4_score") is not None:
                values.update(
                    cvss4_score=said["cvss4_score"],
                    cvss4_vector=said["cvss4_vector"],
                    cvss4_severity=said["cvss4_severity"],
                )
        for name, value in said.items():
            if name.startswith(("kev", "epss")):
                values[name] = value
        return values

    return merge


def text(value: Any, limit: int) -> str:
    """A string field cut to the column's length (feeds have no length limits of their own)."""
    if not isinstance(value, str):
        return ""
    value = value.strip()
    return value if len(value) <= limit else value[: limit - 1] + "…"


def fast_insert(
    model: type[Any], names: list[str], rows: list[tuple[Any, ...]], *, prepared: bool = False
) -> None:
    """INSERT ``rows`` (values in the order of ``names``) with one executemany.

    ``prepared``: the values are already in the backend's form (see the NVD importer).

    ``bulk_create`` builds a model instance and prepares every value through the field API,
    which is most of an NVD import's time; here only the values that need a backend-specific
    form (dates, decimals, JSON) go through the field, the rest are bound as they are.
    """
    from django.db import connection

    if not rows:
        return
    meta = model._meta
    fields = [meta.get_field(name) for name in names]
    plain = (
        "CharField",
        "TextField",
        "BooleanField",
        "PositiveSmallIntegerField",
        "PositiveIntegerField",
        "IntegerField",
        "BigIntegerField",
        "FloatField",
        "ForeignKey",
    )
    prepare = [None if f.get_internal_type() in plain or f.many_to_one else f for f in fields]
    if any(prepare) and not prepared:
        rows = [
            tuple(
                v if f is None or v is None else f.get_db_prep_save(v, connection)
                for f, v in zip(prepare, row, strict=True)
            )
            for row in rows
        ]
    quote = connection.ops.quote_name
    # Table and column names come from the model and are quoted; values are all parameters.
    table = quote(meta.db_table)
    columns = ", ".join(quote(f.column) for f in fields)
    values = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {table} ({columns}) VALUES ({values})"  # noqa: S608
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 5000):
            cursor.executemany(sql, rows[start : start + 5000])
