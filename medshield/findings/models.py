"""Findings: which vulnerability (possibly) affects which asset, why, and how urgent it is.

The matching service (:mod:`medshield.findings.service`) stores what the engine says once per
*identity*, not once per asset, because a fleet shares identities: 10,000 assets of 1,000
products with one 300-component SBOM each are about 1,000 device identities and a few thousand
distinct components, and one verdict per (component, vulnerability) instead of one row per
(asset, component, vulnerability) is the difference between ~50,000 rows and ~11.5 million.

* :class:`Verdict`: the engine's word on one identity (a device's manufacturer/model/version,
  or one SBOM component's names, version, purl and CPEs) and one vulnerability: certainty,
  status according to the sources, why, evidence, scores and the asset-independent part of the
  priority. Written in bulk, never through the change log (it is the engine's bookkeeping).
* :class:`Occurrence`: an identity within a *group*: the device group of a product (every asset
  with that manufacturer, model and version) or an SBOM (every asset it applies to), with the
  component it stands for there.
* :class:`Membership`: an asset in a group, since when, and until when (an asset that leaves a
  group, e.g. a new model or firmware, keeps its old findings as closed, with the date).
* :class:`Triage`: what a person decided for one asset (status and note), with its history.
  Only rows a person touched exist; the key (asset, vulnerability, component identity) survives
  re-matching and new SBOM versions.
* :class:`Finding`: the per-asset view everything else reads (pages, API, CLI, exports): a
  database view joining memberships, occurrences, verdicts and triage, with the asset's own
  priority terms (clinical criticality, exposure) added to the stored base in SQL. It is read
  only; :meth:`Finding.set_status` writes the :class:`Triage` row.

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


class Verdict(models.Model):
    """What the engine says of one identity and one vulnerability (shared by every asset).

    ``identity`` is the digest of the engine's item key (:func:`identity_digest`). The priority
    stored here is the asset-independent part (CVSS, KEV, EPSS, certainty), not clamped; the
    per-asset view adds clinical criticality and exposure and clamps to 0-100.
    """

    identity = models.CharField(_("identity"), max_length=40)
    vulnerability = models.ForeignKey(
        Vulnerability,
        verbose_name=_("vulnerability"),
        on_delete=models.CASCADE,
        related_name="verdicts",
    )
    advisories = models.JSONField(_("advisories"), default=list, blank=True)
    certainty = models.CharField(_("certainty"), max_length=10, choices=Certainty.choices)
    match_status = models.CharField(
        _("status according to the sources"), max_length=20, choices=MatchStatus.choices
    )
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
    kev = models.BooleanField(_("known exploited (KEV)"), default=False)
    epss = models.FloatField(_("EPSS score"), null=True, blank=True)
    #: CVSS, KEV, EPSS and certainty points (see medshield.findings.priority), unclamped
    base_priority = models.SmallIntegerField(_("priority before the asset's terms"), default=0)
    first_seen = models.DateTimeField(_("first seen"), default=timezone.now)
    last_seen = models.DateTimeField(_("last seen"), default=timezone.now)
    #: set while the identity no longer matches (the engine closed it), cleared if it returns
    resolved_at = models.DateTimeField(_("no longer matched since"), null=True, blank=True)
    #: digest of the engine's verdict (see medshield.findings.service.fingerprint)
    fingerprint = models.CharField(max_length=40, blank=True, editable=False)

    class Meta:
        verbose_name = _("verdict")
        verbose_name_plural = _("verdicts")
        constraints = [
            models.UniqueConstraint(
                fields=["identity", "vulnerability"], name="verdict_identity_vulnerability"
            )
        ]
        indexes = [models.Index(fields=["vulnerability"], name="verdict_vulnerability")]

    def __str__(self) -> str:
        return f"{self.identity[:8]}: {self.vulnerability_id}"


class Occurrence(models.Model):
    """An identity within a group of assets, and the SBOM component it is there.

    A group is a device product (``group_key`` = the identity digest of the device itself) or an
    SBOM (``group_key`` = "sbom:<id>"). One row per (group, identity): a component listed twice in
    one SBOM is one finding, as before.
    """

    group_key = models.CharField(_("group"), max_length=40)
    identity = models.CharField(_("identity"), max_length=40)
    component = models.ForeignKey(
        "sboms.Component",
        verbose_name=_("SBOM component"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    #: the component's purl, CPE or name@version ("" for the device itself): survives a new
    #: version of the SBOM replacing its component rows, and keys a person's triage
    component_key = models.CharField(_("component identity"), max_length=500, blank=True)
    component_label = models.CharField(_("component"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("identity in a group")
        verbose_name_plural = _("identities in groups")
        constraints = [
            models.UniqueConstraint(fields=["group_key", "identity"], name="occurrence_unique")
        ]
        indexes = [models.Index(fields=["identity"], name="occurrence_identity")]

    def __str__(self) -> str:
        return f"{self.group_key[:12]}: {self.identity[:8]}"


class Membership(models.Model):
    """An asset in a group (its device product, or an SBOM that applies to it).

    ``until`` is set when the asset leaves the group: its findings from the group then read as
    closed ("no longer matches") with that date, rather than vanishing.
    """

    group_key = models.CharField(_("group"), max_length=40)
    asset = models.ForeignKey(
        Asset, verbose_name=_("asset"), on_delete=models.CASCADE, related_name="match_groups"
    )
    since = models.DateTimeField(_("since"), default=timezone.now)
    until = models.DateTimeField(_("until"), null=True, blank=True)

    class Meta:
        verbose_name = _("group membership")
        verbose_name_plural = _("group memberships")
        constraints = [
            models.UniqueConstraint(fields=["group_key", "asset"], name="membership_unique")
        ]
        indexes = [models.Index(fields=["asset"], name="membership_asset")]

    def __str__(self) -> str:
        return f"{self.asset_id} in {self.group_key[:12]}"


class Triage(ChangeLoggedModel):
    """A person's decision on one finding of one asset: the status and why (with history).

    Keyed like the finding the person saw, (asset, vulnerability, component identity), so it
    survives re-matching, a new SBOM version and a new firmware identity alike.
    """

    asset = models.ForeignKey(
        Asset, verbose_name=_("asset"), on_delete=models.CASCADE, related_name="triage"
    )
    vulnerability = models.ForeignKey(
        Vulnerability,
        verbose_name=_("vulnerability"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    component_key = models.CharField(_("component identity"), max_length=500, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=FindingStatus.choices, default=FindingStatus.OPEN
    )
    note = models.TextField(_("note"), blank=True)

    changelog_exclude: ClassVar[frozenset[str]] = frozenset(
        {"id", "created", "last_updated", "asset", "vulnerability", "component_key"}
    )

    class Meta:
        verbose_name = _("triage")
        verbose_name_plural = _("triage")
        constraints = [
            models.UniqueConstraint(
                fields=["asset", "vulnerability", "component_key"], name="triage_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.vulnerability_id} on {self.asset_id}: {self.status}"

    def display_value(self, name: str, raw: Any) -> Any:
        """Choices read as their labels in the history (the status, above all)."""
        field = self._meta.get_field(name)
        choices = dict(getattr(field, "choices", None) or ())
        if isinstance(raw, str | int) and raw in choices:
            return str(choices[raw])
        return super().display_value(name, raw)


#: the view's primary key is verdict id * PK_SHIFT + membership id (both well below 2**31)
PK_SHIFT = 1 << 32


class FindingQuerySet(models.QuerySet["Finding"]):
    """Findings; a filter on the primary key goes through the view's indexed columns.

    The view's ``id`` is computed, so ``WHERE id = ?`` would compute every row of the fleet;
    ``pk=`` / ``id=`` filters (``get``, ``refresh_from_db``, the API's retrieve) are rewritten
    to the verdict and membership it is made of.
    """

    def by_pk(self, pk: int) -> FindingQuerySet:
        """The finding with this pk, found through the view's indexed columns (not its pk)."""
        verdict, membership = divmod(int(pk), PK_SHIFT)
        return super().filter(verdict_id=verdict, membership_id=membership)

    def filter(self, *args: Any, **kwargs: Any) -> FindingQuerySet:
        for name in ("pk", "id"):
            value = kwargs.get(name)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                del kwargs[name]
                return self.by_pk(value).filter(*args, **kwargs)
        return super().filter(*args, **kwargs)


class Finding(models.Model):
    """One vulnerability on one asset (or on one component of the asset's SBOM): a view.

    Read only: the rows are the join of :class:`Membership`, :class:`Occurrence`,
    :class:`Verdict` and :class:`Triage` (the SQL is in migration 0002). ``priority`` is the
    verdict's base plus the asset's criticality and exposure points, clamped to 0-100;
    ``status`` is the person's, else "no longer matches" once the verdict or the membership
    ended, else what the sources say (:data:`AUTO_STATUS`).
    """

    id = models.BigIntegerField(primary_key=True)
    verdict = models.ForeignKey(
        Verdict, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    membership = models.ForeignKey(
        Membership, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    asset = models.ForeignKey(
        Asset,
        verbose_name=_("asset"),
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="findings",
    )
    vulnerability = models.ForeignKey(
        Vulnerability,
        verbose_name=_("vulnerability"),
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="findings",
    )
    component = models.ForeignKey(
        "sboms.Component",
        verbose_name=_("SBOM component"),
        on_delete=models.DO_NOTHING,
        db_constraint=False,
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
    status = models.CharField(_("status"), max_length=20, choices=FindingStatus.choices)
    #: True once a person chose the status: re-matching then leaves it alone
    status_set_by_user = models.BooleanField(_("status set by a person"), default=False)
    status_note = models.TextField(_("note"), blank=True)
    reason = models.TextField(_("why it matched"))
    evidence = models.JSONField(_("evidence"), default=list, blank=True)
    sources = models.JSONField(_("sources"), default=list, blank=True)
    justification = models.TextField(_("justification"), blank=True)
    cvss3_score = models.DecimalField(
        _("CVSS v3.1 base score"), max_digits=3, decimal_places=1, null=True, blank=True
    )
    cvss4_score = models.DecimalField(
        _("CVSS v4 base score"), max_digits=3, decimal_places=1, null=True, blank=True
    )
    kev = models.BooleanField(_("known exploited (KEV)"), default=False)
    epss = models.FloatField(_("EPSS score"), null=True, blank=True)
    exposed = models.BooleanField(_("exposed to an external connection"), default=False)
    priority = models.SmallIntegerField(_("priority"), default=0)
    first_seen = models.DateTimeField(_("first seen"))
    last_seen = models.DateTimeField(_("last seen"))
    resolved_at = models.DateTimeField(_("no longer matched since"), null=True, blank=True)

    objects = FindingQuerySet.as_manager()

    class Meta:
        managed = False
        db_table = "findings_finding"
        base_manager_name = "objects"  # refresh_from_db finds the row by its parts, too
        verbose_name = _("finding")
        verbose_name_plural = _("findings")
        ordering = ["-priority", "asset__asset_tag", "vulnerability__vuln_id"]

    def __str__(self) -> str:
        return f"{self.asset_id}: {self.vulnerability_id}"

    def get_absolute_url(self) -> str:
        return reverse("finding-detail", args=[self.pk])

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED_STATUSES

    @property
    def status_colour(self) -> str:
        return FindingStatus.colour(self.status)

    @property
    def priority_explanation(self) -> list[list[object]]:
        """How the priority was reached: [[factor, points, argument], ...] for this asset."""
        from medshield.findings.priority import PriorityInput, exposure_of, priority

        return priority(
            PriorityInput(
                cvss3=self.cvss3_score,
                cvss4=self.cvss4_score,
                kev=self.kev,
                epss=self.epss,
                criticality=self.asset.criticality,
                exposed_by=tuple(exposure_of(self.asset_id)),
                uncertain=self.certainty == Certainty.UNCERTAIN,
            )
        )[1]

    def triage(self) -> Triage | None:
        """The person's decision on this finding, if any."""
        return Triage.objects.filter(
            asset_id=self.asset_id,
            vulnerability_id=self.vulnerability_id,
            component_key=self.component_key,
        ).first()

    def set_status(self, status: str, note: str = "") -> None:
        """Triage: a person sets the status; re-matching keeps it from now on.

        Raises ValidationError for a status a person may not set. The :class:`Triage` row is
        saved with history (the actor is whoever the middleware or the CLI set); every other
        asset sharing the verdict keeps its own status.
        """
        if status not in USER_STATUSES:
            raise ValidationError({"status": _("Choose one of the listed statuses.")})
        triage = self.triage() or Triage(
            asset_id=self.asset_id,
            vulnerability_id=self.vulnerability_id,
            component_key=self.component_key,
        )
        triage.status = status
        triage.note = note.strip()[:5000]
        triage.save()
        self.status, self.status_note, self.status_set_by_user = status, triage.note, True


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
