"""Who may open the account pages, and Django's language switch (see medshield.accounts.policy)."""

from __future__ import annotations

RULES: dict[str, dict[str, str]] = {
    # Django's i18n view (included at /i18n/): choosing a language needs no login.
    "set_language": {"GET": "public", "POST": "public"},
    "otp-setup": {"GET": "authenticated", "POST": "authenticated"},
    # The second login step: its user is logged in but not yet verified; the view checks that.
    "otp-verify": {"GET": "public", "POST": "public"},
    "otp-disable": {"POST": "authenticated"},
}
