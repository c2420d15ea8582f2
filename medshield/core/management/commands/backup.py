"""``medshield backup OUT``: a consistent online backup of the whole database, with checksums."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from medshield.core.backup import BackupError, backup


class Command(BaseCommand):
    help = (
        "Back up the database to one file (SQLite online copy or pg_dump in one snapshot), "
        "with a manifest of migrations, row counts and a SHA-256 checksum."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("out", help="the backup file to write (replaced; mode 0600)")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            info = backup(opts["out"])
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            _("backed up {rows} rows of {tables} tables ({vendor}) to {path}").format(
                rows=info.rows, tables=len(info.counts), vendor=info.vendor, path=info.path
            )
        )
        self.stdout.write(f"sha256 {info.sha256}")
