"""Findings: which vulnerability (possibly) affects which asset, why, and how urgent it is.

A :class:`Finding` is written by the matching service (:mod:`medshield.findings.service`), never
by hand: the engine decides that it exists, how certain it is, why it matched and which sources
say so. People only move it through the triage workflow (:meth:`Finding.set_status`); a status a
person set is kept when the engine re-matches, and a finding that no longer matches is closed
with a reason rather than deleted, so its history stays readable.

A :class:`VendorAlias` is a user's confirmation that two spellings name the same vendor or
product ("GE Healthcare" = "GE HealthCare"); the engine never guesses one.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from medshield.assets.models import Asset
from medshield.core.models import ChangeLoggedModel
from medshield.matching import normalize_name
from medshield.vulns.models import Vulnerability


class FindingStatus(models.TextChoices):
    """The triage workflow. The last three are closed; only the engine sets RESOLVED."""

    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    MITIGATED = "mitigated", _("Mitigated")
    ACCEPTED_RISK = "accepted_risk", _("Risk accepted")
    NOT_AFFECTED = "not_affected", _("Closed: not affected")
    FIXED = "fixed", _("Closed: fixed")
    RESOLVED = "resolved", _("Closed: no longer matches")

    @classmethod
    def colour(cls, value: str) -> str:
        """The Bootstrap colour of a status badge."""
        return {
            cls.OPEN: "danger",
            cls.IN_PROGRESS: "warning",
            cls.MITIGATED: "info",
            cls.ACCEPTED_RISK: "secondary",
        }.get(value, "success")


#: statuses that end the work on a finding
CLOSED_STATUSES = frozenset(
    {FindingStatus.NOT_AFFECTED, FindingStatus.FIXED, FindingStatus.RESOLVED}
)
#: what a person may choose (RESOLVED is the engine's word for "no longer matches")
USER_STATUSES = tuple(s for s in FindingStatus if s is not FindingStatus.RESOLVED)


class Certainty(models.TextChoices):
    """How sure the engine is (the values of :class:`medshield.matching.Certainty`)."""

    CONFIRMED = "confirmed", _("Confirmed")
    UNCERTAIN = "uncertain", _("Uncertain")


class MatchStatus(models.TextChoices):
    """What the sources say about the product (the values of :class:`medshield.matching.Status`)."""

    AFFECTED = "affected", _("Affected")
    UNDER_INVESTIGATION = "under_investigation", _("Under investigation")
    NOT_AFFECTED = "not_affected", _("Not affected")
    FIXED = "fixed", _("Fixed")


#: the workflow status the engine gives a finding nobody has triaged yet
AUTO_STATUS: dict[str, str] = {
    MatchStatus.AFFECTED: FindingStatus.OPEN,
    MatchStatus.UNDER_INVESTIGATION: FindingStatus.OPEN,
    MatchStatus.NOT_AFFECTED: FindingStatus.NOT_AFFECTED,
    MatchStatus.FIXED: FindingStatus.FIXED,
}


class Finding(ChangeLoggedModel):
    """One vulnerability on one asset (or on one component of the asset's SBOM).

    Unique per (asset, vulnerability, component): ``component_key`` is "" for the device
    itself, otherwise the component's purl, CPE or name@version, which survives a new version
    of the SBOM replacing its component rows (``component`` then points at the new row).
    """

    asset = models.ForeignKey(
        Asset, verbose_name=_("asset"), on_delete=models.CASCADE, related_name="findings"
    )
    vulnerability = models.ForeignKey(
        Vulnerability,
        verbose_name=_("vulnerability"),
        on_delete=models.CASCADE,
        related_name="findings",
    )
    component = models.ForeignKey(
        "sboms.Component",
        verbose_name=_("SBOM component"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="findings",
    )
    component_key = models.CharField(_("component identity"), max_length=500, blank=True)
    component_label = models.CharField(_("component"), max_length=500, blank=True)
    advisories = models.JSONField(_("advisories"), default=list, blank=True)
    certainty = models.CharField(_("certainty"), max_length=10, choices=Certainty.choices)
    match_status = models.CharField(
        _("status according to the sources"), max_length=20, choices=MatchStatus.choices
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=FindingStatus.choices,
        default=FindingStatus.OPEN,
        db_index=True,
    )
    #: True once a person chose the status: re-matching then leaves it alone
    status_set_by_user = models.BooleanField(_("status set by a person"), default=False)
    status_note = models.TextField(_("note"), blank=True)
    reason = models.TextField(_("why it matched"))
    #: the engine's evidence: [{source, advisory, certainty, status, reason}]
    evidence = models.JSONField(_("evidence"), default=list, blank=True)
    sources = models.JSONField(_("sources"), default=list, blank=True)
    #: the manufacturer's or advisory's reason when it closes the finding (VEX)
    justification = models.TextField(_("justification"), blank=True)
    cvss3_score = models.DecimalField(
        _("CVSS v3.1 base score"), max_digits=3, decimal_places=1, null=True, blank=True
    )
    cvss4_score = models.DecimalField(
        _("CVSS v4 base score"), max_digits=3, decimal_places=1, null=True, blank=True
    )
    kev = models.BooleanField(_("known exploited (KEV)"), default=False, db_index=True)
    epss = models.FloatField(_("EPSS score"), null=True, blank=True)
    exposed = models.BooleanField(_("exposed to an external connection"), default=False)
    priority = models.PositiveSmallIntegerField(_("priority"), default=0, db_index=True)
    #: how the priority was reached: [[factor, points], ...] (see medshield.findings.priority)
    priority_explanation = models.JSONField(_("priority explanation"), default=list, blank=True)
    first_seen = models.DateTimeField(_("first seen"), default=timezone.now)
    last_seen = models.DateTimeField(_("last seen"), default=timezone.now)
    #: digest of the engine's verdict (see medshield.findings.service.fingerprint)
    fingerprint = models.CharField(max_length=40, blank=True, editable=False)
    #: set while the finding no longer matches (the engine closed it), cleared if it returns
    resolved_at = models.DateTimeField(_("no longer matched since"), null=True, blank=True)

    #: the history records what people change, not the engine's bookkeeping
    changelog_exclude: ClassVar[frozenset[str]] = frozenset(
        {
            "id",
            "created",
            "last_updated",
            "evidence",
            "reason",
            "sources",
            "priority_explanation",
            "last_seen",
            "first_seen",
            "fingerprint",
        }
    )

    class Meta:
        verbose_name = _("finding")
        verbose_name_plural = _("findings")
        ordering = ["-priority", "asset__asset_tag", "vulnerability__vuln_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["asset", "vulnerability", "component_key"], name="finding_unique"
            )
        ]
        indexes = [
            models.Index(fields=["status", "priority"], name="finding_status_priority"),
            models.Index(fields=["vulnerability", "asset"], name="finding_vuln_asset"),
        ]

    def __str__(self) -> str:
        return f"{self.asset_id}: {self.vulnerability_id}"

    def get_absolute_url(self) -> str:
        return reverse("finding-detail", args=[self.pk])

    def display_value(self, name: str, raw: Any) -> Any:
        """Choices read as their labels in the history (the status, above all)."""
        field = self._meta.get_field(name)
        choices = dict(getattr(field, "choices", None) or ())
        if isinstance(raw, str | int) and raw in choices:  # lists (sources) are not hashable
            return str(choices[raw])
        return super().display_value(name, raw)

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED_STATUSES

    @property
    def status_colour(self) -> str:
        return FindingStatus.colour(self.status)

    def set_status(self, status: str, note: str = "") -> None:
        """Triage: a person sets the status; re-matching keeps it from now on.

        Raises ValidationError for a status a person may not set. Saved with history (the actor
        is whoever the middleware or the CLI set).
        """
        if status not in USER_STATUSES:
            raise ValidationError({"status": _("Choose one of the listed statuses.")})
        self.status = status
        self.status_note = note.strip()[:5000]
        self.status_set_by_user = True
        self.save(update_fields=["status", "status_note", "status_set_by_user", "last_updated"])


class VendorAlias(models.Model):
    """Two spellings of the same vendor or product, as confirmed by a person.

    Both are stored as typed; the engine compares them after normalisation
    (:func:`medshield.matching.normalize_name`), so the pair must differ after it.
    """

    name = models.CharField(_("name in the register"), max_length=200)
    alias = models.CharField(_("name in advisories"), max_length=200)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created = models.DateTimeField(_("confirmed"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("confirmed by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("name alias")
        verbose_name_plural = _("name aliases")
        ordering = ["name", "alias"]
        constraints = [models.UniqueConstraint(fields=["name", "alias"], name="vendoralias_unique")]

    def __str__(self) -> str:
        return f"{self.name} = {self.alias}"

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        if not normalize_name(self.name or ""):
            errors["name"] = _("Enter a name.")
        if not normalize_name(self.alias or ""):
            errors["alias"] = _("Enter a name.")
        elif normalize_name(self.name or "") == normalize_name(self.alias):
            errors["alias"] = _("These names are already treated as the same.")
        if errors:
            raise ValidationError(errors)


class MatchState(models.Model):
    """Where incremental matching stands: the last history row, feed import and feed rows seen.

    One row (pk 1). Re-matching after a change looks only at what lies beyond these marks, so a
    change whose re-match failed or was skipped is caught by the next one.
    """

    change_mark = models.BigIntegerField(default=0)
    feed_mark = models.BigIntegerField(default=0)
    vulnerability_mark = models.BigIntegerField(default=0)
    cpe_mark = models.BigIntegerField(default=0)
    entry_mark = models.BigIntegerField(default=0)
    last_full = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("matching state")
        verbose_name_plural = _("matching state")

    def __str__(self) -> str:
        return "matching state"
