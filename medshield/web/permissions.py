"""Who may open the register's pages (see medshield.accounts.policy for the rule format)."""

from __future__ import annotations

RULES: dict[str, dict[str, str]] = {
    "home": {"GET": "authenticated"},
    "login": {"GET": "public", "POST": "public"},
    # Logging out is harmless for anyone, and must work half-way through a two-factor login.
    "logout": {"POST": "public"},
    "asset-list": {"GET": "assets.view_asset"},
    "asset-create": {"GET": "assets.add_asset", "POST": "assets.add_asset"},
    "asset-detail": {"GET": "assets.view_asset"},
    "asset-edit": {"GET": "assets.change_asset", "POST": "assets.change_asset"},
    "asset-delete": {"GET": "assets.delete_asset", "POST": "assets.delete_asset"},
    "place-tree": {"GET": "assets.view_site"},
    "subnet-list": {"GET": "network.view_subnet"},
    "connection-list": {"GET": "network.view_externalconnection"},
}
