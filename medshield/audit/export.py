"""The audit log as CSV or JSON, written row by row so a million entries stream in constant memory.

Both formats carry the same columns. CSV cells that a spreadsheet would run as a formula
(a user name typed as ``=HYPERLINK(...)`` at the login form lands in the log verbatim) are
written as text the way the register's export writes them.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.utils import timezone

from medshield.audit.timeline import EVENT, Filters, iter_rows
from medshield.register.exporter import csv_cell

FORMATS = ("csv", "json")
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}
COLUMNS = (
    "time",
    "kind",
    "action",
    "user",
    "ip",
    "method",
    "path",
    "object_type",
    "object_id",
    "target",
    "detail",
)
#: rows read from each table per query while exporting
CHUNK = 2000


def records(filters: Filters) -> Iterator[dict[str, Any]]:
    """Every entry ``filters`` select, newest first, as plain values in :data:`COLUMNS`."""
    zone = timezone.get_current_timezone()
    for source, row in iter_rows(filters, chunk=CHUNK, as_values=True):
        when = row["time"].astimezone(zone).isoformat()
        if source == EVENT:
            yield {
                "time": when,
                "kind": "event",
                "action": row["action"],
                "user": row["username"],
                "ip": row["ip"] or "",
                "method": row["method"],
                "path": row["path"],
                "object_type": "",
                "object_id": "",
                "target": row["target"],
                "detail": row["detail"],
            }
        else:
            yield {
                "time": when,
                "kind": "change",
                "action": row["action"],
                "user": row["user_name"],
                "ip": "",
                "method": "",
                "path": "",
                "object_type": f"{row['object_type__app_label']}.{row['object_type__model']}",
                "object_id": row["object_id"],
                "target": row["object_repr"],
                "detail": row["changes"],
            }


def csv_chunks(entries: Iterable[dict[str, Any]]) -> Iterator[str]:
    """CSV text in pieces: a BOM (Excel reads Japanese only with it), the header, then rows."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    yield "\ufeff" + _drain(out)
    for n, entry in enumerate(entries, start=1):
        row = dict(entry)
        row["detail"] = json.dumps(row["detail"], ensure_ascii=False, sort_keys=True)
        writer.writerow([csv_cell(row[c]) for c in COLUMNS])
        if n % 500 == 0:
            yield _drain(out)
    yield _drain(out)


def json_chunks(entries: Iterable[dict[str, Any]]) -> Iterator[str]:
    """A JSON array in pieces, one entry per line."""
    yield "["
    first = True
    for entry in entries:
        yield ("\n" if first else ",\n") + json.dumps(entry, ensure_ascii=False, sort_keys=True)
        first = False
    yield "\n]\n"


def _drain(out: io.StringIO) -> str:
    text = out.getvalue()
    out.seek(0)
    out.truncate()
    return text


WRITERS = {"csv": csv_chunks, "json": json_chunks}


def chunks(fmt: str, filters: Filters) -> Iterator[str]:
    """The export of everything ``filters`` selects, in ``fmt`` ("csv" or "json")."""
    return WRITERS[fmt](records(filters))
