"""How fresh each feed is: what ``feeds status`` prints and the /feeds/ page shows."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from medshield.vulns.models import Advisory, FeedImport, FeedKind, Vulnerability

#: after how many days without an import a feed counts as stale; NVD, KEV and EPSS change
#: daily, JVN and CSAF advisories weekly at most
STALE_AFTER_DAYS = {"nvd": 7, "jvn": 14, "csaf": 30, "kev": 7, "epss": 7}


@dataclass(frozen=True)
class SourceStatus:
    """One feed's records, newest record date, last import and freshness."""

    kind: str
    label: str
    records: int
    newest: datetime.datetime | datetime.date | None
    last_import: FeedImport | None
    stale_after_days: int

    @property
    def age_days(self) -> int | None:
        """Whole days since the last import, None when never imported."""
        if self.last_import is None:
            return None
        return (timezone.now() - self.last_import.finished).days

    @property
    def freshness(self) -> str:
        """'never', 'fresh' or 'stale' (a code; see :attr:`freshness_label`)."""
        if self.age_days is None:
            return "never"
        return "stale" if self.age_days > self.stale_after_days else "fresh"

    @property
    def freshness_label(self) -> str:
        return str(
            {"never": _("never imported"), "fresh": _("fresh"), "stale": _("stale")}[self.freshness]
        )


def source_statuses() -> list[SourceStatus]:
    """The status of every feed, in the order of :class:`FeedKind`."""
    counts: dict[str, tuple[int, object]] = {
        "nvd": (
            Vulnerability.objects.filter(nvd_modified__isnull=False).count(),
            Vulnerability.objects.aggregate(m=Max("nvd_modified"))["m"],
        ),
        "kev": (
            Vulnerability.objects.filter(kev=True).count(),
            Vulnerability.objects.aggregate(m=Max("kev_date_added"))["m"],
        ),
        "epss": (
            Vulnerability.objects.filter(epss_date__isnull=False).count(),
            Vulnerability.objects.aggregate(m=Max("epss_date"))["m"],
        ),
    }
    for kind in ("jvn", "csaf"):
        advisories = Advisory.objects.filter(kind=kind)
        counts[kind] = (
            advisories.count(),
            advisories.aggregate(m=Max("current_release_date"))["m"],
        )
    out = []
    for kind, label in FeedKind.choices:
        records, newest = counts[kind]
        out.append(
            SourceStatus(
                kind=kind,
                label=str(label),
                records=records,
                newest=newest,  # type: ignore[arg-type]
                last_import=FeedImport.objects.filter(kind=kind).order_by("-finished").first(),
                stale_after_days=STALE_AFTER_DAYS[kind],
            )
        )
    return out
