"""Who may import and export the register (see medshield.accounts.policy)."""

from __future__ import annotations

RULES: dict[str, dict[str, str]] = {
    "register-import": {"GET": "accounts.import_data", "POST": "accounts.import_data"},
    "register-import-preview": {"GET": "accounts.import_data", "POST": "accounts.import_data"},
    "register-export": {"GET": "accounts.export_data"},
}
