"""``medshield restore IN``: verify a backup's checksums, restore it, and check the row counts."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from medshield.core.backup import BackupError, restore


class Command(BaseCommand):
    help = (
        "Restore a backup made by 'medshield backup' into an empty database (or, with --force, "
        "replace everything in this one); the checksums are verified first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("backup", help="the backup file to restore")
        parser.add_argument(
            "--force",
            action="store_true",
            help="replace the contents of a database that already holds data",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            info = restore(opts["backup"], force=opts["force"])
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            _("restored {rows} rows of {tables} tables from the backup of {created}").format(
                rows=info.rows, tables=len(info.counts), created=info.created
            )
        )
        self.stdout.write(_("run 'medshield migrate' if this medshield is newer than the backup"))
