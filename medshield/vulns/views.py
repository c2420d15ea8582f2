"""Pages that show what feeds are loaded and what one vulnerability is known to be."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from medshield.vulns.models import (
    AdvisoryVulnerability,
    CpeMatch,
    FeedImport,
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
    matches = CpeMatch.objects.filter(vulnerability=vulnerability).order_by("config", "node", "id")
    configurations: dict[int, dict[str, object]] = {}
    for match in matches:
        config = configurations.setdefault(
            match.config, {"and": match.config_and, "negate": match.config_negate, "nodes": {}}
        )
        nodes: dict[int, dict[str, object]] = config["nodes"]  # type: ignore[assignment]
        node = nodes.setdefault(
            match.node, {"and": match.node_and, "negate": match.node_negate, "matches": []}
        )
        node["matches"].append(match)  # type: ignore[attr-defined]
    return render(
        request,
        "vulns/vulnerability_detail.html",
        {
            "nav": "feeds",
            "vuln": vulnerability,
            "entries": entries,
            "configurations": [
                {**c, "nodes": list(c["nodes"].values())}  # type: ignore[attr-defined]
                for c in configurations.values()
            ],
        },
    )
