"""Who may use the audit app's URLs (see the permission contract in medshield.accounts)."""

from __future__ import annotations

RULES: dict[str, dict[str, str]] = {
    "audit-log": {"GET": "accounts.view_audit"},
    "audit-export": {"GET": "accounts.view_audit"},
}
