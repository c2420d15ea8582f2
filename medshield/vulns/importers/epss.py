"""FIRST EPSS daily scores (CSV, usually gzipped), joined to vulnerabilities by CVE id.

Format (https://www.first.org/epss/data_stats): a comment line
``#model_version:v2025.03.14,score_date:2026-11-20T00:00:00+0000``, the header
``cve,epss,percentile``, then one row per CVE. Scores of different model versions are not
comparable, so the model version and score date are stored with every value; a file whose score
date is not later than the stored one leaves that CVE alone.
"""

from __future__ import annotations

import datetime
import io
import math
import re
from typing import Any

from django.utils.translation import gettext as _

from medshield.vulns.importers.base import (
    BATCH,
    CVE_RE,
    FeedFile,
    FeedRejected,
    ImportStats,
    Progress,
    parse_date,
    upsert_vulnerabilities,
)
from medshield.vulns.models import Vulnerability

#: no line of an EPSS file is longer than ~60 bytes; a longer one is not EPSS (or a bomb)
_MAX_LINE = 4096
_COMMENT = re.compile(r"model_version:(?P<model>[^,\s]+).*?score_date:(?P<date>\d{4}-\d{2}-\d{2})")


def _merge(row: Vulnerability | None, said: dict[str, Any]) -> dict[str, Any]:
    if row is not None and row.epss_date and row.epss_date >= said["epss_date"]:
        return {}
    return {k: v for k, v in said.items() if k.startswith("epss")}


def _lines(feed: FeedFile) -> Any:
    reader = io.TextIOWrapper(feed.stream, encoding="utf-8", errors="strict", newline="")
    n = 0
    while True:
        try:
            line = reader.readline(_MAX_LINE)
        except UnicodeDecodeError:
            raise FeedRejected(_("line {n} is not UTF-8 text").format(n=n + 1)) from None
        if not line:
            return
        n += 1
        if len(line) >= _MAX_LINE and not line.endswith("\n"):
            raise FeedRejected(_("line {n} is far too long for an EPSS file").format(n=n))
        yield n, line.strip()


def import_epss(feed: FeedFile, *, progress: Progress | None) -> ImportStats:
    """Import an EPSS scores file: score, percentile, date and model version per CVE."""
    stats = ImportStats()
    model = ""
    score_date: datetime.date | None = None
    header_seen = False
    batch: dict[str, dict[str, Any]] = {}

    def flush() -> None:
        _ids, created, updated, unchanged = upsert_vulnerabilities(batch, _merge)
        stats.created += len(created)
        stats.updated += len(updated)
        stats.unchanged += len(unchanged)
        batch.clear()
        if progress:
            progress(feed.position(), feed.size)

    for n, line in _lines(feed):
        if not line:
            continue
        if line.startswith("#"):
            found = _COMMENT.search(line)
            if found:
                model, score_date = found["model"][:20], parse_date(found["date"])
            continue
        if not header_seen:
            if line.replace(" ", "").lower() != "cve,epss,percentile":
                raise FeedRejected(
                    _("line {n}: expected the header 'cve,epss,percentile'").format(n=n)
                )
            if score_date is None:
                raise FeedRejected(
                    _(
                        "the '#model_version:...,score_date:...' line is missing; the scores "
                        "cannot be dated"
                    )
                )
            header_seen = True
            continue
        cells = line.split(",")
        if len(cells) != 3 or not CVE_RE.match(cells[0]):
            raise FeedRejected(_("line {n}: expected 'CVE id,score,percentile'").format(n=n))
        try:
            score, percentile = float(cells[1]), float(cells[2])
        except ValueError:
            raise FeedRejected(_("line {n}: the score is not a number").format(n=n)) from None
        if not (0 <= score <= 1 and 0 <= percentile <= 1) or math.isnan(score + percentile):
            raise FeedRejected(_("line {n}: scores must lie between 0 and 1").format(n=n))
        batch[cells[0]] = {
            "epss_score": score,
            "epss_percentile": percentile,
            "epss_date": score_date,
            "epss_model": model,
        }
        if len(batch) >= BATCH * 4:
            flush()
    if batch:
        flush()
    if not header_seen:
        raise FeedRejected(_("the file has no 'cve,epss,percentile' header; not an EPSS file"))
    return stats
