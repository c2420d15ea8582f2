"""Writing a parsed advisory (CSAF document or JVN record) with its products and statuses.

Both formats reduce to a :class:`ParsedAdvisory`. An advisory already stored is replaced only
when the incoming one is newer (a later ``current_release_date``; for JVN at the same date, a
VULDEF detail record over the RSS overview of it); otherwise nothing is written, which is what
makes re-importing a file a no-op.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from medshield.vulns.importers.base import ImportStats, secondary_merge, upsert_vulnerabilities
from medshield.vulns.models import (
    Advisory,
    AdvisoryProduct,
    AdvisoryVulnerability,
    ProductStatus,
)

#: at the same release date, a JVN detail record replaces the overview of it, not the reverse
_DETAIL_RANK = {"jvnrss": 0, "vuldef": 1}


@dataclass
class ParsedStatus:
    """One product_status entry with its VEX reason."""

    product_id: str
    status: str
    justification: str = ""
    impact: str = ""


@dataclass
class ParsedVuln:
    """What an advisory says about one vulnerability."""

    vuln_id: str
    #: the fields for the Vulnerability row (see secondary_merge)
    said: dict[str, Any]
    title: str = ""
    cvss3_score: Decimal | None = None
    cvss3_vector: str = ""
    cwe: str = ""
    remediations: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[ParsedStatus] = field(default_factory=list)


@dataclass
class ParsedAdvisory:
    """An advisory ready to store."""

    kind: str
    advisory_id: str
    fields: dict[str, Any]
    products: list[dict[str, Any]]
    vulns: list[ParsedVuln]

    @property
    def release(self) -> datetime.datetime | None:
        value = self.fields.get("current_release_date")
        return value if isinstance(value, datetime.datetime) else None


def _is_newer(stored: Advisory, incoming: ParsedAdvisory) -> bool:
    new, old = incoming.release, stored.current_release_date
    if new is None or old is None:
        return new is not None and old is None
    if new != old:
        return new > old
    return _DETAIL_RANK.get(incoming.fields.get("category", ""), 0) > _DETAIL_RANK.get(
        stored.category, 0
    )


def write_advisory(parsed: ParsedAdvisory, stats: ImportStats) -> None:
    """Create, replace or leave ``parsed`` as it stands, counting what happened."""
    namespace = parsed.fields.get("publisher_namespace", "")
    stored = Advisory.objects.filter(
        kind=parsed.kind, publisher_namespace=namespace, advisory_id=parsed.advisory_id
    ).first()
    if stored is not None and not _is_newer(stored, parsed):
        stats.unchanged += 1
        return
    if stored is None:
        stored = Advisory.objects.create(
            kind=parsed.kind, advisory_id=parsed.advisory_id, **parsed.fields
        )
        stats.created += 1
    else:
        for name, value in parsed.fields.items():
            setattr(stored, name, value)
        stored.save()
        # The advisory's products and statuses are replaced whole: a new version restates them.
        stored.entries.all().delete()
        stored.products.all().delete()
        stats.updated += 1

    products = AdvisoryProduct.objects.bulk_create(
        [AdvisoryProduct(advisory=stored, **p) for p in parsed.products], batch_size=500
    )
    product_pks = {
        p.product_id: p.pk
        for p in AdvisoryProduct.objects.filter(advisory=stored).only("pk", "product_id")
    }
    del products

    merge = secondary_merge(parsed.kind)
    wanted = {v.vuln_id: {**v.said, "vuln_id": v.vuln_id} for v in parsed.vulns}
    vuln_pks, *_ = upsert_vulnerabilities(wanted, merge)
    entries = AdvisoryVulnerability.objects.bulk_create(
        [
            AdvisoryVulnerability(
                advisory=stored,
                vulnerability_id=vuln_pks[v.vuln_id],
                title=v.title,
                cvss3_score=v.cvss3_score,
                cvss3_vector=v.cvss3_vector,
                cwe=v.cwe,
                remediations=v.remediations,
            )
            for v in parsed.vulns
        ]
    )
    entry_pks = dict(
        AdvisoryVulnerability.objects.filter(advisory=stored).values_list("vulnerability_id", "pk")
    )
    del entries
    statuses = [
        ProductStatus(
            entry_id=entry_pks[vuln_pks[v.vuln_id]],
            product_id=product_pks[s.product_id],
            status=s.status,
            justification=s.justification,
            impact=s.impact,
        )
        for v in parsed.vulns
        for s in v.statuses
        if s.product_id in product_pks
    ]
    ProductStatus.objects.bulk_create(statuses, batch_size=1000)
