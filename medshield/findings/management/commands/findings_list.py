"""``medshield findings list``: the findings as JSON, CSV or a table, with filters."""

from __future__ import annotations

import getpass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from medshield.accounts.scoping import visible_assets
from medshield.audit.log import record
from medshield.audit.models import AuditAction
from medshield.findings import export
from medshield.findings.filters import FindingFilter
from medshield.findings.models import Certainty, Finding, FindingStatus


class Command(BaseCommand):
    help = "List findings (priority first) as JSON, CSV or a table; filter by asset, CVE, KEV..."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--format", choices=[f.value for f in export.OutputFormat], default="table"
        )
        parser.add_argument("--asset", metavar="TAG", default="", help="one asset's findings")
        parser.add_argument("--cve", metavar="ID", default="", help="one vulnerability or advisory")
        parser.add_argument("--kev", action="store_true", help="only known exploited (CISA KEV)")
        parser.add_argument(
            "--status",
            default="",
            choices=["", "active", *FindingStatus.values],
            help="a status, or 'active' for every status that is not closed",
        )
        parser.add_argument("--certainty", default="", choices=["", *Certainty.values])
        parser.add_argument("--min-priority", type=int, default=None, metavar="N")
        parser.add_argument(
            "--user", metavar="NAME", help="list only what this login may see (and audit as it)"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["min_priority"] is not None and not 0 <= opts["min_priority"] <= 100:
            raise CommandError("--min-priority must lie between 0 and 100", returncode=2)
        user = None
        if opts["user"]:
            user = get_user_model().objects.filter(username=opts["user"]).first()
            if user is None:
                raise CommandError(f"no login named {opts['user']!r}", returncode=2)
            findings = Finding.objects.filter(asset__in=visible_assets(user))
        else:
            findings = Finding.objects.all()
        chosen = FindingFilter(
            asset=opts["asset"],
            cve=opts["cve"],
            kev=True if opts["kev"] else None,
            status=opts["status"],
            certainty=opts["certainty"],
            min_priority=opts["min_priority"],
        ).apply(findings)
        data = list(export.rows(chosen))
        if opts["format"] != export.OutputFormat.TABLE:
            try:
                who = getpass.getuser()
            except (KeyError, OSError):
                who = "unknown"
            record(
                AuditAction.EXPORT,
                user=user,
                username=user.get_username() if user else f"{who} (cli)",
                target="findings",
                detail={"format": opts["format"], "rows": len(data), "via": "cli"},
            )
        self.stdout.write(export.render(opts["format"], data))
