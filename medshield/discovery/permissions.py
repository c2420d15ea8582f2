"""Who may see and act on discovery evidence (see medshield.accounts.policy)."""

from __future__ import annotations

RULES: dict[str, dict[str, str]] = {
    "discovery": {"GET": "discovery.view_observedhost"},
    "discovery-upload": {"POST": "accounts.import_data"},
    # Accepting a difference changes the register (an asset's facts, or a new flow).
    "discovery-accept": {"POST": "assets.change_asset"},
    "discovery-dismiss": {"POST": "discovery.add_dismissal"},
    "discovery-accept-host": {"GET": "assets.add_asset", "POST": "assets.add_asset"},
}
