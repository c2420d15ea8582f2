"""Who may see and download the configuration diagrams (see medshield.accounts.policy)."""

from __future__ import annotations

RULES: dict[str, dict[str, str]] = {
    "diagram-index": {"GET": "diagrams.view_diagramexport"},
    "diagram": {"GET": "diagrams.view_diagramexport"},
    "diagram-diff": {"GET": "diagrams.view_diagramexport"},
    # A downloaded diagram leaves medshield: an export.
    "diagram-download": {"GET": "accounts.export_data"},
}
