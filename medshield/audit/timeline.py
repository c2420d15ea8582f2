"""One timeline of the audit log's events and the history's changes, newest first.

The two tables stay separate (events are written by :func:`medshield.audit.log.record`, changes
by the register's models) and are merged here on (time, source, id). Pages are cut by position
in that order - a *cursor*, "the entries older than this one" - rather than by page number:
``OFFSET 500000`` makes the database walk half a million rows, and a page count would need a
``COUNT(*)`` of both tables on every page load. Each source is read in chunks along its time
index, so the first page costs two short index scans at any table size and an export streams
a million rows in constant memory.
"""

from __future__ import annotations

import datetime
import heapq
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from medshield.audit.models import AuditAction, AuditEvent
from medshield.core.models import ChangeAction, ObjectChange

#: the order between entries at the same instant: events after changes (an export's event is
#: newer than the changes it exported)
EVENT, CHANGE = "e", "c"
_RANK = {CHANGE: 0, EVENT: 1}
#: the "action" filter's value for "any change"
ANY_CHANGE = "change"
_MAX_ID = 2**63 - 1
_CURSOR = re.compile(r"^(?P<time>\d{4}-\d\d-\d\dT[0-9:.]+\+00:00)_(?P<src>[ec])_(?P<id>\d{1,19})$")


@dataclass(frozen=True, order=True)
class Cursor:
    """A position in the timeline: the entry at (time, source, id)."""

    time: datetime.datetime
    rank: int
    id: int

    def __str__(self) -> str:
        source = EVENT if self.rank == _RANK[EVENT] else CHANGE
        utc = self.time.astimezone(datetime.UTC).isoformat()
        return f"{utc}_{source}_{self.id}"

    @classmethod
    def parse(cls, text: str | None) -> Cursor | None:
        """The cursor in a URL, or None when it is absent or not one of ours."""
        match = _CURSOR.match(text or "")
        if match is None:
            return None
        try:
            when = datetime.datetime.fromisoformat(match["time"])
        except ValueError:
            return None
        pk = int(match["id"])
        if pk > _MAX_ID:
            return None  # PostgreSQL would refuse it as out of range for bigint
        return cls(when, _RANK[match["src"]], pk)


@dataclass(frozen=True)
class Filters:
    """What the log is narrowed to (all optional). ``until`` includes its whole day."""

    q: str = ""
    user: str = ""
    action: str = ""
    since: datetime.date | None = None
    until: datetime.date | None = None

    def as_dict(self) -> dict[str, str]:
        """The filters that are set, as text (for the export's own audit record)."""
        values = {
            "q": self.q,
            "user": self.user,
            "action": self.action,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
        }
        return {k: v for k, v in values.items() if v}

    def wants_events(self) -> bool:
        return not self.action or self.action in AuditAction.values

    def wants_changes(self) -> bool:
        return not self.action or self.action == ANY_CHANGE or self.action in ChangeAction.values


@dataclass
class Entry:
    """One line of the timeline: an audit event or a change, with what the page shows of it."""

    source: str
    time: datetime.datetime
    id: int
    action: str
    action_label: str
    user: str
    target: str
    event: AuditEvent | None = None
    change: ObjectChange | None = None
    #: (field label, old, new) for a change
    rows: list[tuple[str, Any, Any]] = field(default_factory=list)
    #: the page of the changed object (or of the object it belongs to), when it still exists
    url: str = ""

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.time, _RANK[self.source], self.id)

    @property
    def is_event(self) -> bool:
        return self.source == EVENT

    @property
    def detail_items(self) -> list[tuple[str, str]]:
        """An event's detail as (key, text) pairs; nested values as compact JSON."""
        detail = self.event.detail if self.event is not None else None
        if not isinstance(detail, dict):
            return [] if not detail else [("", json.dumps(detail, ensure_ascii=False))]
        return [
            (str(k), v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
            for k, v in detail.items()
        ]

    @property
    def object_type_name(self) -> str:
        """What kind of object a change is about ("asset"), translated."""
        if self.change is None:
            return ""
        model = self.change.object_type.model_class()
        return str(model._meta.verbose_name) if model is not None else self.change.object_type.model


def _day_start(day: datetime.date) -> datetime.datetime:
    """Midnight at the start of ``day`` in the site's time zone (dates are typed in local time)."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _time_range(qs: QuerySet[Any], filters: Filters) -> QuerySet[Any]:
    if filters.since:
        qs = qs.filter(time__gte=_day_start(filters.since))
    if filters.until:
        qs = qs.filter(time__lt=_day_start(filters.until + datetime.timedelta(days=1)))
    return qs


def events(filters: Filters) -> QuerySet[AuditEvent]:
    """The audit events the filters select (in no particular order)."""
    qs = AuditEvent.objects.all()
    if filters.action:
        qs = qs.filter(action=filters.action)
    if filters.user:
        qs = qs.filter(username=filters.user)
    if filters.q:
        qs = qs.filter(
            Q(username__icontains=filters.q)
            | Q(target__icontains=filters.q)
            | Q(path__icontains=filters.q)
            | Q(detail__icontains=filters.q)
        )
    return _time_range(qs, filters)


def changes(filters: Filters) -> QuerySet[ObjectChange]:
    """The history rows the filters select (in no particular order)."""
    qs = ObjectChange.objects.all()
    if filters.action in ChangeAction.values:
        qs = qs.filter(action=filters.action)
    if filters.user:
        qs = qs.filter(user_name=filters.user)
    if filters.q:
        qs = qs.filter(Q(object_repr__icontains=filters.q) | Q(user_name__icontains=filters.q))
    return _time_range(qs, filters)


def _after(qs: QuerySet[Any], rank: int, cursor: Cursor | None, newer: bool) -> QuerySet[Any]:
    """Rows of one source strictly beyond ``cursor`` (older, or newer when ``newer``).

    Written as a time range plus an exclusion so that the database walks the time index.
    """
    if cursor is None:
        return qs
    if not newer:
        if rank < cursor.rank:
            return qs.filter(time__lte=cursor.time)
        if rank > cursor.rank:
            return qs.filter(time__lt=cursor.time)
        return qs.filter(time__lte=cursor.time).exclude(time=cursor.time, id__gte=cursor.id)
    if rank > cursor.rank:
        return qs.filter(time__gte=cursor.time)
    if rank < cursor.rank:
        return qs.filter(time__gt=cursor.time)
    return qs.filter(time__gte=cursor.time).exclude(time=cursor.time, id__lte=cursor.id)


def _chunks(
    qs: QuerySet[Any], source: str, cursor: Cursor | None, newer: bool, chunk: int
) -> Iterator[tuple[Cursor, Any]]:
    """Rows of one source in timeline order, read ``chunk`` at a time along the time index.

    Rows are model instances, or dicts when ``qs`` is a ``values()`` query (the export's, which
    skips building a model per row).
    """
    rank = _RANK[source]
    order = ("time", "id") if newer else ("-time", "-id")
    position = cursor
    while True:
        rows = list(_after(qs, rank, position, newer).order_by(*order)[:chunk])
        for row in rows:
            if isinstance(row, dict):
                position = Cursor(row["time"], rank, row["id"])
            else:
                position = Cursor(row.time, rank, row.pk)
            yield position, row
        if len(rows) < chunk:
            return


#: the columns the export reads from each table (see :mod:`medshield.audit.export`)
EXPORT_FIELDS = {
    EVENT: ("id", "time", "action", "username", "ip", "method", "path", "target", "detail"),
    CHANGE: (
        "id",
        "time",
        "action",
        "user_name",
        "object_type__app_label",
        "object_type__model",
        "object_id",
        "object_repr",
        "changes",
    ),
}


def iter_rows(
    filters: Filters,
    cursor: Cursor | None = None,
    *,
    newer: bool = False,
    chunk: int = 500,
    as_values: bool = False,
) -> Iterator[tuple[str, Any]]:
    """(source, row) pairs in timeline order from ``cursor`` on: newest first, or oldest first
    when ``newer`` (the entries just newer than the cursor, for the "Newer" link). Rows are
    model instances, or dicts of :data:`EXPORT_FIELDS` when ``as_values``."""
    streams = []
    if filters.wants_events():
        qs: QuerySet[Any] = events(filters)
        if as_values:
            qs = qs.values(*EXPORT_FIELDS[EVENT])
        streams.append(((c, EVENT, r) for c, r in _chunks(qs, EVENT, cursor, newer, chunk)))
    if filters.wants_changes():
        qs = changes(filters)
        qs = qs.values(*EXPORT_FIELDS[CHANGE]) if as_values else qs.select_related("object_type")
        streams.append(((c, CHANGE, r) for c, r in _chunks(qs, CHANGE, cursor, newer, chunk)))
    merged = heapq.merge(*streams, key=lambda item: item[0], reverse=not newer)
    for _cursor, source, row in merged:
        yield source, row


def entry_for(source: str, row: Any) -> Entry:
    """The displayable entry for one event or change (without its link: see :func:`link`)."""
    if source == EVENT:
        return Entry(
            source=EVENT,
            time=row.time,
            id=row.pk,
            action=row.action,
            action_label=str(row.get_action_display()),
            user=row.username,
            target=row.target,
            event=row,
        )
    return Entry(
        source=CHANGE,
        time=row.time,
        id=row.pk,
        action=row.action,
        action_label=str(row.get_action_display()),
        user=row.user_name,
        target=row.object_repr,
        change=row,
        rows=_change_rows(row),
    )


def _change_rows(change: ObjectChange) -> list[tuple[str, Any, Any]]:
    rows = []
    for label, old, new in change.field_changes():
        if change.action == ChangeAction.CREATE and new in (None, "", False, []):
            continue  # a creation records every field; the blank ones say nothing
        rows.append((label, old, new))
    return rows


@dataclass
class Page:
    """One screen of the timeline and the cursors of its neighbours."""

    entries: list[Entry]
    #: the cursor for the "Older" link (None: this is the oldest page)
    older: Cursor | None
    #: the cursor for the "Newer" link (None: this is the newest page)
    newer: Cursor | None


def page(
    filters: Filters, *, before: Cursor | None = None, after: Cursor | None = None, size: int = 50
) -> Page:
    """``size`` entries older than ``before`` (or newer than ``after``, or the newest)."""
    if after is not None:
        rows = _take(iter_rows(filters, after, newer=True, chunk=size + 1), size + 1)
        has_newer = len(rows) > size
        rows = list(reversed(rows[:size]))
        entries = [entry_for(s, r) for s, r in rows]
        older = entries[-1].cursor if entries else None
        # Coming back from an older page, there is always an older page: the one we came from.
        newer = entries[0].cursor if entries and has_newer else None
        if not entries:
            return page(filters, size=size)
    else:
        rows = _take(iter_rows(filters, before, chunk=size + 1), size + 1)
        entries = [entry_for(s, r) for s, r in rows[:size]]
        older = entries[-1].cursor if len(rows) > size else None
        newer = entries[0].cursor if before is not None and entries else None
    link(entries)
    return Page(entries, older, newer)


def _take(rows: Iterator[tuple[str, Any]], n: int) -> list[tuple[str, Any]]:
    taken = []
    for item in rows:
        taken.append(item)
        if len(taken) >= n:
            break
    return taken


def link(entries: list[Entry]) -> None:
    """Give each change the page of its object (or the object it belongs to) if it has one and
    still exists: one query per kind of object on the page."""
    wanted: dict[int, set[int]] = {}
    for entry in entries:
        change = entry.change
        if change is None:
            continue
        wanted.setdefault(change.object_type_id, set()).add(change.object_id)
        if change.related_type_id is not None and change.related_id is not None:
            wanted.setdefault(change.related_type_id, set()).add(change.related_id)
    found: dict[tuple[int, int], Model] = {}
    for type_id, ids in wanted.items():
        model = ContentType.objects.get_for_id(type_id).model_class()
        if model is None or not hasattr(model, "get_absolute_url"):
            continue
        for pk, obj in model._base_manager.in_bulk(list(ids)).items():
            found[(type_id, pk)] = obj
    for entry in entries:
        change = entry.change
        if change is None:
            continue
        obj = found.get((change.object_type_id, change.object_id))
        if obj is None and change.related_type_id is not None:
            obj = found.get((change.related_type_id, change.related_id or 0))
        if obj is not None:
            try:
                entry.url = obj.get_absolute_url()  # type: ignore[attr-defined]
            except Exception:  # noqa: BLE001 - a URL that cannot be built is just not linked
                entry.url = ""
