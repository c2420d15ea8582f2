"""SBOMs and VEX statements received from manufacturers, and the assets they describe.

An :class:`Sbom` is one document (CycloneDX or SPDX) with its :class:`Component` rows. It applies
either to a list of assets or to every asset of one manufacturer, model and software version,
so that one SBOM from a manufacturer covers all the hospital's identical devices at once.
A :class:`VexDocument` (OpenVEX or CycloneDX VEX) holds :class:`VexStatement` rows whose status
is normalised to CycloneDX's ImpactAnalysisState, with the status as written kept alongside.
"""

from __future__ import annotations

from typing import ClassVar

from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from medshield.assets.models import Asset
from medshield.core.models import ChangeLoggedModel
from medshield.sboms.choices import SbomFormat, VexFormat, VexStatus


class SbomQuerySet(models.QuerySet["Sbom"]):
    """Queries over SBOMs by the assets they apply to."""

    def for_asset(self, asset: Asset) -> SbomQuerySet:
        """The SBOMs that apply to ``asset``: attached to it, or to its manufacturer/model/version.

        A product attachment matches ignoring case and surrounding spaces, as the register's
        free-text fields are typed by hand (``Philips`` and ``PHILIPS`` are the same maker).
        """
        by_product = models.Q(pk__in=[])
        if asset.manufacturer.strip() and asset.model.strip():
            by_product = models.Q(
                manufacturer__iexact=asset.manufacturer.strip(),
                model__iexact=asset.model.strip(),
                software_version__iexact=asset.software_version.strip(),
            )
        return self.filter(models.Q(assets=asset) | by_product).distinct()


class Sbom(ChangeLoggedModel):
    """One SBOM document as received, identified by its serial number or document namespace.

    ``document_id`` is the CycloneDX ``serialNumber`` or the SPDX ``documentNamespace`` (or,
    for a CycloneDX document without a serial number, ``sha256:`` and the hash of its content),
    so a newer version of the same document replaces the components of the stored one.
    The SBOM applies to the assets in ``assets`` or, when ``manufacturer`` is set, to every asset
    with that manufacturer, model and software version (see :meth:`applicable_assets`); an SBOM
    imported without either is kept but applies to no asset until attached.
    """

    format = models.CharField(_("format"), max_length=20, choices=SbomFormat.choices)
    spec_version = models.CharField(_("specification version"), max_length=20)
    document_id = models.CharField(
        _("serial number or namespace"),
        max_length=500,
        unique=True,
        help_text=_("CycloneDX serialNumber or SPDX documentNamespace"),
    )
    document_version = models.PositiveIntegerField(_("document version"), default=1)
    name = models.CharField(_("name"), max_length=300, blank=True)
    supplier = models.CharField(_("supplier or manufacturer"), max_length=300, blank=True)
    product_name = models.CharField(_("product described"), max_length=300, blank=True)
    product_version = models.CharField(_("product version"), max_length=200, blank=True)
    timestamp = models.DateTimeField(_("document timestamp"), null=True, blank=True)
    sha256 = models.CharField(_("SHA-256 of the file"), max_length=64)
    filename = models.CharField(_("file name"), max_length=300, blank=True)
    component_count = models.PositiveIntegerField(_("components"), default=0)
    # The attachment: either these assets...
    assets = models.ManyToManyField(
        Asset, verbose_name=_("assets"), related_name="sboms", blank=True
    )
    # ...or every asset of this manufacturer, model and software version.
    manufacturer = models.CharField(_("applies to manufacturer"), max_length=200, blank=True)
    model = models.CharField(_("applies to model"), max_length=200, blank=True)
    software_version = models.CharField(
        _("applies to software/firmware version"), max_length=100, blank=True
    )

    objects: ClassVar[SbomQuerySet] = SbomQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = _("SBOM")
        verbose_name_plural = _("SBOMs")

    def __str__(self) -> str:
        label = " ".join(p for p in (self.product_name or self.name, self.product_version) if p)
        return label or self.document_id

    def get_absolute_url(self) -> str:
        return reverse("sbom-detail", args=[self.pk])

    def clean(self) -> None:
        if self.manufacturer and not self.model:
            raise ValidationError({"model": _("A product attachment needs a model.")})
        if self.model and not self.manufacturer:
            raise ValidationError({"manufacturer": _("A product attachment needs a manufacturer.")})

    @property
    def attached_to_product(self) -> bool:
        """True when the SBOM applies by manufacturer/model/version rather than to listed assets."""
        return bool(self.manufacturer)

    def applicable_assets(self) -> models.QuerySet[Asset]:
        """The assets this SBOM applies to (by product, or the listed ones)."""
        if self.attached_to_product:
            return Asset.objects.filter(
                manufacturer__iexact=self.manufacturer,
                model__iexact=self.model,
                software_version__iexact=self.software_version,
            )
        if self.pk is None:
            return Asset.objects.none()
        return self.assets.all()


class Component(models.Model):
    """One component listed by an SBOM (a library, firmware, operating system, device...).

    Components are a copy of the document's contents and are replaced as a whole when a newer
    version of the document arrives, so they carry no history of their own: the SBOM's history
    records the new hash, version and component count. (Per-component history would write
    thousands of rows for every re-issued SBOM and tell an auditor nothing the file does not.)
    """

    sbom = models.ForeignKey(
        Sbom, verbose_name=_("SBOM"), on_delete=models.CASCADE, related_name="components"
    )
    bom_ref = models.CharField(
        _("reference"), max_length=1000, blank=True, help_text=_("bom-ref or SPDXID")
    )
    type = models.CharField(_("type"), max_length=40, blank=True)
    group = models.CharField(_("group"), max_length=300, blank=True)
    name = models.CharField(_("name"), max_length=500)
    version = models.CharField(_("version"), max_length=200, blank=True)
    purl = models.CharField(_("package URL"), max_length=2000, blank=True, db_index=True)
    cpe = models.CharField(_("CPE"), max_length=1000, blank=True)
    supplier = models.CharField(_("supplier"), max_length=300, blank=True)
    licenses = models.TextField(_("licence"), blank=True)
    hashes = models.JSONField(_("hashes"), default=dict, blank=True)
    depends_on = models.JSONField(
        _("depends on"),
        default=list,
        blank=True,
        help_text=_("References (bom-ref or SPDXID) of the components this one depends on"),
    )

    class Meta:
        ordering = ["sbom", "name", "version", "id"]
        verbose_name = _("component")
        verbose_name_plural = _("components")
        indexes = [models.Index(fields=["sbom", "bom_ref"])]

    def __str__(self) -> str:
        return f"{self.name} {self.version}".strip()


class VexDocument(ChangeLoggedModel):
    """One VEX document (OpenVEX, or the analysed vulnerabilities of a CycloneDX document).

    Identified like an SBOM (OpenVEX ``@id``, CycloneDX ``serialNumber``, else the content hash);
    a newer version updates its statements in place, so a status change is recorded in history.
    ``sbom`` links a CycloneDX SBOM that carried its own vulnerability analyses.
    """

    format = models.CharField(_("format"), max_length=20, choices=VexFormat.choices)
    spec_version = models.CharField(_("specification version"), max_length=20, blank=True)
    document_id = models.CharField(_("document identifier"), max_length=500, unique=True)
    document_version = models.PositiveIntegerField(_("document version"), default=1)
    author = models.CharField(_("author"), max_length=300, blank=True)
    timestamp = models.DateTimeField(_("document timestamp"), null=True, blank=True)
    sha256 = models.CharField(_("SHA-256 of the file"), max_length=64)
    filename = models.CharField(_("file name"), max_length=300, blank=True)
    sbom = models.ForeignKey(
        Sbom,
        verbose_name=_("SBOM"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="vex_documents",
    )

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = _("VEX document")
        verbose_name_plural = _("VEX documents")

    def __str__(self) -> str:
        return self.document_id


class VexStatement(ChangeLoggedModel):
    """What a manufacturer states about one vulnerability in one product or component.

    ``status`` is normalised to CycloneDX's ImpactAnalysisState (OpenVEX ``affected`` becomes
    ``exploitable``, ``fixed`` becomes ``resolved``, ``under_investigation`` becomes
    ``in_triage``); ``original_status`` keeps the word the document used. ``product_ref`` is the
    reference as written (a purl, a CPE, a bom-ref or a BOM-Link); ``purl`` and ``cpe`` hold the
    identifiers found for it, for matching against components and assets.
    """

    document = models.ForeignKey(
        VexDocument,
        verbose_name=_("source document"),
        on_delete=models.CASCADE,
        related_name="statements",
    )
    vulnerability_id = models.CharField(_("vulnerability"), max_length=200, db_index=True)
    aliases = models.JSONField(_("aliases"), default=list, blank=True)
    product_ref = models.CharField(_("product or component"), max_length=1000, blank=True)
    subcomponent_ref = models.CharField(_("subcomponent"), max_length=1000, blank=True)
    purl = models.CharField(_("package URL"), max_length=2000, blank=True, db_index=True)
    cpe = models.CharField(_("CPE"), max_length=1000, blank=True)
    status = models.CharField(_("status"), max_length=30, choices=VexStatus.choices)
    original_status = models.CharField(_("status as written"), max_length=40)
    justification = models.CharField(_("justification"), max_length=100, blank=True)
    impact_statement = models.TextField(_("impact statement or detail"), blank=True)
    response = models.JSONField(_("response"), default=list, blank=True)
    action_statement = models.TextField(_("action statement"), blank=True)
    affected_versions = models.JSONField(_("versions"), default=list, blank=True)
    timestamp = models.DateTimeField(_("statement timestamp"), null=True, blank=True)

    class Meta:
        ordering = ["document", "vulnerability_id", "product_ref", "subcomponent_ref"]
        verbose_name = _("VEX statement")
        verbose_name_plural = _("VEX statements")
        constraints = [
            models.UniqueConstraint(
                fields=["document", "vulnerability_id", "product_ref", "subcomponent_ref"],
                name="vexstatement_unique_subject",
            )
        ]

    def __str__(self) -> str:
        subject = self.subcomponent_ref or self.product_ref or "?"
        return f"{self.vulnerability_id} {subject}: {self.status}"

    def changelog_parent(self) -> models.Model | None:
        return self.document

    @property
    def status_colour(self) -> str:
        return VexStatus.colour(self.status)

    def key(self) -> tuple[str, str, str]:
        """What identifies the statement within its document."""
        return (self.vulnerability_id, self.product_ref, self.subcomponent_ref)
