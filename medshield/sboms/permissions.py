"""Who may see SBOMs (see medshield.accounts.policy); the pages show only visible assets'."""

from __future__ import annotations

RULES: dict[str, dict[str, str]] = {
    "sbom-list": {"GET": "sboms.view_sbom"},
    "sbom-detail": {"GET": "sboms.view_sbom"},
}
