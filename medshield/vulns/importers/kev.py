"""CISA Known Exploited Vulnerabilities catalog (JSON), joined to vulnerabilities by CVE id.

Schema: https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities_schema.json
(saved in the corpus). The catalog names vendors and products as display text, not CPEs, so only
the CVE id links it to the rest (research/formats.md section 4). An id KEV names that no other
feed has brought yet gets a row of its own with KEV's name and description.
"""

from __future__ import annotations

from typing import Any

import ijson
from django.utils.translation import gettext as _

from medshield.vulns.importers.base import (
    BATCH,
    CVE_RE,
    FeedFile,
    FeedRejected,
    ImportStats,
    Progress,
    check_depth,
    parse_date,
    secondary_merge,
    text,
    upsert_vulnerabilities,
)


def _said(entry: dict[str, Any]) -> dict[str, Any]:
    cwes = entry.get("cwes")
    return {
        "vuln_id": entry["cveID"],
        "title": text(entry.get("vulnerabilityName"), 500),
        "description": text(entry.get("shortDescription"), 10_000),
        "cwes": [c for c in cwes if isinstance(c, str)] if isinstance(cwes, list) else [],
        "kev": True,
        "kev_date_added": parse_date(entry.get("dateAdded")),
        "kev_due_date": parse_date(entry.get("dueDate")),
        "kev_ransomware": str(entry.get("knownRansomwareCampaignUse", "")).lower() == "known",
        "kev_required_action": text(entry.get("requiredAction"), 10_000),
    }


def import_kev(feed: FeedFile, *, progress: Progress | None) -> ImportStats:
    """Import the KEV catalog: set the KEV flag, dates and ransomware use on each CVE."""
    stats = ImportStats()
    merge = secondary_merge("kev")
    batch: dict[str, dict[str, Any]] = {}

    def flush() -> None:
        _ids, created, updated, unchanged = upsert_vulnerabilities(batch, merge)
        stats.created += len(created)
        stats.updated += len(updated)
        stats.unchanged += len(unchanged)
        batch.clear()
        if progress:
            progress(feed.position(), feed.size)

    try:
        for n, entry in enumerate(ijson.items(feed.stream, "vulnerabilities.item"), start=1):
            if not isinstance(entry, dict):
                raise FeedRejected(_("KEV entry {n} is not an object").format(n=n))
            if not check_depth(entry, 8):
                raise FeedRejected(_("KEV entry {n} nests far deeper than KEV does").format(n=n))
            cve_id = entry.get("cveID")
            if not isinstance(cve_id, str) or not CVE_RE.match(cve_id):
                stats.skip(
                    _("entry {n}").format(n=n), _("{id!r} is not a CVE id").format(id=cve_id)
                )
                continue
            if parse_date(entry.get("dateAdded")) is None:
                stats.skip(cve_id, _("'dateAdded' is missing or not a date"))
                continue
            batch[cve_id] = _said(entry)
            if len(batch) >= BATCH:
                flush()
        if batch:
            flush()
    except ijson.JSONError as exc:
        raise FeedRejected(
            _("the JSON is malformed or truncated ({error})").format(error=str(exc)[:200])
        ) from None
    if not (stats.created or stats.updated or stats.unchanged):
        raise FeedRejected(_("the KEV catalog lists no vulnerabilities"))
    return stats
