"""Choice sets of the SBOM and VEX register: formats and the one VEX status vocabulary."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class SbomFormat(models.TextChoices):
    """The serialisation an SBOM was read from (the values :func:`~.readers.detect` returns)."""

    CYCLONEDX_JSON = "cyclonedx-json", _("CycloneDX JSON")
    CYCLONEDX_XML = "cyclonedx-xml", _("CycloneDX XML")
    SPDX_JSON = "spdx-json", _("SPDX JSON")
    SPDX_TV = "spdx-tv", _("SPDX tag-value")


class VexFormat(models.TextChoices):
    """The format a VEX document was read from."""

    OPENVEX = "openvex", _("OpenVEX")
    CYCLONEDX = "cyclonedx-vex", _("CycloneDX VEX")


class VexStatus(models.TextChoices):
    """CycloneDX's ImpactAnalysisState, the vocabulary every VEX status is normalised to.

    STYLE.md asks for the CycloneDX enums rather than new ones; the values are those of
    ``cyclonedx.model.impact_analysis.ImpactAnalysisState``.
    """

    RESOLVED = "resolved", _("Resolved")
    RESOLVED_WITH_PEDIGREE = "resolved_with_pedigree", _("Resolved (with pedigree)")
    EXPLOITABLE = "exploitable", _("Exploitable (affected)")
    IN_TRIAGE = "in_triage", _("In triage")
    FALSE_POSITIVE = "false_positive", _("False positive")
    NOT_AFFECTED = "not_affected", _("Not affected")

    @classmethod
    def colour(cls, value: str) -> str:
        """The Bootstrap colour a status badge is drawn in."""
        return {
            cls.EXPLOITABLE: "danger",
            cls.IN_TRIAGE: "warning",
            cls.RESOLVED: "success",
            cls.RESOLVED_WITH_PEDIGREE: "success",
            cls.NOT_AFFECTED: "secondary",
            cls.FALSE_POSITIVE: "secondary",
        }.get(value, "light")


#: OpenVEX 0.2.0 status -> normalised status (research/formats.md 5.4, the cross-format map)
OPENVEX_STATUS: dict[str, VexStatus] = {
    "not_affected": VexStatus.NOT_AFFECTED,
    "affected": VexStatus.EXPLOITABLE,
    "fixed": VexStatus.RESOLVED,
    "under_investigation": VexStatus.IN_TRIAGE,
}
