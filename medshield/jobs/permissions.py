"""Permission rules of the jobs URLs (see the contract in medshield/accounts).

Every login may watch and cancel its own jobs; the views narrow the rows to those (all jobs for a
login with ``accounts.import_data``), so the URL-level rule is only "signed in".
"""

from __future__ import annotations

RULES: dict[str, dict[str, str]] = {
    "job-list": {"GET": "authenticated"},
    "job-detail": {"GET": "authenticated"},
    "job-status": {"GET": "authenticated"},
    "job-cancel": {"POST": "authenticated"},
    "job-file": {"GET": "authenticated"},
}
