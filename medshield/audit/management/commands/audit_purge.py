"""``medshield audit purge --before DATE``: remove audit events older than a retention date.

The only way rows leave the audit log (the database refuses every other delete; see
:mod:`medshield.audit.guard`). The purge records itself - who ran it, the date and how many
events went - as an audit event that the purge cannot remove. The history of changes is never
purged: the register is rebuilt from it for past dates (diagrams "as of").
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from medshield.audit.guard import maintenance
from medshield.audit.log import cli_username, record
from medshield.audit.management.commands._filters import parse_day
from medshield.audit.models import AuditAction, AuditEvent


class Command(BaseCommand):
    help = (
        "Remove audit events older than DATE (retention); the purge itself is recorded. "
        "The history of changes is kept.\n\n"
        "Exit status: 0 purged (or counted, with --dry-run), 2 bad option."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--before",
            required=True,
            metavar="YYYY-MM-DD",
            help="remove events recorded before this day began (local time)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would be removed, remove nothing"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        day = parse_day(opts["before"], "--before")
        assert day is not None  # required option
        if day > timezone.localdate():
            raise CommandError(
                f"--before {day} is in the future: that would remove today's events", returncode=2
            )
        cutoff = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
        old = AuditEvent.objects.filter(time__lt=cutoff)
        if opts["dry_run"]:
            self.stdout.write(f"{old.count()} audit events before {day} would be removed")
            return
        username = cli_username()
        # One transaction: the events go and the purge's own record arrives, or neither.
        with transaction.atomic(), maintenance(f"audit purge by {username} before {day}"):
            removed, _ = old.delete()
            record(
                AuditAction.PURGE,
                username=username,
                target="audit log",
                detail={"before": day.isoformat(), "removed": removed},
            )
        self.stdout.write(f"removed {removed} audit events recorded before {day}")
