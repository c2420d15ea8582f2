"""The one set of finding filters the list page, the export and ``findings list`` share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from medshield.accounts.scoping import visible_assets
from medshield.findings.models import CLOSED_STATUSES, Finding

#: sort keys the list accepts (name -> ordering); anything else falls back to priority
SORTS: dict[str, tuple[str, ...]] = {
    "priority": ("-priority", "asset__asset_tag", "vulnerability__vuln_id"),
    "-priority": ("priority", "asset__asset_tag", "vulnerability__vuln_id"),
    "asset": ("asset__asset_tag", "-priority"),
    "-asset": ("-asset__asset_tag", "-priority"),
    "vuln": ("vulnerability__vuln_id", "asset__asset_tag"),
    "-vuln": ("-vulnerability__vuln_id", "asset__asset_tag"),
    "epss": ("-epss", "-priority"),
    "cvss": ("-cvss3_score", "-priority"),
    "seen": ("-first_seen", "-priority"),
}


@dataclass(frozen=True)
class FindingFilter:
    """What to show. ``status`` may be a status value, "active" (not closed) or "" (all)."""

    asset: str = ""
    cve: str = ""
    kev: bool | None = None
    status: str = ""
    certainty: str = ""
    min_priority: int | None = None
    criticality: str = ""
    q: str = ""
    sort: str = "priority"

    def apply(self, queryset: QuerySet[Finding]) -> QuerySet[Finding]:
        qs = queryset
        if self.asset:
            qs = qs.filter(asset__asset_tag=self.asset)
        if self.cve:
            qs = qs.filter(
                Q(vulnerability__vuln_id__iexact=self.cve) | Q(advisories__icontains=self.cve)
            )
        if self.kev is not None:
            qs = qs.filter(kev=self.kev)
        if self.status == "active":
            qs = qs.exclude(status__in=CLOSED_STATUSES)
        elif self.status:
            qs = qs.filter(status=self.status)
        if self.certainty:
            qs = qs.filter(certainty=self.certainty)
        if self.min_priority is not None:
            qs = qs.filter(priority__gte=self.min_priority)
        if self.criticality:
            qs = qs.filter(asset__criticality=self.criticality)
        if self.q:
            qs = qs.filter(
                Q(asset__asset_tag__icontains=self.q)
                | Q(asset__name__icontains=self.q)
                | Q(asset__manufacturer__icontains=self.q)
                | Q(asset__model__icontains=self.q)
                | Q(vulnerability__vuln_id__icontains=self.q)
                | Q(vulnerability__title__icontains=self.q)
                | Q(vulnerability__title_ja__icontains=self.q)
                | Q(component_label__icontains=self.q)
            )
        return qs.order_by(*SORTS.get(self.sort, SORTS["priority"]))


def visible_findings(user: Any) -> QuerySet[Finding]:
    """The findings of the assets ``user`` may see (the scoping contract)."""
    return Finding.objects.filter(asset__in=visible_assets(user)).select_related(
        "asset", "vulnerability"
    )
