"""Who may see the vulnerability feeds (see medshield.accounts.policy)."""

from __future__ import annotations

RULES: dict[str, dict[str, str]] = {
    "feed-status": {"GET": "vulns.view_feedimport"},
    "vulnerability-detail": {"GET": "vulns.view_vulnerability"},
}
