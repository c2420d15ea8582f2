"""Findings as JSON, CSV or a text table: what ``findings list`` prints and the page exports.

Every row carries at least ``asset_tag``, ``cve`` (the primary id: a CVE, or the advisory's own
id where there is no CVE), ``advisories``, ``certainty``, ``status``, ``priority`` and
``reason``. CSV cells that a spreadsheet would run as a formula are neutralised exactly as the
register export does it.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from django.db.models import QuerySet

from medshield.findings.models import Finding
from medshield.register.exporter import csv_cell


class OutputFormat(StrEnum):
    """The ``--format`` choices (STYLE.md rule 12)."""

    JSON = "json"
    CSV = "csv"
    TABLE = "table"


COLUMNS = (
    "asset_tag",
    "asset_name",
    "cve",
    "aliases",
    "title",
    "advisories",
    "component",
    "certainty",
    "status",
    "match_status",
    "priority",
    "cvss_v3",
    "cvss_v4",
    "kev",
    "epss",
    "exposed",
    "sources",
    "reason",
    "justification",
    "first_seen",
    "last_seen",
)


def _score(value: Any) -> float | None:
    return None if value is None else float(value)


def rows(findings: QuerySet[Finding]) -> Iterable[dict[str, Any]]:
    """One plain dict per finding, in the queryset's order."""
    for f in findings.select_related("asset", "vulnerability").iterator(2000):
        vuln = f.vulnerability
        yield {
            "asset_tag": f.asset.asset_tag,
            "asset_name": f.asset.name,
            "cve": vuln.vuln_id,
            "aliases": list(vuln.aliases or []),
            "title": vuln.title_ja or vuln.title,
            "advisories": list(f.advisories or []),
            "component": f.component_label,
            "certainty": f.certainty,
            "status": f.status,
            "match_status": f.match_status,
            "priority": f.priority,
            "cvss_v3": _score(f.cvss3_score),
            "cvss_v4": _score(f.cvss4_score),
            "kev": f.kev,
            "epss": f.epss,
            "exposed": f.exposed,
            "sources": list(f.sources or []),
            "reason": f.reason,
            "justification": f.justification,
            "first_seen": f.first_seen.isoformat(),
            "last_seen": f.last_seen.isoformat(),
        }


def to_json(data: Iterable[dict[str, Any]]) -> str:
    return json.dumps(list(data), ensure_ascii=False, indent=2)


def _flat(value: Any) -> Any:
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    if value is None:
        return ""
    return value


def to_csv(data: Iterable[dict[str, Any]]) -> str:
    """CSV with a header; the caller adds the BOM Excel needs for Japanese."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in data:
        writer.writerow([csv_cell(_flat(row[c])) for c in COLUMNS])
    return out.getvalue()


def to_table(data: Iterable[dict[str, Any]]) -> str:
    lines = []
    for row in data:
        lines.append(
            f"{row['priority']:>3}  {row['asset_tag']:<14} {row['cve']:<20} "
            f"{row['certainty']:<9} {row['status']:<13} {'KEV ' if row['kev'] else ''}"
            f"{' '.join(row['advisories'])}"
        )
    return "\n".join(lines) if lines else "no findings"


def render(fmt: OutputFormat | str, data: Iterable[dict[str, Any]]) -> str:
    chosen = OutputFormat(fmt)
    if chosen is OutputFormat.JSON:
        return to_json(data)
    if chosen is OutputFormat.CSV:
        return to_csv(data)
    if chosen is OutputFormat.TABLE:
        return to_table(data)
    raise AssertionError(chosen)  # exhaustive
