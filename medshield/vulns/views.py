"""Pages that show what feeds are loaded and what one vulnerability is known to be."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from medshield.vulns.models import (
    AdvisoryVulnerability,
    FeedImport,
    NvdConfigurations,
    ProductStatus,
    Vulnerability,
)
from medshield.vulns.status import source_statuses


@require_GET
@login_required
def feed_status(request: HttpRequest) -> HttpResponse:
    """Per source: records, newest record date, last import and freshness; recent imports."""
    return render(
        request,
        "vulns/feed_status.html",
        {
            "nav": "feeds",
            "sources": source_statuses(),
            "imports": FeedImport.objects.select_related("user")[:20],
        },
    )


@require_GET
@login_required
def vulnerability_detail(request: HttpRequest, vuln_id: str) -> HttpResponse:
    """One vulnerability: scores, KEV and EPSS, the advisories naming it and what they affect."""
    vulnerability = get_object_or_404(Vulnerability, vuln_id=vuln_id)
    entries = (
        AdvisoryVulnerability.objects.filter(vulnerability=vulnerability)
        .select_related("advisory")
        .prefetch_related(
            Prefetch(
                "statuses",
                queryset=ProductStatus.objects.select_related("product").order_by(
                    "status", "product__name"
                ),
            )
        )
        .order_by("advisory__kind", "advisory__advisory_id")
    )
    stored = NvdConfigurations.objects.filter(vulnerability=vulnerability).first()
    configurations = [
        {
            "and": config.get("operator") == "AND",
            "negate": config.get("negate", False),
            "nodes": [
                {
                    "and": node.get("operator") == "AND",
                    "negate": node.get("negate", False),
                    "matches": [_entry(match) for match in node.get("cpeMatch", ())],
                }
                for node in config.get("nodes", ())
            ],
        }
        for config in (json.loads(stored.data) if stored else [])
    ]
    return render(
        request,
        "vulns/vulnerability_detail.html",
        {
            "nav": "feeds",
            "vuln": vulnerability,
            "entries": entries,
            "configurations": configurations,
        },
    )


def _entry(match: dict[str, Any]) -> dict[str, Any]:
    """A stored cpeMatch entry as the template shows it: criteria and the range's bounds."""
    start_incl = match.get("versionStartIncluding")
    end_incl = match.get("versionEndIncluding")
    return {
        "criteria": match.get("criteria", ""),
        "vulnerable": match.get("vulnerable", True),
        "start": start_incl or match.get("versionStartExcluding") or "",
        "start_incl": bool(start_incl),
        "end": end_incl or match.get("versionEndExcluding") or "",
        "end_incl": bool(end_incl),
    }
