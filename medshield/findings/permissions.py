"""Who may open each findings page (the permission contract: one rule per URL name)."""

from __future__ import annotations

RULES: dict[str, dict[str, str]] = {
    "finding-list": {"GET": "findings.view_finding"},
    "finding-export": {"GET": "accounts.export_data"},
    "finding-detail": {"GET": "findings.view_finding", "POST": "findings.change_finding"},
    "finding-asset": {"GET": "findings.view_finding"},
    "finding-vuln": {"GET": "findings.view_finding"},
    "finding-alias-list": {"GET": "findings.view_vendoralias", "POST": "findings.add_vendoralias"},
    "finding-alias-delete": {"POST": "findings.delete_vendoralias"},
}
