"""``medshield audit export``: the audit log and history, filtered, as CSV or JSON."""

from __future__ import annotations

import os
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from medshield.audit.export import FORMATS, WRITERS, records
from medshield.audit.log import cli_username, record
from medshield.audit.management.commands._filters import add_filter_arguments, filters_from
from medshield.audit.models import AuditAction


class Command(BaseCommand):
    help = (
        "Export the audit log merged with the history of changes (newest first) as CSV or "
        "JSON; the export is itself recorded in the audit log.\n\n"
        "Exit status: 0 written, 2 bad option."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=FORMATS, default="csv")
        parser.add_argument(
            "-o", "--output", metavar="FILE", help="write here instead of standard output"
        )
        add_filter_arguments(parser)

    def handle(self, *args: Any, **opts: Any) -> None:
        filters = filters_from(opts)
        fmt: str = opts["format"]
        counted = _Counter(records(filters))
        output: str | None = opts["output"]
        if output:
            try:
                # Owner-only from the first byte: the log names users, addresses and devices.
                fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            except OSError as exc:
                raise CommandError(f"cannot write {output}: {exc.strerror}", returncode=2) from None
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                for piece in WRITERS[fmt](counted):
                    handle.write(piece)
        else:
            stream = getattr(self.stdout, "_out", sys.stdout)
            for piece in WRITERS[fmt](counted):
                stream.write(piece)
            stream.flush()
        record(
            AuditAction.EXPORT,
            username=cli_username(),
            target="audit log",
            detail={"format": fmt, "filters": filters.as_dict(), "entries": counted.n},
        )
        if output:
            self.stderr.write(f"wrote {counted.n} entries to {output}")


class _Counter:
    """Counts the entries as the writer pulls them."""

    def __init__(self, items: Any) -> None:
        self.items = items
        self.n = 0

    def __iter__(self) -> Any:
        for item in self.items:
            self.n += 1
            yield item
